"""Capture per-layer attention probabilities (B, heads, T, T) from Vision Transformers as shipped.

Fused attention (``F.scaled_dot_product_attention``) never materialises the attention matrix,
which is why peer code captures nothing on timm's default models. Here each supported family
is switched, for the duration of one call only, to its own eager code path, and the
probabilities are read where that path produces them:

* **timm** (ViT, DeiT incl. distilled, register tokens, EVA incl. RoPE and q/k-norm, and any
  timm attention with a ``fused_attn`` flag and an ``attn_drop`` module): ``fused_attn`` is
  set to False and a forward hook on ``attn_drop`` reads ``softmax(q k^T * scale)`` after RoPE
  and q/k-norm, exactly as the model's own eager branch computes it.
* **Hugging Face transformers** (>= 5; ``ViTForImageClassification``, DeiT, DINOv2 and others
  whose ``_can_record_outputs`` names their attention layers): every config's
  attention implementation is set to ``"eager"``; a forward hook on each attention layer reads
  the weights it returns.
* **torch.nn.MultiheadAttention** (torchvision's ``vit_b_16``, which calls it with
  ``need_weights=False``): a pre-hook asks for per-head weights (``need_weights=True,
  average_attn_weights=False``) and a forward hook reads them.

Everything switched (flags, attention implementations, hooks) is restored in ``finally``, also
when the forward pass raises. Captured tensors stay on the model's device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .._model import check_model, logits_of

SUPPORTED_FAMILIES = (
    "timm Vision Transformers (ViT, DeiT incl. distilled, ViT with register tokens, EVA, and other timm "
    "attention layers with a `fused_attn` flag and an `attn_drop` module), Hugging Face transformers >= 5 "
    "ViT-style models (ViTForImageClassification, DeiT, DINOv2, ...), and models built on "
    "torch.nn.MultiheadAttention such as torchvision's vit_b_16"
)

Reduce = Callable[[torch.Tensor], torch.Tensor]
_MISSING = object()


@dataclass
class AttentionRecord:
    """What one forward pass produced: one tensor per attention layer, in execution order.

    Each entry is ``reduce(probabilities)`` where ``probabilities`` is (B, heads, T, T) with rows
    summing to 1 (``reduce`` is the identity unless the capture was given one).
    """

    maps: list[torch.Tensor] = field(default_factory=list)


def find_attention_layers(model: nn.Module) -> dict[str, list[nn.Module]]:
    """The attention layers of each supported family found in ``model`` (lists may be empty)."""
    timm_layers = [
        m
        for m in model.modules()
        if isinstance(getattr(m, "fused_attn", None), bool) and isinstance(getattr(m, "attn_drop", None), nn.Module)
    ]
    return {"timm": timm_layers, "transformers": _hf_attention_layers(model), "mha": _mha_layers(model)}


def has_attention_layers(model: nn.Module) -> bool:
    """True when ``model`` has self-attention layers the attention methods can read."""
    return isinstance(model, nn.Module) and any(find_attention_layers(model).values())


def check_attention_model(model: nn.Module, method: str = "attention methods") -> None:
    """Raise ``TypeError`` naming the supported families when ``model`` has no attention layer we can read."""
    check_model(model)
    if not any(find_attention_layers(model).values()):
        raise TypeError(
            f"{method} need a Vision Transformer with self-attention layers; found none in "
            f"{type(model).__name__}. Supported: {SUPPORTED_FAMILIES}."
        )


@contextmanager
def attention_capture(
    model: nn.Module, *, differentiable: bool = False, reduce: Reduce | None = None
) -> Iterator[AttentionRecord]:
    """Capture attention probabilities during the forward passes run inside the block.

    Args:
        model: a model of one of the supported families (else ``TypeError``).
        differentiable: keep the captured probabilities in the autograd graph, so that
            gradients of the output with respect to them exist (class-specific attention).
            For ``nn.MultiheadAttention`` this recomputes the layer output from the captured
            weights, since the weights it returns are not the tensor it uses.
        reduce: applied to each (B, heads, T, T) tensor inside the hook, e.g. a head fusion,
            so that only the reduced tensor is kept in memory.

    Yields:
        An :class:`AttentionRecord` that fills up as the model runs.
    """
    layers = find_attention_layers(model)
    if not any(layers.values()):
        check_attention_model(model)
    record = AttentionRecord()
    keep = reduce or (lambda probabilities: probabilities)

    def store(probabilities) -> None:
        if isinstance(probabilities, torch.Tensor) and probabilities.ndim == 4:
            record.maps.append(keep(probabilities if differentiable else probabilities.detach()))

    with ExitStack() as stack:
        for module in layers["timm"]:
            stack.enter_context(_timm_eager(module, store))
        if layers["transformers"]:
            stack.enter_context(_hf_eager(model, layers["transformers"], store))
        for module in layers["mha"]:
            stack.enter_context(_mha_weights(module, store, differentiable))
        yield record


def self_attention_maps(record: AttentionRecord, batch: int) -> list[torch.Tensor]:
    """The captured maps that are global self-attention over one token sequence.

    Attention pooling heads (one query, T keys) are left out. Raises ``TypeError`` when the
    layers attend within windows or over token sets of different sizes (Swin-like models),
    where attention rollout is not defined, and ``ValueError`` when nothing was captured.
    """
    square = [m for m in record.maps if m.shape[-1] == m.shape[-2]]
    if not square:
        raise ValueError(
            "no attention probabilities were captured during the forward pass: the model's attention "
            "layers did not run, or returned no weights."
        )
    shapes = {(m.shape[0], m.shape[-1]) for m in square}
    if len(shapes) != 1 or next(iter(shapes))[0] != batch:
        raise TypeError(
            "attention rollout needs every layer to attend globally over the same token sequence; this model's "
            f"layers attend over (batch, tokens) = {sorted(shapes)} for a batch of {batch} (windowed or "
            f"hierarchical attention). Supported: {SUPPORTED_FAMILIES}."
        )
    return square


# -- timm ----------------------------------------------------------------------------------
@contextmanager
def _timm_eager(module: nn.Module, store: Callable[[torch.Tensor], None]) -> Iterator[None]:
    previous = module.__dict__.get("fused_attn", _MISSING)

    def hook(_drop, _inputs, output):
        store(output)

    handle = module.attn_drop.register_forward_hook(hook)
    try:
        module.fused_attn = False
        yield
    finally:
        handle.remove()
        if previous is _MISSING:
            module.__dict__.pop("fused_attn", None)
        else:
            module.fused_attn = previous


# -- Hugging Face transformers ------------------------------------------------------------
def _hf_attention_layers(model: nn.Module) -> list[tuple[nn.Module, int]]:
    """(attention module, index of the weights in its output tuple), from ``_can_record_outputs``."""
    found: dict[int, tuple[nn.Module, int]] = {}
    for owner in model.modules():
        specs = getattr(type(owner), "_can_record_outputs", None)
        if not isinstance(specs, dict) or "attentions" not in specs:
            continue
        entries = specs["attentions"] if isinstance(specs["attentions"], (list, tuple)) else [specs["attentions"]]
        for name, module in owner.named_modules():
            for spec in entries:
                target = getattr(spec, "target_class", spec if isinstance(spec, type) else None)
                suffix = getattr(spec, "class_name", spec if isinstance(spec, str) else None)
                layer_name = getattr(spec, "layer_name", None)
                index = getattr(spec, "index", 1) if not isinstance(spec, (type, str)) else 1
                matches = (target is not None and isinstance(module, target)) or (
                    suffix is not None and name.endswith(suffix)
                )
                if matches and (layer_name is None or f".{layer_name.strip('.')}." in f".{name}."):
                    found.setdefault(id(module), (module, index))
    return list(found.values())


@contextmanager
def _hf_eager(model: nn.Module, layers: list[tuple[nn.Module, int]], store) -> Iterator[None]:
    configs = {}
    for module in model.modules():
        config = getattr(module, "config", None)
        if config is not None and "_attn_implementation_internal" in getattr(config, "__dict__", {}):
            configs[id(config)] = config
    saved = [(config, config.__dict__["_attn_implementation_internal"]) for config in configs.values()]
    handles = []

    def make_hook(index: int):
        def hook(_module, _inputs, output):
            if isinstance(output, (tuple, list)) and len(output) > index:
                store(output[index])

        return hook

    try:
        for config, _ in saved:
            config.__dict__["_attn_implementation_internal"] = "eager"
        for module, index in layers:
            handles.append(module.register_forward_hook(make_hook(index)))
        yield
    finally:
        for handle in handles:
            handle.remove()
        for config, value in saved:
            config.__dict__["_attn_implementation_internal"] = value


# -- torch.nn.MultiheadAttention ----------------------------------------------------------
_MHA_ARGS = (
    "query",
    "key",
    "value",
    "key_padding_mask",
    "need_weights",
    "attn_mask",
    "average_attn_weights",
    "is_causal",
)


def _mha_layers(model: nn.Module) -> list[nn.MultiheadAttention]:
    return [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]


@contextmanager
def _mha_weights(module: nn.MultiheadAttention, store, differentiable: bool) -> Iterator[None]:
    if differentiable and (module.bias_k is not None or module.add_zero_attn):
        raise TypeError(
            "class-specific attention on nn.MultiheadAttention needs a layer without bias_k/bias_v and "
            "add_zero_attn; this layer uses them."
        )

    def pre_hook(_module, args, kwargs):
        kwargs = {**dict(zip(_MHA_ARGS, args, strict=False)), **kwargs}
        kwargs.update(need_weights=True, average_attn_weights=False)
        return (), kwargs

    def hook(_module, _args, kwargs, output):
        weights = output[1]
        if weights is None or weights.ndim != 4:  # unbatched input: (heads, L, S)
            return None
        store(weights)
        if differentiable:
            return _attend(module, kwargs["value"], weights), weights
        return None

    handles = [
        module.register_forward_pre_hook(pre_hook, with_kwargs=True),
        module.register_forward_hook(hook, with_kwargs=True),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _attend(module: nn.MultiheadAttention, value: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The layer's output recomputed from its weights (B, heads, L, S), so it depends on them in autograd."""
    batch, heads, length, source = weights.shape
    embed = module.embed_dim
    value = value.transpose(0, 1) if module.batch_first else value  # (S, B, E_v)
    if module._qkv_same_embed_dim:
        weight = module.in_proj_weight[2 * embed :]
    else:
        weight = module.v_proj_weight
    bias = None if module.in_proj_bias is None else module.in_proj_bias[2 * embed :]
    v = F.linear(value, weight, bias).reshape(source, batch * heads, embed // heads).transpose(0, 1)
    out = torch.bmm(weights.reshape(batch * heads, length, source), v)  # (B*heads, L, head_dim)
    out = out.transpose(0, 1).reshape(length * batch, embed)
    out = F.linear(out, module.out_proj.weight, module.out_proj.bias).view(length, batch, embed)
    return out.transpose(0, 1) if module.batch_first else out


def forward_with_attention(
    model: nn.Module, inputs: torch.Tensor, *, differentiable: bool = False, reduce: Reduce | None = None
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One forward pass: the logits (B, C) and each self-attention layer's ``reduce``-d probabilities.

    Without ``differentiable`` the pass runs under ``torch.no_grad()``.
    """
    with attention_capture(model, differentiable=differentiable, reduce=reduce) as record:
        if differentiable:
            logits = logits_of(model(inputs))
        else:
            with torch.no_grad():
                logits = logits_of(model(inputs))
    return logits, self_attention_maps(record, inputs.shape[0])

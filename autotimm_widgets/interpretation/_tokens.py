"""Token layouts of Vision Transformers: prefix tokens and the patch grid, read from the model.

Nothing here hard-codes a 14x14 grid or a single CLS token. The number of prefix tokens
(CLS, distillation, registers) comes from timm's ``num_prefix_tokens``, from a Hugging Face
config, or from torchvision's ``class_token``; the grid from the patch size and the input
size. Where a model says neither, both are inferred from the token count and the input's
aspect ratio.
"""

from __future__ import annotations

import math
import weakref

import torch
from torch import nn


def num_prefix_tokens(model: nn.Module) -> int | None:
    """Prefix tokens before the patch tokens, or ``None`` when the model does not say."""
    for module in model.modules():
        value = getattr(module, "num_prefix_tokens", None)
        if isinstance(value, int):
            return value
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type in ("deit",):
        return 2 if any("distillation" in name for name, _ in model.named_parameters()) else 1
    if model_type in ("vit", "beit", "data2vec-vision", "dinov2", "vit_msn", "vit_mae"):
        return 1 + int(getattr(config, "num_register_tokens", 0) or 0)
    for module in model.modules():
        if isinstance(getattr(module, "class_token", None), torch.Tensor):
            return 1
    return None


def patch_size(model: nn.Module) -> tuple[int, int] | None:
    """(ph, pw) of the patch embedding, or ``None`` when the model does not say."""
    for module in model.modules():
        embed = getattr(module, "patch_embed", None)
        size = getattr(embed, "patch_size", None)
        if size is not None:
            return _pair(size)
    config = getattr(model, "config", None)
    if getattr(config, "patch_size", None) is not None:
        return _pair(config.patch_size)
    for module in model.modules():
        size = getattr(module, "patch_size", None)
        if isinstance(size, (int, tuple, list)):
            return _pair(size)
    return None


_ACCEPTED_SIZES: weakref.WeakKeyDictionary[nn.Module, set[tuple[int, int]]] = weakref.WeakKeyDictionary()


def check_input_size(model: nn.Module, input_hw: tuple[int, int]) -> None:
    """Raise ``ValueError`` when a Vision Transformer cannot take an input of ``input_hw`` (h, w).

    The rules are the model's own: a timm patch embedding with ``strict_img_size`` takes only
    its ``img_size``, one without takes multiples of the patch size (any size with
    ``dynamic_img_pad``); torchvision's ``VisionTransformer`` takes only its ``image_size``; any
    model with a known patch size needs at least one patch.
    Checked before the forward pass, so the user gets this message rather than the model's
    ``AssertionError``. Models that state no rule are not checked. Sizes that passed are
    remembered per model (a model resized in place afterwards gets its own error instead).
    """
    h, w = (int(v) for v in input_hw)
    accepted = _ACCEPTED_SIZES.setdefault(model, set())
    if (h, w) in accepted:  # the walk over the modules costs ~2 ms on a CNN: once per size
        return
    required = None
    for module in model.modules():
        embed = getattr(module, "patch_embed", None)
        if isinstance(embed, nn.Module) and isinstance(getattr(embed, "strict_img_size", None), bool):
            size = getattr(embed, "img_size", None)
            ph, pw = _pair(embed.patch_size)
            if size is not None and embed.strict_img_size:
                required = (_pair(size), f"exactly {_pair(size)[0]}x{_pair(size)[1]} pixels")
            elif size is not None and not getattr(embed, "dynamic_img_pad", False) and (h % ph or w % pw):
                required = (None, f"heights and widths that are multiples of its {ph}x{pw} patches")
            break
        size, patch = getattr(module, "image_size", None), getattr(module, "patch_size", None)
        if (
            isinstance(size, int)
            and isinstance(patch, int)
            and isinstance(getattr(module, "conv_proj", None), nn.Module)
        ):
            required = ((size, size), f"exactly {size}x{size} pixels")
            break
    patch = patch_size(model)
    if required is None and patch is not None and (h < patch[0] or w < patch[1]):
        required = (None, f"at least one {patch[0]}x{patch[1]} patch")
    if required is not None and required[0] != (h, w):
        raise ValueError(
            f"the model input is {h}x{w} pixels, but this model takes {required[1]}. A tensor image is passed "
            "to the model as it is: give one of that size, or pass a PIL image or an array to have it resized."
        )
    accepted.add((h, w))


def token_grid(
    num_tokens: int, input_hw: tuple[int, int], prefix: int | None = None, patch: tuple[int, int] | None = None
) -> tuple[int, int, int]:
    """Split ``num_tokens`` into (prefix, grid_h, grid_w) for an input of size ``input_hw``.

    Raises ``ValueError`` when no layout fits.
    """
    h, w = input_hw
    prefixes = [prefix] if prefix is not None else list(range(0, min(num_tokens, 9)))
    for p in prefixes:
        n = num_tokens - p
        if n <= 0:
            continue
        if patch is not None:
            for rounding in (math.floor, math.ceil):
                gh, gw = rounding(h / patch[0]), rounding(w / patch[1])
                if gh * gw == n:
                    return p, gh, gw
        grid = _grid_by_aspect(n, h, w)
        if grid is not None:
            return (p, *grid)
    raise ValueError(
        f"cannot lay {num_tokens} tokens out as a patch grid for a {h}x{w} input"
        + (f" with {prefix} prefix tokens" if prefix is not None else "")
        + "; is this a token (B, N, C) layer of a Vision Transformer?"
    )


def tokens_to_grid(tokens: torch.Tensor, prefix: int, grid: tuple[int, int]) -> torch.Tensor:
    """(B, ..., N, C) tokens -> (B, ..., C, gh, gw), dropping the ``prefix`` tokens."""
    patches = tokens[..., prefix:, :]
    gh, gw = grid
    return patches.reshape(*patches.shape[:-2], gh, gw, patches.shape[-1]).movedim(-1, -3)


def _grid_by_aspect(n: int, h: int, w: int) -> tuple[int, int] | None:
    best = None
    target = math.log(h / w)
    for gh in range(1, n + 1):
        if n % gh:
            continue
        gw = n // gh
        error = abs(math.log(gh / gw) - target)
        if best is None or error < best[0]:
            best = (error, gh, gw)
    if best is None or best[0] > math.log(1.5):
        return None
    return best[1], best[2]


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])

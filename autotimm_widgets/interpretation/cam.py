"""BaseCAM: the class-activation-map family on any spatial or token layer.

One forward pass captures the target layer's output A (layers before it run without
autograd, so only the head is recorded); gradients dA of each requested class
logit come from ``torch.autograd.grad`` (never ``.backward()``, so no ``.grad`` is left on
any parameter). A variant only says how channel weights w are computed from A and dA;
the map is ``relu(sum_c w_c * A_c)``. Token layers (B, N, C) are reshaped to the patch
grid after dropping the prefix tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ._hooks import capture_output, trace_outputs
from ._layers import LayerInfo, LayerSpec, candidate_layers, detect_target_layer, layer_kind, resolve_layer
from ._model import explaining, logits_of, model_dtype
from ._tokens import num_prefix_tokens, patch_size, token_grid, tokens_to_grid
from .base import BaseInterpreter, BatchAttribution
from .gradients import class_gradients
from .preprocessing import PreprocessSpec
from .types import ImageInput, TargetClass


class BaseCAM(BaseInterpreter):
    """Base of GradCAM-style explainers.

    Args:
        model: the classifier to explain.
        target_layer: a layer name (``"backbone.layer4"``, ``"blocks.-1.norm1"``), a module
            of the model, or ``None`` to pick the last spatial stage before pooling (see
            ``candidate_layers()``).
        use_cuda: run on the GPU when one is available.
        preprocess: overrides the model's own preprocessing.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        use_cuda: bool = True,
        *,
        preprocess: PreprocessSpec = None,
    ):
        super().__init__(model, use_cuda, preprocess=preprocess)
        self._traces: dict[tuple[int, int], dict[str, tuple[int, ...]]] = {}
        self._prefix_tokens = num_prefix_tokens(self.model)
        self._patch_size = patch_size(self.model)
        self.set_target_layer(target_layer)

    # -- what a variant implements -------------------------------------------------------
    @staticmethod
    def cam_weights(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """Channel weights (B, K, C) from activations (B, C, h, w) and gradients (B, K, C, h, w)."""
        raise NotImplementedError

    # -- layers ------------------------------------------------------------------------
    def set_target_layer(self, layer: LayerSpec) -> None:
        """Use ``layer`` (name, module, or ``None`` for automatic) from now on."""
        self._layer = None if layer is None else resolve_layer(self.model, layer)

    @property
    def target_layer(self) -> str:
        """Name of the layer explained (the automatic choice at the model's input size if unset)."""
        return self._layer_for(self._probe_input())[0]

    def candidate_layers(self) -> list[LayerInfo]:
        """Layers that make sense to explain, with output shapes (without batch) at the input size."""
        return candidate_layers(self.model, self._trace(self._probe_input()))

    # -- the computation --------------------------------------------------------------
    def attribute(self, image: ImageInput, target_class: TargetClass = None) -> torch.Tensor:
        """Raw non-negative CAM at the layer's own resolution, on the CPU.

        Returns (h, w) for one class or (K, h, w) for a list of classes; this is the map
        before it is resized to the image and normalised.
        """
        from ._targets import explain_targets

        classes, single = explain_targets(target_class)
        prepared = self.prepare(image)
        with explaining(self.model):
            maps = self._attribute(prepared.tensor, [classes]).maps[0].cpu()
        return maps[0] if single else maps

    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        evidence = self.evidence(inputs, classes)
        return BatchAttribution(self.cams(evidence.activations, evidence.gradients), evidence.logits, evidence.classes)

    @classmethod
    def cams(cls, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """Non-negative maps (B, K, h, w) from activations (B, C, h, w) and gradients (B, K, C, h, w)."""
        weights = cls.cam_weights(activations, gradients)
        return torch.einsum("bkc,bchw->bkhw", weights, activations).clamp_min(0)

    def evidence(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> CamEvidence:
        """One forward pass and K backward passes through the head: what every CAM variant needs."""
        activation, logits = self.layer_output(inputs, for_gradients=True)
        targets = self._targets(logits, classes)
        gradients = class_gradients(logits, activation, targets)
        activation, gradients = self._to_spatial(activation.detach(), gradients, tuple(inputs.shape[-2:]))
        return CamEvidence(activation, gradients, logits.detach(), targets)

    def layer_output(self, inputs: torch.Tensor, for_gradients: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """The target layer's raw output for ``inputs`` and the logits (B, C), from one forward pass.

        With ``for_gradients`` the output is part of an autograd graph of the layers after it
        (those before run without autograd); otherwise nothing is recorded.
        """
        name, module = self._layer_for(inputs)
        with capture_output(module, f"layer {name!r}", grad_from_here=for_gradients) as captured, torch.no_grad():
            logits = logits_of(self.model(inputs))
            activation = captured.output
        if activation is None:
            raise ValueError(f"layer {name!r} did not run in the model's forward pass; choose another layer.")
        if layer_kind(tuple(activation.shape)) is None:
            raise ValueError(
                f"layer {name!r} outputs shape {tuple(activation.shape)}; {type(self).__name__} needs a spatial "
                f"(B, C, H, W) or token (B, N, C) output. Candidates: {[c.name for c in self.candidate_layers()]}."
            )
        return activation, logits

    def _to_spatial(self, activation, gradients, input_hw):
        """Float32 (B, C, h, w) activations and (B, K, C, h, w) gradients (or None), also for token layers."""
        dtype = torch.promote_types(activation.dtype, torch.float32)
        activation = activation.to(dtype)
        gradients = None if gradients is None else gradients.to(dtype)
        if activation.ndim == 3:
            prefix, gh, gw = token_grid(activation.shape[1], input_hw, self._prefix_tokens, self._patch_size)
            activation = tokens_to_grid(activation, prefix, (gh, gw))
            gradients = None if gradients is None else tokens_to_grid(gradients, prefix, (gh, gw))
        return activation, gradients

    def _layer_for(self, inputs: torch.Tensor) -> tuple[str, nn.Module]:
        if self._layer is not None:
            return self._layer
        try:
            name = detect_target_layer(self.model, self._trace(inputs[:1]))
        except ValueError as error:
            (h, w), (mh, mw) = inputs.shape[-2:], self.preprocessor.config.input_size
            raise ValueError(
                f"{error} (Traced at an input of {h}x{w} pixels; the model's input size is {mh}x{mw}.)"
            ) from None
        return resolve_layer(self.model, name)

    def _trace(self, inputs: torch.Tensor) -> dict[str, tuple[int, ...]]:
        key = tuple(inputs.shape[-2:])
        if key not in self._traces:
            with explaining(self.model), torch.no_grad(), trace_outputs(self.model) as shapes:
                self.model(inputs[:1])
            self._traces[key] = dict(shapes)
        return self._traces[key]

    def _probe_input(self) -> torch.Tensor:
        h, w = self.preprocessor.config.input_size
        with torch.inference_mode(False):
            return torch.zeros(1, 3, h, w, device=self.device, dtype=model_dtype(self.model))


@dataclass(frozen=True)
class CamEvidence:
    """Activations (B, C, h, w), gradients (B, K, C, h, w), logits (B, C) and classes (B, K)."""

    activations: torch.Tensor
    gradients: torch.Tensor
    logits: torch.Tensor
    classes: torch.Tensor

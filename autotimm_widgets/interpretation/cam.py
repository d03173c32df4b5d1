"""BaseCAM: the class-activation-map family on any spatial or token layer.

One forward pass captures the target layer's output A (layers before it run without
autograd, so only the head is recorded); gradients dA of each requested class
logit come from ``torch.autograd.grad`` (never ``.backward()``, so no ``.grad`` is left on
any parameter). A variant only says how the weighted activations are formed from A and dA
(by default channel weights w times A); the map is ``relu(sum_c w_c * A_c)``.

Layer layouts: channels-first (B, C, H, W) and channels-last (B, H, W, C) outputs (see
``_layout``), token layers (B, N, C) reshaped to the patch grid after dropping the prefix
tokens, or any layout through a user ``reshape_transform``.

pytorch-grad-cam's options, on every CAM: several target layers (their maps resized to the
input, normalised and averaged), ``eigen_smooth`` (the first principal component of the
weighted activations, see ``_eigen``) and ``aug_smooth`` (test-time augmentation, see
``_augment``). Hooks live for one call, so ``with GradCAM(model) as cam:`` needs no clean-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from . import _augment
from ._eigen import first_component
from ._model import explaining
from ._target_layers import LayersSpec, ReshapeTransform, TargetLayers
from ._targets import has_custom_targets
from .base import BaseInterpreter, BatchAttribution, normalize_maps, resize_maps
from .gradients import score_gradients
from .preprocessing import PreprocessSpec
from .registry import Param
from .targets import Target
from .types import ImageInput, TargetClass


def check_flag(value, name: str) -> bool:
    """``value`` if it is a bool; ``TypeError`` otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r}.")
    return value


EIGEN_SMOOTH = Param("eigen_smooth", bool, lambda v: check_flag(v, "eigen_smooth"), "Eigen smooth")
AUG_SMOOTH = Param("aug_smooth", bool, lambda v: check_flag(v, "aug_smooth"), "Augmentation smooth")
CAM_OPTIONS = (EIGEN_SMOOTH, AUG_SMOOTH)


class BaseCAM(TargetLayers, BaseInterpreter):
    """Base of GradCAM-style explainers.

    Args:
        model: the classifier to explain.
        target_layer: a layer name (``"backbone.layer4"``, ``"blocks.-1.norm1"``), a module
            of the model, a list of them (maps averaged as pytorch-grad-cam does), or ``None``
            to pick the last spatial stage before pooling (see ``candidate_layers()``).
        use_cuda: run on the GPU when one is available.
        preprocess: overrides the model's own preprocessing.
        reshape_transform: ``tensor (B, ...) -> (B, C, h, w)`` for a layer layout that is not
            detected (as pytorch-grad-cam's); applied to the output and to its gradients.
        eigen_smooth: the map is the first principal component of the weighted activations.
        aug_smooth: average the maps of six flipped and scaled copies (one batch).
    """

    #: the map is built from one layer pass's activations and class gradients (CamEvidence), so
    #: methods with this flag can share one pass (``compare_methods``).
    uses_class_gradients: ClassVar[bool] = True
    takes_custom_targets = True

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec = None,
        use_cuda: bool = True,
        *,
        preprocess: PreprocessSpec = None,
        reshape_transform: ReshapeTransform | None = None,
        eigen_smooth: bool = False,
        aug_smooth: bool = False,
    ):
        super().__init__(model, use_cuda, preprocess=preprocess)
        self.eigen_smooth = EIGEN_SMOOTH.validate(eigen_smooth)
        self.aug_smooth = AUG_SMOOTH.validate(aug_smooth)
        self._setup_layers(target_layer, reshape_transform)

    # -- what a variant implements -------------------------------------------------------
    @staticmethod
    def cam_weights(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """Channel weights (B, K, C) from activations (B, C, h, w) and gradients (B, K, C, h, w)."""
        raise NotImplementedError

    def scores(self, logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """The (B, K) scalars whose gradients weight the activations: each map's class logit."""
        return logits.gather(1, classes)

    def objective(self, logits: torch.Tensor, targets: torch.Tensor, requested: Sequence[Sequence]) -> torch.Tensor:
        """(B, K) scores to differentiate: :meth:`scores` of the resolved classes, or a custom
        target's score where one was requested (``requested[b][k]``, row b of the batch)."""
        scores = self.scores(logits, targets)
        if not has_custom_targets(requested):
            return scores
        columns = []
        for k in range(scores.shape[1]):
            rows = [row[k] for row in requested]
            if not any(isinstance(c, Target) for c in rows):
                columns.append(scores[:, k])
                continue
            values = [
                c(logits[b : b + 1]).reshape(-1)[0] if isinstance(c, Target) else scores[b, k]
                for b, c in enumerate(rows)
            ]
            columns.append(torch.stack([v.to(scores.dtype) for v in values]))
        return torch.stack(columns, dim=1)

    @classmethod
    def weighted_activations(cls, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """(B, K, C, h, w) terms whose channel sum is the map: ``w_c * A_c`` by default."""
        return cls.cam_weights(activations, gradients)[..., None, None] * activations[:, None]

    @classmethod
    def cams(cls, activations: torch.Tensor, gradients: torch.Tensor, eigen_smooth: bool = False) -> torch.Tensor:
        """Non-negative maps (B, K, h, w) from activations (B, C, h, w) and gradients (B, K, C, h, w)."""
        if eigen_smooth:
            return first_component(cls.weighted_activations(activations, gradients)).clamp_min(0)
        if (
            cls.weighted_activations.__func__ is BaseCAM.weighted_activations.__func__
        ):  # channel weights: no (B, K, C, h, w)
            weights = cls.cam_weights(activations, gradients)
            return torch.einsum("bkc,bchw->bkhw", weights, activations).clamp_min(0)
        return cls.weighted_activations(activations, gradients).sum(dim=2).clamp_min(0)

    def maps_from_weights(self, activations: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Non-negative maps (B, K, h, w) from activations (B, C, h, w) and channel weights (B, K, C)
        found some other way (scores, ablations, random): the sum of ``w_c A_c``, or with
        ``eigen_smooth`` its first principal component."""
        weighted = weights.to(activations)[..., None, None] * activations[:, None]
        return (first_component(weighted) if self.eigen_smooth else weighted.sum(dim=2)).clamp_min(0)

    # -- the computation --------------------------------------------------------------
    def attribute(self, image: ImageInput, target_class: TargetClass = None) -> torch.Tensor:
        """Raw non-negative CAM, on the CPU: at the layer's own resolution for one layer, at the
        model input's for several layers or ``aug_smooth``.

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
        if not self.aug_smooth:
            return self._layer_maps(inputs, classes)
        return _augment.smoothed(self._layer_maps, inputs, classes)

    def _layer_maps(self, inputs, classes, copies: int = 1) -> BatchAttribution:
        """Maps of every target layer, combined; ``copies`` > 1: ``inputs`` holds that many
        copies of a batch (copy-major) and the classes are resolved on the first copy."""
        evidence = self.evidence(inputs, classes, copies)
        maps = [self.cams(e.activations, e.gradients, self.eigen_smooth) for e in evidence]
        return BatchAttribution(self.combine_layers(maps, inputs), evidence[0].logits, evidence[0].classes)

    @classmethod
    def combine_layers(cls, maps: Sequence[torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        """One layer's (B, K, h, w) maps as they are; several layers' resized to the input,
        normalised per map and averaged (pytorch-grad-cam's multi-layer aggregation)."""
        if len(maps) == 1:
            return maps[0]
        return torch.stack([normalize_maps(cls._at_input_size(m, inputs)) for m in maps]).mean(dim=0)

    @staticmethod
    def _at_input_size(maps: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return resize_maps(maps.float(), tuple(inputs.shape[-2:])).clamp_min(0)

    def evidence(
        self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]], copies: int = 1
    ) -> list[CamEvidence]:
        """One forward pass and K backward passes through the head: per target layer, what every
        gradient CAM variant needs (activations and gradients in (B, C, h, w) layout)."""
        activations, logits = self.layer_outputs(inputs, for_gradients=True)
        targets = self._resolved_targets(logits, classes, copies)
        gradients = score_gradients(self.objective(logits, targets, classes), activations)
        return [
            CamEvidence(*self._to_spatial(name, a.detach(), g, inputs), logits.detach(), targets)
            for (name, _), a, g in zip(self._layers_for(inputs), activations, gradients, strict=True)
        ]

    def _resolved_targets(self, logits: torch.Tensor, classes, copies: int = 1) -> torch.Tensor:
        batch = logits.shape[0] // copies
        return self._targets(logits[:batch], classes[:batch]).repeat(copies, 1)


@dataclass(frozen=True)
class CamEvidence:
    """Activations (B, C, h, w), gradients (B, K, C, h, w), logits (B, C) and classes (B, K)."""

    activations: torch.Tensor
    gradients: torch.Tensor
    logits: torch.Tensor
    classes: torch.Tensor

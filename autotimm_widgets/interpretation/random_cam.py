"""RandomCAM: channel weights drawn uniformly from [-1, 1], a baseline for sanity checks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import at_most, non_negative_int
from ._layers import LayerSpec
from .base import BatchAttribution
from .cam import CAM_OPTIONS, BaseCAM, LayersSpec, ReshapeTransform
from .preprocessing import PreprocessSpec
from .registry import Param, register_method

MAX_SEED = 2**31 - 1


def check_seed(seed) -> int:
    """``seed`` as an int in [0, ``MAX_SEED``]."""
    return at_most(non_negative_int(seed, "seed"), MAX_SEED, "seed")


SEED = Param("seed", int, check_seed, "Seed", minimum=0, maximum=MAX_SEED)


@register_method("randomcam", label="RandomCAM", takes_layer=True, params=(*CAM_OPTIONS, SEED))
class RandomCAM(BaseCAM):
    """``relu(sum_c w_c A_c)`` with ``w_c ~ U(-1, 1)``, as pytorch-grad-cam's ``RandomCAM``: what a
    map worth nothing looks like. The weights of class k come from ``seed`` and k alone, so a class
    always gets the same map of an image, in a batch or alone. One forward pass, no backward."""

    uses_class_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec | LayerSpec = None,
        use_cuda: bool = True,
        *,
        preprocess: PreprocessSpec = None,
        reshape_transform: ReshapeTransform | None = None,
        eigen_smooth: bool = False,
        aug_smooth: bool = False,
        seed: int = 0,
    ):
        super().__init__(
            model,
            target_layer,
            use_cuda,
            preprocess=preprocess,
            reshape_transform=reshape_transform,
            eigen_smooth=eigen_smooth,
            aug_smooth=aug_smooth,
        )
        self.seed = SEED.validate(seed)

    def _layer_maps(
        self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]], copies: int = 1
    ) -> BatchAttribution:
        activations, logits = self.layer_outputs(inputs)
        targets = self._resolved_targets(logits, classes, copies)
        maps = []
        for (name, _), activation in zip(self._layers_for(inputs), activations, strict=True):
            spatial, _ = self._to_spatial(name, activation, None, inputs)
            weights = self.random_weights(targets, spatial.shape[1]).to(spatial)
            weighted = weights[..., None, None] * spatial[:, None]
            maps.append(self.reduce(weighted))
        combined = self.combine_layers(maps, inputs)
        if not bool(torch.isfinite(logits).all()):  # a class of NaN logits means nothing: refused as a NaN map
            combined = combined * float("nan")
        return BatchAttribution(combined, logits, targets)

    def reduce(self, weighted: torch.Tensor) -> torch.Tensor:
        from ._eigen import first_component

        return (first_component(weighted) if self.eigen_smooth else weighted.sum(dim=2)).clamp_min(0)

    def random_weights(self, classes: torch.Tensor, channels: int) -> torch.Tensor:
        """(B, K, C) weights on the CPU: row (b, k) drawn from a generator seeded by (seed, class)."""
        rows = {}
        for c in classes.flatten().tolist():
            if c not in rows:
                generator = torch.Generator().manual_seed(self.seed * 1_000_003 + int(c))
                rows[c] = torch.rand(channels, generator=generator) * 2 - 1
        return torch.stack([torch.stack([rows[c] for c in row]) for row in classes.tolist()])

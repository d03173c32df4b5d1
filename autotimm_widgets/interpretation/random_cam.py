"""RandomCAM: channel weights drawn uniformly from [-1, 1], a baseline for sanity checks."""

from __future__ import annotations

import torch
from torch import nn

from ._checks import at_most, non_negative_int
from ._gradient_free import WeightedCAM
from .cam import CAM_OPTIONS, LayersSpec
from .registry import Param, register_method

MAX_SEED = 2**31 - 1


def check_seed(seed) -> int:
    """``seed`` as an int in [0, ``MAX_SEED``]."""
    return at_most(non_negative_int(seed, "seed"), MAX_SEED, "seed")


SEED = Param("seed", int, check_seed, "Seed", minimum=0, maximum=MAX_SEED)


@register_method("randomcam", label="RandomCAM", takes_layer=True, params=(*CAM_OPTIONS, SEED))
class RandomCAM(WeightedCAM):
    """``relu(sum_c w_c A_c)`` with ``w_c ~ U(-1, 1)``, as pytorch-grad-cam's ``RandomCAM``: what a
    map worth nothing looks like. The weights of class k come from ``seed`` and k alone, so a class
    always gets the same map of an image, in a batch or alone. One forward pass, no backward."""

    def __init__(
        self, model: nn.Module, target_layer: LayersSpec = None, use_cuda: bool = True, *, seed: int = 0, **options
    ):
        super().__init__(model, target_layer, use_cuda, **options)
        self.seed = SEED.validate(seed)

    def layer_weights(self, inputs, layer, activation, spatial, targets, logits) -> torch.Tensor:
        return self.random_weights(targets, spatial.shape[1])

    def random_weights(self, classes: torch.Tensor, channels: int) -> torch.Tensor:
        """(B, K, C) weights on the CPU: row (b, k) drawn from a generator seeded by (seed, class)."""
        rows = {}
        for c in classes.flatten().tolist():
            if c not in rows:
                generator = torch.Generator().manual_seed(self.seed * 1_000_003 + int(c))
                rows[c] = torch.rand(channels, generator=generator) * 2 - 1
        return torch.stack([torch.stack([rows[c] for c in row]) for row in classes.tolist()])

"""Occlusion (Zeiler and Fergus, 2014): slide a window of the baseline over the image; a pixel's
attribution is the mean drop of the class logit over the windows that cover it."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._ablation import Ablation, Regions
from ._checks import at_most, positive_int
from ._pixel import REDUCTION
from .path_baselines import BASELINE
from .registry import Param, register_method

MAX_WINDOW = 1024


def check_window(value, name: str = "window") -> int:
    """``value`` as an int in [1, ``MAX_WINDOW``] (pixels of the model input)."""
    return at_most(positive_int(value, name), MAX_WINDOW, name)


WINDOW = Param("window", int, check_window, "Window (px)", minimum=1, maximum=MAX_WINDOW)
STRIDE = Param("stride", int, lambda v: check_window(v, "stride"), "Stride (px)", minimum=1, maximum=MAX_WINDOW)


@register_method(
    "occlusion", label="Occlusion", params=(WINDOW, STRIDE, BASELINE, REDUCTION), resolution="pixel", rank=20
)
class Occlusion(Ablation):
    """Captum's ``Occlusion`` with a ``window`` x ``window`` patch over all channels, moved by
    ``stride`` pixels: ``ceil((h - window) / stride) + 1`` positions per axis (the last ones
    clipped at the border), so every pixel is covered when ``stride <= window``. Along an axis
    shorter than the window, the window is the whole axis (Captum refuses such inputs).

    Attribution of pixel p: the mean over windows W containing p of f(x) - f(x with W set to the
    baseline), on every channel. See :class:`Ablation` for the other arguments.
    """

    def __init__(
        self,
        model: nn.Module,
        window: int = 32,
        stride: int = 16,
        baseline="zero",
        use_cuda: bool = True,
        **options,
    ):
        super().__init__(model, baseline, use_cuda, **options)
        self.window, self.stride = check_window(window), check_window(stride, "stride")
        if self.stride > self.window:
            raise ValueError(
                f"stride ({self.stride}) must not exceed window ({self.window}), or some pixels are never occluded."
            )

    def regions(self, inputs: torch.Tensor) -> Regions:
        size = tuple(inputs.shape[-2:])
        window = tuple(min(self.window, n) for n in size)  # an input smaller than the window: one position
        stride = tuple(min(self.stride, k) for k in window)
        return _Windows(inputs.shape[0], size, window, stride, inputs.device)


class _Windows(Regions):
    def __init__(self, count: int, size: tuple[int, int], window: tuple[int, int], stride: tuple[int, int], device):
        self.size, self.window, self.stride, self.device = size, window, stride, device
        self.grid = tuple(math.ceil((n - k) / s) + 1 for n, k, s in zip(size, window, stride, strict=True))
        self.counts = [self.grid[0] * self.grid[1]] * count

    def masks(self, images: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        top = (regions // self.grid[1]) * self.stride[0]
        left = (regions % self.grid[1]) * self.stride[1]
        rows = torch.arange(self.size[0], device=self.device)
        cols = torch.arange(self.size[1], device=self.device)
        in_rows = (rows >= top[:, None]) & (rows < top[:, None] + self.window[0])
        in_cols = (cols >= left[:, None]) & (cols < left[:, None] + self.window[1])
        return (in_rows[:, :, None] & in_cols[:, None, :]).unsqueeze(1)

    def spread(self, differences: list[torch.Tensor], channels: int) -> torch.Tensor:
        stacked = torch.stack(differences)  # (B, R, K)
        count, _, classes = stacked.shape
        grid = stacked.permute(0, 2, 1).reshape(count * classes, 1, *self.grid).float()
        kernel = torch.ones((1, 1, *self.window), device=grid.device)
        h, w = self.size
        total = F.conv_transpose2d(grid, kernel, stride=self.stride)[..., :h, :w]
        covered = F.conv_transpose2d(torch.ones_like(grid[:1]), kernel, stride=self.stride)[..., :h, :w]
        maps = (total / covered).reshape(count, classes, 1, h, w)
        return maps.expand(-1, -1, channels, -1, -1)

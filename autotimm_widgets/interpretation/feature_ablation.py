"""Feature ablation: set each feature (a square patch, or a SLIC superpixel) to the baseline in
turn; every pixel of a feature gets that feature's drop of the class logit."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._ablation import Ablation, Regions
from ._checks import at_most, positive_int
from ._pixel import REDUCTION
from .occlusion import check_window
from .path_baselines import BASELINE
from .registry import Param, register_method

FEATURES = ("patches", "superpixels")
MAX_SEGMENTS = 1024


def check_features(value) -> str:
    """``value`` if it is one of ``FEATURES``."""
    if not isinstance(value, str) or value not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}; got {value!r}.")
    return value


def check_segments(value) -> int:
    """``value`` as an int in [1, ``MAX_SEGMENTS``]: the superpixels SLIC aims for."""
    return at_most(positive_int(value, "segments"), MAX_SEGMENTS, "segments")


FEATURE_KIND = Param("features", str, check_features, "Features", choices=FEATURES)
PATCH_SIZE = Param("patch_size", int, lambda v: check_window(v, "patch_size"), "Patch (px)", minimum=1, maximum=1024)
SEGMENTS = Param("segments", int, check_segments, "Superpixels", minimum=1, maximum=MAX_SEGMENTS)


@register_method(
    "feature_ablation",
    label="Feature Ablation",
    params=(FEATURE_KIND, PATCH_SIZE, SEGMENTS, BASELINE, REDUCTION),
    resolution="pixel",
    rank=21,
)
class FeatureAblation(Ablation):
    """Captum's ``FeatureAblation`` with a feature mask over all channels.

    Args:
        features: ``'patches'`` (a grid of ``patch_size`` px squares, the last row and column
            clipped) or ``'superpixels'`` (``skimage.segmentation.slic`` on the de-normalised
            image, aiming for ``segments`` regions; compactness 10, start label 0).
        feature_mask: instead of ``features``, an integer tensor (h, w) or (B, h, w) at the
            model input's size: pixels with the same id form one feature.
        See :class:`Ablation` for the other arguments.
    """

    def __init__(
        self,
        model: nn.Module,
        features: str = "patches",
        patch_size: int = 16,
        segments: int = 64,
        baseline="zero",
        use_cuda: bool = True,
        *,
        feature_mask: torch.Tensor | None = None,
        **options,
    ):
        super().__init__(model, baseline, use_cuda, **options)
        self.features, self.patch_size = check_features(features), check_window(patch_size, "patch_size")
        self.segments = check_segments(segments)
        self.feature_mask = _check_mask(feature_mask)

    def regions(self, inputs: torch.Tensor) -> Regions:
        return _Features(self._feature_ids(inputs))

    def _feature_ids(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, h, w) long: each pixel's feature, numbered 0 .. F_b - 1 per image."""
        count, _, h, w = inputs.shape
        if self.feature_mask is not None:
            mask = self.feature_mask.to(inputs.device)
            if tuple(mask.shape[-2:]) != (h, w) or mask.shape[0] not in (1, count):
                raise ValueError(
                    f"feature_mask has shape {tuple(mask.shape)}; it must be (h, w) or (B, h, w) with "
                    f"(h, w) = {(h, w)}, the model input's size, and B = {count}."
                )
            return torch.stack([m.unique(return_inverse=True)[1] for m in mask.expand(count, h, w)])
        if self.features == "patches":
            rows = torch.arange(h, device=inputs.device) // self.patch_size
            cols = torch.arange(w, device=inputs.device) // self.patch_size
            ids = rows[:, None] * ((w + self.patch_size - 1) // self.patch_size) + cols[None, :]
            return ids.expand(count, h, w)
        return self._superpixels(inputs)

    def _superpixels(self, inputs: torch.Tensor) -> torch.Tensor:
        from skimage.segmentation import slic

        pixels = self.preprocessor.denormalize(inputs.detach().float()).clamp(0, 1)
        pixels = pixels.permute(0, 2, 3, 1).cpu().numpy()
        labels = []
        for image in pixels:
            channel_axis = -1 if image.shape[-1] > 1 else None
            segment = slic(
                image if channel_axis is not None else image[..., 0],
                n_segments=self.segments,
                compactness=10,
                start_label=0,
                channel_axis=channel_axis,
            )
            labels.append(np.unique(segment, return_inverse=True)[1].reshape(segment.shape))
        return torch.from_numpy(np.stack(labels)).to(inputs.device)


def _check_mask(mask):
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.is_floating_point() or mask.dtype == torch.bool:
        raise TypeError(f"feature_mask must be an integer torch.Tensor (h, w) or (B, h, w); got {mask!r:.60}.")
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    if mask.ndim != 3:
        raise ValueError(f"feature_mask must be (h, w) or (B, h, w); got shape {tuple(mask.shape)}.")
    return mask.detach().long().clone()


class _Features(Regions):
    def __init__(self, ids: torch.Tensor):
        self.ids = ids
        self.counts = [int(i.max()) + 1 for i in ids]

    def masks(self, images: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        return (self.ids[images] == regions[:, None, None]).unsqueeze(1)

    def spread(self, differences: list[torch.Tensor], channels: int) -> torch.Tensor:
        maps = torch.stack([d[i].permute(2, 0, 1) for d, i in zip(differences, self.ids, strict=True)])
        return maps.unsqueeze(2).expand(-1, -1, channels, -1, -1).float()

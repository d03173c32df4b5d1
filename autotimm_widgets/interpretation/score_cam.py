"""ScoreCAM (Wang et al., 2020): channel weights from the scores of the input masked by each channel."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._gradient_free import PerturbationCAM
from ._model import logits_of
from .cam import CAM_OPTIONS
from .registry import register_method


@register_method("scorecam", label="ScoreCAM", takes_layer=True, shared_classes=True, params=CAM_OPTIONS)
class ScoreCAM(PerturbationCAM):
    """Gradient-free: each channel A_c is upsampled to the input (bilinear, corners aligned),
    scaled to [0, 1] (``(a - min) / (max - min + 1e-8)``) and multiplies the input; the softmax
    over channels of the class scores of those C masked inputs weights the channels, map
    ``= relu(sum_c w_c A_c)``, as pytorch-grad-cam's ``ScoreCAM``. The masked inputs run without
    autograd, ``batch_size`` at a time; all classes share them; channels whose map is constant
    (an all-zero mask) are scored once. Arguments as :class:`BaseCAM`, plus ``batch_size``."""

    def layer_weights(self, inputs, layer, activation, spatial, targets, logits) -> torch.Tensor:
        return torch.stack([self.channel_weights(inputs[b], spatial[b], targets[b]) for b in range(len(inputs))])

    @torch.no_grad()
    def channel_weights(self, image: torch.Tensor, activation: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """(K, C) softmax weights for one image (C', h, w) input and its (C, h, w) activation."""
        upsampled = F.interpolate(activation[None].float(), size=image.shape[-2:], mode="bilinear", align_corners=True)[
            0
        ]
        low = upsampled.amin(dim=(-2, -1), keepdim=True)
        high = upsampled.amax(dim=(-2, -1), keepdim=True)
        masks = (upsampled - low) / (high - low + 1e-8)
        constant = (high == low).flatten()
        scores = torch.empty(len(masks), classes.numel(), device=image.device)
        varying = torch.nonzero(~constant).flatten()
        for start in range(0, len(varying), self.batch_size):
            index = varying[start : start + self.batch_size]
            batch = image[None] * masks[index, None].to(image.dtype)
            scores[index] = logits_of(self.model(batch)).float()[:, classes]
        if bool(constant.any()):  # an all-zero mask: the zero input, scored once
            scores[constant] = logits_of(self.model(torch.zeros_like(image)[None])).float()[:, classes]
        return torch.softmax(scores.T, dim=-1)

"""What deleted pixels are replaced with (deletion) or start from (insertion).

Each baseline is defined in pixel space (RGB in [0, 1]) and normalised like the input,
through the model's :class:`~autotimm_widgets.interpretation.preprocessing.Preprocessor`:

* ``"black"``: pixels 0, i.e. ``(0 - mean) / std`` in the model's input space;
* ``"mean"``: the image's own mean colour, per channel (over all its pixels);
* ``"blur"``: the image under a Gaussian blur, kernel 11 x 11 and sigma 5 at the model's
  input resolution (RISE's values; reflect padding at the borders).

``"mean"`` and ``"blur"`` are computed directly on the normalised input: normalising is a
per-channel affine map, and channel means and a blur whose weights sum to one commute
with it, so the result equals blurring (or averaging) the pixels and then normalising.
"""

from __future__ import annotations

import torch
from torchvision.transforms.functional import gaussian_blur

from ..preprocessing import Preprocessor

BLUR_KERNEL = 11
BLUR_SIGMA = 5.0


def baseline_inputs(inputs: torch.Tensor, kind: str, preprocessor: Preprocessor) -> torch.Tensor:
    """The baseline (B, 3, h, w) for normalised model inputs (B, 3, h, w), same device and dtype."""
    if kind == "black":
        black = preprocessor.normalize(torch.zeros(1, inputs.shape[1], 1, 1, device=inputs.device, dtype=torch.float32))
        return black.to(inputs.dtype).expand_as(inputs).contiguous()
    if kind == "mean":
        return inputs.mean(dim=(2, 3), keepdim=True).expand_as(inputs).contiguous()
    if kind == "blur":
        kernel = min(BLUR_KERNEL, 2 * min(inputs.shape[-2:]) - 1)  # reflect padding needs half-width < side
        return gaussian_blur(inputs, kernel_size=[kernel, kernel], sigma=[BLUR_SIGMA, BLUR_SIGMA])
    raise ValueError(f"baseline must be 'blur', 'black' or 'mean'; got {kind!r}.")

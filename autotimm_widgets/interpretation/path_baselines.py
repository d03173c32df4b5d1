"""Baselines (Integrated Gradients, occlusion, DeepLift, ...), built in pixel space and normalised exactly like the input.

Named baselines are made at the model input's resolution (h, w), as pixels in [0, 1], then passed
through the explainer's ``preprocessor.normalize`` (the model's mean and std):

* ``'black'``: every pixel 0;
* ``'white'``: every pixel 1 (full intensity);
* ``'blur'``: the input image blurred with a Gaussian of sigma ``BLUR_SIGMA_FRACTION`` times the
  shorter side of the model input (11.2 px at 224 px; kernel ``2 * ceil(3 sigma) + 1``, reflected
  edges), the blur applied to the de-normalised pixels;
* ``'zero'``: 0 in the model's input space, after normalisation (the dataset's mean colour for a
  model normalised by its mean and std); Captum's default baseline;
* ``'random'``: uniform noise in [0, 1) per pixel and channel, drawn from a CPU generator seeded
  with ``RANDOM_SEED``, so it is the same on every call, device and run.

A user baseline is also accepted:

* a PIL image or an ndarray is an *image*: it is preprocessed exactly as an input image would be
  (resized whole to the input size and normalised, or passed through a custom ``preprocess``);
* a ``torch.Tensor`` (3, h, w) or (1, 3, h, w) is, like a tensor image, already in the model's
  input space; it must have the input's shape.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.functional import gaussian_blur

from ._images import to_pixels
from .preprocessing import Preprocessor
from .registry import Param

NAMES = ("black", "white", "blur", "random", "zero")
BLUR_SIGMA_FRACTION = 0.05
RANDOM_SEED = 0


def check_baseline(spec):
    """``spec`` if it is a baseline IG accepts (a name, a tensor, an ndarray or a PIL image)."""
    return Baseline(spec).spec


# The widget offers the names; the library also takes images and tensors.
BASELINE = Param("baseline", str, check_baseline, "Baseline", choices=NAMES)


class Baseline:
    """A validated baseline spec; call ``build(inputs, preprocessor)`` for (B, 3, h, w) baselines."""

    def __init__(self, spec, channels: int = 3):
        if isinstance(spec, str):
            if spec not in NAMES:
                raise ValueError(
                    f"unknown baseline {spec!r}; choose one of {', '.join(map(repr, NAMES))}, "
                    "or pass a tensor (3, h, w) in the model's input space, an ndarray or a PIL image."
                )
        elif isinstance(spec, torch.Tensor):
            spec = _check_tensor(spec, channels)
        elif isinstance(spec, (np.ndarray, Image.Image)):
            try:
                to_pixels(spec)  # validate now, preprocess per call (the model's dtype may change)
            except (TypeError, ValueError) as error:
                raise type(error)(f"baseline: {error}") from None
        else:
            raise TypeError(
                f"baseline must be one of {', '.join(map(repr, NAMES))}, a torch.Tensor (3, h, w), "
                f"an ndarray or a PIL image; got {type(spec).__name__}."
            )
        self.spec = spec

    def __repr__(self) -> str:
        if isinstance(self.spec, str):
            return repr(self.spec)
        return f"<{type(self.spec).__name__} baseline>"

    def build(self, inputs: torch.Tensor, preprocessor: Preprocessor) -> torch.Tensor:
        """Baselines (B, 3, h, w) for model inputs (B, 3, h, w), on their device and dtype."""
        spec, shape = self.spec, tuple(inputs.shape[1:])
        device, dtype = inputs.device, inputs.dtype
        if isinstance(spec, str):
            baseline = _named(spec, inputs, preprocessor)
        elif isinstance(spec, torch.Tensor):
            baseline = spec.to(device=device, dtype=dtype)
        else:
            baseline = preprocessor(spec, device, dtype).tensor
        if tuple(baseline.shape[1:]) != shape:
            raise ValueError(
                f"the baseline has shape {tuple(baseline.shape[1:])} but the model input has shape {shape}; "
                "give a baseline of the input's shape."
            )
        return baseline.to(dtype).expand_as(inputs)


def _check_tensor(tensor: torch.Tensor, channels: int = 3) -> torch.Tensor:
    if not tensor.is_floating_point():
        raise TypeError(f"a baseline tensor must be floating point (in the model's input space); got {tensor.dtype}.")
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 4 or tuple(tensor.shape[:2]) != (1, channels):
        raise ValueError(
            f"a baseline tensor must have shape ({channels}, h, w) or (1, {channels}, h, w), the model's "
            f"channels; got {tuple(tensor.shape)}."
        )
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError("the baseline tensor contains NaN or Inf values.")
    return tensor.detach().clone()


def _named(name: str, inputs: torch.Tensor, preprocessor: Preprocessor) -> torch.Tensor:
    """A named baseline for ``inputs``: pixels in [0, 1] made at (h, w), then normalised."""
    _, channels, h, w = inputs.shape
    with torch.no_grad():
        if name == "zero":
            return torch.zeros((1, channels, h, w), device=inputs.device, dtype=inputs.dtype)
        if name == "blur":
            return preprocessor.normalize(blur(preprocessor.denormalize(inputs))).to(inputs.dtype)
        if name == "random":
            generator = torch.Generator().manual_seed(RANDOM_SEED)
            pixels = torch.rand(1, channels, h, w, generator=generator).to(inputs.device)
        else:
            pixels = torch.full((1, channels, h, w), 0.0 if name == "black" else 1.0, device=inputs.device)
        # float32 pixels, as ``Preprocessor.pixels_to_input`` makes them, so that a black image
        # against the black baseline differs by exactly zero.
        return preprocessor.normalize(pixels).to(inputs.dtype)


def blur(pixels: torch.Tensor) -> torch.Tensor:
    """Gaussian blur of (B, 3, h, w) pixels with sigma ``BLUR_SIGMA_FRACTION * min(h, w)``."""
    h, w = pixels.shape[-2:]
    sigma = BLUR_SIGMA_FRACTION * min(h, w)
    radius = min(math.ceil(3 * sigma), (min(h, w) - 1))  # reflect padding needs radius < size
    if radius < 1:
        return pixels.clone()
    size = 2 * radius + 1
    return gaussian_blur(pixels, kernel_size=[size, size], sigma=[sigma, sigma])

"""Turn a user's image (PIL, ndarray or tensor) into a pixel tensor, with clear errors.

Accepted inputs:

* ``PIL.Image`` in any mode (RGB, L, RGBA, P, ...). EXIF orientation is applied and
  the alpha channel, if any, is dropped.
* ``np.ndarray`` of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), either ``uint8``
  (0..255) or floating point in [0, 1].
* ``torch.Tensor`` of shape (3, H, W) or (1, 3, H, W), already preprocessed (resized and
  normalised for the model); it is passed to the model as it is.

For a model that takes 1 channel (grayscale) or 4 (RGBA) the pixels have that many channels:
PIL images are converted to ``L`` or ``RGBA``; a 2-D array goes in as it is for a grayscale
model; a colour array is converted to luminance (PIL's ITU-R 601-2 weights) or given an opaque
alpha channel; tensors must have the model's channels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps

ACCEPTED = (
    "a PIL.Image, an np.ndarray of shape (H, W), (H, W, 3) or (H, W, 4) with dtype uint8 "
    "or float in [0, 1], or a preprocessed torch.Tensor of shape (3, H, W) or (1, 3, H, W)"
)


EXIF_ORIENTATION = 0x0112
LUMA = (0.299, 0.587, 0.114)  # PIL's convert("L") weights (ITU-R 601-2)


@dataclass(frozen=True)
class PixelImage:
    """An image as pixels: ``pixels`` is (3, H, W) in [0, 1] (uint8 0..255 when ``is_uint8``)."""

    pixels: torch.Tensor
    is_uint8: bool

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the user's image."""
        return int(self.pixels.shape[-2]), int(self.pixels.shape[-1])

    def rgb(self) -> np.ndarray:
        """The pixels as an (H, W, 3) float32 array in [0, 1], for display (gray repeated, alpha dropped)."""
        pixels = self.pixels.expand(3, -1, -1) if self.pixels.shape[0] == 1 else self.pixels[:3]
        array = pixels.permute(1, 2, 0).numpy().astype(np.float32)
        return array / 255.0 if self.is_uint8 else array


def to_pixels(image, channels: int = 3) -> PixelImage:
    """Validate a PIL image or an ndarray and return it as a CPU (channels, H, W) tensor.

    uint8 data stays uint8 (a zero-copy view where possible) so that very large images
    are not expanded to float before they are resized. ``channels`` is 3, 1 or 4 (see above).
    """
    if isinstance(image, Image.Image):
        return _from_pil(image, channels)
    if isinstance(image, np.ndarray):
        return _with_channels(_from_array(image), channels, image)
    raise TypeError(f"image must be {ACCEPTED}; got {type(image).__name__}.")


def _with_channels(pixels: PixelImage, channels: int, array: np.ndarray) -> PixelImage:
    """An RGB ``PixelImage`` of ``array`` as the model's ``channels``."""
    if channels == 3:
        return pixels
    if channels == 1:
        if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 1):
            return PixelImage(pixels.pixels[:1], pixels.is_uint8)
        weights = torch.tensor(LUMA, dtype=torch.float32)[:, None, None]
        gray = (pixels.pixels.float() * weights).sum(dim=0, keepdim=True)
        return PixelImage(gray.round().to(torch.uint8) if pixels.is_uint8 else gray, pixels.is_uint8)
    if channels == 4:
        if array.ndim == 3 and array.shape[-1] == 4:
            return PixelImage(_tensor_view(np.ascontiguousarray(array)).permute(2, 0, 1), pixels.is_uint8)
        opaque = torch.full_like(pixels.pixels[:1], 255 if pixels.is_uint8 else 1.0)
        return PixelImage(torch.cat([pixels.pixels, opaque]), pixels.is_uint8)
    raise ValueError(f"images can be prepared for models with 1, 3 or 4 input channels; this one takes {channels}.")


def check_tensor(image: torch.Tensor, channels: int = 3) -> torch.Tensor:
    """Validate a preprocessed tensor and return it as (1, channels, H, W)."""
    if not image.is_floating_point():
        raise TypeError(
            f"a tensor image must be floating point (already normalised for the model); got dtype {image.dtype}."
        )
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[0] != 1:
        hint = " For several images use explain_batch." if image.ndim == 4 else ""
        raise ValueError(f"a tensor image must have shape (3, H, W) or (1, 3, H, W); got {tuple(image.shape)}.{hint}")
    if image.shape[1] != channels:
        raise ValueError(
            f"a tensor image must have the model's {channels} channels, as ({channels}, H, W); "
            f"got shape {tuple(image.shape[1:])}."
        )
    if image.shape[2] < 1 or image.shape[3] < 1:
        raise ValueError(f"a tensor image must be at least 1x1 pixels; got {tuple(image.shape[1:])}.")
    if not bool(torch.isfinite(image).all()):
        raise ValueError("the image tensor contains NaN or Inf values.")
    return image


def _from_pil(image: Image.Image, channels: int = 3) -> PixelImage:
    if image.getexif().get(EXIF_ORIENTATION, 1) != 1:  # exif_transpose copies even when there is nothing to do
        image = ImageOps.exif_transpose(image)
    if image.width < 1 or image.height < 1:
        raise ValueError(f"the image is empty ({image.width}x{image.height} pixels).")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise ValueError(f"images can be prepared for models with 1, 3 or 4 input channels; this one takes {channels}.")
    if image.mode != mode:
        image = image.convert(mode)
    array = np.asarray(image)
    tensor = _tensor_view(array)
    return PixelImage(tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1), is_uint8=True)


def _from_array(array: np.ndarray) -> PixelImage:
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
        array = array[..., :3] if array.shape[-1] != 1 else array[..., 0]
    elif array.ndim == 3 and array.shape[0] in (1, 3, 4):
        raise ValueError(
            f"an ndarray image must be channels-last (H, W, 3); got {array.shape}. "
            "Use array.transpose(1, 2, 0) for a (3, H, W) array."
        )
    elif array.ndim != 2:
        raise ValueError(f"an ndarray image must have shape (H, W), (H, W, 3) or (H, W, 4); got {array.shape}.")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"the image is empty (shape {array.shape}).")
    if array.dtype == np.uint8:
        is_uint8 = True
    elif np.issubdtype(array.dtype, np.floating):
        is_uint8 = False
        if not np.isfinite(array).all():
            raise ValueError("the image contains NaN or Inf values.")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"a float image must have values in [0, 1]; got values in [{low:.4g}, {high:.4g}]. "
                "Divide 0..255 data by 255, or pass it as uint8."
            )
        array = array.astype(np.float32, copy=False)
    else:
        raise TypeError(
            f"an ndarray image must be uint8 (0..255) or float in [0, 1]; got dtype {array.dtype}. "
            "Convert it, e.g. array.astype(np.uint8) for 0..255 data."
        )
    tensor = _tensor_view(np.ascontiguousarray(array))
    tensor = tensor.unsqueeze(0).expand(3, -1, -1) if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    return PixelImage(tensor, is_uint8=is_uint8)


def _tensor_view(array: np.ndarray) -> torch.Tensor:
    """Zero-copy tensor over ``array``; read-only arrays are fine, since nothing writes into it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)

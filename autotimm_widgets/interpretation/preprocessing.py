"""The model's own preprocessing: mean, std and input size, and how images are prepared.

Where the values come from, first match wins:

1. the ``preprocess`` argument (a :class:`PreprocessConfig`, a dict with ``mean``, ``std``
   and ``input_size``, or a callable ``image -> tensor (3, h, w)``);
2. a timm model anywhere in the module tree (``pretrained_cfg`` through
   ``timm.data.resolve_data_config``), so wrapped models such as ``model.backbone`` work;
3. a Hugging Face model: the image processor it carries (``model.image_processor``) or can
   load offline from its ``config._name_or_path``, else ``config.image_size`` with
   ImageNet mean and std;
4. a torchvision ``VisionTransformer``: its ``image_size`` with ImageNet mean and std;
5. ImageNet mean and std at 224x224.

PIL and ndarray images are resized *whole* to the input size (no crop), so that every pixel
of the user's image is seen by the model and a map at input resolution lines up with the
image once it is resized back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._images import check_tensor, to_pixels
from ._model import input_channels

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PreprocessConfig:
    """Normalisation and input size: ``input_size`` is (h, w); mean and std per RGB channel."""

    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    input_size: tuple[int, int] = (224, 224)
    interpolation: str = "bilinear"

    @classmethod
    def from_mapping(cls, values: Mapping) -> PreprocessConfig:
        """Build from a dict such as timm's data config (``input_size`` may be (3, h, w) or an int)."""
        unknown = set(values) - {"mean", "std", "input_size", "interpolation", "crop_pct", "crop_mode"}
        if unknown:
            raise ValueError(
                f"unknown preprocess keys {sorted(unknown)}; expected mean, std, input_size, interpolation."
            )
        size = values.get("input_size", (224, 224))
        if isinstance(size, int):
            size = (size, size)
        size = tuple(int(s) for s in size)[-2:]
        interpolation = values.get("interpolation", "bilinear")
        return cls(
            mean=_triple(values.get("mean", IMAGENET_MEAN), "mean"),
            std=_triple(values.get("std", IMAGENET_STD), "std"),
            input_size=size,  # type: ignore[arg-type]
            interpolation=interpolation if interpolation in ("bilinear", "bicubic") else "bilinear",
        )


PreprocessSpec = PreprocessConfig | Mapping | Callable | None


@dataclass(frozen=True)
class PreparedImage:
    """A model-ready batch of one: ``tensor`` (1, 3, h, w); ``size`` (H, W) of the user's image."""

    tensor: torch.Tensor
    size: tuple[int, int]


def resolve_preprocess_config(model: nn.Module) -> PreprocessConfig:
    """Read mean, std and input size from a timm or Hugging Face model, or use ImageNet's."""
    for module in model.modules():
        # Read the module's own attribute: wrappers such as torch.compile's OptimizedModule
        # forward attribute lookups to the model they wrap, but cannot stand in for it.
        cfg = vars(module).get("pretrained_cfg")
        if isinstance(cfg, Mapping) and cfg:
            from timm.data import resolve_data_config

            values = {
                k: v
                for k, v in resolve_data_config({}, model=module).items()
                if k in ("mean", "std", "input_size", "interpolation")
            }
            built_size = getattr(getattr(module, "patch_embed", None), "img_size", None)
            if built_size is not None:  # a ViT built at another size than its pretrained config
                values["input_size"] = built_size
            return PreprocessConfig.from_mapping(values)
    hf_config = getattr(model, "config", None)
    if hf_config is not None and hasattr(hf_config, "to_dict"):
        return _from_hugging_face(model, hf_config)
    for module in model.modules():  # torchvision's VisionTransformer is built for one square image size
        size = getattr(module, "image_size", None)
        if isinstance(size, int) and isinstance(getattr(module, "patch_size", None), int):
            return PreprocessConfig(input_size=(size, size))
    return PreprocessConfig()


class Preprocessor:
    """Prepares images for one model: validate, resize whole, normalise, move to the device."""

    def __init__(self, model: nn.Module, preprocess: PreprocessSpec = None):
        self.transform: Callable | None = None
        self.channels = input_channels(model)
        if preprocess is None:
            self.config = resolve_preprocess_config(model)
        elif isinstance(preprocess, PreprocessConfig):
            self.config = preprocess
        elif isinstance(preprocess, Mapping):
            self.config = PreprocessConfig.from_mapping(preprocess)
        elif callable(preprocess):
            self.config = resolve_preprocess_config(model)
            self.transform = preprocess
        else:
            raise TypeError(
                "preprocess must be None, a PreprocessConfig, a dict with mean/std/input_size, "
                f"or a callable image -> tensor; got {type(preprocess).__name__}."
            )

    def __call__(self, image, device: torch.device, dtype: torch.dtype = torch.float32) -> PreparedImage:
        """Return the image as a (1, 3, h, w) model input plus the user's (H, W)."""
        if isinstance(image, torch.Tensor):
            tensor = check_tensor(image, self.channels)
            return PreparedImage(tensor.to(device=device, dtype=dtype).clone(), tuple(tensor.shape[-2:]))
        pixels = to_pixels(image, self.channels)
        if self.transform is not None:
            tensor = check_tensor(torch.as_tensor(self.transform(image)), self.channels)
            return PreparedImage(tensor.to(device=device, dtype=dtype).clone(), pixels.size)
        return PreparedImage(self.pixels_to_input(pixels.pixels, pixels.is_uint8, device, dtype), pixels.size)

    def pixels_to_input(self, pixels: torch.Tensor, is_uint8: bool, device, dtype=torch.float32) -> torch.Tensor:
        """(3, H, W) pixels (uint8 or [0, 1] float) -> normalised (1, 3, h, w) at the input size."""
        x = resize_pixels(pixels, is_uint8, self.config.input_size, device, self.config.interpolation)
        return self.normalize(x).to(dtype)

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) pixels in [0, 1] -> the model's input space."""
        mean, std = self._stats(pixels)
        return (pixels - mean) / std

    def denormalize(self, inputs: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize`: the model's input space -> pixels (not clamped)."""
        mean, std = self._stats(inputs)
        return inputs * std + mean

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (1, C, 1, 1) for ``like``'s C channels: the config's RGB values averaged for
        a grayscale input, with their average appended for a 4th (alpha) channel."""
        channels = like.shape[1]
        values = []
        for stat in (self.config.mean, self.config.std):
            stat = tuple(stat)
            if len(stat) != channels:
                average = sum(stat[:3]) / len(stat[:3])
                stat = (average,) if channels == 1 else (*stat[:3], average)[:channels]
            values.append(torch.tensor(stat, device=like.device, dtype=like.dtype).view(1, channels, 1, 1))
        return values[0], values[1]


LARGE_IMAGE_BYTES = 64 * 2**20  # float32 copies above this size are avoided: resize first


def resize_pixels(
    pixels: torch.Tensor, is_uint8: bool, size: tuple[int, int], device, interpolation: str = "bilinear"
) -> torch.Tensor:
    """(3, H, W) uint8 or [0, 1] float pixels -> float32 (1, 3, h, w) in [0, 1] at ``size``.

    The resize (antialiased) runs on ``device``. A very large image on the CPU is first
    resized in its own dtype, so an 8000x6000 photo never becomes a 576 MB float copy.
    """
    x = pixels.unsqueeze(0)
    size = tuple(size)
    if tuple(x.shape[-2:]) == size:
        x = x.to(device=device, dtype=torch.float32)
        return x.div_(255.0) if is_uint8 else x
    if torch.device(device).type == "cpu" and x[0, 0].numel() * 3 * 4 > LARGE_IMAGE_BYTES:
        x = F.interpolate(x, size=size, mode=interpolation, align_corners=False, antialias=True).float()
    else:
        x = x.to(device=device, dtype=torch.float32)
        x = F.interpolate(x, size=size, mode=interpolation, align_corners=False, antialias=True)
    return (x.div_(255.0) if is_uint8 else x).clamp_(0.0, 1.0)


def _triple(values, name: str) -> tuple[float, float, float]:
    values = tuple(float(v) for v in (values if hasattr(values, "__len__") else (values,) * 3))
    if len(values) == 1:
        values = values * 3
    if len(values) != 3:
        raise ValueError(f"preprocess {name} must have 3 values (one per RGB channel); got {values}.")
    return values  # type: ignore[return-value]


def _from_hugging_face(model: nn.Module, hf_config) -> PreprocessConfig:
    processor = getattr(model, "image_processor", None)
    if processor is None:
        processor = _load_hf_processor_offline(getattr(hf_config, "_name_or_path", ""))
    size = getattr(hf_config, "image_size", 224)
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    if processor is not None:
        mean = getattr(processor, "image_mean", None) or mean
        std = getattr(processor, "image_std", None) or std
        proc_size = getattr(processor, "size", None)
        if isinstance(proc_size, Mapping) and "height" in proc_size and "width" in proc_size:
            size = (proc_size["height"], proc_size["width"])
    return PreprocessConfig.from_mapping({"mean": mean, "std": std, "input_size": size})


def _load_hf_processor_offline(name_or_path: str):
    if not name_or_path:
        return None
    try:
        from transformers import AutoImageProcessor

        return AutoImageProcessor.from_pretrained(name_or_path, local_files_only=True)
    except Exception:  # noqa: BLE001 - no transformers, no local files, or no processor: fall back to defaults
        return None

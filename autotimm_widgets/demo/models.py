"""The trained demo models: a small timm ResNet and a small timm hybrid ViT, shipped as safetensors.

Both are multi-label classifiers over :data:`~autotimm_widgets.demo.data.CLASS_NAMES`: one
logit per class, and a class counts as present when its logit is above 0 (sigmoid above
0.5). ``python -m autotimm_widgets.demo.train`` reproduces the weights.

* ``"cnn"``: timm ``resnet10t`` (one residual block per stage), narrowed to 0.45 M
  parameters, with ``output_stride=16`` so that its last stage -- GradCAM's default layer --
  is an 8x8 grid at 128 px instead of 4x4.
* ``"vit"``: a timm ``VisionTransformer`` (6 blocks, width 96, 3 heads, class token) whose
  16x16 patch embedding is a small ResNet trunk: the hybrid ViT of Dosovitskiy et al.
  (2021, section 3.1), as in timm's ``vit_*_r*`` models. Tokens sit on the usual (H/16,
  W/16) grid after one class token, so rollout, attention flow and token GradCAM treat it
  like any ViT.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from importlib import resources
from typing import NamedTuple

import timm
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from timm.data import resolve_data_config
from timm.layers import PatchEmbed
from torch import nn

from .data import CLASS_NAMES, IMAGE_SIZE

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
METADATA_KEY = "autotimm_widgets.demo"  # the safetensors header entry holding the training record (JSON)
_TRUNK = ("conv1", "bn1", "act1", "maxpool", "layer1", "layer2", "layer3")  # ResNet stride 16


class DemoModel(NamedTuple):
    """A loaded demo model: ``model`` in eval mode, its ``class_names`` and its ``data_config``.

    ``data_config`` is timm's data config (``mean``, ``std``, ``input_size`` (3, h, w),
    ``interpolation``, ``crop_pct``, ``crop_mode``), read from ``model.pretrained_cfg`` by
    ``timm.data.resolve_data_config``, which is also where the explainers and the widget
    find it.
    """

    model: nn.Module
    class_names: tuple[str, ...]
    data_config: dict


class ResNetPatchEmbed(PatchEmbed):
    """Hybrid-ViT patch embedding: the demo CNN's stem and first three stages (stride 16), then 1x1 to ``embed_dim``.

    Input (B, 3, H, W) -> tokens (B, H/16 * W/16, embed_dim); ``patch_size`` stays (16, 16).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if tuple(self.patch_size) != (16, 16):
            raise ValueError(f"the ResNet trunk has stride 16; got patch_size {self.patch_size}.")
        name, cnn_args = ARCHITECTURES["cnn"]
        cnn = timm.create_model(name, pretrained=False, num_classes=0, **cnn_args)
        trunk = nn.Sequential(OrderedDict((n, getattr(cnn, n)) for n in _TRUNK))
        projection = nn.Conv2d(cnn_args["channels"][2], self.proj.out_channels, kernel_size=1)
        self.proj = nn.Sequential(OrderedDict(trunk=trunk, proj=projection))


# The timm architecture of each demo model and the arguments that shrink it to demo size.
ARCHITECTURES: dict[str, tuple[str, dict]] = {
    "cnn": ("resnet10t", dict(stem_width=16, channels=(24, 48, 96, 128), output_stride=16)),
    "vit": (
        "vit_tiny_patch16_224",
        dict(img_size=IMAGE_SIZE, embed_dim=96, depth=6, num_heads=3, embed_layer=ResNetPatchEmbed),
    ),
}


def build_model(kind: str) -> nn.Module:
    """The demo architecture ``"cnn"`` or ``"vit"`` with random weights and the demo's ``pretrained_cfg``."""
    _check_kind(kind)
    name, kwargs = ARCHITECTURES[kind]
    overlay = dict(
        mean=MEAN,
        std=STD,
        input_size=(3, IMAGE_SIZE, IMAGE_SIZE),
        interpolation="bilinear",
        crop_pct=1.0,
        num_classes=len(CLASS_NAMES),
        label_names=CLASS_NAMES,
        tag=f"autotimm_widgets_demo_{kind}",
        url="",  # the weights come from this package, never from a hub
        hf_hub_id=None,
        custom_load=False,
    )
    return timm.create_model(
        name, pretrained=False, num_classes=len(CLASS_NAMES), pretrained_cfg_overlay=overlay, **kwargs
    )


def cnn_trunk_state(cnn_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The part of a demo CNN state dict that initialises the hybrid ViT's trunk (``patch_embed.proj.trunk``)."""
    return {k: v for k, v in cnn_state.items() if k.split(".")[0] in _TRUNK}


def weights_path(kind: str):
    """The packaged safetensors file of demo model ``kind`` (an ``importlib.resources`` Traversable)."""
    _check_kind(kind)
    return resources.files(__package__) / "weights" / f"{kind}.safetensors"


def load_weights(kind: str) -> dict[str, torch.Tensor]:
    """The packaged float16 state dict of demo model ``kind``."""
    with resources.as_file(weights_path(kind)) as file:
        return load_file(file)


def load_demo_model(kind: str = "cnn") -> DemoModel:
    """Load the trained demo ``"cnn"`` or ``"vit"`` from the package, offline: float32, CPU, eval mode."""
    model = build_model(kind)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in load_weights(kind).items()})
    model.eval()
    model.multi_label = True  # one independent (sigmoid) score per class; the widget reads this
    return DemoModel(model, CLASS_NAMES, resolve_data_config({}, model=model))


def weights_metadata(kind: str) -> dict:
    """What the training run recorded in the safetensors header (held-out accuracy, seeds, recipe, ...)."""
    with resources.as_file(weights_path(kind)) as file, safe_open(file, "pt") as f:
        return json.loads((f.metadata() or {})[METADATA_KEY])


def _check_kind(kind: str) -> None:
    if kind not in ARCHITECTURES:
        raise ValueError(f"unknown demo model {kind!r}; choose 'cnn' or 'vit'.")

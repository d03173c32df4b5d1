"""Offline demo: generated scenes with ground-truth masks, and a small CNN and ViT trained on them.

>>> from autotimm_widgets.demo import demo_image, load_demo_model
>>> model, class_names, data_config = load_demo_model("cnn")
>>> scene = demo_image("two_classes")   # scene.image (128, 128, 3) uint8, scene.masks, scene.labels
"""

from .data import CLASS_NAMES, CURATED_NAMES, DemoImage, demo_image, demo_images
from .hub import hub_reachable
from .models import DemoModel, load_demo_model

__all__ = [
    "CLASS_NAMES",
    "CURATED_NAMES",
    "DemoImage",
    "DemoModel",
    "demo_image",
    "demo_images",
    "hub_reachable",
    "load_demo_model",
]

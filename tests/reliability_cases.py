"""Every explainer, built small and fast, for the reliability tests (battery, soak, threads).

``CASES`` maps a case id to a :class:`Case`: which tiny model it explains (``"cnn"``: timm
``test_resnet``; ``"vit"``: timm ``test_vit``) and how to build the explainer. Inputs are resized
to ``SIZE`` px so that hundreds of calls stay cheap on a 2-core CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import timm
import torch
from torch import nn

from autotimm_widgets.interpretation import (
    AttentionFlow,
    AttentionRollout,
    BaseInterpreter,
    GradCAM,
    GradCAMPlusPlus,
    GradientWeightedRollout,
    IntegratedGradients,
    SmoothGrad,
)

SIZE = 64
PREPROCESS = {"input_size": SIZE, "mean": 0.5, "std": 0.5}
NUM_CLASSES = 5


@dataclass(frozen=True)
class Case:
    arch: str  # "cnn" or "vit"
    build: Callable[[nn.Module], BaseInterpreter]
    takes_class: bool = True  # False: class-agnostic (any target class is refused)


CASES = {
    "gradcam-cnn": Case("cnn", lambda m: GradCAM(m, use_cuda=False, preprocess=PREPROCESS)),
    "gradcam-vit": Case("vit", lambda m: GradCAM(m, use_cuda=False, preprocess=PREPROCESS)),
    "gradcam++-cnn": Case("cnn", lambda m: GradCAMPlusPlus(m, use_cuda=False, preprocess=PREPROCESS)),
    "ig-cnn": Case("cnn", lambda m: IntegratedGradients(m, steps=4, use_cuda=False, preprocess=PREPROCESS)),
    "smoothgrad-cnn": Case(
        "cnn", lambda m: SmoothGrad(GradCAM(m, use_cuda=False, preprocess=PREPROCESS), num_samples=3, seed=0)
    ),
    "rollout-vit": Case("vit", lambda m: AttentionRollout(m, use_cuda=False, preprocess=PREPROCESS), takes_class=False),
    "flow-vit": Case(
        "vit", lambda m: AttentionFlow(m, target_patch=3, use_cuda=False, preprocess=PREPROCESS), takes_class=False
    ),
    "gwr-vit": Case("vit", lambda m: GradientWeightedRollout(m, use_cuda=False, preprocess=PREPROCESS)),
}
CLASS_CASES = [name for name, case in CASES.items() if case.takes_class]


def build_model(arch: str) -> nn.Module:
    """A fresh tiny timm model in eval mode, ``NUM_CLASSES`` outputs, fixed seed."""
    torch.manual_seed(0)
    name = {"cnn": "test_resnet", "vit": "test_vit"}[arch]
    return timm.create_model(name, pretrained=False, num_classes=NUM_CLASSES).eval()

"""Every explainer, built small and fast, for the reliability tests (battery, soak, threads).

``CASES`` maps a case id to a :class:`Case`: which method (``BUILDERS``) on which tiny model
(``"cnn"``: timm ``test_resnet``; ``"vit"``: timm ``test_vit``). Inputs are resized
to ``SIZE`` px so that hundreds of calls stay cheap on a 2-core CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


BUILDERS: dict[str, Callable[[nn.Module], BaseInterpreter]] = {
    "gradcam": lambda m: GradCAM(m, use_cuda=False, preprocess=PREPROCESS),
    "gradcam++": lambda m: GradCAMPlusPlus(m, use_cuda=False, preprocess=PREPROCESS),
    "ig": lambda m: IntegratedGradients(m, steps=4, use_cuda=False, preprocess=PREPROCESS),
    "smoothgrad": lambda m: SmoothGrad(GradCAM(m, use_cuda=False, preprocess=PREPROCESS), num_samples=3, seed=0),
    "rollout": lambda m: AttentionRollout(m, use_cuda=False, preprocess=PREPROCESS),
    "flow": lambda m: AttentionFlow(m, target_patch=3, use_cuda=False, preprocess=PREPROCESS),
    "gwr": lambda m: GradientWeightedRollout(m, use_cuda=False, preprocess=PREPROCESS),
}
CLASS_AGNOSTIC = ("rollout", "flow")
ATTENTION_ONLY = ("rollout", "flow", "gwr")


@dataclass(frozen=True)
class Case:
    method: str  # a key of BUILDERS
    arch: str  # "cnn" or "vit"

    @property
    def build(self) -> Callable[[nn.Module], BaseInterpreter]:
        return BUILDERS[self.method]

    @property
    def takes_class(self) -> bool:
        """False for class-agnostic methods (any target class is refused)."""
        return self.method not in CLASS_AGNOSTIC


def _cases(pairs) -> dict[str, Case]:
    return {f"{method}-{arch}": Case(method, arch) for method, arch in pairs}


# Every method once (GradCAM on both kinds of model): the battery.
CASES = _cases([("gradcam", "cnn"), ("gradcam", "vit"), ("gradcam++", "cnn"), ("ig", "cnn"), ("smoothgrad", "cnn"),
                ("rollout", "vit"), ("flow", "vit"), ("gwr", "vit")])  # fmt: skip
# Every method on every model it applies to: the soak and thread tests.
ALL_CASES = _cases([(m, a) for m in BUILDERS for a in ("cnn", "vit") if a == "vit" or m not in ATTENTION_ONLY])
CLASS_CASES = [name for name, case in CASES.items() if case.takes_class]


def build_model(arch: str) -> nn.Module:
    """A fresh tiny timm model in eval mode, ``NUM_CLASSES`` outputs, fixed seed."""
    torch.manual_seed(0)
    name = {"cnn": "test_resnet", "vit": "test_vit"}[arch]
    return timm.create_model(name, pretrained=False, num_classes=NUM_CLASSES).eval()


def update(state, **data) -> dict:
    """An ipywidgets comm message that sets ``state`` (what the browser sends on save_changes)."""
    return {"content": {"data": {"method": "update", "state": state, "buffer_paths": [], **data}}, "buffers": []}

"""Every registered explainer, built small and fast, for the reliability tests (battery, soak, threads).

``CASES`` maps a case id (``"<method>-<arch>"``) to a :class:`Case`: which registered method
(``list_methods()``) on which tiny model (``"cnn"``: timm ``test_resnet``; ``"vit"``: timm
``test_vit``). Inputs are resized to ``SIZE`` px so that hundreds of calls stay cheap on a
2-core CPU. A method that registers itself joins every battery with no edit here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import timm
import torch
from torch import nn

from autotimm_widgets.interpretation import BaseInterpreter, create_explainer, list_methods, method_info

SIZE = 64
PREPROCESS = {"input_size": SIZE, "mean": 0.5, "std": 0.5}
NUM_CLASSES = 5
# Settings that keep every call cheap, for whichever registered method takes them.
FAST = {"steps": 4, "num_samples": 3, "n_samples": 3}
METHODS = list_methods()  # every registered method, so a new one joins every battery


def build(method: str, model: nn.Module) -> BaseInterpreter:
    """``method`` from the registry on ``model``: CPU, ``PREPROCESS``, ``FAST`` settings; a source
    patch (3) for methods that take one, seed 0 for wrappers (SmoothGrad of its default base)."""
    info = method_info(method)
    params = {k: v for k, v in FAST.items() if k in {p.name for p in info.params}}
    if info.capabilities.takes_patch:
        params["target_patch"] = 3
    if info.capabilities.wrapper:
        params["seed"] = 0
    return create_explainer(method, model, use_cuda=False, preprocess=PREPROCESS, **params)


def needs_attention(method: str) -> bool:
    info = method_info(method)
    base = info.param("base").default if info.capabilities.wrapper else method
    return info.capabilities.needs_attention or method_info(base).capabilities.needs_attention


@dataclass(frozen=True)
class Case:
    method: str  # a registered method name
    arch: str  # "cnn" or "vit"

    @property
    def build(self) -> Callable[[nn.Module], BaseInterpreter]:
        return lambda model: build(self.method, model)

    @property
    def takes_class(self) -> bool:
        """False for class-agnostic methods (any target class is refused)."""
        return method_info(self.method).capabilities.class_specific


def _cases(pairs) -> dict[str, Case]:
    return {f"{method}-{arch}": Case(method, arch) for method, arch in pairs}


def _archs(method: str, every: bool) -> list[str]:
    """The models a method runs on: ViTs only for attention methods; a layer method also on a
    ViT (token layers) in the battery; every model it applies to when ``every`` (a method that
    refuses a model, ``cls.unsupported``, never runs on it)."""
    if needs_attention(method):
        return ["vit"]
    archs = (
        ["cnn", "vit"] if every or (method_info(method).capabilities.takes_layer and method == METHODS[0]) else ["cnn"]
    )
    return [arch for arch in archs if method_info(method).cls.unsupported(_probe_model(arch)) is None]


_PROBES: dict[str, nn.Module] = {}


def _probe_model(arch: str) -> nn.Module:
    """One tiny model per arch, to ask which methods apply to it."""
    if arch not in _PROBES:
        _PROBES[arch] = build_model(arch)
    return _PROBES[arch]


# What a method runs per call (hooks, passes, loops): the classes that define these for it.
# A method that changes only the maths of its path (GradCAM++'s weights, EigenCAM's projection)
# runs the same calls as the first method of that path.
CALL_PATH = (
    "_attribute",
    "_layer_maps",
    "evidence",
    "layer_weights",
    "channel_weights",
    "ablated_scores",
    "_signed",
    "backward_rule",
    "regions",
)


def code_path(method: str) -> tuple:
    """The defining class of each ``CALL_PATH`` attribute for ``method``'s class."""
    cls = method_info(method).cls
    return tuple(next((k for k in cls.__mro__ if name in vars(k)), None) for name in CALL_PATH)


def path_representatives(methods: list[str]) -> list[str]:
    """The first method of each distinct code path, in registry order."""
    seen: dict[tuple, str] = {}
    for method in methods:
        seen.setdefault(code_path(method), method)
    return list(seen.values())


def build_model(arch: str) -> nn.Module:
    """A fresh tiny timm model in eval mode, ``NUM_CLASSES`` outputs, fixed seed."""
    torch.manual_seed(0)
    name = {"cnn": "test_resnet", "vit": "test_vit"}[arch]
    return timm.create_model(name, pretrained=False, num_classes=NUM_CLASSES).eval()


def update(state, **data) -> dict:
    """An ipywidgets comm message that sets ``state`` (what the browser sends on save_changes)."""
    return {"content": {"data": {"method": "update", "state": state, "buffer_paths": [], **data}}, "buffers": []}


# Every method once (the first layer method on both kinds of model): the battery.
CASES = _cases([(m, a) for m in METHODS for a in _archs(m, every=False)])
# Every code path on every model it applies to: the soak and thread tests (hundreds of calls each).
ALL_CASES = _cases([(m, a) for m in path_representatives(METHODS) for a in _archs(m, every=True)])
CLASS_CASES = [name for name, case in CASES.items() if case.takes_class]

"""Human-readable class names: given, from the model's own metadata, or "class i"."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def resolve_class_names(model: nn.Module, num_classes: int, class_names: Sequence[str] | None = None) -> list[str]:
    """Names for classes 0..num_classes-1, first match wins.

    1. ``class_names`` when given (its length must equal ``num_classes``);
    2. ``label_names`` in a timm ``pretrained_cfg`` (the demo models carry them);
    3. a Hugging Face ``config.id2label`` that is not the default ``LABEL_i``;
    4. timm's ``ImageNetInfo`` for an ImageNet-1k (or 21k) timm model;
    5. ``"class i"``.
    """
    if class_names is not None:
        names = [str(n) for n in class_names]
        if len(names) != num_classes:
            raise ValueError(f"class_names has {len(names)} names but the model has {num_classes} classes.")
        return names
    for module in model.modules():
        cfg = getattr(module, "pretrained_cfg", None)
        labels = cfg.get("label_names") if isinstance(cfg, dict) else None
        if labels and len(labels) == num_classes:
            return [str(n) for n in labels]
    id2label = getattr(getattr(model, "config", None), "id2label", None)
    if isinstance(id2label, dict) and len(id2label) == num_classes:
        names = [str(id2label.get(i, id2label.get(str(i), f"class {i}"))) for i in range(num_classes)]
        if any(name != f"LABEL_{i}" for i, name in enumerate(names)):
            return names
    names = _imagenet_names(model, num_classes)
    return names if names is not None else [f"class {i}" for i in range(num_classes)]


def _imagenet_names(model: nn.Module, num_classes: int) -> list[str] | None:
    if num_classes not in (1000, 11821, 21841, 21843):
        return None
    try:
        from timm.data import ImageNetInfo, infer_imagenet_subset
    except ImportError:
        return None
    for module in model.modules():
        if isinstance(getattr(module, "pretrained_cfg", None), dict):
            subset = infer_imagenet_subset(module)
            if subset:
                info = ImageNetInfo(subset)
                if info.num_classes() == num_classes:
                    return [info.index_to_description(i) for i in range(num_classes)]
    return None


def label_index(label, names: Sequence[str]) -> int | None:
    """The true label as a class index: ``label`` is None, an index into ``names`` or one of the names."""
    if label is None:
        return None
    if isinstance(label, str):
        if label not in names:
            raise ValueError(f"label {label!r} is not a class name; expected an index or one of the model's names.")
        return list(names).index(label)
    if isinstance(label, bool) or not hasattr(label, "__index__"):
        raise TypeError(f"label must be None, a class index or a class name; got {type(label).__name__}.")
    index = int(label.__index__())
    if not 0 <= index < len(names):
        raise ValueError(f"label must be in [0, {len(names) - 1}]; got {index}.")
    return index

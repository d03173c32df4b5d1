"""BaseInterpreter: inputs, batching, model hygiene and output maps shared by every method.

A method implements one thing, ``_attribute`` (public as :meth:`BaseInterpreter.attribute_batch`): a batch of model inputs
and requested classes in, non-negative raw maps out. Everything around it lives here:

* images are validated and preprocessed with the model's own config (see ``preprocessing``);
* the model is locked, put in eval mode and restored afterwards (see ``_model.explaining``);
* maps are resized on the device to each user image's size and normalised per map;
* ``explain_batch`` chunks images into batches of ``batch_size`` and explains each chunk
  as a batch (per input shape): the method's passes run once per chunk, not once per image.

Explainers are safe to share between threads: calls on the same model are serialised by a
per-model lock, and no per-call state is kept on the explainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ._checks import check_batch_size
from ._model import check_model, choose_device, explaining, logits_of, model_dtype
from ._progress import ProgressCallback as Progress
from ._targets import batch_targets, check_range, class_tensor, explain_targets, has_custom_targets, resolve_classes
from ._tokens import check_input_size
from .preprocessing import PreparedImage, Preprocessor, PreprocessSpec
from .types import ImageBatch, ImageInput, TargetClass, TargetClasses


@dataclass(frozen=True)
class BatchAttribution:
    """One batch's result, on the model's device.

    ``maps``: (B, K, h, w) non-negative raw maps; ``logits``: (B, C), detached;
    ``classes``: (B, K) the class each map explains.
    """

    maps: torch.Tensor
    logits: torch.Tensor
    classes: torch.Tensor


class BaseInterpreter:
    """Base class of all explainers.

    Args:
        model: any ``nn.Module`` returning logits (B, C), a tuple or list whose first item is
            the logits, or an object with ``.logits``.
        use_cuda: run on the GPU when one is available (the model is moved there once).
        preprocess: overrides the model's own preprocessing; see ``preprocessing``.

    Threads: calls are serialised per model. Every call that runs the model holds a lock
    shared by all explainers of that model, and no per-call state is kept on the explainer,
    so explainers can be shared between threads and give the maps of sequential use. During
    a call the model is in eval mode with temporary hooks: do not train or run the model
    yourself from another thread at the same time.

    Wrapped models: ``nn.DataParallel``, ``DistributedDataParallel`` and ``torch.compile``'s
    wrapper are unwrapped (``self.model`` is the module they wrap); compiled parts of a model
    run eagerly during a call, since hooks and gradients need the eager forward.
    """

    def __init__(self, model: nn.Module, use_cuda: bool = True, *, preprocess: PreprocessSpec = None):
        self.model = check_model(model)
        self.device = choose_device(self.model, use_cuda)
        self.preprocessor = Preprocessor(self.model, preprocess)

    def __enter__(self):
        """``with Method(model) as explainer:``, pytorch-grad-cam's idiom. Hooks live for one call
        here, so there is nothing to release on exit."""
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    @classmethod
    def unsupported(cls, model: nn.Module) -> str | None:
        """Why this method cannot explain ``model`` (a sentence naming what is missing or not
        supported), or ``None`` when it can. The registry and the widget offer only methods
        that can; constructing one that cannot raises ``ValueError`` with this reason."""
        return None

    # -- what a method implements -------------------------------------------------------
    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        """Maps for a batch ``inputs`` (B, 3, h, w); ``classes[b]`` lists image b's classes (None = predicted)."""
        raise NotImplementedError

    # -- public API ---------------------------------------------------------------------
    @property
    def rows_per_input(self) -> int:
        """Model input rows (a forward and backward each) this explainer evaluates per image: 1
        for most methods, ``steps`` for Integrated Gradients, ``num_samples x`` the base's for
        SmoothGrad. Progress is counted in these units, and memory is sized by them."""
        return 1

    def attribute_batch(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        """Raw maps of a preprocessed batch: what wrappers (SmoothGrad, ``compare_methods``, the
        widget) build on.

        Args:
            inputs: (B, 3, h, w) model inputs on ``self.device`` (see :meth:`prepare`).
            classes: per image, the classes to explain (``None``: the predicted class).

        Returns:
            :class:`BatchAttribution` with (B, K, h', w') non-negative raw maps (not resized, not
            normalised; :meth:`finish_maps` does both), the logits and the classes explained.
        """
        with explaining(self.model):
            return self._attribute(inputs, classes)

    def explain(self, image: ImageInput, target_class: TargetClass = None, normalize: bool = True) -> np.ndarray:
        """Explain one image.

        Args:
            image: a PIL image, an ndarray (H, W[, 3|4]) uint8 or float in [0, 1], or a
                preprocessed tensor (3, H, W) / (1, 3, H, W).
            target_class: a class index, ``None`` for the predicted class, or a list of
                class indices for one map each; the classes share the forward pass(es).
            normalize: scale each map to [0, 1]; ``False`` returns the raw non-negative map.

        Returns:
            float32 array (H, W) at the size of ``image``, or (K, H, W) for K classes.
        """
        classes, single = explain_targets(target_class)
        prepared = self.prepare(image)
        with explaining(self.model):
            result = self._attribute(prepared.tensor, [classes])
        maps = self.finish_maps(result.maps, [prepared.size], normalize)[0]
        return maps[0] if single else maps

    def explain_batch(
        self,
        images: ImageBatch,
        target_classes: TargetClasses = None,
        batch_size: int = 32,
        *,
        normalize: bool = True,
        progress: Progress | None = None,
        show_progress: bool | None = None,
    ) -> list[np.ndarray]:
        """Explain many images, ``batch_size`` at a time (each chunk explained as one batch).

        Args:
            images: a list of images (any accepted kind, sizes may differ), or a batch
                tensor (B, 3, H, W).
            target_classes: ``None`` (predicted classes) or one class (or None) per image.
            batch_size: images per forward pass.
            progress: called as ``progress(done, total)`` after each chunk.
            show_progress: show a tqdm bar; by default only when there is more than one chunk.

        Returns:
            One float32 (H, W) map per image, at that image's size, equal to ``explain``.
        """
        images = _image_list(images)
        classes = batch_targets(target_classes, len(images))
        batch_size = check_batch_size(batch_size)
        total = len(images)
        show = total > batch_size if show_progress is None else bool(show_progress)
        results: list[np.ndarray] = [None] * total  # type: ignore[list-item]
        with tqdm(total=total, disable=not show, desc=type(self).__name__, unit="img") as bar:
            for start in range(0, total, batch_size):
                chunk = range(start, min(total, start + batch_size))
                prepared = {i: self.prepare(images[i]) for i in chunk}
                for group in same_shape_groups(prepared):
                    inputs = torch.cat([prepared[i].tensor for i in group])
                    with explaining(self.model):
                        result = self._attribute(inputs, [[classes[i]] for i in group])
                    maps = self.finish_maps(result.maps, [prepared[i].size for i in group], normalize)
                    for i, m in zip(group, maps, strict=True):
                        results[i] = m[0]
                bar.update(len(chunk))
                if progress is not None:
                    progress(chunk.stop, total)
        return results

    def predict(self, image: ImageInput) -> torch.Tensor:
        """The model's logits (C,) for one image, on the CPU (one no-grad forward pass)."""
        prepared = self.prepare(image)
        with explaining(self.model), torch.no_grad():
            return logits_of(self.model(prepared.tensor))[0].float().cpu()

    def prepare(self, image: ImageInput) -> PreparedImage:
        """Validate and preprocess an image for this explainer's model and device."""
        with torch.inference_mode(False):  # tensors made here must be usable by autograd
            prepared = self.preprocessor(image, self.device, model_dtype(self.model))
        check_input_size(self.model, prepared.tensor.shape[-2:])
        return prepared

    # -- helpers for methods ------------------------------------------------------------
    #: whether the method explains custom targets (``targets.Target``) as well as class indices
    takes_custom_targets = False

    def _targets(self, logits: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> torch.Tensor:
        """(B, K) classes to explain: check the range, fill ``None`` with the predicted class
        (a custom target counts as its ``index``, or as the predicted class)."""
        if not self.takes_custom_targets and has_custom_targets(classes):
            raise TypeError(
                f"{type(self).__name__} explains class indices; custom targets (ClassLogit, ClassProbability, "
                "EmbeddingSimilarity, ...) are for the gradient CAM methods, such as GradCAM."
            )
        for row in classes:
            check_range(row, logits.shape[1])
        return resolve_classes(logits, class_tensor(classes, logits.device))

    @staticmethod
    def finish_maps(maps: torch.Tensor, sizes: Sequence[tuple[int, int]], normalize: bool = True) -> list[np.ndarray]:
        """Resize (B, K, h, w) maps to each image's (H, W) on the device; min-max normalise per map."""
        maps = maps.detach().float()
        if not bool(torch.isfinite(maps).all()):  # checked at map resolution, before resizing
            raise ValueError(
                "the explanation is not finite (NaN or Inf): the model's output or its gradients overflowed "
                "for this input. Check that the input is in the range the model expects (a tensor image is "
                "passed to the model as it is) and that the model's weights are finite."
            )
        out: list[np.ndarray] = [None] * len(sizes)  # type: ignore[list-item]
        for size in dict.fromkeys(sizes):
            index = [i for i, s in enumerate(sizes) if s == size]
            group = maps[index]
            group = resize_maps(group, size)
            group = group.clamp_min_(0)  # maps[index] is a copy, safe to change in place
            if normalize:
                group = normalize_maps(group, inplace=True)
            for i, m in zip(index, group.cpu().numpy(), strict=True):
                out[i] = m
        return out


def resize_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, K, h, w) maps resized bilinearly to ``size`` on their device; a 1x1 map is expanded, so
    that it stays exactly constant (interpolation would add rounding noise that normalising magnifies)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    if maps.shape[-2] * maps.shape[-1] == 1:
        return maps.expand(*maps.shape[:-2], *size).clone()
    return F.interpolate(maps, size=tuple(size), mode="bilinear", align_corners=False)


def normalize_maps(maps: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Min-max scale each (..., H, W) map to [0, 1]; a constant map becomes all zeros.

    With ``inplace=True`` ``maps`` is overwritten, so full-size maps of very large images
    need no temporary copies.
    """
    low = maps.amin(dim=(-2, -1), keepdim=True)
    span = maps.amax(dim=(-2, -1), keepdim=True) - low
    out = maps.sub_(low) if inplace else maps - low
    return out.div_(torch.where(span > 0, span, torch.ones_like(span))).mul_(span > 0)


def _image_list(images) -> list:
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise ValueError(f"a batch tensor must have shape (B, 3, H, W); got {tuple(images.shape)}.")
        return list(images.unbind(0))
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return list(images)
    if isinstance(images, (list, tuple)):
        return list(images)
    raise TypeError(f"images must be a list of images or a (B, 3, H, W) tensor; got {type(images).__name__}.")


def same_shape_groups(prepared: dict[int, PreparedImage]) -> list[list[int]]:
    """Keys of ``prepared`` grouped by input tensor shape, in first-seen order (one forward pass per group)."""
    groups: dict[tuple, list[int]] = {}
    for i, p in prepared.items():
        groups.setdefault(tuple(p.tensor.shape), []).append(i)
    return list(groups.values())

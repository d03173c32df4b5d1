"""Custom targets for the CAM methods, as pytorch-grad-cam's ``targets=``: what a map explains.

A target is a callable from the model's output (B, C) (logits, or an embedding for a model
without a classifier) to one score per image (B,). Pass one where a class index goes:
``GradCAM(model).explain(image, target_class=ClassProbability(3))``, or one per image in
``explain_batch``'s ``target_classes``. The gradient CAMs (GradCAM, GradCAM++, XGradCAM,
HiResCAM, LayerCAM, GradCAMElementWise, EigenGradCAM, ShapleyCAM, FinerCAM) take them; other
methods explain class indices and refuse a target with a ``TypeError``.
"""

from __future__ import annotations

import torch

from ._targets import as_class_index


class Target:
    """Base of custom targets: ``target(output)`` (B, C) -> (B,) scores; ``index`` is the class
    the target is about (reported as the map's class), or None."""

    index: int | None = None

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.index})"


class ClassLogit(Target):
    """The logit of class ``index``: the same map as ``target_class=index``."""

    def __init__(self, index: int):
        self.index = as_class_index(index, "index")

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return output[:, self.index]


class ClassProbability(Target):
    """The softmax probability of class ``index`` (pytorch-grad-cam's ``ClassifierOutputSoftmaxTarget``):
    evidence for the class against all the others."""

    def __init__(self, index: int):
        self.index = as_class_index(index, "index")

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return torch.softmax(output.float(), dim=-1)[:, self.index]


class EmbeddingSimilarity(Target):
    """The cosine similarity of the output (an embedding, (B, D)) to ``embedding`` (D,), as
    the similarity-to-concept target of pytorch-grad-cam's tutorials: what makes an image look like another."""

    def __init__(self, embedding):
        embedding = torch.as_tensor(embedding).detach().float().flatten()
        if embedding.numel() == 0 or not bool(torch.isfinite(embedding).all()) or float(embedding.norm()) == 0:
            raise ValueError("embedding must be a finite, non-zero vector.")
        self.embedding = embedding

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        if output.shape[-1] != self.embedding.numel():
            raise ValueError(
                f"the model outputs {output.shape[-1]} values per image; the embedding has {self.embedding.numel()}."
            )
        return torch.cosine_similarity(output.float(), self.embedding.to(output.device)[None], dim=-1)

    def __repr__(self) -> str:
        return f"EmbeddingSimilarity(<{self.embedding.numel()} values>)"

"""KPCA-CAM (Karmani et al., 2024): EigenCAM with kernel PCA, as scikit-learn's ``KernelPCA``."""

from __future__ import annotations

import torch
from torch import nn

from ._eigen import orient
from ._gradient_free import ProjectionCAM
from .cam import AUG_SMOOTH, LayersSpec
from .registry import Param, register_method

KERNELS = ("sigmoid", "rbf", "poly", "linear", "cosine")


def check_kernel(kernel) -> str:
    """``kernel`` if it is one of :data:`KERNELS`."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {list(KERNELS)}; got {kernel!r}.")
    return kernel


def check_gamma(gamma) -> float | None:
    """``gamma`` as a float > 0, or None (1 / channels, scikit-learn's default)."""
    if gamma is None:
        return None
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma > 0 or gamma != gamma:
        raise ValueError(f"gamma must be a number > 0 or None; got {gamma!r}.")
    return float(gamma)


KERNEL = Param("kernel", str, check_kernel, "Kernel", choices=KERNELS)


@register_method(
    "kpca_cam", label="KPCA-CAM", rank=200, takes_layer=True, class_specific=False, params=(KERNEL, AUG_SMOOTH)
)
class KPCA_CAM(ProjectionCAM):  # noqa: N801 - pytorch-grad-cam's name
    """Gradient-free and class-agnostic: the activations' positions (h*w points in channel
    space, centred) projected on the first kernel principal component, as pytorch-grad-cam's
    ``KPCA_CAM`` (scikit-learn ``KernelPCA(n_components=1, kernel, gamma)``, coef0 = 1, degree 3).
    The sign is fixed to correlate with the channel sum (see ``_eigen``); it takes no class.
    Costs an (h*w)^2 kernel matrix and its eigendecomposition per image: keep layers small."""

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec = None,
        use_cuda: bool = True,
        *,
        kernel: str = "sigmoid",
        gamma: float | None = None,
        **options,
    ):
        super().__init__(model, target_layer, use_cuda, **options)
        self.kernel = KERNEL.validate(kernel)
        self.gamma = check_gamma(gamma)

    def project(self, activations: torch.Tensor) -> torch.Tensor:
        return kernel_projection(activations, self.kernel, self.gamma)


def kernel_projection(activations: torch.Tensor, kernel: str = "sigmoid", gamma: float | None = None) -> torch.Tensor:
    """(B, C, h, w) -> (B, h, w): each image's positions projected on the first kernel principal
    component (``KernelPCA.fit_transform``: the top eigenvector of the centred kernel matrix times
    the square root of its eigenvalue), oriented to correlate with the channel sum."""
    b, c, h, w = activations.shape
    dtype = torch.promote_types(activations.dtype, torch.float32)
    if not bool(torch.isfinite(activations).all()):  # NaN maps: finish_maps then raises its clear error
        return torch.full((b, h, w), float("nan"), dtype=dtype, device=activations.device)
    points = activations.reshape(b, c, h * w).transpose(1, 2).double()
    points = points - points.mean(dim=1, keepdim=True)
    gamma = 1.0 / c if gamma is None else gamma
    gram = points @ points.transpose(1, 2)
    if kernel == "linear":
        matrix = gram
    elif kernel == "sigmoid":
        matrix = torch.tanh(gamma * gram + 1.0)
    elif kernel == "poly":
        matrix = (gamma * gram + 1.0) ** 3
    elif kernel == "rbf":
        squared = (points**2).sum(-1)
        matrix = torch.exp(-gamma * (squared[:, :, None] + squared[:, None, :] - 2 * gram).clamp_min(0))
    else:  # cosine
        norms = points.norm(dim=-1).clamp_min(1e-300)
        matrix = gram / (norms[:, :, None] * norms[:, None, :])
    n = h * w
    centring = torch.eye(n, dtype=matrix.dtype, device=matrix.device) - 1.0 / n
    centred = centring @ matrix @ centring
    values, vectors = torch.linalg.eigh(centred)
    projection = vectors[..., -1] * values[:, -1:].clamp_min(0).sqrt()
    reference = activations.sum(dim=1).reshape(b, n)
    return orient(projection, reference).reshape(b, h, w).to(dtype)

"""pytorch-grad-cam's own tests (``tests/`` in jacobgil/pytorch-grad-cam), ported to our API.

* ``test_run_all_models.py``: every CAM, with and without ``eigen_smooth``, on torchvision's
  resnet18 (two layers of ``layer4``) and vgg11 (``features[-1]``) at 32x32 and 32x40, batches of
  2 and 1, the predicted class or class 100. At 32 px those layers are 1x1: like pytorch-grad-cam
  we give a zero map (with a warning). Random weights: no hub here. The class-agnostic EigenCAM
  and KPCA_CAM refuse class 100 (pytorch-grad-cam ignores it silently).
* ``test_one_channel.py``: a resnet18 whose first convolution takes 1 channel, 16 gray images.
* ``test_context_release.py``: ``with Method(...) as cam`` in a loop leaves no hook and no
  growing memory (GradCAM and ShapleyCAM).
* ``test_svd_no_side_effect.py``: the eigen projections leave their input unchanged.

Not ported: ``test_refine_cam.py`` (RefineCAM and the ARCC metric are not among the methods
ours ships), ``test_fasterrcnn_target_device.py`` and ``test_context_release_cuda.py``'s
detection and CUDA paths (detection targets belong to the detection work; the CUDA soak is in
``reliability/test_reliability_soak.py``, run where there is a GPU).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torchvision

from autotimm_widgets.interpretation import (
    KPCA_CAM,
    AblationCAM,
    EigenCAM,
    EigenGradCAM,
    FullGrad,
    GradCAM,
    GradCAMPlusPlus,
    LayerCAM,
    ScoreCAM,
    ShapleyCAM,
    XGradCAM,
)
from autotimm_widgets.interpretation._eigen import first_component
from autotimm_widgets.interpretation.kpca_cam import kernel_projection

from helpers.models import hook_count

METHODS = [
    ScoreCAM,
    AblationCAM,
    GradCAM,
    GradCAMPlusPlus,
    XGradCAM,
    EigenCAM,
    EigenGradCAM,
    LayerCAM,
    FullGrad,
    KPCA_CAM,
]
AGNOSTIC = (EigenCAM, KPCA_CAM)


@pytest.fixture(scope="module")
def torchvision_models():
    torch.manual_seed(0)
    return {
        "resnet18": (torchvision.models.resnet18(weights=None).eval(), ["layer4.1", "layer4.0"]),
        "vgg11": (torchvision.models.vgg11(weights=None).eval(), ["features.20"]),
    }


@pytest.mark.parametrize("cam_method", METHODS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("eigen_smooth", [True, False])
@pytest.mark.parametrize("target_category", [None, 100])
@pytest.mark.parametrize("batch_size, width, height", [(2, 32, 32), (1, 32, 40)])
@pytest.mark.parametrize("arch", ["resnet18", "vgg11"])
def test_all_cam_models_can_run(
    torchvision_models, arch, batch_size, width, height, target_category, eigen_smooth, cam_method
):
    model, layers = torchvision_models[arch]
    options = {"use_cuda": False}
    if eigen_smooth:  # EigenCAM, EigenGradCAM and KPCA_CAM are eigen methods already: no effect, as there
        options["eigen_smooth"] = True
    # the ported test sets cam.batch_size = 4; ours keeps its default (32): the same maps, in fewer
    # passes through vgg11's 100M-parameter head
    cam = cam_method(model, **options) if cam_method is FullGrad else cam_method(model, target_layer=layers, **options)
    inputs = torch.randn(batch_size, 3, height, width)
    targets = None if target_category is None else [target_category] * batch_size
    if target_category is not None and cam_method in AGNOSTIC:
        with pytest.raises(ValueError, match="takes no target class"):
            cam.explain_batch(inputs, targets)
        assert hook_count(model) == 0
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maps = cam.explain_batch(inputs, targets)
    assert len(maps) == batch_size
    assert all(m.shape == (height, width) for m in maps)
    one_by_one = (height, width) == (32, 32) or arch == "vgg11"  # resnet18's layer4 is 1x2 at 32x40
    if cam_method is not FullGrad and one_by_one:  # every target layer is 1x1: a zero map, and why
        assert all(np.all(m == 0) for m in maps)
        assert any("is 1x1" in str(w.message) for w in caught)
    else:
        assert all(np.isfinite(m).all() and m.min() >= 0 and m.max() <= 1 for m in maps)
    assert hook_count(model) == 0


def test_one_channel_model():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None)
    model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
    model.eval()
    gray = torch.rand(64, 80) * 255
    inputs = gray[None, None].repeat(16, 1, 1, 1)
    with GradCAM(model, target_layer="layer4", use_cuda=False) as cam:
        maps = cam.explain_batch(inputs)
    assert len(maps) == 16 and maps[0].shape == (64, 80)
    np.testing.assert_allclose(maps[0], maps[15], atol=1e-6)  # the same image, the same map
    assert maps[0].max() == pytest.approx(1.0)


@pytest.mark.parametrize("cam_method", [GradCAM, ShapleyCAM], ids=lambda c: c.__name__)
def test_memory_usage_in_loop(cam_method):
    psutil = pytest.importorskip("psutil")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    inputs = torch.randn(1, 3, 112, 112)
    process = psutil.Process()
    initial = None
    for i in range(30):
        with cam_method(model, target_layer="layer4.1", use_cuda=False) as cam:
            cam.explain(inputs, target_class=100)
        assert hook_count(model) == 0
        if i == 4:
            initial = process.memory_info().rss
    assert process.memory_info().rss <= initial * 1.5
    assert all(p.grad is None for p in model.parameters())


def _sample_batch_with_nan() -> torch.Tensor:
    a = torch.zeros(1, 2, 2, 2)
    a[0, 0, 0, 0] = float("nan")
    a[0, 0, 1, 1] = 1.0
    a[0, 1] = torch.tensor([[2.0, 3.0], [4.0, 5.0]])
    return a


@pytest.mark.parametrize(
    "project",
    [lambda a: first_component(a), lambda a: kernel_projection(a)],
    ids=["get_2d_projection", "get_2d_projection_kernel"],
)
def test_svd_no_side_effect(project):
    """test_svd_no_side_effect.py: a projection never changes its input. Where pytorch-grad-cam
    zeroes the NaNs of a copy, ours returns a NaN map, which every explainer then refuses."""
    a = _sample_batch_with_nan()
    snapshot = a.clone()
    out = project(a)
    assert torch.equal(a.isnan(), snapshot.isnan()) and torch.equal(a.nan_to_num(), snapshot.nan_to_num())
    assert out.shape == (1, 2, 2) and bool(out.isnan().all())
    clean = a.nan_to_num()
    kept = clean.clone()
    assert bool(torch.isfinite(project(clean)).all()) and torch.equal(clean, kept)

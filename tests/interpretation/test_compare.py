"""compare_methods: the same maps as each method alone, CAMs sharing one pass; the figure helper."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from autotimm_widgets.interpretation import (
    AttentionRollout,
    GradCAM,
    GradCAMPlusPlus,
    GradientWeightedRollout,
    IntegratedGradients,
    compare_figure,
    compare_methods,
    method_info,
)

from helpers.forward_counter import forward_batches
from helpers.images import random_image
from helpers.models import ModelSnapshot
from helpers.params import EXPECTED


def test_each_map_equals_its_method_alone(resnet18):
    image = random_image(80, 100)
    snapshot = ModelSnapshot(resnet18)
    maps = compare_methods(
        resnet18, image, ["gradcam", "gradcam++", "integrated_gradients"], target_class=3, steps=8, use_cuda=False
    )
    snapshot.assert_unchanged()
    assert list(maps) == ["gradcam", "gradcam++", "integrated_gradients"]
    np.testing.assert_allclose(maps["gradcam"], GradCAM(resnet18, use_cuda=False).explain(image, 3), atol=1e-5)
    np.testing.assert_allclose(
        maps["gradcam++"], GradCAMPlusPlus(resnet18, use_cuda=False).explain(image, 3), atol=1e-5
    )
    ig = IntegratedGradients(resnet18, steps=8, use_cuda=False).explain(image, 3)
    np.testing.assert_allclose(maps["integrated_gradients"], ig, atol=1e-5)
    assert not np.allclose(maps["gradcam"], maps["gradcam++"], atol=1e-3)


def test_gradcam_and_gradcam_plusplus_share_one_forward_pass(resnet18):
    GradCAM(resnet18, use_cuda=False).candidate_layers()  # warm the layer trace
    with forward_batches(resnet18) as batches:
        compare_methods(resnet18, random_image(), ["gradcam", "gradcam++"], use_cuda=False)
    assert batches.count(1) == 2  # the layer trace of a fresh explainer, then one shared pass


def test_every_class_specific_method_explains_the_predicted_class(vit_tiny):
    image = random_image(64, 64)
    predicted = int(GradCAM(vit_tiny, use_cuda=False).predict(image).argmax())
    maps = compare_methods(vit_tiny, image, steps=4, use_cuda=False)
    # every method that applies to the ViT but the wrapper
    assert list(maps) == [n for n in EXPECTED if n != "smoothgrad" and method_info(n).applies_to(vit_tiny)]
    np.testing.assert_allclose(
        maps["gradient_rollout"], GradientWeightedRollout(vit_tiny, use_cuda=False).explain(image, predicted), atol=1e-5
    )
    np.testing.assert_allclose(
        maps["attention_rollout"], AttentionRollout(vit_tiny, use_cuda=False).explain(image), atol=1e-5
    )
    for heatmap in maps.values():
        assert heatmap.shape == (64, 64) and heatmap.min() >= 0 and heatmap.max() <= 1


def test_errors(resnet18):
    with pytest.raises(ValueError, match="distinct names"):
        compare_methods(resnet18, random_image(), ["gradcam", "lime"])
    with pytest.raises(ValueError, match="distinct names"):
        compare_methods(resnet18, random_image(), ["gradcam", "gradcam"])
    with pytest.raises(ValueError, match="one class"):
        compare_methods(resnet18, random_image(), ["gradcam"], target_class=[1, 2])
    with pytest.raises(TypeError, match="Vision Transformer"):
        compare_methods(resnet18, random_image(), ["attention_rollout"], use_cuda=False)


def test_figure_shows_every_map_on_one_scale(resnet18, tmp_path):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = random_image(60, 80)
    maps = compare_methods(resnet18, image, ["gradcam", "gradcam++"], use_cuda=False)
    figure = compare_figure(image, maps)
    assert isinstance(figure, Figure) and plt.get_fignums() == []
    overlays = [ax.images[-1] for ax in figure.axes if len(ax.images) == 2]
    assert len(overlays) == 2 and all(im.get_clim() == (0.0, 1.0) for im in overlays)
    assert len(figure.axes) == 4  # image, two maps, one colour bar
    figure.savefig(tmp_path / "compare.png")
    assert (tmp_path / "compare.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="shape"):
        compare_figure(image, {"bad": np.zeros((5, 5))})


def test_every_registered_method_of_a_cnn_equals_itself_alone():
    import timm
    import torch

    from autotimm_widgets.interpretation import create_explainer, list_methods, method_info

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=6).eval()
    image = random_image(64, 80)
    names = list_methods(model)
    assert {"scorecam", "ablationcam", "eigencam", "kpca_cam", "fullgrad", "shapleycam", "finercam"} <= set(names)
    maps = compare_methods(model, image, names, target_class=2, steps=8, use_cuda=False)
    assert list(maps) == names
    for name in names:
        info = method_info(name)
        options = {"seed": 0} if info.capabilities.wrapper else ({"steps": 8} if name == "integrated_gradients" else {})
        alone = create_explainer(name, model, use_cuda=False, **options).explain(
            image, 2 if info.capabilities.class_specific else None
        )
        np.testing.assert_allclose(maps[name], alone, atol=1e-5, err_msg=name)

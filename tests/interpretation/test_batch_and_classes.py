"""explain_batch is truly batched and equals explain; many classes cost one forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from autotimm_widgets.interpretation import GradCAM

from helpers.forward_counter import forward_batches
from helpers.images import random_image
from helpers.reliability_cases import ALL_CASES, build_model


def mixed_images():
    return [
        Image.fromarray(random_image(60, 90, seed=1)),
        random_image(120, 80, seed=2),
        random_image(224, 224, seed=3).astype(np.float32) / 255,
        Image.fromarray(random_image(33, 47, seed=4)).convert("L"),
        random_image(100, 100, seed=5),
    ]


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_batch_equals_per_image_explain_for_every_method(name):
    """Every registered method on every model it applies to: mixed sizes and forms, mixed classes."""
    case = ALL_CASES[name]
    explainer = case.build(build_model(case.arch))
    images = mixed_images()
    classes = [3, None, 0, 4, None] if case.takes_class else None
    batched = explainer.explain_batch(images, target_classes=classes, batch_size=4)
    for index, (image, heatmap) in enumerate(zip(images, batched, strict=True)):
        single = explainer.explain(image, target_class=None if classes is None else classes[index])
        assert heatmap.shape == single.shape == np.asarray(image).shape[:2]
        np.testing.assert_allclose(heatmap, single, atol=1e-5)


def test_one_forward_per_chunk(resnet18):
    explainer = GradCAM(resnet18, use_cuda=False)
    explainer.candidate_layers()  # the one-off layer trace is not part of the count
    with forward_batches(resnet18) as batches:
        maps = explainer.explain_batch(mixed_images() * 2, batch_size=4)
    assert len(maps) == 10
    assert batches == [4, 4, 2]


def test_tensor_batches_of_different_sizes(resnet18):
    explainer = GradCAM(resnet18, use_cuda=False)
    images = [torch.randn(3, 64, 96), torch.randn(3, 128, 128), torch.randn(1, 3, 64, 96)]
    maps = explainer.explain_batch(images)
    assert [m.shape for m in maps] == [(64, 96), (128, 128), (64, 96)]
    np.testing.assert_allclose(maps[0], explainer.explain(images[0]), atol=1e-5)
    assert len(explainer.explain_batch(torch.randn(3, 3, 64, 64))) == 3


def test_progress_callback_and_bar_switch(resnet18, capsys):
    calls = []
    GradCAM(resnet18, use_cuda=False).explain_batch(
        mixed_images(), batch_size=2, progress=lambda done, total: calls.append((done, total)), show_progress=False
    )
    assert calls == [(2, 5), (4, 5), (5, 5)]
    assert "GradCAM" not in capsys.readouterr().err


def test_many_classes_one_forward(resnet18):
    explainer = GradCAM(resnet18, use_cuda=False)
    image = random_image()
    explainer.candidate_layers()
    with forward_batches(resnet18) as batches:
        stack = explainer.explain(image, target_class=[3, 5, 7])
    assert batches == [1]
    assert stack.shape == (3, 96, 128)
    for k, c in enumerate([3, 5, 7]):
        np.testing.assert_allclose(stack[k], explainer.explain(image, target_class=c), atol=1e-5)
    assert not np.allclose(stack[0], stack[1])


def test_predicted_class_is_the_default(resnet18):
    explainer = GradCAM(resnet18, use_cuda=False)
    image = random_image()
    with torch.no_grad():
        predicted = int(resnet18(explainer.prepare(image).tensor).argmax())
    np.testing.assert_allclose(explainer.explain(image), explainer.explain(image, target_class=predicted))


@pytest.mark.parametrize(
    "value, error, words",
    [
        (10, ValueError, "valid indices are 0..9"),
        (-1, ValueError, "non-negative"),
        (2.0, TypeError, "int class index"),
        (True, TypeError, "int class index"),
        ("cat", TypeError, "int class index"),
        (torch.tensor(1.5), TypeError, "int class index"),
        ([], ValueError, "empty"),
        ([1, None], ValueError, "None"),
        ([1, 12], ValueError, "0..9"),
    ],
)
def test_bad_classes(resnet18, value, error, words):
    with pytest.raises(error, match=words):
        GradCAM(resnet18, use_cuda=False).explain(random_image(), target_class=value)


def test_batch_argument_errors(resnet18):
    explainer = GradCAM(resnet18, use_cuda=False)
    with pytest.raises(ValueError, match="2 entries but there are 3 images"):
        explainer.explain_batch([random_image()] * 3, target_classes=[1, 2])
    with pytest.raises(ValueError, match="batch_size"):
        explainer.explain_batch([random_image()], batch_size=0)
    with pytest.raises(TypeError, match="list of images"):
        explainer.explain_batch(random_image())
    assert explainer.explain_batch([]) == []

"""Custom targets (pytorch-grad-cam's ``targets=``): a logit, a probability, an embedding similarity."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from pytorch_grad_cam import GradCAM as ReferenceGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

from autotimm_widgets.interpretation import (
    ClassLogit,
    ClassProbability,
    EmbeddingSimilarity,
    GradCAM,
    HiResCAM,
    IntegratedGradients,
    ScoreCAM,
)

from helpers.models import ModelSnapshot, hook_count


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return timm.create_model("test_resnet", pretrained=False, num_classes=8).eval()


@pytest.fixture(scope="module")
def inputs():
    torch.manual_seed(1)
    return torch.randn(1, 3, 96, 96)


def reference_raw(model, inputs, target):
    reference = ReferenceGradCAM(model, target_layers=[model.layer4])
    outputs = reference.activations_and_grads(inputs)
    model.zero_grad()
    target(outputs[0]).backward()
    a = reference.activations_and_grads.activations[0].numpy()
    g = reference.activations_and_grads.gradients[0].numpy()
    reference.activations_and_grads.release()
    model.zero_grad(set_to_none=True)
    return np.maximum(reference.get_cam_image(inputs, model.layer4, None, a, g, False), 0)[0]


def test_class_logit_is_the_class_index(model, inputs):
    cam = GradCAM(model, target_layer="layer4", use_cuda=False)
    torch.testing.assert_close(cam.attribute(inputs, ClassLogit(3)), cam.attribute(inputs, 3))


def test_class_probability_equals_pytorch_grad_cams_softmax_target(model, inputs):
    with torch.no_grad():
        top = int(model(inputs).argmax())  # its probability map has positive parts at random init
    ours = GradCAM(model, target_layer="layer4", use_cuda=False).attribute(inputs, ClassProbability(top)).numpy()
    expected = reference_raw(model, inputs, ClassifierOutputSoftmaxTarget(top))
    assert expected.max() > 0
    np.testing.assert_allclose(ours, expected, atol=1e-6, rtol=1e-4)
    logit = GradCAM(model, target_layer="layer4", use_cuda=False).attribute(inputs, top).numpy()
    assert not np.allclose(ours / ours.max(), logit / max(logit.max(), 1e-12), atol=1e-3)  # a different question


def test_embedding_similarity_equals_the_same_callable_in_pytorch_grad_cam():
    torch.manual_seed(0)
    embedder = timm.create_model("test_resnet", pretrained=False, num_classes=0).eval()  # outputs features
    x, other = torch.randn(1, 3, 96, 96), torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        concept = embedder(other)[0]
    ours = GradCAM(embedder, target_layer="layer4", use_cuda=False).attribute(x, EmbeddingSimilarity(concept)).numpy()
    expected = reference_raw(embedder, x, lambda o: torch.cosine_similarity(o, concept, dim=0))
    np.testing.assert_allclose(ours, expected, atol=1e-6, rtol=1e-4)
    with pytest.raises(ValueError, match="outputs 8 values per image; the embedding has"):
        GradCAM(timm.create_model("test_resnet", num_classes=8).eval(), use_cuda=False).explain(
            x, EmbeddingSimilarity(concept)
        )
    with pytest.raises(ValueError, match="non-zero"):
        EmbeddingSimilarity(torch.zeros(4))


def test_targets_in_a_batch_and_in_a_list_equal_one_by_one(model):
    torch.manual_seed(2)
    images = [torch.randn(3, 96, 96) for _ in range(3)]
    cam = HiResCAM(model, use_cuda=False)
    targets = [ClassProbability(1), 4, ClassLogit(6)]
    batch = cam.explain_batch(images, targets, batch_size=3)
    for image, target, got in zip(images, targets, batch, strict=True):
        np.testing.assert_allclose(got, cam.explain(image, target), atol=1e-5)
    stacked = cam.explain(images[0], [ClassProbability(2), 2])
    np.testing.assert_allclose(stacked[1], cam.explain(images[0], 2), atol=1e-6)
    np.testing.assert_allclose(stacked[0], cam.explain(images[0], ClassProbability(2)), atol=1e-6)


@pytest.mark.parametrize("method", [IntegratedGradients, ScoreCAM], ids=lambda m: m.__name__)
def test_methods_without_custom_targets_refuse_them_cleanly(model, inputs, method):
    snapshot = ModelSnapshot(model)
    with pytest.raises(TypeError, match="explains class indices; custom targets"):
        method(model, use_cuda=False).explain(inputs, ClassProbability(1))
    snapshot.assert_unchanged()
    assert hook_count(model) == 0


def test_a_target_index_out_of_range_is_refused(model, inputs):
    with pytest.raises(ValueError, match="out of range"):
        GradCAM(model, use_cuda=False).explain(inputs, ClassProbability(99))

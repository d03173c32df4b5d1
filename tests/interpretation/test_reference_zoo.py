"""The rest of pytorch-grad-cam's CAM family and options, against pytorch-grad-cam itself.

Same model, layer, class and input tensor. Deliberate differences, each checked here:
* EigenCAM, EigenGradCAM, KPCA_CAM and ``eigen_smooth``: SVD and eigendecompositions leave the
  component's sign arbitrary (NumPy's LAPACK picks one, scikit-learn's ``svd_flip`` another);
  ours is oriented to correlate with the channel sum, so the signed projections are equal up to
  the sign, and our map equals the reference's ReLU of the same-signed projection.
* ScoreCAM, AblationCAM and FullGrad have no raw map to compare before resizing in the
  reference's public pipeline for every case; their maps are compared at image resolution, and
  ScoreCAM and AblationCAM also by their channel weights (the definition: upsampling,
  normalisation of each activation, baseline).
* aug_smooth with the predicted class: pytorch-grad-cam takes each augmented copy's own top
  class; we explain the image's predicted class on every copy, so tests pass a class.
"""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_grad_cam as ref
import timm
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection, get_2d_projection_kernel
from torch.nn.attention import SDPBackend, sdpa_kernel

from autotimm_widgets.interpretation import (
    KPCA_CAM,
    AblationCAM,
    EigenCAM,
    EigenGradCAM,
    FinerCAM,
    FullGrad,
    GradCAM,
    GradCAMPlusPlus,
    LayerCAM,
    RandomCAM,
    ScoreCAM,
    ShapleyCAM,
)
from autotimm_widgets.interpretation._eigen import first_component
from autotimm_widgets.interpretation.kpca_cam import kernel_projection


def corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def vit_reshape(grid):
    def reshape(tensor):
        return tensor[:, 1:, :].reshape(tensor.size(0), *grid, tensor.size(2)).permute(0, 3, 1, 2)

    return reshape


CASES = {  # timm's tiny test models at 96 px (test_vit: 16-px patches, a 6x6 grid)
    "resnet": ("test_resnet", "layer4", None),
    "convnext": ("test_convnext", "stages.3", None),
    "vit": ("test_vit", "blocks.5.norm1", vit_reshape((6, 6))),
}
SIZE = 96


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    arch, layer, transform = CASES[request.param]
    torch.manual_seed(0)
    extra = {"img_size": SIZE} if transform is not None else {}
    model = timm.create_model(arch, pretrained=False, num_classes=12, **extra).eval()
    inputs = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        target = int(model(inputs).argmax())
    return model, layer, model.get_submodule(layer), transform, inputs, target


def reference_activations(model, module, transform, inputs, target, gradients=True):
    cam = ref.GradCAM(model, target_layers=[module], reshape_transform=transform)
    outputs = cam.activations_and_grads(inputs)
    if gradients:
        model.zero_grad()
        outputs[0, target].backward()
    activations = cam.activations_and_grads.activations[0].numpy()
    grads = cam.activations_and_grads.gradients[0].numpy() if gradients else None
    cam.activations_and_grads.release()
    model.zero_grad(set_to_none=True)
    return activations, grads


def assert_equal_up_to_sign(ours, reference, atol=1e-5):
    ours, reference = np.asarray(ours), np.asarray(reference)
    scale = max(1.0, float(np.abs(reference).max()))
    error = min(np.abs(ours - reference).max(), np.abs(ours + reference).max())
    assert error <= atol * scale, f"max abs difference up to sign {error:.3g}"


# -- eigen family -----------------------------------------------------------------------------
def test_eigencam_projection_equals_reference_up_to_sign(case):
    model, layer, module, transform, inputs, target = case
    activations, _ = reference_activations(model, module, transform, inputs, target, gradients=False)
    expected = get_2d_projection(activations)[0]
    ours = EigenCAM(model, target_layer=layer, use_cuda=False)
    assert_equal_up_to_sign(ours.project(torch.from_numpy(activations))[0].numpy(), expected)
    raw = ours.attribute(inputs).numpy()
    signed = ours.project(torch.from_numpy(activations))[0].numpy()
    np.testing.assert_allclose(raw, np.maximum(signed, 0), atol=1e-5)
    reference_map = ref.EigenCAM(model, target_layers=[module], reshape_transform=transform)(inputs, targets=None)[0]
    if np.abs(signed - expected).max() <= np.abs(signed + expected).max():  # the reference's SVD chose our sign
        assert corr(ours.explain(inputs), reference_map) > 0.999


def test_eigencam_is_class_agnostic_and_refuses_a_class(case):
    model, layer, *_ = case
    with pytest.raises(ValueError, match="takes no target class"):
        EigenCAM(model, target_layer=layer, use_cuda=False).explain(case[4], target_class=1)


def test_eigengradcam_equals_reference_up_to_sign(case):
    model, layer, module, transform, inputs, target = case
    activations, grads = reference_activations(model, module, transform, inputs, target)
    expected = get_2d_projection(grads * activations)[0]
    ours = EigenGradCAM(model, target_layer=layer, use_cuda=False).attribute(inputs, target).numpy()
    signed = first_component(torch.from_numpy(grads * activations))[0].numpy()
    assert_equal_up_to_sign(signed, expected)
    np.testing.assert_allclose(ours, np.maximum(signed, 0), atol=1e-5)


@pytest.mark.parametrize("kernel", ["sigmoid", "rbf", "linear"])
def test_kpca_cam_equals_reference_up_to_sign(case, kernel):
    model, layer, module, transform, inputs, target = case
    activations, _ = reference_activations(model, module, transform, inputs, target, gradients=False)
    expected = get_2d_projection_kernel(activations, kernel)[0]
    signed = kernel_projection(torch.from_numpy(activations), kernel)[0].numpy()
    assert_equal_up_to_sign(signed, expected, atol=1e-4)
    raw = KPCA_CAM(model, target_layer=layer, kernel=kernel, use_cuda=False).attribute(inputs).numpy()
    np.testing.assert_allclose(raw, np.maximum(signed, 0), atol=1e-5)


@pytest.mark.parametrize("ours_cls", [GradCAM, GradCAMPlusPlus, LayerCAM], ids=lambda c: c.__name__)
def test_eigen_smooth_equals_reference_up_to_sign(case, ours_cls):
    model, layer, module, transform, inputs, target = case
    reference = getattr(ref, ours_cls.__name__)(model, target_layers=[module], reshape_transform=transform)
    activations, grads = reference_activations(model, module, transform, inputs, target)
    expected = reference.get_cam_image(inputs, module, None, activations, grads, eigen_smooth=True)[0]
    reference.activations_and_grads.release()
    ours = ours_cls(model, target_layer=layer, eigen_smooth=True, use_cuda=False).attribute(inputs, target).numpy()
    plain = ours_cls(model, target_layer=layer, use_cuda=False).attribute(inputs, target).numpy()
    assert not np.allclose(ours, plain, atol=1e-4)  # the option changes the map
    error = min(np.abs(ours - np.maximum(expected, 0)).max(), np.abs(ours - np.maximum(-expected, 0)).max())
    assert error <= 1e-5 * max(1.0, float(np.abs(expected).max()))


# -- gradient CAMs with their own objective ---------------------------------------------------
def test_shapleycam_equals_reference(case):
    model, layer, module, transform, inputs, target = case
    reference = ref.ShapleyCAM(model, target_layers=[module], reshape_transform=transform)
    x = inputs.clone().requires_grad_(True)
    # pytorch-grad-cam's ShapleyCAM raises on a ViT with fused attention (no double backward for
    # the fused CPU kernel); it needs the math kernel, which ours picks by itself.
    with sdpa_kernel([SDPBackend.MATH]):
        outputs = reference.activations_and_grads(x)
    torch.autograd.grad(outputs[0, target], x, retain_graph=True, create_graph=True)
    activations = reference.activations_and_grads.activations[0]
    grads = reference.activations_and_grads.gradients[0]
    weights = reference.get_cam_weights(x, module, None, activations, grads)  # (1, C)
    # its get_cam_image forgets the reshape_transform for token layers ("Invalid activation
    # shape"), so the map is formed here from its own weights, as its base class does
    spatial = (transform(activations) if transform else activations).detach().numpy()
    expected = np.maximum((weights[:, :, None, None] * spatial).sum(axis=1), 0)[0]
    for handle in reference.activations_and_grads.handles:  # its release() fails on token views
        handle.remove()
    reference.activations_and_grads.activations.clear()
    reference.activations_and_grads.gradients.clear()
    ours = ShapleyCAM(model, target_layer=layer, use_cuda=False).attribute(inputs, target).numpy()
    assert expected.max() > 0
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_finercam_equals_reference_on_its_default_comparison(case):
    model, layer, module, transform, inputs, target = case
    reference = ref.FinerCAM(model, target_layers=[module], reshape_transform=transform)
    expected = reference(inputs, targets=None, target_idx=target)[0]
    reference.base_cam.activations_and_grads.release()
    ours = FinerCAM(model, target_layer=layer, use_cuda=False)
    assert corr(ours.explain(inputs, target), expected) > 0.999
    plain = GradCAM(model, target_layer=layer, use_cuda=False).attribute(inputs, target)
    np.testing.assert_allclose(
        FinerCAM(model, target_layer=layer, alpha=0.0, use_cuda=False).attribute(inputs, target),
        plain,
        atol=1e-5,
        rtol=1e-4,
    )


# -- perturbation CAMs ------------------------------------------------------------------------
def test_scorecam_weights_and_map_equal_reference(case):
    model, layer, module, transform, inputs, target = case
    activations, _ = reference_activations(model, module, transform, inputs, target, gradients=False)
    reference = ref.ScoreCAM(model, target_layers=[module], reshape_transform=transform)
    reference.batch_size = 16
    expected_weights = reference.get_cam_weights(inputs, module, [ClassifierOutputTarget(target)], activations, None)[0]
    ours = ScoreCAM(model, target_layer=layer, use_cuda=False, batch_size=7)
    weights = ours.channel_weights(inputs[0], torch.from_numpy(activations[0]), torch.tensor([target]))[0]
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-6, rtol=1e-4)
    expected_raw = np.maximum((expected_weights[:, None, None] * activations[0]).sum(0), 0)
    np.testing.assert_allclose(ours.attribute(inputs, target).numpy(), expected_raw, atol=1e-5, rtol=1e-4)
    reference_map = reference(inputs, targets=[ClassifierOutputTarget(target)])[0]
    reference.activations_and_grads.release()
    assert corr(ours.explain(inputs, target), reference_map) > 0.999


def test_ablationcam_map_equals_reference_on_relu_layers(case):
    model, layer, module, transform, inputs, target = case
    if transform is not None:
        pytest.skip("pytorch-grad-cam ablates token layers only with its AblationLayerVit, whose baseline differs")
    reference = ref.AblationCAM(model, target_layers=[module], batch_size=16)
    reference_map = reference(inputs, targets=[ClassifierOutputTarget(target)])[0]
    reference.activations_and_grads.release()
    ours = AblationCAM(model, target_layer=layer, use_cuda=False, batch_size=5).explain(inputs, target)
    assert corr(ours, reference_map) > 0.999


def test_fullgrad_map_equals_reference(case):
    model, _, _, _, inputs, target = case
    reference = ref.FullGrad(model, target_layers=[])
    reference_map = reference(inputs, targets=[ClassifierOutputTarget(target)])[0]
    reference.activations_and_grads.release()
    model.zero_grad(set_to_none=True)
    assert corr(FullGrad(model, use_cuda=False).explain(inputs, target), reference_map) > 0.999


# -- options --------------------------------------------------------------------------------
def test_aug_smooth_equals_reference(case):
    model, layer, module, transform, inputs, target = case
    reference = ref.GradCAM(model, target_layers=[module], reshape_transform=transform)
    expected = reference(inputs, targets=[ClassifierOutputTarget(target)], aug_smooth=True)[0]
    reference.activations_and_grads.release()
    ours = GradCAM(model, target_layer=layer, aug_smooth=True, use_cuda=False).explain(inputs, target)
    plain = GradCAM(model, target_layer=layer, use_cuda=False).explain(inputs, target)
    assert corr(ours, expected) > 0.999
    assert corr(ours, plain) < 0.9999  # the augmentation changes the map


def test_several_target_layers_average_as_reference():
    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
    inputs = torch.randn(1, 3, 128, 128)
    layers = ["layer3", "layer4.0", "layer4"]
    reference = ref.GradCAM(model, target_layers=[model.get_submodule(n) for n in layers])
    expected = reference(inputs, targets=[ClassifierOutputTarget(2)])[0]
    reference.activations_and_grads.release()
    ours = GradCAM(model, target_layer=layers, use_cuda=False)
    assert ours.target_layer == "layer3, layer4.0, layer4"
    our_map = ours.explain(inputs, 2)
    assert corr(our_map, expected) > 0.999
    single = GradCAM(model, target_layer="layer4", use_cuda=False).explain(inputs, 2)
    assert corr(our_map, single) < 0.999  # the other layers count


def test_randomcam_is_pytorch_grad_cams_definition_with_our_weights(case):
    """RandomCAM's weights are random in both libraries; given the same weights, the same map."""
    model, layer, module, transform, inputs, target = case
    ours = RandomCAM(model, target_layer=layer, seed=3, use_cuda=False)
    activations, grads = reference_activations(model, module, transform, inputs, target)
    weights = ours.random_weights(torch.tensor([[target]]), activations.shape[1])[:, 0].numpy()  # (1, C)
    reference = ref.RandomCAM(model, target_layers=[module], reshape_transform=transform)
    reference.get_cam_weights = lambda *args: weights
    expected = np.maximum(reference.get_cam_image(inputs, module, None, activations, grads, False), 0)[0]
    reference.activations_and_grads.release()
    np.testing.assert_allclose(ours.attribute(inputs, target).numpy(), expected, atol=1e-5)
    again = RandomCAM(model, target_layer=layer, seed=3, use_cuda=False).attribute(inputs, target)
    other = RandomCAM(model, target_layer=layer, seed=4, use_cuda=False).attribute(inputs, target)
    torch.testing.assert_close(again, ours.attribute(inputs, target))  # seeded: the same map
    assert not torch.allclose(other, again)
    assert np.all((weights >= -1) & (weights <= 1))

"""Every CAM we share with pytorch-grad-cam agrees with it on the same model, layer, class and input.

Definitions differ in two places on purpose, neither of which moves a map:
* normalisation: pytorch-grad-cam scales with ``(x - min) / (max + 1e-7)``, we with
  ``(x - min) / (max - min)``; both map the min to 0 and the max to ~1.
* resizing: pytorch-grad-cam normalises at feature resolution and resizes with cv2 on the
  CPU; we resize with ``F.interpolate`` on the device and then normalise, so our maps span
  exactly [0, 1]. Hence the image-resolution check is a correlation, not an equality.
"""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from pytorch_grad_cam import GradCAM as ReferenceGradCAM
from pytorch_grad_cam import GradCAMElementWise as ReferenceGradCAMElementWise
from pytorch_grad_cam import GradCAMPlusPlus as ReferenceGradCAMPlusPlus
from pytorch_grad_cam import HiResCAM as ReferenceHiResCAM
from pytorch_grad_cam import LayerCAM as ReferenceLayerCAM
from pytorch_grad_cam import XGradCAM as ReferenceXGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from autotimm_widgets.interpretation import GradCAM, GradCAMElementWise, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM

PAIRS = {
    "gradcam": (GradCAM, ReferenceGradCAM),
    "gradcam++": (GradCAMPlusPlus, ReferenceGradCAMPlusPlus),
    "xgradcam": (XGradCAM, ReferenceXGradCAM),
    "hirescam": (HiResCAM, ReferenceHiResCAM),
    "gradcam_elementwise": (GradCAMElementWise, ReferenceGradCAMElementWise),
    "layercam": (LayerCAM, ReferenceLayerCAM),
}


def reference_raw_cam(reference, inputs, target_class):
    """pytorch-grad-cam's CAM before normalisation, at feature resolution (its own pipeline)."""
    outputs = reference.activations_and_grads(inputs)
    reference.model.zero_grad()
    outputs[0, target_class].backward()
    activations = reference.activations_and_grads.activations[0].numpy()
    gradients = reference.activations_and_grads.gradients[0].numpy()
    layer = reference.target_layers[0]
    cam = reference.get_cam_image(inputs, layer, None, activations, gradients, eigen_smooth=False)
    return np.maximum(cam, 0)[0]


def vit_reshape(tensor, grid=(14, 14)):
    result = tensor[:, 1:, :].reshape(tensor.size(0), *grid, tensor.size(2))
    return result.permute(0, 3, 1, 2)


CASES = [
    ("resnet18", "layer4", None),
    ("resnet18", "layer3", None),
    ("convnext_atto", "stages.3", None),
    ("efficientnet_b0", "blocks.5", None),
    ("vit_tiny_patch16_224", "blocks.11.norm1", vit_reshape),
]


@pytest.mark.parametrize("ours_cls, reference_cls", list(PAIRS.values()), ids=list(PAIRS))
@pytest.mark.parametrize("arch, layer, reshape", CASES, ids=[f"{arch}-{layer}" for arch, layer, _ in CASES])
def test_matches_pytorch_grad_cam(ours_cls, reference_cls, arch, layer, reshape):
    torch.manual_seed(0)
    model = timm.create_model(arch, pretrained=False, num_classes=20).eval()
    inputs = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        target_class = int(model(inputs).argmax())  # its CAM has positive parts even at random init

    ours = ours_cls(model, target_layer=layer, use_cuda=False)
    module = model.get_submodule(layer)
    reference = reference_cls(model, target_layers=[module], reshape_transform=reshape)

    raw_ours = ours.attribute(inputs, target_class=target_class).numpy()
    raw_reference = reference_raw_cam(reference, inputs, target_class)
    assert raw_ours.shape == raw_reference.shape
    assert raw_reference.max() > 0, "degenerate case: the reference map is all zero"
    assert np.abs(raw_ours - raw_reference).max() <= 1e-5

    reference_map = reference(inputs, targets=[ClassifierOutputTarget(target_class)])[0]
    reference.activations_and_grads.release()
    our_map = ours.explain(inputs, target_class=target_class)
    assert our_map.shape == reference_map.shape == (224, 224)
    assert np.corrcoef(our_map.ravel(), reference_map.ravel())[0, 1] > 0.999

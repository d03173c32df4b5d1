"""Deletion and insertion: known answers on a constructed model, batching, baselines, hygiene."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from torchvision.transforms.functional import gaussian_blur

from autotimm_widgets.interpretation.metrics import (
    baseline_inputs,
    deletion,
    deletion_insertion,
    faithfulness_curves,
    insertion,
)
from autotimm_widgets.interpretation.preprocessing import Preprocessor

from helpers.images import random_image, square_image
from helpers.models import BrightSpotNet, ModelSnapshot

# BrightSpotNet's input is 224 x 224 (ImageNet defaults): a 112 px square is exactly 1/4 of the pixels.
IMAGE = square_image(224, 224, 56, 56, 112)
SQUARE = np.zeros((224, 224), dtype=np.float32)
SQUARE[56:168, 56:168] = 1.0


def bright_logit(model, image=IMAGE) -> float:
    """Class 0's logit on the unperturbed image, from the model itself."""
    tensor = Preprocessor(model)(image, torch.device("cpu")).tensor
    with torch.no_grad():
        return float(model(tensor)[0, 0])


def test_deleting_the_only_informative_pixels_drops_the_score_at_once(bright_spot_net):
    # Class 0 only sees bright pixels, and a black baseline makes them dark: once the square
    # is gone the logit is exactly 0; deleting dark pixels first changes nothing.
    start = bright_logit(bright_spot_net)
    right = deletion(bright_spot_net, IMAGE, SQUARE, 0, steps=5, baseline="black", score="logit")
    inverted = deletion(bright_spot_net, IMAGE, 1 - SQUARE, 0, steps=5, baseline="black", score="logit")
    np.testing.assert_allclose(right.fractions, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(right.scores[0], [start, 0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(inverted.scores[0], [start, start, start, start, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(right.auc, [start / 8], rtol=1e-5)
    np.testing.assert_allclose(inverted.auc, [start * 7 / 8], rtol=1e-5)


def test_insertion_rises_at_once_for_the_right_map(bright_spot_net):
    start = bright_logit(bright_spot_net)
    right = insertion(bright_spot_net, IMAGE, SQUARE, 0, steps=5, baseline="black", score="logit")
    inverted = insertion(bright_spot_net, IMAGE, 1 - SQUARE, 0, steps=5, baseline="black", score="logit")
    np.testing.assert_allclose(right.scores[0], [0, start, start, start, start], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inverted.scores[0], [0, 0, 0, 0, start], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(right.auc, [start * 7 / 8], rtol=1e-5)


def test_with_fifty_steps_the_curve_falls_until_the_square_is_gone_then_stays_at_zero(bright_spot_net):
    curve = deletion(bright_spot_net, IMAGE, SQUARE, 0, baseline="black", score="logit")
    scores, fractions = curve.scores[0], curve.fractions
    assert len(scores) == 50
    assert np.all(np.diff(scores) <= 1e-6), "deleting bright pixels can only lower class 0's logit"
    assert np.all(scores[fractions >= 0.25] == 0)
    assert scores[fractions < 0.2].min() > 0  # the last two rows of the square are too thin to respond


@pytest.mark.parametrize("baseline", ["blur", "black", "mean"])
def test_the_right_map_beats_the_inverted_map_with_every_baseline(bright_spot_net, baseline):
    options = dict(steps=20, baseline=baseline)
    right = faithfulness_curves(bright_spot_net, IMAGE, SQUARE, 0, **options)
    inverted = faithfulness_curves(bright_spot_net, IMAGE, 1 - SQUARE, 0, **options)
    assert right["deletion"].auc[0] < inverted["deletion"].auc[0]
    assert right["insertion"].auc[0] > inverted["insertion"].auc[0]


def test_the_default_score_is_the_softmax_probability_of_the_target(bright_spot_net):
    tensor = Preprocessor(bright_spot_net)(IMAGE, torch.device("cpu")).tensor
    with torch.no_grad():
        probability = torch.softmax(bright_spot_net(tensor), dim=1)[0]
    result = deletion_insertion(bright_spot_net, IMAGE, SQUARE, 1, steps=10)
    assert result["deletion_curve"][0] == pytest.approx(float(probability[1]), rel=1e-5)
    assert result["insertion_curve"][-1] == pytest.approx(float(probability[1]), rel=1e-5)
    assert np.all((result["deletion_curve"] >= 0) & (result["deletion_curve"] <= 1))


def test_the_sigmoid_score_is_the_sigmoid_of_the_logit_curve(bright_spot_net):
    """For multi-label models: each class on its own, not a softmax over the others."""
    options = dict(steps=9, baseline="black")
    logit = faithfulness_curves(bright_spot_net, IMAGE, SQUARE, 0, score="logit", **options)
    sigmoid = faithfulness_curves(bright_spot_net, IMAGE, SQUARE, 0, score="sigmoid", **options)
    softmax = faithfulness_curves(bright_spot_net, IMAGE, SQUARE, 0, **options)
    for kind in ("deletion", "insertion"):
        expected = torch.sigmoid(torch.as_tensor(logit[kind].scores)).numpy()
        np.testing.assert_allclose(sigmoid[kind].scores, expected, rtol=1e-5, atol=1e-6)
        assert not np.allclose(sigmoid[kind].scores, softmax[kind].scores, atol=1e-3)


def test_deletion_insertion_returns_plain_values_for_one_map(bright_spot_net):
    result = deletion_insertion(bright_spot_net, IMAGE, SQUARE, 0, steps=7, baseline="black")
    assert isinstance(result["deletion_auc"], float) and isinstance(result["insertion_auc"], float)
    assert isinstance(result["target_class"], int) and result["target_class"] == 0
    assert result["deletion_curve"].shape == result["insertion_curve"].shape == result["fractions"].shape == (7,)
    assert result["deletion_auc"] == pytest.approx(
        np.trapezoid(result["deletion_curve"], result["fractions"]), rel=1e-5
    )
    assert result["deletion_auc"] < result["insertion_auc"]
    assert (result["baseline"], result["score"]) == ("black", "probability")


def test_no_target_scores_the_predicted_class(bright_spot_net):
    # The image is mostly dark, so the model predicts class 1 (dark).
    result = deletion_insertion(bright_spot_net, IMAGE, SQUARE, None, steps=4)
    assert result["target_class"] == 1


def test_a_batch_equals_one_image_at_a_time(bright_spot_net):
    images = [random_image(96, 128, seed=1), IMAGE, square_image(150, 300, 20, 200, 60)]
    rng = np.random.default_rng(3)
    maps = [rng.random(image.shape[:2]).astype(np.float32) for image in images]
    classes = [0, 1, None]
    batch = faithfulness_curves(bright_spot_net, images, maps, classes, steps=9, batch_size=7)
    for i, (image, heatmap, target) in enumerate(zip(images, maps, classes)):
        alone = faithfulness_curves(bright_spot_net, image, heatmap, target, steps=9, batch_size=64)
        for kind in ("deletion", "insertion"):
            np.testing.assert_allclose(batch[kind].scores[i], alone[kind].scores[0], rtol=1e-5, atol=1e-7)
            assert batch[kind].target_classes[i] == alone[kind].target_classes[0]
    assert list(batch["deletion"].target_classes) == [0, 1, 1]


def test_a_preprocessed_tensor_gives_the_same_curves_as_the_array(bright_spot_net):
    tensor = Preprocessor(bright_spot_net)(IMAGE, torch.device("cpu")).tensor[0]
    from_array = deletion(bright_spot_net, IMAGE, SQUARE, 0, steps=6)
    from_tensor = deletion(bright_spot_net, tensor, torch.from_numpy(SQUARE), 0, steps=6)
    np.testing.assert_allclose(from_tensor.scores, from_array.scores, rtol=1e-6)


def test_maps_at_the_users_image_size_are_resized_to_the_input(bright_spot_net):
    # A 120 x 200 image (resized whole to 224 x 224): the map at the user's size still
    # removes the square first, so the logit is gone once about the square's share is deleted.
    image = square_image(120, 200, 30, 60, 60)
    mask = np.zeros((120, 200), dtype=np.float32)
    mask[30:90, 60:120] = 1
    share = mask.mean()
    start = bright_logit(bright_spot_net, image)
    curve = deletion(bright_spot_net, image, mask, 0, steps=41, baseline="black", score="logit")
    assert curve.scores[0, 0] == pytest.approx(start, rel=1e-5)
    assert np.all(curve.scores[0, curve.fractions >= share + 0.05] < 0.02 * start)
    inverted = deletion(bright_spot_net, image, 1 - mask, 0, steps=41, baseline="black", score="logit")
    assert np.all(inverted.scores[0, inverted.fractions <= 1 - share - 0.05] > 0.98 * start)


def test_the_default_batch_follows_the_memory_budget(bright_spot_net, monkeypatch):
    from autotimm_widgets.interpretation import _memory

    calls: list[int] = []
    handle = bright_spot_net.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    try:
        deletion_insertion(bright_spot_net, IMAGE, SQUARE, 0)  # sizes once for this input shape
        calls.clear()
        per_row = _memory.activation_bytes(bright_spot_net, torch.zeros(1, 3, *IMAGE.shape[:2]))
        monkeypatch.setattr(_memory, "memory_budget", lambda device: 30 * _memory.ROW_FACTOR * per_row // 2)
        calls.clear()
        deletion_insertion(bright_spot_net, IMAGE, SQUARE, 0)
        assert calls == [30, 30, 30, 10]  # a budget of 30 no-grad rows: 100 step images in 4 passes
    finally:
        handle.remove()


def test_curves_are_built_in_batched_forward_passes(bright_spot_net):
    calls: list[int] = []
    handle = bright_spot_net.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    try:
        images = [IMAGE, random_image(64, 64)]
        maps = [SQUARE, np.random.default_rng(0).random((64, 64))]
        faithfulness_curves(bright_spot_net, images, maps, [0, 1], steps=10, batch_size=16)
        assert calls == [16, 16, 8]  # 2 images x 2 curves x 10 steps = 40 step images
        calls.clear()
        faithfulness_curves(bright_spot_net, images, maps, None, steps=10, batch_size=64)
        assert calls == [2, 40]  # one forward for the predicted classes, one for all steps
        calls.clear()
        deletion_insertion(bright_spot_net, IMAGE, SQUARE, 0)  # 50 steps by default
        # the default batch fits the device: one row traced to size it (once per model and
        # input shape), then all 100 step images of this small net in one pass
        assert calls == [1, 100]
        calls.clear()
        deletion_insertion(bright_spot_net, IMAGE, SQUARE, 0)
        assert calls == [100]
    finally:
        handle.remove()


def test_the_model_runs_in_eval_mode_and_is_left_as_found():
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=5).train()
    frozen = next(model.parameters())
    frozen.requires_grad_(False)
    snapshot = ModelSnapshot(model)
    image = random_image(48, 48)
    heatmap = np.random.default_rng(1).random((48, 48))
    options = dict(steps=3, preprocess={"input_size": 48})
    curves = deletion(model, image, heatmap, 2, **options)
    snapshot.assert_unchanged()
    model.eval()
    in_eval = deletion(model, image, heatmap, 2, **options)
    np.testing.assert_allclose(curves.scores, in_eval.scores, rtol=1e-5)


def test_works_inside_the_callers_no_grad_and_inference_mode(bright_spot_net):
    want = deletion(bright_spot_net, IMAGE, SQUARE, 0, steps=4).scores
    with torch.no_grad():
        np.testing.assert_allclose(deletion(bright_spot_net, IMAGE, SQUARE, 0, steps=4).scores, want)
    with torch.inference_mode():
        np.testing.assert_allclose(deletion(bright_spot_net, IMAGE, SQUARE, 0, steps=4).scores, want)


def test_baselines_are_defined_in_pixel_space_and_normalised_like_the_input(bright_spot_net):
    preprocessor = Preprocessor(bright_spot_net)
    pixels = torch.from_numpy(random_image(40, 56)).permute(2, 0, 1)[None].float() / 255
    inputs = preprocessor.normalize(pixels)
    black = baseline_inputs(inputs, "black", preprocessor)
    torch.testing.assert_close(black, preprocessor.normalize(torch.zeros_like(pixels)))
    mean = baseline_inputs(inputs, "mean", preprocessor)
    torch.testing.assert_close(mean, preprocessor.normalize(pixels.mean(dim=(2, 3), keepdim=True).expand_as(pixels)))
    blur = baseline_inputs(inputs, "blur", preprocessor)
    torch.testing.assert_close(
        blur, preprocessor.normalize(gaussian_blur(pixels, [11, 11], [5.0, 5.0])), rtol=1e-5, atol=1e-5
    )
    assert not torch.allclose(blur, inputs)
    tiny = baseline_inputs(inputs[..., :3, :3], "blur", preprocessor)  # smaller than the kernel
    assert tiny.shape == (1, 3, 3, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_models_gpu_and_matches_the_cpu():
    model = BrightSpotNet().eval()
    want = faithfulness_curves(model, IMAGE, SQUARE, 0, steps=8)
    model.cuda()
    got = faithfulness_curves(model, IMAGE, torch.from_numpy(SQUARE).cuda(), 0, steps=8)
    assert next(model.parameters()).is_cuda
    for kind in ("deletion", "insertion"):
        np.testing.assert_allclose(got[kind].scores, want[kind].scores, rtol=1e-4, atol=1e-6)

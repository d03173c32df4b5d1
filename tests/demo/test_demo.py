"""The offline demo: generated scenes with ground truth, and the two trained models shipped with the package."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from autotimm_widgets.demo import CLASS_NAMES, DemoImage, demo_image, demo_images, load_demo_model
from autotimm_widgets.demo.data import IMAGE_SIZE
from autotimm_widgets.demo.evaluate import exact_match_accuracy, images_to_tensor, labels_to_tensor, predict
from autotimm_widgets.demo.models import MEAN, STD, ResNetPatchEmbed, load_weights, weights_metadata, weights_path
from autotimm_widgets.demo.train import HELD_OUT_SEED, TRAIN_SEED, augment
from autotimm_widgets.interpretation import GradCAM, GradCAMPlusPlus
from autotimm_widgets.interpretation._tokens import num_prefix_tokens, patch_size
from autotimm_widgets.interpretation.preprocessing import Preprocessor

BARS = {"cnn": 0.95, "vit": 0.90}


@pytest.fixture(scope="module")
def held_out() -> list[DemoImage]:
    return demo_images(300, HELD_OUT_SEED)


@pytest.fixture(scope="module", params=["cnn", "vit"])
def demo_model(request):
    return request.param, load_demo_model(request.param)


@pytest.fixture(scope="module")
def cnn():
    return load_demo_model("cnn").model


# -- data ----------------------------------------------------------------------------
def test_demo_images_are_deterministic_and_depend_only_on_seed_and_index():
    first, again, longer = demo_images(4, seed=3), demo_images(4, seed=3), demo_images(6, seed=3)
    for a, b, c in zip(first, again, longer):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.image, c.image)
        assert np.array_equal(a.masks, b.masks) and a.classes == b.classes == c.classes
    other = demo_images(4, seed=4)
    assert not any(np.array_equal(a.image, o.image) for a, o in zip(first, other))


def test_train_and_held_out_scenes_differ():
    train, test = demo_images(20, TRAIN_SEED), demo_images(20, HELD_OUT_SEED)
    assert TRAIN_SEED != HELD_OUT_SEED
    assert not any(np.array_equal(a.image, b.image) for a in train for b in test)


def test_scenes_have_the_promised_shapes_labels_and_masks():
    scenes = demo_images(64, seed=5)
    counts = set()
    for d in scenes:
        assert d.image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and d.image.dtype == np.uint8
        assert d.masks.dtype == bool and d.masks.shape == (len(d.classes), IMAGE_SIZE, IMAGE_SIZE)
        assert 1 <= len(d.classes) <= 3
        counts.add(len(d.classes))
        assert d.labels.shape == (len(CLASS_NAMES),) and d.labels.dtype == bool
        assert set(np.flatnonzero(d.labels)) == set(d.classes)
        assert d.class_names == [CLASS_NAMES[c] for c in sorted(set(d.classes))]
        assert d.masks.sum(axis=0).max() <= 1, "objects overlap"
        assert (d.masks.sum(axis=(1, 2)) > 150).all(), "an object is (almost) missing"
        for c in range(len(CLASS_NAMES)):
            expected = d.masks[[i for i, k in enumerate(d.classes) if k == c]].any(axis=0)
            assert np.array_equal(d.class_mask(c), expected)
    assert counts == {1, 2, 3}
    assert {c for d in scenes for c in d.classes} == set(range(len(CLASS_NAMES)))


def test_masks_cover_exactly_the_painted_object():
    """Inside a mask all pixels share the object's chromaticity; just outside it, most do not."""
    for d in demo_images(24, seed=6):
        pixels = d.image.astype(np.float32) + 1.0
        chroma = pixels / pixels.sum(axis=-1, keepdims=True)
        for mask in d.masks:
            inside = chroma[mask]
            assert inside.std(axis=0).max() < 0.04  # measured: at most 0.032 inside, at least 0.046 on backgrounds
            ring = _dilate(mask, 2) & ~np.any(d.masks, axis=0)
            distance = np.abs(chroma[ring] - inside.mean(axis=0)).max(axis=1)
            assert np.mean(distance < 0.02) < 0.2  # measured: at most 0.024


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def test_curated_images_contain_what_they_promise():
    two = demo_image("two_classes")
    assert len(two.classes) == 2 and len(set(two.classes)) == 2
    assert two.class_names == ["star", "heart"]
    same = demo_image("same_class_twice")
    assert len(same.classes) == 2 and len(set(same.classes)) == 1 and same.class_names == ["square"]
    for name, d in (("two_classes", two), ("same_class_twice", same)):
        assert d.masks.sum(axis=0).max() <= 1 and (d.masks.sum(axis=(1, 2)) > 300).all()
        assert np.array_equal(demo_image(name).image, d.image)


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="two_classes"):
        demo_image("nope")
    with pytest.raises(ValueError, match="n must be"):
        demo_images(-1)
    with pytest.raises(ValueError, match="seed must be"):
        demo_images(2, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cnn"):
        load_demo_model("resnet")


def test_augment_applies_one_symmetry_of_the_square_per_image():
    pixels = torch.arange(5 * 3 * 8 * 8, dtype=torch.float32).view(5, 3, 8, 8)
    out = augment(pixels, torch.Generator().manual_seed(0))
    for original, moved in zip(pixels, out):
        symmetries = [original.rot90(k, (-2, -1)) for k in range(4)] + [
            original.mT.rot90(k, (-2, -1)) for k in range(4)
        ]
        assert sum(torch.equal(moved, s) for s in symmetries) == 1


# -- models --------------------------------------------------------------------------
def test_demo_models_load_offline_in_eval_mode_with_their_config(demo_model, monkeypatch):
    kind, _ = demo_model

    def no_network(*args, **kwargs):
        raise AssertionError("load_demo_model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    loaded = load_demo_model(kind)
    assert not loaded.model.training and all(not m.training for m in loaded.model.modules())
    assert loaded.class_names == CLASS_NAMES
    assert loaded.data_config["input_size"] == (3, IMAGE_SIZE, IMAGE_SIZE)
    assert loaded.model.pretrained_cfg["label_names"] == CLASS_NAMES
    config = Preprocessor(loaded.model).config  # what every explainer and the widget use
    assert config.input_size == (IMAGE_SIZE, IMAGE_SIZE)
    assert config.mean == tuple(loaded.data_config["mean"]) and config.std == tuple(loaded.data_config["std"])
    assert config.mean != (0.485, 0.456, 0.406), "the demo's own normalisation, not ImageNet's default"
    assert next(loaded.model.parameters()).dtype == torch.float32


def test_the_demo_vit_has_the_token_layout_explainers_expect():
    model = load_demo_model("vit").model
    assert patch_size(model) == (16, 16) and model.patch_embed.grid_size == (IMAGE_SIZE // 16, IMAGE_SIZE // 16)
    prefix = num_prefix_tokens(model)
    assert prefix == model.num_prefix_tokens >= 1  # the class token (and any registers) come first
    with torch.no_grad():
        tokens = model.forward_features(torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE))
    assert tokens.shape[1] == prefix + (IMAGE_SIZE // 16) ** 2
    with pytest.raises(ValueError, match="stride 16"):
        ResNetPatchEmbed(img_size=IMAGE_SIZE, patch_size=8, embed_dim=96)


def test_weights_ship_in_the_package_small_and_labelled():
    sizes = {kind: len(weights_path(kind).read_bytes()) for kind in BARS}
    assert sum(sizes.values()) <= 10_000_000
    for kind, bar in BARS.items():
        meta = weights_metadata(kind)
        assert meta["class_names"] == list(CLASS_NAMES)
        assert meta["held_out_exact_match"] >= bar
        assert meta["held_out"]["seed"] == HELD_OUT_SEED and meta["train"]["seed"] == TRAIN_SEED
        assert all(v.dtype in (torch.float16, torch.int64) for v in load_weights(kind).values())


def test_held_out_exact_match_accuracy_stays_above_the_bar(demo_model, held_out):
    kind, loaded = demo_model
    mean, std = loaded.data_config["mean"], loaded.data_config["std"]
    predicted = predict(loaded.model, images_to_tensor(held_out), mean, std)
    accuracy = exact_match_accuracy(predicted, labels_to_tensor(held_out))
    assert accuracy >= BARS[kind], f"{kind}: {accuracy:.1%} exact match on {len(held_out)} held-out scenes"


def test_models_recognise_the_curated_images(demo_model):
    _, loaded = demo_model
    for name in ("two_classes", "same_class_twice"):
        d = demo_image(name)
        predicted = predict(loaded.model, images_to_tensor([d]), loaded.data_config["mean"], loaded.data_config["std"])
        assert torch.equal(predicted[0], torch.from_numpy(d.labels)), name


def test_exact_match_counts_an_image_right_only_when_every_class_is():
    labels = torch.tensor([[1, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=torch.bool)
    predicted = torch.tensor([[1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=torch.bool)
    assert exact_match_accuracy(predicted, labels) == 0.5


# -- explanations on the demo CNN -----------------------------------------------------
def test_gradcam_on_the_demo_cnn_follows_the_explained_class(cnn):
    d = demo_image("two_classes")
    classes = [int(c) for c in np.flatnonzero(d.labels)]
    maps = GradCAM(cnn, use_cuda=False).explain(d.image, target_class=classes)
    for c, heatmap in zip(classes, maps):
        peak = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        assert d.class_mask(c)[peak], f"GradCAM for {CLASS_NAMES[c]} peaks outside its object"


def test_gradcam_plusplus_covers_both_objects_of_the_same_class(cnn):
    d = demo_image("same_class_twice")
    heatmap = GradCAMPlusPlus(cnn, use_cuda=False).explain(d.image, target_class=d.classes[0])
    for mask in d.masks:
        assert heatmap[mask].max() > 0.5


def test_predict_uses_eval_mode_and_restores_every_submodule(cnn):
    scenes = demo_images(8, seed=HELD_OUT_SEED)
    pixels, mean, std = images_to_tensor(scenes), MEAN, STD
    expected = predict(cnn, pixels, mean, std)
    cnn.train()
    cnn.layer1.eval()
    try:
        assert torch.equal(predict(cnn, pixels, mean, std), expected)
        assert cnn.training and not cnn.layer1.training and cnn.layer2.training
    finally:
        cnn.eval()

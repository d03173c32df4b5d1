"""Guards the quality table (benchmarks/bench_quality.py) against regressions, on a small fixed subset.

The full table runs 200 held-out scenes with 50-step curves; here the same code
(``autotimm_widgets.demo.quality``) runs on the first held-out scenes, with 11-step curves
(the AUCs move by < 0.005 from 11 to 21 steps on this subset), IG with 8 steps instead of 32
(AUCs within 0.005 here) and SmoothGrad with 10 samples instead of 50 (AUCs within 0.03, its
insertion-minus-deletion gap 0.206 instead of 0.254).

Each floor sits below what was measured on this subset (values in the comments) with a
safety margin, and above what a broken explanation gets: the last tests check that a map
flipped upside down and left to right, and GradCAM on a too-early layer, fail the floors.
"""

from __future__ import annotations

import numpy as np
import pytest

from autotimm_widgets.demo import demo_images, load_demo_model
from autotimm_widgets.demo.quality import Cases, demo_cases, demo_methods, explainer_method, random_method, score_maps
from autotimm_widgets.demo.train import HELD_OUT_SEED
from autotimm_widgets.interpretation import GradCAM
from autotimm_widgets.interpretation.metrics import energy_pointing_game, pointing_game

POINTING_SCENES = 40  # the first 40 held-out scenes: 79 cases
FAITHFULNESS_CASES = 16  # deletion/insertion on the first 16 of them
STEPS = 11
IG_STEPS, SMOOTHGRAD_SAMPLES = 8, 10

# Pointing-game floors on the 79 cases (measured: CNN GradCAM 0.886, GradCAM++ 0.886; full table 0.863).
# 0.8 is issue 8's bar for GradCAM on the demo CNN. Chance (a random map) is the mean mask share, 0.06.
POINTING_FLOORS = {"GradCAM": 0.8, "GradCAM++": 0.8}
# Energy pointing floors (measured 0.248, 0.197; chance 0.054).
ENERGY_FLOORS = {"GradCAM": 0.2, "GradCAM++": 0.15}
# Insertion AUC minus deletion AUC on 16 cases (measured: GradCAM 0.340, GradCAM++ 0.237,
# SmoothGrad(GradCAM) 0.206, Integrated Gradients 0.054; a random map -0.03, the flipped GradCAM map -0.16).
GAP_FLOORS = {"GradCAM": 0.25, "GradCAM++": 0.15, "SmoothGrad(GradCAM)": 0.12, "Integrated Gradients": 0.02}

# The demo ViT on the same cases (measured: pointing GradCAM 0.646, GradCAM++ 0.620, IG 0.785,
# GradientWeightedRollout 0.241; energy 0.348, 0.369, 0.541, 0.285, AttentionRollout 0.195;
# gaps on 16 cases 0.248, 0.190, GradientWeightedRollout 0.187. Flipped maps: pointing <= 0.08,
# energy <= 0.07, gaps <= 0.003). Rollout is class-agnostic: no pointing floor for it.
VIT_POINTING_FLOORS = {"GradCAM": 0.5, "GradCAM++": 0.5, "Integrated Gradients": 0.65, "GradientWeightedRollout": 0.15}
VIT_ENERGY_FLOORS = {
    "GradCAM": 0.25,
    "GradCAM++": 0.25,
    "Integrated Gradients": 0.4,
    "GradientWeightedRollout": 0.2,
    "AttentionRollout": 0.14,
}
VIT_GAP_FLOORS = {"GradCAM": 0.15, "GradCAM++": 0.12, "GradientWeightedRollout": 0.12}


@pytest.fixture(scope="module")
def cnn():
    return load_demo_model("cnn").model


@pytest.fixture(scope="module")
def cases() -> Cases:
    return demo_cases(demo_images(POINTING_SCENES, HELD_OUT_SEED))


@pytest.fixture(scope="module")
def few(cases) -> Cases:
    n = FAITHFULNESS_CASES
    return Cases(cases.scenes, cases.scene_index[:n], cases.classes[:n], cases.masks[:n])


@pytest.fixture(scope="module")
def cnn_methods():
    return {m.name: m for m in demo_methods("cnn", ig_steps=IG_STEPS, smoothgrad_samples=SMOOTHGRAD_SAMPLES)}


@pytest.fixture(scope="module")
def gradcam_maps(cnn, cases, cnn_methods):
    return cnn_methods["GradCAM"].maps(cnn, cases)


def localisation_failures(method: str, cases: Cases, maps, pointing_floors=None, energy_floors=None) -> list[str]:
    """Which localisation floors of ``method`` its maps miss (empty when all hold); CNN floors by default."""
    pointing_floors = POINTING_FLOORS if pointing_floors is None else pointing_floors
    energy_floors = ENERGY_FLOORS if energy_floors is None else energy_floors
    scores = localisation(cases, maps)
    failures = []
    if method in pointing_floors and scores["pointing"] < pointing_floors[method]:
        failures.append(f"pointing {scores['pointing']:.3f} < {pointing_floors[method]}")
    if scores["energy"] < energy_floors[method]:
        failures.append(f"energy {scores['energy']:.3f} < {energy_floors[method]}")
    return failures


def localisation(cases: Cases, maps) -> dict[str, float]:
    """Mean pointing-game accuracy and energy pointing of one map per case."""
    return {
        "pointing": float(pointing_game(maps, cases.masks).mean()),
        "energy": float(energy_pointing_game(maps, cases.masks).mean()),
    }


def faithfulness_failures(method: str, model, cases: Cases, maps, gap_floors=None) -> list[str]:
    """``[]`` when insertion AUC exceeds deletion AUC by at least the method's gap floor (CNN floors by default)."""
    floor = (GAP_FLOORS if gap_floors is None else gap_floors)[method]
    scores = score_maps(model, cases, maps, steps=STEPS)
    deletion, insertion = scores.deletion.mean(), scores.insertion.mean()
    gap = insertion - deletion
    if gap < floor:
        return [f"insertion {insertion:.3f} - deletion {deletion:.3f} = {gap:.3f} < {floor}"]
    return []


# -- the cases -----------------------------------------------------------------------------
def test_every_present_class_of_every_scene_is_one_case(cases):
    for i, scene in enumerate(cases.scenes):
        mine = cases.scene_index == i
        assert sorted(cases.classes[mine]) == list(np.flatnonzero(scene.labels))
        for c, mask in zip(cases.classes[mine], cases.masks[mine]):
            assert np.array_equal(mask, scene.class_mask(int(c))) and mask.any()
    assert all(np.array_equal(image, cases.scenes[i].image) for image, i in zip(cases.images, cases.scene_index))


def test_class_agnostic_methods_explain_each_scene_once_and_class_specific_ones_each_case(cases):
    seen = []

    class Recorder:
        def explain_batch(self, images, target_classes, batch_size, show_progress):
            seen.append((len(images), target_classes))
            return [np.full((2, 2), k, dtype=np.float32) for k in range(len(images))]

    agnostic = explainer_method("A", lambda m: Recorder(), class_specific=False).maps(None, cases)
    specific = explainer_method("S", lambda m: Recorder()).maps(None, cases)
    assert seen == [(len(cases.scenes), None), (len(cases), cases.classes.tolist())]
    assert [float(m[0, 0]) for m in agnostic] == cases.scene_index.tolist()  # the scene's map, for each of its classes
    assert [float(m[0, 0]) for m in specific] == list(range(len(cases)))


# -- the table's figures stay at or above their floors -------------------------------------
@pytest.mark.parametrize("method", ["GradCAM", "GradCAM++"])
def test_cams_on_the_demo_cnn_point_at_the_explained_object(method, cnn, cases, cnn_methods, gradcam_maps):
    maps = gradcam_maps if method == "GradCAM" else cnn_methods[method].maps(cnn, cases)
    assert localisation_failures(method, cases, maps) == []
    chance = localisation(cases, random_method(seed=0).maps(cnn, cases))
    assert chance["pointing"] < 0.15 and abs(chance["energy"] - cases.masks.mean()) < 0.01  # a random map is at chance
    scores = localisation(cases, maps)
    assert scores["pointing"] > chance["pointing"] + 0.6 and scores["energy"] > 3 * chance["energy"]


@pytest.mark.parametrize("method", list(GAP_FLOORS))
def test_each_method_inserts_better_than_it_deletes_on_the_demo_cnn(method, cnn, few, cnn_methods):
    maps = cnn_methods[method].maps(cnn, few)
    assert faithfulness_failures(method, cnn, few, maps) == []


# -- and a broken explanation fails them ------------------------------------------------------
def test_a_flipped_map_fails_the_floors(cnn, cases, few, gradcam_maps):
    """GradCAM's own maps, turned upside down and left to right: every guard must catch it."""
    flipped = [np.ascontiguousarray(m[::-1, ::-1]) for m in gradcam_maps]
    assert len(localisation_failures("GradCAM", cases, flipped)) == 2  # pointing and energy
    assert faithfulness_failures("GradCAM", cnn, few, flipped[: len(few)]) != []
    shuffled = [np.random.default_rng(i).permutation(m.ravel()).reshape(m.shape) for i, m in enumerate(gradcam_maps)]
    assert len(localisation_failures("GradCAM", cases, shuffled)) == 2


def test_gradcam_on_a_too_early_layer_fails_the_floors(cnn, cases, few):
    """layer1 (stride 4) sees edges, not shapes: a wrong default layer would be caught."""
    maps = GradCAM(cnn, target_layer="layer1", use_cuda=False).explain_batch(
        cases.images, cases.classes.tolist(), show_progress=False
    )
    assert any(f.startswith("pointing") for f in localisation_failures("GradCAM", cases, maps))
    assert faithfulness_failures("GradCAM", cnn, few, maps[: len(few)]) != []


# -- the demo ViT ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vit():
    return load_demo_model("vit").model


@pytest.fixture(scope="module")
def vit_maps(vit, cases):
    methods = {m.name: m for m in demo_methods("vit", ig_steps=IG_STEPS, smoothgrad_samples=SMOOTHGRAD_SAMPLES)}
    return {name: methods[name].maps(vit, cases) for name in VIT_ENERGY_FLOORS}


@pytest.mark.parametrize("method", list(VIT_ENERGY_FLOORS))
def test_methods_on_the_demo_vit_point_at_the_explained_object_and_flipped_maps_do_not(method, cases, vit_maps):
    maps = vit_maps[method]
    assert localisation_failures(method, cases, maps, VIT_POINTING_FLOORS, VIT_ENERGY_FLOORS) == []
    flipped = [np.ascontiguousarray(m[::-1, ::-1]) for m in maps]
    failures = localisation_failures(method, cases, flipped, VIT_POINTING_FLOORS, VIT_ENERGY_FLOORS)
    assert len(failures) == (2 if method in VIT_POINTING_FLOORS else 1)


@pytest.mark.parametrize("method", list(VIT_GAP_FLOORS))
def test_each_method_inserts_better_than_it_deletes_on_the_demo_vit(method, vit, few, vit_maps):
    maps = vit_maps[method][: len(few)]
    assert faithfulness_failures(method, vit, few, maps, VIT_GAP_FLOORS) == []
    flipped = [np.ascontiguousarray(m[::-1, ::-1]) for m in maps]
    assert faithfulness_failures(method, vit, few, flipped, VIT_GAP_FLOORS) != []


# -- the CAM zoo in the table and in the sanity check -------------------------------------
def test_the_zoo_rows_are_every_other_registered_cam_and_each_scores_its_cases(cnn, few):
    from autotimm_widgets.demo.quality import zoo_methods
    from autotimm_widgets.interpretation import list_methods, method_info

    rows = zoo_methods(cnn)
    expected = [
        method_info(n).label
        for n in list_methods(cnn)
        if n not in ("gradcam", "gradcam++", "integrated_gradients", "smoothgrad")
    ]
    assert [r.name for r in rows] == expected
    assert {"ScoreCAM", "AblationCAM", "EigenCAM", "FullGrad"} <= {r.name for r in rows}
    two = Cases(few.scenes, few.scene_index[:2], few.classes[:2], few.masks[:2])
    for row in rows:
        scores = score_maps(cnn, two, row.maps(cnn, two), steps=8)
        assert np.isfinite(scores.energy).all() and np.isfinite(scores.deletion).all(), row.name
    agnostic = [r for r in rows if not r.class_specific]
    assert {r.name for r in agnostic} == {"EigenCAM", "KPCA-CAM"}


def test_the_randomisation_check_runs_class_agnostic_cams_without_a_class(cnn, few):
    from autotimm_widgets.interpretation import EigenCAM
    from autotimm_widgets.interpretation.metrics import parameter_randomisation

    images = [few.scenes[i].image for i in few.scene_index[:2]]
    result = parameter_randomisation(cnn, lambda m: EigenCAM(m, use_cuda=False), images, seed=0)
    assert result.correlations.shape == (len(result.layers), 2)
    assert np.isfinite(result.correlations[0]).all()

"""The widget is built from the registry: every registered method is offered where it applies,
computes the library's map, takes each parameter value the core takes and no other, and the
front end's sources name no method, parameter or option of their own."""

from __future__ import annotations

import re

import numpy as np
import pytest
import traitlets

from autotimm_widgets import ExplainerWidget
from autotimm_widgets.interpretation import SmoothGrad, create_explainer, list_methods, method_info
from autotimm_widgets.widget.traits import PARAMS, VIEW_PARAMS, widget_methods

from helpers import REPO
from helpers.params import ALL_PARAMS, candidate_values
from helpers.reliability_cases import PREPROCESS, build_model

JS = REPO / "js"
IMAGE = np.random.default_rng(3).integers(0, 256, size=(48, 56, 3), dtype=np.uint8)
WIDGET_METHODS = [info.name for info in widget_methods()]


@pytest.fixture(scope="module")
def vit():
    return build_model("vit")


@pytest.fixture(scope="module")
def widget(vit):
    w = ExplainerWidget(vit, IMAGE, use_cuda=False, preprocess=PREPROCESS, steps=4, num_samples=2)
    w.wait(60)
    yield w
    w.close()


@pytest.fixture(scope="module")
def cnn():
    return build_model("cnn")


@pytest.fixture(scope="module")
def cnn_widget(cnn):
    w = ExplainerWidget(cnn, IMAGE, use_cuda=False, preprocess=PREPROCESS, steps=4, num_samples=2)
    w.wait(60)
    yield w
    w.close()


def test_the_widget_offers_every_method_that_applies(widget, vit, cnn_widget, cnn):
    methods = [n for n in list_methods() if not method_info(n).capabilities.wrapper]
    assert widget._methods == [n for n in methods if method_info(n).cls.unsupported(vit) is None]
    assert {"guided_backprop", "deeplift", "lrp"}.isdisjoint(widget._methods)  # the ViT has GELU, LayerNorm
    assert cnn_widget._methods == [n for n in WIDGET_METHODS if not method_info(n).capabilities.needs_attention]


@pytest.mark.parametrize("name", WIDGET_METHODS)
def test_every_method_in_the_widget_computes_the_librarys_map(request, name):
    """On the ViT, or on the CNN for the methods that refuse the ViT (guided, DeepLift, LRP)."""
    info = method_info(name)
    vit = request.getfixturevalue("vit")
    if info.cls.unsupported(vit) is not None:
        widget, vit = request.getfixturevalue("cnn_widget"), request.getfixturevalue("cnn")
    else:
        widget = request.getfixturevalue("widget")
    widget.method = name
    widget.wait(60)
    assert widget.status == "idle", widget.error
    params = {p.name: getattr(widget, p.name) for p in info.params}
    explainer = create_explainer(name, vit, use_cuda=False, preprocess=PREPROCESS, **params)
    if info.capabilities.takes_patch:
        expected = explainer.flow(IMAGE).map(widget.target_patch)
    elif info.capabilities.class_specific:
        expected = explainer.explain(IMAGE, target_class=widget.target_class)
    else:
        expected = explainer.explain(IMAGE)
    np.testing.assert_allclose(widget.heatmap, expected, atol=1e-4)
    if info.capabilities.smoothable:
        widget.smoothgrad = True
        widget.wait(60)
        smooth = SmoothGrad(explainer, noise_level=widget.noise_level, num_samples=widget.num_samples, seed=0)
        np.testing.assert_allclose(widget.heatmap, smooth.explain(IMAGE, widget.target_class), atol=1e-4)
        widget.smoothgrad = False


WIDGET_PARAMS = [(n, p) for n, p in ALL_PARAMS if p.name in PARAMS]


@pytest.mark.parametrize("name, param", WIDGET_PARAMS, ids=[f"{n}.{p.name}" for n, p in WIDGET_PARAMS])
def test_the_widget_accepts_a_value_exactly_when_the_core_does(widget, name, param):
    for value in candidate_values(param):
        try:
            core = param.validate(value)
        except (TypeError, ValueError):
            core = None
        before = getattr(widget, param.name)
        try:
            setattr(widget, param.name, value)
            taken = getattr(widget, param.name)
        except traitlets.TraitError:
            taken = None
            assert getattr(widget, param.name) == before
        if core is None:
            assert taken is None, (param.name, value, "the core rejects it, the widget took it")
        else:
            assert taken is not None and taken == core and type(taken) is type(core), (param.name, value)
        setattr(widget, param.name, before)
    widget.wait(60)


def test_every_parameter_of_every_method_has_a_trait_and_a_descriptor_for_the_view(widget):
    names = {p.name for n in WIDGET_METHODS for p in method_info(n).params}
    names |= {p.name for p in method_info("smoothgrad").params if p.name != "base"}
    assert names == set(PARAMS) and set(widget._schema["params"]) == names
    assert widget._schema["fields"][0] == "method" and set(PARAMS) <= set(widget._schema["fields"])
    assert set(widget._schema["view"]) == set(VIEW_PARAMS)


def quoted_words() -> set[str]:
    words = set()
    for path in JS.glob("*.js"):
        words |= set(re.findall(r"""["'`]([A-Za-z_+][\w+\- ]*)["'`]""", path.read_text()))
    return words


def test_the_front_end_sources_name_no_method_parameter_or_option():
    named = set()
    for name in list_methods():
        info = method_info(name)
        named |= {name, info.label}
        for param in info.params:
            named |= {param.name, param.label, *(param.choices or ())}
    named |= {p.label for p in VIEW_PARAMS.values()} | set(VIEW_PARAMS["colormap"].choices)
    found = quoted_words() & named
    # Traits the view itself reads or writes by name: the method, SmoothGrad's switch, the view-only state.
    assert found <= {"method", "smoothgrad", "opacity", "colormap"}, found

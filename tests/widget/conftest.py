"""The widget on a random-weight resnet18, shared by the widget tests that need one."""

from __future__ import annotations

import pytest

from autotimm_widgets import ExplainerWidget

from helpers.images import random_image


@pytest.fixture
def widget(resnet18):
    w = ExplainerWidget(resnet18, random_image(120, 160), use_cuda=False)
    w.wait(60)
    yield w
    w.close()

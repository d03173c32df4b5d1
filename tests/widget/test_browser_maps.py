"""The browser's map fixtures are what Python gives now (vitest compares js/resample.js with them)."""

from __future__ import annotations

import json

from helpers.browser_maps import FIXTURE, fixtures


def test_the_browser_map_fixtures_are_current():
    assert json.loads(FIXTURE.read_text()) == json.loads(json.dumps(fixtures())), (
        "Python's map making changed: run `python -m tests.helpers.browser_maps` and check js/resample.js"
    )

"""The README's two commands on a fresh machine: a fresh clone, an empty HOME, no uv on PATH.

Run from inside the suite, as the issue that found the gap did: ``./scripts/test`` sets up
(pinned uv, npm, the locked venv) and runs the packaging tests there, which build and install
with that uv from inside the test run; ``./scripts/start`` then serves the quickstart.
"""

from __future__ import annotations

import pytest

from .fresh_machine import FreshMachine, stop, wait_for_quickstart

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def machine(tmp_path_factory) -> FreshMachine:
    return FreshMachine(tmp_path_factory.mktemp("fresh-machine"))


def test_the_test_command_sets_up_and_passes_on_a_fresh_machine(machine):
    assert not (machine.clone / ".tools").exists() and not (machine.clone / ".venv").exists()
    result = machine.test_command("tests/test_packaging.py", "-p", "no:cacheprovider")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "installing uv" in output  # it really started without one
    assert (machine.clone / ".tools" / "uv" / "bin" / "uv").is_file()
    assert " passed" in output and " failed" not in output and " error" not in output, output[-3000:]
    home = machine.env["HOME"]
    assert not any((machine.clone.parent / "home").glob(".local/bin/uv")), f"uv was installed into {home}"


def test_the_start_command_serves_the_quickstart_on_a_fresh_machine(machine):
    log = machine.clone.parent / "start.log"
    server = machine.start_command(log)
    try:
        url, notebook = wait_for_quickstart(server, log)
    finally:
        stop(server)
    assert notebook["type"] == "notebook" and notebook["name"] == "01_quickstart.ipynb"
    sources = "".join("".join(cell["source"]) for cell in notebook["content"]["cells"])
    assert "ExplainerWidget" in sources, url

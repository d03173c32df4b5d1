"""Lint and format, as the README's test command checks them: ruff for Python (configured in
pyproject.toml), biome for JavaScript (biome.json). Each test fails on one stray line."""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).parent / "ruff"
BIOME = REPO / "node_modules" / ".bin" / "biome"


def run(command: list) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=REPO, capture_output=True, text=True)


def test_ruff_is_configured_in_pyproject_with_a_line_length_and_unused_noqa_as_an_error():
    ruff = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["ruff"]
    assert isinstance(ruff["line-length"], int)
    assert "RUF" in ruff["lint"]["select"] and "RUF100" not in ruff["lint"].get("ignore", [])


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "--diff", "."]], ids=["lint", "format"])
def test_the_python_tree_passes_ruff(args):
    result = run([RUFF, *args])
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_the_javascript_passes_biome_lint_and_format():
    config = json.loads((REPO / "biome.json").read_text())
    assert config["linter"]["rules"]["preset"] == "recommended" and config["formatter"]["lineWidth"]
    result = run([BIOME, "ci", "--reporter=summary", "."])  # `ci`: lint and format, no writes
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    checked = re.search(r"Checked (\d+) files?", re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr))
    assert checked and int(checked.group(1)) > 0, result.stdout + result.stderr  # it looked at the sources

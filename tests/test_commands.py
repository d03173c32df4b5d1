"""The README's two commands: CI runs exactly the test command, and one place picks the uv."""

from __future__ import annotations

import re

from helpers import REPO

SCRIPTS = {name: (REPO / "scripts" / name).read_text() for name in ("setup.sh", "start", "test")}


def test_ci_runs_exactly_the_readmes_test_command():
    commands = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert commands[-1] == "./scripts/test" and "./scripts/test" in (REPO / "README.md").read_text()
    assert not any("pytest" in line or "uv" in line for line in commands)  # nothing of its own


def test_setup_alone_decides_which_uv_runs_and_installs_it_into_the_checkout():
    setup = SCRIPTS["setup.sh"]
    assert re.search(r'^UV_VERSION="\d+\.\d+\.\d+"$', setup, re.M), "uv is pinned"
    assert 'UV_HOME="$PWD/.tools/uv"' in setup and "export UV" in setup
    assert ".tools/" in (REPO / ".gitignore").read_text().split()
    for name, text in SCRIPTS.items():
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        assert "--user" not in code and "--break-system-packages" not in code, name
        assert "python3 -m uv" not in code and "command -v uv" not in code, name  # no uv from PATH
    for name in ("start", "test"):
        assert 'source "$(dirname "$0")/setup.sh"' in SCRIPTS[name]
        assert re.findall(r"\buv\b", SCRIPTS[name].replace('"$UV"', "")) == [], name  # every uv call is $UV

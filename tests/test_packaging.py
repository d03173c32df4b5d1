"""`pip install .` from a clean checkout: the wheel is built with the front-end bundle in it.

The tracked files are copied to a temporary directory (no ``autotimm_widgets/static/``, no
``node_modules``), and ``uv build --wheel`` runs there: hatch-jupyter-builder must run npm and
esbuild, and the wheel must carry the bundle and the demo weights.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    if not (REPO / ".git").exists() or shutil.which("npm") is None:
        pytest.skip("needs a git checkout and npm")
    checkout = tmp_path_factory.mktemp("checkout")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (t.decode() for t in tracked)):
        if (REPO / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, checkout / name)
    assert not (checkout / "autotimm_widgets" / "static").exists()  # the bundle is not committed
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([*uv(), "build", "--wheel", "-o", str(out)], cwd=checkout, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = out.glob("*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_carries_the_front_end_bundle(wheel):
    names = set(wheel.namelist())
    assert {"autotimm_widgets/static/widget.js", "autotimm_widgets/static/widget.css"} <= names
    bundle = wheel.read("autotimm_widgets/static/widget.js").decode()
    assert "atw-root" in bundle and "export" in bundle  # the anywidget ESM, with its test hooks


def test_the_wheel_carries_the_demo_weights_and_no_sources_of_other_parts(wheel):
    names = set(wheel.namelist())
    assert {"autotimm_widgets/demo/weights/cnn.safetensors", "autotimm_widgets/demo/weights/vit.safetensors"} <= names
    assert not any(n.startswith(("js/", "tests/", "notebooks/", "benchmarks/")) for n in names)
    assert not any("nbextension" in n for n in names)  # anywidget: no classic notebook extension

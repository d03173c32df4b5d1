"""Packaging as anywidget projects do it: one version, an sdist with the JS sources that a
wheel builds from alone, and a wheel that plain pip installs into a clean venv, where
``ExplainerWidget`` computes a map and serves its bundle. The browser half of that is
``tests/e2e/test_wheel_browser.py``."""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import email
import json
import re
import subprocess
import tarfile
import zipfile

import autotimm_widgets

from helpers.distribution import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
BUNDLE = {"autotimm_widgets/static/widget.js", "autotimm_widgets/static/widget.css"}


def wheel_metadata(wheel) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def test_the_version_is_written_once_and_hatch_reads_it():
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "autotimm_widgets/__init__.py"
    assert "version" not in json.loads((REPO / "package.json").read_text())
    assert "version" not in json.loads((REPO / "package-lock.json").read_text())["packages"][""]
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    sources = [n for n in tracked if n.endswith((".py", ".toml", ".json", ".js")) and "lock" not in n]
    written = [n for n in sources if re.search(r"version_*\W{1,6}\d+\.\d+\.\d+", (REPO / n).read_text())]
    assert written == ["autotimm_widgets/__init__.py"], written


def test_sdist_and_wheel_carry_the_one_version(distribution):
    with tarfile.open(distribution.sdist) as archive:
        (info,) = [m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
        sdist_version = email.message_from_bytes(archive.extractfile(info).read())["Version"]
    assert sdist_version == wheel_metadata(distribution.wheel)["Version"] == autotimm_widgets.__version__


def test_the_sdist_carries_the_front_end_sources_and_no_other_parts(distribution):
    names = distribution.sdist_names()
    js_sources = {
        n for n in subprocess.run(["git", "ls-files", "js"], cwd=REPO, capture_output=True, text=True).stdout.split()
    }
    assert js_sources and js_sources <= names, js_sources - names
    assert {"package.json", "package-lock.json", "pyproject.toml", "README.md"} <= names
    assert names >= BUNDLE  # built, so pip installs the sdist without node
    assert not any(n.startswith(("tests/", "notebooks/", "benchmarks/", "node_modules/", ".tools/")) for n in names)


def test_the_wheel_built_from_the_sdist_carries_bundle_weights_and_types(distribution):
    names = distribution.wheel_names()
    assert BUNDLE | {"autotimm_widgets/py.typed"} <= names
    assert {"autotimm_widgets/demo/weights/cnn.safetensors", "autotimm_widgets/demo/weights/vit.safetensors"} <= names
    with zipfile.ZipFile(distribution.wheel) as archive:
        bundle = archive.read("autotimm_widgets/static/widget.js").decode()
    assert "atw-root" in bundle and "export" in bundle  # the anywidget ESM, with its test hooks
    assert not any(n.startswith(("js/", "tests/", "notebooks/", "benchmarks/")) for n in names)
    assert not any("nbextension" in n or "labextension" in n for n in names)  # anywidget: no extension


def test_a_wheel_builds_from_the_sdists_js_sources_alone(distribution):
    rebuilt = distribution.wheel_from_sources
    assert distribution.wheel_names(rebuilt) >= BUNDLE
    with zipfile.ZipFile(rebuilt) as fresh, zipfile.ZipFile(distribution.wheel) as shipped:
        for name in BUNDLE:  # esbuild is deterministic: the sources give the shipped bundle
            assert fresh.read(name) == shipped.read(name), name


CLEAN_VENV_CHECK = """
import json, pathlib, sys
import autotimm_widgets
from autotimm_widgets import ExplainerWidget, demo
model, class_names, _ = demo.load_demo_model("cnn")
w = ExplainerWidget(model, demo.demo_image("two_classes").image, use_cuda=False)
w.wait()
static = pathlib.Path(autotimm_widgets.__file__).parent / "static"
print(json.dumps({
    "package": autotimm_widgets.__file__, "prefix": sys.prefix, "version": autotimm_widgets.__version__,
    "esm_is_bundle": w._esm == (static / "widget.js").read_text(), "esm": len(w._esm),
    "css_is_bundle": w._css == (static / "widget.css").read_text(),
    "status": w.status, "peak": float(w.heatmap.max()), "typed": (static.parent / "py.typed").exists(),
}))
"""


def test_plain_pip_installs_the_wheel_into_a_clean_venv_where_the_widget_works(distribution):
    report = json.loads(distribution.run_in_clean_venv(CLEAN_VENV_CHECK).strip().splitlines()[-1])
    # pip resolved every dependency of the wheel's metadata and installed the wheel alone.
    installed = re.search(r"Successfully installed (.+)", distribution.pip_log).group(1).split()
    assert installed == [f"autotimm-widgets-{autotimm_widgets.__version__}"], distribution.pip_log
    assert report["package"].startswith(report["prefix"]), report  # the wheel's copy, not this checkout
    assert not report["package"].startswith(str(REPO)), report
    assert report["version"] == autotimm_widgets.__version__
    assert report["esm_is_bundle"] and report["esm"] > 5000 and report["css_is_bundle"], report
    assert report["typed"], report
    assert report["status"] == "idle" and report["peak"] == 1.0, report

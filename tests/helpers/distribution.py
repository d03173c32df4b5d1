"""Build the project as a user's pip would get it, and install it where nothing else is.

- ``working_tree_copy``: the files a fresh clone has (tracked, plus untracked files git does
  not ignore), so no ``node_modules``, no ``.venv`` and no built bundle.
- ``Distribution``: the sdist built from that copy, wheels built from the sdist, and a clean
  venv with the wheel installed by plain ``pip``.

The clean venv installs offline: its dependencies (torch and the rest, several GB) are the
suite's own, offered read-only on ``PYTHONPATH`` from a folder of links that leaves out this
project's editable install, so ``import autotimm_widgets`` there can only find the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROJECT = "autotimm_widgets"


def uv_executable() -> str:
    """The uv that scripts/setup.sh pinned and exported as ``$UV`` (uv run exports it too)."""
    candidates = [os.environ.get("UV", ""), str(REPO / ".tools" / "uv" / "bin" / "uv")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise RuntimeError("no uv: run the suite with ./scripts/test, which installs the pinned uv into .tools/uv")


def working_tree_copy(dest: Path) -> Path:
    """Copy what a fresh clone of the working tree holds into ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = REPO / name
        if source.is_file():  # a file deleted in the working tree is still listed
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def run(command: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return result


def build(source: Path, out: Path, *kind: str) -> Path:
    """``uv build`` of a folder or an sdist into ``out``; the one file it made."""
    out.mkdir(parents=True, exist_ok=True)
    target = [str(source)] if source.is_file() else []
    run([uv_executable(), "build", *kind, "-o", str(out), *target], cwd=source if source.is_dir() else out)
    (made,) = [p for p in out.iterdir() if p.suffix in (".whl", ".gz")]
    return made


def without_this_project(site_packages: Path, dest: Path) -> Path:
    """A folder of links to every installed package but this project's editable install."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in site_packages.iterdir():
        name = entry.name.lower()
        if name.startswith((PROJECT, "_" + PROJECT, "__editable__")) or name.endswith(".pth"):
            continue
        (dest / entry.name).symlink_to(entry)
    return dest


@dataclass
class Distribution:
    """The project's sdist and wheels, built once in ``root`` (a temporary folder)."""

    root: Path

    @cached_property
    def checkout(self) -> Path:
        return working_tree_copy(self.root / "checkout")

    @cached_property
    def sdist(self) -> Path:
        return build(self.checkout, self.root / "sdist", "--sdist")

    @cached_property
    def wheel(self) -> Path:
        """The wheel built from the sdist alone, as pip builds one."""
        return build(self.sdist, self.root / "wheel", "--wheel")

    @cached_property
    def wheel_from_sources(self) -> Path:
        """A wheel from the sdist with its bundle removed: the front end is built from the JS sources."""
        unpacked = self.root / "unpacked"
        with tarfile.open(self.sdist) as archive:
            archive.extractall(unpacked, filter="data")
        (top,) = unpacked.iterdir()
        shutil.rmtree(top / PROJECT / "static")
        return build(top, self.root / "wheel-from-sources", "--wheel")

    def wheel_names(self, wheel: Path | None = None) -> set[str]:
        with zipfile.ZipFile(wheel or self.wheel) as archive:
            return set(archive.namelist())

    def sdist_names(self) -> set[str]:
        with tarfile.open(self.sdist) as archive:
            return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}

    @cached_property
    def dependencies(self) -> Path:
        return without_this_project(Path(sysconfig.get_paths()["purelib"]), self.root / "dependencies")

    def clean_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
        env["PYTHONPATH"] = str(self.dependencies)
        env["HF_HUB_OFFLINE"] = "1"
        return env

    @cached_property
    def clean_python(self) -> Path:
        """A new venv (``python -m venv``, pip included) with the wheel installed by plain pip."""
        venv = self.root / "clean-venv"
        run([sys.executable, "-m", "venv", str(venv)], cwd=self.root)
        python = venv / "bin" / "python"
        installed = run(
            [str(python), "-m", "pip", "install", "--no-index", str(self.wheel)], cwd=self.root, env=self.clean_env()
        )
        self.pip_log = installed.stdout
        return python

    def run_in_clean_venv(self, code: str) -> str:
        return run([str(self.clean_python), "-c", code], cwd=self.root, env=self.clean_env()).stdout

"""A fresh machine as a new user has one: a fresh clone, an empty HOME and no uv on PATH.

``fresh_environment`` keeps the machine's other variables (they point the package clients at
the registries' certificates) but empties HOME (no user site-packages, no ``~/.local/bin``, no
config), drops every PATH entry that holds a ``uv`` and everything the outer run set up (its
venv, its ``$UV``). uv may share the outer package cache, to save the download (not an
installed uv); npm and pip start with empty caches in the empty HOME.

Run by hand against any commit, to compare:
``python -m tests.e2e.fresh_machine --ref d56a2f3`` (from the repository root).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QUICKSTART_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab/tree/01_quickstart\.ipynb\?token=([0-9a-f]{48})")
# Variables of the outer run that a new user's shell would not have.
OUTER = ("UV", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST", "JUPYTER", "npm_", "NPM_", "XDG_", "CONDA")


def clone(dest: Path, ref: str | None = None) -> Path:
    """A fresh clone of ``ref``; by default of the working tree as it is (its files, committed
    once into a new repository, so uncommitted changes are what is tested)."""
    if ref is None:
        sys.path.insert(0, str(REPO / "tests"))
        from helpers.distribution import working_tree_copy

        working_tree_copy(dest)
        git = ["git", "-c", "user.name=fresh", "-c", "user.email=fresh@localhost", "-c", "init.defaultBranch=main"]
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the working tree"]):
            subprocess.run([*git, *command], cwd=dest, check=True)
        return dest
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(dest)], check=True)
    subprocess.run(["git", "checkout", "--quiet", ref], cwd=dest, check=True)
    return dest


def uv_cache_dir() -> str | None:
    uv = os.environ.get("UV") or shutil.which("uv") or str(REPO / ".tools" / "uv" / "bin" / "uv")
    if not Path(uv).is_file():
        return None
    return subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()


def fresh_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTER)}
    env["HOME"] = str(home)
    entries = os.environ.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(
        p for p in entries if p and not (Path(p) / "uv").exists() and not Path(p).resolve().is_relative_to(REPO)
    )
    assert shutil.which("uv", path=env["PATH"]) is None
    cache = uv_cache_dir()
    if cache:
        env["UV_CACHE_DIR"] = cache
    return env


class FreshMachine:
    """A clone in ``root/clone`` and an empty ``root/home``; runs the README's commands there."""

    def __init__(self, root: Path, ref: str | None = None) -> None:
        self.clone = clone(root / "clone", ref)
        home = root / "home"
        home.mkdir()
        self.env = fresh_environment(home)

    def test_command(self, *pytest_args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["./scripts/test", *pytest_args],
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_command(self, log: Path, from_its_suite: bool = True) -> subprocess.Popen:
        """``scripts/start`` on a free port; its output goes to ``log``.

        ``from_its_suite``: as the clone's own test suite calls it, inside the clone's venv
        (``uv run`` puts ``.venv/bin`` first on PATH, so ``python3`` there has no pip and no uv).
        """
        env = {**self.env, "PORT": str(free_port())}
        if from_its_suite and (self.clone / ".venv").is_dir():
            env["VIRTUAL_ENV"] = str(self.clone / ".venv")
            env["PATH"] = f"{self.clone / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
        return subprocess.Popen(
            ["./scripts/start", "--LabApp.news_url=None"],
            cwd=self.clone,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_quickstart(server: subprocess.Popen, log: Path, timeout: float = 300) -> tuple[str, dict]:
    """The URL ``scripts/start`` printed, and the quickstart notebook as that server's API returns it.

    Raises AssertionError, with the server's output, if the server exits or serves nothing in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        match = QUICKSTART_URL.search(log.read_text())
        if match:
            port, token = match.groups()
            try:
                with urllib.request.urlopen(match.group(0), timeout=10) as page:
                    assert page.status == 200
                api = f"http://127.0.0.1:{port}/api/contents/01_quickstart.ipynb?token={token}"
                with urllib.request.urlopen(api, timeout=10) as response:
                    return match.group(0), json.loads(response.read())
            except OSError:
                pass  # printed, not listening yet
        time.sleep(0.5)  # polling for an explicit condition: the line, then an HTTP answer
    raise AssertionError(f"scripts/start (exit {server.poll()}) served no quickstart:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", help="commit to clone (default: the working tree)")
    parser.add_argument("pytest_args", nargs="*", default=["tests/test_packaging.py"])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="atw-fresh-"))
    machine = FreshMachine(root, args.ref)
    print(
        f"fresh clone of {args.ref or 'the working tree'} in {machine.clone}; HOME={machine.env['HOME']}; no uv on PATH"
    )
    started = time.monotonic()
    result = machine.test_command(*args.pytest_args)
    print(
        f"./scripts/test {' '.join(args.pytest_args)} -> exit {result.returncode} ({time.monotonic() - started:.0f} s)"
    )
    print("\n".join((result.stdout + result.stderr).strip().splitlines()[-25:]))
    server = machine.start_command(root / "start.log")
    try:
        url, notebook = wait_for_quickstart(server, root / "start.log")
        print(
            f"./scripts/start -> serves {url.split('?')[0]} ({notebook['type']}, {len(notebook['content']['cells'])} cells)"
        )
    except AssertionError as error:
        print(f"./scripts/start -> {error}")
        return 1
    finally:
        stop(server)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())

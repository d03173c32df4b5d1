"""JupyterLab and Chromium for browser tests: start, drive, and always shut down.

Waits are on explicit conditions (HTTP status, kernel idle, ``atw-status`` idle, canvas
pixels changed), never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]


def ensure_chromium() -> str:
    """Install Debian's chromium when it is missing (root, or sudo)."""
    if not Path(CHROMIUM).exists():
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "chromium"], check=True, stdout=subprocess.DEVNULL)
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LAB_TEST_FLAGS = [
    "--ServerApp.disable_check_xsrf=True", "--LabApp.expose_app_in_browser=True",
    "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]  # fmt: skip


class JupyterLab:
    """A JupyterLab server on a free loopback port, temporary root and settings.

    By default started here with an empty token; ``command`` starts it another way (the
    project's ``scripts/start``), serving ``root`` on ``self.port``.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="atw-e2e-"))
        self.root = root or self.home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = self.home / "jupyter.log"

    def start(
        self,
        timeout: float = 90,
        command: list[str] | None = None,
        cwd: Path | None = None,
        ready_path: str = "/api/status",
    ) -> JupyterLab:
        """Start the server and wait until ``ready_path`` answers (another server, e.g. marimo, may
        be started through ``command``)."""
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(self.home / ".jupyter"), "PYTHONUNBUFFERED": "1"}
        env["JUPYTER_DATA_DIR"] = str(self.home / ".jupyter-data")
        env["PORT"] = str(self.port)
        env.setdefault("HF_HUB_OFFLINE", "1")
        if command is None:
            command = [
                sys.executable, "-m", "jupyter", "lab", "--no-browser",
                f"--port={self.port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={self.root}",
                "--allow-root", "--IdentityProvider.token=", "--ServerApp.password=", *LAB_TEST_FLAGS,
            ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=cwd or self.home,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}{ready_path}", timeout=2) as response:
                    if response.status in (200, 403):  # 403: up, but asks for the token
                        return self
            except urllib.error.HTTPError as error:
                if error.code == 403:
                    return self
            except OSError:
                pass
            time.sleep(0.2)  # polling interval of a wait on an explicit condition
        raise TimeoutError(f"JupyterLab did not answer within {timeout} s:\n{self.log.read_text()[-3000:]}")

    def add_kernel(self, name: str, argv: list[str], env: dict[str, str]) -> str:
        """Register a kernel (``argv`` with ``{connection_file}``) that this server's notebooks can use."""
        folder = self.home / ".jupyter-data" / "kernels" / name
        folder.mkdir(parents=True, exist_ok=True)
        spec = {"argv": argv, "env": env, "display_name": name, "language": "python"}
        (folder / "kernel.json").write_text(json.dumps(spec))
        return name

    def write_notebook(self, name: str, cells: list[str], kernel: str = "python3") -> str:
        notebook = {
            "cells": [
                {"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                for c in cells
            ],
            "metadata": {"kernelspec": {"name": kernel, "display_name": kernel, "language": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (self.root / name).write_text(json.dumps(notebook))
        return name

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        shutil.rmtree(self.home, ignore_errors=True)


# JavaScript helpers evaluated in the page (window.jupyterapp is exposed by the server flag).
KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && w.sessionContext.isReady;
}"""

EXECUTE_JS = """async (code) => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, store_history: false });
  const out = [];
  let error = null;
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'execute_result') out.push(msg.content.data['text/plain']);
    else if (t === 'stream') out.push(msg.content.text);
    else if (t === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  if (error) throw new Error(error);
  return out.join('');
}"""

CANVAS_SIGNATURE_JS = """(canvas) => {
  const ctx = canvas.getContext('2d');
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 0, sum = 0;
  for (let i = 0; i < data.length; i += 1) { hash = (hash * 31 + data[i]) >>> 0; sum += data[i]; }
  return { hash, mean: sum / data.length, width: canvas.width, height: canvas.height, paints: Number(canvas.dataset.paints || 0) };
}"""

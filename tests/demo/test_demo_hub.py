"""hub_reachable: the bounded check that lets the tutorials' online cells skip cleanly offline."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from autotimm_widgets.demo import hub_reachable


class NotFound(BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(404)  # any HTTP answer means the host is there
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listening_port():
    server = HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port():
    """Accepts connections and never answers (what a sandbox or a stalled proxy does)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_listening_endpoint_is_reachable(monkeypatch, listening_port):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert hub_reachable(endpoint=f"http://127.0.0.1:{listening_port}") is True


def test_hf_endpoint_is_honoured(monkeypatch, listening_port):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{listening_port}")
    assert hub_reachable() is True
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    assert hub_reachable() is False


def test_offline_setting_answers_false_without_the_network(monkeypatch, listening_port):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    assert hub_reachable(endpoint=f"http://127.0.0.1:{listening_port}") is False
    assert time.perf_counter() - started < 0.05


def test_a_silent_endpoint_answers_false_within_the_timeout(monkeypatch, silent_port):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    started = time.perf_counter()
    assert hub_reachable(timeout=0.5, endpoint=f"http://127.0.0.1:{silent_port}") is False
    assert time.perf_counter() - started < 1.5


@pytest.mark.parametrize("timeout", [0, -1, True, "3", None])
def test_bad_timeouts_are_rejected(timeout):
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        hub_reachable(timeout=timeout)


def test_endpoints_without_a_host_are_rejected(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ValueError, match="endpoint must be a URL"):
        hub_reachable(endpoint="huggingface.co")

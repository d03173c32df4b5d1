"""Is the Hugging Face hub reachable? A bounded check, so that optional online cells skip cleanly offline.

``timm.create_model(name, pretrained=True)`` on a machine without network retries for about
a minute before it fails. The tutorials ask :func:`hub_reachable` first and skip their one
online cell when it says no.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "on", "yes", "true"}  # how huggingface_hub reads its boolean environment variables


def hub_reachable(timeout: float = 3.0, endpoint: str | None = None) -> bool:
    """True when the hub answers an HTTP(S) request within ``timeout`` seconds.

    Any HTTP answer counts (even 4xx): the point is that the host, TLS included, is there.
    A bare TCP connection is not enough: sandboxes and proxies accept connections to any
    address and then answer nothing.

    Returns False at once, without touching the network, when ``HF_HUB_OFFLINE`` is set.
    ``endpoint`` defaults to ``HF_ENDPOINT`` (a mirror), else ``https://huggingface.co``.
    Name resolution is included in the time limit: the probe runs in a daemon thread, so a
    stalled DNS lookup cannot hold the caller longer than ``timeout``.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds; got {timeout!r}.")
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return False
    url = urlsplit(endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
    if not url.hostname:
        raise ValueError(f"endpoint must be a URL such as {DEFAULT_ENDPOINT!r}; got {endpoint!r}.")
    answer: list[bool] = []

    def probe() -> None:
        request = urllib.request.Request(f"{url.scheme}://{url.netloc}/", method="HEAD")
        try:
            urllib.request.urlopen(request, timeout=timeout).close()
            answer.append(True)
        except urllib.error.HTTPError:
            answer.append(True)
        except (OSError, ValueError):
            answer.append(False)

    thread = threading.Thread(target=probe, name="hub-reachable", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer) and answer[0]

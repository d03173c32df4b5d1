"""The compute engine: one worker thread, latest request wins, results cached.

The comm handler only records the newest state and returns; the worker computes it.
Bursts coalesce (only the newest pending state is computed), work that a newer request
supersedes is abandoned at its next progress check, and a result is published only while
it is still the newest request, so a stale map never replaces a newer one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import numpy as np

from ..interpretation._progress import ProgressCallback


class Superseded(Exception):
    """Raised inside a computation whose request a newer one replaced."""


@dataclass(frozen=True)
class Request:
    """A state to compute: ``seq`` orders requests, ``key`` identifies the result in the cache."""

    seq: int
    key: Hashable
    state: Mapping


Compute = Callable[[Mapping, ProgressCallback], Mapping[Hashable, object]]


class MapCache:
    """LRU cache of results (maps, or small dicts such as scores), bounded by total bytes."""

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._maps: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable):
        found = self._maps.get(key)
        if found is not None:
            self._maps.move_to_end(key)
        return found

    def put(self, key: Hashable, value) -> None:
        if key in self._maps:
            self._bytes -= _size(self._maps.pop(key))
        self._maps[key] = value
        self._bytes += _size(value)
        while self._bytes > self.max_bytes and len(self._maps) > 1:
            self._bytes -= _size(self._maps.popitem(last=False)[1])

    def __contains__(self, key: Hashable) -> bool:
        return key in self._maps

    def clear(self) -> None:
        self._maps.clear()
        self._bytes = 0


def _size(value) -> int:
    return int(getattr(value, "nbytes", 4096))


class ComputeEngine:
    """Runs ``compute`` for the newest submitted state on a daemon worker thread.

    Args:
        compute: ``compute(state, progress) -> {key: result}``; it may return results for
            several keys at once (prefetching) and must call ``progress(done, total)`` between batches
            of long work, which raises :class:`Superseded` once a newer request exists.
        publish: called with (request, result) on the worker, while the request is the newest.
        fail: called with (request, exception) likewise.
        started: called with the request when a computation (not a cache hit) starts.
        report_progress: called with a fraction in [0, 1] during long computations.
    """

    def __init__(
        self,
        compute: Compute,
        publish: Callable[[Request, object], None],
        fail: Callable[[Request, BaseException], None],
        started: Callable[[Request], None] = lambda request: None,
        report_progress: Callable[[float], None] = lambda fraction: None,
        cache: MapCache | None = None,
    ) -> None:
        self._compute, self._publish, self._fail = compute, publish, fail
        self._started, self._report_progress = started, report_progress
        self.cache = cache if cache is not None else MapCache()
        self._condition = threading.Condition()
        self._pending: Request | None = None
        self._latest = 0
        self._done = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self.computations = 0  # how many requests needed real work (not the cache)

    def submit(self, key: Hashable, state: Mapping) -> Request:
        """Queue ``state`` as the newest request, replacing any pending one."""
        with self._condition:
            if self._closed:
                raise RuntimeError("the engine is closed")
            self._latest += 1
            request = Request(self._latest, key, dict(state))
            self._pending = request
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="autotimm-widgets-engine", daemon=True)
                self._thread.start()
            self._condition.notify_all()
            return request

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the newest request is done (or the engine is closed); False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: self._closed or self._done >= self._latest, timeout)

    def close(self) -> None:
        """Stop the worker after its current computation (which is then dropped)."""
        with self._condition:
            self._closed = True
            self._latest += 1
            self._pending = None
            self._condition.notify_all()

    # -- worker ------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    return
                request, self._pending = self._pending, None
            try:
                self._handle(request)
            except Superseded:
                pass
            except BaseException as error:  # noqa: BLE001 - shown in the widget, never raised in the kernel
                self._deliver(request, lambda request=request, error=error: self._fail(request, error))
            finally:
                with self._condition:
                    self._done = max(self._done, request.seq)
                    self._condition.notify_all()

    def _handle(self, request: Request) -> None:
        cached = self.cache.get(request.key)
        if cached is None:
            self.computations += 1
            self._started(request)
            results = self._compute(request.state, self._progress_for(request))
            for key, value in results.items():
                self.cache.put(key, value)
            cached = results[request.key]
        self._deliver(request, lambda: self._publish(request, cached))

    def _deliver(self, request: Request, action: Callable[[], None]) -> None:
        """Run ``action`` only while ``request`` is the newest, atomically with respect to submit."""
        with self._condition:
            if request.seq == self._latest:
                action()

    def _progress_for(self, request: Request) -> ProgressCallback:
        def progress(done: int, total: int) -> None:
            if request.seq != self._latest:
                raise Superseded()
            self._report_progress(done / total if total else 1.0)

        return progress

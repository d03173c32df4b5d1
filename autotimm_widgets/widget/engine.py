"""The compute engine: latest request wins, results cached, computed on the shared worker.

The comm handler only records the newest state and returns; the kernel's one worker thread
(:mod:`.worker`) computes it. Bursts coalesce (only the newest pending state is computed), work
that a newer request supersedes, or that ``cancel()`` stops, is abandoned at its next progress
check, and a result is published only while it is still the newest request, so a stale map
never replaces a newer one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import numpy as np

from ..interpretation._progress import ProgressCallback, checkpoints
from .worker import WORKER, SharedWorker


class Superseded(Exception):
    """Raised inside a computation whose request a newer one replaced."""


class Cancelled(Superseded):
    """Raised inside a computation that ``ComputeEngine.cancel()`` stopped."""


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
    """Runs ``compute`` for the newest submitted state on the shared worker thread.

    Args:
        compute: ``compute(state, progress) -> {key: result}``; it may return results for
            several keys at once (prefetching) and must call ``progress(done, total)`` between batches
            of long work, which raises :class:`Superseded` once a newer request exists.
        publish: called with (request, result) on the worker, while the request is the newest.
        fail: called with (request, exception) likewise.
        started: called with the request when a computation (not a cache hit) starts.
        report_progress: called with a fraction in [0, 1] during long computations.
        cancelled: called with the request that ``cancel()`` stopped, on the worker (or at
            once, when it had not started).
    """

    def __init__(
        self,
        compute: Compute,
        publish: Callable[[Request, object], None],
        fail: Callable[[Request, BaseException], None],
        started: Callable[[Request], None] = lambda request: None,
        report_progress: Callable[[float], None] = lambda fraction: None,
        cancelled: Callable[[Request], None] = lambda request: None,
        cache: MapCache | None = None,
        worker: SharedWorker = WORKER,
    ) -> None:
        self._compute, self._publish, self._fail = compute, publish, fail
        self._started, self._report_progress, self._cancelled = started, report_progress, cancelled
        self.cache = cache if cache is not None else MapCache()
        self._worker = worker
        self._condition = threading.Condition()
        self._pending: Request | None = None
        self._running: Request | None = None
        self._latest = 0
        self._done = 0
        self._cancel_upto = 0  # requests up to this seq are cancelled
        self._closed = False
        self.computations = 0  # how many requests needed real work (not the cache)

    def submit(self, key: Hashable, state: Mapping) -> Request:
        """Queue ``state`` as the newest request, replacing any pending one."""
        with self._condition:
            if self._closed:
                raise RuntimeError("the engine is closed")
            self._latest += 1
            request = Request(self._latest, key, dict(state))
            self._pending = request
            self._worker.schedule(self)
            self._condition.notify_all()
            return request

    def cancel(self) -> bool:
        """Stop the newest request: dropped if pending, abandoned at its next progress check if
        running. Returns False when there was nothing to stop."""
        with self._condition:
            request = self._pending or self._running
            if self._closed or request is None or request.seq != self._latest or request.seq <= self._cancel_upto:
                return False
            self._cancel_upto = request.seq
            if self._pending is request:  # never started: nothing will raise, so report it here
                self._pending = None
                self._done = max(self._done, request.seq)
                self._cancelled(request)
                self._condition.notify_all()
            return True

    @property
    def busy(self) -> bool:
        """True while the newest request is pending or computing."""
        with self._condition:
            return not self._closed and self._done < self._latest

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the newest request is done (or the engine is closed); False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: self._closed or self._done >= self._latest, timeout)

    def close(self) -> None:
        """Drop pending work; a running computation stops at its next progress check and is dropped."""
        with self._condition:
            self._closed = True
            self._latest += 1
            self._pending = None
            self._condition.notify_all()

    # -- on the worker -------------------------------------------------------------------
    def run_pending(self) -> None:
        """Compute the pending request, if any (called by the shared worker; never raises)."""
        with self._condition:
            request, self._pending = self._pending, None
            if request is None or self._closed:
                return
            self._running = request
        try:
            self._handle(request)
        except Cancelled:
            self._deliver(request, lambda: self._cancelled(request))
        except Superseded:
            pass
        except BaseException as error:  # noqa: BLE001 - shown in the widget, never raised in the kernel
            self._deliver(request, lambda request=request, error=error: self._fail(request, error))
        finally:
            with self._condition:
                self._running = None
                self._done = max(self._done, request.seq)
                self._condition.notify_all()

    def _handle(self, request: Request) -> None:
        cached = self.cache.get(request.key)
        if cached is None:
            self.computations += 1
            self._started(request)
            with checkpoints(lambda: self._check(request)):  # a cancel need not wait for a batch
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

    def _check(self, request: Request) -> None:
        """Raise :class:`Cancelled` or :class:`Superseded` when ``request`` is to stop."""
        if request.seq <= self._cancel_upto:
            raise Cancelled()
        if request.seq != self._latest:
            raise Superseded()

    def _progress_for(self, request: Request) -> ProgressCallback:
        def progress(done: int, total: int) -> None:
            self._check(request)
            self._report_progress(done / total if total else 1.0)

        return progress

"""One worker thread per kernel, shared by every widget's compute engine.

Re-running a cell builds a new widget; with a thread per widget the old ones stayed alive. Here
every :class:`~.engine.ComputeEngine` hands its pending request to the one shared daemon thread,
which runs the newest submission first (across widgets, as within one). A computation is never
interrupted for another widget's request; within a widget a newer request supersedes it at its
next progress check.
"""

from __future__ import annotations

import itertools
import threading
from typing import Protocol

THREAD_NAME = "autotimm-widgets-worker"


class Runnable(Protocol):
    def run_pending(self) -> None: ...


class SharedWorker:
    """A daemon thread that runs ``run_pending()`` of scheduled engines, newest schedule first."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._ready: dict[int, tuple[int, Runnable]] = {}  # id(engine) -> (stamp, engine)
        self._stamps = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, engine: Runnable) -> None:
        """Ask for ``engine.run_pending()`` soon (once, however often it is asked before it runs)."""
        with self._condition:
            self._ready[id(engine)] = (next(self._stamps), engine)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name=THREAD_NAME, daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def _work(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: bool(self._ready))
                key = max(self._ready, key=lambda k: self._ready[k][0])
                _, engine = self._ready.pop(key)
            engine.run_pending()  # never raises: the engine reports its own errors


WORKER = SharedWorker()

"""Progress of long calls: ``progress(done, total)`` after every internal batch, and cancellation.

A call that takes ``progress=`` opens ``tracking(progress, total)``; code deep inside (IG's batches
of steps, SmoothGrad's batches of noisy samples) calls ``advance(rows)``. Units are model input
rows (one forward and backward each): IG counts ``steps`` per image, SmoothGrad
``num_samples * base.rows_per_input``.

The tracker sits in a ``ContextVar``: calls in other threads never see it, and nothing is stored on
the explainer. An exception raised by the callback propagates at once through the explainer,
whose context managers remove hooks and restore the model; that is how a caller cancels work
that has been superseded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

ProgressCallback = Callable[[int, int], None]


class _Tracker:
    def __init__(self, callback: ProgressCallback, total: int):
        self.callback, self.total, self.done = callback, total, 0

    def advance(self, rows: int) -> None:
        self.done += rows
        self.callback(min(self.done, self.total), self.total)


_CURRENT: ContextVar[_Tracker | None] = ContextVar("autotimm_widgets_progress", default=None)


def check_progress(progress) -> ProgressCallback | None:
    """``None`` or a callable, else ``TypeError``."""
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be None or a callable progress(done, total); got {type(progress).__name__}.")
    return progress


@contextmanager
def tracking(progress: ProgressCallback | None, total: int) -> Iterator[None]:
    """Report ``advance`` calls made inside the block to ``progress`` (nothing when it is None)."""
    token = _CURRENT.set(None if progress is None else _Tracker(progress, total))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def advance(rows: int) -> None:
    """Count ``rows`` done for the innermost ``tracking`` block, if any."""
    tracker = _CURRENT.get()
    if tracker is not None:
        tracker.advance(rows)


@contextmanager
def worth(rows: int) -> Iterator[None]:
    """A block worth ``rows``: whatever the block did not report itself is reported when it ends."""
    tracker = _CURRENT.get()
    start = None if tracker is None else tracker.done
    yield
    if tracker is not None:
        missing = rows - (tracker.done - start)
        if missing > 0:
            tracker.advance(missing)

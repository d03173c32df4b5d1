"""Progress of long calls: ``progress(done, total)`` after every internal batch, and cancellation.

A call that takes ``progress=`` opens ``tracking(progress, total)``; code deep inside (IG's batches
of steps, SmoothGrad's batches of noisy samples) calls ``advance(rows)``. Units are model input
rows (one forward and backward each): IG counts ``steps`` per image, SmoothGrad
``num_samples * base.rows_per_input``.

The tracker sits in a ``ContextVar``: calls in other threads never see it, and nothing is stored on
the explainer. An exception raised by the callback propagates at once through the explainer,
whose context managers remove hooks and restore the model; that is how a caller cancels work
that has been superseded. So that a cancel need not wait for a whole batch, ``checkpoints(check)``
calls ``check()`` before every module's forward pass inside its block: a process-wide forward
pre-hook, there only for the block's duration, that acts only in the block's own context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from torch.nn.modules.module import register_module_forward_pre_hook

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


_CHECK: ContextVar[Callable[[], None] | None] = ContextVar("autotimm_widgets_check", default=None)


@contextmanager
def checkpoints(check: Callable[[], None]) -> Iterator[None]:
    """Call ``check()`` before every module's forward pass in the block, in this context only
    (other threads' model calls never see it); an exception it raises stops the call there."""
    token = _CHECK.set(check)
    handle = register_module_forward_pre_hook(_run_check)
    try:
        yield
    finally:
        handle.remove()
        _CHECK.reset(token)


def _run_check(module, args) -> None:
    check = _CHECK.get()
    if check is not None:
        check()


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

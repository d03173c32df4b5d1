"""The compute engine alone: latest request wins, superseded work stops, cache, errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from autotimm_widgets.widget.engine import ComputeEngine, MapCache


class Recorder:
    def __init__(self):
        self.published = []
        self.failed = []
        self.started = []

    def engine(self, compute):
        return ComputeEngine(
            compute,
            publish=lambda r, m: self.published.append((r.key, float(m[0, 0]))),
            fail=lambda r, e: self.failed.append((r.key, str(e))),
            started=lambda r: self.started.append(r.key),
        )


def constant(value):
    return np.full((2, 2), value, np.float32)


def test_burst_coalesces_to_the_last_state():
    gate = threading.Event()
    computed = []

    def compute(state, progress):
        gate.wait(5)
        computed.append(state["v"])
        return {("v", state["v"]): constant(state["v"])}

    rec = Recorder()
    engine = rec.engine(compute)
    for v in range(50):
        engine.submit(("v", v), {"v": v})
    gate.set()
    assert engine.wait(10)
    assert computed[-1] == 49 and len(computed) <= 2  # the first one in flight, then only the last
    assert rec.published == [(("v", 49), 49.0)]


def test_superseded_work_stops_at_its_next_progress_check():
    entered = threading.Event()
    release = threading.Event()
    steps_done = []

    def compute(state, progress):
        if state["v"] == 0:
            entered.set()
            release.wait(5)
            for step in range(100):
                progress(step, 100)  # raises Superseded once a newer request exists
                steps_done.append(step)
        return {("v", state["v"]): constant(state["v"])}

    rec = Recorder()
    engine = rec.engine(compute)
    engine.submit(("v", 0), {"v": 0})
    entered.wait(5)
    engine.submit(("v", 1), {"v": 1})
    release.set()
    assert engine.wait(10)
    assert steps_done == []
    assert rec.published == [(("v", 1), 1.0)]
    assert rec.failed == []  # being superseded is not an error the user sees


def test_cache_hits_need_no_computation_and_prefetched_keys_count():
    calls = []

    def compute(state, progress):
        calls.append(state["v"])
        return {("v", state["v"]): constant(state["v"]), ("v", state["v"] + 100): constant(-1)}

    rec = Recorder()
    engine = rec.engine(compute)
    for v in (1, 2, 1, 101):
        engine.submit(("v", v), {"v": v})
        assert engine.wait(5)
    assert calls == [1, 2]
    assert engine.computations == 2
    assert [k for k, _ in rec.published] == [("v", 1), ("v", 2), ("v", 1), ("v", 101)]
    assert rec.started == [("v", 1), ("v", 2)]


def test_errors_are_reported_and_the_engine_keeps_working():
    def compute(state, progress):
        if state["v"] < 0:
            raise ValueError("negative")
        return {("v", state["v"]): constant(state["v"])}

    rec = Recorder()
    engine = rec.engine(compute)
    engine.submit(("v", -1), {"v": -1})
    assert engine.wait(5)
    assert rec.failed == [(("v", -1), "negative")]
    engine.submit(("v", 3), {"v": 3})
    assert engine.wait(5)
    assert rec.published == [(("v", 3), 3.0)]


def test_stale_error_is_not_reported():
    release = threading.Event()

    def compute(state, progress):
        if state["v"] == 0:
            release.wait(5)
            raise RuntimeError("old failure")
        return {("v", state["v"]): constant(state["v"])}

    rec = Recorder()
    engine = rec.engine(compute)
    engine.submit(("v", 0), {"v": 0})
    engine.submit(("v", 1), {"v": 1})
    release.set()
    assert engine.wait(5)
    assert rec.failed == []
    assert rec.published[-1] == (("v", 1), 1.0)


def test_wait_times_out_and_close_stops_the_worker():
    release = threading.Event()
    rec = Recorder()
    engine = rec.engine(lambda s, p: (release.wait(5), {("v", 0): constant(0)})[1])
    engine.submit(("v", 0), {"v": 0})
    assert engine.wait(0.05) is False
    engine.close()
    release.set()
    assert engine.wait(5)
    with pytest.raises(RuntimeError, match="closed"):
        engine.submit(("v", 1), {"v": 1})


def test_cache_is_bounded_by_bytes_and_least_recently_used_goes_first():
    cache = MapCache(max_bytes=3 * 16)
    for key in "abc":
        cache.put(key, constant(0))
    cache.get("a")
    cache.put("d", constant(0))
    assert "b" not in cache and {"a", "c", "d"} <= {k for k in "abcd" if k in cache}


def test_cancel_stops_running_work_and_drops_pending_work():
    entered = threading.Event()
    cancelled = []

    def compute(state, progress):
        entered.set()
        for step in range(10_000):
            progress(step, 10_000)
            threading.Event().wait(0.001)
        return {("v", state["v"]): constant(state["v"])}

    rec = Recorder()
    engine = ComputeEngine(compute, publish=lambda r, m: rec.published.append(r.key), fail=lambda r, e: None,
                           cancelled=lambda r: cancelled.append(r.key))  # fmt: skip
    assert engine.cancel() is False  # nothing to stop
    engine.submit(("v", 0), {"v": 0})
    entered.wait(5)
    assert engine.busy and engine.cancel() is True
    assert engine.wait(5) and not engine.busy
    assert cancelled == [("v", 0)] and rec.published == []
    assert engine.cancel() is False  # already stopped


def test_a_cancel_before_the_worker_starts_is_reported_at_once():
    gate = threading.Event()
    cancelled = []
    blocker = ComputeEngine(lambda s, p: (gate.wait(5), {("b",): constant(0)})[1], lambda r, m: None, lambda r, e: None)
    blocker.submit(("b",), {})  # holds the shared worker
    engine = ComputeEngine(lambda s, p: {("v",): constant(1)}, lambda r, m: None, lambda r, e: None,
                           cancelled=lambda r: cancelled.append(r.key))  # fmt: skip
    engine.submit(("v",), {})
    assert engine.cancel() is True and cancelled == [("v",)]
    assert engine.wait(0.1)
    gate.set()
    assert blocker.wait(5) and engine.computations == 0


def test_the_shared_worker_runs_the_newest_submission_first():
    from autotimm_widgets.widget.worker import SharedWorker

    worker, gate, order = SharedWorker(), threading.Event(), []

    def engine(name, block=False):
        def compute(state, progress):
            if block:
                gate.wait(5)
            order.append(name)
            return {(name,): constant(0)}

        return ComputeEngine(compute, lambda r, m: None, lambda r, e: None, worker=worker)

    first = engine("first", block=True)
    first.submit(("first",), {})
    while first._running is None:  # "first" holds the worker
        threading.Event().wait(0.001)
    others = [engine(n) for n in ("a", "b", "c")]
    for e, name in zip(others, "abc"):
        e.submit((name,), {})
    gate.set()
    assert all(e.wait(5) for e in [first, *others])
    assert order == ["first", "c", "b", "a"]

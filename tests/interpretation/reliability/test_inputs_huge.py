"""Very large images: an 8000x6000 photo needs well under 1 GB beyond the returned map."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
import time

import numpy as np
import psutil
import pytest
from PIL import Image

from helpers.battery import GOOD
from helpers.reliability_cases import CASES

# One worker runs them all, one after another, as a single process did: tests of other modules
# in between left freed memory resident, which a new map reused (RSS did not grow at all).
pytestmark = pytest.mark.xdist_group("huge-images")


# -- very large images -----------------------------------------------------------------------------------
def release_free_memory() -> None:
    """Give freed heap pages back to the OS (glibc's ``malloc_trim``), so that resident memory at
    entry is what is in use: memory that earlier tests in this process (a pytest-xdist worker
    runs many) freed but kept would otherwise absorb the new map, and RSS would not grow."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to give back this way
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every 2 ms in a thread."""

    def __enter__(self):
        gc.collect()
        release_free_memory()
        self._process = psutil.Process()
        self.start = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def extra(self) -> int:
        return self.peak - self.start


@pytest.fixture(scope="module")
def huge_photo():
    return np.random.default_rng(0).integers(0, 256, size=(6000, 8000, 3), dtype=np.uint8)


def test_8000x6000_images_need_well_under_1_gb_extra(case, huge_photo):
    """Resized early in their own dtype: the extra peak is about the returned (6000, 8000) float32 map (183 MiB)."""
    explainer = case.explainer
    explainer.explain(GOOD)  # one-off set-up (layer traces, memory probes) is not what is measured
    with PeakRSS() as memory:
        heatmap = explainer.explain(huge_photo)
    assert heatmap.shape == (6000, 8000)
    print(f"8000x6000 uint8, {type(explainer).__name__}: {memory.extra / 2**20:.0f} MiB extra peak")
    assert heatmap.nbytes // 2 < memory.extra < 2**30, f"{memory.extra / 2**20:.0f} MiB extra"
    del heatmap
    if case.spec is CASES["gradcam-cnn"]:
        pil = Image.fromarray(huge_photo)
        with PeakRSS() as memory:
            explainer.explain(pil)
        print(f"8000x6000 PIL RGB, GradCAM: {memory.extra / 2**20:.0f} MiB extra peak")
        assert memory.extra < 2**30, f"PIL: {memory.extra / 2**20:.0f} MiB extra"

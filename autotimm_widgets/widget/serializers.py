"""What travels to the browser, as raw bytes (never base64): image, maps, colormap tables."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F

COLORMAPS = ("jet", "turbo", "viridis", "inferno", "magma", "plasma", "gray")


def image_bytes(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> H*W*3 bytes, row-major RGB."""
    return np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()


def map_bytes(heatmap: np.ndarray) -> bytes:
    """(H, W) float map in [0, 1] -> H*W uint8 bytes (0..255)."""
    return (np.clip(heatmap, 0.0, 1.0) * 255.0).round().astype(np.uint8).tobytes()


def colormap_table(name: str) -> bytes:
    """matplotlib colormap ``name`` as a 256x3 uint8 lookup table (768 bytes)."""
    rgba = matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))
    return (rgba[:, :3] * 255.0).round().astype(np.uint8).tobytes()


def colormap_tables() -> dict[str, bytes]:
    return {name: colormap_table(name) for name in COLORMAPS}


def fit_within(height: int, width: int, max_side: int) -> tuple[int, int]:
    """The largest (h, w) with the same aspect ratio and neither side above ``max_side``."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_map(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an (h, w) map with torch (a no-op at the same size)."""
    if tuple(heatmap.shape) == tuple(size):
        return heatmap
    tensor = torch.from_numpy(np.ascontiguousarray(heatmap, dtype=np.float32))[None, None]
    return F.interpolate(tensor, size=size, mode="bilinear", align_corners=False, antialias=True)[0, 0].numpy()


def composite(rgb: np.ndarray, heatmap: np.ndarray, table: bytes, opacity: float) -> np.ndarray:
    """The view as the browser paints it: (H, W, 3) uint8 image, map through the table, blended."""
    lut = np.frombuffer(table, dtype=np.uint8).reshape(256, 3).astype(np.float32)
    index = np.frombuffer(map_bytes(heatmap), dtype=np.uint8).reshape(np.shape(heatmap))  # the bytes the view gets
    blended = (1.0 - opacity) * rgb.astype(np.float32) + opacity * lut[index]
    return np.clip(np.floor(blended + 0.5), 0, 255).astype(np.uint8)  # halves up, as JavaScript's Math.round


def image_payload(display: np.ndarray) -> dict:
    """The view's image: {data: RGB bytes, height, width}."""
    return {"data": image_bytes(display), "height": int(display.shape[0]), "width": int(display.shape[1])}


def heatmap_payload(display_map: np.ndarray, state: dict, caption: str = "", file: str = "explanation.png") -> dict:
    """A map at display size: {data: uint8 bytes, height, width, state: what it is the map of,
    caption: the same in words, file: the export's file name}."""
    height, width = display_map.shape
    return {
        "data": map_bytes(display_map),
        "height": int(height),
        "width": int(width),
        "state": state,
        "caption": caption,
        "file": file,
    }


def native_payload(native: np.ndarray, state: dict, caption: str, file: str) -> dict:
    """A map at its native resolution (float32 bytes), which the browser upsamples and normalises
    as ``BaseInterpreter.finish_maps`` does (``js/resample.js``)."""
    height, width = native.shape
    data = np.ascontiguousarray(native, dtype="<f4").tobytes()
    return {"data": data, "height": int(height), "width": int(width), "state": state, "caption": caption, "file": file}


def rollout_payload(matrix: np.ndarray, state: dict, grid: dict, caption: str, file: str) -> dict:
    """A (T, T) rollout matrix (float32 bytes) for patch clicks in the browser; ``state`` lacks
    ``target_patch``, ``caption`` has ``{token}`` where the token goes."""
    data = np.ascontiguousarray(matrix, dtype="<f4").tobytes()
    return {
        "data": data,
        "tokens": int(matrix.shape[0]),
        "grid": grid,
        "state": state,
        "caption": caption,
        "file": file,
    }


def scores_payload(scores: dict, state: dict) -> dict:
    """Deletion/insertion AUC and curves as JSON numbers, with the state of the map they score."""
    return {
        "deletion_auc": float(scores["deletion_auc"]),
        "insertion_auc": float(scores["insertion_auc"]),
        "deletion_curve": [float(v) for v in scores["deletion_curve"]],
        "insertion_curve": [float(v) for v in scores["insertion_curve"]],
        "fractions": [float(v) for v in scores["fractions"]],
        "target_class": int(scores["target_class"]),
        "state": state,
    }

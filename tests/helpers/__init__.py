"""Helpers shared by the tests: constructed models and snapshots (``models``), images
(``images``), progress and cancellation (``progress``), forward-pass counting
(``forward_counter``), the registry-driven cases of the reliability batteries
(``reliability_cases``), parameter values around a descriptor (``params``), the ViT families
(``attention_zoo``) and the built distribution (``distribution``)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

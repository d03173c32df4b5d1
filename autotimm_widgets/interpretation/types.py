"""Type aliases of the public signatures: what an image and a target class may be.

* ``ImageInput``: a PIL image (any mode; EXIF orientation applied), an ndarray (H, W),
  (H, W, 3) or (H, W, 4) as uint8 or float in [0, 1], or a preprocessed tensor (3, H, W) /
  (1, 3, H, W) in the model's input space.
* ``ImageBatch``: a list of ``ImageInput`` (sizes may differ) or a batch tensor (B, 3, H, W).
* ``TargetClass``: a class index, ``None`` for the predicted class, or a list of indices (one
  map each).
* ``TargetClasses``: ``None`` (each image's predicted class) or one index (or None) per image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import torch
from PIL import Image

ImageInput: TypeAlias = Image.Image | np.ndarray | torch.Tensor
ImageBatch: TypeAlias = Sequence[ImageInput] | torch.Tensor
TargetClass: TypeAlias = int | Sequence[int] | None
TargetClasses: TypeAlias = Sequence[int | None] | None

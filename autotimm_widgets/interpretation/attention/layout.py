"""Where each token of a Vision Transformer sits: prefix tokens, the patch grid, and image coordinates.

Token index convention (used by ``AttentionFlow(target_patch=...)`` and ``Rollout.map(token)``):

* tokens ``0 .. prefix-1`` are the prefix tokens. Token 0 is the CLS token when the model has
  one (timm, Hugging Face and torchvision ViTs all put it first), followed by any distillation
  token (DeiT distilled) and register tokens. A model without prefix tokens starts with patches.
* patch tokens follow in row-major order: token ``prefix + row * cols + col`` is the patch at
  (row, col) of the ``rows x cols`` grid.

Image coordinates are the USER's image: (x, y) in pixels, x to the right in [0, W), y down in
[0, H). The image is resized whole to the model's input (no crop), so a patch covers the same
fraction of the user's image as of the input, and the mapping is a plain scale. Cell (row, col)
spans x in [col * W / cols, (col + 1) * W / cols), the same footprint as the maps, which are
resized from the grid to (H, W).

Nothing is hard-coded: the prefix comes from the model (``_tokens.num_prefix_tokens``), the grid
from the token count, the input size and the patch size, so non-square inputs on
``dynamic_img_size=True`` models work.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace

from torch import nn

from .._tokens import num_prefix_tokens, patch_size, token_grid


@dataclass(frozen=True)
class TokenLayout:
    """The token layout of one model input, and the user's image it stands for.

    Attributes:
        prefix: tokens before the patches (CLS, distillation, registers).
        grid: (rows, cols) of patch tokens.
        input_size: (h, w) of the model input.
        image_size: (H, W) of the user's image (equal to ``input_size`` for a tensor input).
        class_token: whether token 0 is a CLS token.
        readout: the tokens the classifier reads: ``"cls"`` (the CLS token) or ``"patches"``
            (the mean of the patch tokens, for average-pooled models).
    """

    prefix: int
    grid: tuple[int, int]
    input_size: tuple[int, int]
    image_size: tuple[int, int]
    class_token: bool
    readout: str

    @property
    def num_tokens(self) -> int:
        """Prefix tokens plus patch tokens."""
        return self.prefix + self.grid[0] * self.grid[1]

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]

    def with_image_size(self, image_size: tuple[int, int]) -> TokenLayout:
        return replace(self, image_size=(int(image_size[0]), int(image_size[1])))

    def describe(self) -> str:
        """E.g. ``"197 tokens (1 prefix token: CLS; 14x14 patches)"``."""
        kind = "CLS" + (" + others" if self.prefix > 1 else "") if self.class_token else "no CLS"
        plural = "" if self.prefix == 1 else "s"
        prefix = f"{self.prefix} prefix token{plural}: {kind}; " if self.prefix else "no prefix tokens; "
        return f"{self.num_tokens} tokens ({prefix}{self.grid[0]}x{self.grid[1]} patches)"

    # -- checks --------------------------------------------------------------------------
    def check_token(self, token, name: str = "token") -> int:
        """Return ``token`` as an int, or raise ``TypeError``/``ValueError`` with the valid range."""
        token = as_token_index(token, name)
        if not 0 <= token < self.num_tokens:
            first = " (0 = CLS)" if self.class_token else ""
            raise ValueError(
                f"{name} {token} is out of range: the model has {self.describe()} for a "
                f"{self.input_size[0]}x{self.input_size[1]} input, "
                f"so valid indices are 0..{self.num_tokens - 1}{first}; "
                f"patches are {self.prefix}..{self.num_tokens - 1} in row-major order."
            )
        return token

    # -- token <-> (row, col) ------------------------------------------------------------
    def token_to_cell(self, token: int) -> tuple[int, int]:
        """(row, col) of a patch token; ``ValueError`` for a prefix token, which has no cell."""
        token = self.check_token(token)
        if token < self.prefix:
            raise ValueError(
                f"token {token} is a prefix token (CLS/distillation/register); it has no place on the image."
            )
        return divmod(token - self.prefix, self.grid[1])

    def cell_to_token(self, row: int, col: int) -> int:
        """Token index of the patch at (row, col)."""
        rows, cols = self.grid
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(f"cell ({row}, {col}) is outside the {rows}x{cols} patch grid.")
        return self.prefix + int(row) * cols + int(col)

    # -- (row, col) <-> (x, y) in the user's image ---------------------------------------
    def cell_to_xy(self, row: int, col: int) -> tuple[float, float]:
        """Centre (x, y) of the cell (row, col) in the user's image, in pixels."""
        rows, cols = self.grid
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(f"cell ({row}, {col}) is outside the {rows}x{cols} patch grid.")
        height, width = self.image_size
        return (col + 0.5) * width / cols, (row + 0.5) * height / rows

    def xy_to_cell(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) of the cell under the point (x, y) of the user's image (pixels, 0 <= x <= W)."""
        height, width = self.image_size
        if not (0 <= x <= width and 0 <= y <= height) or math.isnan(x) or math.isnan(y):
            raise ValueError(
                f"point (x={x}, y={y}) is outside the {width}x{height} image (x in [0, {width}], y in [0, {height}])."
            )
        rows, cols = self.grid
        return min(int(y * rows / height), rows - 1), min(int(x * cols / width), cols - 1)

    # -- token <-> (x, y) ----------------------------------------------------------------
    def token_to_xy(self, token: int) -> tuple[float, float]:
        """Centre (x, y) in the user's image of a patch token."""
        return self.cell_to_xy(*self.token_to_cell(token))

    def xy_to_token(self, x: float, y: float) -> int:
        """Token index of the patch under the point (x, y) of the user's image."""
        return self.cell_to_token(*self.xy_to_cell(x, y))


def token_layout(
    model: nn.Module,
    input_size: tuple[int, int],
    image_size: tuple[int, int] | None = None,
    num_tokens: int | None = None,
) -> TokenLayout:
    """Read the token layout of ``model`` for an input of ``input_size`` (h, w).

    With ``num_tokens`` (the sequence length seen in the forward pass) the grid is fitted to
    it; without, it is predicted from the patch size (``ValueError`` if the model does not say).
    """
    input_size = (int(input_size[0]), int(input_size[1]))
    prefix = num_prefix_tokens(model)
    patch = patch_size(model)
    if num_tokens is None:
        if patch is None:
            raise ValueError(f"cannot tell the patch size of {type(model).__name__}; run a forward pass first.")
        grid = _predicted_grid(model, input_size, patch)
        num_tokens = (prefix or 0) + grid[0] * grid[1]
    prefix, rows, cols = token_grid(num_tokens, input_size, prefix, patch)
    class_token = _has_class_token(model, prefix)
    return TokenLayout(
        prefix=prefix,
        grid=(rows, cols),
        input_size=input_size,
        image_size=tuple(image_size) if image_size is not None else input_size,  # type: ignore[arg-type]
        class_token=class_token,
        readout=_readout(model, class_token),
    )


def _predicted_grid(model: nn.Module, input_size: tuple[int, int], patch: tuple[int, int]) -> tuple[int, int]:
    pad = any(getattr(getattr(m, "patch_embed", None), "dynamic_img_pad", False) for m in model.modules())
    rounding = math.ceil if pad else math.floor
    return rounding(input_size[0] / patch[0]), rounding(input_size[1] / patch[1])


def _has_class_token(model: nn.Module, prefix: int) -> bool:
    if prefix == 0:
        return False
    for module in model.modules():
        flag = getattr(module, "has_class_token", None)
        if isinstance(flag, bool):  # timm VisionTransformer
            return flag
        if hasattr(module, "cls_token") and hasattr(module, "patch_embed"):  # timm EVA and relatives
            return module.cls_token is not None
    return True  # Hugging Face and torchvision ViTs put a CLS token first


def _readout(model: nn.Module, class_token: bool) -> str:
    """``"cls"`` when the classifier reads the CLS token, ``"patches"`` when it averages patch tokens."""
    if not class_token:
        return "patches"
    for module in model.modules():
        pool = getattr(module, "global_pool", None)
        if isinstance(pool, str) and hasattr(module, "num_prefix_tokens"):  # timm
            return "cls" if pool in ("token", "") else "patches"
    return "cls"


def as_token_index(value, name: str = "token") -> int:
    """``value`` as an int token index; ``TypeError`` for bools and non-integers (range unchecked)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int token index; got {type(value).__name__} {value!r}.") from None

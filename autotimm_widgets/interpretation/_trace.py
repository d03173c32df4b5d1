"""Tracing a model's layers at an input size: output shapes and layouts, cached per size."""

from __future__ import annotations

import torch
from torch import nn

from ._hooks import trace_outputs
from ._layers import LayerTrace
from ._layout import CHANNELS_FIRST_TYPES, NCHW, layout_of, second_size, two_size_layouts
from ._model import explaining, input_channels, model_dtype


class LayerTracer:
    """Traces ``model`` (no autograd, batch of one, zeros) and remembers each input size's trace."""

    def __init__(self, model: nn.Module, device: torch.device):
        self.model = model
        self.device = device
        self._traces: dict[tuple[int, ...], LayerTrace] = {}

    def trace(self, inputs: torch.Tensor) -> LayerTrace:
        """Shapes and layouts of every module's output for inputs of ``inputs``' size.

        A 4-D layout the metadata does not settle comes from a second trace at another size,
        made once and only when needed (a model that rejects the size gives no layouts)."""
        key = tuple(inputs.shape[1:])
        if key not in self._traces:
            shapes = self._shapes(inputs[:1])
            second: dict[str, dict] = {}

            def two_size() -> dict:
                if "layouts" not in second:
                    try:
                        second["layouts"] = two_size_layouts(shapes, self._shapes(self.probe(second_size(key[-2:]))))
                    except Exception:  # noqa: BLE001 - any refusal of the second size (assertion, shape error)
                        second["layouts"] = {}
                return second["layouts"]

            self._traces[key] = LayerTrace(shapes, lambda name, shape: layout_of(self.model, name, shape, two_size))
        return self._traces[key]

    def layout(self, name: str, shape: tuple[int, ...], inputs: torch.Tensor) -> str | None:
        """Layout of layer ``name`` (4-D output ``shape``) at ``inputs``' size; a module that is
        channels-first by its type needs no trace."""
        if isinstance(self.model.get_submodule(name), CHANNELS_FIRST_TYPES):
            return NCHW
        return self.trace(inputs).layout(name)

    def probe(self, input_size: tuple[int, int]) -> torch.Tensor:
        """A (1, C, h, w) zero input for the model, C its input channels."""
        h, w = (int(v) for v in input_size)
        with torch.inference_mode(False):
            return torch.zeros(1, input_channels(self.model), h, w, device=self.device, dtype=model_dtype(self.model))

    def _shapes(self, inputs: torch.Tensor) -> dict[str, tuple[int, ...]]:
        with explaining(self.model), torch.no_grad(), trace_outputs(self.model) as shapes:
            self.model(inputs)
        return dict(shapes)

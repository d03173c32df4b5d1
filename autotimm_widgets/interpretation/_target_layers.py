"""The layers a CAM explains and their outputs, in (B, C, h, w) whatever the layout.

:class:`TargetLayers` is BaseCAM's half that deals with layers: which ones (by name, module,
a list, or automatically at the input size used), capturing their outputs in one forward pass,
refusing outputs that are not a grid or tokens with the candidates at that size, and turning
channels-last, token or user-reshaped outputs (and their gradients) into (B, C, h, w).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack

import torch
from torch import nn

from ._hooks import capture_output
from ._layers import LayerInfo, LayerSpec, LayerTrace, candidate_layers, detect_target_layer, resolve_layer
from ._layout import NHWC, TOKENS, to_channels_first
from ._model import logits_of
from ._tokens import num_prefix_tokens, patch_size, token_grid, tokens_to_grid
from ._trace import LayerTracer

LayersSpec = LayerSpec | Sequence[str | nn.Module]
ReshapeTransform = Callable[[torch.Tensor], torch.Tensor]


class TargetLayers:
    """Mixin of :class:`BaseCAM` (needs ``model``, ``device`` and ``preprocessor``)."""

    def _setup_layers(self, target_layer: LayersSpec, reshape_transform: ReshapeTransform | None) -> None:
        if reshape_transform is not None and not callable(reshape_transform):
            raise TypeError(f"reshape_transform must be callable or None; got {type(reshape_transform).__name__}.")
        self.reshape_transform = reshape_transform
        self._tracer = LayerTracer(self.model, self.device)
        self._prefix_tokens = num_prefix_tokens(self.model)
        self._patch_size = patch_size(self.model)
        self.set_target_layer(target_layer)

    def set_target_layer(self, layer: LayersSpec) -> None:
        """Use ``layer`` (name, module, a list of them, or ``None`` for automatic) from now on."""
        if layer is None:
            self._layers = None
            return
        specs = list(layer) if isinstance(layer, (list, tuple)) else [layer]
        if not specs:
            raise ValueError("target_layer must name at least one layer (or be None for the automatic choice).")
        self._layers = [resolve_layer(self.model, spec) for spec in specs]

    @property
    def target_layer(self) -> str:
        """Name of the layer explained (the automatic choice at the model's input size if unset);
        several names joined by ", " for several layers."""
        return ", ".join(name for name, _ in self._layers_for(self._probe_input()))

    def candidate_layers(self, input_size: tuple[int, int] | None = None) -> list[LayerInfo]:
        """Layers that make sense to explain, with output shapes (without batch), at ``input_size``
        (h, w) (by default the model's input size): a layer 1x1 there is not a candidate."""
        return candidate_layers(self.model, self._trace(self._probe_input(input_size)))

    def layer_outputs(self, inputs: torch.Tensor, for_gradients: bool = False):
        """The target layers' raw outputs (a list, one per layer) for ``inputs`` and the logits
        (B, C), from one forward pass.

        With ``for_gradients`` the outputs are part of an autograd graph of the layers after the
        first of them (those before run without autograd); otherwise nothing is recorded.
        """
        layers = self._layers_for(inputs)
        with ExitStack() as stack:
            captures = [
                stack.enter_context(capture_output(module, f"layer {name!r}", grad_from_here=for_gradients))
                for name, module in layers
            ]
            stack.enter_context(torch.no_grad())
            logits = logits_of(self.model(inputs))
            outputs = [c.output if for_gradients or c.output is None else c.output.detach() for c in captures]
        for (name, _), output in zip(layers, outputs, strict=True):
            self._check_output(name, output, inputs)
        return outputs, logits

    def layer_output(self, inputs: torch.Tensor, for_gradients: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """The first target layer's raw output and the logits (see :meth:`layer_outputs`)."""
        outputs, logits = self.layer_outputs(inputs, for_gradients)
        return outputs[0], logits

    def _check_output(self, name: str, output: torch.Tensor | None, inputs: torch.Tensor) -> None:
        if output is None:
            raise ValueError(f"layer {name!r} did not run in the model's forward pass; choose another layer.")
        if self.reshape_transform is not None:
            return
        shape = tuple(output.shape)
        if output.ndim not in (3, 4) or shape[0] != inputs.shape[0]:
            raise ValueError(
                f"layer {name!r} outputs shape {shape} for a batch of {inputs.shape[0]}; {type(self).__name__} "
                "needs a spatial output, (B, C, H, W) or (B, H, W, C), or token output (B, N, C). "
                + self._candidates_hint(inputs)
            )
        if output.ndim == 4 and self._layout(name, output, inputs) is None:
            raise ValueError(
                f"cannot tell whether layer {name!r}'s output {shape} is (B, C, H, W) or (B, H, W, C): the model "
                "cannot be traced at a second input size to compare shapes, and its metadata does not say. Pass "
                "reshape_transform=lambda t: t.permute(0, 3, 1, 2) for a channels-last layer (or choose another "
                "layer). " + self._candidates_hint(inputs)
            )

    def _candidates_hint(self, inputs: torch.Tensor) -> str:
        return f"Candidates at this input size: {[c.name for c in self.candidate_layers(inputs.shape[-2:])]}."

    def _layout(self, name: str, output: torch.Tensor, inputs: torch.Tensor) -> str | None:
        if output.ndim == 3:
            return TOKENS
        return self._tracer.layout(name, tuple(output.shape), inputs)

    def _to_spatial(self, name: str, activation: torch.Tensor, gradients: torch.Tensor | None, inputs: torch.Tensor):
        """Float32 (B, C, h, w) activations and (B, K, C, h, w) gradients (or None), whatever the layout."""
        dtype = torch.promote_types(activation.dtype, torch.float32)
        activation = activation.to(dtype)
        gradients = None if gradients is None else gradients.to(dtype)
        if self.reshape_transform is not None:
            activation, gradients = self._reshaped(name, activation, gradients)
        elif activation.ndim == 3:
            prefix, gh, gw = token_grid(
                activation.shape[1], tuple(inputs.shape[-2:]), self._prefix_tokens, self._patch_size
            )
            activation = tokens_to_grid(activation, prefix, (gh, gw))
            gradients = None if gradients is None else tokens_to_grid(gradients, prefix, (gh, gw))
        elif self._layout(name, activation, inputs) == NHWC:
            activation = to_channels_first(activation, NHWC)
            gradients = None if gradients is None else to_channels_first(gradients, NHWC)
        if activation.shape[-2] * activation.shape[-1] == 1:
            warnings.warn(
                f"layer {name!r} is 1x1 at this {inputs.shape[-2]}x{inputs.shape[-1]} input, so its map is "
                "constant (all zero once normalised). Use a larger input or an earlier layer; "
                f"candidate_layers({tuple(inputs.shape[-2:])}) lists those with a grid.",
                stacklevel=4,
            )
        return activation, gradients

    def _reshaped(self, name, activation, gradients):
        transformed = self.reshape_transform(activation)
        if (
            not isinstance(transformed, torch.Tensor)
            or transformed.ndim != 4
            or transformed.shape[0] != activation.shape[0]
        ):
            got = tuple(transformed.shape) if isinstance(transformed, torch.Tensor) else type(transformed).__name__
            raise ValueError(f"reshape_transform must map layer {name!r}'s output to (B, C, h, w); it returned {got}.")
        if gradients is not None:
            b, k = gradients.shape[:2]
            gradients = self.reshape_transform(gradients.flatten(0, 1)).unflatten(0, (b, k))
        return transformed, gradients

    def _layers_for(self, inputs: torch.Tensor) -> list[tuple[str, nn.Module]]:
        if self._layers is not None:
            return self._layers
        trace = self._trace(inputs[:1])
        try:
            name = detect_target_layer(self.model, trace)
        except ValueError as error:
            (h, w), (mh, mw) = inputs.shape[-2:], self.preprocessor.config.input_size
            raise ValueError(
                f"{error} (Traced at an input of {h}x{w} pixels; the model's input size is {mh}x{mw}.)"
            ) from None
        return [resolve_layer(self.model, name)]

    def _trace(self, inputs: torch.Tensor) -> LayerTrace:
        return self._tracer.trace(inputs)

    def _probe_input(self, input_size: tuple[int, int] | None = None) -> torch.Tensor:
        return self._tracer.probe(input_size or self.preprocessor.config.input_size)

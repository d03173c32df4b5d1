"""AblationCAM (Desai and Ramaswamy, 2020): channel weights from the score drop when a channel is ablated."""

from __future__ import annotations

import torch
from torch import nn

from ._gradient_free import PerturbationCAM
from ._layout import NCHW
from ._model import logits_of
from .cam import CAM_OPTIONS
from .registry import register_method

ABLATION_OFFSET = 1e7  # pytorch-grad-cam's ABLATION_VALUE


@register_method("ablationcam", label="AblationCAM", takes_layer=True, shared_classes=True, params=CAM_OPTIONS)
class AblationCAM(PerturbationCAM):
    """Gradient-free: for each channel c, the layer's output with channel c set to the baseline
    (0 where the output's minimum is 0, as after a ReLU, else that minimum minus 1e7) runs through
    the rest of the model; ``w_c = (y - y_c) / y``, map ``= relu(sum_c w_c A_c)``, as
    pytorch-grad-cam's ``AblationCAM`` (all channels, its ``ratio_channels_to_ablate=1``).

    Only the layers after the target run per ablation, ``batch_size`` ablations at a time, without
    autograd: the layer's output is computed once and the ablated copies replace it (for a model
    whose later layers cannot take a batch the earlier ones did not make, the input is repeated).
    pytorch-grad-cam lowers the non-ReLU baseline by another 1e7 for each row of its batch; here
    every channel gets the same baseline. Arguments as :class:`BaseCAM`, plus ``batch_size``."""

    def layer_weights(self, inputs, layer, activation, spatial, targets, logits) -> torch.Tensor:
        name, module = layer
        original = logits.float().gather(1, targets)  # (B, K)
        axis = self._channel_axis(name, activation, inputs)
        ablated = torch.stack(
            [self.ablated_scores(module, inputs[b], activation[b], axis, targets[b]) for b in range(len(inputs))]
        )  # (B, C, K)
        return ((original[:, None, :] - ablated) / original[:, None, :]).transpose(1, 2)

    def _channel_axis(self, name: str, activation: torch.Tensor, inputs: torch.Tensor) -> int:
        """The channel axis of one image's output (no batch axis)."""
        if activation.ndim == 3:
            return -1
        if self.reshape_transform is not None:
            return 0
        return 0 if self._layout(name, activation, inputs) == NCHW else -1

    @torch.no_grad()
    def ablated_scores(self, module: nn.Module, image, activation, axis: int, classes) -> torch.Tensor:
        """(C, K) class scores of one image with each channel of ``activation`` ablated in turn."""
        channels = activation.shape[axis]
        low = activation.min()
        baseline = torch.zeros((), dtype=activation.dtype) if low == 0 else low - ABLATION_OFFSET
        scores = []
        for start in range(0, channels, self.batch_size):
            index = torch.arange(start, min(channels, start + self.batch_size), device=activation.device)
            batch = activation.expand(len(index), *activation.shape).clone()
            view = batch.movedim(axis if axis < 0 else axis + 1, 1)  # channel axis to 1, a view of batch
            view[torch.arange(len(index)), index] = baseline.to(batch)
            scores.append(self._scores_with(module, image, batch)[:, classes])
        return torch.cat(scores)

    def _scores_with(self, module: nn.Module, image: torch.Tensor, replacement: torch.Tensor) -> torch.Tensor:
        """Logits (n, C) of the model with ``module``'s output replaced by ``replacement`` (n, ...)."""

        def replace(_module, _inputs, output):
            return (replacement, *output[1:]) if isinstance(output, (tuple, list)) else replacement

        handle = module.register_forward_hook(replace)
        try:
            try:
                logits = logits_of(self.model(image[None])).float()
                if logits.shape[0] == len(replacement):
                    return logits
            except RuntimeError:  # later layers mix in tensors of the one-image batch: repeat the input
                pass
            return logits_of(self.model(image[None].expand(len(replacement), *image.shape))).float()
        finally:
            handle.remove()

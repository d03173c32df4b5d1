"""A constructed model whose answer is known, and what an explainer must leave as it found."""

from __future__ import annotations

import torch
from torch import nn


class BrightSpotNet(nn.Module):
    """Class 0 responds to bright pixels, class 1 to dark ones (ImageNet-normalised input).

    ``features`` is a stride-4 conv: channel 0 is the mean brightness of a 5x5 window, channel
    1 its darkness. The head averages each channel, so class 0's GradCAM is the bright area.
    """

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(3, 2, kernel_size=5, stride=4, padding=2)
        with torch.no_grad():
            conv.weight.zero_()
            conv.weight[0] = 1.0 / 75
            conv.weight[1] = -1.0 / 75
            conv.bias.copy_(torch.tensor([0.0, 0.0]))
        self.features = nn.Sequential(conv, nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(2, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(2))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


def hook_count(model: nn.Module) -> int:
    """All forward, pre-forward and backward hooks registered on any submodule, and torch's
    process-wide module hooks (the progress checkpoint is one while a call runs)."""
    from torch.nn.modules import module as torch_module

    total = sum(
        len(getattr(torch_module, name, {}))
        for name in ("_global_forward_pre_hooks", "_global_forward_hooks", "_global_backward_hooks")
    )
    for module in model.modules():
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            total += len(getattr(module, attr, {}))
    return total


class ModelSnapshot:
    """Everything about a model that an explainer must leave as it found it."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.modes = [m.training for m in model.modules()]
        self.flags = [p.requires_grad for p in model.parameters()]
        self.grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
        self.hooks = hook_count(model)

    def assert_unchanged(self) -> None:
        model = self.model
        state = model.state_dict()
        assert state.keys() == self.state.keys()
        for key, value in self.state.items():
            assert torch.equal(state[key], value), f"{key} changed"
        assert [m.training for m in model.modules()] == self.modes, "train/eval modes changed"
        assert [p.requires_grad for p in model.parameters()] == self.flags, "requires_grad flags changed"
        for p, g in zip(model.parameters(), self.grads):
            assert (p.grad is None) == (g is None), ".grad appeared or vanished"
            if g is not None:
                assert torch.equal(p.grad, g)
        assert hook_count(model) == self.hooks, "a hook was left behind"

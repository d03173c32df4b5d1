"""AttentionFlow: maximum flow on constructed graphs, agreement with rollout where it must agree, errors."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import timm
import torch

from autotimm_widgets.interpretation import AttentionFlow, AttentionRollout
from autotimm_widgets.interpretation.attention.maxflow import max_flow_to_tokens

from helpers.attention_zoo import timm_vit
from helpers.images import random_image
from helpers.models import ModelSnapshot


def stochastic(rng, count: int, tokens: int) -> np.ndarray:
    layers = rng.random((count, tokens, tokens)) ** 3
    return layers / layers.sum(-1, keepdims=True)


def reference_max_flow(layers: np.ndarray, source: int, sink: int) -> float:
    """Plain Edmonds-Karp on the layered graph with float capacities (node (l, i) = l * T + i)."""
    count, tokens, _ = layers.shape
    size = (count + 1) * tokens
    capacity = np.zeros((size, size))
    for layer in range(1, count + 1):
        capacity[layer * tokens : (layer + 1) * tokens, (layer - 1) * tokens : layer * tokens] = layers[layer - 1]
    s, t, total = count * tokens + source, sink, 0.0
    while True:
        parent = {s: None}
        queue = deque([s])
        while queue and t not in parent:
            u = queue.popleft()
            for v in np.flatnonzero(capacity[u] > 1e-12):
                if v not in parent:
                    parent[v] = u
                    queue.append(v)
        if t not in parent:
            return total
        path, v = [], t
        while parent[v] is not None:
            path.append((parent[v], v))
            v = parent[v]
        push = min(capacity[u, v] for u, v in path)
        for u, v in path:
            capacity[u, v] -= push
            capacity[v, u] += push
        total += push


def one_hot(tokens: int, index: int) -> np.ndarray:
    weights = np.zeros(tokens)
    weights[index] = 1.0
    return weights


def test_one_layer_flow_is_the_attention():
    layers = stochastic(np.random.default_rng(0), 1, 6)
    flows = max_flow_to_tokens(layers, one_hot(6, 2), np.arange(6))
    np.testing.assert_allclose(flows, layers[0, 2], atol=1e-5)


def test_two_layer_flow_has_a_closed_form():
    """Paths s -> k -> j share no edge for different k, so the max flow is sum_k min(A2[s,k], A1[k,j])."""
    layers = stochastic(np.random.default_rng(1), 2, 7)
    for source in (0, 3):
        flows = max_flow_to_tokens(layers, one_hot(7, source), np.arange(7))
        expected = np.minimum(layers[1][source][:, None], layers[0]).sum(axis=0)
        np.testing.assert_allclose(flows, expected, atol=1e-5)


def test_deeper_flow_matches_a_plain_edmonds_karp():
    layers = stochastic(np.random.default_rng(2), 3, 5)
    flows = max_flow_to_tokens(layers, one_hot(5, 1), np.arange(5))
    expected = [reference_max_flow(layers, 1, j) for j in range(5)]
    np.testing.assert_allclose(flows, expected, atol=1e-5)
    rollout = (layers[2] @ layers[1] @ layers[0])[1]
    assert not np.allclose(flows, rollout, atol=1e-3), "max flow is not the rollout"


def test_bottleneck_by_construction():
    """Token 0 can only reach token 2 through token 1, whose edge carries 0.25: the flow is 0.25."""
    top = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    bottom = np.array([[1.0, 0.0, 0.0], [0.0, 0.75, 0.25], [0.0, 0.0, 1.0]])
    flows = max_flow_to_tokens(np.stack([bottom, top]), one_hot(3, 0), np.arange(3))
    np.testing.assert_allclose(flows, [0.5, 0.5, 0.25], atol=1e-6)


def test_mean_source_matches_a_super_source():
    layers = stochastic(np.random.default_rng(3), 2, 4)
    weights = np.array([0.0, 0.5, 0.25, 0.25])
    flows = max_flow_to_tokens(layers, weights, np.arange(4))
    # the super-source is an extra top layer whose token 0 spreads one unit with the given weights
    top = np.zeros((4, 4))
    top[0] = weights
    stacked = np.concatenate([layers, top[None]])
    expected = [reference_max_flow(stacked, 0, j) for j in range(4)]
    np.testing.assert_allclose(flows, expected, atol=1e-5)


def test_maxflow_equals_rollout_on_a_one_layer_model():
    model = timm.create_model("test_vit", pretrained=False, depth=1, num_classes=3).eval()
    image = random_image(64, 64)
    exact = AttentionFlow(model, method="maxflow", use_cuda=False).flow(image)
    fast = AttentionFlow(model, use_cuda=False).flow(image)
    for token in (0, 5, 100):
        torch.testing.assert_close(
            exact.grid(token, discard_cls_token=False), fast.grid(token, discard_cls_token=False), atol=2e-5, rtol=0
        )


def test_maxflow_on_a_deep_model():
    model = timm_vit()
    snapshot = ModelSnapshot(model)
    flow = AttentionFlow(model, target_patch=45, method="maxflow", use_cuda=False)
    images = [random_image(40, 40, seed=s) for s in range(2)]
    batch = flow.explain_batch(images)
    for image, heatmap in zip(images, batch, strict=True):
        assert heatmap.max() == 1.0 and heatmap.min() == 0.0
        np.testing.assert_allclose(heatmap, flow.explain(image), atol=1e-6)
    raw = flow.flow(images[0]).grid(45, discard_cls_token=False)
    assert raw.min() >= 0 and raw.max() <= 1 + 1e-6
    snapshot.assert_unchanged()


def test_fast_flow_is_the_rollout_row():
    model = timm_vit()
    image = random_image(50, 70)
    rollout = AttentionRollout(model, discard_ratio=0.3, head_fusion="min", use_cuda=False).rollout(image)
    flow = AttentionFlow(model, target_patch=33, discard_ratio=0.3, head_fusion="min", use_cuda=False)
    torch.testing.assert_close(flow.flow(image).matrix, rollout.matrix)
    np.testing.assert_allclose(flow.explain(image), rollout.map(33), atol=1e-6)


def test_target_patch_errors():
    model = timm_vit()  # 160 px: 1 + 10 x 10 = 101 tokens
    with pytest.raises(ValueError, match=r"target_patch 101 is out of range.*valid indices are 0\.\.100"):
        AttentionFlow(model, target_patch=101)
    with pytest.raises(ValueError, match="non-negative"):
        AttentionFlow(model, target_patch=-1)
    with pytest.raises(TypeError, match="target_patch must be an int"):
        AttentionFlow(model, target_patch=2.5)
    with pytest.raises(ValueError, match="method must be one of"):
        AttentionFlow(model, method="exact")
    # valid at the model's size, out of range for a smaller (dynamic-size) input: checked per call
    flow = AttentionFlow(model, target_patch=50, use_cuda=False)
    snapshot = ModelSnapshot(model)
    with pytest.raises(ValueError, match=r"valid indices are 0\.\.16"):
        flow.explain(torch.randn(3, 64, 64))
    snapshot.assert_unchanged()

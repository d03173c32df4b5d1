"""Attention flow (Abnar & Zuidema 2020): maximum flow through the layered attention graph.

The graph has L + 1 layers of T nodes. Node (l, i) is token i after layer l (l = 0 is the
input). Attention layer l (1-based) adds an edge (l, i) -> (l - 1, j) with capacity
``A_l[i, j]``, its residual-augmented, row-normalised attention. The flow of an output token s
to an input token j is the maximum flow from (L, s) to (0, j). A super-source feeds the output
tokens with given weights, so a map can also start from the mean of several tokens.

SciPy's ``maximum_flow`` needs integer capacities: they are ``round(A * SCALE)`` with
``SCALE = 10**6``, so flows are exact to about 1e-6 of a token's total attention.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

SCALE = 10**6


def flow_graph(layers: np.ndarray, source_weights: np.ndarray) -> csr_matrix:
    """CSR int32 capacities of the layered graph for ``layers`` (L, T, T); node 0 is the super-source.

    Node (l, i) has index ``1 + l * T + i``. Only the output tokens with a positive source
    weight get edges in the last layer (the others cannot carry flow).
    """
    count, tokens, _ = layers.shape
    capacity = np.rint(np.clip(layers, 0.0, None) * SCALE).astype(np.int64)
    rows, cols, data = [], [], []
    sources = np.flatnonzero(source_weights > 0)
    rows.append(np.zeros(len(sources), dtype=np.int64))
    cols.append(1 + count * tokens + sources)
    data.append(np.rint(source_weights[sources] * SCALE).astype(np.int64))
    for layer in range(1, count + 1):
        block = capacity[layer - 1]
        if layer == count:
            block = np.zeros_like(block)
            block[sources] = capacity[layer - 1][sources]
        i, j = np.nonzero(block)
        rows.append(1 + layer * tokens + i)
        cols.append(1 + (layer - 1) * tokens + j)
        data.append(block[i, j])
    size = 1 + (count + 1) * tokens
    data_all = np.concatenate(data)
    if data_all.size and data_all.max() > np.iinfo(np.int32).max:
        raise ValueError("attention capacities overflow int32; are the attention rows normalised?")
    return csr_matrix(
        (data_all.astype(np.int32), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size), dtype=np.int32
    )


def max_flow_to_tokens(layers: np.ndarray, source_weights: np.ndarray, sinks: np.ndarray) -> np.ndarray:
    """Maximum flow from the weighted output tokens to each input token in ``sinks``.

    Args:
        layers: (L, T, T) non-negative row-normalised attention, first layer first.
        source_weights: (T,) weights of the output tokens (one 1.0 for a single token).
        sinks: input token indices.

    Returns:
        float64 (len(sinks),) flows in [0, 1] (for weights summing to 1).
    """
    graph = flow_graph(layers, source_weights)
    return np.array([maximum_flow(graph, 0, 1 + int(j)).flow_value / SCALE for j in sinks], dtype=np.float64)

"""Compiled loops of the attention network's layer 1 on one-hot positions, and of the gradient of its
scores (numba, cached on disk).

Each is one pass over an (n, T, T) or (n, T, k) array where numpy would make several passes with
temporaries, or use slow fancy indexing. Token i of sequence a sits at position slot
offset[a] + i; the causal mask keeps keys j <= i.
"""

from __future__ import annotations

import math

import numba


@numba.njit(cache=True)
def causal_softmax(S, U, offset):  # pragma: no cover - compiled
    """In place: S[a, i, j] += U[a, i, offset[a] + j] (the position half of the scores), then the
    softmax over the keys j <= i of each row, zero above the diagonal."""
    n, T, _ = S.shape
    for a in range(n):
        o = offset[a]
        for i in range(T):
            top = -math.inf
            for j in range(i + 1):
                S[a, i, j] += U[a, i, o + j]
                top = max(top, S[a, i, j])
            total = 0.0
            for j in range(i + 1):
                S[a, i, j] = math.exp(S[a, i, j] - top)
                total += S[a, i, j]
            for j in range(i + 1):
                S[a, i, j] /= total
            for j in range(i + 1, T):
                S[a, i, j] = 0.0


@numba.njit(cache=True)
def softmax_backward(A, dA):  # pragma: no cover - compiled
    """In place: dA ← A ⊙ (dA − Σ_j A dA), the gradient of the scores of a row softmax A."""
    n, T, K = A.shape
    for a in range(n):
        for i in range(T):
            dot = 0.0
            for j in range(K):
                dot += A[a, i, j] * dA[a, i, j]
            for j in range(K):
                dA[a, i, j] = A[a, i, j] * (dA[a, i, j] - dot)


@numba.njit(cache=True)
def scatter_positions(out, A, offset):  # pragma: no cover - compiled
    """out[a, i, offset[a] + j] = A[a, i, j]: the position half of A X (``out`` zero there)."""
    n, T, K = A.shape
    for a in range(n):
        o = offset[a]
        for i in range(T):
            for j in range(K):
                out[a, i, o + j] = A[a, i, j]


@numba.njit(cache=True)
def add_position_rows(out, offset, W):  # pragma: no cover - compiled
    """out[offset[a] + i] += W[a, i]: the position rows of Σ Xᵀ W."""
    n, T, k = W.shape
    for a in range(n):
        o = offset[a]
        for i in range(T):
            for c in range(k):
                out[o + i, c] += W[a, i, c]


@numba.njit(cache=True)
def add_gathered_positions(out, V, offset):  # pragma: no cover - compiled
    """out[a, j, c] += V[a, c, offset[a] + j]: the position half of X vᵀ."""
    n, T, k = out.shape
    for a in range(n):
        o = offset[a]
        for j in range(T):
            for c in range(k):
                out[a, j, c] += V[a, c, o + j]


@numba.njit(cache=True)
def add_position_blocks(out, dS, offset):  # pragma: no cover - compiled
    """out[offset[a] + i, offset[a] + j] += dS[a, i, j]: the position–position block of Σ Xᵀ dS X."""
    n, T, _ = dS.shape
    for a in range(n):
        o = offset[a]
        for i in range(T):
            for j in range(T):
                out[o + i, o + j] += dS[a, i, j]


@numba.njit(cache=True)
def add_position_weights(out, M, offset):  # pragma: no cover - compiled
    """out[a, i, c] += M[offset[a] + i, c]: the position half of X M, read as rows of M."""
    n, T, k = out.shape
    for a in range(n):
        o = offset[a]
        for i in range(T):
            for c in range(k):
                out[a, i, c] += M[o + i, c]


@numba.njit(cache=True, error_model="numpy")
def score_gradient(A, a2, w, ds, q, last, dA):  # pragma: no cover - compiled
    """dA ← the gradient of layer 1's scores in one pass over (n, T, T): first the gradient of its
    attention A, a2_i w_j + ds_i q_j with ``last`` added on the target's (last) row, then through
    the row softmax, dA ← A ⊙ (dA − Σ_j A dA); each value rounded as the separate passes of
    numpy products and :func:`softmax_backward` round it."""
    n, T, K = A.shape
    for a in range(n):
        for i in range(T):
            for j in range(K):
                dA[a, i, j] = a2[a, i] * w[a, j] + ds[a, i] * q[a, j]
            if i == T - 1:
                for j in range(K):
                    dA[a, i, j] = dA[a, i, j] + last[a, j]
            dot = 0.0
            for j in range(K):
                dot += A[a, i, j] * dA[a, i, j]
            for j in range(K):
                dA[a, i, j] = A[a, i, j] * (dA[a, i, j] - dot)

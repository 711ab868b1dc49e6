"""Compiled layers of linear self-attention (numba, cached on disk): one layer's forward and
backward pass over a batch of token matrices, as :mod:`phenom.nets.lsa` defines them.

The matrices are tiny (d+1 = 6 rows, N+1 = 21 columns at the figures' size) and numpy's ``@``
on a stack of them makes one BLAS call per sequence and per product: the layer was all call
overhead. Here the arrays hold the batch last, (rows, columns, sequence), so that every loop
runs innermost over the sequences, the same operation on contiguous numbers, which the compiler
vectorises. Each entry of a product is a chain of fused multiply-adds over k = 0, 1, … from 0
(:mod:`phenom.nets._fma`), as OpenBLAS's kernels compute it; each quotient by N, each sum and
each sum over the batch (in sequence order, as numpy's ``sum(axis=0)``) is taken where numpy's
expression takes it. So on a machine whose BLAS chains FMAs these layers give numpy's stacked
products bit for bit (``benchmarks/bench_work.py`` checks it), about ten times as fast.
"""

from __future__ import annotations

import numba
import numpy as np

from phenom.nets._fma import fma

__all__ = ["layer_forward", "layer_backward"]


@numba.njit(cache=True, error_model="numpy")
def _mat_bat(M, X, out):  # pragma: no cover - compiled
    """out[:, :, b] = M X[:, :, b] for a matrix M (any strides: a transpose is a view)."""
    m, n, B = out.shape
    for i in range(m):
        for j in range(n):
            for b in range(B):
                out[i, j, b] = 0.0
            for k in range(M.shape[1]):
                w = M[i, k]
                for b in range(B):
                    out[i, j, b] = fma(w, X[k, j, b], out[i, j, b])


@numba.njit(cache=True, error_model="numpy")
def _bat_mat(X, M, out):  # pragma: no cover - compiled
    """out[:, :, b] = X[:, :, b] M for a matrix M (any strides: a transpose is a view)."""
    m, n, B = out.shape
    for i in range(m):
        for j in range(n):
            for b in range(B):
                out[i, j, b] = 0.0
            for k in range(M.shape[0]):
                w = M[k, j]
                for b in range(B):
                    out[i, j, b] = fma(X[i, k, b], w, out[i, j, b])


@numba.njit(cache=True, error_model="numpy")
def _bat_bat(X, Y, out):  # pragma: no cover - compiled
    """out[:, :, b] = X[:, :, b] Y[:, :, b] for every sequence b."""
    m, n, B = out.shape
    for i in range(m):
        for j in range(n):
            for b in range(B):
                out[i, j, b] = 0.0
            for k in range(X.shape[1]):
                for b in range(B):
                    out[i, j, b] = fma(X[i, k, b], Y[k, j, b], out[i, j, b])


@numba.njit(cache=True, error_model="numpy")
def layer_forward(Z, P, Q, N, A, C, Z_next, last):  # pragma: no cover - compiled
    """One layer for every sequence b of Z (m, N+1, B): A = Z_ctx Z_ctxᵀ (the first N columns),
    C = (P A) Q and Z_next = Z + (C Z) / N, written into A, C (m, m, B) and Z_next. With
    ``last``, only the prediction's entry of Z_next (its last row and column) is computed."""
    m, T, B = Z.shape
    PA = np.empty((m, m, B))
    CZ = np.empty(B)
    for i in range(m):
        for j in range(i + 1):
            for b in range(B):
                A[i, j, b] = 0.0
            for k in range(N):
                for b in range(B):
                    A[i, j, b] = fma(Z[i, k, b], Z[j, k, b], A[i, j, b])
            for b in range(B):
                A[j, i, b] = A[i, j, b]
    _mat_bat(P, A, PA)
    _bat_mat(PA, Q, C)
    for i in range(m - 1 if last else 0, m):
        for t in range(T - 1 if last else 0, T):
            for b in range(B):
                CZ[b] = 0.0
            for k in range(m):
                for b in range(B):
                    CZ[b] = fma(C[i, k, b], Z[k, t, b], CZ[b])
            for b in range(B):
                Z_next[i, t, b] = Z[i, t, b] + CZ[b] / N


@numba.njit(cache=True, error_model="numpy")
def _batch_sum(X, out):  # pragma: no cover - compiled
    """out[i, j] = X[i, j, 0] + X[i, j, 1] + … in sequence order."""
    m, n, B = X.shape
    for i in range(m):
        for j in range(n):
            s = X[i, j, 0]
            for b in range(1, B):
                s = s + X[i, j, b]
            out[i, j] = s


@numba.njit(cache=True, error_model="numpy")
def layer_backward(G, Z, A, C, P, Q, N, dP, dQ, G_prev, first):  # pragma: no cover - compiled
    """One layer's backward pass, batch last, from G = ∂loss/∂Z_next (m, N+1, B):
    dC = (G Zᵀ) / N; dP = Σ_b (dC Qᵀ) A and dQ = Σ_b (A Pᵀ) dC, written into dP, dQ (m, m);
    dA = (Pᵀ dC) Qᵀ; G_prev = G + (Cᵀ G) / N, then its first N columns += (dA + dAᵀ) Z_ctx.
    With ``first`` (the input layer: the tokens are data) G_prev and dA are not computed."""
    m, T, B = Z.shape
    dC = np.empty((m, m, B))
    left = np.empty((m, m, B))
    out = np.empty((m, m, B))
    dA = np.empty((m, m, B))
    acc = np.empty(B)
    for i in range(m):
        for j in range(m):
            for b in range(B):
                acc[b] = 0.0
            for k in range(T):
                for b in range(B):
                    acc[b] = fma(G[i, k, b], Z[j, k, b], acc[b])
            for b in range(B):
                dC[i, j, b] = acc[b] / N
    # dP = Σ_b (dC Qᵀ) A
    _bat_mat(dC, Q.T, left)
    _bat_bat(left, A, out)
    _batch_sum(out, dP)
    # dQ = Σ_b (A Pᵀ) dC
    _bat_mat(A, P.T, left)
    _bat_bat(left, dC, out)
    _batch_sum(out, dQ)
    if first:
        return
    # dA = (Pᵀ dC) Qᵀ
    _mat_bat(P.T, dC, left)
    _bat_mat(left, Q.T, dA)
    # G_prev = G + (Cᵀ G) / N; then G_prev[:, :N] += (dA + dAᵀ) Z_ctx
    for i in range(m):
        for t in range(T):
            for b in range(B):
                acc[b] = 0.0
            for k in range(m):
                for b in range(B):
                    acc[b] = fma(C[k, i, b], G[k, t, b], acc[b])
            for b in range(B):
                G_prev[i, t, b] = G[i, t, b] + acc[b] / N
        for t in range(N):
            for b in range(B):
                acc[b] = 0.0
            for k in range(m):
                for b in range(B):
                    acc[b] = fma(dA[i, k, b] + dA[k, i, b], Z[k, t, b], acc[b])
            for b in range(B):
                G_prev[i, t, b] = G_prev[i, t, b] + acc[b]

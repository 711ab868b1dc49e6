"""The two-layer attention network of the in-context classification task (Reddy 2024), in numpy.

Tokens x_i ∈ R^d (one-hot position, then content) pass through two single-head attention layers
with a residual stream, causal mask including self, no 1/sqrt(d) scaling and no LayerNorm:

    x_i ← x_i + Σ_{j<=i} softmax_j((K x_j)·(Q x_i)) V x_j,

then a classifier reads the *target* (last) token: a linear read-out (L × d) by default, or the
reference's three ReLU layers of width 128 (a scalar bias each, no residual) and a read-out.
Only the target's output is needed from layer 2, so layer 2 computes only the target's row, and
(K x_j)·(Q x_t) is evaluated as x_j · (KᵀQ x_t) and Σ_j a_j V x_j as V(Σ_j a_j x_j): O(T d)
per sequence instead of O(T d²). Forward and backward are written by hand; the float64 backward
is checked against finite differences, and training runs in float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _rng, _validate

__all__ = ["AttentionNetwork", "CLASSIFIERS"]

CLASSIFIERS = ("linear", "mlp")
HIDDEN = 128
ATTENTION = ("Q1", "K1", "V1", "Q2", "K2", "V2")


def _mm(X: np.ndarray, M: np.ndarray) -> np.ndarray:
    """X @ M for X of shape (..., a), as one 2-D matrix product (much faster than stacked ones)."""
    return (X.reshape(-1, X.shape[-1]) @ M).reshape(*X.shape[:-1], M.shape[-1])


def _gram(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Σ over all leading indices of A[..., i] B[..., j], as one 2-D matrix product."""
    return A.reshape(-1, A.shape[-1]).T @ B.reshape(-1, B.shape[-1])


def _softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    s = s - np.max(s, axis=axis, keepdims=True)
    e = np.exp(s)
    return e / np.sum(e, axis=axis, keepdims=True)


@dataclass
class AttentionNetwork:
    """Parameters (a dict of arrays) and the shape facts needed to run them."""

    weights: dict[str, np.ndarray]
    classifier: str = "linear"
    seed: int | None = None
    config: dict = field(default_factory=dict)

    @classmethod
    def init(cls, task, classifier: str = "linear", seed: int = 0, dtype=np.float32) -> "AttentionNetwork":
        """The reference initialisation: attention N(0, 1/D); ReLU weights N(0, 2/128), biases
        N(0, 1/128); read-out N(0, 1/h) with h its input width."""
        if classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {classifier!r}")
        d, D, L = task.d_model, task.D, task.L
        rng = _rng.stream(seed, "init")
        p = {name: rng.standard_normal((d, d)) / np.sqrt(D) for name in ATTENTION}
        if classifier == "mlp":
            widths = [d, HIDDEN, HIDDEN, HIDDEN]
            for k in range(3):
                p[f"W{k + 1}"] = rng.standard_normal((widths[k + 1], widths[k])) * np.sqrt(2 / HIDDEN)
                p[f"b{k + 1}"] = rng.standard_normal(()) / np.sqrt(HIDDEN)
            p["W"] = rng.standard_normal((L, HIDDEN)) / np.sqrt(HIDDEN)
        else:
            p["W"] = rng.standard_normal((L, d)) / np.sqrt(HIDDEN)
        params = {k: np.asarray(v, dtype=dtype) for k, v in p.items()}
        config = {"classifier": classifier, "d_model": d, "L": L, "dtype": np.dtype(dtype).name, "init_seed": seed}
        return cls(params, classifier, seed, config)

    @property
    def dtype(self):
        return self.weights["Q1"].dtype

    def params(self) -> dict[str, np.ndarray]:
        """The trainable arrays (updated in place by the optimisers)."""
        return self.weights

    @property
    def sample_options(self) -> dict:
        """Batches are sampled directly in the network's precision."""
        return {"dtype": self.dtype}

    def check_task(self, task) -> None:
        """A ValueError unless ``task`` has this network's token width and number of labels."""
        if (task.d_model, task.L) != (self.config["d_model"], self.config["L"]):
            raise ValueError(
                f"task has d_model = {task.d_model}, L = {task.L}; the network was built for "
                f"d_model = {self.config['d_model']}, L = {self.config['L']}"
            )

    def astype(self, dtype) -> "AttentionNetwork":
        """A copy with every parameter in ``dtype`` (float64 for gradient checks)."""
        params = {k: np.asarray(v, dtype=dtype).copy() for k, v in self.weights.items()}
        return AttentionNetwork(params, self.classifier, self.seed, {**self.config, "dtype": np.dtype(dtype).name})

    # -- forward ------------------------------------------------------------------------------

    def forward(self, X: np.ndarray, ablate: str | None = None):
        """Logits (n, L) for tokens X (n, T, d), and the cache for :meth:`backward`.

        ``ablate`` = ``"layer1"`` or ``"layer2"`` removes that head's contribution to the
        residual stream.
        """
        if ablate not in (None, "layer1", "layer2"):
            raise ValueError(f"ablate must be None, 'layer1' or 'layer2', got {ablate!r}")
        p = self.weights
        X = X.astype(self.dtype, copy=False)
        n, T, d = X.shape
        # Layer 1, every token: S_ij = x_iᵀ Q1ᵀK1 x_j over j <= i.
        G1 = p["Q1"].T @ p["K1"]
        S = _mm(X, G1) @ np.swapaxes(X, 1, 2)
        S = np.where(np.tril(np.ones((T, T), dtype=bool)), S, -np.inf)
        A1 = _softmax(S)
        Y = A1 @ X
        X1 = X if ablate == "layer1" else X + _mm(Y, p["V1"].T)
        # Layer 2, the target (last) token only: s_j = x_j · (Q2ᵀK2)ᵀ... = x_tᵀ Q2ᵀK2 x_j.
        x_t = X1[:, -1]
        G2 = p["Q2"].T @ p["K2"]
        r = x_t @ G2
        a2 = _softmax((X1 @ r[:, :, None])[..., 0])
        m = (a2[:, None, :] @ X1)[:, 0]
        h = x_t + (0 if ablate == "layer2" else m @ p["V2"].T)
        cache = {"X": X, "G1": G1, "A1": A1, "Y": Y, "X1": X1, "G2": G2, "r": r, "a2": a2, "m": m, "h": h,
                 "ablate": ablate}
        z = h
        if self.classifier == "mlp":
            for k in (1, 2, 3):
                pre = z @ p[f"W{k}"].T + p[f"b{k}"]
                cache[f"z{k - 1}"], cache[f"pre{k}"] = z, pre
                z = np.maximum(pre, 0)
        cache["z"] = z
        return z @ p["W"].T, cache

    # -- backward -----------------------------------------------------------------------------

    def backward(self, dlogits: np.ndarray, cache) -> dict[str, np.ndarray]:
        """Gradients of a loss with ∂loss/∂logits = ``dlogits`` (n, L)."""
        p = self.weights
        g = {}
        g["W"] = dlogits.T @ cache["z"]
        dz = dlogits @ p["W"]
        if self.classifier == "mlp":
            for k in (3, 2, 1):
                dpre = dz * (cache[f"pre{k}"] > 0)
                g[f"W{k}"] = dpre.T @ cache[f"z{k - 1}"]
                g[f"b{k}"] = np.asarray(dpre.sum(), dtype=dpre.dtype)
                dz = dpre @ p[f"W{k}"]
        dh = dz
        X, X1, A1, a2, r, m = (cache[k] for k in ("X", "X1", "A1", "a2", "r", "m"))
        # Layer 2 (target row).
        dX1 = np.zeros_like(X1)
        dx_t = dh.copy()
        if cache["ablate"] != "layer2":
            g["V2"] = dh.T @ m
            dm = dh @ p["V2"]
            da = (X1 @ dm[:, :, None])[..., 0]
            dX1 += a2[:, :, None] * dm[:, None, :]
            ds = a2 * (da - np.sum(a2 * da, axis=1, keepdims=True))
            dX1 += ds[:, :, None] * r[:, None, :]
            dr = (ds[:, None, :] @ X1)[:, 0]
            dG2 = X1[:, -1].T @ dr
            dx_t += dr @ cache["G2"].T
            g["Q2"], g["K2"] = p["K2"] @ dG2.T, p["Q2"] @ dG2
        else:
            g["V2"] = g["Q2"] = g["K2"] = np.zeros_like(p["V2"])
        dX1[:, -1] += dx_t
        # Layer 1 (every token).
        # The input tokens are data, not parameters: no gradient flows into X itself.
        if cache["ablate"] != "layer1":
            Y = cache["Y"]
            g["V1"] = _gram(dX1, Y)
            dY = _mm(dX1, p["V1"])
            dA = dY @ np.swapaxes(X, 1, 2)
            dS = A1 * (dA - np.sum(A1 * dA, axis=2, keepdims=True))
            dG1 = _gram(X, dS @ X)
            g["Q1"], g["K1"] = p["K1"] @ dG1.T, p["Q1"] @ dG1
        else:
            g["V1"] = g["Q1"] = g["K1"] = np.zeros_like(p["V1"])
        return g

    # -- training interface -------------------------------------------------------------------

    def loss_and_grads(self, batch) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy of the correct label on ``batch`` and its gradients."""
        logits, cache = self.forward(batch.tokens)
        n = len(logits)
        probs = _softmax(logits)
        loss = -np.mean(np.log(np.maximum(probs[np.arange(n), batch.answer], np.finfo(probs.dtype).tiny)))
        dlogits = probs
        dlogits[np.arange(n), batch.answer] -= 1
        return float(loss), self.backward(dlogits / n, cache)

    def metrics(self, batch, task, ablate: str | None = None) -> dict[str, float]:
        """Held-out loss, ICL accuracy, CLA, ILA1, TILA2 and the effective β, α, ξ."""
        from .measures import progress_measures

        logits, cache = self.forward(batch.tokens, ablate=ablate)
        return progress_measures(logits.astype(np.float64), cache, batch, task)

"""The two-layer attention network of the in-context classification task (Reddy 2024), in numpy.

Tokens x_i ∈ R^d (one-hot position, then content) pass through two single-head attention layers
with a residual stream, causal mask including self, no 1/sqrt(d) scaling and no LayerNorm:

    x_i ← x_i + Σ_{j<=i} softmax_j((K x_j)·(Q x_i)) V x_j,

then a classifier reads the *target* (last) token: a linear read-out (L × d) by default, or the
reference's three ReLU layers of width 128 (a scalar bias each, no residual) and a read-out.
Only the target's output is needed from layer 2, so layer 2 computes only the target's row, and
(K x_j)·(Q x_t) is evaluated as x_j · (KᵀQ x_t) and Σ_j a_j V x_j as V(Σ_j a_j x_j): O(T d)
per sequence instead of O(T d²). Layer 1's output reaches layer 2 only through products with a
few vectors per sequence, so it is never formed, and its attention receives a gradient of rank
at most 3 (see :meth:`AttentionNetwork.forward`). The one-hot position half of every token of a
:class:`~phenom.nets.tasks.SequenceBatch` is read as an index: its products are gathers and scatters
(compiled loops in ``_compiled``), and the only matrix products of size n·T × d × d left are
X Q1ᵀK1 and Σ Xᵀ dS X, each over the content coordinates. Forward and backward are written by
hand; the float64 backward is checked against finite differences (on batches and on dense
tokens, which take the general path), and training runs in float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from phenom import _rng, _validate
from phenom.nets._compiled import (
    add_gathered_positions,
    add_position_blocks,
    add_position_rows,
    add_position_weights,
    causal_softmax,
    scatter_positions,
    score_gradient,
)
from phenom.nets.heads import scores_from_cache
from phenom.nets.measures import progress_measures
from phenom.nets.tasks import POSITIONS, ClassificationTask, CopyingTask

__all__ = ["AttentionNetwork", "CLASSIFIERS", "Workspace"]

CLASSIFIERS = ("linear", "mlp")
HIDDEN = 128
ATTENTION = ("Q1", "K1", "V1", "Q2", "K2", "V2")
EVAL_CHUNK = 512  # sequences per forward pass in :meth:`AttentionNetwork.metrics`


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


class Workspace:
    """The work arrays of a training step, kept from one step to the next.

    The step's largest arrays (about a megabyte each at the reference size) are written into the
    same memory every step instead of being allocated and freed, so the allocator never returns
    them to the operating system and the step never pays again for fresh pages (whatever the
    process's malloc settings). One array per name, replaced when the batch's shape or dtype
    changes. Every :class:`AttentionNetwork` keeps one for :meth:`AttentionNetwork.loss_and_grads`;
    a copied or pickled network starts with an empty one. It takes no arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.attention import Workspace
    >>> work = Workspace()
    >>> a = work.get("scores", (4, 5, 5), np.float32)
    >>> work.get("scores", (4, 5, 5), np.float32) is a  # the same memory, step after step
    True
    >>> work.get("scores", (8, 5, 5), np.float32) is a, len(work)  # a new shape replaces it
    (False, 1)
    """

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """An array of ``shape`` and ``dtype`` for ``name``, its contents undefined."""
        a = self._arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._arrays[name] = np.empty(shape, dtype)
        return a

    def __len__(self) -> int:
        return len(self._arrays)

    def __reduce__(self):
        return (Workspace, ())  # a pickled or copied network carries its weights, not its scratch memory


def _array(work: Workspace | None, name: str, shape: tuple, dtype) -> np.ndarray:
    """A work array from ``work``, or a new one without a workspace."""
    return np.empty(shape, dtype) if work is None else work.get(name, shape, dtype)


class _Dense:
    """Tokens X (n, T, d) as an array: the general case (any input, e.g. a hand-built one).
    Vectors per sequence are rows: ``V`` (n, k, d), weights ``W`` (n, k, T)."""

    def __init__(self, X: np.ndarray):
        self.X = X

    def right(self, M):  # X M, token by token
        return _mm(self.X, M)

    def attention(self, U):  # causal softmax over j <= i of U_i · x_j, within each sequence
        S = U @ np.swapaxes(self.X, 1, 2)
        T = S.shape[1]
        S[:, ~np.tril(np.ones((T, T), dtype=bool))] = -np.inf
        return _softmax(S)

    def dot(self, V):  # (n, T, k): x_j · v_c
        return self.X @ np.swapaxes(V, 1, 2)

    def weighted(self, W):  # (n, k, d): Σ_j W_cj x_j
        return W @ self.X

    def last(self):  # (n, d): the target token
        return self.X[:, -1]

    def sandwich(self, dS):  # Σ over sequences of Xᵀ dS X
        return _gram(self.X, dS @ self.X)


class _OneHotPositions:
    """Tokens [e_{p_i} | c_i] of a :class:`~phenom.nets.tasks.SequenceBatch`: a one-hot position
    p_i = offset + i in the first P coordinates, then the content. Every product with the
    one-hot half is a gather or a scatter of rows (compiled loops), not a matrix product: the
    content is D of the d = P + D coordinates."""

    def __init__(self, offset: np.ndarray, content: np.ndarray, work: Workspace | None = None):
        self.offset, self.C, self.P = np.ascontiguousarray(offset, dtype=np.int64), content, POSITIONS
        self.pos = self.offset[:, None] + np.arange(content.shape[1])
        self.work = work

    def right(self, M):
        n, T, D = self.C.shape
        out = _array(self.work, "XM", (n, T, M.shape[1]), np.result_type(self.C, M))
        np.matmul(self.C.reshape(n * T, D), M[self.P :], out=out.reshape(n * T, M.shape[1]))
        add_position_weights(out, M, self.offset)
        return out

    def attention(self, U):
        n, T, _ = self.C.shape
        S = _array(self.work, "A1", (n, T, T), np.result_type(self.C, U))
        np.matmul(U[..., self.P :], np.swapaxes(self.C, 1, 2), out=S)
        causal_softmax(S, U, self.offset)
        return S

    def dot(self, V):
        out = self.C @ np.swapaxes(V[..., self.P :], 1, 2)
        add_gathered_positions(out, np.ascontiguousarray(V), self.offset)
        return out

    def weighted(self, W):
        W = np.ascontiguousarray(W)
        out = np.zeros((*W.shape[:2], self.P + self.C.shape[2]), dtype=W.dtype)
        out[..., self.P :] = W @ self.C
        scatter_positions(out, W, self.offset)
        return out

    def last(self):
        out = np.zeros((len(self.C), self.P + self.C.shape[2]), dtype=self.C.dtype)
        out[:, self.P :] = self.C[:, -1]
        out[np.arange(len(self.C)), self.pos[:, -1]] = 1
        return out

    def sandwich(self, dS):
        # Blocks of Σ Xᵀ dS X over [positions | content]: content–content Σ Cᵀ (dS C), the mixed
        # blocks as (dS C) and (dSᵀ C) rows scattered to positions, and dS itself scattered.
        P, (n, T, D) = self.P, self.C.shape
        dtype = np.result_type(dS, self.C)
        dSC = np.matmul(dS, self.C, out=_array(self.work, "dSC", (n, T, D), dtype))
        dStC = np.matmul(np.swapaxes(dS, 1, 2), self.C, out=_array(self.work, "dStC", (n, T, D), dtype))
        out = np.zeros((P + D, P + D), dtype=dS.dtype)
        out[P:, P:] = _gram(self.C, dSC)
        add_position_rows(out[:P, P:], self.offset, dSC)
        cp = np.zeros((P, D), dtype=dS.dtype)
        add_position_rows(cp, self.offset, dStC)
        out[P:, :P] = cp.T
        add_position_blocks(out[:P, :P], dS, self.offset)
        return out


def _tokens(X, dtype, work: Workspace | None = None):
    """The token algebra for an input: a SequenceBatch (positions as indices, work arrays from
    ``work``) or an array."""
    if hasattr(X, "content"):
        return _OneHotPositions(X.offset, X.content.astype(dtype, copy=False), work)
    return _Dense(np.asarray(X).astype(dtype, copy=False))


@dataclass
class AttentionNetwork:
    """The two-layer attention network of the module docstring: its weights and shape facts.

    Build one with :meth:`init` (the reference initialisation for a task);
    :func:`~phenom.nets.training.train` trains it in place.

    Parameters
    ----------
    weights : dict of str to numpy.ndarray
        The attention matrices ``Q1``, ``K1``, ``V1``, ``Q2``, ``K2``, ``V2`` (d × d, d the token
        width), the read-out ``W`` (L × d for the linear classifier, L × 128 for the MLP) and,
        for the MLP, ``W1``, ``W2``, ``W3`` and the scalar biases ``b1``, ``b2``, ``b3``; all of one
        float dtype, which is the network's.
    classifier : {"linear", "mlp"}, default "linear"
        The read-out of the target token (one of :data:`CLASSIFIERS`).
    seed : int or None, default None
        The initialisation seed, recorded in a training run's configuration.
    config : dict, default empty
        Shape facts: ``d_model`` and ``L`` (which :meth:`check_task` compares with a task's),
        ``classifier``, ``dtype`` and ``init_seed``.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> net = AttentionNetwork.init(task, seed=0)
    >>> sorted(net.weights), net.dtype.name
    (['K1', 'K2', 'Q1', 'Q2', 'V1', 'V2', 'W'], 'float32')
    >>> batch = task.sample(8, np.random.default_rng(0), dtype=np.float32)
    >>> logits, cache = net.forward(batch)
    >>> logits.shape, cache["A1"].shape, cache["a2"].shape  # (n, L), (n, T, T), (n, T)
    ((8, 4), (8, 5, 5), (8, 5))

    The loss is the cross-entropy of the correct label, which the logits give:

    >>> loss, grads = net.loss_and_grads(batch)
    >>> z = logits.astype(np.float64)
    >>> log_p = z - z.max(axis=1, keepdims=True)
    >>> log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    >>> round(loss, 4) == round(float(-log_p[np.arange(8), batch.answer].mean()), 4)
    True
    >>> all(grads[k].shape == net.weights[k].shape for k in net.weights)
    True
    """

    weights: dict[str, np.ndarray]
    classifier: str = "linear"
    seed: int | None = None
    config: dict = field(default_factory=dict)
    _workspace: Workspace = field(default_factory=Workspace, init=False, repr=False, compare=False)

    @classmethod
    def init(cls, task, classifier: str = "linear", seed: int = 0, dtype=np.float32) -> AttentionNetwork:
        """The reference initialisation for ``task``: attention N(0, 1/D), read-out N(0, 1/128).

        Attention matrices are N(0, 1/D) (D the task's content width); the MLP's ReLU weights
        N(0, 2/128) and its biases N(0, 1/128); the read-out N(0, 1/128) (the MLP's input
        width, also used for the linear read-out).

        Parameters
        ----------
        task : CopyingTask or ClassificationTask
            The sequence task (its token width ``d_model``, content width D and labels L).
        classifier : {"linear", "mlp"}, default "linear"
            The read-out.
        seed : int, default 0
            Seed of the initialisation's random stream.
        dtype : numpy.dtype, default numpy.float32
            float32 (training) or float64 (gradient checks).

        Returns
        -------
        AttentionNetwork
            A new network built for ``task``.
        """
        if classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {classifier!r}")
        dtype = float_dtype(dtype)
        _check_sequence_task(task)
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
        _check_sequence_task(task)
        if (task.d_model, task.L) != (self.config["d_model"], self.config["L"]):
            raise ValueError(
                f"task has d_model = {task.d_model}, L = {task.L}; the network was built for "
                f"d_model = {self.config['d_model']}, L = {self.config['L']}"
            )

    def astype(self, dtype) -> AttentionNetwork:
        """A copy with every parameter in ``dtype`` (float64 for gradient checks)."""
        dtype = float_dtype(dtype)
        params = {k: np.asarray(v, dtype=dtype).copy() for k, v in self.weights.items()}
        return AttentionNetwork(params, self.classifier, self.seed, {**self.config, "dtype": np.dtype(dtype).name})

    # -- forward ------------------------------------------------------------------------------

    def forward(self, X, ablate: str | None = None, *, workspace: Workspace | None = None):
        """Logits (n, L) for tokens ``X`` and the cache for :meth:`backward`.

        ``X`` is a :class:`~phenom.nets.tasks.SequenceBatch` (its one-hot positions are read as
        indices) or an array (n, T, d) of any tokens. ``ablate`` = ``"layer1"`` or ``"layer2"``
        removes that head's contribution to the residual stream. With a ``workspace``, the
        largest arrays (the cache's included) are written into its arrays: the cache is then valid
        until the next call with the same workspace (as in :meth:`loss_and_grads`).

        Layer 1's output X1 = X + A X V1ᵀ is never formed: layer 2 reads it only through the
        target's row x_t, the scores X1 r and the mixture X1ᵀ a2, and each of those is a product of
        A with a vector (e.g. X1 r = X r + A X (V1ᵀ r)).
        """
        if ablate not in (None, "layer1", "layer2"):
            raise ValueError(f"ablate must be None, 'layer1' or 'layer2', got {ablate!r}")
        p = self.weights
        tok = _tokens(X, self.dtype, workspace)
        layer1 = ablate != "layer1"
        # Layer 1, every token: A_ij = softmax_{j<=i}(x_iᵀ Q1ᵀK1 x_j).
        A1 = tok.attention(tok.right(p["Q1"].T @ p["K1"]))
        y = tok.weighted(A1[:, -1:])[:, 0]  # Σ_j A_tj x_j
        x_t = tok.last() + (y @ p["V1"].T if layer1 else 0)
        # Layer 2, the target only: s_j = x1_j · r with r = (Q2ᵀK2)ᵀ x_t.
        G2 = p["Q2"].T @ p["K2"]
        r = x_t @ G2
        q = r @ p["V1"]  # V1ᵀ r
        Xrq = tok.dot(np.stack([r, q], axis=1))  # (n, T, 2): X r, X q
        s = Xrq[..., 0] + ((A1 @ Xrq[..., 1:])[..., 0] if layer1 else 0)
        a2 = _softmax(s)
        w = (a2[:, None, :] @ A1)[:, 0]  # Aᵀ a2
        M = tok.weighted(np.stack([a2, w], axis=1))  # Xᵀ a2, Xᵀ w
        m = M[:, 0] + (M[:, 1] @ p["V1"].T if layer1 else 0)  # x1ᵀ a2 summed over tokens
        h = x_t + (0 if ablate == "layer2" else m @ p["V2"].T)
        cache = {
            "tokens": tok,
            "A1": A1,
            "y": y,
            "x_t": x_t,
            "G2": G2,
            "r": r,
            "Xq": Xrq[..., 1],
            "a2": a2,
            "Xw": M[:, 1],
            "m": m,
            "h": h,
            "ablate": ablate,
        }
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
        """Gradients of a loss with ∂loss/∂logits = ``dlogits`` (n, L), through the forward's
        vector form: layer 1's attention receives a gradient of rank at most 3 per sequence."""
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
        tok, A1, a2, r = (cache[k] for k in ("tokens", "A1", "a2", "r"))
        layer1 = cache["ablate"] != "layer1"
        V1 = p["V1"]
        gV1 = np.zeros_like(V1)
        dx_t = dh
        n, T = a2.shape
        work = getattr(tok, "work", None)
        rank2 = None  # the part of ∂loss/∂A1 that layer 2 sends: a2 ⊗ (∂/∂w) + ds ⊗ (X q)
        if cache["ablate"] != "layer2":
            # h = x_t + V2 m, m = Xᵀ a2 + V1 Xᵀ w, w = Aᵀ a2.
            g["V2"] = dh.T @ cache["m"]
            dm = dh @ p["V2"]
            dmw = tok.dot(np.stack([dm, dm @ V1], axis=1))  # (n, T, 2): ∂/∂a2 via Xᵀa2, ∂/∂w
            da2 = dmw[..., 0]
            if layer1:
                gV1 += dm.T @ cache["Xw"]
                da2 = da2 + (A1 @ dmw[..., 1:])[..., 0]
            # a2 = softmax(s), s = X r + A X q with q = V1ᵀ r, r = G2ᵀ x_t.
            ds = a2 * (da2 - np.sum(a2 * da2, axis=1, keepdims=True))
            back = tok.weighted(np.stack([ds, (ds[:, None, :] @ A1)[:, 0]], axis=1))  # Xᵀ ds, Xᵀ Aᵀ ds
            dr = back[:, 0]
            if layer1:
                rank2 = (a2, np.ascontiguousarray(dmw[..., 1]), ds, np.ascontiguousarray(cache["Xq"]))
                dq = back[:, 1]
                dr = dr + dq @ V1.T
                gV1 += r.T @ dq
            dG2 = cache["x_t"].T @ dr
            dx_t = dh + dr @ cache["G2"].T
            g["Q2"], g["K2"] = p["K2"] @ dG2.T, p["Q2"] @ dG2
        else:
            g["V2"] = g["Q2"] = g["K2"] = np.zeros_like(p["V2"])
        # x_t = x_T + V1 y, y = Xᵀ A_t. The input tokens are data: no gradient flows into X.
        if layer1:
            gV1 += dx_t.T @ cache["y"]
            last = np.ascontiguousarray(tok.dot((dx_t @ V1)[:, None, :])[..., 0])  # ∂/∂A1's target row, via y
            if rank2 is None:  # layer 2 removed: only the target's row is reached
                zero = np.zeros((n, T), dtype=A1.dtype)
                rank2 = (zero, zero, zero, zero)
            dA = _array(work, "dA", A1.shape, A1.dtype)
            a2_, w_, ds_, q_ = rank2
            score_gradient(A1, a2_, w_, ds_, q_, last, dA)  # dA: the gradient of layer 1's scores
            dG1 = tok.sandwich(dA)  # Σ Xᵀ dS X
            g["V1"], g["Q1"], g["K1"] = gV1, p["K1"] @ dG1.T, p["Q1"] @ dG1
        else:
            g["V1"] = g["Q1"] = g["K1"] = np.zeros_like(p["V1"])
        return g

    # -- training interface -------------------------------------------------------------------

    def loss_and_grads(self, batch) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy of the correct label on ``batch`` and its gradients (the step's
        large work arrays reused from the previous call: see :class:`Workspace`)."""
        logits, cache = self.forward(batch, workspace=self._workspace)
        n = len(logits)
        probs = _softmax(logits)
        loss = -np.mean(np.log(np.maximum(probs[np.arange(n), batch.answer], np.finfo(probs.dtype).tiny)))
        dlogits = probs
        dlogits[np.arange(n), batch.answer] -= 1
        return float(loss), self.backward(dlogits / n, cache)

    def metrics(self, batch, task, ablate: str | None = None) -> dict[str, float | None]:
        """Held-out loss, ICL accuracy, CLA, ILA1, TILA2, the effective β, α, ξ and head scores.

        The measures are :func:`~phenom.nets.measures.progress_measures`'; the induction-head
        scores previous_token, prefix_matching and copying are :mod:`~phenom.nets.heads`'
        (:func:`~phenom.nets.heads.scores_from_cache`). ``ablate`` is passed to :meth:`forward`.
        """
        # In chunks: a forward pass over thousands of sequences at once runs out of cache.
        parts = [
            self.forward(batch.rows(slice(i, i + EVAL_CHUNK)), ablate=ablate) for i in range(0, len(batch), EVAL_CHUNK)
        ]
        logits = np.concatenate([logits for logits, _ in parts]).astype(np.float64)
        cache = {k: np.concatenate([c[k] for _, c in parts]) for k in ("A1", "a2")}
        return {**progress_measures(logits, cache, batch, task), **scores_from_cache(self, task, cache, batch)}


def float_dtype(dtype) -> np.dtype:
    """float32 or float64, or a ValueError naming ``dtype`` and the choices."""
    return _validate.float_dtype("dtype", dtype)


def _check_sequence_task(task) -> None:
    """A ValueError unless ``task`` is a sequence task (the copying or classification task)."""
    if not isinstance(task, (CopyingTask, ClassificationTask)):
        raise ValueError(
            f"task must be a CopyingTask or a ClassificationTask for AttentionNetwork, got {_validate.shown(task)}"
        )

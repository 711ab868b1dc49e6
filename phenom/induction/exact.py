r"""The exact minimal network: the loss the mean-field β, α, ξ model approximates.

Reddy (ICLR 2024) writes the phenomenological model in a mean-field form: every label competes
with N tokens in layer 1, buffers hold only their predecessor's content. A network restricted to
β, α, ξ with exactly orthogonal one-hot embeddings and separate buffers for the two layers has
an expected loss that is a finite average over the target position, which sympy builds here for
each N. Its distance from the mean-field formula is a result (``minimal_vs_mean_field`` figure);
:class:`phenom.nets.minimal.MinimalNetwork` computes the same loss by a numpy forward pass.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import sympy as sp

from phenom import _cache, _io, _validate
from phenom.flow import gradient_flow
from phenom.induction._softmax import NUMPY_FUNCTIONS, nll, prob
from phenom.induction.model import PARAMETERS, THETA, InductionHeadModel, _stack, alpha, beta, xi

__all__ = ["derive_exact", "ExactInductionModel", "numeric_functions"]


def derive_exact(N: int, L: int, *, stable: bool = False) -> sp.Expr:
    r"""Expected loss of the two-layer network restricted to (β, α, ξ), exactly.

    Orthogonal one-hot contents (N items, L labels; the target's content is its item's), one-hot
    positions, and separate buffers for the two layers. Tokens 0..2N: item k at 2k, its label at
    2k+1, the target at 2N, a copy of item t. What the mean-field model rounds off is kept:

    - layer 1: token i attends over j <= i with logit β on j = i−1 and 0 elsewhere, so its
      predecessor gets e^β/(e^β + i) (token 0 sees only itself); it writes Σ_j A_ij content_j
      into its layer-1 buffer;
    - layer 2: the target attends to token j with logit α · ⟨content_target, buffer1_j⟩ =
      α (A_{j,2t} + [j = 2N] A_{2N,2N}) (the item itself and every later token hold some of
      item t; the target also matches its own content), and writes Σ_j a_j content_j into its
      layer-2 buffer;
    - classifier: logit ξ a_{2k+1} for the label of pair k, 0 for the L − N absent labels.

    The loss is the average over the target pair t of the cross-entropy (the labels' identities
    do not matter), a finite sum that sympy builds for each N.

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in context.
    L : int >= N
        Labels.
    stable : bool
        False (default): literal ratios of exponentials, the form to read; True: the same
        functions in log-sum-exp form (:mod:`phenom.induction._softmax`), the form to evaluate.

    Returns
    -------
    sympy.Expr
        The expected loss in the symbols β, α, ξ (:data:`phenom.induction.model.THETA`). Building
        it takes seconds from N = 4 on (:data:`SLOW_N`).

    Examples
    --------
    At θ = 0 every softmax is uniform and the loss is log L, as in the mean-field model:

    >>> from phenom.induction.exact import derive_exact
    >>> from phenom.induction.model import alpha, beta, xi
    >>> loss = derive_exact(2, 4)
    >>> sorted(str(v) for v in loss.free_symbols)
    ['alpha', 'beta', 'xi']
    >>> loss.subs({beta: 0, alpha: 0, xi: 0}).simplify()
    log(4)
    """
    N, L = _validate.pairs(N, L)
    T = 2 * N + 1
    softmax = functools.partial(prob, stable=stable)

    def layer1(i, j):
        """Attention of token i on token j <= i."""
        if i == 0:
            return sp.S.One
        target = beta if j == i - 1 else sp.S.Zero
        rivals = [(1, beta)] if j != i - 1 else []
        rivals.append((i - (0 if j == i - 1 else 1), 0))
        return softmax(target, rivals)

    losses = []
    for t in range(N):
        item = 2 * t
        match = [alpha * (layer1(j, item) if j >= item else 0) for j in range(T)]
        match[T - 1] = match[T - 1] + alpha * layer1(T - 1, T - 1)
        a = [softmax(match[j], [(1, match[k]) for k in range(T) if k != j]) for j in range(T)]
        correct = xi * a[2 * t + 1]
        rivals = [(1, xi * a[2 * k + 1]) for k in range(N) if k != t] + [(L - N, 0)]
        losses.append(nll(correct, rivals, stable=stable))
    return sp.Add(*losses) / N


SLOW_N = 6
"""From this N on, deriving the exact loss takes over ten seconds on the benchmark machine (N = 4:
4 s, N = 6: 11–14 s, N = 8: ~30 s, N = 32: over 40 s): the first use says so."""

_MODULES = [NUMPY_FUNCTIONS, "numpy"]


def _derived_source(N: int, L: int) -> str:
    """Python source of ``loss(beta, alpha, xi)`` and ``grad(beta, alpha, xi)`` for (N, L): the
    stable derivation, lambdified with common-subexpression elimination."""
    import inspect

    e = derive_exact(N, L, stable=True)
    parts = []
    for name, target in (("loss", e), ("grad", [e.diff(v) for v in THETA])):
        text = inspect.getsource(sp.lambdify(THETA, target, modules=_MODULES, cse=True))
        parts.append(text.replace("def _lambdifygenerated(", f"def {name}(", 1))
    return "\n\n".join(parts)


@functools.cache
def numeric_functions(N: int, L: int):
    """The exact loss and its gradient for (N, L) as numpy functions of (β, α, ξ).

    The derived source is cached on disk (the cache folder, :func:`phenom._cache.cache_dir`, named
    by N, L, the code version and sympy's), so only the first process on a machine derives it;
    that first derivation logs that it will take a while when N >= :data:`SLOW_N`. A damaged cache
    file is derived again and replaced.

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in context.
    L : int >= N
        Labels.

    Returns
    -------
    tuple of two callables
        ``(loss, grad)``: ``loss(beta, alpha, xi)`` and ``grad(beta, alpha, xi)`` (a list of the
        three partial derivatives), numpy functions that broadcast over arrays; unchecked (the
        model's :meth:`ExactInductionModel.loss` checks its inputs).

    Examples
    --------
    >>> from phenom.induction.exact import numeric_functions
    >>> loss, grad = numeric_functions(2, 4)
    >>> round(float(loss(0.0, 0.0, 0.0)), 6)  # log 4
    1.386294
    >>> d_beta, d_alpha, d_xi = grad(0.0, 0.0, 0.0)
    >>> bool(d_beta == 0 and d_alpha == 0), round(float(d_xi), 6)
    (True, -0.1)
    """
    import hashlib
    import logging

    version = hashlib.sha256((_io.code_version(__name__) + sp.__version__).encode()).hexdigest()[:12]
    path = _cache.cache_dir() / f"phenom_exact_N{N}_L{L}_{version}.py"

    def load(text: str):
        namespace = dict(sp.lambdify(THETA, 0, modules=_MODULES).__globals__)  # lambdify's own namespace
        exec(compile(text, str(path), "exec"), namespace)
        return namespace["loss"], namespace["grad"]

    try:
        return load(path.read_text())
    except Exception:  # no cache file yet, or a damaged one: derive (again) and replace it
        pass
    if N >= SLOW_N:
        logging.getLogger("phenom").warning(
            f"deriving the exact loss for N = {N} with sympy: tens of seconds on first use (more as N grows), "
            f"then cached in {path.parent}"
        )
    text = _derived_source(N, L)
    try:
        _io.atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    except OSError:
        pass  # an unwritable cache: derive again next time
    return load(text)


class ExactInductionModel:
    """The minimal network's exact loss (:func:`derive_exact`) as a model with ``loss``, ``grad``, ``flow``.

    The interface is that of :class:`~phenom.induction.model.InductionHeadModel`, for one (N, L).
    The numeric functions are derived on first use and cached on disk (:func:`numeric_functions`).

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in context (default 8).
    L : int >= N
        Labels (default 32).

    Examples
    --------
    At θ = 0 the exact network and the mean-field model agree (loss log L, and only ξ feels a
    force, −(L − N)/(L (2N + 1)) = −0.1 at N = 2, L = 4); away from it they differ, and the exact
    network's cliff comes later:

    >>> from phenom import ExactInductionModel, InductionHeadModel
    >>> exact, mean_field = ExactInductionModel(N=2, L=4), InductionHeadModel(N=2, L=4)
    >>> g = exact.grad(0.0, 0.0, 0.0)
    >>> bool(g[0] == 0 and g[1] == 0), round(float(g[2]), 6)
    (True, -0.1)
    >>> round(float(exact.loss(2.0, 3.0, 4.0)), 4), round(float(mean_field.loss(2.0, 3.0, 4.0)), 4)
    (0.3962, 0.1669)
    >>> round(exact.flow(t_max=100.0, rtol=1e-6, atol=1e-9).cliff(), 2), round(mean_field.flow(t_max=100.0).cliff(), 2)
    (38.14, 26.25)
    """

    def __init__(self, N: int = 8, L: int = 32):
        self.N, self.L = _validate.pairs(N, L)

    def __repr__(self) -> str:
        return f"ExactInductionModel(N={self.N}, L={self.L})"

    @property
    def expr(self) -> sp.Expr:
        """The exact expected loss, literal softmaxes, in β, α, ξ."""
        return derive_exact(self.N, self.L)

    @functools.cached_property
    def _numeric(self):
        return numeric_functions(self.N, self.L)

    def loss(self, beta, alpha, xi) -> np.ndarray:
        """The exact expected loss at (β, α, ξ), numbers or arrays that broadcast together."""
        theta = InductionHeadModel._theta(self, beta, alpha, xi)
        out = self._numeric[0](*np.moveaxis(theta, -1, 0))
        return np.broadcast_to(np.asarray(out, dtype=float), theta.shape[:-1]).copy()

    def grad(self, beta, alpha, xi) -> np.ndarray:
        """∂loss/∂(β, α, ξ) of the exact loss, shape (..., 3)."""
        theta = InductionHeadModel._theta(self, beta, alpha, xi)
        return _stack(self._numeric[1](*np.moveaxis(theta, -1, 0)), theta.shape[:-1])

    def flow(self, theta0=(0.0, 0.0, 0.0), t_max: float = 300.0, lr: float = 1.0, **options):
        """Gradient flow of the exact loss, as a :class:`~phenom.flow.Trajectory`."""
        f_loss, f_grad = self._numeric
        return gradient_flow(
            lambda th, k: np.asarray(f_loss(*np.moveaxis(th, -1, 0)), dtype=float),
            lambda th, k: _stack(f_grad(*np.moveaxis(th, -1, 0)), th.shape[:-1]),
            theta0,
            t_max=t_max,
            lr=lr,
            names=PARAMETERS,
            settings={"N": self.N, "L": self.L, "model": "exact"},
            **options,
        )

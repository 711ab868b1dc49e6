r"""The three-parameter phenomenological model of induction-head formation (Reddy, ICLR 2024).

Parameters (the paper's symbols):

- ``beta``  (β): layer-1 position–position strength on the previous token,
- ``alpha`` (α): layer-2 content–buffer strength,
- ``xi``    (ξ): classifier alignment margin of each label's regression vector.

The loss is *derived* here, not typed in: three softmaxes are built as sympy expressions and
the cross-entropy falls out of them.

1. Layer 1: a token at position N+1 attends causally over N+1 tokens; logit β on its
   predecessor, 0 elsewhere:  ``y = e^β / (e^β + N)``. A label's buffer holds y × its item.
2. Layer 2: the target's content matches the buffer of the correct label with logit αy; the
   other 2N tokens get 0. Attention on the correct label ``z = e^{αy}/(e^{αy} + 2N)``, on any
   one other token ``z' = 1/(e^{αy} + 2N)``.
3. Classifier: softmax over L labels; logit ξz for the correct label, ξz' for each of the N−1
   other in-context labels, 0 for the L−N absent ones.

Cross-entropy: ``log(1 + (N−1) e^{−u} + (L−N) e^{−u'})`` with ``u = ξ(z − z')``, ``u' = ξz``.

Numbers come from the same derivation in log-sum-exp form (:mod:`phenom.induction._softmax`), lambdified
once with common-subexpression elimination and shared by every model instance: they broadcast
over arrays of β, α, ξ and of N and L. The lambdified source is cached on disk (keyed by the
derivation's code and sympy's version), so a new process does not lambdify again. Flows run on the
compiled kernels and integrator of :mod:`phenom.induction.fastflow`.

>>> m = InductionHeadModel(N=8, L=32)
>>> round(float(m.loss(0.0, 0.0, 0.0)), 12) == round(float(np.log(32)), 12)
True
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import overload

import numpy as np
import sympy as sp

from phenom import _cache, _io, _validate
from phenom.flow import Trajectory
from phenom.induction import fastflow
from phenom.induction._softmax import NUMPY_FUNCTIONS
from phenom.induction.derivation import PARAMETERS, THETA, Derivation, L_sym, N_sym, alpha, beta, derive, xi

__all__ = [
    "InductionHeadModel",
    "Derivation",
    "derive",
    "induction_flow",
    "PARAMETERS",
    "THETA",
    "alpha",
    "beta",
    "xi",
    "N_sym",
    "L_sym",
]

_NUMERIC = ("loss", "grad", "hessian", "p_correct", "p_context", "attention")
_MODULES = [NUMPY_FUNCTIONS, "numpy"]


def _numeric_source() -> str:
    """Python source of the :data:`_NUMERIC` functions of (β, α, ξ, N, L): the general model's
    stable derivation, lambdified with common-subexpression elimination."""
    d = derive(N_sym, L_sym, stable=True)
    exprs = {
        "loss": d.loss,
        "grad": list(d.grad),
        "hessian": list(d.hessian),
        "p_correct": d.p_correct,
        "p_context": d.p_context,
        "attention": [d.y, d.z, d.z_other],
    }
    parts = []
    for name in _NUMERIC:
        text = inspect.getsource(sp.lambdify((*THETA, N_sym, L_sym), exprs[name], modules=_MODULES, cse=True))
        parts.append(text.replace("def _lambdifygenerated(", f"def {name}(", 1))
    return "\n\n".join(parts)


def _numeric_key() -> str:
    """What the lambdified source depends on: the derivation's code and sympy's version."""
    digest = hashlib.sha256(sp.__version__.encode())
    for module in ("derivation.py", "_softmax.py", "model.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def _numeric():
    """Lambdified loss, gradient, Hessian and accuracies of the general (symbolic N, L) model.

    Lambdifying costs about 0.4 s, so the source is kept in the cache folder
    (:func:`phenom._cache.cache_dir`) as ``phenom_model_<key>.py``; a missing, unreadable or
    damaged file is derived again and replaced."""
    path = _cache.cache_dir() / f"phenom_model_{_numeric_key()}.py"

    def load(text: str) -> dict:
        # lambdify's namespace for these modules: numpy's names, overridden by the primitives
        namespace = {k: v for k, v in vars(np).items() if not k.startswith("_")} | NUMPY_FUNCTIONS
        exec(compile(text, str(path), "exec"), namespace)
        functions = {name: namespace[name] for name in _NUMERIC}
        for f in functions.values():  # a damaged file fails here, not at the caller's first use
            f(0.5, 0.5, 0.5, 2, 3)
        return functions

    try:
        return load(path.read_text())
    except Exception:  # no cache file yet, or a damaged one: lambdify (again) and replace it
        pass
    text = _numeric_source()
    try:
        _io.atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    except OSError:
        pass  # an unwritable cache: lambdify again next time
    return load(text)


def _stack(parts, shape):
    return np.stack([np.broadcast_to(np.asarray(p, dtype=float), shape) for p in parts], axis=-1)


def loss(theta: np.ndarray, N, L) -> np.ndarray:
    """Unchecked loss at ``theta`` of shape (..., 3); N and L broadcast against ``theta[..., 0]``."""
    b, a, x = np.moveaxis(theta, -1, 0)
    return np.asarray(_numeric()["loss"](b, a, x, N, L), dtype=float)


def grad(theta: np.ndarray, N, L) -> np.ndarray:
    """Unchecked gradient, shape (..., 3), of the loss at ``theta`` of shape (..., 3)."""
    b, a, x = np.moveaxis(theta, -1, 0)
    shape = np.broadcast_shapes(b.shape, np.shape(N), np.shape(L))
    return _stack(_numeric()["grad"](b, a, x, N, L), shape)


class InductionHeadModel:
    """The β, α, ξ model for N item–label pairs in context and L labels.

    All numeric methods take β, α, ξ as numbers or arrays that broadcast together; ``grad``
    returns shape (..., 3) in the order (β, α, ξ) and ``hessian`` (..., 3, 3).

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in the context (the paper's N).
    L : int >= N
        Labels the classifier chooses among (the paper's L).

    Examples
    --------
    At θ = 0 the classifier is uniform over the L labels (loss log L) and only ξ feels a force,
    −∂loss/∂ξ = (L − N)/(L (2N + 1)) = 3/68 (Reddy, ICLR 2024, Sec. 4: the classifier learns
    first); past the cliff the correct label wins.

    >>> import numpy as np
    >>> from phenom import InductionHeadModel
    >>> m = InductionHeadModel(N=8, L=32)
    >>> round(float(m.loss(0.0, 0.0, 0.0)), 6), round(float(np.log(32)), 6)
    (3.465736, 3.465736)
    >>> g = m.grad(0.0, 0.0, 0.0)
    >>> bool(g[0] == 0 and g[1] == 0), round(float(-g[2]), 6), round(3 / 68, 6)
    (True, 0.044118, 0.044118)
    >>> [round(float(p), 4) for p in m.p_correct([0.0, 5.0], [0.0, 7.0], [0.0, 10.0])]
    [0.0312, 0.9983]
    """

    def __init__(self, N: int = 8, L: int = 32):
        self.N, self.L = _validate.pairs(N, L)

    def __repr__(self) -> str:
        return f"InductionHeadModel(N={self.N}, L={self.L})"

    # -- symbolic ----------------------------------------------------------------------------

    @functools.cached_property
    def derivation(self) -> Derivation:
        """The model's stages (y, z, z', loss, …) as literal sympy expressions."""
        return derive(self.N, self.L, stable=False)

    @property
    def expr(self) -> sp.Expr:
        """The cross-entropy as sympy derived it, in β, α, ξ (sympy symbols ``beta, alpha, xi``)."""
        return self.derivation.loss

    @property
    def grad_expr(self) -> sp.Matrix:
        return self.derivation.grad

    @property
    def hessian_expr(self) -> sp.Matrix:
        return self.derivation.hessian

    def latex(self) -> str:
        """LaTeX of the loss."""
        return sp.latex(self.expr)

    symbols = THETA
    """The sympy symbols (β, α, ξ) the expressions are written in."""

    # -- numeric -----------------------------------------------------------------------------

    def _theta(self: object, beta, alpha, xi) -> np.ndarray:  # uses nothing of self: ExactInductionModel shares it
        arrays = [_validate.finite_array(n, v) for n, v in zip(PARAMETERS, (beta, alpha, xi), strict=False)]
        return np.stack(_validate.broadcast(dict(zip(PARAMETERS, arrays, strict=False))), axis=-1)

    def _call(self, name, beta, alpha, xi):
        theta = self._theta(beta, alpha, xi)
        b, a, x = np.moveaxis(theta, -1, 0)
        return theta.shape[:-1], _numeric()[name](b, a, x, self.N, self.L)

    def loss(self, beta, alpha, xi) -> np.ndarray:
        """Cross-entropy of the correct label."""
        shape, out = self._call("loss", beta, alpha, xi)
        return np.broadcast_to(np.asarray(out, dtype=float), shape).copy()

    def grad(self, beta, alpha, xi) -> np.ndarray:
        """∂loss/∂(β, α, ξ), shape (..., 3)."""
        shape, out = self._call("grad", beta, alpha, xi)
        return _stack(out, shape)

    def hessian(self, beta, alpha, xi) -> np.ndarray:
        """∂²loss/∂θ_i∂θ_j, shape (..., 3, 3)."""
        shape, out = self._call("hessian", beta, alpha, xi)
        return _stack(out, shape).reshape(*shape, 3, 3)

    def p_correct(self, beta, alpha, xi) -> np.ndarray:
        """Probability the classifier gives the correct label (= exp(−loss))."""
        shape, out = self._call("p_correct", beta, alpha, xi)
        return np.broadcast_to(np.asarray(out, dtype=float), shape).copy()

    def p_context(self, beta, alpha, xi) -> np.ndarray:
        """Probability the classifier puts on the N labels present in the context."""
        shape, out = self._call("p_context", beta, alpha, xi)
        return np.broadcast_to(np.asarray(out, dtype=float), shape).copy()

    def attention(self, beta, alpha) -> np.ndarray:
        """(y, z, z'), shape (..., 3): the layer-1 and layer-2 attention weights."""
        shape, out = self._call("attention", beta, alpha, 0.0)
        return _stack(out, shape)

    # -- dynamics ----------------------------------------------------------------------------

    def flow(self, theta0=(0.0, 0.0, 0.0), t_max: float = 300.0, lr: float = 1.0, **options):
        """Gradient flow dθ/dt = −lr ∇loss from ``theta0``; see :func:`induction_flow`."""
        return induction_flow(theta0, N=self.N, L=self.L, t_max=t_max, lr=lr, **options)


@overload
def induction_flow(
    theta0: Sequence[float] = ...,
    *,
    N: int = ...,
    L: int = ...,
    t_max: float = ...,
    lr: float = ...,
    metric: Sequence[float] | None = ...,
    t_eval=...,
    rtol: float = ...,
    atol: float = ...,
    method: str = ...,
    max_steps: int = ...,
) -> Trajectory: ...


@overload
def induction_flow(
    theta0=...,
    *,
    N: Sequence[int],
    L=...,
    t_max: float = ...,
    lr=...,
    metric=...,
    t_eval=...,
    rtol: float = ...,
    atol: float = ...,
    method: str = ...,
    max_steps: int = ...,
) -> list[Trajectory]: ...


@overload
def induction_flow(
    theta0=...,
    *,
    N=...,
    L: Sequence[int],
    t_max: float = ...,
    lr=...,
    metric=...,
    t_eval=...,
    rtol: float = ...,
    atol: float = ...,
    method: str = ...,
    max_steps: int = ...,
) -> list[Trajectory]: ...


@overload
def induction_flow(
    theta0: Sequence[Sequence[float]],
    *,
    N=...,
    L=...,
    t_max: float = ...,
    lr=...,
    metric=...,
    t_eval=...,
    rtol: float = ...,
    atol: float = ...,
    method: str = ...,
    max_steps: int = ...,
) -> list[Trajectory]: ...


@overload
def induction_flow(
    theta0=...,
    *,
    N=...,
    L=...,
    t_max: float = ...,
    lr=...,
    metric=...,
    t_eval=...,
    rtol: float = ...,
    atol: float = ...,
    method: str = ...,
    max_steps: int = ...,
) -> Trajectory | list[Trajectory]: ...


def induction_flow(
    theta0=(0.0, 0.0, 0.0),
    *,
    N=8,
    L=32,
    t_max: float = 300.0,
    lr=1.0,
    metric=None,
    t_eval=None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    method: str = "RK45",
    max_steps: int = 1_000_000,
) -> Trajectory | list[Trajectory]:
    """Gradient flow dθ/dt = −lr C ∇loss(θ) of the β, α, ξ model, compiled, one or many at once.

    ``theta0`` is one initial (β, α, ξ) or a (B, 3) batch; ``N``, ``L`` and ``lr`` are numbers or
    length-B sequences (one per flow), ``metric`` = (C_β, C_α, C_ξ) > 0 (default 1) or one row
    per flow: each parameter's own rate. Anything batched gives a list of B
    :class:`~phenom.flow.Trajectory` (a single ``theta0`` is repeated), otherwise one.

    Each flow is integrated on its own by the compiled Dormand–Prince 5(4) pair of
    :mod:`phenom.induction.fastflow` (``method`` "RK45", the only one; scipy's step control, error
    held to ``rtol``/``atol`` per flow). Without ``t_eval`` a trajectory keeps every accepted
    step and its continuous extension, so θ(t) anywhere in [0, t_max] is the solver's own
    interpolant; with ``t_eval`` (increasing times in [0, t_max]) it keeps θ and the loss on that
    grid only, interpolates between grid times by cubic Hermite on the flow's slopes, and
    rejects times outside [t_eval[0], t_eval[-1]] with a ValueError. The cliff is found while
    integrating. A flow that cannot reach t_max in ``max_steps`` attempted steps is a RuntimeError.

    Parameters
    ----------
    theta0 : array_like, shape (3,) or (B, 3)
        Start(s) (β₀, α₀, ξ₀), entries within ±:data:`phenom.induction.fastflow.THETA_MAX`
        (default θ = 0).
    N : int or sequence of int
        Item–label pairs in context, >= 1 (default 8).
    L : int or sequence of int
        Labels, >= N (default 32).
    t_max : float
        Flow time to integrate to, > 0 (default 300).
    lr : float or sequence of float
        The rate in dθ/dt = −lr C ∇loss, finite and > 0 (default 1).
    metric : None or array_like, shape (3,) or (B, 3)
        The diagonal C = (C_β, C_α, C_ξ), entries > 0 (None: C = 1, the mean-field flow).
    t_eval : None or 1-D array
        Increasing times in [0, t_max] to keep θ and the loss at (None: every accepted step).
    rtol : float
        Relative tolerance per flow, >= :data:`phenom.induction.fastflow.RTOL_MIN` (default 1e-9).
    atol : float
        Absolute tolerance per flow, > 0 (default 1e-12).
    method : str
        ``"RK45"`` (the only one).
    max_steps : int
        Attempted steps a flow may take, from 1 to :data:`phenom.induction.fastflow.MAX_STEPS`.

    Returns
    -------
    Trajectory or list of Trajectory
        One :class:`~phenom.flow.Trajectory` (names β, α, ξ; settings N and L), or a list of B
        when anything is batched.

    Raises
    ------
    ValueError
        An argument outside its range.
    RuntimeError
        A flow that cannot reach ``t_max`` within ``max_steps``.

    Examples
    --------
    The classifier learns first, then layer 2, then layer 1 (ξ, α, β cross 1 in that order),
    and the cliff moves later as N grows:

    >>> from phenom import induction_flow
    >>> traj = induction_flow(N=8, L=32, t_max=300.0)
    >>> order = traj.crossing_times(1.0)
    >>> order["xi"] < order["alpha"] < order["beta"]
    True
    >>> [round(flow.cliff(), 2) for flow in induction_flow(N=[4, 8, 16], L=32, t_max=1000.0)]
    [37.52, 97.68, 311.47]
    """
    if method != "RK45":
        raise ValueError(f"method must be 'RK45' (the compiled Dormand–Prince pair), got {method!r}")
    batched = np.ndim(theta0) == 2 or any(np.ndim(v) > 0 for v in (N, L, lr)) or np.ndim(metric) == 2
    flows = fastflow.trajectories(
        theta0, N=N, L=L, metric=metric, lr=lr, t_max=t_max, t_eval=t_eval, rtol=rtol, atol=atol, max_steps=max_steps
    )
    return flows if batched else flows[0]

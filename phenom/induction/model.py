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
over arrays of β, α, ξ and of N and L.

>>> m = InductionHeadModel(N=8, L=32)
>>> round(float(m.loss(0.0, 0.0, 0.0)), 12) == round(float(np.log(32)), 12)
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from phenom import _validate
from phenom.flow import Trajectory, gradient_flow
from phenom.induction._softmax import NUMPY_FUNCTIONS, nll, prob, prob_difference

__all__ = ["InductionHeadModel", "Derivation", "derive", "induction_flow", "PARAMETERS", "THETA"]

PARAMETERS = ("beta", "alpha", "xi")
"""Order of the model's parameters everywhere (gradients, flows, CSV columns)."""

beta, alpha, xi = sp.symbols("beta alpha xi", real=True)
N_sym, L_sym = sp.symbols("N L", positive=True, integer=True)
THETA = (beta, alpha, xi)


@dataclass(frozen=True)
class Derivation:
    """Every stage of the model as sympy expressions in β, α, ξ (and N, L if symbolic)."""

    y: sp.Expr
    """layer-1 attention of a token on its predecessor"""
    z: sp.Expr
    """layer-2 attention of the target on the correct label"""
    z_other: sp.Expr
    """layer-2 attention of the target on any one other token"""
    loss: sp.Expr
    """cross-entropy of the correct label"""
    p_correct: sp.Expr
    """classifier probability of the correct label"""
    p_context: sp.Expr
    """classifier probability summed over the N in-context labels"""

    @functools.cached_property
    def grad(self) -> sp.Matrix:
        """∂loss/∂(β, α, ξ) as a 3×1 matrix."""
        return sp.Matrix([self.loss.diff(v) for v in THETA])

    @functools.cached_property
    def hessian(self) -> sp.Matrix:
        """∂²loss/∂θ∂θ as a 3×3 matrix."""
        return sp.hessian(self.loss, THETA)


def derive(N=N_sym, L=L_sym, *, stable: bool = False) -> Derivation:
    """Build the model from its three softmaxes.

    ``N`` and ``L`` may be integers or sympy symbols. ``stable=False`` writes each softmax as a
    literal ratio of exponentials (the form to read and print); ``stable=True`` writes the same
    functions through :class:`~phenom.induction._softmax.SoftmaxNLL` (the form to evaluate).

    >>> d = derive(2, 4)
    >>> d.loss.subs({beta: 0, alpha: 0, xi: 0}).simplify()
    log(4)
    """
    softmax = functools.partial(prob, stable=stable)
    # Layer 1: predecessor (logit β) against the N other visible tokens (logit 0).
    y = softmax(beta, [(N, 0)])
    # Layer 2: correct label (logit αy) against 2N tokens at 0; z' is one of those 2N.
    a = alpha * y
    z = softmax(a, [(2 * N, 0)])
    z_other = softmax(0, [(1, a), (2 * N - 1, 0)])
    margin = prob_difference(a, 0, [(2 * N - 1, 0)], stable=stable)  # z − z'
    # Classifier over L labels: logits ξz (correct), ξz' (N−1 others in context), 0 (L−N absent).
    # Only the gaps to the correct logit matter, −u = −ξ(z − z') and −u' = −ξz; taking z − z' as
    # one quantity (not a difference of two) keeps u accurate where αy ≈ 0.
    correct = xi * z
    rivals = [(N - 1, xi * z_other), (L - N, 0)]
    gaps = [-xi * margin, -xi * z]
    # log Σ exp over the N in-context logits: a super-token against the L − N absent labels.
    in_context = correct + nll(correct, rivals[:1], stable=stable, gaps=gaps[:1])
    return Derivation(
        y=y,
        z=z,
        z_other=z_other,
        loss=nll(correct, rivals, stable=stable, gaps=gaps),
        p_correct=softmax(correct, rivals, gaps=gaps),
        p_context=softmax(in_context, rivals[1:]),
    )


@functools.lru_cache(maxsize=None)
def _numeric():
    """Lambdified loss, gradient, Hessian and accuracies of the general (symbolic N, L) model."""
    d = derive(N_sym, L_sym, stable=True)
    args = (*THETA, N_sym, L_sym)
    modules = [NUMPY_FUNCTIONS, "numpy"]

    def build(expr):
        return sp.lambdify(args, expr, modules=modules, cse=True)

    return {
        "loss": build(d.loss),
        "grad": build(list(d.grad)),
        "hessian": build(list(d.hessian)),
        "p_correct": build(d.p_correct),
        "p_context": build(d.p_context),
        "attention": build([d.y, d.z, d.z_other]),
    }


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

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in the context (the paper's N).
    L : int >= N
        Labels the classifier chooses among (the paper's L).

    All numeric methods take β, α, ξ as numbers or arrays that broadcast together; ``grad``
    returns shape (..., 3) in the order (β, α, ξ) and ``hessian`` (..., 3, 3).

    >>> m = InductionHeadModel(N=8, L=32)
    >>> g = m.grad(0.0, 0.0, 0.0)
    >>> bool(g[0] == 0 and g[1] == 0 and g[2] < 0)
    True
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

    def _theta(self, beta, alpha, xi) -> np.ndarray:
        arrays = [_validate.finite_array(n, v) for n, v in zip(PARAMETERS, (beta, alpha, xi))]
        return np.stack(_validate.broadcast(dict(zip(PARAMETERS, arrays))), axis=-1)

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


def induction_flow(
    theta0=(0.0, 0.0, 0.0),
    *,
    N=8,
    L=32,
    t_max: float = 300.0,
    lr=1.0,
    **options,
) -> Trajectory | list[Trajectory]:
    """Gradient flow dθ/dt = −lr ∇loss(θ) of the β, α, ξ model (:func:`phenom.flow.gradient_flow`).

    ``theta0`` is one initial (β, α, ξ) or a (B, 3) batch; ``N`` and ``L`` are integers or
    length-B sequences (one (N, L) pair per flow), and a single ``theta0`` is repeated to match
    them. Returns a :class:`Trajectory`, or a list when anything is batched. ``options`` go to
    :func:`~phenom.flow.gradient_flow`: ``metric`` = (C_β, C_α, C_ξ) (or one row per flow) gives
    each parameter its own rate, dθ/dt = −lr C ∇loss; ``rtol``, ``atol``, ``method``.

    >>> traj = induction_flow(N=8, L=32, t_max=300.0)
    >>> order = traj.crossing_times(1.0)
    >>> order["xi"] < order["alpha"] < order["beta"]
    True
    """
    theta0 = _validate.finite_array("theta0", theta0, last_dim=3)
    if theta0.ndim > 2:
        raise ValueError(f"theta0 must have shape (3,) or (B, 3), got {theta0.shape}")
    Ns, Ls = np.atleast_1d(N), np.atleast_1d(L)
    if Ns.ndim != 1 or Ls.ndim != 1 or Ns.size == 0 or Ls.size == 0:
        raise ValueError("N and L must be integers or non-empty 1-D sequences of integers")
    sizes = {n for n in (Ns.size, Ls.size, theta0.shape[0] if theta0.ndim == 2 else 1) if n != 1}
    if len(sizes) > 1:
        raise ValueError(
            f"theta0 {theta0.shape}, N ({Ns.size}) and L ({Ls.size}) must have matching batch sizes (or 1)"
        )
    B = sizes.pop() if sizes else 1
    pairs = [_validate.pairs(n, l) for n, l in zip(np.broadcast_to(Ns, B), np.broadcast_to(Ls, B))]
    batched = theta0.ndim == 2 or np.ndim(N) > 0 or np.ndim(L) > 0
    start = np.broadcast_to(theta0, (B, 3)) if batched else theta0
    N_of = np.array([p[0] for p in pairs], dtype=float)
    L_of = np.array([p[1] for p in pairs], dtype=float)
    flows = gradient_flow(
        lambda theta, k: loss(theta, N_of[k], L_of[k]),
        lambda theta, k: grad(theta, N_of[k], L_of[k]),
        start,
        t_max=t_max,
        lr=lr,
        names=PARAMETERS,
        settings=[{"N": int(n), "L": int(l)} for n, l in zip(N_of, L_of)],
        **options,
    )
    return flows

r"""When the induction head forms: the β, α, ξ flow's transition time, numerically over (N, L) and
(lr, θ₀), and an asymptotic formula for it derived from the flow's early-time solution.

**Early times.** At θ = 0 the loss is log L and only ξ feels a force (Reddy, ICLR 2024, Sec. 4:
the classifier learns first). Expanding the gradient to leading order around θ = 0,

    ξ̇ = A,    α̇ = B ξ,    β̇ = C ξ α,
    A = −∂ℓ/∂ξ,  B = −∂²ℓ/∂α∂ξ,  C = −∂³ℓ/∂β∂α∂ξ   (all at θ = 0),

so that ξ = A t, α = A B t²/2 and β = A² B C t⁴/8: the exponents 1, 2, 4 of the three nested
softmaxes. :func:`early_time_coefficients` derives A, B and C with sympy from the model itself
(:func:`phenom.induction.model.derive`); they are

    A = (L − N) / (L (2N + 1)),
    B = ((N − 1)(2N + 1) + 2N (L − N)) / (L (2N + 1)² (N + 1)),
    C = B · N / (N + 1),

the closed forms :func:`closed_form_coefficients` evaluates (the tests prove with sympy that they
are the derivation's), so that the formula's numbers need no symbolic work.

**The plateau and its end.** β enters the loss only through layer 1's attention y = e^β/(e^β + N),
which is y₀ e^β while e^β ≪ N; so α and β feed each other, each through y: on the slow clock
τ = ∫ ξ dt (= A t²/2),

    dα/dτ = B e^β,    dβ/dτ = C α e^β.

Dividing, dβ/dα = (C/B) α, so β = C α²/(2B) along the path, and α reaches infinity at the finite
τ* = ∫₀^∞ e^{−Cα²/2B} dα / B = sqrt(π / (2 B C)): a blow-up, which the full model turns into the
cliff. With τ* = A t*²/2,

    t* = (2π)^{1/4} A^{−1/2} (B C)^{−1/4},

growing as 2 (2π)^{1/4} N^{3/2} for L ≫ N and as (L − N)^{−1/2} as L → N (at L = N, A = 0 and
θ = 0 is a fixed point: no transition). From θ₀ = (β₀, α₀, ξ₀) the same steps give
τ* = e^{−β₀} sqrt(π/(2BC)) erfcx(α₀ sqrt(C/2B)) and ξ₀ t* + A t*²/2 = τ*
(:func:`asymptotic_transition_time`). Nothing in it is fitted; :func:`flow_transition_times` is
the numeric cliff it is compared with, for any start, rates C and lr of the flow
dθ/dt = −lr C ∇ℓ (the predictions of :mod:`phenom.induction.prediction` build on it).

:func:`gd_transition_steps` runs discrete gradient descent θ ← θ − lr ∇ℓ on the same loss, whose
transition step times lr approaches the flow's time as lr → 0.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np
import sympy as sp
from scipy.special import erfcx

from phenom import _cache, _io, _validate
from phenom.induction.fastflow import THETA_MAX, flow_quantities
from phenom.induction.model import THETA, L_sym, N_sym, alpha, beta, derive, grad, xi

__all__ = [
    "early_time_coefficients",
    "transition_time_expr",
    "formula_text",
    "closed_form_coefficients",
    "asymptotic_transition_time",
    "flow_transition_times",
    "gd_transition_steps",
]


GD_MAX_STEPS = 10**6
"""The most steps :func:`gd_transition_steps` takes (t_max / lr): minutes of numpy work, about
0.3 ms a step on one core."""
GD_MAX_WORK = 10**8
"""The most member-steps (members × steps) of one :func:`gd_transition_steps` call."""
GD_MAX_MEMBERS = 10**6
"""The most (rate, start) members of one :func:`gd_transition_steps` call (tens of MB each array)."""


def _starts(theta0) -> np.ndarray:
    """θ₀ (..., 3) of finite numbers within ±THETA_MAX."""
    theta0 = _validate.finite_array("theta0", theta0, last_dim=3)
    if np.any(np.abs(theta0) > THETA_MAX):
        raise ValueError(
            f"theta0 must hold numbers from {-THETA_MAX:g} to {THETA_MAX:g}, got {_validate.shown(theta0)}"
        )
    return theta0


@functools.cache
def early_time_coefficients() -> dict[str, sp.Expr]:
    """A, B, C (module docstring) as sympy expressions in N and L, from the derived loss.

    A = −∂ℓ/∂ξ, B = −∂²ℓ/∂α∂ξ and C = −∂³ℓ/∂β∂α∂ξ at θ = 0, differentiated and simplified by
    sympy (about 9 s, once per process; :func:`formula_text` keeps the printed forms on disk).

    Returns
    -------
    dict of str to sympy.Expr
        ``{"A": …, "B": …, "C": …}`` in the symbols :data:`~phenom.induction.derivation.N_sym` and
        :data:`~phenom.induction.derivation.L_sym`.

    Examples
    --------
    Deriving takes seconds, so the call is shown and not run; :func:`formula_text` reads the same
    expressions, printed, from the cache folder:

    >>> from phenom.induction.transition import early_time_coefficients, formula_text
    >>> coefficients = early_time_coefficients()  # doctest: +SKIP
    >>> coefficients["A"]  # doctest: +SKIP
    (L - N)/(L*(2*N + 1))
    >>> formula_text()["A"]
    '(L - N)/(L*(2*N + 1))'
    """
    loss = derive(N_sym, L_sym).loss
    at_zero = {v: 0 for v in THETA}
    return {
        "A": sp.factor(sp.simplify(-loss.diff(xi).subs(at_zero))),
        "B": sp.factor(sp.simplify(-loss.diff(alpha, xi).subs(at_zero))),
        "C": sp.factor(sp.simplify(-loss.diff(beta, alpha, xi).subs(at_zero))),
    }


@functools.cache
def transition_time_expr() -> sp.Expr:
    """t*(N, L) from θ = 0: the reduced system's blow-up time, solved with sympy.

    τ* = ∫₀^∞ e^{−Cα²/2B} dα / B on the slow clock, and A t*²/2 = τ* (module docstring); built on
    :func:`early_time_coefficients` (seconds of sympy, once per process).

    Returns
    -------
    sympy.Expr
        t* in the symbols N and L; :func:`asymptotic_transition_time` evaluates the same formula
        numerically, for any start.

    Examples
    --------
    Deriving takes seconds, so the call is shown and not run; :func:`formula_text` reads the
    same expression, printed, from the cache folder, and its value at N = 8, L = 32 is the
    formula's 99.86:

    >>> import sympy as sp
    >>> from phenom.induction.derivation import L_sym, N_sym
    >>> from phenom.induction.transition import formula_text, transition_time_expr
    >>> t_star = transition_time_expr()  # doctest: +SKIP
    >>> round(float(t_star.subs({N_sym: 8, L_sym: 32})), 2)  # doctest: +SKIP
    99.86
    >>> t_star = sp.sympify(formula_text()["t_star"], locals={"N": N_sym, "L": L_sym})
    >>> round(float(t_star.subs({N_sym: 8, L_sym: 32})), 2)
    99.86
    """
    c = early_time_coefficients()
    a, k = sp.symbols("a k", positive=True)
    blow_up = sp.integrate(sp.exp(-k * a**2), (a, 0, sp.oo)).subs(k, c["C"] / (2 * c["B"])) / c["B"]  # τ*
    return sp.sqrt(2 * blow_up / c["A"])  # A t*²/2 = τ*


def formula_text() -> dict[str, str]:
    """t* (:func:`transition_time_expr`) and A, B, C (:func:`early_time_coefficients`) as printed by sympy.

    The derivation's record in saved results. Deriving them takes seconds of sympy, so the
    strings are kept in the cache folder (:func:`phenom._cache.cache_dir`) under a key of this
    module's and the model's code and sympy's version; a missing or damaged file is derived again.

    Returns
    -------
    dict of str to str
        ``{"t_star": …, "A": …, "B": …, "C": …}``, each ``str()`` of the sympy expression.

    Examples
    --------
    >>> from phenom.induction.transition import formula_text
    >>> text = formula_text()
    >>> sorted(text), text["B"]
    (['A', 'B', 'C', 't_star'], '(2*L*N - N - 1)/(L*(N + 1)*(2*N + 1)**2)')
    """
    digest = hashlib.sha256(sp.__version__.encode())
    for module in ("transition.py", "derivation.py", "_softmax.py", "model.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    path = _cache.cache_dir() / f"phenom_formula_{digest.hexdigest()[:16]}.json"
    keys = ("t_star", "A", "B", "C")
    try:
        text = json.loads(path.read_text())
        if isinstance(text, dict) and set(text) == set(keys) and all(isinstance(v, str) for v in text.values()):
            return text
    except (OSError, ValueError):
        pass  # no cache file yet, or a damaged one: derive (again) and replace it
    text = {"t_star": str(transition_time_expr()), **{k: str(v) for k, v in early_time_coefficients().items()}}
    try:
        _io.atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(text)))
    except OSError:
        pass  # an unwritable cache: derive again next time
    return text


def closed_form_coefficients(N, L) -> tuple:
    """(A, B, C) by the closed forms of the module docstring, for numbers, arrays or sympy symbols.

    The numbers :func:`asymptotic_transition_time` uses without deriving anything; the tests prove
    with sympy that they are :func:`early_time_coefficients`.

    Parameters
    ----------
    N : number, array or sympy expression
        Item–label pairs in context (unchecked).
    L : number, array or sympy expression
        Labels (unchecked; broadcasts with ``N``).

    Returns
    -------
    tuple
        (A, B, C), of the type arithmetic on ``N`` and ``L`` gives.

    Examples
    --------
    At N = 8, L = 32 in floats and, with sympy integers, exactly; C = B · N/(N + 1):

    >>> import sympy as sp
    >>> from phenom.induction.transition import closed_form_coefficients
    >>> [round(float(v), 6) for v in closed_form_coefficients(8, 32)]
    [0.044118, 0.006043, 0.005372]
    >>> closed_form_coefficients(sp.Integer(8), sp.Integer(32))
    (3/68, 503/83232, 503/93636)
    """
    A = (L - N) / (L * (2 * N + 1))
    B = ((N - 1) * (2 * N + 1) + 2 * N * (L - N)) / (L * (2 * N + 1) ** 2 * (N + 1))
    return A, B, B * N / (N + 1)


def asymptotic_transition_time(N, L, theta0=(0.0, 0.0, 0.0)) -> np.ndarray:
    """The formula's t* (flow time, lr = 1) for ``N`` >= 2 pairs and ``L`` > N labels, from ``theta0``.

    τ* = e^{−β₀} sqrt(π/(2BC)) erfcx(α₀ sqrt(C/2B)) and ξ₀ t* + A t*²/2 = τ* (module docstring),
    with A, B, C from :func:`closed_form_coefficients`: nothing fitted, nothing integrated.

    Parameters
    ----------
    N : int or array of int
        Pair counts, >= 2.
    L : int or array of int
        Label counts, > N (broadcasts with ``N``).
    theta0 : array_like, shape (3,) or (..., 3)
        Start (β₀, α₀, ξ₀), entries within ±:data:`phenom.induction.fastflow.THETA_MAX`, such that
        τ* stays finite in float64 (default θ = 0).

    Returns
    -------
    ndarray
        t*, of the broadcast shape of N, L and ``theta0[..., 0]``.

    Examples
    --------
    The formula against the compiled flow's cliff (:func:`flow_transition_times`) at L = 32:
    within 3 % from θ = 0.

    >>> import numpy as np
    >>> from phenom.induction.transition import asymptotic_transition_time, flow_transition_times
    >>> asymptotic_transition_time([4, 8, 16], 32).round(2).tolist()
    [38.58, 99.86, 316.74]
    >>> flow_transition_times([4, 8, 16], 32).round(2).tolist()
    [37.52, 97.68, 311.47]

    As L → ∞, t* → (2π)^{1/4} (2N + 1)^{3/2} (N + 1)^{3/4} / (√2 N^{3/4}) (≈ 2 (2π)^{1/4} N^{3/2}):

    >>> N = 8
    >>> limit = (2 * np.pi) ** 0.25 * (2 * N + 1) ** 1.5 * (N + 1) ** 0.75 / (np.sqrt(2) * N**0.75)
    >>> bool(abs(asymptotic_transition_time(N, 10**12) / limit - 1) < 1e-9)
    True
    """
    N = np.asarray(_validate.integers("N", N, minimum=2), dtype=float)
    L = np.asarray(_validate.integers("L", L, minimum=3), dtype=float)
    theta0 = _starts(theta0)
    N, L, _ = _validate.broadcast({"N": N, "L": L, "theta0[..., 0]": theta0[..., 0]})
    _validate.allocation("the broadcast of N, L and theta0", N.size * 8)
    if np.any(L <= N):
        raise ValueError("L must be > N (at L = N the flow from θ = 0 never leaves it)")
    A, B, C = closed_form_coefficients(N, L)
    b0, a0, x0 = np.moveaxis(theta0, -1, 0)
    with np.errstate(over="ignore", under="ignore"):
        tau = np.exp(-b0) * np.sqrt(np.pi / (2 * B * C)) * erfcx(a0 * np.sqrt(C / (2 * B)))
    if not np.all(np.isfinite(tau)):
        raise ValueError(
            "theta0 must leave the plateau time τ* = e^−β₀ √(π/2BC) erfcx(α₀ √(C/2B)) finite in float64 "
            f"(β₀ above about −700, α₀ above about −26 √(2B/C)), got {_validate.shown(theta0)}"
        )
    # The positive root of x0 t + A t²/2 = τ*, in the form without cancellation for each sign of x0
    # (t = 0 when τ* underflows to 0 from x0 = 0: the plateau has no length).
    root = np.sqrt(x0**2 + 2 * A * tau)
    ahead = x0 >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ahead, 2 * tau / (root + x0), (root - x0) / A)
    return np.where(ahead & (root + x0 == 0), 0.0, t)


def flow_transition_times(
    N, L, theta0=(0.0, 0.0, 0.0), *, metric=None, lr=1.0, t_max: float = 1e6, rtol: float = 1e-10
) -> np.ndarray:
    """The numeric cliff of the flow dθ/dt = −lr C ∇loss(θ) for each (N, L, θ₀, C, lr).

    The time of the largest |∇loss| along the path, from the compiled flows
    (:func:`phenom.induction.fastflow.flow_quantities`, every flow with its own steps).

    ``N``, ``L``, ``lr``, ``theta0[..., 0]`` and ``metric[..., 0]`` broadcast together. Ranges
    and bounds on work and memory are those of :func:`~phenom.induction.fastflow.flow_quantities`
    (θ₀ within ±THETA_MAX, rtol >= RTOL_MIN).

    Parameters
    ----------
    N, L : int or array of int
        Pairs in context (>= 1) and labels (>= N).
    theta0 : array, shape (3,) or (..., 3)
        Start (β₀, α₀, ξ₀).
    metric : None or array, shape (3,) or (..., 3)
        The diagonal C > 0 of each parameter's rate (None: the mean-field flow, C = 1).
    lr : float or array
        The rate in dθ/dt = −lr C ∇loss (> 0); the cliff scales as 1/lr.
    t_max : float
        Horizon of every flow.
    rtol : float
        Relative tolerance of the integration (absolute: rtol/100); at 1e-10 the cliff is good to
        about 1e-9.

    Returns
    -------
    array of the broadcast shape
        Flow times; NaN where there is no cliff before ``t_max`` (at L = N the start θ = 0 is a
        fixed point, and a start past the cliff has none).

    Examples
    --------
    The cliff at N = 8, L = 32 from θ = 0, at two rates (it scales as 1/lr) and from a start with
    β₀ = 1, where layer 1 already attends to the previous token more:

    >>> import numpy as np
    >>> from phenom.induction.transition import flow_transition_times
    >>> flow_transition_times(8, 32, lr=[1.0, 2.0]).round(2).tolist()
    [97.68, 48.84]
    >>> flow_transition_times(8, 32, theta0=[1.0, 0.0, 0.0]).round(2).tolist()
    64.07
    >>> bool(np.isnan(flow_transition_times(8, 8, t_max=1000.0)))
    True
    """
    theta0 = _starts(theta0)
    C = np.ones(3) if metric is None else _validate.finite_array("metric", metric, last_dim=3)
    N, L = _validate.integers("N", N), _validate.integers("L", L)
    lr = _validate.finite_array("lr", lr)
    if np.any(lr <= 0):
        raise ValueError(f"lr must hold finite numbers > 0, got {_validate.shown(lr)}")
    N, L, lr, _, _ = _validate.broadcast(
        {"N": N, "L": L, "lr": lr, "theta0[..., 0]": theta0[..., 0], "metric[..., 0]": C[..., 0]}
    )
    shape = N.shape
    _validate.allocation("the broadcast of N, L, lr, theta0 and metric (32 numbers a flow)", N.size * 32)
    if N.size == 0:
        return np.empty(shape)
    theta0 = np.broadcast_to(theta0, (*shape, 3)).reshape(-1, 3)
    C = np.broadcast_to(C, (*shape, 3)).reshape(-1, 3)
    rtol = _validate.positive("rtol", rtol)
    cliff = flow_quantities(
        theta0, N=N.ravel(), L=L.ravel(), metric=C, lr=lr.ravel(), t_max=t_max, rtol=rtol, atol=rtol / 100
    )["cliff"]
    return cliff.reshape(shape)


def gd_transition_steps(N: int, L: int, lr, theta0, *, t_max: float) -> np.ndarray:
    """Transition steps of discrete gradient descent θ_{k+1} = θ_k − lr ∇ℓ(θ_k) at one (N, L).

    For each rate ``lr`` and start ``theta0``, all at once.

    ``lr`` (a number or an array of them, > 0) broadcasts against ``theta0[..., 0]`` (``theta0``
    of shape (..., 3)) both ways: rates (3,) against starts (3, 3) pair them up, rates (4, 1)
    against starts (2, 3) give every rate with every start, shape (4, 2).

    Work is bounded before anything runs: t_max / lr at most :data:`GD_MAX_STEPS` steps (so
    lr >= t_max / 10⁶), at most :data:`GD_MAX_MEMBERS` members and :data:`GD_MAX_WORK`
    member-steps; beyond, a ValueError says by how much.

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in context.
    L : int >= N
        Labels.
    lr : float or array
        Step sizes, finite and > 0.
    theta0 : array_like, shape (3,) or (..., 3)
        Starts (β₀, α₀, ξ₀), entries within ±:data:`phenom.induction.fastflow.THETA_MAX`.
    t_max : float
        Flow time each member covers, > 0: ceil(t_max / lr) steps.

    Returns
    -------
    ndarray
        The transition step k* of each member, of the broadcast shape: the step of the largest
        |∇ℓ| (the discrete counterpart of the flow's cliff), NaN where it falls at the first or
        last step of the budget ceil(t_max / lr) or θ stops being finite (a rate past stability
        diverges).

    Examples
    --------
    At N = 8, L = 32 from θ = 0, k* · lr is 102, 100 and 99 at lr = 2, 1 and 0.5, moving
    towards the flow's cliff at t = 97.68 as lr shrinks:

    >>> from phenom.induction.transition import gd_transition_steps
    >>> steps = gd_transition_steps(8, 32, [2.0, 1.0, 0.5], (0.0, 0.0, 0.0), t_max=200.0)
    >>> steps.tolist(), (steps * [2.0, 1.0, 0.5]).tolist()
    ([51.0, 100.0, 198.0], [102.0, 100.0, 99.0])
    """
    N, L = _validate.pairs(_validate.plain(N), _validate.plain(L))
    t_max = _validate.positive("t_max", t_max)
    theta0 = _starts(theta0)
    rates = _validate.finite_array("lr", lr)
    if rates.size == 0 or np.any(rates <= 0):
        raise ValueError(f"lr must hold finite numbers > 0, got {_validate.shown(lr)}")
    lr, _ = _validate.broadcast({"lr": rates, "theta0[..., 0]": theta0[..., 0]})
    shape = lr.shape
    if lr.size > GD_MAX_MEMBERS:
        raise ValueError(f"lr and theta0 broadcast to {lr.size} members, more than the bound of {GD_MAX_MEMBERS}")
    with np.errstate(over="ignore"):
        longest = t_max / float(lr.min())
    if not longest <= GD_MAX_STEPS:
        raise ValueError(
            f"t_max / lr = {longest:.3g} steps exceeds the budget of {GD_MAX_STEPS} steps "
            f"(minutes of work): lr must be >= t_max / {GD_MAX_STEPS} = {t_max / GD_MAX_STEPS:.3g}"
        )
    lr = lr.ravel()
    budget = np.ceil(t_max / lr).astype(np.int64)
    if int(budget.sum()) > GD_MAX_WORK:
        raise ValueError(
            f"the members' budgets ceil(t_max / lr) add up to {int(budget.sum())} steps, more than the "
            f"bound of {GD_MAX_WORK}: fewer rates or starts, larger rates or a shorter t_max"
        )
    theta = np.broadcast_to(theta0, (*shape, 3)).reshape(-1, 3).copy()
    best, best_step = np.full(len(theta), -1.0), np.zeros(len(theta), dtype=np.int64)
    with np.errstate(all="ignore"):  # a diverging member turns non-finite: reported as NaN below
        for k in range(int(budget.max()) + 1):
            live = budget >= k
            g = grad(theta[live], N, L)
            norm = np.sqrt(np.sum(g * g, axis=-1))
            better = norm > best[live]
            idx = np.flatnonzero(live)[better]
            best[idx], best_step[idx] = norm[better], k
            theta[live] -= lr[live, None] * g
    steps = best_step.astype(float)
    steps[(best_step == 0) | (best_step == budget) | ~np.all(np.isfinite(theta), axis=-1)] = np.nan
    return steps.reshape(shape)

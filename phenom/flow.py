"""Gradient flows dθ/dt = −lr ∇loss(θ), one or many at once, and the trajectories they trace.

:func:`gradient_flow` integrates any loss given its gradient with :func:`scipy.integrate.solve_ivp`;
a batch of initial conditions (and per-member learning rates) is integrated as one ODE system,
so a sweep costs one solver call. This module knows no model: a model's flow supplies its loss
and gradient (:mod:`phenom.linear.model`, :class:`phenom.induction.exact.ExactInductionModel`); the β, α, ξ
model has its own compiled integrator (:mod:`phenom.induction.fastflow`) and builds its trajectories
from its steps.

The result is a :class:`Trajectory`: the solver's steps, a dense interpolant, and the questions
one asks of a learning curve (when does the loss reach a level, when does a parameter cross a
value, where is the cliff). A compiled integrator can build one from its own accepted steps and
their Runge–Kutta continuous extensions (:func:`step_extension`), or from values on a time grid
(:func:`grid_hermite`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast, overload

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, minimize_scalar

from phenom import _validate

__all__ = ["Trajectory", "gradient_flow", "step_extension", "grid_hermite"]

ArrayFn = Callable[[np.ndarray], np.ndarray]
LossFn = Callable[[np.ndarray], np.ndarray | float]
"""A loss of θ (..., P): an array of shape (...), or one number for a single θ."""
MemberFn = Callable[[np.ndarray, np.ndarray | int], np.ndarray]
"""A gradient of θ (..., P) for flow(s) ``k`` of a batch (an integer or an integer array)."""
MemberLossFn = Callable[[np.ndarray, np.ndarray | int], np.ndarray | float]

_REFINE = 16  # dense samples per solver step when searching for a crossing


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One gradient-flow path.

    θ(t) between the stored times comes from the interpolant the trajectory was built with (the
    solver's continuous extension, or for values kept only on a grid the interpolant of that
    grid); times outside [t[0], t_max] are a ValueError. A trajectory is made by a flow
    (:func:`gradient_flow`, :func:`phenom.induction.model.induction_flow`), not by hand: its
    interpolant, loss and gradient are private fields.

    Attributes
    ----------
    t : (T,) array
        Times of the solver's steps, from 0 to ``t_max``.
    theta : (T, P) array
        Parameters at those times, columns in the order of ``names``.
    loss : (T,) array
        Loss at those times.
    names : tuple of str
        Parameter names, e.g. ``("beta", "alpha", "xi")``.
    lr : float
        Learning rate: the flow is dθ/dt = −lr ∇loss.
    settings : dict
        What else defines the flow (e.g. N and L), for result files.

    Examples
    --------
    The β, α, ξ model's flow at N = 8, L = 32: the loss starts at log L, sits on its plateau, and
    falls off the cliff near t = 98.

    >>> from phenom import induction_flow
    >>> traj = induction_flow(N=8, L=32, t_max=300.0)
    >>> traj.names, round(float(traj.loss[0]), 4), round(float(traj.loss[-1]), 4)
    (('beta', 'alpha', 'xi'), 3.4657, 0.0047)
    >>> round(traj.cliff(), 2), round(traj.time_to(1.0), 2)
    (97.68, 98.22)
    >>> {name: round(t, 1) for name, t in traj.crossing_times(1.0).items()}
    {'beta': 90.0, 'alpha': 79.3, 'xi': 22.8}
    >>> [round(float(v), 4) for v in traj(100.0)]  # θ between steps, from the interpolant
    [3.9435, 4.5318, 5.8025]
    """

    t: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    names: tuple[str, ...]
    lr: float
    settings: dict = field(default_factory=dict)
    _dense: ArrayFn | None = field(default=None, repr=False)
    _loss_fn: LossFn | None = field(default=None, repr=False)
    _grad_fn: ArrayFn | None = field(default=None, repr=False)
    _facts: dict = field(default_factory=dict, repr=False)
    """What the integrator found on the way, so that it need not be searched for again:
    ``steps`` (accepted solver steps) and ``cliff`` (see :meth:`cliff`)."""

    @property
    def t_max(self) -> float:
        return float(self.t[-1])

    def __repr__(self) -> str:
        steps = self._facts.get("steps", self.t.size - 1)
        parts = [", ".join(self.names)]
        parts += [", ".join(f"{k}={v}" for k, v in self.settings.items())] if self.settings else []
        parts += [f"lr={self.lr:g}", f"{steps} steps", f"t_max={self.t_max:g}", f"final loss {self.loss[-1]:.6g}"]
        if "cliff" in self._facts:
            cliff = self._facts["cliff"]
            parts.append("no cliff" if cliff is None else f"cliff at t={cliff:.6g}")
        return f"Trajectory({'; '.join(parts)})"

    def __call__(self, t) -> np.ndarray:
        """θ at time(s) ``t`` from the dense interpolant: shape (P,) or (len(t), P)."""
        t = _validate.finite_array("t", t)
        t0 = float(self.t[0])
        if t.size == 0 or not np.all((t >= t0) & (t <= self.t_max)):
            raise ValueError(
                f"t must be times in [{t0:g}, t_max = {self.t_max:g}] (at least one), got {_validate.shown(t)}"
            )
        assert self._dense is not None, "a Trajectory is built with its interpolant"
        return self._dense(t.ravel()).reshape(*t.shape, len(self.names))

    def loss_at(self, t) -> np.ndarray | float:
        """Loss at time(s) ``t``."""
        assert self._loss_fn is not None, "a Trajectory is built with its loss"
        return self._loss_fn(self(t))

    def grad_norm_at(self, t) -> np.ndarray:
        """|∇loss| at time(s) ``t``: the speed of the flow divided by lr (with a metric C the speed
        is lr |C ∇loss|; the cliff is still where the loss's own gradient peaks)."""
        assert self._grad_fn is not None, "a Trajectory is built with its gradient"
        return np.linalg.norm(self._grad_fn(self(t)), axis=-1)

    def sample(self, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t, θ, loss) on ``n`` evenly spaced times, for plotting and tables."""
        t = np.linspace(float(self.t[0]), self.t_max, n)
        theta = self(t)
        assert self._loss_fn is not None, "a Trajectory is built with its loss"
        return t, theta, cast(np.ndarray, self._loss_fn(theta))  # (n, P) θ: an array of n losses

    def _first_crossing(self, f: Callable[[np.ndarray], np.ndarray | float], level: float):
        """First t where f(t) − level changes sign (or touches 0), refined by Brent's method."""
        start, width = self.t[:-1, None], np.diff(self.t)[:, None]
        fine = np.unique(np.append((start + width * (np.arange(_REFINE) / _REFINE)).ravel(), self.t[-1]))
        g = cast(np.ndarray, f(fine)) - level  # f of an array of times is an array
        if g[0] == 0:
            return 0.0
        hits = np.flatnonzero(np.sign(g[1:]) != np.sign(g[0]))
        if hits.size == 0:
            return None
        i = hits[0]
        if g[i + 1] == 0:
            return float(fine[i + 1])
        return float(brentq(lambda s: float(f(np.array(s))) - level, fine[i], fine[i + 1], xtol=1e-12, rtol=1e-12))

    def time_to(self, level: float) -> float | None:
        """First time the loss reaches ``level`` (interpolated); None if not within t_max."""
        level = _one_number("level", level)
        if self.loss[0] <= level:
            return 0.0
        return self._first_crossing(self.loss_at, level)

    def crossing_time(self, name: str, value: float) -> float | None:
        """First time parameter ``name`` reaches ``value``; None if not within t_max."""
        if name not in self.names:
            raise ValueError(f"name must be one of {self.names}, got {name!r}")
        k = self.names.index(name)
        return self._first_crossing(lambda t: self(t)[..., k], _one_number("value", value))

    def crossing_times(self, value: float) -> dict[str, float | None]:
        """First time each parameter reaches ``value``."""
        return {name: self.crossing_time(name, value) for name in self.names}

    def cliff(self) -> float | None:
        """Time where |∇loss| peaks along the path: the edge of the cliff the flow falls off.

        None when |∇loss| has no interior maximum on [0, t_max]: a stationary start, a flow
        still on its plateau at t_max, or one that starts past the cliff. A compiled flow found it
        while it ran (where d|∇loss|/dt changes sign on the solver's continuous extension); other
        trajectories search 2001 even times and refine the best.
        """
        if "cliff" in self._facts:
            return self._facts["cliff"]
        t = np.linspace(float(self.t[0]), self.t_max, 2001)
        speed = self.grad_norm_at(t)
        i = int(np.argmax(speed))
        if speed[i] == 0 or i == 0 or i == t.size - 1:
            return None
        lo, hi = t[max(i - 1, 0)], t[min(i + 1, t.size - 1)]
        best = minimize_scalar(
            lambda s: -float(self.grad_norm_at(np.array(s))),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-9 * max(1.0, self.t_max)},
        )
        return float(best.x) if -best.fun >= speed[i] else float(t[i])

    def to_columns(self, n: int = 400) -> dict[str, np.ndarray]:
        """The sampled path as named columns: t, each parameter, loss."""
        t, theta, loss = self.sample(n)
        return {"t": t, **{name: theta[:, k] for k, name in enumerate(self.names)}, "loss": loss}


def step_extension(t: np.ndarray, y: np.ndarray, Qh: np.ndarray) -> ArrayFn:
    """θ(t) from a Runge–Kutta solver's accepted points and the continuous extension of each step.

    ``t`` (T,) and ``y`` (T, P) are the accepted points; ``Qh`` (T − 1, P, Q) holds each step's
    extension in scipy's form (``scipy.integrate.RK45``'s dense output: Q = Kᵀ P, here times the
    step h), so that inside step i, with σ = (t − t_i)/(t_{i+1} − t_i),
    θ(t) = y_i + Σ_q Qh[i, :, q] σ^(q+1).

    Parameters
    ----------
    t : (T,) array
        Times of the accepted points, increasing, T >= 2.
    y : (T, P) array
        The solution at those times.
    Qh : (T − 1, P, Q) array
        Each step's extension coefficients times its step size h (Q = 4 for RK45).

    Returns
    -------
    callable
        ``dense(s)``: θ at the times ``s`` (a 1-D array), shape (len(s), P). Times are not checked:
        one outside [t[0], t[-1]] extends the first or last step's polynomial.

    Examples
    --------
    The extension of scipy's own RK45 steps reproduces its dense output; on dy/dt = −y it gives
    e^−1 at t = 1:

    >>> import numpy as np
    >>> from scipy.integrate import solve_ivp
    >>> from phenom.flow import step_extension
    >>> sol = solve_ivp(lambda t, y: -y, (0.0, 2.0), [1.0], rtol=1e-10, atol=1e-12, dense_output=True)
    >>> Qh = np.stack([step.Q * step.h for step in sol.sol.interpolants])
    >>> dense = step_extension(sol.t, sol.y.T, Qh)
    >>> round(float(dense(np.array([1.0]))[0, 0]), 8), round(float(np.exp(-1.0)), 8)
    (0.36787944, 0.36787944)
    >>> bool(np.allclose(dense(np.linspace(0, 2, 9))[:, 0], sol.sol(np.linspace(0, 2, 9))[0], rtol=1e-13))
    True
    """
    order = Qh.shape[-1]

    def dense(s: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(t, s, side="right") - 1, 0, t.size - 2)
        sigma = ((s - t[i]) / (t[i + 1] - t[i]))[:, None]
        q = Qh[i]
        acc = q[..., order - 1]
        for k in range(order - 2, -1, -1):  # Horner in σ
            acc = q[..., k] + sigma * acc
        return y[i] + sigma * acc

    return dense


def grid_hermite(t: np.ndarray, y: np.ndarray, slope: ArrayFn) -> ArrayFn:
    """θ(t) between values kept on a time grid: the cubic Hermite interpolant on the flow's slopes.

    The interpolant of the values ``y`` (T, P) on the grid ``t`` (T,) and of the flow's own slopes
    dθ/dt = ``slope(y)`` there (evaluated once, on first use). Exact at the grid times; between
    them its error is O(Δt⁴), set by the grid, not by the solver's tolerance.

    Parameters
    ----------
    t : (T,) array
        Grid times, increasing (T >= 1; with one time the interpolant is constant).
    y : (T, P) array
        θ at the grid times.
    slope : callable
        ``slope(y)`` → dθ/dt at each row of ``y``, shape (T, P).

    Returns
    -------
    callable
        ``dense(s)``: θ at the times ``s`` (a 1-D array), shape (len(s), P).

    Examples
    --------
    e^−t kept on 11 grid times from 0 to 2, read between them: the error is about 1e-6, the
    O(Δt⁴) of the grid (Δt = 0.2).

    >>> import numpy as np
    >>> from phenom.flow import grid_hermite
    >>> t = np.linspace(0.0, 2.0, 11)
    >>> dense = grid_hermite(t, np.exp(-t)[:, None], lambda y: -y)
    >>> value = float(dense(np.array([1.05]))[0, 0])
    >>> round(value, 5), bool(abs(value - np.exp(-1.05)) < 1e-5)
    (0.34994, True)
    """
    cache = {}

    def dense(s: np.ndarray) -> np.ndarray:
        if "dy" not in cache:
            cache["dy"] = slope(y)
        dy = cache["dy"]
        if t.size == 1:
            return np.broadcast_to(y[0], (s.size, y.shape[1])).copy()
        i = np.clip(np.searchsorted(t, s, side="right") - 1, 0, t.size - 2)
        h = (t[i + 1] - t[i])[:, None]
        u = ((s - t[i]) / (t[i + 1] - t[i]))[:, None]
        h00, h10 = (1 + 2 * u) * (1 - u) ** 2, u * (1 - u) ** 2
        h01, h11 = u * u * (3 - 2 * u), u * u * (u - 1)
        return h00 * y[i] + h10 * h * dy[i] + h01 * y[i + 1] + h11 * h * dy[i + 1]

    return dense


def _one_number(name: str, value) -> float:
    arr = _validate.finite_array(name, value)
    if arr.ndim:
        raise ValueError(f"{name} must be one number, got {_validate.shown(value)}")
    return float(arr)


@overload
def gradient_flow(
    loss_fn: MemberLossFn,
    grad_fn: MemberFn,
    theta0: Sequence[float],
    *,
    t_max: float,
    lr: float = ...,
    names: Sequence[str],
    settings: dict | None = ...,
    metric: Sequence[float] | None = ...,
    rtol: float = ...,
    atol: float = ...,
    method: str = ...,
) -> Trajectory: ...


@overload
def gradient_flow(
    loss_fn: MemberLossFn,
    grad_fn: MemberFn,
    theta0: Sequence[Sequence[float]],
    *,
    t_max: float,
    lr=...,
    names: Sequence[str],
    settings: Sequence[dict] | dict | None = ...,
    metric=...,
    rtol: float = ...,
    atol: float = ...,
    method: str = ...,
) -> list[Trajectory]: ...


@overload
def gradient_flow(
    loss_fn: MemberLossFn,
    grad_fn: MemberFn,
    theta0,
    *,
    t_max: float,
    lr=...,
    names: Sequence[str],
    settings: Sequence[dict] | dict | None = ...,
    metric=...,
    rtol: float = ...,
    atol: float = ...,
    method: str = ...,
) -> Trajectory | list[Trajectory]: ...


def gradient_flow(
    loss_fn: MemberLossFn,
    grad_fn: MemberFn,
    theta0,
    *,
    t_max: float,
    lr=1.0,
    names: Sequence[str],
    settings: Sequence[dict] | dict | None = None,
    metric=None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    method: str = "RK45",
) -> Trajectory | list[Trajectory]:
    """Integrate dθ/dt = −lr C ∇loss(θ) on [0, t_max], C = diag(``metric``) (identity if None).

    ``loss_fn(theta, k)`` and ``grad_fn(theta, k)`` take θ of shape (..., P) and an integer
    array ``k`` (broadcasting against ``theta[..., 0]``) saying which flow of the batch each θ
    belongs to, for losses whose constants differ between flows; they return shapes (...) and
    (..., P). ``theta0`` of shape (P,) gives one :class:`Trajectory`; shape (B, P) gives a list
    of B, integrated together as one ODE system. ``lr`` may be a scalar or one rate per flow;
    ``metric`` (positive) may be shape (P,) or one row (B, P) per flow: each parameter's own
    rate, for a model whose parameters stand for weights that learn at different speeds.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(theta, k)``: the loss of θ (..., P) of flow(s) ``k``, shape (...).
    grad_fn : callable
        ``grad_fn(theta, k)``: its gradient, shape (..., P).
    theta0 : array_like, shape (P,) or (B, P)
        Start(s), finite.
    t_max : float
        End of the integration, > 0.
    lr : float or (B,) array
        Learning rate(s), finite and > 0 (default 1).
    names : sequence of str
        The P parameter names (their count sets P).
    settings : dict, sequence of B dicts, or None
        What else defines each flow (e.g. N and L), kept in the trajectories for result files.
    metric : None or array_like, shape (P,) or (B, P)
        The diagonal C, entries > 0 (None: C = 1).
    rtol, atol : float
        Tolerances of :func:`scipy.integrate.solve_ivp`, held per flow (default 1e-9, 1e-12).
    method : str
        Any of solve_ivp's methods (default ``"RK45"``).

    Returns
    -------
    Trajectory or list of Trajectory
        One trajectory for a start of shape (P,), a list of B for (B, P).

    Raises
    ------
    ValueError
        An argument outside its range.
    RuntimeError
        The solver failed.

    Examples
    --------
    On loss(θ) = |θ|²/2 the flow is θ(t) = θ₀ e^−lr·t, so the loss 5/2 e^−2t falls to 5/2 e^−2
    at t = 1; a batch of two flows with their own rates runs as one system.

    >>> import numpy as np
    >>> from phenom.flow import gradient_flow
    >>> def loss(theta, k):
    ...     return 0.5 * np.sum(theta**2, axis=-1)
    >>> def grad(theta, k):
    ...     return theta
    >>> traj = gradient_flow(loss, grad, [1.0, 2.0], t_max=3.0, names=("a", "b"))
    >>> [round(float(v), 6) for v in traj(1.0)]
    [0.367879, 0.735759]
    >>> round(traj.time_to(2.5 * np.exp(-2.0)), 6)
    1.0
    >>> fast, slow = gradient_flow(loss, grad, [[1.0, 0.0], [1.0, 0.0]], t_max=1.0, lr=[2.0, 0.5], names=("a", "b"))
    >>> round(float(fast.theta[-1, 0]), 6), round(float(slow.theta[-1, 0]), 6)
    (0.135335, 0.606531)
    """
    P = len(names)
    theta0 = _validate.finite_array("theta0", theta0, last_dim=P)
    t_max = _validate.positive("t_max", t_max)
    single = theta0.ndim == 1
    start = np.atleast_2d(theta0)
    if start.ndim != 2:
        raise ValueError(f"theta0 must have shape ({P},) or (B, {P}), got {theta0.shape}")
    B = start.shape[0]
    lr_arr = np.asarray(lr, dtype=float)
    if lr_arr.ndim == 0:
        _validate.positive("lr", float(lr_arr))
    elif lr_arr.shape != (B,) or not np.all(np.isfinite(lr_arr) & (lr_arr > 0)):
        raise ValueError(f"lr must be a finite number > 0 or {B} such numbers, got {lr!r}")
    lr_col = np.broadcast_to(lr_arr, (B,))[:, None]
    rate = lr_col * _metric(metric, B, P)  # (B, P): lr · C for each flow
    members = np.arange(B)
    # solve_ivp controls the RMS error over all B·P components; tighten by √B so that each
    # flow of a batch is held to the tolerance it would have alone.
    rtol, atol = rtol / np.sqrt(B), atol / np.sqrt(B)

    def rhs(_t, y):
        return (-rate * grad_fn(y.reshape(B, P), members)).ravel()

    sol = solve_ivp(rhs, (0.0, t_max), start.ravel(), method=method, rtol=rtol, atol=atol, dense_output=True)
    if not sol.success:
        raise RuntimeError(f"gradient flow failed: {sol.message}")
    if settings is None or isinstance(settings, dict):
        settings = [dict(settings or {})] * B
    flows = [_member(sol, b, B, names, float(lr_col[b, 0]), settings[b], loss_fn, grad_fn) for b in range(B)]
    return flows[0] if single else flows


def _metric(metric, B: int, P: int) -> np.ndarray:
    """The diagonal metric as a (B, P) array of positive rates."""
    if metric is None:
        return np.ones((B, P))
    m = _validate.finite_array("metric", metric, last_dim=P)
    if m.ndim > 2 or (m.ndim == 2 and m.shape[0] != B) or not np.all(m > 0):
        raise ValueError(f"metric must hold positive numbers, shape ({P},) or ({B}, {P}), got {metric!r}")
    return np.broadcast_to(m, (B, P))


def _member(
    sol, b: int, B: int, names: Sequence[str], lr: float, settings: dict, loss_fn: MemberLossFn, grad_fn: MemberFn
) -> Trajectory:
    """Flow ``b`` of a batch of ``B`` integrated as one system by ``solve_ivp`` (``sol``)."""
    P = len(names)
    path = sol.y.reshape(B, P, -1)[b].T  # (T, P)

    def dense(t):
        t = np.asarray(t, dtype=float)
        return np.moveaxis(sol.sol(t).reshape(B, P, *t.shape)[b], 0, -1)

    return Trajectory(
        t=sol.t.copy(),
        theta=path,
        loss=np.asarray(loss_fn(path, b), dtype=float),
        names=tuple(names),
        lr=lr,
        settings=dict(settings),
        _dense=dense,
        _loss_fn=lambda theta: loss_fn(theta, b),
        _grad_fn=lambda theta: grad_fn(theta, b),
    )

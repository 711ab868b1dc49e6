"""β, α, ξ flows compiled: every member of a batch steps on its own, and keeps only what is asked.

Each member is integrated by its own adaptive Dormand–Prince 5(4) pair (the coefficients and
step control of :class:`scipy.integrate.RK45`) on the fused kernels of
:mod:`phenom.induction.kernels`, inside one numba loop over the members (``phenom/induction/_dopri.py``).
What a member keeps is chosen by the caller:

- :func:`flow_quantities`: the numbers a sweep asks of a flow, found while it runs by root-finding
  on each step's continuous extension (4th order), one number per member, memory O(members):

  - the **cliff**: the time of the largest interior maximum of |∇loss| along the path, where
    d|∇loss|²/dt = −2 lr ∇lossᵀ H (C ⊙ ∇loss) changes sign from + to − (NaN when |∇loss| is
    largest at t = 0 or at t_max, as for :meth:`phenom.flow.Trajectory.cliff`);
  - the first time the loss falls to each of ``levels`` (:meth:`~phenom.flow.Trajectory.time_to`);
  - the first time each parameter rises to ``crossing`` (:meth:`~phenom.flow.Trajectory.crossing_times`);
  - the state and loss at t_max, and the number of accepted steps.

- :func:`trajectories`: :class:`phenom.flow.Trajectory` objects, either with every accepted step
  and its continuous extension (dense θ(t), as scipy's ``dense_output``) or with θ and the loss on
  a time grid only (``t_eval``); the cliff is found while integrating in both cases.

Threads: a batch smaller than :data:`PARALLEL_MIN` runs serially in the calling thread (a
parallel region's start and join cost more than one member, and far more when another process
holds a core); a larger one runs on up to as many threads as the process may use cores, in
small chunks handed out as threads become free, with numba's thread count set for the call and
restored after it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from phenom import _validate
from phenom.flow import Trajectory, grid_hermite, step_extension
from phenom.induction import kernels
from phenom.induction.derivation import PARAMETERS

__all__ = ["flow_quantities", "trajectories", "model_values"]

THETA_MAX = 1e6
"""The largest |β|, |α|, |ξ| of a start: logits far past saturation (e^−745 underflows), small
enough that the loss, its gradient and its Hessian stay far inside float64."""
RTOL_MIN = 100 * float(np.finfo(float).eps)
"""The tightest relative tolerance (as scipy's RK45): float64 cannot meet a tighter one."""
MAX_STEPS = 10**8
"""The most step attempts one member may take (minutes of compiled work)."""

PARALLEL_MIN = 32
"""Members from which a batch is spread over threads."""

ROW_BUDGET = 1 << 19
"""Accepted points reserved at first for a batch's dense trajectories, shared among its members
(from :data:`MIN_ROWS` to :data:`MAX_ROWS` each); a member with more steps is integrated again
into exactly as many rows as it needs."""
MIN_ROWS, MAX_ROWS = 256, 4096
MEMBER_FLOATS = 32
"""Floats a member's inputs and summary take (θ₀, N, L, C, lr, results, and copies of them)."""


def _module():
    """The compiled kernels and integrator (:func:`phenom.induction.kernels.flow_module`)."""
    return kernels.flow_module()


def _threads(members: int) -> int:
    if members < PARALLEL_MIN:
        return 1
    import numba  # loaded with the compiled module; not at import, so that the model's import stays light

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(numba.get_num_threads(), cores, members // (PARALLEL_MIN // 2)))


@dataclass
class _Run:
    """The arrays a batch of members writes: see ``one`` in ``phenom/induction/_dopri.py``."""

    results: np.ndarray
    firsts: np.ndarray
    values: np.ndarray
    offsets: np.ndarray
    st: np.ndarray
    sy: np.ndarray
    sl: np.ndarray
    sq: np.ndarray


def _integrate(theta0, N, L, C, lr, t_max, rtol, atol, *, levels, crossing, max_steps, t_eval, rows) -> _Run:
    """Integrate members (theta0 (B, 3), N, L, lr (B,), C (B, 3)); ``rows`` (B,) accepted points
    to keep per member (0: none)."""
    module = _module()
    B = theta0.shape[0]
    offsets = np.zeros(B + 1, dtype=np.int64)
    np.cumsum(rows, out=offsets[1:])
    total = int(offsets[-1])
    run = _Run(
        results=np.empty((B, 9)),
        firsts=np.empty((B, levels.size + 3)),
        values=np.empty((B, t_eval.size, 4)),
        offsets=offsets,
        st=np.empty(total),
        sy=np.empty((total, 3)),
        sl=np.empty(total),
        sq=np.empty((total, 3, 4)),
    )
    args = (
        theta0,
        N,
        L,
        C,
        lr,
        t_max,
        rtol,
        atol,
        levels,
        crossing,
        max_steps,
        run.results,
        run.firsts,
        t_eval,
        run.values,
        run.offsets,
        run.st,
        run.sy,
        run.sl,
        run.sq,
    )
    threads = _threads(B)
    if threads == 1:
        module.batch_serial(*args)
        return run
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:  # chunks of a few members, taken by whichever thread is free: a busy core slows one thread only
        with numba.parallel_chunksize(max(1, B // (64 * threads))):
            module.batch(*args)
    finally:
        numba.set_num_threads(before)
    return run


def _full(a, shape) -> np.ndarray:
    """A fresh writable C array of floats: one compiled signature for every call."""
    return np.array(np.broadcast_to(np.asarray(a, dtype=float), shape), order="C")


def _per_member(name: str, value) -> np.ndarray:
    """A number or a 1-D sequence of them, as a 1-D array (length 1 for a number)."""
    a = np.atleast_1d(np.asarray(value, dtype=object))
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence, got shape {a.shape}")
    return a


def _members(theta0, N, L, metric, lr):
    """Checked per-member inputs: θ0 (B, 3), N, L, lr (B,), C (B, 3) as fresh float arrays, and B."""
    theta0 = _validate.finite_array("theta0", theta0, last_dim=3)
    if theta0.ndim > 2 or theta0.size == 0:
        raise ValueError(f"theta0 must have shape (3,) or (B, 3) with B >= 1, got {theta0.shape}")
    if np.any(np.abs(theta0) > THETA_MAX):
        raise ValueError(
            f"theta0 must hold numbers from {-THETA_MAX:g} to {THETA_MAX:g}, got {_validate.shown(theta0)}"
        )
    C = np.ones(3) if metric is None else _validate.finite_array("metric", metric, last_dim=3)
    if C.ndim > 2 or C.size == 0 or np.any(C <= 0):
        raise ValueError("metric must hold numbers > 0 (the rate of each parameter), shape (3,) or (B, 3)")
    Ns, Ls, lrs = _per_member("N", N), _per_member("L", L), _per_member("lr", lr)
    sizes = {a.shape[0] for a in (Ns, Ls, lrs, theta0.reshape(-1, 3), C.reshape(-1, 3)) if a.shape[0] != 1}
    if len(sizes) > 1:
        raise ValueError(
            f"theta0, N, L, metric and lr must have one length (or 1), the batch size; got lengths {sorted(sizes)}"
        )
    size = sizes.pop() if sizes else 1
    _validate.allocation("the batch (theta0, N, L, metric, lr)", size * MEMBER_FLOATS)
    keys = list(zip(np.broadcast_to(Ns, size), np.broadcast_to(Ls, size), strict=True))
    checked = {}
    for key in keys:
        try:
            known = key in checked
        except TypeError:  # a dict or a list: no count (pairs says so)
            known = False
        if not known:
            checked[key] = _validate.pairs(*(_validate.plain(v) for v in key))
    pairs = np.array([checked[key] for key in keys], dtype=float)
    lrs = np.array([_validate.positive("lr", v) for v in lrs])
    return (
        _full(theta0, (size, 3)),
        _full(pairs[:, 0], size),
        _full(pairs[:, 1], size),
        _full(C, (size, 3)),
        _full(lrs, size),
        size,
    )


def _controls(t_max, rtol, atol, max_steps) -> tuple[float, float, float, int]:
    """Checked t_max > 0, rtol >= :data:`RTOL_MIN`, atol > 0 and max_steps <= :data:`MAX_STEPS`."""
    t_max = _validate.positive("t_max", t_max)
    rtol = _validate.positive("rtol", rtol)
    if rtol < RTOL_MIN:
        raise ValueError(
            f"rtol must be >= {RTOL_MIN:.3g} (100 float64 spacings: a tighter one cannot be met), got {rtol:g}"
        )
    atol = _validate.positive("atol", atol)
    max_steps = _validate.count_within("max_steps", max_steps, 1, MAX_STEPS, "minutes of work per member")
    return t_max, rtol, atol, max_steps


def _levels(levels) -> np.ndarray:
    """Loss levels: a finite real number or a 1-D sequence of them (possibly empty)."""
    arr = _validate.finite_array("levels", levels)
    if arr.ndim > 1:
        raise ValueError(f"levels must be a finite number or a 1-D sequence of them, got shape {arr.shape}")
    return np.array(np.atleast_1d(arr), dtype=float, order="C")


def flow_quantities(
    theta0=(0.0, 0.0, 0.0),
    *,
    N=8,
    L=32,
    metric=None,
    lr=1.0,
    t_max: float = 300.0,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    levels=(),
    crossing: float | None = None,
    max_steps: int = 1_000_000,
    chunk: int = 65536,
) -> dict[str, np.ndarray]:
    """Integrate B flows of the β, α, ξ model to ``t_max`` and return the numbers a sweep asks of each.

    Each flow dθ/dt = −lr C ∇loss(θ) takes its own adaptive steps and keeps, per member, only the
    quantities listed under Returns, found while it runs. Work: at most ``max_steps`` attempted
    steps per member; memory: the batch's arrays (about (32 + len(levels)) numbers per member)
    within :data:`phenom._validate.MAX_BYTES`, else a ValueError before anything is allocated. A
    member that ends within a few float spacings of ``t_max`` has finished.

    Parameters
    ----------
    theta0 : array_like, shape (3,) or (B, 3)
        Start(s) (β₀, α₀, ξ₀), entries within ±:data:`THETA_MAX` (default θ = 0).
    N : int or sequence of int
        Item–label pairs in context, >= 1; a number or one per member (default 8).
    L : int or sequence of int
        Labels, >= N (default 32).
    metric : None or array_like, shape (3,) or (B, 3)
        The diagonal C, entries finite and > 0 (None: 1). A rate so large that lr C ∇loss
        overflows leaves the member incomplete at t = 0.
    lr : float or sequence of float
        Learning rate(s), finite and > 0 (default 1).
    t_max : float
        Flow time to integrate to, > 0 (default 300).
    rtol : float
        Relative tolerance, >= :data:`RTOL_MIN` (default 1e-7: transition times within about
        1e-7 of a tight solve).
    atol : float
        Absolute tolerance, > 0 (default 1e-9).
    levels : float or sequence of float
        Loss levels whose first times are wanted, finite (default none).
    crossing : float or None
        A value whose first rise of each parameter is wanted, finite (default None: not asked).
    max_steps : int
        Attempted steps a member may take, from 1 to :data:`MAX_STEPS` (default 10⁶).
    chunk : int >= 1
        Members processed at a time (default 65536).

    Returns
    -------
    dict of str to array
        Per member (arrays of length B):

        - ``cliff``: the time of the largest interior maximum of |∇loss| (NaN: none, as
          :meth:`~phenom.flow.Trajectory.cliff`'s None);
        - ``time_to`` (B, len(levels)): the first time the loss is ≤ each level (NaN: not reached);
        - ``crossing_times`` (B, 3), with ``crossing``: the first time β, α, ξ are ≥ ``crossing``
          (0 if they start there; NaN: never). Unlike :meth:`~phenom.flow.Trajectory.crossing_times`,
          which reports a crossing in either direction, this is the rise of a parameter;
        - ``theta_end`` (B, 3), ``loss_end``, ``t_end``, ``steps`` (accepted) and ``complete``: False
          where the member stopped before ``t_max`` (``max_steps`` attempted steps, or a step size
          that underflowed, e.g. from a non-finite gradient); its other quantities are then NaN or
          partial.

    Examples
    --------
    Three flows at N = 4, 8, 16 (L = 32): the cliff comes later as N grows, the loss falls to 1
    just after it, and ξ rises to 1 long before α and β.

    >>> from phenom.induction.fastflow import flow_quantities
    >>> q = flow_quantities(N=[4, 8, 16], L=32, t_max=1000.0, levels=[1.0], crossing=1.0)
    >>> q["cliff"].round(2).tolist(), q["time_to"][:, 0].round(2).tolist()
    ([37.52, 97.68, 311.47], [38.21, 98.22, 311.94])
    >>> q["crossing_times"][1].round(1).tolist(), bool(q["complete"].all())
    ([90.0, 79.3, 22.8], True)
    """
    theta0, Ns, Ls, C, lrs, size = _members(theta0, N, L, metric, lr)
    t_max, rtol, atol, max_steps = _controls(t_max, rtol, atol, max_steps)
    levels = _levels(levels)
    _validate.allocation("levels (per member)", size * levels.size)
    cross = np.full(3, np.inf) if crossing is None else np.full(3, _validate.real("crossing", crossing))
    chunk = _validate.count("chunk", chunk)
    results = np.empty((size, 9))
    firsts = np.empty((size, levels.size + 3))
    for start in range(0, size, chunk):
        part = slice(start, min(start + chunk, size))
        n = part.stop - part.start
        run = _integrate(
            theta0[part],
            Ns[part],
            Ls[part],
            C[part],
            lrs[part],
            t_max,
            rtol,
            atol,
            levels=levels,
            crossing=cross,
            max_steps=max_steps,
            t_eval=np.empty(0),
            rows=np.zeros(n, dtype=np.int64),
        )
        results[part], firsts[part] = run.results, run.firsts
    out = {
        "cliff": results[:, 0],
        "loss_end": results[:, 1],
        "steps": results[:, 2].astype(int),
        "t_end": results[:, 3],
        "theta_end": results[:, 4:7],
        "complete": results[:, 7] == 1.0,
        "time_to": firsts[:, : levels.size],
    }
    if crossing is not None:
        out["crossing_times"] = firsts[:, levels.size :]
    return out


def model_values(theta: np.ndarray, N: float, L: float) -> np.ndarray:
    """Loss and gradient of the (N, L) model at θ (..., 3), compiled: shape (..., 4), loss first.

    Unchecked: the compiled kernels of :func:`phenom.induction.kernels.compiled` evaluated at
    every θ, for callers that have checked their inputs (the numpy functions of
    :class:`~phenom.induction.model.InductionHeadModel` check theirs).

    Parameters
    ----------
    theta : array_like, shape (..., 3)
        Points (β, α, ξ).
    N : float
        Item–label pairs in context.
    L : float
        Labels.

    Returns
    -------
    ndarray, shape (..., 4)
        The loss, then ∂loss/∂β, ∂loss/∂α, ∂loss/∂ξ.

    Examples
    --------
    At θ = 0: log 32 and the force on ξ alone, −(L − N)/(L (2N + 1)) = −3/68.

    >>> import numpy as np
    >>> from phenom.induction.fastflow import model_values
    >>> loss, d_beta, d_alpha, d_xi = model_values(np.zeros(3), 8, 32)
    >>> round(float(loss), 6), bool(d_beta == 0 and d_alpha == 0), round(float(d_xi), 6)
    (3.465736, True, -0.044118)
    """
    theta = np.asarray(theta, dtype=float)
    flat = np.ascontiguousarray(theta.reshape(-1, 3))
    out = np.empty((flat.shape[0], 4))
    _module().evaluate(flat, float(N), float(L), out)
    return out.reshape(*theta.shape[:-1], 4)


def _t_grid(t_eval, t_max: float) -> np.ndarray:
    grid = _validate.finite_array("t_eval", t_eval)
    if grid.ndim != 1 or grid.size == 0 or np.any(grid < 0) or np.any(grid > t_max) or np.any(np.diff(grid) <= 0):
        raise ValueError(
            f"t_eval must be increasing times in [0, t_max = {t_max:g}] (at least one), got {_validate.shown(t_eval)}"
        )
    return np.array(grid, dtype=float, order="C")


def trajectories(
    theta0=(0.0, 0.0, 0.0),
    *,
    N=8,
    L=32,
    metric=None,
    lr=1.0,
    t_max: float = 300.0,
    t_eval=None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    max_steps: int = 1_000_000,
    settings: list[dict] | None = None,
) -> list[Trajectory]:
    """The flows of :func:`flow_quantities` as one :class:`~phenom.flow.Trajectory` per member.

    Without ``t_eval``, each keeps its accepted steps and their continuous extensions: θ(t) at
    any t in [0, t_max] is the solver's own 4th-order interpolant. With ``t_eval`` (increasing
    times in [0, t_max]) each keeps θ and the loss on that grid only (the flow still runs to
    t_max); between grid times θ(t) is the cubic Hermite interpolant of the grid values and the
    flow's slopes there (:func:`phenom.flow.grid_hermite`), and times outside [t_eval[0],
    t_eval[-1]] are a ValueError. Either way the cliff was found while integrating. A member
    that cannot reach t_max (``max_steps`` attempts, or a step size that underflowed) is a
    RuntimeError. ``settings`` (one dict per member) default to {"N": …, "L": …}.

    Memory: a member's dense output is 17 numbers per accepted step (t, θ, loss and the 3 × 4
    extension), in one block shared by the batch (rows reserved per member, :data:`ROW_BUDGET`);
    with ``t_eval``, 4 numbers per grid time. What is reserved at first must fit in
    :data:`phenom._validate.MAX_BYTES` (else a ValueError before allocating). The arguments'
    ranges are those of :func:`flow_quantities`.

    Parameters
    ----------
    theta0, N, L, metric, lr, t_max, max_steps
        As for :func:`flow_quantities`.
    t_eval : None or 1-D array
        Increasing times in [0, t_max] to keep θ and the loss at (None: every accepted step).
    rtol : float
        Relative tolerance, >= :data:`RTOL_MIN` (default 1e-9).
    atol : float
        Absolute tolerance, > 0 (default 1e-12).
    settings : None or list of dict
        One dict per member, kept in its trajectory (None: {"N": …, "L": …}).

    Returns
    -------
    list of Trajectory
        One :class:`~phenom.flow.Trajectory` per member, with its cliff already found.

    Raises
    ------
    RuntimeError
        A member that cannot reach ``t_max``.

    Examples
    --------
    Three flows at L = 16, 32, 64 (N = 8): the cliff moves earlier as L grows, towards its
    large-L limit. On a grid, the trajectory keeps only the grid's times.

    >>> from phenom.induction.fastflow import trajectories
    >>> flows = trajectories(N=8, L=[16, 32, 64], t_max=300.0)
    >>> [round(flow.cliff(), 2) for flow in flows], flows[0].settings
    ([120.36, 97.68, 89.83], {'N': 8, 'L': 16})
    >>> on_grid = trajectories(N=8, L=32, t_max=300.0, t_eval=[0.0, 100.0, 200.0, 300.0])[0]
    >>> on_grid.t.tolist(), round(on_grid.cliff(), 2)
    ([0.0, 100.0, 200.0, 300.0], 97.68)
    """
    theta0, Ns, Ls, C, lrs, size = _members(theta0, N, L, metric, lr)
    t_max, rtol, atol, max_steps = _controls(t_max, rtol, atol, max_steps)
    grid = np.empty(0) if t_eval is None else _t_grid(t_eval, t_max)
    rows = np.zeros(size, dtype=np.int64)
    if t_eval is None:
        rows[:] = min(MAX_ROWS, max(MIN_ROWS, ROW_BUDGET // size))
        _validate.allocation("the batch's dense output (theta0, N, L, lr)", int(rows.sum()) * 17)
    else:
        _validate.allocation("t_eval (4 numbers per member and time)", size * grid.size * 4)
    options = dict(levels=np.empty(0), crossing=np.full(3, np.inf), max_steps=max_steps, t_eval=grid)
    run = _integrate(theta0, Ns, Ls, C, lrs, t_max, rtol, atol, rows=rows, **options)
    failed = np.flatnonzero(run.results[:, 7] != 1.0)
    if failed.size:
        raise RuntimeError(
            f"gradient flow failed: {failed.size} of {size} flows (first: member {failed[0]}) "
            f"stopped at t = {run.results[failed[0], 3]:g} before t_max = {t_max:g} (max_steps "
            f"{max_steps} attempts, or a step size below the spacing of floats)"
        )
    points = run.results[:, 2].astype(np.int64) + 1
    short = np.flatnonzero(points > rows) if t_eval is None else np.empty(0, dtype=np.int64)
    where: dict[int, tuple[_Run, int]] = {}
    if short.size:  # these did not fit: integrate them again into exactly as many rows
        pick = (theta0[short], Ns[short], Ls[short], C[short], lrs[short])
        theta_s, N_s, L_s, C_s, lr_s = (np.ascontiguousarray(a) for a in pick)
        again = _integrate(theta_s, N_s, L_s, C_s, lr_s, t_max, rtol, atol, rows=points[short], **options)
        where = {int(b): (again, k) for k, b in enumerate(short)}
    if settings is None:
        settings = [{"N": int(n), "L": int(labels)} for n, labels in zip(Ns, Ls, strict=True)]
    flows = []
    for b in range(size):
        source, k = where.get(b, (run, b))
        flows.append(
            _trajectory(
                source, k, int(points[b]), grid if t_eval is not None else None, Ns[b], Ls[b], lrs[b], C[b], settings[b]
            )
        )
    return flows


def _trajectory(
    run: _Run, k: int, points: int, grid, N: float, L: float, lr: float, C: np.ndarray, settings: dict
) -> Trajectory:
    """Member ``k`` of ``run`` as a Trajectory."""

    def loss_fn(theta):
        return model_values(theta, N, L)[..., 0]

    def grad_fn(theta):
        return model_values(theta, N, L)[..., 1:]

    cliff = run.results[k, 0]
    facts = {
        "steps": int(run.results[k, 2]),
        "rejected": int(run.results[k, 8]),
        "cliff": None if np.isnan(cliff) else float(cliff),
    }
    if grid is None:
        lo = int(run.offsets[k])
        part = slice(lo, lo + points)
        t, theta, loss = run.st[part], run.sy[part], run.sl[part]
        dense = step_extension(t, theta, run.sq[lo : lo + points - 1])
    else:
        t, theta, loss = grid, run.values[k, :, :3], run.values[k, :, 3]
        dense = grid_hermite(t, theta, lambda y: -lr * C * grad_fn(y))
    return Trajectory(
        t=t,
        theta=theta,
        loss=loss,
        names=PARAMETERS,
        lr=float(lr),
        settings=dict(settings),
        _dense=dense,
        _loss_fn=loss_fn,
        _grad_fn=grad_fn,
        _facts=facts,
    )

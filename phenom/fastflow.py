"""Many β, α, ξ flows at once, compiled: every member steps on its own, nothing dense is kept.

:func:`phenom.induction.induction_flow` integrates a batch as one ODE system with one shared step
size and keeps every member's dense output: right for a few curves to plot, wrong for a sweep of
10⁴, where the stiffest member sets every member's steps and the dense output fills the memory.
Here each member is integrated by its own adaptive Dormand–Prince 5(4) pair (the coefficients of
:class:`scipy.integrate.RK45`, with its error norm and step control) inside one numba loop over
the members, in parallel over the cores, on the fused kernels of :mod:`phenom.kernels`. What a
sweep asks of a flow is found while it runs, by root-finding on the step's own continuous
extension (4th order), and kept as one number per member:

- the **cliff**: the time of the largest interior maximum of |∇loss| along the path, where
  d|∇loss|²/dt = −2 lr ∇lossᵀ H (C ⊙ ∇loss) changes sign from + to − (NaN when |∇loss| is
  largest at t = 0 or at t_max, as for :meth:`phenom.flow.Trajectory.cliff`);
- the first time the loss falls to each of ``levels`` (:meth:`~phenom.flow.Trajectory.time_to`);
- the first time each parameter rises to ``crossing`` (:meth:`~phenom.flow.Trajectory.crossing_times`);
- the state and loss at t_max, and the number of accepted steps.

Memory is O(members); a batch of any size is processed in chunks of ``chunk`` members.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.integrate import RK45

from . import _validate

__all__ = ["flow_quantities"]

_STAGES = RK45.n_stages


@functools.lru_cache(maxsize=None)
def _integrator():
    """The compiled batch integrator (built on first use: a few seconds of compilation)."""
    import numba

    from .kernels import compiled

    kernels = compiled()
    loss_grad, hessian = kernels["loss_grad"], kernels["hessian"]
    A, B, Cn, E, P = (np.ascontiguousarray(np.asarray(x, float)) for x in (RK45.A, RK45.B, RK45.C, RK45.E, RK45.P))

    @numba.njit(inline="always")
    def rhs(y, N, L, c, lr, g, out):
        loss_grad(y[0], y[1], y[2], N, L, g)
        for k in range(3):
            out[k] = -lr * c[k] * g[k + 1]

    @numba.njit
    def dense(y0, K, h, sigma, out):
        powers = np.empty(4)
        powers[0] = sigma
        for q in range(1, 4):
            powers[q] = powers[q - 1] * sigma
        for k in range(3):
            acc = 0.0
            for s in range(_STAGES + 1):
                w = 0.0
                for q in range(4):
                    w += P[s, q] * powers[q]
                acc += K[s, k] * w
            out[k] = y0[k] + h * acc

    @numba.njit
    def speed_change(y, N, L, c, g, H):
        """−∇lossᵀ H (C ⊙ ∇loss): the sign of d|∇loss|/dt; also leaves |∇loss|² in g[0]."""
        loss_grad(y[0], y[1], y[2], N, L, g)
        hessian(y[0], y[1], y[2], N, L, H)
        total = 0.0
        for i in range(3):
            for j in range(3):
                total -= g[i + 1] * H[i, j] * c[j] * g[j + 1]
        g[0] = g[1] * g[1] + g[2] * g[2] + g[3] * g[3]
        return total

    @numba.njit
    def value(kind, index, y, N, L, c, g, H):
        """The quantity whose sign change is sought: 0 speed change, 1 loss, 2 a parameter."""
        if kind == 0:
            return speed_change(y, N, L, c, g, H)
        if kind == 1:
            loss_grad(y[0], y[1], y[2], N, L, g)
            return g[0]
        return y[index]

    @numba.njit
    def root(kind, index, target, y0, K, h, N, L, c, g, H, lo_value):
        """σ in (0, 1] where value − target changes sign within the step (Illinois regula falsi)."""
        y = np.empty(3)
        lo, hi = 0.0, 1.0
        f_lo = lo_value - target
        dense(y0, K, h, 1.0, y)
        f_hi = value(kind, index, y, N, L, c, g, H) - target
        side = 0
        for _ in range(200):
            if hi - lo <= 1e-15:
                break
            sigma = (lo * f_hi - hi * f_lo) / (f_hi - f_lo) if f_hi != f_lo else 0.5 * (lo + hi)
            if not lo < sigma < hi:
                sigma = 0.5 * (lo + hi)
            dense(y0, K, h, sigma, y)
            f = value(kind, index, y, N, L, c, g, H) - target
            if f == 0.0:
                return sigma
            if (f > 0.0) == (f_lo > 0.0):
                lo, f_lo = sigma, f
                if side == -1:
                    f_hi *= 0.5
                side = -1
            else:
                hi, f_hi = sigma, f
                if side == 1:
                    f_lo *= 0.5
                side = 1
        return 0.5 * (lo + hi)

    @numba.njit
    def peak(y0, K, h, N, L, c, g, H, y_out):
        """Locate the maximum of |∇loss| inside a step, where d|∇loss|/dt changes sign, given
        that it does; return (σ, |∇loss|² there), or (−1, 0) if it does not."""
        s_lo = speed_change(y0, N, L, c, g, H)
        dense(y0, K, h, 1.0, y_out)
        s_hi = speed_change(y_out, N, L, c, g, H)
        if not (s_lo > 0.0 and s_hi <= 0.0):
            return -1.0, 0.0
        sigma = root(0, 0, 0.0, y0, K, h, N, L, c, g, H, s_lo)
        dense(y0, K, h, sigma, y_out)
        speed_change(y_out, N, L, c, g, H)
        return sigma, g[0]

    @numba.njit
    def one(y0_in, N, L, c, lr, t_max, rtol, atol, levels, crossing, max_steps, result, firsts):
        y = y0_in.copy()
        K = np.zeros((_STAGES + 1, 3))
        K_prev = np.zeros((_STAGES + 1, 3))
        y_prev = y0_in.copy()
        h_prev = 0.0
        g = np.zeros(4)
        H = np.zeros((3, 3))
        y_stage = np.empty(3)
        y_new = np.empty(3)
        f = np.empty(3)
        rhs(y, N, L, c, lr, g, f)
        loss_now = g[0]
        speed_start = g[1] * g[1] + g[2] * g[2] + g[3] * g[3]
        speed_now, speed_before = speed_start, -1.0
        best_speed, best_t = -1.0, np.nan  # the largest interior maximum of |∇loss|² so far
        for i in range(levels.size):
            firsts[i] = 0.0 if loss_now <= levels[i] else np.nan
        for k in range(3):
            firsts[levels.size + k] = 0.0 if y[k] >= crossing[k] else np.nan
        # Initial step (Hairer's heuristic, as scipy's select_initial_step).
        d0 = 0.0
        d1 = 0.0
        for k in range(3):
            scale = atol + abs(y[k]) * rtol
            d0 += (y[k] / scale) ** 2
            d1 += (f[k] / scale) ** 2
        d0, d1 = np.sqrt(d0 / 3), np.sqrt(d1 / 3)
        h = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h = min(h, t_max)
        t = 0.0
        steps = 0
        attempts = 0
        while t < t_max and attempts < max_steps:
            attempts += 1
            h = min(h, t_max - t)
            if h <= 1e-14 * max(1.0, t):  # the step size underflowed: give up on this member
                break
            for k in range(3):
                K[0, k] = f[k]
            for s in range(1, _STAGES):
                for k in range(3):
                    acc = 0.0
                    for q in range(s):
                        acc += A[s, q] * K[q, k]
                    y_stage[k] = y[k] + h * acc
                rhs(y_stage, N, L, c, lr, g, K[s])
            for k in range(3):
                acc = 0.0
                for q in range(_STAGES):
                    acc += B[q] * K[q, k]
                y_new[k] = y[k] + h * acc
            rhs(y_new, N, L, c, lr, g, K[_STAGES])
            loss_new = g[0]
            speed_new = g[1] * g[1] + g[2] * g[2] + g[3] * g[3]
            err = 0.0
            for k in range(3):
                acc = 0.0
                for q in range(_STAGES + 1):
                    acc += E[q] * K[q, k]
                scale = atol + max(abs(y[k]), abs(y_new[k])) * rtol
                err += (h * acc / scale) ** 2
            err = np.sqrt(err / 3)
            if not err <= 1.0:  # too large, or NaN from a non-finite stage: shrink and retry
                h *= max(0.2, 0.9 * err ** -0.2) if err > 1.0 else 0.2
                continue
            # Accepted. |∇loss| rose into t and falls after it: a maximum in the step before or
            # this one (the Hessian is needed only here, to find it).
            if speed_now > speed_before and speed_now >= speed_new:
                sigma, value = peak(y, K, h, N, L, c, g, H, y_stage)
                if sigma >= 0.0:
                    if value > best_speed:
                        best_speed, best_t = value, t + sigma * h
                elif steps > 0:
                    sigma, value = peak(y_prev, K_prev, h_prev, N, L, c, g, H, y_stage)
                    if sigma >= 0.0 and value > best_speed:
                        best_speed, best_t = value, t - h_prev + sigma * h_prev
            for i in range(levels.size):
                if np.isnan(firsts[i]) and loss_new <= levels[i]:
                    firsts[i] = t + h * root(1, 0, levels[i], y, K, h, N, L, c, g, H, loss_now)
            for k in range(3):
                if np.isnan(firsts[levels.size + k]) and y_new[k] >= crossing[k]:
                    firsts[levels.size + k] = t + h * root(2, k, crossing[k], y, K, h, N, L, c, g, H, y[k])
            for q in range(_STAGES + 1):
                for k in range(3):
                    K_prev[q, k] = K[q, k]
            for k in range(3):
                y_prev[k] = y[k]
                y[k] = y_new[k]
                f[k] = K[_STAGES, k]
            h_prev = h
            t += h
            steps += 1
            loss_now = loss_new
            speed_before, speed_now = speed_now, speed_new
            h *= min(10.0, 0.9 * err ** -0.2) if err > 0.0 else 10.0
        if steps > 0:  # a maximum inside the last step shows no downturn at a later step's end
            sigma, value = peak(y_prev, K_prev, h_prev, N, L, c, g, H, y_stage)
            if sigma >= 0.0 and value > best_speed:
                best_speed, best_t = value, t - h_prev + sigma * h_prev
        # The cliff is the largest interior maximum, if it beats both ends (else the path's
        # largest |∇loss| is at t = 0 or t_max: no cliff, as Trajectory.cliff).
        complete = t >= t_max
        result[0] = best_t if complete and best_speed > max(speed_start, speed_now) else np.nan
        result[1] = loss_now
        result[2] = steps
        result[3] = t
        result[7] = 1.0 if complete else 0.0
        for k in range(3):
            result[4 + k] = y[k]

    @numba.njit(parallel=True)
    def batch(theta0, N, L, C, lr, t_max, rtol, atol, levels, crossing, max_steps, results, firsts):
        for b in numba.prange(theta0.shape[0]):
            one(theta0[b], N[b], L[b], C[b], lr[b], t_max, rtol, atol, levels, crossing, max_steps, results[b],
                firsts[b])

    return batch


def _per_member(name: str, value, dtype=float) -> np.ndarray:
    """A number or a 1-D sequence of them, as a 1-D array (length 1 for a number)."""
    a = np.atleast_1d(np.asarray(value, dtype=object))
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence, got shape {a.shape}")
    return a


def flow_quantities(theta0=(0.0, 0.0, 0.0), *, N=8, L=32, metric=None, lr=1.0, t_max: float = 300.0,
                    rtol: float = 1e-7, atol: float = 1e-9, levels=(), crossing: float | None = None,
                    max_steps: int = 1_000_000, chunk: int = 65536) -> dict[str, np.ndarray]:
    """Integrate B flows dθ/dt = −lr C ∇loss(θ) of the β, α, ξ model to ``t_max``, each with its
    own adaptive steps, and return per member (arrays of length B):

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

    ``theta0`` (3,) or (B, 3); ``N``, ``L``, ``lr`` numbers or length-B sequences; ``metric`` the
    diagonal C > 0, (3,) or (B, 3) (default 1). ``rtol`` (default 1e-7: transition times within
    about 1e-7 of a tight solve) and ``atol`` > 0. Members are processed ``chunk`` at a time.
    """
    theta0 = _validate.finite_array("theta0", theta0, last_dim=3)
    if theta0.ndim > 2:
        raise ValueError(f"theta0 must have shape (3,) or (B, 3), got {theta0.shape}")
    C = np.ones(3) if metric is None else _validate.finite_array("metric", metric, last_dim=3)
    if C.ndim > 2 or np.any(C <= 0):
        raise ValueError("metric must hold numbers > 0 (the rate of each parameter), shape (3,) or (B, 3)")
    Ns, Ls, lrs = _per_member("N", N), _per_member("L", L), _per_member("lr", lr)
    sizes = {a.shape[0] for a in (Ns, Ls, lrs, theta0.reshape(-1, 3), C.reshape(-1, 3)) if a.shape[0] != 1}
    if len(sizes) > 1:
        raise ValueError(f"theta0, N, L, metric and lr must have one length (or 1), got lengths {sorted(sizes)}")
    size = sizes.pop() if sizes else 1
    checked = {}
    pairs = np.array([checked.setdefault((n, l), _validate.pairs(n, l))
                      for n, l in zip(np.broadcast_to(Ns, size), np.broadcast_to(Ls, size))], dtype=float)
    lrs = np.array([_validate.positive("lr", v) for v in lrs])
    t_max = _validate.positive("t_max", t_max)
    rtol, atol = _validate.positive("rtol", rtol), _validate.positive("atol", atol)
    levels = np.asarray(levels, dtype=float)
    if levels.ndim > 1 or not np.all(np.isfinite(levels)):
        raise ValueError(f"levels must be a finite number or a 1-D sequence of them, got {levels!r}")
    levels = np.array(np.atleast_1d(levels), order="C")
    if crossing is not None and not np.isfinite(_validate.finite_array("crossing", crossing)).all():
        raise ValueError(f"crossing must be a finite number, got {crossing!r}")
    cross = np.full(3, np.inf) if crossing is None else np.full(3, float(crossing))
    max_steps, chunk = _validate.count("max_steps", max_steps), _validate.count("chunk", chunk)

    def full(a, shape):  # a fresh writable C array: one compiled signature for every call
        return np.array(np.broadcast_to(np.asarray(a, dtype=float), shape), order="C")

    theta0, C, lrs = full(theta0, (size, 3)), full(C, (size, 3)), full(lrs, size)
    Ns, Ls = full(pairs[:, 0], size), full(pairs[:, 1], size)
    results = np.empty((size, 8))
    firsts = np.empty((size, levels.size + 3))
    batch = _integrator()
    for start in range(0, size, chunk):
        part = slice(start, min(start + chunk, size))
        batch(theta0[part], Ns[part], Ls[part], C[part], lrs[part], t_max, rtol, atol, levels, cross, max_steps,
              results[part], firsts[part])
    out = {"cliff": results[:, 0], "loss_end": results[:, 1], "steps": results[:, 2].astype(int),
           "t_end": results[:, 3], "theta_end": results[:, 4:7], "complete": results[:, 7] == 1.0,
           "time_to": firsts[:, :levels.size]}
    if crossing is not None:
        out["crossing_times"] = firsts[:, levels.size:]
    return out

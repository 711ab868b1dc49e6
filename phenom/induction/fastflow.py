"""Many β, α, ξ flows at once, compiled: every member steps on its own, nothing dense is kept.

:func:`phenom.induction.model.induction_flow` integrates a batch as one ODE system with one shared step
size and keeps every member's dense output: right for a few curves to plot, wrong for a sweep of
10⁴, where the stiffest member sets every member's steps and the dense output fills the memory.
Here each member is integrated by its own adaptive Dormand–Prince 5(4) pair (the coefficients of
:class:`scipy.integrate.RK45`, with its error norm and step control) inside one numba loop over
the members, in parallel over the cores, on the fused kernels of :mod:`phenom.induction.kernels`. What a
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

import numpy as np

from phenom import _validate

__all__ = ["flow_quantities"]

def _integrator():
    """The compiled batch integrator (:func:`phenom.induction.kernels.flow_module`; ``phenom/induction/_dopri.py``)."""
    from phenom.induction.kernels import flow_module

    return flow_module().batch


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

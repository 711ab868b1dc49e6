"""Settings of the β, α, ξ model's figures (Reddy, ICLR 2024, Sec. 4): its flow, its landscape,
the transition time over N and L, and the exact minimal network against it.

>>> InductionFlowSetting().N, InductionFlowSetting().quick().compare_L
(8, (9, 12, 16, 64))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from phenom.figures.settings._base import MAX_GRID, Setting, grid_size, integers, option, validate

__all__ = ["InductionFlowSetting", "InductionLandscapeSetting", "PhaseSetting", "MinimalVsMeanFieldSetting"]


@dataclass(frozen=True)
class _FlowBase(Setting):
    N: int = option(8, "item-label pairs in context, integer >= 1", "count")
    L: int = option(32, "labels, integer >= N")
    lr: float = option(1.0, "learning rate of the flow, > 0", "positive")
    t_max: float = option(300.0, "flow time to integrate to, > 0", "positive")
    theta0: tuple = option((0.0, 0.0, 0.0), "initial (beta, alpha, xi)", kind=float)

    def _check(self) -> None:
        self._set("L", validate.pairs(self.N, self.L)[1])
        theta0 = validate.finite_array("theta0", self.theta0, last_dim=3)
        if theta0.ndim != 1:
            raise ValueError(f"theta0 must be one point (beta, alpha, xi), got shape {theta0.shape}")
        self._set("theta0", tuple(float(v) for v in theta0))


@dataclass(frozen=True)
class InductionFlowSetting(_FlowBase):
    """Setting of the flow figure.

    The flow figure: loss, β, α, ξ and accuracy against time, with flows at other L beside it
    (L = N always among them).

    Fields are documented one by one below; every L of ``compare_L`` must be at least N.

    Examples
    --------
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> s = InductionFlowSetting(N=4, L=16, compare_L=(8,))
    >>> s.theta0, s.quick() == s
    ((0.0, 0.0, 0.0), True)
    >>> try:
    ...     InductionFlowSetting(N=16)
    ... except ValueError as err:
    ...     print(err)
    compare_L must be an integer >= N = 16, got 9
    """

    compare_L: tuple = option((9, 12, 16, 64), "more L values (each >= N) for the accuracy panel", kind=int)
    samples: int = option(600, "time samples per flow in the saved curves, >= 2")

    def _check(self) -> None:
        super()._check()
        self._set("compare_L", integers("compare_L", self.compare_L, minimum=self.N, bound=f"N = {self.N}"))
        self._set("samples", validate.count("samples", self.samples, minimum=2))


@dataclass(frozen=True)
class InductionLandscapeSetting(_FlowBase):
    """Loss slices through the point where the flow falls off the cliff.

    Examples
    --------
    >>> from phenom.figures.settings import InductionLandscapeSetting
    >>> s = InductionLandscapeSetting()
    >>> (s.N, s.L, s.grid), s.quick().grid
    ((8, 32, 201), 101)
    """

    QUICK: ClassVar[dict] = {"grid": 101}
    grid: int = option(201, f"grid points per axis, 2 to {MAX_GRID}")

    def _check(self) -> None:
        super()._check()
        self._set("grid", grid_size(self.grid, MAX_GRID))


PHASE_LIMITS = {
    "ratio_max": 1024,
    "points": 1000,
    "scale_max": 1e6,
    "gd_budget": 1000.0,
    "lr_max": 1e3,
    "gd_steps": 10**6,
    "gd_work": 10**8,
    "formula_margin": 1.25,
}
"""Bounds of the phase figure's setting, so that a run is refused before computing rather than
failing or running for hours: at most 1023 L/N values per N (about 5·10⁵ flows at 0.7 ms each),
1000 scales or rates, start scales within the flows' ±1e6 (``phenom.induction.fastflow.THETA_MAX``),
rates up to 1e3 (from lr = 100 on, gradient descent at (8, 32) reaches its largest gradient within
two steps or diverges: larger rates show nothing more),
gradient descent for at most 1000 transition times, 10⁶ steps and 10⁸ member-steps
(``phenom.induction.transition.GD_MAX_STEPS`` and ``GD_MAX_WORK``). The flow's transition time
is estimated by the asymptotic formula, which overestimates the flow's by 0.9% to 12% on the
published grid; the work bound allows it a 25% margin the other way."""


def formula_time(N, L):
    """The asymptotic formula's t* (lr = 1, θ₀ = 0) at (N, L), L > N >= 2: (2π)^{1/4} A^{−1/2}
    (BC)^{−1/4} with the closed forms of ``phenom.induction.transition`` (kept here in numpy so
    that the command line's checks import no sympy; a test checks that they agree)."""
    N, L = np.asarray(N, dtype=float), np.asarray(L, dtype=float)
    A = (L - N) / (L * (2 * N + 1))
    B = ((N - 1) * (2 * N + 1) + 2 * N * (L - N)) / (L * (2 * N + 1) ** 2 * (N + 1))
    return (2 * math.pi) ** 0.25 / np.sqrt(A) / (B * B * N / (N + 1)) ** 0.25


@dataclass(frozen=True)
class PhaseSetting(Setting):
    """Setting of the phase figure: the transition time over (N, L), starts and rates.

    The flow's transition time over every (N, L) with 2 <= N <= N_max and N < L <= ratio_max·N
    (from θ = 0) against the asymptotic formula, then over θ₀ = s·(1, 1, 1) and over the rate of
    discrete gradient descent at ``reference``.

    Construction refuses a run that would not finish in reasonable time (``PHASE_LIMITS``),
    and a ``t_max`` shorter than twice the latest transition time of the figure's flows.

    Examples
    --------
    >>> from phenom.figures.settings import PhaseSetting
    >>> s = PhaseSetting().quick()
    >>> s.N_max, s.lr_points, s.reference
    (8, 9, (8, 32))
    >>> try:
    ...     PhaseSetting(t_max=10)
    ... except ValueError as err:
    ...     print(str(err)[:40])
    t_max must be >= 6952.32, twice the late
    """

    QUICK: ClassVar[dict] = {"N_max": 8, "lr_points": 9, "scale_points": 7}
    N_max: int = option(32, "largest N of the (N, L) grid, 2 to 32", "count")
    ratio_max: int = option(16, "largest L/N of the grid, 2 to 1024", "count")
    t_max: float = option(
        1e6, "longest flow time searched for a cliff, >= twice the latest cliff (formula)", "positive"
    )
    reference: tuple = option(
        (8, 32), "the (N, L), 2 <= N <= 32 and L > N, of the θ₀ and learning-rate panels", "counts", kind=int
    )
    scale_max: float = option(3.0, "largest start scale s, θ₀ = s·(1, 1, 1), > 0 and <= 1e6", "positive")
    scale_points: int = option(13, "start scales from 0 to scale_max, 2 to 1000", "count")
    lr_min: float = option(
        0.03, "smallest gradient-descent rate, > 0 (at most 10^6 steps of gradient descent)", "positive"
    )
    lr_max: float = option(30.0, "largest gradient-descent rate, > lr_min and <= 1e3", "positive")
    lr_points: int = option(25, "rates, log-spaced, 2 to 1000", "count")
    gd_budget: float = option(
        4.0, "gradient descent runs for gd_budget × the flow's t* from θ = 0 (in lr·steps), > 1 and <= 1000", "positive"
    )

    def _check(self) -> None:
        limits = PHASE_LIMITS
        if not 2 <= self.N_max <= 32:
            raise ValueError(f"N_max must be an integer from 2 to 32, got {self.N_max!r}")
        if not 2 <= self.ratio_max <= limits["ratio_max"]:
            raise ValueError(f"ratio_max must be an integer from 2 to {limits['ratio_max']}, got {self.ratio_max!r}")
        if len(self.reference) != 2 or not 2 <= self.reference[0] <= 32 or self.reference[1] <= self.reference[0]:
            raise ValueError(f"reference must be (N, L) with 2 <= N <= 32 and L > N, got {self.reference!r}")
        for name in ("scale_points", "lr_points"):
            if not 2 <= getattr(self, name) <= limits["points"]:
                raise ValueError(f"{name} must be an integer from 2 to {limits['points']}, got {getattr(self, name)!r}")
        if self.scale_max > limits["scale_max"]:
            raise ValueError(
                f"scale_max must be a number > 0 and <= {limits['scale_max']:g} (the flows' range of starts), "
                f"got {self.scale_max:g}"
            )
        if not self.lr_min < self.lr_max <= limits["lr_max"]:
            raise ValueError(
                f"lr_max must be > lr_min = {self.lr_min:g} and <= {limits['lr_max']:g}, got {self.lr_max:g}"
            )
        if not 1 < self.gd_budget <= limits["gd_budget"]:
            raise ValueError(f"gd_budget must be a number > 1 and <= {limits['gd_budget']:g}, got {self.gd_budget:g}")
        self._check_flow_time()
        self._check_gd_work()

    def _check_flow_time(self) -> None:
        """t_max must hold every cliff of the figure's flows from θ = 0 (the grid's and the
        reference's, which sets gradient descent's budget): at least twice the formula's t*."""
        N = np.concatenate(
            [np.full(self.ratio_max * n - n, n) for n in range(2, self.N_max + 1)] + [[self.reference[0]]]
        )
        L = np.concatenate([np.arange(n + 1, self.ratio_max * n + 1) for n in range(2, self.N_max + 1)])
        latest = float(max(formula_time(N[:-1], L).max(), formula_time(*self.reference)))
        if self.t_max < 2 * latest:
            raise ValueError(
                f"t_max must be >= {2 * latest:.6g}, twice the latest transition time of the figure's flows "
                f"(the asymptotic formula's), got {self.t_max:g}"
            )

    def _check_gd_work(self) -> None:
        """Gradient descent's steps, gd_budget · t* / lr for each rate, within its bounds."""
        limits = PHASE_LIMITS
        horizon = self.gd_budget * limits["formula_margin"] * float(formula_time(*self.reference))
        lrs = np.logspace(np.log10(self.lr_min), np.log10(self.lr_max), self.lr_points)
        longest = horizon / self.lr_min
        if longest > limits["gd_steps"]:
            raise ValueError(
                f"lr_min must be >= {horizon / limits['gd_steps']:.3g}: gradient descent runs gd_budget × t* = "
                f"{horizon:.4g} (with a margin) / lr_min = {longest:.3g} steps, more than the budget of "
                f"{limits['gd_steps']} steps"
            )
        work = self.scale_points * float(np.sum(np.ceil(horizon / lrs)))
        if work > limits["gd_work"]:
            raise ValueError(
                f"scale_points × lr_points must be smaller: gradient descent would take {work:.3g} member-steps, "
                f"more than the budget of {limits['gd_work']:g}"
            )


@dataclass(frozen=True)
class MinimalVsMeanFieldSetting(Setting):
    """The exact minimal network (sympy) against the mean-field model, for one (N, L).

    Examples
    --------
    The quick setting compares the two at a smaller N, whose exact loss is derived faster:

    >>> from phenom.figures.settings import MinimalVsMeanFieldSetting
    >>> s = MinimalVsMeanFieldSetting().quick()
    >>> s.N, s.L, s.grid
    (4, 16, 61)
    """

    QUICK: ClassVar[dict] = {"N": 4, "L": 16}
    N: int = option(8, "item-label pairs, integer >= 1 (the exact loss is derived for each N: keep N <= 16)", "count")
    L: int = option(32, "labels, integer >= N")
    t_max: float = option(300.0, "flow time, > 0", "positive")
    grid: int = option(61, "grid points per axis of the (alpha, beta) slice, 2 to 401")
    samples: int = option(400, "time samples along the flows, >= 2")
    checks: int = option(16, "times at which the numpy minimal network is evaluated, >= 2")

    def _check(self) -> None:
        self._set("L", validate.pairs(self.N, self.L)[1])
        self._set("grid", grid_size(self.grid, 401))
        self._set("samples", validate.count("samples", self.samples, minimum=2))
        self._set("checks", validate.count("checks", self.checks, minimum=2))

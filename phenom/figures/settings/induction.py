"""Settings of the β, α, ξ model's figures (Reddy, ICLR 2024, Sec. 4): its flow, its landscape,
the transition time over N and L, and the exact minimal network against it.

>>> InductionFlowSetting().N, InductionFlowSetting().quick().compare_L
(8, (9, 12, 16, 64))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

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
    """The flow figure: loss, β, α, ξ and accuracy against time, with flows at other L beside it
    (L = N always among them)."""

    compare_L: tuple = option((9, 12, 16, 64), "more L values (each >= N) for the accuracy panel", kind=int)
    samples: int = option(600, "time samples per flow in the saved curves, >= 2")

    def _check(self) -> None:
        super()._check()
        self._set("compare_L", integers("compare_L", self.compare_L, minimum=self.N, bound=f"N = {self.N}"))
        self._set("samples", validate.count("samples", self.samples, minimum=2))


@dataclass(frozen=True)
class InductionLandscapeSetting(_FlowBase):
    """Loss slices through the point where the flow falls off the cliff."""

    QUICK: ClassVar[dict] = {"grid": 101}
    grid: int = option(201, f"grid points per axis, 2 to {MAX_GRID}")

    def _check(self) -> None:
        super()._check()
        self._set("grid", grid_size(self.grid, MAX_GRID))


@dataclass(frozen=True)
class PhaseSetting(Setting):
    """The flow's transition time over every (N, L) with 2 <= N <= N_max and N < L <= ratio_max·N
    (from θ = 0) against the asymptotic formula, then over θ₀ = s·(1, 1, 1) and over the rate of
    discrete gradient descent at ``reference``."""

    QUICK: ClassVar[dict] = {"N_max": 8, "lr_points": 9, "scale_points": 7}
    N_max: int = option(32, "largest N of the (N, L) grid, 2 to 32", "count")
    ratio_max: int = option(16, "largest L/N of the grid, >= 2", "count")
    t_max: float = option(1e6, "longest flow time searched for a cliff, > 0", "positive")
    reference: tuple = option((8, 32), "the (N, L), L > N, of the θ₀ and learning-rate panels", "counts", kind=int)
    scale_max: float = option(3.0, "largest start scale s, θ₀ = s·(1, 1, 1), > 0", "positive")
    scale_points: int = option(13, "start scales from 0 to scale_max, >= 2", "count")
    lr_min: float = option(0.03, "smallest gradient-descent rate, > 0", "positive")
    lr_max: float = option(30.0, "largest gradient-descent rate, > lr_min", "positive")
    lr_points: int = option(25, "rates, log-spaced, >= 2", "count")
    gd_budget: float = option(
        4.0, "gradient descent runs for gd_budget × the flow's t* from θ = 0 (in lr·steps), > 1", "positive"
    )

    def _check(self) -> None:
        if not 2 <= self.N_max <= 32:
            raise ValueError(f"N_max must be an integer from 2 to 32, got {self.N_max!r}")
        if self.ratio_max < 2:
            raise ValueError(f"ratio_max must be an integer >= 2, got {self.ratio_max!r}")
        if len(self.reference) != 2 or not 2 <= self.reference[0] < self.reference[1]:
            raise ValueError(f"reference must be (N, L) with 2 <= N < L, got {self.reference!r}")
        for name in ("scale_points", "lr_points"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be an integer >= 2, got {getattr(self, name)!r}")
        if self.lr_max <= self.lr_min:
            raise ValueError(f"lr_max must be > lr_min = {self.lr_min:g}, got {self.lr_max:g}")
        if self.gd_budget <= 1:
            raise ValueError(f"gd_budget must be a number > 1, got {self.gd_budget:g}")


@dataclass(frozen=True)
class MinimalVsMeanFieldSetting(Setting):
    """The exact minimal network (sympy) against the mean-field model, for one (N, L)."""

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

"""Settings of the linear-attention figures (von Oswald et al., ICML 2023; Ahn et al., NeurIPS
2023): in-context linear regression with Σ of distinct eigenvalues in a random basis, Ω = I."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from phenom.figures.settings._base import Setting, SummarySetting, grid_size, option

__all__ = [
    "LinearSetting",
    "LsaLandscapeSetting",
    "LsaLearningCurvesSetting",
    "LsaPreconditionerSetting",
    "LsaDepthSetting",
    "LsaSummarySetting",
]


@dataclass(frozen=True)
class LinearSetting(Setting):
    """The in-context linear regression task every linear-attention figure shares.

    In-context linear regression: Σ with distinct eigenvalues in a random basis, Ω = I
    (:meth:`phenom.linear.model.LinearICL.reference`).

    The fields every linear-attention setting shares, documented one by one below.

    Examples
    --------
    >>> from phenom.figures.settings import LinearSetting
    >>> s = LinearSetting()
    >>> s.d, s.N, s.noise, s.basis_seed
    (5, 20, 0.0, 3)
    """

    d: int = option(5, "input dimension, integer >= 1", "count")
    N: int = option(20, "context pairs, integer >= 1", "count")
    noise: float = option(0.0, "label-noise variance sigma^2, >= 0", "nonnegative")
    basis_seed: int = option(3, "seed of Sigma's random eigenbasis, >= 0", "seed")


@dataclass(frozen=True)
class LsaLandscapeSetting(LinearSetting):
    """R(Γ) on the slice through Γ* along Σ's extreme eigen-directions, with both flows.

    Examples
    --------
    >>> from phenom.figures.settings import LsaLandscapeSetting
    >>> s = LsaLandscapeSetting()
    >>> s.d, s.N, s.grid, s.quick() == s
    (2, 4, 121, True)
    """

    d: int = option(2, "input dimension, integer >= 1", "count")
    N: int = option(4, "context pairs, integer >= 1", "count")
    eps: float = option(1e-3, "scale of the factored flow's small balanced start, > 0", "positive")
    grid: int = option(121, "grid points per axis, 2 to 1001")
    t_max: float = option(12.0, "flow time, > 0", "positive")

    def _check(self) -> None:
        self._set("grid", grid_size(self.grid, 1001))


@dataclass(frozen=True)
class LsaLearningCurvesSetting(LinearSetting):
    """The factored flow against the one-layer network trained by SGD from the same start.

    The network trains ``t_max / lr`` SGD steps, so ``t_max`` must be at least ``lr``.

    Examples
    --------
    >>> from phenom.figures.settings import LsaLearningCurvesSetting
    >>> s = LsaLearningCurvesSetting()
    >>> s.t_max, s.quick().t_max, round(s.t_max / s.lr)
    (8.0, 4.0, 1600)
    """

    QUICK: ClassVar[dict] = {"t_max": 4.0}
    eps: float = option(0.01, "scale of the small balanced start, > 0", "positive")
    lr: float = option(0.005, "SGD learning rate (network time t = lr * step), > 0", "positive")
    t_max: float = option(8.0, "flow time, > 0", "positive")
    batch_size: int = option(256, "tasks per step, >= 1", "count")
    seed: int = option(0, "seed of the training data, >= 0", "seed")

    def _check(self) -> None:
        if self.t_max < self.lr:
            raise ValueError(
                f"t_max must be >= lr = {self.lr:g} (the network trains t_max / lr steps), got {self.t_max:g}"
            )


@dataclass(frozen=True)
class LsaPreconditionerSetting(LinearSetting):
    """A one-layer network trained with Adam (cosine schedule) from a small random start.

    Examples
    --------
    >>> from phenom.figures.settings import LsaPreconditionerSetting
    >>> s = LsaPreconditionerSetting()
    >>> s.steps, s.quick().steps, s.lr
    (3000, 800, 0.01)
    """

    QUICK: ClassVar[dict] = {"steps": 800}
    steps: int = option(3000, "training steps, >= 1", "count")
    lr: float = option(0.01, "Adam learning rate, > 0", "positive")
    batch_size: int = option(512, "tasks per step, >= 1", "count")
    seed: int = option(0, "seed of initialisation and data, >= 0", "seed")
    init_scale: float = option(0.1, "scale of the random initial weights, > 0", "positive")


@dataclass(frozen=True)
class LsaDepthSetting(LinearSetting):
    """K-layer networks against K steps of GD and of PGD with Γ*, each step size tuned.

    Examples
    --------
    >>> from phenom.figures.settings import LsaDepthSetting
    >>> s = LsaDepthSetting().quick()
    >>> s.layers, s.seeds, s.steps
    ((1, 2, 3), (0,), 600)
    """

    QUICK: ClassVar[dict] = {"layers": (1, 2, 3), "seeds": (0,), "steps": 600, "eval_size": 4000}
    layers: tuple = option((1, 2, 3, 4), "layer counts K, each >= 1", "distinct counts", kind=int)
    seeds: tuple = option((0, 1, 2), "network seeds, each >= 0", "seeds", kind=int)
    steps: int = option(3000, "Adam steps per network, >= 1", "count")
    lr: float = option(0.005, "Adam learning rate (cosine schedule), > 0", "positive")
    batch_size: int = option(512, "tasks per step, >= 1", "count")
    eval_size: int = option(20_000, "held-out tasks, >= 1", "count")
    init_scale: float = option(0.03, "scale of the random initial weights, > 0", "positive")
    clip_norm: float = option(1.0, "gradient-norm clipping, > 0", "positive")
    eval_seed: int = option(10_001, "seed of the held-out tasks", "seed")
    tune_seed: int = option(10_002, "seed of the tasks that tune GD's and PGD's step sizes", "seed")

    def _check(self) -> None:
        if not self.layers or not self.seeds:
            raise ValueError("layers and seeds must each name at least one value")


@dataclass(frozen=True)
class LsaSummarySetting(SummarySetting):
    """Setting of the linear-attention summary: nothing to set.

    The linear-attention summary, drawn from the saved ``lsa_learning_curves`` and
    ``lsa_preconditioner`` results.

    Examples
    --------
    >>> from phenom.figures.settings import LsaSummarySetting
    >>> LsaSummarySetting().quick() == LsaSummarySetting()
    True
    """

"""Every figure's setting, in one place: one frozen dataclass per figure, holding every default.

A setting is the whole input of a figure's computation: the figure registry
(:mod:`phenom.figures.registry`) computes from it, saves it (with its :meth:`~Setting.digest`) beside
the result, and the command line is generated from its fields, so a default lives here and
nowhere else. Policy lives here too: the MLP read-out trains with Adam (under plain SGD at a
useful rate its ReLU units die), SGD's rate and weight decay, the landscape's grid limit.

Each setting validates itself on construction (a ``ValueError`` naming the field and its range)
and has a :meth:`~Setting.quick` variant: shorter runs, fewer seeds, coarser grids, the same
science.

>>> FlowSetting().N, FlowSetting().quick().compare_L
(8, (9, 12, 16, 64))
>>> NetworkSetting(classifier="mlp").optimizer, NetworkSetting(classifier="mlp").lr
('adam', 0.001)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import ClassVar

from phenom import _validate

__all__ = [
    "Setting",
    "FlowSetting",
    "LandscapeSetting",
    "PhaseSetting",
    "MinimalSetting",
    "NetworkSetting",
    "TrainingSetting",
    "AblationSetting",
    "HeadsSetting",
    "DataDependenceSetting",
    "CompareSetting",
    "ScalingSetting",
    "GrowthSetting",
    "LinearSetting",
    "LinearLandscapeSetting",
    "LearningCurvesSetting",
    "PreconditionerSetting",
    "DepthSetting",
    "SummarySetting",
    "SGD_LR",
    "ADAM_LR",
]

SGD_LR = 0.5
"""Plain SGD's rate for the copying task: learns N = 8, L = 32 in about 1000 steps (Reddy's 0.01
takes tens of thousands; the dynamics are the same, only faster)."""
ADAM_LR = 1e-3
"""Adam's rate (the MLP read-out's optimiser)."""
WEIGHT_DECAY = 1e-6
"""Multiplicative weight decay with SGD, p ← (1 − 1e-6) p − lr g (Reddy, ICLR 2024, Sec. 2)."""
MAX_GRID = 2001
"""Largest landscape grid per axis (2001² loss evaluations)."""


RULES = {
    "count": lambda name, v: _validate.count(name, v),
    "seed": lambda name, v: _validate.count(name, v, minimum=0),
    "positive": _validate.positive,
    "nonnegative": _validate.nonnegative,
    "probability": _validate.probability,
    "counts": lambda name, v: _ints(name, v),
    "distinct counts": lambda name, v: _distinct(name, _ints(name, v)),
    "seeds": lambda name, v: _distinct(name, _ints(name, v, minimum=0)),
}
"""How a field is checked and normalised, by the name given as ``rule`` in :func:`option`."""


def option(default, help: str, rule: str | None = None, *, kind=None):
    """A setting field with its command-line help, its check (a name in :data:`RULES`, applied on
    construction) and ``kind``: the element type of a tuple, or the type of a field whose
    default is None."""
    return field(default=default, metadata={"help": help, "rule": rule, "kind": kind})


@dataclass(frozen=True)
class Setting:
    """Base of every setting: validation on construction, ``quick()``, ``digest()``, ``to_dict()``."""

    QUICK: ClassVar[dict] = {}
    """Fields that :meth:`quick` changes."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            rule = f.metadata.get("rule")
            if rule is not None and getattr(self, f.name) is not None:
                self._set(f.name, RULES[rule](f.name, getattr(self, f.name)))
        self._check()

    def _check(self) -> None:
        """Checks across fields, after each field's own rule; subclasses extend it."""

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    def quick(self) -> "Setting":
        """The same setting at reduced size (shorter training, fewer seeds, coarser grids)."""
        return dataclasses.replace(self, **self.QUICK)

    def replace(self, **changes) -> "Setting":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {"setting": type(self).__name__, **dataclasses.asdict(self)}

    def digest(self) -> str:
        """A short hash of the setting's class and values: results and checkpoints are reused
        only by a computation with the same digest."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _grid(value, largest: int) -> int:
    try:
        grid = _validate.count("grid", value, minimum=2)
    except ValueError:
        grid = None
    if grid is None or grid > largest:
        raise ValueError(f"grid must be an integer from 2 to {largest}, got {value!r}")
    return grid


def _distinct(name: str, values: tuple) -> tuple:
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct values, got {values!r}")
    return values


def _ints(name: str, values, minimum: int = 1, bound: str | None = None) -> tuple[int, ...]:
    """A tuple of integers, each >= ``minimum`` (``bound`` names it when another field sets it)."""
    return tuple(_validate.count(name, v, minimum=minimum, bound=bound) for v in tuple(values))


# ---------------------------------------------------------------------------------------------
# The β, α, ξ model (Reddy, ICLR 2024)


@dataclass(frozen=True)
class _FlowBase(Setting):
    N: int = option(8, "item-label pairs in context, integer >= 1", "count")
    L: int = option(32, "labels, integer >= N")
    lr: float = option(1.0, "learning rate of the flow, > 0", "positive")
    t_max: float = option(300.0, "flow time to integrate to, > 0", "positive")
    theta0: tuple = option((0.0, 0.0, 0.0), "initial (beta, alpha, xi)", kind=float)

    def _check(self):
        self._set("L", _validate.pairs(self.N, self.L)[1])
        theta0 = _validate.finite_array("theta0", self.theta0, last_dim=3)
        if theta0.ndim != 1:
            raise ValueError(f"theta0 must be one point (beta, alpha, xi), got shape {theta0.shape}")
        self._set("theta0", tuple(float(v) for v in theta0))


@dataclass(frozen=True)
class FlowSetting(_FlowBase):
    """The flow figure: loss, β, α, ξ and accuracy against time, with flows at other L beside it
    (L = N always among them)."""

    compare_L: tuple = option((9, 12, 16, 64), "more L values (each >= N) for the accuracy panel", kind=int)
    samples: int = option(600, "time samples per flow in the saved curves, >= 2")

    def _check(self):
        super()._check()
        self._set("compare_L", _ints("compare_L", self.compare_L, minimum=self.N, bound=f"N = {self.N}"))
        self._set("samples", _validate.count("samples", self.samples, minimum=2))


@dataclass(frozen=True)
class LandscapeSetting(_FlowBase):
    """Loss slices through the point where the flow falls off the cliff."""

    QUICK: ClassVar[dict] = {"grid": 101}
    grid: int = option(201, f"grid points per axis, 2 to {MAX_GRID}")

    def _check(self):
        super()._check()
        self._set("grid", _grid(self.grid, MAX_GRID))


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
    gd_budget: float = option(4.0, "gradient descent runs for gd_budget × the flow's t* from θ = 0 (in lr·steps), > 1",
                              "positive")

    def _check(self):
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
class MinimalSetting(Setting):
    """The exact minimal network (sympy) against the mean-field model, for one (N, L)."""

    QUICK: ClassVar[dict] = {"N": 4, "L": 16}
    N: int = option(8, "item-label pairs, integer >= 1 (the exact loss is derived for each N: keep N <= 16)", "count")
    L: int = option(32, "labels, integer >= N")
    t_max: float = option(300.0, "flow time, > 0", "positive")
    grid: int = option(61, "grid points per axis of the (alpha, beta) slice, 2 to 401")
    samples: int = option(400, "time samples along the flows, >= 2")
    checks: int = option(16, "times at which the numpy minimal network is evaluated, >= 2")

    def _check(self):
        self._set("L", _validate.pairs(self.N, self.L)[1])
        self._set("grid", _grid(self.grid, 401))
        self._set("samples", _validate.count("samples", self.samples, minimum=2))
        self._set("checks", _validate.count("checks", self.checks, minimum=2))


# ---------------------------------------------------------------------------------------------
# The two-layer attention network on the copying task (Reddy, ICLR 2024)


@dataclass(frozen=True)
class _CopyingBase(Setting):
    N: int = option(8, "item-label pairs, 1 to 32")
    L: int = option(32, "labels, integer >= N")
    D: int = option(63, "content dimension, integer >= L")
    eps: float = option(0.1, "within-class noise, >= 0")
    batch_size: int = option(128, "sequences per step, >= 1", "count")
    eval_size: int = option(2048, "held-out sequences per evaluation, >= 1", "count")

    def _check(self):
        from phenom.nets.tasks import CopyingTask

        task = CopyingTask(N=self.N, L=self.L, D=self.D, eps=self.eps)  # checks N, L, D, eps
        for name in ("N", "L", "D", "eps"):
            self._set(name, getattr(task, name))


@dataclass(frozen=True)
class NetworkSetting(_CopyingBase):
    """One training run of the two-layer attention network (``task`` copy or classify)."""

    QUICK: ClassVar[dict] = {"steps": 1500}
    task: str = option("copy", "copy or classify")
    K: int = option(256, "classify: classes, a multiple of L", "count")
    B: int = option(1, "classify: burstiness, divides N, 0 = i.i.d.", "seed")
    zipf: float = option(0.0, "classify: rank-frequency (Zipf) exponent a, >= 0", "nonnegative")
    p_B: float = option(1.0, "classify: fraction of bursty sequences, in [0, 1]", "probability")
    p_C: float = option(0.0, "classify: fraction with novel classes, in [0, 1]", "probability")
    classifier: str = option("linear", "read-out: linear or mlp")
    optimizer: str = option(None, "sgd or adam (default sgd with the linear read-out, adam with mlp: under "
                            "plain SGD at a useful rate the MLP's ReLU units die)", kind=str)
    lr: float = option(None, f"learning rate, > 0 (default {SGD_LR} for sgd, {ADAM_LR} for adam)", "positive",
                       kind=float)
    weight_decay: float = option(WEIGHT_DECAY, "multiplicative weight decay with sgd, >= 0 (none with adam)",
                                 "nonnegative")
    steps: int = option(2000, "training steps, >= 1", "count")
    evals: int = option(50, "evaluations over the run (every steps // evals steps), >= 1", "count")
    seed: int = option(0, "seed of initialisation and data, >= 0", "seed")

    def _check(self):
        super()._check()
        for name, allowed in (("task", ("copy", "classify")), ("classifier", ("linear", "mlp")),
                              ("optimizer", ("sgd", "adam", None))):
            if getattr(self, name) not in allowed:
                choices = " or ".join(repr(a) for a in allowed if a is not None)
                raise ValueError(f"{name} must be {choices}, got {getattr(self, name)!r}")
        # Policy: the MLP read-out trains with Adam unless told otherwise (its ReLU units die
        # under plain SGD at a rate that learns the task in a few thousand steps).
        optimizer = self.optimizer or ("adam" if self.classifier == "mlp" else "sgd")
        self._set("optimizer", optimizer)
        if self.lr is None:
            self._set("lr", ADAM_LR if optimizer == "adam" else SGD_LR)
        self.make_task()  # the classify fields are checked by the task itself

    def make_task(self, L: int | None = None):
        """The task this setting trains on (``L`` overrides the label count, for L = N controls)."""
        from phenom.nets.tasks import make_task

        extra = {} if self.task == "copy" else dict(K=self.K, B=self.B, a=self.zipf, p_B=self.p_B, p_C=self.p_C)
        return make_task(self.task, N=self.N, L=self.L if L is None else L, D=self.D, eps=self.eps, **extra)

    @property
    def eval_every(self) -> int:
        return max(1, self.steps // self.evals)

    def run_options(self) -> dict:
        """Keyword arguments of :func:`phenom.nets.train` (but the seed)."""
        return dict(steps=self.steps, lr=self.lr, optimizer=self.optimizer, batch_size=self.batch_size,
                    weight_decay=self.weight_decay if self.optimizer == "sgd" else 0.0,
                    eval_every=self.eval_every, eval_size=self.eval_size)

    def run_fields(self) -> dict:
        """The fields that define one training run (not the figure around it)."""
        keep = {f.name for f in dataclasses.fields(NetworkSetting)}
        return {k: v for k, v in dataclasses.asdict(self).items() if k in keep}


@dataclass(frozen=True)
class TrainingSetting(NetworkSetting):
    """The training figure: one run, and ``controls`` runs at L = N (seeds 0, 1, …)."""

    QUICK: ClassVar[dict] = {"steps": 1500, "controls": 1}
    controls: int = option(3, "L = N control runs with the same budget, >= 0", "seed")
    eval_sets: int = option(4096, "classify: sequences in each of the IC, IC2, IW evaluation sets, >= 1", "count")

    def _check(self):
        super()._check()
        if self.controls:
            self.make_task(L=self.N)  # the L = N controls' task must be valid too


@dataclass(frozen=True)
class AblationSetting(NetworkSetting):
    """Train (or reuse the identical training run), then remove each head's contribution."""

    ablation_size: int = option(8192, "held-out sequences for the ablation, >= 1", "count")


@dataclass(frozen=True)
class HeadsSetting(NetworkSetting):
    """Induction-head diagnostics (Olsson et al. 2022) through training, against ICL accuracy, for
    several seeds of the training figure's run (seed 0 is that run, reused)."""

    QUICK: ClassVar[dict] = {"steps": 1500, "seeds": (0,), "score_size": 512}
    seeds: tuple = option((0, 1, 2), "network seeds, each >= 0", "seeds", kind=int)
    score_size: int = option(2048, "held-out and repeated random sequences for the final scores, >= 1", "count")

    def _check(self):
        super()._check()
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")


@dataclass(frozen=True)
class DataDependenceSetting(Setting):
    """In-context against in-weights learning as the data change (Reddy, ICLR 2024, Sec. 3;
    Chan et al., NeurIPS 2022): from one base classification task, one factor at a time (B, K,
    ε, the Zipf exponent), several seeds each; trained with plain SGD like the copying figures
    and scored on the IC, IC2 and IW sets at the end (IC and IC2 always with the base's
    burstiness, so that every run answers the same in-context question)."""

    QUICK: ClassVar[dict] = {"steps": 1000, "seeds": (0,), "B_values": (0, 2), "K_values": (128, 512),
                             "eps_values": (0.1, 0.5), "zipf_values": (0.0, 1.0), "eval_size": 1024,
                             "curve_every": 250}
    N: int = option(8, "item-label pairs, 1 to 32")
    L: int = option(32, "labels, integer >= N")
    D: int = option(63, "content dimension, integer >= L")
    K: int = option(512, "base: classes, a multiple of L", "count")
    B: int = option(2, "base: burstiness (copies of each class in a bursty context), divides N", "count")
    eps: float = option(0.1, "base: within-class noise, >= 0", "nonnegative")
    zipf: float = option(0.0, "base: Zipf exponent a of the class frequencies, >= 0", "nonnegative")
    B_values: tuple = option((0, 1, 2, 4), "burstiness sweep (0 = i.i.d. contexts)", kind=int)
    K_values: tuple = option((32, 128, 512, 2048), "class-count sweep, multiples of L", kind=int)
    eps_values: tuple = option((0.0, 0.1, 0.3, 1.0), "within-class noise sweep, each >= 0", kind=float)
    zipf_values: tuple = option((0.0, 0.5, 1.0, 1.5, 2.0), "Zipf exponent sweep, each >= 0", kind=float)
    seeds: tuple = option((0, 1), "seeds (network initialisation, data and class means), each >= 0", "seeds",
                          kind=int)
    steps: int = option(2500, "SGD steps per run", "count")
    lr: float = option(SGD_LR, "SGD learning rate, > 0", "positive")
    weight_decay: float = option(WEIGHT_DECAY, "multiplicative weight decay, >= 0", "nonnegative")
    batch_size: int = option(128, "sequences per step, >= 1", "count")
    eval_size: int = option(2048, "sequences in each of the IC, IC2 and IW sets, >= 1", "count")
    curve_every: int = option(500, "steps between IC/IC2/IW evaluations during training (to see transience)",
                              "count")
    workers: int = option(2, "worker processes (each limits its BLAS threads to cores // workers)", "count")

    SWEEPS: ClassVar[dict] = {"B": "B_values", "K": "K_values", "eps": "eps_values", "zipf": "zipf_values"}

    def _check(self):
        from phenom.nets.tasks import ClassificationTask

        for factor, field_name in self.SWEEPS.items():
            values = tuple(getattr(self, field_name))
            if len(values) < 2 or len(set(values)) != len(values):
                raise ValueError(f"{field_name} must hold at least two distinct values, got {values!r}")
            self._set(field_name, values)
            for v in values:
                try:
                    self.task(**{factor: v})
                except ValueError as err:
                    raise ValueError(f"{field_name}: {err}") from None
        base = ClassificationTask(N=self.N, L=self.L, D=self.D, eps=self.eps, K=self.K, B=self.B, a=self.zipf)
        for name in ("N", "L", "D"):
            self._set(name, getattr(base, name))
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")

    def base(self) -> dict:
        return {"B": self.B, "K": self.K, "eps": self.eps, "zipf": self.zipf}

    def task(self, seed: int = 0, **changes):
        """The classification task of the base with ``changes`` (any of B, K, eps, zipf)."""
        return self.make_task({"N": self.N, "L": self.L, "D": self.D, **self.base(), **changes, "seed": seed})

    @staticmethod
    def make_task(config: dict):
        """The task of one run: ``config`` holds N, L, D, B, K, eps, zipf and seed (of the class
        means); every sequence is bursty (p_B = 1) and from stored classes (p_C = 0)."""
        from phenom.nets.tasks import ClassificationTask

        c = config
        return ClassificationTask(N=c["N"], L=c["L"], D=c["D"], eps=c["eps"], K=c["K"], B=c["B"], a=c["zipf"],
                                  p_B=1.0, p_C=0.0, seed=c["seed"])

    def configs(self) -> list[dict]:
        """One :func:`phenom.figures.jobs.network.data_point` configuration per distinct data setting
        and seed (the base, shared by the four sweeps, runs once per seed)."""
        points = []
        for factor, field_name in self.SWEEPS.items():
            for v in getattr(self, field_name):
                point = {**self.base(), factor: v}
                if point not in points:
                    points.append(point)
        run = dict(N=self.N, L=self.L, D=self.D, steps=self.steps, lr=self.lr, weight_decay=self.weight_decay,
                   batch_size=self.batch_size, eval_size=self.eval_size, curve_every=self.curve_every,
                   eval_B=self.B)
        return [{**run, **p, "seed": seed} for p in points for seed in self.seeds]


@dataclass(frozen=True)
class CompareSetting(_CopyingBase):
    """The flow and trained networks (linear read-out, SGD) for one (N, L), on shared axes."""

    QUICK: ClassVar[dict] = {"seeds": (0,), "steps": 1500}
    seeds: tuple = option((0, 1, 2), "network seeds, each >= 0", "seeds", kind=int)
    lr: float = option(SGD_LR, "SGD learning rate, > 0", "positive")
    weight_decay: float = option(WEIGHT_DECAY, "multiplicative weight decay, >= 0", "nonnegative")
    steps: int = option(2000, "training steps, >= 1", "count")
    evals: int = option(80, "evaluations over the run, >= 1", "count")
    flow_t_max: float = option(20_000.0, "longest flow time searched for the flow's cliff, > 0", "positive")
    samples: int = option(600, "time samples of the flow in the saved curves, >= 2")

    def _check(self):
        super()._check()
        if self.L == self.N:
            raise ValueError(f"L must be an integer > N = {self.N}: at L = N the flow never leaves the origin, "
                             "nothing to align")
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        self._set("samples", _validate.count("samples", self.samples, minimum=2))


@dataclass(frozen=True)
class _ScalingRunBase(Setting):
    """The training runs of the scaling study (:func:`phenom.compare.scaling_run`): what they share."""

    lr: float = option(SGD_LR, "SGD learning rate, > 0", "positive")
    weight_decay: float = option(WEIGHT_DECAY, "multiplicative weight decay, >= 0", "nonnegative")
    batch_size: int = option(128, "sequences per step, >= 1", "count")
    eps: float = option(0.1, "within-class noise, >= 0", "nonnegative")
    min_D: int = option(63, "content dimension: D = max(min_D, L)", "count")
    eval_size: int = option(1024, "held-out sequences per evaluation", "count")

    def _run(self, N: int, L: int, seed: int, steps: int, eval_every: int) -> dict:
        """One run's configuration (D = max(min_D, L))."""
        return dict(N=N, L=L, D=max(self.min_D, L), eps=self.eps, seed=seed, lr=self.lr, steps=steps,
                    eval_every=eval_every, eval_size=self.eval_size, batch_size=self.batch_size,
                    weight_decay=self.weight_decay)


@dataclass(frozen=True)
class ScalingSetting(_ScalingRunBase):
    """The network's transition step against the flow's over N and L (L = N and L from N + 1 to
    8N), several seeds, as a resumable sweep. ``steps`` and ``eval_every`` pair with ``Ns``."""

    QUICK: ClassVar[dict] = {"Ns": (2, 4), "ratios": (1.5, 2, 4, 8), "seeds": (0,), "seed_counts": (1, 1),
                             "control_seeds": (0,),
                             "steps": (800, 1500),
                             "eval_every": (25, 50), "min_D": 16, "reference": (4, 16),
                             "held_out": (2,)}
    Ns: tuple = option((2, 4, 8, 16), "pair counts N, each 1 to 32", "distinct counts", kind=int)
    ratios: tuple = option((1.25, 2, 3, 4, 8), "L/N ratios (L rounded, at least N + 1; L = N is added)", kind=float)
    seeds: tuple = option((0, 1, 2), "network seeds, each >= 0", "seeds", kind=int)
    seed_counts: tuple = option((3, 3, 3, 2), "at most how many of seeds (the first) each N runs (paired with Ns)",
                                "counts", kind=int)
    control_seeds: tuple = option((0,), "seeds of the L = N controls (they run their whole budget: at N >= 8 they never "
                                  "learn)", "seeds", kind=int)
    steps: tuple = option((2000, 3000, 3000, 6000), "training budget for each N (paired with Ns)", "counts", kind=int)
    eval_every: tuple = option((25, 50, 50, 100), "evaluation interval for each N (paired with Ns)", "counts", kind=int)
    reference: tuple = option((8, 32), "the (N, L) on which the time scale c is fitted", "counts", kind=int)
    held_out: tuple = option((16,), "Ns kept out of every choice made in building the model, reported separately (if swept)",
                             "distinct counts", kind=int)
    flow_t_max: float = option(20_000.0, "longest flow time searched for a cliff, > 0", "positive")
    workers: int = option(2, "worker processes (each limits its BLAS threads to cores // workers)", "count")

    def _check(self):
        if not self.Ns or not self.seeds:
            raise ValueError("Ns and seeds must each name at least one value")
        if max(self.Ns) > 32:
            raise ValueError(f"Ns must be integers from 1 to 32 (2N+1 tokens in 65 position slots), got {self.Ns!r}")
        for name in ("steps", "eval_every", "seed_counts"):
            if len(getattr(self, name)) != len(self.Ns):
                raise ValueError(f"{name} must hold one value per N ({len(self.Ns)}), got {len(getattr(self, name))}")
        ratios = tuple(_validate.positive("ratios", r) for r in self.ratios)
        if not ratios or min(ratios) <= 1:
            raise ValueError(f"ratios must be numbers > 1, got {self.ratios!r}")
        self._set("ratios", tuple(int(r) if float(r).is_integer() else r for r in ratios))
        if self.reference[0] in self.held_out:
            raise ValueError(f"held_out must not include the reference's N = {self.reference[0]}, got {self.held_out!r}")
        ref = self.reference
        if len(ref) != 2 or ref not in self.pairs() or ref[1] == ref[0]:
            raise ValueError(f"reference must be one of the sweep's (N, L) pairs with L > N, got {ref!r}")

    def pairs(self) -> list[tuple[int, int]]:
        """Every (N, L) of the sweep: L = N, then L = round(ratio · N) (at least N + 1)."""
        out = []
        for N in self.Ns:
            Ls = sorted({max(N + 1, int(round(r * N))) for r in self.ratios} | {N})
            out += [(N, L) for L in Ls]
        return out

    def configs(self) -> list[dict]:
        """One :func:`phenom.compare.scaling_point` configuration per (N, L) and seed (per control
        seed at L = N)."""
        per_N = {N: (s, e) for N, s, e in zip(self.Ns, self.steps, self.eval_every)}
        seeds = {N: self.seeds[:k] for N, k in zip(self.Ns, self.seed_counts)}
        return [self._run(N, L, s, *per_N[N]) for (N, L) in self.pairs()
                for s in (self.control_seeds if L == N else seeds[N])]


@dataclass(frozen=True)
class GrowthSetting(_ScalingRunBase):
    """The network's effective β, α, ξ through training against the time-scale model's flow (with
    its stored constant c: no fit here), and its measured metric C along the way, for a few
    (N, L); one run each, with the scaling study's algebra, seed and batches (its evaluation
    cadence is this setting's). ``Ns`` and ``Ls`` pair up."""

    QUICK: ClassVar[dict] = {"Ns": (2, 4), "Ls": (4, 16), "steps": 1500, "min_D": 16, "probe_every": 50,
                             "probe_size": 256}
    Ns: tuple = option((4, 4, 8, 8, 16), "pair counts N, each 2 to 32 (paired with Ls)", "counts", kind=int)
    Ls: tuple = option((8, 32, 16, 64, 64), "label counts L > N (paired with Ns)", "counts", kind=int)
    seed: int = option(0, "network seed, >= 0", "seed")
    steps: int = option(8000, "training budget (runs stop once two evaluations in a row reach ICL accuracy 0.9)", "count")
    eval_every: int = option(25, "evaluation interval, >= 1", "count")
    samples: int = option(400, "time samples of each model flow in the saved curves, >= 2")
    probe_every: int = option(100, "steps between measurements of C (a multiple of eval_every)", "count")
    probe_size: int = option(1024, "sequences each measurement of C uses, >= 1", "count")

    def _check(self):
        self._set("samples", _validate.count("samples", self.samples, minimum=2))
        if self.probe_every % self.eval_every:
            raise ValueError(f"probe_every must be a multiple of eval_every = {self.eval_every}, got {self.probe_every}")
        if len(self.Ns) != len(self.Ls) or not self.Ns:
            raise ValueError(f"Ns and Ls must pair up (one L per N), got {len(self.Ns)} Ns and {len(self.Ls)} Ls")
        for N, L in zip(self.Ns, self.Ls):
            if not 2 <= N <= 32 or L <= N:
                raise ValueError(f"each (N, L) must have 2 <= N <= 32 and L > N, got ({N}, {L})")

    def configs(self) -> list[dict]:
        """One :func:`phenom.compare.scaling_run` configuration per (N, L)."""
        return [self._run(N, L, self.seed, self.steps, self.eval_every) for N, L in zip(self.Ns, self.Ls)]


# ---------------------------------------------------------------------------------------------
# Linear attention as preconditioned gradient descent (von Oswald et al. 2023; Ahn et al. 2023)


@dataclass(frozen=True)
class LinearSetting(Setting):
    """In-context linear regression: Σ with distinct eigenvalues in a random basis, Ω = I."""

    d: int = option(5, "input dimension, integer >= 1", "count")
    N: int = option(20, "context pairs, integer >= 1", "count")
    noise: float = option(0.0, "label-noise variance sigma^2, >= 0", "nonnegative")
    basis_seed: int = option(3, "seed of Sigma's random eigenbasis, >= 0", "seed")

    def make_task(self):
        from phenom.linear.model import LinearICL

        return LinearICL.reference(self.d, self.N, self.noise, seed=self.basis_seed)


@dataclass(frozen=True)
class LinearLandscapeSetting(LinearSetting):
    """R(Γ) on the slice through Γ* along Σ's extreme eigen-directions, with both flows."""

    d: int = option(2, "input dimension, integer >= 1", "count")
    N: int = option(4, "context pairs, integer >= 1", "count")
    eps: float = option(1e-3, "scale of the factored flow's small balanced start, > 0", "positive")
    grid: int = option(121, "grid points per axis, 2 to 1001")
    t_max: float = option(12.0, "flow time, > 0", "positive")

    def _check(self):
        self._set("grid", _grid(self.grid, 1001))


@dataclass(frozen=True)
class LearningCurvesSetting(LinearSetting):
    """The factored flow against the one-layer network trained by SGD from the same start."""

    QUICK: ClassVar[dict] = {"t_max": 4.0}
    eps: float = option(0.01, "scale of the small balanced start, > 0", "positive")
    lr: float = option(0.005, "SGD learning rate (network time t = lr * step), > 0", "positive")
    t_max: float = option(8.0, "flow time, > 0", "positive")
    batch_size: int = option(256, "tasks per step, >= 1", "count")
    seed: int = option(0, "seed of the training data, >= 0", "seed")

    def _check(self):
        if self.t_max < self.lr:
            raise ValueError(f"t_max must be >= lr = {self.lr:g} (the network trains t_max / lr steps), got {self.t_max:g}")


@dataclass(frozen=True)
class PreconditionerSetting(LinearSetting):
    """A one-layer network trained with Adam (cosine schedule) from a small random start."""

    QUICK: ClassVar[dict] = {"steps": 800}
    steps: int = option(3000, "training steps, >= 1", "count")
    lr: float = option(0.01, "Adam learning rate, > 0", "positive")
    batch_size: int = option(512, "tasks per step, >= 1", "count")
    seed: int = option(0, "seed of initialisation and data, >= 0", "seed")
    init_scale: float = option(0.1, "scale of the random initial weights, > 0", "positive")


@dataclass(frozen=True)
class DepthSetting(LinearSetting):
    """K-layer networks against K steps of GD and of PGD with Γ*, each step size tuned."""

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

    def _check(self):
        if not self.layers or not self.seeds:
            raise ValueError("layers and seeds must each name at least one value")


@dataclass(frozen=True)
class SummarySetting(Setting):
    """A figure drawn from other figures' saved results: nothing to set."""

"""Settings of the two-layer attention network's figures (Reddy, ICLR 2024): a training run with
L = N controls, the ablation of each head, the induction-head scores (Olsson et al. 2022), and
in-context against in-weights learning as the data change (Chan et al. 2022).

Policy lives here: the MLP read-out trains with Adam (under plain SGD at a useful rate its ReLU
units die), SGD's rate and weight decay.

>>> NetworkSetting(classifier="mlp").optimizer, NetworkSetting(classifier="mlp").lr
('adam', 0.001)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from phenom.figures.settings._base import ADAM_LR, SGD_LR, WEIGHT_DECAY, Setting, option, tasks, validate

__all__ = [
    "NetworkSetting",
    "NetworkTrainingSetting",
    "NetworkAblationSetting",
    "InductionHeadsSetting",
    "DataDependenceSetting",
]


EVAL_SEED_OFFSET = 20_000
"""The largest offset of a seed's evaluation streams (the classification sets use seed + 20000,
the head scores seed + 10000): seeds stop that much below 2^62."""


def check_seeds(name: str, seeds) -> None:
    """Every seed in ``seeds`` leaves room for its evaluation streams (:data:`EVAL_SEED_OFFSET`)."""
    for seed in seeds:
        validate.at_most(name, seed, validate.MAX_COUNT - EVAL_SEED_OFFSET, "its evaluation streams add 20000")


def check_decay(weight_decay: float) -> None:
    """Multiplicative decay p ← (1 − weight_decay) p shrinks the weights only for a decay up to 1."""
    if weight_decay > 1:
        raise ValueError(
            f"weight_decay must be a number from 0 to 1 (p <- (1 - weight_decay) p shrinks p), got {weight_decay!r}"
        )


def check_batches(setting: Setting, names: tuple[str, ...], N: int, D: int) -> None:
    """Each field of ``names`` (a number of sequences sampled at once) within the task's batch
    bound (:func:`phenom.nets.tasks.batch_limit`)."""
    largest = tasks.batch_limit(N, D)
    for name in names:
        validate.at_most(name, getattr(setting, name), largest, f"one batch at N = {N}, D = {D}: 2^26 token numbers")


@dataclass(frozen=True)
class CopyingBase(Setting):
    """What every setting on the copying task holds: its sizes, noise, batch and evaluation size."""

    N: int = option(8, "item-label pairs, 1 to 32")
    L: int = option(32, "labels, integer >= N")
    D: int = option(63, "content dimension, integer >= L")
    eps: float = option(0.1, "within-class noise, 0 to 1e30")
    batch_size: int = option(128, "sequences per step, >= 1", "count")
    eval_size: int = option(2048, "held-out sequences per evaluation, >= 1", "count")

    def _check(self) -> None:
        task = tasks.CopyingTask(N=self.N, L=self.L, D=self.D, eps=self.eps)  # checks N, L, D, eps
        for name in ("N", "L", "D", "eps"):
            self._set(name, getattr(task, name))
        check_batches(self, ("batch_size", "eval_size"), self.N, self.D)


@dataclass(frozen=True)
class NetworkSetting(CopyingBase):
    """One training run of the two-layer attention network (``task`` copy or classify).

    Fields are documented one by one below. The optimiser and rate default by policy: plain
    SGD at :data:`~phenom.figures.settings.SGD_LR` with the linear read-out, Adam at
    :data:`~phenom.figures.settings.ADAM_LR` with the MLP.

    Examples
    --------
    >>> from phenom.figures.settings import NetworkSetting
    >>> s = NetworkSetting()
    >>> s.optimizer, s.lr, s.eval_every, s.quick().steps
    ('sgd', 0.5, 40, 1500)
    >>> NetworkSetting(task="classify", K=64).task_fields()["K"]
    64
    """

    QUICK: ClassVar[dict] = {"steps": 1500}
    task: str = option("copy", "copy or classify")
    K: int = option(256, "classify: classes, a multiple of L", "count")
    B: int = option(1, "classify: burstiness, divides N, 0 = i.i.d.", "seed")
    zipf: float = option(0.0, "classify: rank-frequency (Zipf) exponent a, >= 0", "nonnegative")
    p_B: float = option(1.0, "classify: fraction of bursty sequences, in [0, 1]", "probability")
    p_C: float = option(0.0, "classify: fraction with novel classes, in [0, 1]", "probability")
    classifier: str = option("linear", "read-out: linear or mlp")
    optimizer: str = option(
        None,
        "sgd or adam (default sgd with the linear read-out, adam with mlp: under "
        "plain SGD at a useful rate the MLP's ReLU units die)",
        kind=str,
    )
    lr: float = option(
        None, f"learning rate, > 0 (default {SGD_LR} for sgd, {ADAM_LR} for adam)", "positive", kind=float
    )
    weight_decay: float = option(
        WEIGHT_DECAY, "multiplicative weight decay with sgd, 0 to 1 (none with adam)", "nonnegative"
    )
    steps: int = option(2000, "training steps, >= 1", "count")
    evals: int = option(50, "evaluations over the run (every steps // evals steps), >= 1", "count")
    seed: int = option(0, "seed of initialisation and data, >= 0", "seed")

    def _check(self) -> None:
        super()._check()
        for name, allowed in (
            ("task", ("copy", "classify")),
            ("classifier", ("linear", "mlp")),
            ("optimizer", ("sgd", "adam", None)),
        ):
            if getattr(self, name) not in allowed:
                choices = " or ".join(repr(a) for a in allowed if a is not None)
                raise ValueError(f"{name} must be {choices}, got {getattr(self, name)!r}")
        # Policy: the MLP read-out trains with Adam unless told otherwise (its ReLU units die
        # under plain SGD at a rate that learns the task in a few thousand steps).
        optimizer = self.optimizer or ("adam" if self.classifier == "mlp" else "sgd")
        self._set("optimizer", optimizer)
        if self.lr is None:
            self._set("lr", ADAM_LR if optimizer == "adam" else SGD_LR)
        check_decay(self.weight_decay)
        check_seeds("seed", (self.seed,))
        self._check_task()

    def _check_task(self, L: int | None = None) -> None:
        """The classify fields are checked by the task itself."""
        tasks.make_task(**self.task_fields(L))

    def task_fields(self, L: int | None = None) -> dict[str, Any]:
        """The keyword arguments of :func:`phenom.nets.tasks.make_task` for this setting's task
        (``L`` overrides the label count, for L = N controls)."""
        extra = {} if self.task == "copy" else dict(K=self.K, B=self.B, a=self.zipf, p_B=self.p_B, p_C=self.p_C)
        return dict(task=self.task, N=self.N, L=self.L if L is None else L, D=self.D, eps=self.eps, **extra)

    @property
    def eval_every(self) -> int:
        """Steps between held-out evaluations: ``steps // evals``, at least 1."""
        return max(1, self.steps // self.evals)

    def run_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`phenom.nets.train` (but the seed)."""
        return dict(
            steps=self.steps,
            lr=self.lr,
            optimizer=self.optimizer,
            batch_size=self.batch_size,
            weight_decay=self.weight_decay if self.optimizer == "sgd" else 0.0,
            eval_every=self.eval_every,
            eval_size=self.eval_size,
        )

    def run_fields(self) -> dict[str, Any]:
        """The fields that define one training run (not the figure around it)."""
        keep = {f.name for f in dataclasses.fields(NetworkSetting)}
        return {k: v for k, v in dataclasses.asdict(self).items() if k in keep}


@dataclass(frozen=True)
class NetworkTrainingSetting(NetworkSetting):
    """The training figure: one run, and ``controls`` runs at L = N (seeds 0, 1, …).

    Examples
    --------
    >>> from phenom.figures.settings import NetworkTrainingSetting
    >>> s = NetworkTrainingSetting()
    >>> s.controls, s.quick().controls, s.quick().steps
    (3, 0, 1500)
    """

    QUICK: ClassVar[dict] = {"steps": 1500, "controls": 0}
    controls: int = option(3, "L = N control runs with the same budget, >= 0", "seed")
    eval_sets: int = option(4096, "classify: sequences in each of the IC, IC2, IW evaluation sets, >= 1", "count")

    def _check(self) -> None:
        super()._check()
        if self.controls:
            self._check_task(L=self.N)  # the L = N controls' task must be valid too
        check_batches(self, ("eval_sets",), self.N, self.D)


@dataclass(frozen=True)
class NetworkAblationSetting(NetworkSetting):
    """Train (or reuse the identical training run), then remove each head's contribution.

    Examples
    --------
    The ablation trains the same run as the training figure (the same run fields), so a figure
    made after it reuses its checkpoint:

    >>> from phenom.figures.settings import NetworkAblationSetting, NetworkTrainingSetting
    >>> NetworkAblationSetting().run_fields() == NetworkTrainingSetting().run_fields()
    True
    >>> NetworkAblationSetting().ablation_size
    8192
    """

    ablation_size: int = option(8192, "held-out sequences for the ablation, >= 1", "count")

    def _check(self) -> None:
        super()._check()
        check_batches(self, ("ablation_size",), self.N, self.D)


@dataclass(frozen=True)
class InductionHeadsSetting(NetworkSetting):
    """Setting of the induction-head figure: head scores through training.

    Induction-head diagnostics (Olsson et al. 2022) through training, against ICL accuracy, for
    several seeds of the training figure's run (seed 0 is that run, reused).

    Examples
    --------
    >>> from phenom.figures.settings import InductionHeadsSetting
    >>> s = InductionHeadsSetting()
    >>> s.seeds, s.quick().seeds, s.quick().score_size
    ((0, 1, 2), (0,), 512)
    """

    QUICK: ClassVar[dict] = {"steps": 1500, "seeds": (0,), "score_size": 512}
    seeds: tuple = option((0, 1, 2), "network seeds, each >= 0", "seeds", kind=int)
    score_size: int = option(2048, "held-out and repeated random sequences for the final scores, >= 1", "count")

    def _check(self) -> None:
        super()._check()
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        check_seeds("seeds", self.seeds)
        check_batches(self, ("score_size",), self.N, self.D)


@dataclass(frozen=True)
class DataDependenceSetting(Setting):
    """Setting of the data-dependence figure: in-context against in-weights learning.

    In-context against in-weights learning as the data change (Reddy, ICLR 2024, Sec. 3;
    Chan et al., NeurIPS 2022): from one base classification task, one factor at a time (B, K,
    ε, the Zipf exponent), several seeds each; trained with plain SGD like the copying figures
    and scored on the IC, IC2 and IW sets at the end (IC and IC2 always with the base's
    burstiness, so that every run answers the same in-context question).

    Fields are documented one by one below; every value of every sweep must make a valid
    classification task with the base's other factors.

    Examples
    --------
    >>> from phenom.figures.settings import DataDependenceSetting
    >>> s = DataDependenceSetting()
    >>> s.base(), s.quick().K_values
    ({'B': 2, 'K': 512, 'eps': 0.1, 'zipf': 0.0}, (128, 512))
    >>> try:
    ...     DataDependenceSetting(K_values=(32, 100))
    ... except ValueError as err:
    ...     print(err)
    K_values: K must be a multiple of L = 32, got 100
    """

    QUICK: ClassVar[dict] = {
        "steps": 800,
        "seeds": (0,),
        "B_values": (0, 2),
        "K_values": (128, 512),
        "eps_values": (0.1, 0.5),
        "zipf_values": (0.0, 1.0),
        "eval_size": 1024,
        "curve_every": 200,
    }
    N: int = option(8, "item-label pairs, 1 to 32")
    L: int = option(32, "labels, integer >= N")
    D: int = option(63, "content dimension, integer >= L")
    K: int = option(512, "base: classes, a multiple of L", "count")
    B: int = option(2, "base: burstiness (copies of each class in a bursty context), divides N", "count")
    eps: float = option(0.1, "base: within-class noise, 0 to 1e30", "nonnegative")
    zipf: float = option(0.0, "base: Zipf exponent a of the class frequencies, >= 0", "nonnegative")
    B_values: tuple = option((0, 1, 2, 4), "burstiness sweep (0 = i.i.d. contexts)", kind=int)
    K_values: tuple = option((32, 128, 512, 2048), "class-count sweep, multiples of L", kind=int)
    eps_values: tuple = option((0.0, 0.1, 0.3, 1.0), "within-class noise sweep, each 0 to 1e30", kind=float)
    zipf_values: tuple = option((0.0, 0.5, 1.0, 1.5, 2.0), "Zipf exponent sweep, each >= 0", kind=float)
    seeds: tuple = option((0, 1), "seeds (network initialisation, data and class means), each >= 0", "seeds", kind=int)
    steps: int = option(2500, "SGD steps per run", "count")
    lr: float = option(SGD_LR, "SGD learning rate, > 0", "positive")
    weight_decay: float = option(WEIGHT_DECAY, "multiplicative weight decay, 0 to 1", "nonnegative")
    batch_size: int = option(128, "sequences per step, >= 1", "count")
    eval_size: int = option(2048, "sequences in each of the IC, IC2 and IW sets, >= 1", "count")
    curve_every: int = option(500, "steps between IC/IC2/IW evaluations during training (to see transience)", "count")
    workers: int = option(2, "worker processes (each limits its BLAS threads to cores // workers)", "count")

    SWEEPS: ClassVar[dict] = {"B": "B_values", "K": "K_values", "eps": "eps_values", "zipf": "zipf_values"}
    """Each factor of the data and the field holding its values."""

    def _check(self) -> None:
        base = tasks.ClassificationTask(N=self.N, L=self.L, D=self.D, eps=self.eps, K=self.K, B=self.B, a=self.zipf)
        for name in ("N", "L", "D"):
            self._set(name, getattr(base, name))
        for factor, field_name in self.SWEEPS.items():
            values = tuple(getattr(self, field_name))
            if len(values) < 2 or len(set(values)) != len(values):
                raise ValueError(f"{field_name} must hold at least two distinct values, got {values!r}")
            self._set(field_name, values)
            for v in values:
                c = {**self.base(), factor: v}
                try:
                    tasks.ClassificationTask(
                        N=self.N,
                        L=self.L,
                        D=self.D,
                        eps=c["eps"],
                        K=c["K"],
                        B=c["B"],
                        a=c["zipf"],
                        p_B=1.0,
                        p_C=0.0,
                        seed=0,
                    )
                except ValueError as err:
                    raise ValueError(f"{field_name}: {err}") from None
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        check_seeds("seeds", self.seeds)
        check_decay(self.weight_decay)
        check_batches(self, ("batch_size", "eval_size"), self.N, self.D)

    def base(self) -> dict[str, Any]:
        """The base task's data factors (each sweep changes one of them)."""
        return {"B": self.B, "K": self.K, "eps": self.eps, "zipf": self.zipf}

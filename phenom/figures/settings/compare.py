"""Settings of the figures that put the β, α, ξ model beside the trained network: one (N, L) on
shared axes, the transition's scaling over N and L, the effective parameters' growth, and the
chain from the exact minimal network to the trained one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from phenom.figures.settings._base import SGD_LR, WEIGHT_DECAY, Setting, SummarySetting, option, tasks, validate
from phenom.figures.settings.network import CopyingBase, check_batches, check_decay

MIN_GROWTH_LR = 1e-11
"""The smallest learning rate of the growth figure. Its models put flow time t on the network's
step axis as t / (c · lr); a cliff is searched up to t = 1e6 and the smaller of the stored
constants c is 0.188 (:data:`phenom.induction.prediction.TIME_CONSTANTS`), so below
1e6 / (0.188 · 2^62) = 1.2e-12 a predicted step passes 2^62, the range of a step count (and at
lr = 5e-324, c · lr is 0)."""

MAX_SAMPLES = 100_000
"""The most time samples of a saved flow curve (each run's curves stay within megabytes)."""

__all__ = ["CompareSetting", "ScalingSetting", "GrowthSetting", "ChainSetting"]


@dataclass(frozen=True)
class CompareSetting(CopyingBase):
    """The flow and trained networks (linear read-out, SGD) for one (N, L), on shared axes.

    Fields are documented one by one below (N, L, D, ε, batch and evaluation sizes as in every
    setting of the copying task). L must exceed N: at L = N the flow never leaves the origin.

    Examples
    --------
    >>> from phenom.figures.settings import CompareSetting
    >>> s = CompareSetting()
    >>> (s.N, s.L, s.D), s.seeds, (s.quick().seeds, s.quick().steps)
    ((8, 32, 63), (0, 1, 2), ((0,), 1500))
    >>> CompareSetting(N=4, L=4)
    Traceback (most recent call last):
    ...
    ValueError: L must be an integer > N = 4: at L = N the flow never leaves the origin, nothing to align
    """

    QUICK: ClassVar[dict] = {"seeds": (0,), "steps": 1500}
    seeds: tuple = option((0, 1, 2), "network seeds, each >= 0", "seeds", kind=int)
    lr: float = option(SGD_LR, "SGD learning rate, > 0", "positive")
    weight_decay: float = option(WEIGHT_DECAY, "multiplicative weight decay, >= 0", "nonnegative")
    steps: int = option(2000, "training steps, >= 1", "count")
    evals: int = option(80, "evaluations over the run, >= 1", "count")
    flow_t_max: float = option(20_000.0, "longest flow time searched for the flow's cliff, > 0", "positive")
    samples: int = option(600, "time samples of the flow in the saved curves, >= 2")

    def _check(self) -> None:
        super()._check()
        if self.L == self.N:
            raise ValueError(
                f"L must be an integer > N = {self.N}: at L = N the flow never leaves the origin, nothing to align"
            )
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        self._set("samples", validate.count("samples", self.samples, minimum=2))


@dataclass(frozen=True)
class ScalingRunBase(Setting):
    """What the training runs of the scaling study (:func:`phenom.figures.runs.scaling_point`) share."""

    lr: float = option(SGD_LR, "SGD learning rate, > 0", "positive")
    weight_decay: float = option(WEIGHT_DECAY, "multiplicative weight decay, >= 0", "nonnegative")
    batch_size: int = option(128, "sequences per step, >= 1", "count")
    eps: float = option(0.1, "within-class noise, >= 0", "nonnegative")
    min_D: int = option(63, "content dimension: D = max(min_D, L)", "count")
    eval_size: int = option(1024, "held-out sequences per evaluation", "count")


@dataclass(frozen=True)
class ScalingSetting(ScalingRunBase):
    """The network's transition step against the flow's over N and L, several seeds, as a resumable sweep.

    L runs over L = N and from N + 1 to 8N (:meth:`pairs`). ``steps``, ``eval_every`` and
    ``seed_counts`` pair with ``Ns``. Fields are documented one by one below.

    Examples
    --------
    >>> from phenom.figures.settings import ScalingSetting
    >>> ScalingSetting().pairs()[:6]
    [(2, 2), (2, 3), (2, 4), (2, 6), (2, 8), (2, 16)]
    >>> quick = ScalingSetting().quick()
    >>> len(quick.pairs()), quick.reference, quick.reference in quick.pairs()
    (10, (4, 16), True)
    """

    QUICK: ClassVar[dict] = {
        "Ns": (2, 4),
        "ratios": (1.5, 2, 4, 8),
        "seeds": (0,),
        "seed_counts": (1, 1),
        "control_seeds": (0,),
        "steps": (800, 1500),
        "eval_every": (25, 50),
        "min_D": 16,
        "reference": (4, 16),
        "held_out": (2,),
    }
    Ns: tuple = option((2, 4, 8, 16), "pair counts N, each 1 to 32", "distinct counts", kind=int)
    ratios: tuple = option((1.25, 2, 3, 4, 8), "L/N ratios (L rounded, at least N + 1; L = N is added)", kind=float)
    seeds: tuple = option((0, 1, 2), "network seeds, each >= 0", "seeds", kind=int)
    seed_counts: tuple = option(
        (3, 3, 3, 2), "at most how many of seeds (the first) each N runs (paired with Ns)", "counts", kind=int
    )
    control_seeds: tuple = option(
        (0,), "seeds of the L = N controls (they run their whole budget: at N >= 8 they never learn)", "seeds", kind=int
    )
    steps: tuple = option((2000, 3000, 3000, 6000), "training budget for each N (paired with Ns)", "counts", kind=int)
    eval_every: tuple = option((25, 50, 50, 100), "evaluation interval for each N (paired with Ns)", "counts", kind=int)
    reference: tuple = option((8, 32), "the (N, L) on which the time scale c is fitted", "counts", kind=int)
    held_out: tuple = option(
        (16,),
        "Ns kept out of every choice made in building the model, reported separately (if swept)",
        "distinct counts",
        kind=int,
    )
    flow_t_max: float = option(20_000.0, "longest flow time searched for a cliff, > 0", "positive")
    workers: int = option(2, "worker processes (each limits its BLAS threads to cores // workers)", "count")

    def _check(self) -> None:
        if not self.Ns or not self.seeds:
            raise ValueError("Ns and seeds must each name at least one value")
        if max(self.Ns) > 32:
            raise ValueError(f"Ns must be integers from 1 to 32 (2N+1 tokens in 65 position slots), got {self.Ns!r}")
        for name in ("steps", "eval_every", "seed_counts"):
            if len(getattr(self, name)) != len(self.Ns):
                raise ValueError(f"{name} must hold one value per N ({len(self.Ns)}), got {len(getattr(self, name))}")
        ratios = tuple(validate.positive("ratios", r) for r in self.ratios)
        if not ratios or min(ratios) <= 1:
            raise ValueError(f"ratios must be numbers > 1, got {self.ratios!r}")
        self._set("ratios", tuple(int(r) if float(r).is_integer() else r for r in ratios))
        if self.reference[0] in self.held_out:
            raise ValueError(
                f"held_out must not include the reference's N = {self.reference[0]}, got {self.held_out!r}"
            )
        ref = self.reference
        if len(ref) != 2 or ref not in self.pairs() or ref[1] == ref[0]:
            raise ValueError(f"reference must be one of the sweep's (N, L) pairs with L > N, got {ref!r}")
        check_runs(self, self.pairs(), ("batch_size", "eval_size"))

    def pairs(self) -> list[tuple[int, int]]:
        """Every (N, L) of the sweep: L = N, then L = round(ratio · N) (at least N + 1).

        Returns
        -------
        list of tuple of int
            The pairs (N, L), N in the order of ``Ns``, L increasing.

        Examples
        --------
        >>> from phenom.figures.settings import ScalingSetting
        >>> ScalingSetting(Ns=(4,), ratios=(1.25, 2), seed_counts=(1,), steps=(100,), eval_every=(10,),
        ...                reference=(4, 8), held_out=()).pairs()
        [(4, 4), (4, 5), (4, 8)]
        """
        out = []
        for N in self.Ns:
            Ls = sorted({max(N + 1, int(round(r * N))) for r in self.ratios} | {N})
            out += [(N, L) for L in Ls]
        return out


@dataclass(frozen=True)
class GrowthSetting(ScalingRunBase):
    """The network's effective β, α, ξ through training against the time-scale model's flow.

    The flow runs with its stored constant c (no fit here), and the network's measured metric C
    is recorded along the way, for a few (N, L); one run each, with the scaling study's algebra,
    seed and batches (its evaluation cadence is this setting's). ``Ns`` and ``Ls`` pair up.
    Fields are documented one by one below.

    Examples
    --------
    >>> from phenom.figures.settings import GrowthSetting
    >>> s = GrowthSetting()
    >>> list(zip(s.Ns, s.Ls))
    [(4, 8), (4, 32), (8, 16), (8, 64), (16, 64)]
    >>> list(zip(s.quick().Ns, s.quick().Ls)), s.quick().min_D
    ([(2, 4), (4, 16)], 16)
    """

    QUICK: ClassVar[dict] = {
        "Ns": (2, 4),
        "Ls": (4, 16),
        "steps": 1500,
        "min_D": 16,
        "probe_every": 50,
        "probe_size": 256,
    }
    Ns: tuple = option((4, 4, 8, 8, 16), "pair counts N, each 2 to 32 (paired with Ls)", "counts", kind=int)
    Ls: tuple = option((8, 32, 16, 64, 64), "label counts L > N (paired with Ns)", "counts", kind=int)
    seed: int = option(0, "network seed, >= 0", "seed")
    steps: int = option(
        8000, "training budget (runs stop once two evaluations in a row reach ICL accuracy 0.9)", "count"
    )
    eval_every: int = option(25, "evaluation interval, >= 1", "count")
    samples: int = option(400, "time samples of each model flow in the saved curves, 2 to 100000")
    probe_every: int = option(100, "steps between measurements of C (a multiple of eval_every)", "count")
    probe_size: int = option(1024, "sequences each measurement of C uses, >= 1", "count")

    def _check(self) -> None:
        self._set("samples", validate.count("samples", self.samples, minimum=2))
        validate.at_most("samples", self.samples, MAX_SAMPLES, "time samples of each saved flow curve")
        if self.lr < MIN_GROWTH_LR:
            raise ValueError(
                f"lr must be a number >= {MIN_GROWTH_LR:g} (below it a predicted step count passes 2^62), "
                f"got {self.lr!r}"
            )
        validate.at_most("seed", self.seed, validate.MAX_COUNT - 1, "its evaluation stream is seed + 1")
        if self.probe_every % self.eval_every:
            raise ValueError(
                f"probe_every must be a multiple of eval_every = {self.eval_every}, got {self.probe_every}"
            )
        if len(self.Ns) != len(self.Ls) or not self.Ns:
            raise ValueError(f"Ns and Ls must pair up (one L per N), got {len(self.Ns)} Ns and {len(self.Ls)} Ls")
        for N, L in zip(self.Ns, self.Ls, strict=True):
            if not 2 <= N <= 32 or L <= N:
                raise ValueError(f"each (N, L) must have 2 <= N <= 32 and L > N, got ({N}, {L})")
        check_runs(self, list(zip(self.Ns, self.Ls, strict=True)), ("batch_size", "eval_size", "probe_size"))


def check_runs(setting: ScalingRunBase, pairs: list[tuple[int, int]], sizes: tuple[str, ...]) -> None:
    """A ValueError unless every training run of ``setting`` at the (N, L) ``pairs`` can run: its
    task (D = max(min_D, L), eps) is valid, ``sizes`` (fields counting sequences) are within the
    tasks' batch bound at the longest sequences, and the weight decay is at most 1."""
    check_decay(setting.weight_decay)
    widest = (0, 0)  # the (N, D) with the longest sequences of tokens: the smallest batch bound
    for N, L in pairs:
        D = max(setting.min_D, L)
        try:
            tasks.CopyingTask(N=N, L=L, D=D, eps=setting.eps)  # the run's task: checks D and eps
        except ValueError as err:
            raise ValueError(f"at (N, L) = ({N}, {L}) with D = max(min_D, L) = {D}: {err}") from None
        widest = max(widest, (N, D), key=lambda nd: (2 * nd[0] + 1) * (tasks.POSITIONS + nd[1]))
    check_batches(setting, sizes, *widest)


@dataclass(frozen=True)
class ChainSetting(SummarySetting):
    """The chain figure, drawn from the saved ``minimal_vs_mean_field`` and ``compare`` results.

    Nothing to set: the chain reads what those two figures saved in the output folder.

    Examples
    --------
    >>> from phenom.figures.settings import ChainSetting
    >>> ChainSetting().to_dict()
    {'setting': 'ChainSetting'}
    """

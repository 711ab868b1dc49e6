"""The setting of the extended model's figure: its learning curves against networks trained over
N, L, the embedding dimension D, the learning rate, the batch size and the noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from phenom.figures.settings._base import SGD_LR, WEIGHT_DECAY, Setting, option, tasks, validate
from phenom.figures.settings.network import check_decay

__all__ = ["ExtendedSetting"]


@dataclass(frozen=True)
class ExtendedSetting(Setting):
    """The extended model's learning curves against networks trained over N, L, D, lr, batch size and ε.

    The curves are :func:`phenom.induction.extended.extended_curves` (stored constant, nothing
    fitted here); the networks vary N, L, the embedding dimension D, the learning rate, the batch
    size and the noise ε: one configuration per index of the paired tuples ``Ns``, ``Ls``,
    ``Ds``, ``lrs``, ``batch_sizes``, ``epss`` (:meth:`configs`), each trained for every seed
    until two evaluations in a row reach ICL accuracy 0.9. Fields are documented one by one
    below.

    Examples
    --------
    >>> from phenom.figures.settings import ExtendedSetting
    >>> s = ExtendedSetting()
    >>> len(s.configs()), s.configs()[0]
    (17, {'N': 8, 'L': 32, 'D': 63, 'lr': 0.5, 'batch_size': 128, 'eps': 0.1})
    >>> [c["D"] for c in s.quick().configs()]
    [63, 127]
    """

    QUICK: ClassVar[dict] = {
        "Ns": (2, 2),
        "Ls": (8, 8),
        "Ds": (63, 127),
        "lrs": (0.5, 0.5),
        "batch_sizes": (128, 128),
        "epss": (0.1, 0.1),
        "seeds": (0,),
    }
    # The reference, the first round's eleven (which shaped the model) and five held out, chosen
    # and run after the model was fixed.
    Ns: tuple = option(
        (8, 2, 4, 8, 8, 4, 4, 6, 8, 4, 4, 4, 3, 6, 4, 5, 10), "pair counts N, 2 to 32 (paired)", "counts", kind=int
    )
    Ls: tuple = option(
        (32, 8, 16, 32, 32, 16, 16, 24, 20, 16, 16, 16, 12, 12, 24, 20, 30), "labels L > N (paired)", "counts", kind=int
    )
    Ds: tuple = option(
        (63, 63, 63, 127, 255, 127, 255, 63, 63, 63, 63, 63, 63, 127, 191, 63, 95),
        "content dimensions D >= L (paired)",
        "counts",
        kind=int,
    )
    lrs: tuple = option(
        (SGD_LR,) * 9 + (0.25, SGD_LR, SGD_LR, SGD_LR, SGD_LR, SGD_LR, 0.35, SGD_LR),
        "SGD learning rates > 0 (paired)",
        kind=float,
    )
    batch_sizes: tuple = option(
        (128,) * 10 + (32, 128, 128, 128, 128, 64, 128), "sequences per step (paired)", "counts", kind=int
    )
    epss: tuple = option((0.1,) * 11 + (0.3, 0.1, 0.1, 0.1, 0.1, 0.2), "within-class noise ε >= 0 (paired)", kind=float)
    seeds: tuple = option((0, 1), "network seeds, each >= 0", "seeds", kind=int)
    weight_decay: float = option(WEIGHT_DECAY, "multiplicative weight decay, >= 0", "nonnegative")
    steps: int = option(
        12_000, "training budget (runs stop once two evaluations in a row reach ICL accuracy 0.9)", "count"
    )
    eval_every: int = option(25, "evaluation interval, >= 1", "count")
    eval_size: int = option(1024, "held-out sequences per evaluation", "count")

    def _check(self) -> None:
        names = ("Ns", "Ls", "Ds", "lrs", "batch_sizes", "epss")
        if not self.Ns or len({len(getattr(self, n)) for n in names}) != 1:
            raise ValueError(f"{', '.join(names)} must pair up (one value each per configuration)")
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        self._set("lrs", tuple(validate.positive("lrs", v) for v in self.lrs))
        self._set("epss", tuple(validate.nonnegative("epss", v) for v in self.epss))
        check_decay(self.weight_decay)
        for N, L, D, eps, batch in zip(self.Ns, self.Ls, self.Ds, self.epss, self.batch_sizes, strict=True):
            if not 2 <= N <= 32 or L <= N:
                raise ValueError(f"each (N, L) must have 2 <= N <= 32 and L > N, got ({N}, {L})")
            try:
                tasks.CopyingTask(N=N, L=L, D=D, eps=eps)
            except ValueError as err:
                raise ValueError(f"at (N, L, D) = ({N}, {L}, {D}): {err}") from None
            validate.at_most("batch_sizes", batch, tasks.batch_limit(N, D), f"one batch at N = {N}, D = {D}")
            validate.at_most("eval_size", self.eval_size, tasks.batch_limit(N, D), f"one batch at N = {N}, D = {D}")

    def configs(self) -> list[dict]:
        """One training configuration per index of the paired tuples.

        Returns
        -------
        list of dict
            Each with keys ``N``, ``L``, ``D``, ``lr``, ``batch_size``, ``eps``.

        Examples
        --------
        >>> from phenom.figures.settings import ExtendedSetting
        >>> ExtendedSetting(Ns=(2,), Ls=(8,), Ds=(63,), lrs=(0.25,), batch_sizes=(64,), epss=(0.0,)).configs()
        [{'N': 2, 'L': 8, 'D': 63, 'lr': 0.25, 'batch_size': 64, 'eps': 0.0}]
        """
        return [
            {"N": N, "L": L, "D": D, "lr": lr, "batch_size": b, "eps": e}
            for N, L, D, lr, b, e in zip(self.Ns, self.Ls, self.Ds, self.lrs, self.batch_sizes, self.epss, strict=True)
        ]

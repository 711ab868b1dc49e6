"""Every exception class phenom defines crosses a process boundary intact.

A worker process sends an exception to its parent pickled; one that cannot be rebuilt there
breaks a process pool and loses every other task. Every exception class defined anywhere in
phenom is found by importing all its modules and walking the subclasses of BaseException, and
must be listed in SAMPLES with representative arguments: a new class that is not listed fails
the first test.
"""

import importlib
import math
import pickle
import pkgutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pytest

import phenom
from phenom.figures._main_guard import MainGuardError
from phenom.figures.registry import FigureError
from phenom.figures.sweep import SweepError, SweepResult
from phenom.nets.checkpoint import CheckpointError
from phenom.nets.training import Diverged

NAN = float("nan")


def _sweep_error() -> SweepError:
    configs = [{"x": 0}, {"x": 1}, {"x": 2}, {"x": 3}]
    failure = {"config": configs[1], "type": "Diverged", "message": "training diverged at step 3"}
    results = SweepResult([{"y": NAN, "z": [1.5, -math.inf]}, None, None, {"y": 2.0}], configs)
    return SweepError([failure], results, 4, "the executor failed (KilledWorker: gone)", 1)


SAMPLES: dict[str, list[Callable[[], BaseException]]] = {
    "phenom.nets.training.Diverged": [
        lambda: Diverged(12, NAN, 0.5),
        lambda: Diverged(0, math.inf, 1e4),
    ],
    "phenom.nets.checkpoint.CheckpointError": [
        lambda: CheckpointError("checkpoint run.npz is of another run: lr differs (0.1 saved, 0.2 asked)"),
    ],
    "phenom.figures.sweep.SweepError": [
        _sweep_error,
        lambda: SweepError([], SweepResult([None], [{"x": 0}]), 1, "work was cancelled", 1),
    ],
    "phenom.figures._main_guard.MainGuardError": [
        lambda: MainGuardError("reproduce was called at the top level of run.py, which every worker imports again"),
    ],
    "phenom.figures.registry.FigureError": [
        lambda: FigureError("scaling", "compute", Diverged(3, NAN, 10.0)),
        lambda: FigureError("data_dependence", "compute", _sweep_error()),
    ],
}


def _defined_in_phenom() -> set[str]:
    """The qualified names of every exception class defined in phenom's modules (all imported)."""
    for module in pkgutil.walk_packages(phenom.__path__, "phenom."):
        if not module.name.endswith(".__main__"):  # running it would run the command line
            importlib.import_module(module.name)
    found, stack = set(), [BaseException]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__ == "phenom" or cls.__module__.startswith("phenom."):
            found.add(f"{cls.__module__}.{cls.__qualname__}")
    return found


def _same(a, b) -> bool:
    """Equal values, NaN equal to NaN; exceptions equal when of the same type with equal
    arguments and attributes; lists of a subclass (SweepResult) equal with equal attributes too
    (its configurations)."""
    if isinstance(a, BaseException):
        return type(a) is type(b) and _same(a.args, b.args) and _same(vars(a), vars(b))
    if isinstance(a, list) and type(a) is not list:
        return type(a) is type(b) and _same(list(a), list(b)) and _same(vars(a), vars(b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_every_exception_class_of_phenom_has_samples():
    assert _defined_in_phenom() == set(SAMPLES)


def test_the_comparison_tells_exceptions_apart():
    """_same is the judge of the tests below: it must see a changed argument, attribute, type
    or nested exception."""
    assert _same(Diverged(1, NAN, 0.5), Diverged(1, NAN, 0.5))
    assert not _same(Diverged(1, NAN, 0.5), Diverged(2, NAN, 0.5))
    changed = Diverged(1, NAN, 0.5)
    changed.lr = 0.25
    assert not _same(Diverged(1, NAN, 0.5), changed)
    assert not _same(CheckpointError("a"), MainGuardError("a"))
    assert not _same(_sweep_error(), SweepError([], SweepResult([None], [{"x": 0}]), 1, "work was cancelled", 1))
    other = _sweep_error()
    other.results.configs[0] = {"x": 9}
    assert not _same(_sweep_error(), other)
    assert not _same(FigureError("a", "compute", ValueError("m")), FigureError("a", "compute", RuntimeError("m")))


@pytest.mark.parametrize(
    "name, index", [(name, i) for name, makers in SAMPLES.items() for i in range(len(makers))], ids=str
)
def test_an_exception_pickles_with_its_arguments_and_attributes(name, index):
    err = SAMPLES[name][index]()
    again = pickle.loads(pickle.dumps(err))
    assert _same(err, again) and str(again) == str(err)


def raise_sample(name: str, index: int) -> None:
    raise SAMPLES[name][index]()


def test_exceptions_raised_in_a_worker_process_reach_its_parent_intact():
    with ProcessPoolExecutor(1) as pool:
        for name, makers in SAMPLES.items():
            for index, make in enumerate(makers):
                received = pool.submit(raise_sample, name, index).exception()
                assert _same(received, make()), name

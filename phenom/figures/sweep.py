"""Parameter sweeps on any executor, collected as they finish, resumable.

A sweep maps a function over a grid of configurations with any
:class:`concurrent.futures.Executor`: a local process pool by default, or a Dask cluster's
(``distributed.Client(...).get_executor()``) when one machine is not enough. The same call runs
on either.

>>> from concurrent.futures import ThreadPoolExecutor
>>> def square(cfg):
...     return {"y": cfg["x"] ** 2}
>>> with ThreadPoolExecutor(2) as pool:
...     rows = sweep(square, grid(x=[1, 2, 3]), executor=pool, progress=False)
>>> [r["y"] for r in rows]
[1, 4, 9]
>>> rows.pairs()[1]
({'x': 2}, {'y': 4})

With ``out``, every finished configuration is appended to a JSON-lines file (rewritten
atomically), and a sweep started again with the same ``out`` skips what is already there: an
interrupted sweep keeps what finished and resumes without redoing it. A configuration that fails
is recorded with its error and does not stop the others; the sweep reports every failure at the
end (:class:`SweepError`) and a re-run retries them. A configuration the executor did not
complete (its pool broken, its worker killed, its work cancelled, a Dask cluster restarted) is
unfinished, not failed: nothing is recorded for it, :class:`SweepError` counts it, and a re-run
runs it.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import (
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    InvalidStateError,
    ProcessPoolExecutor,
    as_completed,
)
from contextlib import contextmanager, suppress
from pathlib import Path

from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from phenom import _io, _validate

__all__ = ["grid", "sweep", "load_results", "local_pool", "SweepError", "SweepResult"]


def grid(**axes: Iterable) -> list[dict]:
    """Every combination of the given axes, as dicts: ``grid(N=[2, 4], seed=[0, 1])``.

    Parameters
    ----------
    **axes : iterable
        Each axis's name and its values; the last axis varies fastest.

    Returns
    -------
    list of dict
        One configuration per combination, ``{name: value}`` for every axis.

    Examples
    --------
    >>> from phenom.figures.sweep import grid
    >>> grid(N=[2, 4], seed=[0, 1])
    [{'N': 2, 'seed': 0}, {'N': 2, 'seed': 1}, {'N': 4, 'seed': 0}, {'N': 4, 'seed': 1}]
    """
    names = list(axes)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(list(axes[n]) for n in names))]


def _key(config: Mapping) -> str:
    return json.dumps(_io.plain(dict(config)), sort_keys=True)


def _as_stored(value):
    """``value`` as a sweep file gives it back: JSON values (numpy arrays and tuples as lists,
    numpy scalars as Python numbers, keys as strings), NaN and ±inf kept as floats."""
    return json.loads(json.dumps(_io.plain(value), allow_nan=True))


class SweepResult(list):
    """The results of a sweep, in the order of its configurations, with the configurations.

    The results of a sweep, a list in the order of its configurations (as before), with the
    configurations beside them: ``configs`` (the dicts the sweep ran, in the same order) and
    :meth:`pairs`. A result is None where its configuration failed or did not run.

    Parameters
    ----------
    results : iterable, default ()
        The results, in the order of the configurations.
    configs : sequence of mapping, default ()
        One configuration per result (ValueError otherwise), copied as dicts.

    Examples
    --------
    >>> from phenom.figures.sweep import SweepResult
    >>> rows = SweepResult([{"y": 1}, None], [{"x": 1}, {"x": 2}])
    >>> rows[0], rows.configs[1], rows.pairs()[1]
    ({'y': 1}, {'x': 2}, ({'x': 2}, None))
    """

    def __init__(self, results: Iterable = (), configs: Sequence[Mapping] = ()):
        super().__init__(results)
        if len(configs) != len(self):
            raise ValueError(f"configs must be one per result ({len(self)}), got {len(configs)}")
        self.configs = [dict(c) for c in configs]

    def pairs(self) -> list[tuple[dict, object]]:
        """``(config, result)`` for every configuration, in order."""
        return list(zip(self.configs, self, strict=True))

    def __repr__(self) -> str:
        return f"SweepResult({list.__repr__(self)}, configs={self.configs!r})"


class SweepError(RuntimeError):
    """Some configurations of a sweep failed or did not finish.

    Some configurations of a sweep failed or did not finish. The others' results were saved as
    they finished.

    ``failures``: one ``{"config", "type", "message"}`` per failed configuration; ``results``: the
    :class:`SweepResult` (results in the order of the configurations, None where one failed or did
    not finish, and the configurations beside them); ``unfinished``: how many configurations the
    executor did not complete, and ``reason`` why (the first cause seen). It pickles whole, so it
    can be raised in a worker process and caught in its parent.

    Parameters
    ----------
    failures : list of dict
        One ``{"config", "type", "message"}`` per failed configuration.
    results : SweepResult
        Every configuration's result (None where it failed or did not finish).
    total : int
        The number of configurations.
    reason : str or None, default None
        Why configurations were left unfinished (the first cause seen).
    unfinished : int, default 0
        How many configurations the executor did not complete.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from phenom.figures.sweep import SweepError, grid, sweep
    >>> def inverse(cfg):
    ...     return {"y": 1 / cfg["x"]}
    >>> try:
    ...     with ThreadPoolExecutor(2) as pool:
    ...         sweep(inverse, grid(x=[0, 2, 4]), executor=pool, progress=False)
    ... except SweepError as err:
    ...     print(err)
    ...     print(list(err.results))
    1 of 3 configurations failed; first {"x": 0}: ZeroDivisionError: division by zero
    [None, {'y': 0.5}, {'y': 0.25}]
    """

    def __init__(
        self, failures: list[dict], results: SweepResult, total: int, reason: str | None = None, unfinished: int = 0
    ):
        self.failures, self.results, self.total = failures, results, total
        self.reason, self.unfinished = reason, unfinished
        parts = []
        if failures:
            first = failures[0]
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            parts.append(
                f"{len(failures)} of {total} configurations failed; first {_key(first['config'])}: "
                f"{first['type']}: {first['message']}{more}"
            )
        if unfinished:
            parts.append(
                f"{reason or 'not run'} with {unfinished} of {total} configurations unfinished; "
                f"the finished ones are saved and a re-run resumes"
            )
        super().__init__("; ".join(parts))

    def __reduce__(self) -> tuple:
        return type(self), (self.failures, self.results, self.total, self.reason, self.unfinished), self.__dict__


def load_results(path: str | os.PathLike) -> list[dict]:
    """The rows of a sweep's JSON-lines file.

    The rows of a sweep's JSON-lines file: ``{"config": …, "result": …}`` for a finished
    configuration, ``{"config": …, "error": {"type", "message"}}`` for a failed one (each with
    the ``version`` it ran under, if any). A file that is not of this form raises ValueError
    naming the file and line.

    Parameters
    ----------
    path : str or os.PathLike
        The sweep's ``out`` file (JSON lines); a missing file has no rows.

    Returns
    -------
    list of dict
        The rows, in the order the configurations finished.

    Examples
    --------
    >>> import tempfile
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from pathlib import Path
    >>> from phenom.figures.sweep import grid, load_results, sweep
    >>> def square(cfg):
    ...     return {"y": cfg["x"] ** 2}
    >>> path = Path(tempfile.mkdtemp()) / "squares.jsonl"
    >>> with ThreadPoolExecutor(1) as pool:
    ...     _ = sweep(square, grid(x=[1, 2]), executor=pool, out=path, progress=False, version="v1")
    >>> load_results(path)[0]
    {'config': {'x': 1}, 'result': {'y': 1}, 'version': 'v1'}
    >>> len(load_results(path)), load_results(Path(tempfile.mkdtemp()) / "none.jsonl")
    (2, [])
    """
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"{path} line {n} is not JSON; move the file aside to start the sweep again") from None
        if not (
            isinstance(row, dict)
            and isinstance(row.get("config"), dict)
            and (("result" in row) != ("error" in row))
            and ("error" not in row or isinstance(row["error"], dict))
        ):
            raise ValueError(
                f'{path} line {n} is not a sweep row ({{"config": {{…}}, "result": …}} or '
                f'{{"config": {{…}}, "error": {{…}}}}); move the file aside to start the sweep again'
            )
        rows.append(row)
    return rows


def _write(path: Path, rows: dict[str, dict]) -> None:
    text = "".join(json.dumps(_io.plain(r), sort_keys=True, allow_nan=True) + "\n" for r in rows.values())
    _io.atomic_write(path, lambda tmp: Path(tmp).write_text(text))


@contextmanager
def _pool(executor: Executor | None, workers: int | None):
    """The caller's executor as is, or a local process pool whose workers share the machine's
    cores: each worker's BLAS uses cores / workers threads (threadpoolctl), so two workers on two
    cores do not oversubscribe them."""
    if executor is not None:
        yield executor
        return
    pool = local_pool(workers)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def _start_worker(threads: int, parent: int) -> None:
    """A local pool worker's set-up: cap its BLAS threads, and exit when its parent is gone."""
    threadpool_limits(limits=threads)  # applies to this worker process for its whole life
    _exit_with(parent)


ORPHAN_CHECK_S = 1.0
"""How often a local pool worker checks that the process that started it is still alive."""


def _exit_with(parent: int) -> None:
    """Exit this process (at once, whatever it is computing) once ``parent`` has died: a pool
    whose parent is killed (SIGKILL, or SIGTERM before it can shut the pool down) would otherwise
    leave its workers behind, computing or waiting forever."""

    def watch():
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="phenom-orphan-check", daemon=True).start()


def local_pool(workers: int | None = None, *, start: str | None = None) -> ProcessPoolExecutor:
    """A process pool whose workers share the machine's cores and die with this process.

    A process pool of ``workers`` (default: one per core) whose workers each limit their BLAS
    and OpenMP pools to cores // workers threads (at least 1) and exit within
    :data:`ORPHAN_CHECK_S` seconds of this process's death. ``start`` is the multiprocessing
    start method (default: the platform's; "spawn" gives fresh interpreters, safe whatever
    threads this process has started, numba's included).

    Parameters
    ----------
    workers : int >= 1 or None, default None
        Worker processes; None: one per core.
    start : str or None, default None
        The multiprocessing start method ("fork", "spawn", "forkserver"); None: the platform's.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        The pool (shut it down, or use it in a ``with`` block).

    Examples
    --------
    >>> from phenom.figures.sweep import local_pool
    >>> with local_pool(1) as pool:
    ...     pool.submit(pow, 2, 10).result()
    1024
    """
    cores = os.cpu_count() or 1
    workers = _validate.count("workers", workers if workers is not None else cores)
    return ProcessPoolExecutor(
        max_workers=workers,
        initializer=_start_worker,
        initargs=(max(1, cores // workers), os.getpid()),
        mp_context=multiprocessing.get_context(start) if start else None,
    )


def _one_line(err: BaseException) -> str:
    """An exception as one line: its type, and its message with whitespace runs as single spaces."""
    message = " ".join(str(err).split())
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def _attempt(fn: Callable[[dict], object], config: dict, run: str) -> tuple:
    """``fn(config)`` where a worker runs it, its outcome as plain data: ``("result", value as a
    sweep file stores it)`` or ``("error", exception type, one-line message)``.

    Whatever ``fn`` raises, its outcome crosses back intact: an exception or result that cannot
    be unpickled in the sweep's process would break a process pool, and with it every other
    configuration; and a failure of ``fn`` is told apart from the executor's own (a worker lost,
    work cancelled), which leaves its configuration unfinished instead. ``run`` is not used: it
    makes each sweep's tasks distinct, as Dask names a task by its function and arguments and
    would hand a re-run the failed task of an earlier run still in its memory."""
    try:
        return ("result", _as_stored(fn(config)))
    except Exception as err:  # reported as the configuration's failure; KeyboardInterrupt stops the sweep
        return ("error", type(err).__name__, " ".join(str(err).split()))


CANCELLED = "work was cancelled (an executor shut down or a cluster restarted)"
STOPPED = "the sweep stopped at the first failure (stop_on_error)"


def _outcome(future: Future) -> tuple:
    """A done future's outcome: :func:`_attempt`'s, or ``("unfinished", why)`` when the executor
    did not complete it. Every exception the future raises is the executor's, since
    :func:`_attempt` returns ``fn``'s: a broken pool, a cancellation, Dask's ``KilledWorker``."""
    if future.cancelled():
        return ("unfinished", CANCELLED)
    try:
        return future.result()
    except CancelledError:
        return ("unfinished", CANCELLED)
    except BrokenExecutor as err:  # the pool died: which configuration killed it is unknown
        return ("unfinished", f"the executor broke ({_one_line(err)})")
    except Exception as err:
        return ("unfinished", f"the executor failed ({_one_line(err)})")


def sweep(
    fn: Callable[[dict], dict],
    configs: Iterable[Mapping],
    *,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    version: str | None = None,
    stop_on_error: bool = False,
) -> SweepResult:
    """Run a function on every configuration, on any executor, saving and resuming.

    Run ``fn(config)`` for every configuration; return the results in the order of ``configs``
    as a :class:`SweepResult`: a list of the results, as before, that also carries the
    configurations (``result.configs``, and ``result.pairs()`` for ``(config, result)`` pairs), so
    that a result is never separated from the configuration that produced it.

    ``fn`` must be picklable (a module-level function) for process pools and Dask. Results are
    collected as they complete; with ``out`` each is saved as it finishes and reused on a re-run,
    but only those saved under the same ``version`` (e.g. :func:`phenom._io.code_version`, so
    that results of other code are computed again). Results come back as the file holds them
    (JSON values: lists for arrays and tuples, NaN and ±inf as floats), whether computed now or
    read back. Without ``executor`` the sweep runs on its own :func:`local_pool` of ``workers``
    processes. A progress bar goes to stderr on a terminal (``progress`` forces it on or off).

    A configuration that raises is recorded (in ``out`` too, with its exception's type and
    message, taken where it ran: the exception need not be picklable) and the others go on; at
    the end a :class:`SweepError` reports every failure, and carries the results that were
    obtained. With ``stop_on_error`` the configurations still waiting are cancelled after the
    first failure (those an executor has already started, or moved to its workers' queue, finish
    and are saved). A configuration the executor did not complete (its pool broken by a killed
    worker, a Dask worker lost, its work cancelled or its cluster restarted) is unfinished, not
    failed: nothing is recorded for it and :class:`SweepError` counts it. The sweep returns only
    when every configuration has its result. A re-run retries the failed and the unfinished
    configurations.

    Parameters
    ----------
    fn : callable
        ``fn(config) -> result``: picklable for process pools and Dask.
    configs : iterable of mapping
        The configurations, distinct (ValueError otherwise); JSON-able values.
    executor : concurrent.futures.Executor or None, default None
        Where to run (a thread or process pool, a Dask client's executor); None: a
        :func:`local_pool` of ``workers`` processes, shut down at the end.
    out : str or os.PathLike or None, default None
        A JSON-lines file saving every finished configuration, read back and reused on a re-run.
    progress : bool or None, default None
        Show a progress bar on stderr; None: only on a terminal.
    workers : int or None, default None
        The local pool's processes (without ``executor``); None: one per core.
    version : str or None, default None
        Saved with each result; only results saved under the same version are reused.
    stop_on_error : bool, default False
        Cancel the configurations still waiting after the first failure.

    Returns
    -------
    SweepResult
        The results in the order of ``configs``, the configurations beside them.

    Raises
    ------
    SweepError
        When a configuration failed or did not finish (after every other one has finished).

    Examples
    --------
    A re-run with the same ``out`` and ``version`` computes nothing:

    >>> import tempfile
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from pathlib import Path
    >>> from phenom.figures.sweep import grid, sweep
    >>> calls = []
    >>> def square(cfg):
    ...     calls.append(cfg["x"])
    ...     return {"y": cfg["x"] ** 2}
    >>> out = Path(tempfile.mkdtemp()) / "squares.jsonl"
    >>> with ThreadPoolExecutor(2) as pool:
    ...     rows = sweep(square, grid(x=[1, 2, 3]), executor=pool, out=out, progress=False, version="v1")
    ...     again = sweep(square, grid(x=[1, 2, 3]), executor=pool, out=out, progress=False, version="v1")
    >>> [r["y"] for r in rows], again == rows, sorted(calls)
    ([1, 4, 9], True, [1, 2, 3])
    """
    configs = [dict(c) for c in configs]
    keys = [_key(c) for c in configs]
    if len(set(keys)) != len(keys):
        raise ValueError("configs must be distinct: a sweep runs each configuration once")
    path = Path(out) if out is not None else None
    rows = {_key(r["config"]): r for r in (load_results(path) if path is not None else [])}
    done = {k: r["result"] for k, r in rows.items() if r.get("version") == version and "result" in r}
    todo: list[dict] = [dict(c) for c, k in zip(configs, keys, strict=True) if k not in done]
    failures: dict[str, dict] = {}
    reasons: list[str] = []  # why configurations were left unfinished, in the order seen
    show = sys.stderr.isatty() if progress is None else progress
    stamp = {"version": version} if version else {}
    if todo:
        with (
            _pool(executor, workers) as pool,
            tqdm(
                total=len(configs),
                initial=len(configs) - len(todo),
                unit="config",
                desc="sweep",
                disable=not show,
                file=sys.stderr,
            ) as bar,
        ):
            futures = _submit(pool, fn, todo, reasons)
            stopped = False
            for future in as_completed(futures):
                config, key = futures[future], _key(futures[future])
                kind, *outcome = _outcome(future)
                if kind == "unfinished":
                    reasons.append(STOPPED if stopped and outcome[0] == CANCELLED else outcome[0])
                    continue
                if kind == "result":
                    done[key] = outcome[0]
                    rows[key] = {"config": config, "result": done[key], **stamp}
                else:
                    failures[key] = {"config": config, "type": outcome[0], "message": outcome[1]}
                    rows[key] = {"config": config, "error": {"type": outcome[0], "message": outcome[1]}, **stamp}
                    if stop_on_error and not stopped:
                        stopped = True
                        for f in futures:
                            f.cancel()
                if path is not None:
                    _write(path, rows)
                bar.update()
            futures.clear()  # the executor's handles go now, not with this frame
    results = SweepResult([done.get(k) for k in keys], configs)
    unfinished = sum(k not in done and k not in failures for k in keys)
    if failures or unfinished:
        reason = reasons[0] if reasons else None
        raise SweepError([failures[k] for k in keys if k in failures], results, len(configs), reason, unfinished)
    return results


def _submit(pool: Executor, fn: Callable[[dict], object], todo: list[dict], reasons: list[str]) -> dict[Future, dict]:
    """Submit every configuration of ``todo`` (as one run: see :func:`_attempt`); ``{future:
    config}``. An executor that refuses more work (it broke) leaves the rest unfinished, its
    reason added to ``reasons``."""
    run, client = uuid.uuid4().hex, _dask_client(pool)
    futures: dict[Future, dict] = {}
    for config in todo:
        try:
            if client is None:
                futures[pool.submit(_attempt, fn, config, run)] = config
            else:
                futures[_dask_submit(client, pool, fn, config, run)] = config
        except BrokenExecutor as err:
            reasons.append(f"the executor broke ({_one_line(err)})")
            break
    return futures


def _dask_client(executor: Executor):
    """The Dask client behind ``executor`` when it is one's ``client.get_executor()`` (else None).

    A sweep then watches the client's own futures (:func:`_dask_submit`): the futures that
    executor hands out are settled by a coroutine that stops, leaving its future pending for ever,
    when a result it is fetching is lost (a cluster restarted just after a task finished), and
    a sweep waiting for that future would never end."""
    if type(executor).__name__ == "ClientExecutor" and type(executor).__module__.startswith("distributed"):
        return getattr(executor, "_client", None)
    return None


def _dask_submit(client, executor: Executor, fn: Callable[[dict], object], config: dict, run: str) -> Future:
    """``_attempt(fn, config, run)`` submitted through a Dask ``client`` with ``executor``'s
    options, as a Future that settles however the task ends: with its outcome, or with the
    exception that getting it raised (cancelled, its worker lost, its result lost to a restart).
    Cancelling that Future (``stop_on_error``) cancels the task."""
    task = client.submit(_attempt, fn, config, run, **getattr(executor, "_kwargs", {}))
    settled: Future = Future()

    def cancelled(settled: Future) -> None:
        if settled.cancelled():
            settled.set_running_or_notify_cancel()  # wakes as_completed, which cancel() alone does not
            task.cancel()

    settled.add_done_callback(cancelled)

    def settle(task) -> None:
        with suppress(InvalidStateError):  # the sweep cancelled it first
            try:
                outcome = task.result()
            except BaseException as err:  # the executor's: fn's own exceptions are in the outcome
                settled.set_exception(err)
            else:
                settled.set_result(outcome)

    task.add_done_callback(settle)
    return settled

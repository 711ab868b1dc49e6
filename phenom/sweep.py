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

With ``out``, every finished configuration is appended to a JSON-lines file (rewritten
atomically), and a sweep started again with the same ``out`` skips what is already there: an
interrupted sweep keeps what finished and resumes without redoing it.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

from tqdm.auto import tqdm

from . import _io, _validate

__all__ = ["grid", "sweep", "load_results", "local_pool"]


def grid(**axes: Iterable) -> list[dict]:
    """Every combination of the given axes, as dicts: ``grid(N=[2, 4], seed=[0, 1])``."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))]


def _key(config: Mapping) -> str:
    return json.dumps(_io.plain(dict(config)), sort_keys=True)


def load_results(path: str | os.PathLike) -> list[dict]:
    """The rows of a sweep's JSON-lines file (``{"config": …, "result": …}`` each)."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise ValueError(f"{path} line {n} is not JSON; move the file aside to start the sweep again") from None
    return rows


def _write(path: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(_io._jsonable(r), sort_keys=True) + "\n" for r in rows)
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


def _limit_threads(threads: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # applies to this worker process for its whole life


def local_pool(workers: int | None = None, *, start: str | None = None) -> ProcessPoolExecutor:
    """A process pool of ``workers`` (default: one per core) whose workers each limit their BLAS
    and OpenMP pools to cores // workers threads (at least 1). ``start`` is the multiprocessing
    start method (default: the platform's; "spawn" gives fresh interpreters, safe whatever
    threads this process has started, numba's included)."""
    import multiprocessing

    cores = os.cpu_count() or 1
    workers = _validate.count("workers", workers if workers is not None else cores)
    return ProcessPoolExecutor(max_workers=workers, initializer=_limit_threads, initargs=(max(1, cores // workers),),
                               mp_context=multiprocessing.get_context(start) if start else None)


def sweep(
    fn: Callable[[dict], dict],
    configs: Iterable[Mapping],
    *,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    version: str | None = None,
) -> list[dict]:
    """Run ``fn(config)`` for every configuration; return the results in the order of ``configs``.

    ``fn`` must be picklable (a module-level function) for process pools and Dask. Results are
    collected as they complete; with ``out`` they are saved after each one and reused on a re-run,
    but only those saved under the same ``version`` (e.g. :func:`phenom._io.code_version`, so
    that results of other code are computed again). Without ``executor`` the sweep runs on its own
    :func:`local_pool` of ``workers`` processes, and cancels what is queued if one fails. A
    progress bar goes to stderr on a terminal (``progress`` forces it on or off).
    """
    configs = [dict(c) for c in configs]
    keys = [_key(c) for c in configs]
    if len(set(keys)) != len(keys):
        raise ValueError("configs must be distinct: a sweep runs each configuration once")
    path = Path(out) if out is not None else None
    rows = [r for r in (load_results(path) if path is not None else []) if r.get("version") == version]
    done = {_key(r["config"]): r["result"] for r in rows}
    todo = [c for c, k in zip(configs, keys) if k not in done]
    show = sys.stderr.isatty() if progress is None else progress
    if todo:
        with _pool(executor, workers) as pool, tqdm(total=len(configs), initial=len(configs) - len(todo), unit="config",
                                           desc="sweep", disable=not show, file=sys.stderr) as bar:
            futures = {pool.submit(fn, c): c for c in todo}
            for future in as_completed(futures):
                config = futures[future]
                result = future.result()
                done[_key(config)] = result
                rows.append({"config": config, "result": result, **({"version": version} if version else {})})
                if path is not None:
                    _write(path, rows)
                bar.update()
    return [done[k] for k in keys]

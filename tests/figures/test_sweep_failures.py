"""Sweeps under failing, killed, cancelled and restarted workers, on a local pool and on Dask.

Each case checks the same account: a configuration that raises is a failure (recorded in the
file with its type and message); one whose worker died or whose work was cancelled is unfinished
(nothing recorded, never blamed); every finished result is kept; ``SweepError`` is raised at the
end. A re-run then completes the unfinished ones, and the final results equal an uninterrupted
run's, computed here by hand or by calling the function directly.
"""

import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import dask
import distributed
import pytest

from phenom.figures.runs import scaling_point
from phenom.figures.sweep import SweepError, grid, load_results, sweep
from phenom.nets.training import Diverged

TINY = dict(
    N=2, L=4, D=8, eps=0.1, seed=0, lr=0.5, steps=20, eval_every=10, eval_size=64, batch_size=32, weight_decay=1e-6
)
"""A scaling run of a few milliseconds; with lr = 1e4 it diverges at its third step."""


def _account(err: SweepError, configs: list[dict], expected: list, out: Path) -> tuple[list[int], list[int]]:
    """Check a failed sweep's account against ``expected`` (the uninterrupted run's results);
    return the indices of its failed and of its unfinished configurations."""
    failed = [configs.index(f["config"]) for f in err.failures]
    unfinished = [i for i, r in enumerate(err.results) if r is None and i not in failed]
    assert err.unfinished == len(unfinished)
    assert err.results.configs == configs
    assert all(r == expected[i] for i, r in enumerate(err.results) if r is not None)  # every finished result kept
    rows = {configs.index(r["config"]): r for r in load_results(out)}
    assert sorted(i for i, r in rows.items() if "result" in r) == [
        i for i, r in enumerate(err.results) if r is not None
    ]
    assert all(rows[i]["result"] == expected[i] for i in rows if "result" in rows[i])
    assert sorted(i for i, r in rows.items() if "error" in r) == sorted(failed)  # the unfinished are not blamed
    return failed, unfinished


def test_a_diverging_scaling_run_is_a_failure_and_the_others_finish(tmp_path):
    """The scaling sweep of one diverging and four good configurations on a local pool of two
    workers: the diverging one is recorded with Diverged's message, the four results are those of
    calling scaling_point directly, and nothing is left unfinished (the pool does not break)."""
    configs = [{**TINY, "lr": 1e4}] + [{**TINY, "seed": s} for s in range(4)]
    out = tmp_path / "scaling.jsonl"
    expected = [None] + [scaling_point(c) for c in configs[1:]]
    for _ in range(2):  # a re-run retries the failure, which diverges again, and reuses the rest
        with pytest.raises(SweepError, match=r"^1 of 5 configurations failed; first .*: Diverged: training diverged"):
            sweep(scaling_point, configs, out=out, workers=2, progress=False)
    err = pytest.raises(SweepError, sweep, scaling_point, configs, out=out, workers=2, progress=False).value
    assert _account(err, configs, expected, out) == ([0], [])
    assert err.failures[0]["type"] == "Diverged"
    assert err.failures[0]["message"] == (
        "training diverged at step 3 (loss nan) with lr 10000: try a smaller lr (e.g. 1000) or clip_norm"
    )
    assert err.results[1:] == expected[1:] and "unfinished" not in str(err)


class NeedsArguments(Exception):
    """An exception whose class cannot be rebuilt by pickle (its __init__ needs two arguments)."""

    def __init__(self, what, value):
        super().__init__(f"{what} = {value} is out of range")


def raises_unpicklable(cfg):
    if cfg["x"] == 1:
        raise NeedsArguments("x", cfg["x"])
    if cfg["x"] == 2:
        raise Diverged(7, float("inf"), 100.0)
    return {"y": 3 * cfg["x"] + 1}


def test_an_exception_that_cannot_be_unpickled_is_recorded_not_breaking_the_pool(tmp_path):
    configs = grid(x=range(5))
    out = tmp_path / "u.jsonl"
    with ProcessPoolExecutor(2) as pool:
        err = pytest.raises(
            SweepError, sweep, raises_unpicklable, configs, executor=pool, out=out, progress=False
        ).value
        assert _account(err, configs, [{"y": 3 * x + 1} for x in range(5)], out) == ([1, 2], [])
        assert [(f["type"], f["message"]) for f in err.failures] == [
            ("NeedsArguments", "x = 1 is out of range"),
            ("Diverged", "training diverged at step 7 (loss inf) with lr 100: try a smaller lr (e.g. 10) or clip_norm"),
        ]
        assert pool.submit(abs, -3).result() == 3  # the pool still works


def dies_once(cfg):
    """Kill this worker process the first time configuration ``kill`` runs (a marker file says it
    has); otherwise 3 x + 1, after a pause that leaves others running or queued."""
    marker = Path(cfg["folder"], "killed")
    if cfg["x"] == cfg["kill"] and not marker.exists():
        marker.touch()
        if cfg["how"] == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(1)
    time.sleep(0.05)
    return {"y": 3 * cfg["x"] + 1}


@pytest.mark.parametrize("how", ["sigkill", "exit"])
def test_a_killed_local_worker_leaves_its_configurations_unfinished_and_a_rerun_completes_them(tmp_path, how):
    configs = grid(x=range(8), kill=[2], how=[how], folder=[str(tmp_path)])
    expected = [{"y": 3 * x + 1} for x in range(8)]
    out = tmp_path / "k.jsonl"
    with pytest.raises(
        SweepError, match=r"^the executor broke \(BrokenProcessPool: .*\) with \d of 8 configurations"
    ) as info:
        sweep(dies_once, configs, out=out, workers=2, progress=False)
    failed, unfinished = _account(info.value, configs, expected, out)
    assert failed == [] and 2 in unfinished
    assert sweep(dies_once, configs, out=out, workers=2, progress=False) == expected


@pytest.fixture(scope="module")
def dask_client():
    """A Dask cluster of two worker processes of one thread each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            yield client


def waits_for_restart(cfg):
    """Even x: 3 x + 1 at once. Odd x: the same, but first leave a marker that it started and
    wait until the cluster has been restarted (a marker the test leaves), so that a restart always
    finds tasks running. The wait also ends when its worker stops running, so that a restart need
    not wait for the worker's timeout."""
    folder = Path(cfg["folder"])
    if cfg["x"] % 2:
        Path(folder, f"started-{cfg['x']}").touch()
        worker, deadline = distributed.get_worker(), time.time() + 60
        while not Path(folder, "restarted").exists() and worker.status.name == "running" and time.time() < deadline:
            time.sleep(0.02)
    return {"y": 3 * cfg["x"] + 1}


def test_a_dask_restart_mid_sweep_leaves_configurations_unfinished_and_a_rerun_completes_them(tmp_path, dask_client):
    configs = grid(x=range(16), folder=[str(tmp_path)])
    expected = [{"y": 3 * x + 1} for x in range(16)]
    out = tmp_path / "restart.jsonl"

    errors = []

    def restart_when_both_workers_wait():
        deadline = time.time() + 60
        while len(list(tmp_path.glob("started-*"))) < 2 and time.time() < deadline:
            time.sleep(0.02)
        try:
            dask_client.restart()
        except Exception as err:  # reported by the test, not lost in this thread
            errors.append(err)
        (tmp_path / "restarted").touch()

    restarter = threading.Thread(target=restart_when_both_workers_wait)
    restarter.start()
    try:
        with pytest.raises(
            SweepError, match=r"^work was cancelled .* with \d+ of 16 configurations unfinished"
        ) as info:
            sweep(waits_for_restart, configs, executor=dask_client.get_executor(), out=out, progress=False)
    finally:
        restarter.join()
    assert errors == []
    failed, unfinished = _account(info.value, configs, expected, out)
    assert failed == [] and len(unfinished) >= 2  # at least the two that were running
    assert sweep(waits_for_restart, configs, executor=dask_client.get_executor(), out=out, progress=False) == expected


def test_a_failing_configuration_on_dask_is_recorded_and_the_others_finish(tmp_path, dask_client):
    configs = grid(x=range(5))
    out = tmp_path / "d.jsonl"
    err = pytest.raises(
        SweepError, sweep, raises_unpicklable, configs, executor=dask_client.get_executor(), out=out, progress=False
    ).value
    assert _account(err, configs, [{"y": 3 * x + 1} for x in range(5)], out) == ([1, 2], [])
    assert [f["type"] for f in err.failures] == ["NeedsArguments", "Diverged"]


def fails_first(cfg):
    if cfg["x"] == 0:
        raise ValueError("x = 0 is not allowed")
    time.sleep(0.2)
    return {"y": 3 * cfg["x"] + 1}


def test_stop_on_error_on_dask_cancels_the_waiting_configurations(tmp_path, dask_client):
    configs = grid(x=range(12))
    out = tmp_path / "stop.jsonl"
    err = pytest.raises(
        SweepError,
        sweep,
        fails_first,
        configs,
        executor=dask_client.get_executor(),
        out=out,
        progress=False,
        stop_on_error=True,
    ).value
    failed, unfinished = _account(err, configs, [{"y": 3 * x + 1} for x in range(12)], out)
    assert failed == [0] and len(unfinished) >= 6  # 12 tasks of 0.2 s on two workers: most never started
    assert err.reason == "the sweep stopped at the first failure (stop_on_error)"


def test_a_killed_dask_worker_leaves_its_configurations_unfinished_and_a_rerun_completes_them(tmp_path):
    """With allowed-failures = 0 Dask gives up on the tasks of a worker that dies (KilledWorker):
    they are unfinished, not failures, and a re-run on the same client runs them afresh."""
    configs = grid(x=range(8), kill=[3], how=["sigkill"], folder=[str(tmp_path)])
    expected = [{"y": 3 * x + 1} for x in range(8)]
    out = tmp_path / "killed.jsonl"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            with pytest.raises(SweepError, match=r"^the executor failed \(KilledWorker: .*\) with \d of 8") as info:
                sweep(dies_once, configs, executor=client.get_executor(), out=out, progress=False)
            failed, unfinished = _account(info.value, configs, expected, out)
            assert failed == [] and 3 in unfinished
            assert sweep(dies_once, configs, executor=client.get_executor(), out=out, progress=False) == expected

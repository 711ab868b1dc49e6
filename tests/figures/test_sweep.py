"""Sweeps: ordering, incremental results, resume, process pools and a Dask cluster."""

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import distributed
import numpy as np
import pytest

from phenom.figures.sweep import SweepError, SweepResult, grid, load_results, sweep

CALLS: list[int] = []


def cube(cfg):
    return {"y": cfg["x"] ** 3 + cfg.get("shift", 0)}


def counted(cfg):
    CALLS.append(cfg["x"])
    if cfg["x"] == 3 and cfg.get("fail"):
        raise KeyboardInterrupt  # an interruption in the middle of the sweep
    return {"y": 2 * cfg["x"]}


def test_grid_is_the_cartesian_product():
    assert grid(a=[1, 2], b="xy") == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]


def test_process_pool_results_in_config_order(tmp_path):
    configs = grid(x=range(6), shift=[10])
    with ProcessPoolExecutor(2) as pool:
        rows = sweep(cube, configs, executor=pool, out=tmp_path / "cube.jsonl", progress=False)
    assert [r["y"] for r in rows] == [x**3 + 10 for x in range(6)]
    saved = load_results(tmp_path / "cube.jsonl")
    assert sorted(r["config"]["x"] for r in saved) == list(range(6))


def slow_first(cfg):
    time.sleep(0.3 if cfg["x"] == 0 else 0.0)  # the first configuration finishes last
    return {"y": 10 * cfg["x"]}


def test_results_come_back_with_their_configurations(tmp_path):
    configs = [{"x": x, "tag": f"run{x}"} for x in range(4)]
    with ThreadPoolExecutor(2) as pool:
        rows = sweep(slow_first, configs, executor=pool, out=tmp_path / "p.jsonl", progress=False)
        again = sweep(slow_first, configs, executor=pool, out=tmp_path / "p.jsonl", progress=False)  # read back
    for result in (rows, again):
        assert isinstance(result, list) and result == [{"y": 0}, {"y": 10}, {"y": 20}, {"y": 30}]
        assert result.configs == configs
        assert result.pairs() == [(c, {"y": 10 * c["x"]}) for c in configs]
    rows.configs[0]["x"] = 99
    assert configs[0]["x"] == 0  # the caller's configurations are copies, not shared


def test_a_sweep_result_needs_one_configuration_per_result():
    with pytest.raises(ValueError, match=r"^configs must be one per result \(2\), got 1"):
        SweepResult([1, 2], [{"x": 1}])


def test_interrupted_sweep_resumes_without_redoing(tmp_path):
    out = tmp_path / "partial.jsonl"
    configs = [{"x": x, "fail": True} for x in range(5)]
    CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        with ThreadPoolExecutor(1) as pool:  # one worker: configurations run in order
            sweep(counted, configs, executor=pool, out=out, progress=False)
    kept = sorted(r["config"]["x"] for r in load_results(out))
    assert kept == [0, 1, 2]  # what finished before the interruption is on disk
    CALLS.clear()
    configs = [{"x": x, "fail": True} if x < 3 else {"x": x, "fail": False} for x in range(5)]
    # x = 3 changed its config (no longer failing), so the new configs 3 and 4 run; 0, 1, 2 don't.
    with ThreadPoolExecutor(1) as pool:
        rows = sweep(counted, configs, executor=pool, out=out, progress=False)
    assert sorted(CALLS) == [3, 4]
    assert [r["y"] for r in rows] == [0, 2, 4, 6, 8]


def test_duplicate_configs_and_corrupt_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="^configs must be distinct"):
        sweep(cube, [{"x": 1}, {"x": 1}], executor=ThreadPoolExecutor(1))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"config": {"x": 1}, "result": {"y": 1}}\n{oops\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        sweep(cube, [{"x": 1}], executor=ThreadPoolExecutor(1), out=bad)


def test_dask_local_cluster_runs_the_same_sweep(tmp_path):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            rows = sweep(
                cube, grid(x=range(8)), executor=client.get_executor(), out=tmp_path / "dask.jsonl", progress=False
            )
    assert [r["y"] for r in rows] == [x**3 for x in range(8)]
    assert len(load_results(tmp_path / "dask.jsonl")) == 8
    assert json.loads((tmp_path / "dask.jsonl").read_text().splitlines()[0])["result"]["y"] >= 0


def test_results_of_another_version_are_computed_again(tmp_path):
    path = tmp_path / "s.jsonl"
    CALLS.clear()
    with ThreadPoolExecutor(2) as pool:
        sweep(counted, grid(x=[1, 2]), executor=pool, out=path, progress=False, version="a")
        sweep(counted, grid(x=[1, 2]), executor=pool, out=path, progress=False, version="a")  # reused
        assert sorted(CALLS) == [1, 2]
        rows = sweep(counted, grid(x=[1, 2]), executor=pool, out=path, progress=False, version="b")
    assert rows == [{"y": 2}, {"y": 4}] and sorted(CALLS) == [1, 1, 2, 2]
    assert [r["version"] for r in load_results(path)] == ["b", "b"]


def fragile(cfg):
    if cfg["x"] in cfg.get("bad", ()):
        raise ValueError(f"x = {cfg['x']} is not allowed")
    return {"y": cfg["x"] + 1}


def test_a_failing_configuration_loses_nothing_and_is_reported(tmp_path):
    out = tmp_path / "f.jsonl"
    configs = [{"x": x, "bad": [2, 4]} for x in range(6)]
    with ProcessPoolExecutor(2) as pool:
        with pytest.raises(SweepError) as info:
            sweep(fragile, configs, executor=pool, out=out, progress=False)
    err = info.value
    assert str(err).startswith(
        '2 of 6 configurations failed; first {"bad": [2, 4], "x": 2}: ValueError: x = 2 is not allowed (and 1 more)'
    )
    assert [(f["config"]["x"], f["type"], f["message"]) for f in err.failures] == [
        (2, "ValueError", "x = 2 is not allowed"),
        (4, "ValueError", "x = 4 is not allowed"),
    ]
    assert err.results == [{"y": 1}, {"y": 2}, None, {"y": 4}, None, {"y": 6}]
    assert err.results.pairs()[2] == (configs[2], None)  # a failed configuration keeps its place
    rows = load_results(out)
    assert sorted(r["config"]["x"] for r in rows if "result" in r) == [0, 1, 3, 5]
    assert sorted((r["config"]["x"], r["error"]["type"]) for r in rows if "error" in r) == [
        (2, "ValueError"),
        (4, "ValueError"),
    ]


def test_a_resumed_sweep_retries_only_the_failed(tmp_path):
    out = tmp_path / "r.jsonl"
    CALLS.clear()
    with ThreadPoolExecutor(1) as pool, pytest.raises(SweepError):
        sweep(counted_fragile, grid(x=range(4)), executor=pool, out=out, progress=False)
    assert sorted(CALLS) == [0, 1, 2, 3]
    CALLS.clear()
    FIXED.add(1)  # what made x = 1 fail is mended
    with ThreadPoolExecutor(1) as pool:
        rows = sweep(counted_fragile, grid(x=range(4)), executor=pool, out=out, progress=False)
    assert CALLS == [1] and [r["y"] for r in rows] == [0, 1, 2, 3]
    assert all("result" in r for r in load_results(out))


FIXED: set[int] = set()


def counted_fragile(cfg):
    CALLS.append(cfg["x"])
    if cfg["x"] == 1 and 1 not in FIXED:
        raise RuntimeError("not yet")
    return {"y": cfg["x"]}


def slow_after_one(cfg):
    if cfg["x"] > 1:
        time.sleep(0.3)  # still running (x = 2) or queued (3, 4) when x = 1 fails
    return fragile(cfg)


def test_stop_on_error_starts_nothing_new_and_keeps_what_was_running(tmp_path):
    out = tmp_path / "s.jsonl"
    configs = [{"x": x, "bad": [1]} for x in range(5)]
    with ThreadPoolExecutor(1) as pool, pytest.raises(SweepError) as info:
        sweep(slow_after_one, configs, executor=pool, out=out, progress=False, stop_on_error=True)
    assert info.value.results == [{"y": 1}, None, {"y": 3}, None, None]
    assert info.value.unfinished == 2 and info.value.reason == "the sweep stopped at the first failure (stop_on_error)"
    assert sorted(r["config"]["x"] for r in load_results(out)) == [0, 1, 2]


def odd_values(cfg):
    return {
        "nan": np.float64("nan"),
        "inf": np.inf,
        "minus_inf": -np.inf,
        "array": np.arange(3),
        "tuple": (1, 2.5),
        "scalar": np.float32(0.5),
        "int": np.int64(7),
        "none": None,
    }


def test_results_read_back_equal_the_ones_returned(tmp_path):
    out = tmp_path / "v.jsonl"
    with ThreadPoolExecutor(1) as pool:
        fresh = sweep(odd_values, [{"x": 0}], executor=pool, out=out, progress=False)[0]
        resumed = sweep(odd_values, [{"x": 0}], executor=pool, out=out, progress=False)[0]
    stored = load_results(out)[0]["result"]
    expected = {
        "inf": float("inf"),
        "minus_inf": float("-inf"),
        "array": [0, 1, 2],
        "tuple": [1, 2.5],
        "scalar": 0.5,
        "int": 7,
        "none": None,
    }
    for r in (fresh, resumed, stored):
        assert isinstance(r["nan"], float) and np.isnan(r["nan"])
        assert {k: v for k, v in r.items() if k != "nan"} == expected
        assert type(r["int"]) is int and type(r["scalar"]) is float


@pytest.mark.parametrize(
    "line",
    [
        "[1, 2]",
        '{"result": 1}',
        '{"config": [1], "result": 1}',
        '{"config": {"x": 1}}',
        '{"config": {"x": 1}, "result": 1, "error": {}}',
        '"text"',
    ],
)
def test_a_sweep_file_of_the_wrong_form_is_named(tmp_path, line):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(line + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl line 1 is not a sweep row"):
        sweep(cube, [{"x": 1}], executor=ThreadPoolExecutor(1), out=bad)
    assert bad.read_text() == line + "\n"  # left as it was


def dies_at_two(cfg):
    if cfg["x"] == 2:
        os._exit(1)  # a worker killed in the middle of the sweep
    time.sleep(0.2)
    return {"y": cfg["x"]}


def test_a_broken_pool_reports_unfinished_configurations_not_failures(tmp_path):
    out = tmp_path / "b.jsonl"
    with (
        ProcessPoolExecutor(1) as pool,
        pytest.raises(SweepError, match="the executor broke .* configurations unfinished") as info,
    ):
        sweep(dies_at_two, grid(x=range(5)), executor=pool, out=out, progress=False)
    err = info.value
    assert err.failures == [] and err.results[:2] == [{"y": 0}, {"y": 1}] and err.unfinished == 3
    assert all("result" in r for r in load_results(out))  # no configuration is blamed for the crash
    rows = sweep(cube, grid(x=range(5)), executor=ThreadPoolExecutor(1), out=out, progress=False)
    assert rows[:2] == [{"y": 0}, {"y": 1}] and rows[2:] == [{"y": 8}, {"y": 27}, {"y": 64}]  # resumed


ORPHAN_SCRIPT = """
import os, sys, time
from pathlib import Path

from phenom.figures.sweep import local_pool


def meet(folder):
    # Each worker's first task waits until two workers have started one: two distinct processes.
    Path(folder, f"{os.getpid()}.started").touch()
    deadline = time.time() + 60
    while len(list(Path(folder).glob("*.started"))) < 2 and time.time() < deadline:
        time.sleep(0.01)
    return os.getpid()


def busy(folder):
    Path(folder, f"{os.getpid()}.busy").touch()
    time.sleep(600)


if __name__ == "__main__":
    folder = sys.argv[1]
    pool = local_pool(2, start="spawn")
    pids = sorted({f.result() for f in [pool.submit(meet, folder) for _ in range(2)]})
    pool.submit(busy, folder)  # one worker busy; the other waits for work that never comes
    while not list(Path(folder).glob("*.busy")):
        time.sleep(0.01)
    (marker,) = Path(folder).glob("*.busy")
    print(" ".join(map(str, pids)), marker.stem, flush=True)
    time.sleep(600)
"""


def test_pool_workers_exit_when_their_parent_is_killed(tmp_path):
    """A pool's parent killed with SIGKILL cannot shut its pool down: both its workers, one busy
    with a task and one idle, notice within ORPHAN_CHECK_S and exit rather than run on or wait
    forever."""
    script = tmp_path / "orphans.py"
    script.write_text(ORPHAN_SCRIPT)
    folder = tmp_path / "markers"
    folder.mkdir()
    parent = subprocess.Popen([sys.executable, str(script), str(folder)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    *workers, busy = (int(p) for p in parent.stdout.readline().split())
    assert len(workers) == 2 and busy in workers and all(_alive(p) for p in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False

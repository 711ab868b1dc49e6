"""Sweeps: ordering, incremental results, resume, process pools and a Dask cluster."""

import json
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import distributed
import pytest

from phenom.sweep import grid, load_results, sweep

CALLS = []


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
            rows = sweep(cube, grid(x=range(8)), executor=client.get_executor(), out=tmp_path / "dask.jsonl",
                         progress=False)
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

"""Two runs of the same figures, each in a fresh process from an empty folder, save the same
results bit for bit (the flows, the landscapes, a linear-attention and a network training run):
nothing in them depends on the clock, the process or the order of work. Run times and software
versions are measurements, not results, and are left out."""

import json
import subprocess
import sys

import pytest

CHEAP = ("induction_flow", "induction_landscape", "lsa_landscape", "lsa_learning_curves", "network_ablation")
MEASURED = {"versions", "wall_time_s", "flow_seconds", "drawn_s"}


def _results(value):
    if isinstance(value, dict):
        return {k: _results(v) for k, v in value.items() if k not in MEASURED}
    if isinstance(value, list):
        return [_results(v) for v in value]
    return value


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    outs = [tmp_path_factory.mktemp(f"run{i}") for i in range(2)]
    for out in outs:
        cmd = [sys.executable, "-m", "phenom", "reproduce", "--quick", "--only", *CHEAP, "--out", str(out)]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    return outs


@pytest.mark.parametrize("name", CHEAP)
def test_same_figure_twice_is_equal_bit_for_bit(two_runs, name):
    a, b = (json.loads((out / f"{name}.json").read_text()) for out in two_runs)
    # float("nan") != float("nan"): compare the exact JSON text of the results, which spells
    # every float by its shortest round-trip repr (equal text = equal bits).
    assert json.dumps(_results(a), sort_keys=True) == json.dumps(_results(b), sort_keys=True)
    for csv in sorted(two_runs[0].glob(f"{name}*.csv")):
        assert csv.read_bytes() == (two_runs[1] / csv.name).read_bytes(), csv.name

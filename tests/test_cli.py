"""The command line, result files and their atomic writing."""

import csv
import json
import shutil
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from phenom import _io
from phenom.jobs import induction
from phenom.reproduce import reproduce
from phenom.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["flow", "--N", "0"], "N must be an integer >= 1, got 0"),
        (["flow", "--N", "2.5"], "N must be an integer >= 1, got 2.5"),
        (["flow", "--N", "8", "--L", "4"], "L must be an integer >= N = 8"),
        (["flow", "--L", "many"], "argument --L: expected a number, got 'many'"),
        (["flow", "--t-max", "0"], "t_max must be a finite number > 0, got 0"),
        (["flow", "--lr", "-1"], "lr must be a finite number > 0, got -1"),
        (["flow", "--lr", "inf"], "lr must be a finite number > 0, got inf"),
        (["flow", "--theta0", "1", "2"], "argument --theta0: expected 3 arguments"),
        (["flow", "--theta0", "nan", "0", "0"], "theta0 must be finite"),
        (["landscape", "--grid", "1"], "grid must be an integer >= 2, got 1"),
        (["landscape", "--grid", "5000"], "grid must be an integer from 2 to 2001, got 5000"),
        (["landscape", "--N", "3", "--L", "2"], "L must be an integer >= N = 3"),
        (["bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    try:
        code = main([*argv, "--out", str(tmp_path)] if argv[0] != "bogus" else argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_flow_command_writes_what_it_plots(tmp_path, capsys):
    assert main(["flow", "--N", "4", "--L", "12", "--t-max", "150", "--compare-L", "6", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("wrote") == 3
    assert (tmp_path / "flow.png").read_bytes().startswith(PNG)
    rows = list(csv.DictReader((tmp_path / "flow.csv").open()))
    assert {r["L"] for r in rows} == {"12", "4", "6"}  # main, L = N, compare
    first = next(r for r in rows if r["L"] == "12")
    assert float(first["t"]) == 0.0 and float(first["loss"]) == pytest.approx(math.log(12), rel=1e-14)
    for r in rows[::97]:
        assert float(r["p_correct"]) == pytest.approx(math.exp(-float(r["loss"])), rel=1e-12)
    meta = json.loads((tmp_path / "flow.json").read_text())
    assert meta["parameters"] == {"N": 4, "L": 12, "lr": 1.0, "t_max": 150.0, "theta0": [0.0, 0.0, 0.0], "compare_L": [4, 6]}
    main_flow, l_equals_n = meta["flows"][0], meta["flows"][1]
    assert l_equals_n["L"] == 4 and l_equals_n["cliff_time"] is None and l_equals_n["final_loss"] == pytest.approx(math.log(4))
    t = main_flow["time_each_parameter_reaches_1"]
    assert t["xi"] < t["alpha"] < t["beta"]
    assert meta["versions"]["numpy"] == np.__version__


def test_landscape_command(tmp_path):
    assert main(["landscape", "--N", "4", "--L", "12", "--t-max", "150", "--grid", "21", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "landscape.png").read_bytes().startswith(PNG)
    data = json.loads((tmp_path / "landscape.json").read_text())
    assert [(s["x_name"], s["y_name"]) for s in data["slices"]] == [("alpha", "beta"), ("xi", "alpha")]
    assert np.array(data["slices"][0]["loss"]).shape == (21, 21)
    cliff = data["cliff"]
    # The first slice passes through the cliff point at its ξ.
    assert data["slices"][0]["fixed"] == {"xi": cliff["xi"]}


def test_flow_command_at_L_equal_N_and_negative_start(tmp_path):
    # L = N alone (no comparison flows): one flow, which never moves.
    assert main(["flow", "--N", "8", "--L", "8", "--t-max", "50", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "flow.json").read_text())
    assert len(meta["flows"]) == 1 and meta["flows"][0]["final_theta"] == {"beta": 0.0, "alpha": 0.0, "xi": 0.0}
    assert main(["flow", "--theta0", "-1", "0.5", "0", "--t-max", "10", "--out", str(tmp_path), "--name", "neg"]) == 0
    assert json.loads((tmp_path / "neg.json").read_text())["parameters"]["theta0"] == [-1.0, 0.5, 0.0]


def test_failed_run_is_one_line_and_exit_1(tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    assert main(["flow", "--t-max", "10", "--out", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("phenom flow: failed: ") and err.count("\n") == 1


def test_corrupt_manifest_is_reported_not_overwritten(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("{not json")
    assert main(["reproduce", "--quick", "--only", "induction_flow", "--out", str(tmp_path)]) == 1
    assert "manifest.json is not valid JSON" in capsys.readouterr().err
    assert (tmp_path / "manifest.json").read_text() == "{not json"


def test_module_and_console_script_entry_points(tmp_path):
    script = shutil.which("phenom")
    assert script is not None, "the console script 'phenom' is not installed"
    for cmd in ([sys.executable, "-m", "phenom"], [script]):
        done = subprocess.run([*cmd, "flow", "--N", "0", "--out", str(tmp_path)], capture_output=True, text=True)
        assert done.returncode == 2 and done.stderr == "phenom flow: error: N must be an integer >= 1, got 0\n"
    done = subprocess.run([sys.executable, "-m", "phenom", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("phenom ")


INDUCTION = ["induction_flow", "induction_landscape"]


def test_reproduce_writes_figures_and_manifest(tmp_path):
    reproduce(tmp_path, quick=True, only=INDUCTION, log=lambda *_: None)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == set(INDUCTION)
    for entry in manifest.values():
        for f in entry["files"]:
            assert (tmp_path / f).exists()
        assert entry["wall_time_s"] > 0 and entry["versions"]["phenom"]
    assert manifest["induction_flow"]["parameters"]["N"] == 8
    assert manifest["induction_flow"]["parameters"]["L"] == 32


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "result.json"
    _io.write_json(target, {"run": 1})

    def half_then_crash(tmp):
        Path(tmp).write_text('{"run": 2, "trunc')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _io.atomic_write(target, half_then_crash)
    assert json.loads(target.read_text()) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary left behind


def test_interrupted_reproduce_keeps_finished_figures(tmp_path, monkeypatch):
    reproduce(tmp_path, quick=True, only=INDUCTION, log=lambda *_: None)
    before = json.loads((tmp_path / "manifest.json").read_text())
    png_before = (tmp_path / "induction_landscape.png").read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(induction, "landscape_job", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reproduce(tmp_path, quick=True, only=INDUCTION, log=lambda *_: None)
    after = json.loads((tmp_path / "manifest.json").read_text())
    assert after["induction_landscape"] == before["induction_landscape"]
    assert (tmp_path / "induction_landscape.png").read_bytes() == png_before
    assert after["induction_flow"]["files"] == before["induction_flow"]["files"]

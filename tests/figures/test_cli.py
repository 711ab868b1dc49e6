"""The command line (phenom.figures.cli): options generated from the settings, one line and exit 2 for
bad input, one line and exit 1 for a failed run, entry points."""

import csv
import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from phenom.figures.cli import COMMANDS, main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["induction_flow", "--N", "0"], "N must be an integer >= 1, got 0"),
        (["induction_flow", "--N", "2.5"], "N must be an integer >= 1, got 2.5"),
        (["induction_flow", "--N", "8", "--L", "4"], "L must be an integer >= N = 8"),
        (["induction_flow", "--L", "many"], "argument --L: expected a number, got 'many'"),
        (["induction_flow", "--t-max", "0"], "t_max must be a finite number > 0, got 0"),
        (["induction_flow", "--lr", "-1"], "lr must be a finite number > 0, got -1"),
        (["induction_flow", "--lr", "inf"], "lr must be a finite number > 0, got inf"),
        (["induction_flow", "--theta0", "1", "2"], "argument --theta0: expected 3 arguments"),
        (["induction_flow", "--theta0", "nan", "0", "0"], "theta0 must be finite"),
        (["induction_flow", "--N", "16"], "compare_L must be an integer >= N = 16, got 9"),
        (["induction_landscape", "--grid", "1"], "grid must be an integer from 2 to 2001, got 1"),
        (["induction_landscape", "--grid", "5000"], "grid must be an integer from 2 to 2001, got 5000"),
        (["induction_landscape", "--N", "3", "--L", "2"], "L must be an integer >= N = 3"),
        (["network_training", "--classifier", "deep"], "classifier must be 'linear' or 'mlp', got 'deep'"),
        (["network_training", "--steps", "0"], "steps must be an integer >= 1, got 0"),
        (["compare", "--L", "8"], "L must be an integer > N = 8"),
        (["scaling", "--Ns", "2", "4"], "steps must hold one value per N (2), got 4"),
        (["lsa", "--d", "0"], "d must be an integer >= 1, got 0"),
        (["lsa", "--N", "1.5"], "N must be an integer >= 1, got 1.5"),
        (["lsa", "--noise", "-1"], "noise must be a finite number >= 0, got -1"),
        (["reproduce", "--only", "nope"], "only must name figures among"),
        (["draw", "nope"], "figure must be one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    code = main([*argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_unknown_command_is_argparse_one_line(capsys):
    assert main(["bogus"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err and err.count("\n") == 1


def test_options_are_the_settings_fields():
    from phenom.figures.cli import _parser

    flow = _parser()._subparsers._group_actions[0].choices["induction_flow"]
    options = {a.dest for a in flow._actions} - {"help", "quick", "out"}
    assert options == {"N", "L", "lr", "t_max", "theta0", "compare_L", "samples"}
    lsa = _parser()._subparsers._group_actions[0].choices["lsa"]  # the fields all five LSA settings share
    assert {a.dest for a in lsa._actions} - {"help", "quick", "out"} == {"d", "N", "noise", "basis_seed"}


def test_one_command_per_figure_named_as_the_figure():
    from phenom.figures.registry import FIGURES

    assert set(COMMANDS) == set(FIGURES) | {"lsa"}
    assert all(COMMANDS[name][1] == [name] for name in FIGURES)
    assert COMMANDS["lsa"][1] == [
        "lsa_landscape",
        "lsa_learning_curves",
        "lsa_preconditioner",
        "lsa_depth",
        "lsa_summary",
    ]


def test_a_hyphenated_command_is_the_figure_command(capsys, tmp_path):
    assert main(["induction-landscape", "--grid", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "phenom induction_landscape: error: grid must be an integer from 2 to 2001, got 1\n"


def test_help_loads_numpy_at_most():
    """The options' checks need numpy; sympy, scipy, numba and matplotlib wait for a computation."""
    code = (
        "import sys; from phenom.figures.cli import main; main(['--help']); main(['network_training', '--help']); "
        "print(sorted(m for m in ('sympy', 'scipy', 'numba', 'matplotlib') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "induction_flow" in done.stdout and "--classifier" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_flow_command_writes_what_it_plots(tmp_path, capsys):
    assert (
        main(["induction_flow", "--N", "4", "--L", "12", "--t-max", "150", "--compare-L", "6", "--out", str(tmp_path)])
        == 0
    )
    assert capsys.readouterr().out.count("wrote") == 3
    assert (tmp_path / "induction_flow.png").read_bytes().startswith(PNG)
    rows = list(csv.DictReader((tmp_path / "induction_flow.csv").open()))
    assert {r["L"] for r in rows} == {"12", "4", "6"}  # main, L = N, compare
    first = next(r for r in rows if r["L"] == "12")
    assert float(first["t"]) == 0.0 and float(first["loss"]) == pytest.approx(math.log(12), rel=1e-14)
    for r in rows[::97]:
        assert float(r["p_correct"]) == pytest.approx(math.exp(-float(r["loss"])), rel=1e-12)
    meta = json.loads((tmp_path / "induction_flow.json").read_text())
    assert {k: meta["setting"][k] for k in ("N", "L", "lr", "t_max", "theta0", "compare_L")} == {
        "N": 4,
        "L": 12,
        "lr": 1.0,
        "t_max": 150.0,
        "theta0": [0.0, 0.0, 0.0],
        "compare_L": [6],
    }
    main_flow, l_equals_n = meta["flows"][0], meta["flows"][1]
    assert l_equals_n["L"] == 4 and l_equals_n["cliff_time"] is None
    assert l_equals_n["final_loss"] == pytest.approx(math.log(4))
    t = main_flow["time_each_parameter_reaches_1"]
    assert t["xi"] < t["alpha"] < t["beta"]
    assert meta["versions"]["numpy"] == np.__version__
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["induction_flow"]["files"] == ["induction_flow.png", "induction_flow.json", "induction_flow.csv"]


def test_landscape_command(tmp_path):
    assert (
        main(["induction_landscape", "--N", "4", "--L", "12", "--t-max", "150", "--grid", "21", "--out", str(tmp_path)])
        == 0
    )
    assert (tmp_path / "induction_landscape.png").read_bytes().startswith(PNG)
    data = json.loads((tmp_path / "induction_landscape.json").read_text())
    assert [(s["x_name"], s["y_name"]) for s in data["slices"]] == [("alpha", "beta"), ("xi", "alpha")]
    assert np.array(data["slices"][0]["loss"]).shape == (21, 21)
    cliff = data["cliff"]
    # The first slice passes through the cliff point at its ξ.
    assert data["slices"][0]["fixed"] == {"xi": cliff["xi"]}


def test_flow_command_at_L_equal_N_and_negative_start(tmp_path):
    # L = N alone (no comparison flows): one flow, which never moves.
    assert main(["induction_flow", "--N", "8", "--L", "8", "--compare-L", "--t-max", "50", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "induction_flow.json").read_text())
    assert len(meta["flows"]) == 1 and meta["flows"][0]["final_theta"] == {"beta": 0.0, "alpha": 0.0, "xi": 0.0}
    assert main(["induction_flow", "--theta0", "-1", "0.5", "0", "--t-max", "10", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "induction_flow.json").read_text())["setting"]["theta0"] == [-1.0, 0.5, 0.0]


def test_failed_run_is_one_line_and_exit_1(tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    assert main(["induction_flow", "--t-max", "10", "--out", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("phenom induction_flow: failed: induction_flow (save): ") and err.count("\n") == 1


def test_internal_failure_is_not_reported_as_bad_input(tmp_path, capsys):
    # A budget too short for the transition: the input is valid, the run cannot deliver.
    argv = ["compare", "--N", "2", "--L", "4", "--D", "8", "--steps", "3", "--seeds", "0", "--out", str(tmp_path)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("phenom compare: failed: compare (compute): RuntimeError: the network did not reach")
    assert err.count("\n") == 1


def test_corrupt_manifest_is_reported_not_overwritten(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("{not json")
    assert main(["reproduce", "--quick", "--only", "induction_flow", "--out", str(tmp_path)]) == 1
    assert "manifest.json is not valid JSON" in capsys.readouterr().err
    assert (tmp_path / "manifest.json").read_text() == "{not json"


def test_draw_command_redraws_from_results(tmp_path, capsys):
    assert main(["induction_flow", "--t-max", "50", "--compare-L", "--out", str(tmp_path)]) == 0
    (tmp_path / "induction_flow.png").unlink()
    assert main(["draw", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "induction_flow.png").read_bytes().startswith(PNG)
    assert "drew" in capsys.readouterr().out


def test_module_and_console_script_entry_points(tmp_path):
    script = shutil.which("phenom")
    assert script is not None, "the console script 'phenom' is not installed"
    for cmd in ([sys.executable, "-m", "phenom"], [script]):
        done = subprocess.run(
            [*cmd, "induction_flow", "--N", "0", "--out", str(tmp_path)], capture_output=True, text=True
        )
        assert done.returncode == 2
        assert done.stderr == "phenom induction_flow: error: N must be an integer >= 1, got 0\n"
    done = subprocess.run([sys.executable, "-m", "phenom", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("phenom ")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["growth", "--lr", "5e-324"], "lr must be a number >= 1e-11 (below it a predicted step count passes 2^62)"),
        (["growth", "--min-D", "5000"], "D must be at most 4096 (content width), got 5000"),
        (["growth", "--samples", "1e12"], "samples must be at most 100000"),
        (["induction_heads", "--eps", "1e308"], "eps must be a number from 0 to 1e+30"),
        (["induction_heads", "--score-size", "1e9"], "score_size must be at most 30840"),
        (["induction_heads", "--seeds", "4611686018427387000"], "got 4611686018427387000"),  # exactly as typed
        (["data_dependence", "--eps", "1e308"], "eps must be a number from 0 to 1e+30"),
        (["data_dependence", "--eps-values", "0", "1e31"], "eps_values: eps must be a number from 0 to 1e+30"),
        (["data_dependence", "--eval-size", "1e7"], "eval_size must be at most 30840"),
        (["data_dependence", "--weight-decay", "5"], "weight_decay must be a number from 0 to 1"),
        (["data_dependence", "--K", "1048576", "--D", "4096"], "K × D must be at most 2^27"),
    ],
)
def test_network_side_input_the_computation_cannot_take_is_refused_before_computing(argv, message, capsys, tmp_path):
    code = main([*argv, "--quick", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err and "Warning" not in err
    assert not any(tmp_path.iterdir())  # nothing computed, nothing written


def test_integer_options_are_read_exactly_however_long():
    from phenom.figures.cli import _number

    # 2^62 − 1000 is not a float64: read through float it would become 4611686018427386880.
    assert _number("4611686018427387000") == 4611686018427387000
    assert (_number("1e3"), _number("2.5"), _number("-3")) == (1000, 2.5, -3)

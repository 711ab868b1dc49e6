"""What happens when things go wrong: numbers out of range, malformed arguments, stiff or slow
problems, and files written as sets. Property-based fuzzing of the CLI's numeric options and of
the API's argument checks: every input gets a result or one ValueError, never another exception
or a warning."""

import dataclasses
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phenom import InductionHeadModel, _io
from phenom.figures import registry as figures
from phenom.figures.cli import COMMANDS, _fields, main
from phenom.linear.model import LinearICL

# -- the command line ---------------------------------------------------------------------------

HUGE = ["1e20", "18446744073709551616", "1e400", "-1e20"]


@pytest.mark.parametrize(
    "argv",
    [
        ["induction_flow", "--lr"],
        ["induction_flow", "--t-max"],
        ["induction_flow", "--N"],
        ["induction_flow", "--L"],
        ["network_training", "--seed"],
        ["network_training", "--steps"],
        ["induction_landscape", "--grid"],
        ["scaling", "--Ns"],
        ["lsa", "--d"],
        ["data_dependence", "--K"],
        ["phase", "--N-max"],
    ],
)
@pytest.mark.parametrize("value", HUGE)
def test_numbers_the_cli_cannot_hold_get_one_line(argv, value, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "make", _no_work)
    code = main([argv[0], f"{argv[1]}={value}", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code != 0:  # a float option may take 1e20 (e.g. lr): then the run is accepted
        assert code == 2 and err.count("\n") == 1 and argv[1].lstrip("-").replace("-", "_") in err


def _no_work(name, setting, out, **_):
    return {"files": []}


def _numeric_options():
    """(command, flag) for every numeric option of every figure command."""
    out = []
    for command, (_, names) in COMMANDS.items():
        fields, _shared = _fields(names)
        for f in fields:
            if f.metadata.get("kind") is not str and not isinstance(f.default, str):
                out.append((command, "--" + f.name.replace("_", "-"), isinstance(f.default, tuple), f.name))
    return out


OPTIONS = _numeric_options()
TEXT = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e400", "-0", "nan", "inf", "-inf", "0x10", "abc", "", "1e-400", "1_000", " 3 ", "2.5e3"]),
)


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(option=st.sampled_from(OPTIONS), values=st.lists(TEXT, min_size=1, max_size=3))
def test_fuzz_cli_numeric_options(option, values, capsys, monkeypatch, tmp_path):
    """Any value of any numeric option: accepted (exit 0), or one line and exit 2."""
    command, flag, is_tuple, name = option
    monkeypatch.setattr(figures, "make", _no_work)
    given = [f"{flag}={values[0]}", *values[1:]] if is_tuple else [f"{flag}={values[0]}"]
    argv = [command, *given, "--out", str(tmp_path)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, err)
    assert "Traceback" not in err
    if code == 2:
        assert err.count("\n") == 1, err


def test_empty_out_means_the_current_folder_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "induction_flow",
                "--N",
                "2",
                "--L",
                "3",
                "--compare-L",
                "4",
                "--t-max",
                "20",
                "--samples",
                "20",
                "--out",
                "",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "--out is empty: writing to the current folder" in captured.err
    assert "wrote induction_flow.png" in captured.out
    assert (tmp_path / "induction_flow.png").exists()


# -- the API ------------------------------------------------------------------------------------

VALUES = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1", "", None, True, 1 + 2j, [1, 2], [[1], [2, 3]], (), np.int64(3), np.float32(2.5)]),
)


def _value_error_or_result(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            out = call()
        except ValueError as err:
            assert "\n" not in str(err), str(err)
            return None
    return out


@settings(max_examples=300, deadline=None, derandomize=True)
@given(N=VALUES, L=VALUES)
def test_fuzz_model_construction(N, L):
    model = _value_error_or_result(lambda: InductionHeadModel(N, L))
    if model is not None:
        # Accepted only as the integers given, and then a working model: at β = α = ξ = 0 every one
        # of the L labels is equally likely, so the loss is log L (by hand).
        assert (model.N, model.L) == (int(N), int(L))
        assert float(model.loss(0.0, 0.0, 0.0)) == pytest.approx(np.log(float(L)), rel=1e-12)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(beta=VALUES, alpha=VALUES, xi=VALUES)
def test_fuzz_model_loss_arguments(beta, alpha, xi):
    out = _value_error_or_result(lambda: InductionHeadModel(8, 32).loss(beta, alpha, xi))
    if out is not None:
        assert np.all(np.isfinite(out)) and np.all(out >= 0)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(d=VALUES, N=VALUES, noise=VALUES)
def test_fuzz_linear_task_construction(d, N, noise):
    def build():
        if isinstance(d, int) and d > 50:  # a valid but huge d allocates d×d matrices: not this test's subject
            raise ValueError("skip")
        return LinearICL(d, N, noise=noise)

    _value_error_or_result(build)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(t=VALUES, lr=VALUES)
def test_fuzz_closed_form_flow_arguments(t, lr):
    task = LinearICL(2, 4)
    for call in (lambda: task.flow_exact(t, lr=lr), lambda: task.risk_exact(t, lr=lr)):
        out = _value_error_or_result(call)
        if out is not None:
            assert np.all(np.isfinite(out))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.flow_exact(1.0, lr=0), "^lr must be a finite number > 0, got 0"),
        (lambda m: m.flow_exact(-1.0), "^t must be >= 0, got -1.0"),
        (lambda m: m.risk_exact(-1e3), "^t must be >= 0, got -1000.0"),
        (lambda m: m.risk_exact([0.0, np.nan]), r"^t must be finite \(no nan or inf\)"),
        (lambda m: m.risk(np.eye(2) * (1 + 1j)), "^Gamma must be an array of finite real numbers"),
        (lambda m: m.risk("1"), "^Gamma must be an array of finite real numbers, got '1'"),
        (lambda m: LinearICL(2, 4, Sigma=np.eye(2) * (1 + 1j)), "^Sigma must be an array of finite real numbers"),
        (lambda m: LinearICL(2, 4, Sigma=1e-300 * np.eye(2)), "^Sigma must have eigenvalues from 1e-100 to 1e"),
        (lambda m: LinearICL(2, 4, Omega=np.diag([1.0, 1e-13])), r"^Omega must have condition number <= 1e\+12"),
        (lambda m: m.factored_flow(1.0, np.eye(2), t_max=-1), "^t_max must be a finite number > 0"),
        (lambda m: m.factored_flow(1e200, np.eye(2)), "^u0 and U0 must have entries of size at most 1e100"),
        (lambda m: LinearICL(2, 4, Sigma=np.diag([1.7e308, 1.7e308])), "^Sigma must have eigenvalues from 1e-100"),
    ],
)
def test_linear_attention_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(LinearICL(2, 4))


def test_a_stiff_factored_flow_uses_a_stiff_method(monkeypatch):
    import phenom.linear.model as lin

    used = []
    real = lin.gradient_flow
    monkeypatch.setattr(lin, "gradient_flow", lambda *a, **k: used.append(k["method"]) or real(*a, **k))
    task = LinearICL(2, 4)
    # Large weights: the fastest rate 2·λ·μ·(u0² + ‖U0‖²) ~ 1e7 per unit time. LSODA finishes in
    # well under a second where RK45 takes minutes; the flow still conserves u² − ‖U‖² and lands
    # on the optimum (Zhang, Frei, Bartlett: Γ → Γ*).
    flow = task.factored_flow(1e3, 1e3 * np.eye(2), t_max=1.0)
    assert used == ["LSODA"]
    np.testing.assert_allclose(flow.conserved(), -1e6, rtol=1e-8)
    np.testing.assert_allclose(flow.Gamma(1.0), task.optimal_preconditioner(), atol=1e-6)
    task.factored_flow(1e-3, 1e-3 * np.eye(2), t_max=20.0)
    assert used[-1] == "RK45"  # a small start is not stiff


def test_the_exact_model_is_derived_once_per_machine(tmp_path):
    """First process: derives (and says so, for N >= SLOW_N), writes the cache. Second: reads it,
    never calling the derivation; both give the same numbers, which match sympy's own evaluation
    of the derivation at high precision."""
    import sympy as sp

    from phenom.induction.exact import derive_exact
    from phenom.induction.model import THETA

    env = {**os.environ, "PHENOM_CACHE": str(tmp_path)}
    first = (
        "import logging, phenom.induction.exact as e; e.SLOW_N = 2; "
        "print(e.ExactInductionModel(2, 5).loss(0.3, 1.2, 2.5).item())"
    )
    second = (
        "import phenom.induction.exact as e; e.derive_exact = None; "  # the cache must be used
        "print(e.ExactInductionModel(2, 5).loss(0.3, 1.2, 2.5).item())"
    )
    a = subprocess.run([sys.executable, "-c", first], env=env, capture_output=True, text=True, check=True)
    assert "deriving the exact loss for N = 2 with sympy" in a.stderr
    assert len(list(tmp_path.glob("phenom_exact_N2_L5_*.py"))) == 1
    b = subprocess.run([sys.executable, "-c", second], env=env, capture_output=True, text=True, check=True)
    assert b.stderr == "" and float(a.stdout) == float(b.stdout)
    cached = next(tmp_path.glob("phenom_exact_N2_L5_*.py"))
    cached.write_text("def loss(:\n")  # damaged: derived again and replaced
    c = subprocess.run([sys.executable, "-c", first], env=env, capture_output=True, text=True, check=True)
    assert float(c.stdout) == float(a.stdout) and "def loss(:" not in cached.read_text()
    exact = sp.N(
        derive_exact(2, 5).subs(
            dict(zip(THETA, (sp.Rational(3, 10), sp.Rational(12, 10), sp.Rational(25, 10)), strict=True))
        ),
        30,
    )
    assert float(b.stdout) == pytest.approx(float(exact), rel=1e-13)


# -- files written as sets ----------------------------------------------------------------------


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "x.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = _io._host()
    stale = tmp_path / f".x.json.{int(dead.stdout)}-{host}-abcdef.tmp"
    mine = tmp_path / f".x.json.{os.getpid()}-{host}-abcdef.tmp"  # a live writer's: kept
    elsewhere = tmp_path / f".x.json.{int(dead.stdout)}-00000000-abcdef.tmp"  # another machine's: kept
    other = tmp_path / f".y.json.{int(dead.stdout)}-{host}-abcdef.tmp"  # another file's: not touched here
    for f in (stale, mine, elsewhere, other):
        f.write_bytes(b"")
    _io.write_json(target, {"a": 1})
    assert not stale.exists() and mine.exists() and elsewhere.exists() and other.exists()
    assert json.loads(target.read_text()) == {"a": 1}


def test_a_set_fails_whole_before_its_renames(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    b.write_text("old b")

    def broken(tmp):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _io.atomic_set({a: _io.text_writer("new a"), b: broken})
    assert a.read_text() == "old a" and b.read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]  # no temporary left


def test_the_manifest_names_one_run_and_check_finds_a_mixed_set(tmp_path, monkeypatch):
    setting = figures.default_setting("induction_flow", quick=True)
    entry = figures.make("induction_flow", setting, tmp_path)
    assert set(entry["sha256"]) == set(entry["files"])
    assert figures.check(tmp_path) == {}
    # A second run killed between its renames: the new JSON is in place, the old CSV and PNG too.
    calls = []
    real = os.replace

    def replace_then_die(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        figures.make("induction_flow", dataclasses.replace(setting, t_max=150.0), tmp_path)
    monkeypatch.setattr(os, "replace", real)
    assert figures.check(tmp_path) == {"induction_flow": ["induction_flow.json"]}
    assert not list(tmp_path.glob(".*.tmp"))  # the killed run's temporary files are gone


def test_history_stem_is_a_file_name(tmp_path):
    from phenom.nets.training import History

    h = History(config={})
    h.append(step=0, loss=1.0)
    for stem in ("../x", "", ".", "..", "a/b"):
        with pytest.raises(ValueError, match="^stem must be a file name without folders"):
            h.save(tmp_path, stem)
    assert [p.name for p in h.save(tmp_path, "run")] == ["run.csv", "run.json"]


# -- messages that name the argument ----------------------------------------------------------


def _messages():
    from phenom.nets import AttentionNetwork, train
    from phenom.nets.tasks import CopyingTask

    task = CopyingTask(N=2, L=4, D=8)
    model = InductionHeadModel(8, 32)
    return [
        (lambda: AttentionNetwork.init(task, dtype=(np.float64, -1)), "^dtype must be float32 or float64"),
        (
            lambda: model.loss(np.ones(3), np.ones(2), 0.0),
            r"^beta, alpha, xi must broadcast to one shape, got shapes beta \(3,\), alpha \(2,\), xi \(\)$",
        ),
        (lambda: model.grad("1", 0.0, 0.0), "^beta must be an array of finite real numbers, got '1'$"),
        (lambda: model.loss(True, 0.0, 0.0), "^beta must be an array of finite real numbers, got True$"),
        (
            lambda: train(AttentionNetwork, LinearICL(2, 4), steps=2, lr=0.1),
            "^net must be a network instance .* got the class AttentionNetwork$",
        ),
        (
            lambda: train(AttentionNetwork.init(task), LinearICL(2, 4), steps=2, lr=0.1),
            "^task must be a CopyingTask or a ClassificationTask for AttentionNetwork, got LinearICL",
        ),
        (
            lambda: train(AttentionNetwork.init(task), CopyingTask, steps=2, lr=0.1),
            "^task must be a task instance with a sample method, got the class CopyingTask$",
        ),
        (lambda: AttentionNetwork.init(task, dtype=np.int32), "^dtype must be float32 or float64, got"),
        (lambda: AttentionNetwork.init(task).astype("banana"), "^dtype must be float32 or float64, got 'banana'$"),
        (lambda: AttentionNetwork.init(LinearICL(2, 4)), "^task must be a CopyingTask or a ClassificationTask"),
    ]


@pytest.mark.parametrize("case", range(10))
def test_messages_name_the_argument(case):
    call, message = _messages()[case]
    with pytest.raises(ValueError, match=message):
        call()

"""The figure registry (phenom.figures.registry): every figure computed and drawn at its quick setting,
redrawn from its saved results alone, and a manifest that survives interruption."""

import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest

from phenom import _io
from phenom.figures import registry as figures
from phenom.figures.check import check as check_figures
from phenom.figures.jobs import network
from phenom.figures.registry import FIGURES, FigureError, default_setting, draw, make, reproduce
from phenom.figures.settings import InductionFlowSetting, NetworkTrainingSetting

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Every figure, quick, into one folder (summary figures read the others' results there)."""
    out = tmp_path_factory.mktemp("figures")
    return out, reproduce(out, quick=True, log=lambda *_: None)


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_is_computed_saved_and_drawn(made, name):
    out, entries = made
    entry = entries[name]
    for f in entry["files"]:
        assert (out / f).exists(), f
    assert (out / f"{name}.png").read_bytes().startswith(PNG)
    saved = json.loads((out / f"{name}.json").read_text())
    assert saved["setting"] == _io.plain(default_setting(name, quick=True).to_dict())
    assert saved["digest"] == default_setting(name, quick=True).digest()
    assert saved["versions"]["code"] == _io.code_version()
    assert "seeds" in saved
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest[name]["files"] == entry["files"] and manifest[name]["wall_time_s"] > 0


def test_every_quick_figure_passes_the_check(made):
    """reproduce records every file's hash and the code that computed and drew it, and every derived
    number of every figure holds when recomputed from the data saved beside it."""
    out, _ = made
    report = check_figures(out)
    assert report.problems == ()
    assert report.figures == tuple(sorted(FIGURES)) and report.numbers > 300


def test_draw_uses_only_the_saved_results(made, monkeypatch):
    out, _ = made
    before = {n: (out / f"{n}.png").read_bytes() for n in FIGURES}
    for n in FIGURES:
        (out / f"{n}.png").unlink()

    # Nothing may be computed while drawing: every computation now fails.
    def no_compute(setting, out):
        pytest.fail("draw computed a result")

    for n, figure in list(FIGURES.items()):
        monkeypatch.setitem(FIGURES, n, dataclasses.replace(figure, compute=no_compute))
    drawn = draw(out=out, log=lambda *_: None)
    assert drawn == list(FIGURES)
    for n in FIGURES:  # the same pixels: the first drawing also read its result back from disk
        assert (out / f"{n}.png").read_bytes() == before[n], n
    with pytest.raises(ValueError, match="^figure must be one of"):
        draw(["induction_flow", "nope"], out=out)
    with pytest.raises(ValueError, match="missing: compare.json"):
        draw(["compare"], out=out / "empty")
    with pytest.raises(ValueError, match="has none"):
        draw(out=out / "empty")


def test_network_runs_are_reused_only_by_the_same_setting_and_code(tmp_path, monkeypatch):
    s = NetworkTrainingSetting(N=2, L=4, D=8, steps=20, evals=2, controls=0)
    first = network.checkpoint_path(tmp_path, s)
    assert network.checkpoint_path(tmp_path, s.replace(controls=3)) == first  # not part of the run
    assert network.checkpoint_path(tmp_path, s.replace(lr=0.25)) != first
    monkeypatch.setattr(_io, "code_version", lambda *modules: "0.0.0+another")
    assert network.checkpoint_path(tmp_path, s) != first


def test_a_failing_computation_names_the_figure_and_the_step(tmp_path, monkeypatch):
    def broken(setting, out):
        raise ZeroDivisionError("bad luck")

    monkeypatch.setitem(FIGURES, "induction_flow", figures.Figure("induction_flow", InductionFlowSetting, broken, None))
    with pytest.raises(FigureError, match=r"^induction_flow \(compute\): ZeroDivisionError: bad luck$"):
        make("induction_flow", out=tmp_path)
    assert not (tmp_path / "manifest.json").exists()
    with pytest.raises(ValueError, match="setting must be a InductionFlowSetting"):
        make("induction_flow", NetworkTrainingSetting(), tmp_path)


def test_interrupted_reproduce_keeps_finished_figures(tmp_path, monkeypatch):
    names = ["induction_flow", "induction_landscape"]
    reproduce(tmp_path, quick=True, only=names, log=lambda *_: None)
    before = json.loads((tmp_path / "manifest.json").read_text())
    png_before = (tmp_path / "induction_landscape.png").read_bytes()

    def interrupted(setting, out):
        raise KeyboardInterrupt

    landscape = FIGURES["induction_landscape"]
    monkeypatch.setitem(
        FIGURES, "induction_landscape", figures.Figure(landscape.name, landscape.setting, interrupted, landscape.draw)
    )
    with pytest.raises(KeyboardInterrupt):  # in this process: the patched computation is not in a fresh worker
        reproduce(tmp_path, quick=True, only=names, workers=1, log=lambda *_: None)
    after = json.loads((tmp_path / "manifest.json").read_text())
    assert after["induction_landscape"] == before["induction_landscape"]
    assert (tmp_path / "induction_landscape.png").read_bytes() == png_before
    assert after["induction_flow"]["files"] == before["induction_flow"]["files"]
    with pytest.raises(ValueError, match="only must name figures among"):
        reproduce(tmp_path, only=["nope"])


def test_figures_made_side_by_side_keep_the_finished_ones_when_one_fails(tmp_path):
    # A directory where induction_landscape's result file goes: its worker cannot save it.
    (tmp_path / "induction_landscape.json").mkdir(parents=True)
    names = ["induction_flow", "induction_landscape", "lsa_landscape"]
    with pytest.raises(FigureError, match=r"^induction_landscape \(save\): "):
        reproduce(tmp_path, quick=True, only=names, workers=2, log=lambda *_: None)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(manifest) == ["induction_flow", "lsa_landscape"]  # both finished and recorded
    assert (tmp_path / "lsa_landscape.png").read_bytes().startswith(PNG)


def test_one_worker_and_several_make_the_same_results(tmp_path):
    names = ["induction_flow", "lsa_landscape", "lsa_learning_curves", "lsa_preconditioner", "lsa_summary"]
    for workers in (1, 2):
        out = tmp_path / str(workers)
        done = reproduce(out, quick=True, only=names, workers=workers, log=lambda *_: None)
        assert sorted(done) == sorted(names)  # lsa_summary waited for the two figures it reads
    for name in names:  # equal up to BLAS's summation order (one thread in a worker, two here)
        one, two = (json.loads((tmp_path / w / f"{name}.json").read_text()) for w in ("1", "2"))
        one.pop("versions"), two.pop("versions")
        _assert_close(one, two, name)


def _assert_close(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), where
        for k in a:
            _assert_close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-12, nan_ok=True), where
    else:
        assert a == b, where


def test_the_longest_figures_start_first(tmp_path):
    from phenom import _io
    from phenom.figures.registry import start_order

    names = ["induction_flow", "scaling", "network_training", "lsa_depth"]
    # No manifest: by the registry's expected times (scaling ~15 min, lsa_depth ~4, training ~1),
    # and for the quick figures by theirs (scaling 16 s, training 12, lsa_depth 10).
    assert start_order(names, tmp_path) == ["scaling", "lsa_depth", "network_training", "induction_flow"]
    assert start_order(names, tmp_path, quick=True) == ["scaling", "network_training", "lsa_depth", "induction_flow"]
    # An earlier run's manifest wins where it has a time; the others keep their expected times.
    _io.write_json(
        tmp_path / "manifest.json", {"induction_flow": {"wall_time_s": 500.0}, "scaling": {"wall_time_s": 2.0}}
    )
    assert start_order(names, tmp_path) == ["induction_flow", "lsa_depth", "network_training", "scaling"]


def _run(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd)


def test_drawing_leaves_the_callers_backend_and_rcparams_alone(made):
    out, _ = made
    code = f"""
        import matplotlib
        matplotlib.use("svg")
        before = dict(matplotlib.rcParams)
        import phenom.figures.plots
        from phenom.figures import registry
        assert matplotlib.get_backend() == "svg"
        registry.draw(["induction_flow", "lsa_landscape"], out={str(out)!r}, log=lambda *_: None)
        changed = [k for k, v in matplotlib.rcParams.items() if before[k] != v]
        print(matplotlib.get_backend(), changed)
    """
    done = _run(code, out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "svg []"


def test_reproduce_at_a_scripts_top_level_says_how_to_guard_it_in_one_line(tmp_path):
    script = tmp_path / "make_figures.py"
    script.write_text(
        f"from phenom import figures\n\nfigures.reproduce({str(tmp_path / 'out')!r}, quick=True, "
        "only=['induction_flow', 'lsa_landscape'], workers=2)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"phenom.figures._main_guard.MainGuardError: phenom.figures.reproduce was called at the top level of {script}"
    )
    assert last.endswith('put the call under `if __name__ == "__main__":`')
    assert "BrokenProcessPool" not in done.stderr and done.stderr.count("Traceback") == 1
    assert not (tmp_path / "out").exists()  # nothing started
    # Guarded, the same call runs on two workers.
    script.write_text(
        "from phenom import figures\n\nif __name__ == '__main__':\n"
        f"    figures.reproduce({str(tmp_path / 'out')!r}, quick=True, only=['induction_flow', "
        "'lsa_landscape'], workers=2, log=lambda *_: None)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads((tmp_path / "out" / "manifest.json").read_text())) == ["induction_flow", "lsa_landscape"]

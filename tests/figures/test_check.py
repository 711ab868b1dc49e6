"""``phenom check`` (phenom.figures.check): a fresh run passes in one line; an edited file, a stale
code version and an edited derived number are each one line naming the figure and what is wrong;
the small re-implementations it recomputes with agree with numbers derived by hand."""

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import phenom.figures
import phenom.figures.check.induction as check_induction  # an import form that goes through attributes
from phenom import _io
from phenom.figures.check import GRID, Report, check, figure_code, remake_command
from phenom.figures.check._base import shown
from phenom.figures.check._definitions import (
    effective_parameters,
    first_reach,
    halfway_rise,
    linear_risk,
    mean_field_loss,
    optimal_preconditioner,
    sampled_rise,
    spearman_rho,
    spline_peak,
)
from phenom.figures.cli import main

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "figures"
EDITED = "the sha256 its manifest records (edited, or left by another run)"
SUMMARY = re.compile(r"^(\d+) figures? checked: hashes, code versions and (\d+) derived numbers hold$")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """Two cheap figures made by their commands (quick): what ``phenom check`` must pass."""
    out = tmp_path_factory.mktemp("fresh")
    for name in ("induction_flow", "lsa_landscape"):
        assert main([name, "--quick", "--out", str(out)]) == 0
    return out


@pytest.fixture
def copy(fresh, tmp_path):
    """A copy of the fresh folder that a test may damage."""
    out = tmp_path / "figures"
    shutil.copytree(fresh, out)
    return out


def _run(out, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["check", "--out", str(out)])
    return code, capsys.readouterr().out.splitlines()


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _write_manifest(out: Path, manifest: dict) -> None:
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))


# -- a fresh run, and each kind of problem ------------------------------------------------------


def test_a_fresh_run_passes_in_one_line(fresh, capsys):
    code, lines = _run(fresh, capsys)
    assert code == 0 and len(lines) == 1
    match = SUMMARY.match(lines[0])
    assert match and match.group(1) == "2" and int(match.group(2)) > 50
    entry = _manifest(fresh)["induction_flow"]
    assert set(entry["sha256"]) == set(entry["files"])  # a single-figure run records every file's hash
    assert entry["code"] == figure_code("induction_flow")
    assert entry["code"]["compute"]["module"] == "phenom.figures.jobs.induction"


def test_an_edited_file_is_named(copy, capsys):
    with (copy / "induction_flow.png").open("ab") as f:
        f.write(b"\0")
    (copy / "lsa_landscape.png").unlink()
    code, lines = _run(copy, capsys)
    assert code == 1
    assert lines == [
        f"induction_flow: induction_flow.png differs from {EDITED}",
        "lsa_landscape: lsa_landscape.png is missing",
    ]


def test_a_table_that_is_not_its_json_is_named(copy, capsys):
    csv = copy / "induction_flow.csv"
    text = csv.read_text().splitlines()
    header, first = text[0].split(","), text[1].split(",")
    first[header.index("loss")] = "0.5"  # the flow's loss at t = 0 is log 32, not 0.5
    csv.write_text("\n".join([text[0], ",".join(first), *text[2:]]) + "\n")
    code, lines = _run(copy, capsys)
    assert code == 1
    assert lines == [
        f"induction_flow: induction_flow.csv differs from {EDITED}",
        "induction_flow: induction_flow.csv column loss differs from the JSON it was written from",
    ]


def test_a_stale_code_version_names_the_command_that_remakes_it(copy, capsys):
    manifest = _manifest(copy)
    was = manifest["lsa_landscape"]["code"]["compute"]["version"]
    manifest["lsa_landscape"]["code"]["compute"]["version"] = "0.1.0+000000000000"
    _write_manifest(copy, manifest)
    code, lines = _run(copy, capsys)
    assert code == 1
    same = phenom.figures.default_setting("lsa_landscape") == phenom.figures.default_setting(
        "lsa_landscape", quick=True
    )
    quick = "" if same else " --quick"  # the quick setting made it: the command says so unless it is the default
    assert lines == [
        "lsa_landscape: computed by other code than today's (phenom.figures.jobs.lsa 0.1.0+000000000000, today "
        f"phenom.figures.jobs.lsa {was}); remake it with `phenom lsa_landscape{quick} --out {copy}`"
    ]


def test_a_stale_drawing_is_redrawn_by_draw(copy, capsys):
    manifest = _manifest(copy)
    manifest["induction_flow"]["code"]["draw"]["version"] = "0.1.0+000000000000"
    _write_manifest(copy, manifest)
    code, lines = _run(copy, capsys)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("induction_flow: drawn by other code than today's (phenom.figures.plots.induction ")
    assert lines[0].endswith(f"redraw it with `phenom draw induction_flow --out {copy}`")
    assert main(["draw", "induction_flow", "--out", str(copy)]) == 0  # records today's drawing code
    assert _run(copy, capsys)[0] == 0


def test_an_entry_without_hashes_or_code_version_is_a_problem(copy, capsys):
    manifest = _manifest(copy)
    del manifest["induction_flow"]["sha256"], manifest["induction_flow"]["code"]
    _write_manifest(copy, manifest)
    code, lines = _run(copy, capsys)
    assert code == 1
    remake = f"remake it with `phenom induction_flow --out {copy}`"
    assert lines == [
        "induction_flow: the manifest records no sha256 for induction_flow.png, induction_flow.json, "
        f"induction_flow.csv; {remake}",
        f"induction_flow: the manifest records no code version of phenom.figures.jobs.induction; {remake}",
    ]


def test_an_edited_flow_time_is_named_with_both_values(copy, capsys):
    saved = json.loads((copy / "induction_flow.json").read_text())
    cliff = saved["flows"][0]["cliff_time"]
    dt = saved["flows"][0]["curves"]["t"][1] - saved["flows"][0]["curves"]["t"][0]
    saved["flows"][0]["cliff_time"] = cliff + 0.2 * dt  # twice the tolerance of a time read off a curve
    _rehash(copy, "induction_flow", saved)
    code, lines = _run(copy, capsys)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith(f"induction_flow: flows[0].cliff_time is {shown(cliff + 0.2 * dt)}, recomputed ")
    assert abs(float(lines[0].split("recomputed ")[1].split()[0]) - cliff) <= GRID * dt


def test_a_missing_or_unreadable_folder_is_one_line(tmp_path, capsys):
    assert main(["check", "--out", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == (
        f"phenom check: error: out must be a folder of saved figures with a manifest.json; "
        f"{tmp_path / 'nowhere'} is not a folder\n"
    )
    assert main(["check", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    (tmp_path / "manifest.json").write_text("{not json")
    assert main(["check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("phenom check: failed: ") and "manifest.json is not valid JSON" in err and err.count("\n") == 1
    )


def test_a_damaged_result_is_a_problem_not_a_traceback(copy, capsys):
    (copy / "lsa_landscape.json").write_text('{"figure": "lsa_landscape.png"}')
    code, lines = _run(copy, capsys)
    assert code == 1
    assert lines[0] == f"lsa_landscape: lsa_landscape.json differs from {EDITED}"
    assert lines[1] == "lsa_landscape: lsa_landscape.json is not shaped as today's code writes it (KeyError: 'setting')"


# -- derived numbers edited in the committed results --------------------------------------------


def _committed_copy(tmp_path: Path, names: list[str]) -> Path:
    """The committed figures ``names`` (all their files) in a folder whose manifest records their
    hashes and today's code: only their numbers can be wrong."""
    out = tmp_path / "committed"
    out.mkdir()
    committed = _manifest(COMMITTED)
    manifest = {}
    for name in names:
        entry = dict(committed[name])
        for f in entry["files"]:
            shutil.copy(COMMITTED / f, out / f)
        entry["sha256"] = {f: _io.file_hash(out / f) for f in entry["files"]}
        entry["code"] = figure_code(name)
        manifest[name] = entry
    _write_manifest(out, manifest)
    return out


def _rehash(out: Path, name: str, saved: dict) -> None:
    """Save an edited result and record its hash: as if the number had been written so."""
    (out / f"{name}.json").write_text(json.dumps(saved, indent=2))
    manifest = _manifest(out)
    manifest[name]["sha256"][f"{name}.json"] = _io.file_hash(out / f"{name}.json")
    _write_manifest(out, manifest)


def _new_problems(out: Path, name: str, edit) -> set[str]:
    """The problems that editing ``name``'s JSON with ``edit`` adds."""
    before = set(check(out).problems)
    saved = json.loads((out / f"{name}.json").read_text())
    edit(saved)
    _rehash(out, name, saved)
    after = check(out)
    assert not after.ok
    return set(after.problems) - before


@pytest.fixture(scope="module")
def numbers(tmp_path_factory):
    """The committed figures whose README numbers the edits below target."""
    names = ["induction_heads", "data_dependence", "phase", "scaling", "network_training", "compare"]
    return _committed_copy(tmp_path_factory.mktemp("numbers"), names)


@pytest.fixture
def numbers_copy(numbers, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(numbers, out)
    return out


def test_a_flipped_rise_of_the_heads_is_named(numbers_copy):
    run = json.loads((numbers_copy / "induction_heads.json").read_text())["runs"][0]
    rise = run["rise_minus_transition"]["previous_token"]
    assert rise != 0

    def flip(saved):
        saved["runs"][0]["rise_minus_transition"]["previous_token"] = -rise

    assert _new_problems(numbers_copy, "induction_heads", flip) == {
        f"induction_heads: runs[0].rise_minus_transition.previous_token is {shown(-rise)}, recomputed "
        f"{shown(rise)} from its history"
    }


def test_a_changed_final_accuracy_is_named(numbers_copy):
    entry = json.loads((numbers_copy / "data_dependence.json").read_text())["sweeps"]["B"][1]
    final = entry["seeds"][0]["icl_acc"]

    def change(saved):  # one more of 2048 held-out sequences right
        saved["sweeps"]["B"][1]["seeds"][0]["icl_acc"] = final + 1 / 2048

    where = f"sweeps.B[1] (B = {entry['value']}).seeds[0].icl_acc"
    assert _new_problems(numbers_copy, "data_dependence", change) == {
        f"data_dependence: {where} is {shown(final + 1 / 2048)}, recomputed {shown(final)} (the curve's last value)"
    }


def test_a_changed_phase_error_is_named(numbers_copy):
    pooled = json.loads((numbers_copy / "phase.json").read_text())["errors"]["pooled"]

    def change(saved):  # 0.1 percentage point: the README's precision
        saved["errors"]["pooled"]["median_abs"] = pooled["median_abs"] + 1e-3

    (line,) = _new_problems(numbers_copy, "phase", change)
    assert line.startswith(f"phase: errors.pooled.median_abs is {shown(pooled['median_abs'] + 1e-3)}, recomputed ")
    assert abs(float(line.split("recomputed ")[1]) - pooled["median_abs"]) < 2e-6


def test_a_changed_scaling_statistic_is_named(numbers_copy):
    summary = json.loads((numbers_copy / "scaling.json").read_text())["summary"]
    rho = summary["within_N"]["8"]["spearman"]

    def change(saved):
        saved["summary"]["within_N"]["8"]["spearman"] = rho + 0.01

    assert _new_problems(numbers_copy, "scaling", change) == {
        f"scaling: summary.within_N.8.spearman is {shown(rho + 0.01)}, recomputed {shown(rho)} from the per-run steps"
    }


def test_a_changed_transition_step_is_named(numbers_copy):
    step = json.loads((numbers_copy / "network_training.json").read_text())["summary"]["transition_step"]

    def change(saved):
        saved["summary"]["transition_step"] = step + 1

    assert _new_problems(numbers_copy, "network_training", change) == {
        f"network_training: summary.transition_step is {shown(step + 1)}, recomputed {shown(step)} from its history"
    }


def test_a_changed_reconstruction_gap_is_named(numbers_copy):
    gap = json.loads((numbers_copy / "compare.json").read_text())["summary"]["max_abs_loss_gap"]

    def change(saved):
        saved["summary"]["max_abs_loss_gap"] = gap / 2

    assert _new_problems(numbers_copy, "compare", change) == {
        f"compare: summary.max_abs_loss_gap is {shown(gap / 2)}, recomputed {shown(gap)} from the saved losses"
    }


def test_the_committed_figures_pass(capsys):
    # The committed results are today's: a change that alters a result regenerates its figures
    # in the same submission, and this test says which and how when one does not.
    code, lines = _run(COMMITTED, capsys)
    assert (code, len(lines)) == (0, 1), "\n".join(lines)
    assert SUMMARY.match(lines[0])


# -- the pieces: remake commands, the report, the import ----------------------------------------


def test_remake_command_gives_the_options_that_differ_from_the_nearer_default():
    setting = _io.plain(phenom.figures.default_setting("induction_flow").to_dict())
    assert remake_command("induction_flow", setting, "figures") == "phenom induction_flow --out figures"
    changed = {**setting, "N": 4, "L": 12, "compare_L": [6, 9]}
    assert remake_command("induction_flow", changed, "my figs") == (
        "phenom induction_flow --N 4 --L 12 --compare-L 6 9 --out 'my figs'"
    )
    quick = _io.plain(phenom.figures.default_setting("lsa_depth", quick=True).to_dict())
    assert remake_command("lsa_depth", quick, "out") == "phenom lsa_depth --quick --out out"


def test_the_report_says_one_line():
    assert Report(Path("x"), ("a",), 7, ()).lines() == [
        "1 figure checked: hashes, code versions and 7 derived numbers hold"
    ]
    bad = Report(Path("x"), ("a", "b"), 7, ("a: one", "b: two"))
    assert not bad.ok and bad.lines() == ["a: one", "b: two"]
    assert bad.summary() == "2 figures checked: 2 problems"


def test_the_package_is_callable_as_its_check(fresh):
    assert check_induction.__name__ == "phenom.figures.check.induction"
    report = phenom.figures.check(fresh)
    assert isinstance(report, Report) and report.ok and report == check(fresh)


def test_check_loads_neither_the_jobs_nor_matplotlib(fresh):
    code = (
        f"import sys; from phenom.figures.cli import main; assert main(['check', '--out', {str(fresh)!r}]) == 0; "
        "print(sorted(m for m in sys.modules if m == 'matplotlib' or m.startswith(('phenom.figures.jobs', "
        "'phenom.figures.plots', 'phenom.figures.registry', 'phenom.nets.attention'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


# -- the re-implementations against numbers derived by hand --------------------------------------


def test_mean_field_loss_at_the_origin_is_log_L():
    # θ = 0: y = 1/(1 + N), αy = 0, so u = 0 and u' = 0: loss = log(1 + (N − 1) + (L − N)) = log L.
    assert mean_field_loss(0.0, 0.0, 0.0, 8, 32) == pytest.approx(math.log(32), rel=1e-15)
    # ξ = 2, α = β = 0 at N = 2, L = 4: u = 0, u' = 2/(1 + 4) = 0.4: loss = log(2 + 2 e^{−0.4}).
    assert mean_field_loss(0.0, 0.0, 2.0, 2, 4) == pytest.approx(math.log(2 + 2 * math.exp(-0.4)), rel=1e-15)


def test_effective_parameters_invert_the_attention_by_hand():
    # N = 8, L = 32: y = 0.5 ⇒ β = log 8; z = 0.5 ⇒ αy = log 16 ⇒ α = 2 log 16; margin 3 ⇒ ξ = 6.
    beta, alpha, xi = effective_parameters(0.5, 0.5, 3.0, 8, 32)
    assert (beta, alpha, xi) == pytest.approx((math.log(8), 2 * math.log(16), 6.0), rel=1e-15)
    # L = N: z' = (1 − 0.5)/16 = 1/32, ξ = 3 / (0.5 − 1/32) = 6.4; z = 0.03 gives z − z' < 0.01: undefined.
    assert effective_parameters(0.5, 0.5, 3.0, 8, 8)[2] == pytest.approx(6.4, rel=1e-15)
    assert effective_parameters(0.5, 0.03, 3.0, 8, 8)[2] is None


def test_linear_risk_matches_the_reference_values():
    # d = 2, N = 4, Σ = Ω = I, σ = 0: R(I) = 3/2, Γ* = (4/7) I, R(Γ*) = 6/7 (Ahn et al.; by hand).
    eye = np.eye(2)
    assert linear_risk(eye, eye, eye, 4, 0.0) == pytest.approx(1.5, rel=1e-14)
    star = optimal_preconditioner(eye, eye, 4, 0.0)
    np.testing.assert_allclose(star, 4 / 7 * eye, rtol=1e-12, atol=1e-14)
    assert linear_risk(star, eye, eye, 4, 0.0) == pytest.approx(6 / 7, rel=1e-12)
    # Σ = diag(2, 1), N = 4: ((1 + 1/4) Σ + (3/4) I)⁻¹ = diag(1/3.25, 1/2).
    sigma = np.diag([2.0, 1.0])
    np.testing.assert_allclose(optimal_preconditioner(sigma, eye, 4, 0.0), np.diag([1 / 3.25, 0.5]), rtol=1e-12)


def test_linear_risk_against_monte_carlo_with_noise():
    # Σ = diag(2, 0.5), Ω = diag(1, 3), N = 3, σ² = 0.2, a non-symmetric Γ; 4·10⁵ tasks.
    rng = np.random.default_rng(1)
    sigma, omega, N, noise = np.diag([2.0, 0.5]), np.diag([1.0, 3.0]), 3, 0.2
    G = np.array([[0.3, 0.1], [-0.2, 0.5]])
    n = 400_000
    w = rng.normal(size=(n, 2)) * np.sqrt(np.diag(omega))
    X = rng.normal(size=(n, N + 1, 2)) * np.sqrt(np.diag(sigma))
    y = np.einsum("tni,ti->tn", X, w) + rng.normal(size=(n, N + 1)) * np.sqrt(noise)
    h = np.einsum("tn,tni->ti", y[:, :N], X[:, :N]) / N
    err = (np.einsum("ti,ij,tj->t", X[:, N], G, h) - y[:, N]) ** 2
    se = err.std() / np.sqrt(n)
    assert abs(linear_risk(G, sigma, omega, N, noise) - err.mean()) < 4 * se


def test_spearman_by_hand():
    # Ranks differ by (0, 1, 1, 0): ρ = 1 − 6·2/(4·15) = 0.8; undefined for two points or a constant.
    assert spearman_rho([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(0.8, rel=1e-15)
    assert spearman_rho([1, 2], [1, 2]) is None
    assert spearman_rho([1, 2, 3], [5, 5, 5]) is None


def test_steps_read_off_a_history_by_hand():
    steps = np.array([0.0, 100.0, 200.0, 300.0])
    # 0.3 → 0.7 between steps 100 and 200: 0.5 is reached halfway, at 150.
    assert first_reach(steps, np.array([0.1, 0.3, 0.7, 0.9]), 0.5) == pytest.approx(150.0, rel=1e-15)
    assert first_reach(steps, np.array([0.1, 0.3, 0.7, 0.9]), 0.95) is None
    # A head score from 0.2 to a largest 1.0: halfway is 0.6, between 0.4 (step 100) and 0.8 (step 200).
    assert halfway_rise(steps, [0.2, 0.4, 0.8, 1.0]) == pytest.approx(150.0, rel=1e-15)
    assert halfway_rise(steps, [0.2, None, 0.8, 1.0]) is None  # an undefined score: no rise
    # 1 above the start (0.5) first at the sample of step 200 (1.6), not interpolated.
    assert sampled_rise(steps, [0.5, 1.2, 1.6, 2.0]) == 200.0
    assert sampled_rise(steps, [None, 1.2, 1.6, 2.0]) is None


def test_a_peak_read_off_samples_is_within_the_grid_tolerance():
    # A Gaussian bump at 3.21 sampled every 0.5: its peak within a tenth of the interval.
    t = np.arange(0.0, 10.0, 0.5)
    assert abs(spline_peak(t, np.exp(-((t - 3.21) ** 2) / 2)) - 3.21) < GRID * 0.5
    assert spline_peak(t, t) is None  # still rising at the end: no interior peak

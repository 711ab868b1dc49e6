"""The linear-attention figures' jobs: what they write, checked against hand-derived values."""

import json

import numpy as np
import pytest

from phenom.cli import main
from phenom.jobs import lsa


def test_landscape_job_marks_the_hand_derived_optimum(tmp_path):
    # d = 2, N = 4, Σ = diag(2, 1/2), Ω = I: Γ* = diag(1/((5/4)·2 + 5/8), 1/((5/4)/2 + 5/8))
    # = diag(0.32, 0.8), and R* = tr Σ − Σ_i λ_i² γ_i = 2.5 − 4·0.32 − 0.25·0.8 = 1.02.
    lsa.landscape_job(tmp_path, n=11)
    data = json.loads((tmp_path / "lsa_landscape.json").read_text())
    star = data["points"]["Γ* (optimal)"]
    assert (star["gamma1"], star["gamma2"]) == pytest.approx((0.32, 0.8), rel=1e-12)
    assert data["task"]["optimal_risk"] == pytest.approx(1.02, rel=1e-12)
    risk = np.array(data["risk"])
    assert risk.shape == (11, 11) and risk.min() >= 1.02 - 1e-12
    # Γ = I: R = tr(ΣΓΣ M')… by hand, M = (5/4)Σ² + (5/2)/4·Σ, R(I) = tr(Σ²M) − 2tr(Σ²) + tr Σ
    # = (5/4)(16 + 1/16) + (5/8)(8 + 1/8) − 2(4 + 1/4) + 5/2 = 6.8125.
    assert data["points"]["Γ = I (plain GD step)"]["risk"] == pytest.approx(6.8125, rel=1e-12)


def test_landscape_job_in_five_dimensions(tmp_path):
    lsa.landscape_job(tmp_path, d=5, N=20, n=7)
    data = json.loads((tmp_path / "lsa_landscape.json").read_text())
    assert data["points"]["Γ* (optimal)"]["risk"] == pytest.approx(lsa.make_task(5, 20).optimal_risk(), rel=1e-12)


def test_depth_job_baselines(tmp_path):
    lsa.depth_job(tmp_path, layers=(1, 2), seeds=(0,), steps=50, eval_size=20_000)
    depth = json.loads((tmp_path / "lsa_depth.json").read_text())["depth"]
    task = lsa.make_task()
    # One PGD step with Γ* and η = 1 *is* the optimal one-layer predictor: the tuned η is ≈ 1
    # and its held-out risk is R* up to Monte Carlo error (≈ 1.5% for 20 000 sequences here).
    assert depth["pgd_eta"][0] == pytest.approx(1.0, abs=0.05)
    assert depth["pgd_risk"][0] == pytest.approx(task.optimal_risk(), rel=0.05)
    assert depth["gd_risk"][0] > depth["pgd_risk"][0] and depth["gd_risk"][1] < depth["gd_risk"][0]
    assert np.shape(depth["lsa_risk"]) == (2, 1)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["lsa", "--d", "0"], "d must be an integer >= 1, got 0"),
        (["lsa", "--N", "1.5"], "N must be an integer >= 1, got 1.5"),
        (["lsa", "--noise", "-1"], "noise must be a finite number >= 0, got -1"),
        (["reproduce", "--only", "nope"], "only must name figures among"),
    ],
)
def test_bad_lsa_input(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())

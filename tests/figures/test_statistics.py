"""Comparison statistics (phenom.figures.statistics) on hand-made numbers: the scaling summary's
fitted c, relative errors and rank correlations, and the model's loss at a network's effective
parameters."""

import numpy as np
import pytest

from phenom.figures.statistics import rank_correlation, reconstruction, scaling_summary


def test_scaling_summary_by_hand():
    # lr = 0.5; the reference (4, 8) has t = 50, step 250, so c = 50 / (0.5 · 250) = 0.4 and the
    # predicted step is t / (c · lr) = 5t. The reference is left out of every statistic.
    lr = 0.5
    table = [
        (2, 3, 40, 100),
        (2, 4, 30, 100),
        (2, 6, 20, 200),
        (2, 8, 10, 300),
        (4, 8, 50, 250),
        (4, 16, 25, 100),
        (4, 32, 20, 120),
        (4, 5, 80, 400),
    ]
    rows = [{"N": n, "L": labels, "flow_time": t, "net_step": s, "seed": 0} for n, labels, t, s in table]
    rows.append({"N": 8, "L": 8, "flow_time": None, "net_step": None})
    summary = scaling_summary(rows, reference=(4, 8), lr=lr)
    assert summary["c"] == pytest.approx(0.4, rel=1e-15)
    assert {(p["N"], p["L"]) for p in summary["predictions"]} == {(n, labels) for n, labels, *_ in table} - {(4, 8)}
    rel = {(p["N"], p["L"]): p["relative_error"] for p in summary["predictions"]}
    assert rel == pytest.approx(
        {(2, 3): 1.0, (2, 4): 0.5, (2, 6): -0.5, (2, 8): -5 / 6, (4, 16): 0.25, (4, 32): -1 / 6, (4, 5): 0.0}, rel=1e-12
    )
    # Pooled ranks (ties share their mean rank): t → [6, 5, 2.5, 1, 4, 2.5, 7], steps → [2, 2, 5,
    # 6, 2, 4, 7]; Σ dx·dy = −4.5, Σ dx² = 27.5, Σ dy² = 26.
    assert summary["spearman"] == pytest.approx(-4.5 / np.sqrt(27.5 * 26), rel=1e-12)
    # Within N = 2: ranks [4, 3, 2, 1] against [1.5, 1.5, 3, 4]: −4.5 / √(5 · 4.5) = −3/√10.
    # Within N = 4 (held out: L = 16, 32, 5): [2, 1, 3] against [1, 2, 3]: 1/2.
    assert summary["within_N_spearman"] == pytest.approx({"2": -3 / np.sqrt(10), "4": 0.5}, rel=1e-12)
    assert summary["median_abs_relative_error"] == pytest.approx(0.5)
    assert summary["max_abs_relative_error"] == pytest.approx(1.0)
    assert summary["within_N"]["2"]["median_abs_relative_error"] == pytest.approx((0.5 + 5 / 6) / 2)
    assert summary["within_N"]["4"]["max_abs_relative_error"] == pytest.approx(0.25)
    assert (summary["runs"], summary["configurations"], summary["reference_runs"]) == (7, 7, 1)
    assert (summary["reference_flow_time"], summary["reference_net_step"]) == (50, 250)
    # Held out N = 2: |rel| 1, 1/2, 1/2, 5/6 (median 2/3); the rest (N = 4): 1/4, 1/6, 0.
    split = scaling_summary(rows, reference=(4, 8), lr=lr, held_out=(2,))
    assert split["held_out"]["median_abs_relative_error"] == pytest.approx(2 / 3, rel=1e-12)
    assert split["held_out"]["max_abs_relative_error"] == pytest.approx(1.0)
    assert split["held_out"]["spearman"] == pytest.approx(-3 / np.sqrt(10), rel=1e-12)
    assert split["not_held_out"]["median_abs_relative_error"] == pytest.approx(1 / 6, rel=1e-12)
    assert split["not_held_out"]["max_abs_relative_error"] == pytest.approx(0.25)
    assert (split["held_out"]["runs"], split["not_held_out"]["runs"], summary["held_out"]) == (4, 3, None)
    with pytest.raises(ValueError, match="needs the reference and >= 3 other runs"):
        scaling_summary(rows[:2] + rows[4:5], reference=(4, 8), lr=lr)


def test_rank_correlation_is_undefined_for_constant_or_tiny_samples():
    assert rank_correlation([1, 2], [3, 4]) is None
    assert rank_correlation([1, 2, 3], [5, 5, 5]) is None
    assert rank_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_reconstruction_at_hand_computed_points():
    # At β = α = ξ = 0 the model's loss is log L whatever N; an undefined ξ (L = N at chance) is
    # left out.
    records = {
        "step": [0, 10, 20],
        "eval_loss": [3.0, 2.0, 1.0],
        "beta": [0.0, 0.0, 0.0],
        "alpha": [0.0, 0.0, 0.0],
        "xi": [0.0, None, 0.0],
    }
    r = reconstruction(records, N=4, L=16)
    assert r["model_loss"][0] == pytest.approx(np.log(16), rel=1e-14) and np.isnan(r["model_loss"][1])
    assert r["max_abs_loss_gap"] == pytest.approx(np.log(16) - 1.0, rel=1e-14) and r["step_of_max_gap"] == 20

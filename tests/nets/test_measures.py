"""Progress measures (phenom.nets.measures): the effective parameters invert the mean-field
relations; transition_step finds the first step at which a measure reaches a level, by hand."""

import numpy as np
import pytest

from phenom.nets.measures import effective_parameters, transition_level, transition_step


def test_effective_parameters_invert_the_mean_field_relations():
    # y = e^β/(e^β + N), z = e^{αy}/(e^{αy} + 2N), margin = ξ z: chosen (β, α, ξ) come back.
    N, L, beta, alpha, xi = 8, 32, 1.3, 4.0, 6.0
    y = np.exp(beta) / (np.exp(beta) + N)
    z = np.exp(alpha * y) / (np.exp(alpha * y) + 2 * N)
    assert effective_parameters(y, z, xi * z, N, L) == pytest.approx((beta, alpha, xi), rel=1e-12)
    z_other = 1 / (np.exp(alpha * y) + 2 * N)
    assert effective_parameters(y, z, xi * (z - z_other), N, N)[2] == pytest.approx(xi, rel=1e-12)


def test_transition_step_interpolates_to_an_absolute_level():
    # 0.2 at step 100, 0.6 at 200: 0.5 is reached 3/4 of the way, at 175.
    assert transition_step([0, 100, 200, 300], [0.1, 0.2, 0.6, 0.9]) == pytest.approx(175.0, rel=1e-15)
    # transition_level(2) = 0.75: from 0.6 at 100 to 0.9 at 200, half way, 150.
    assert transition_level(8) == pytest.approx(0.5625, rel=1e-15)
    assert transition_step([0, 100, 200], [0.5, 0.6, 0.9], level=transition_level(2)) == pytest.approx(150.0)
    assert transition_step([0, 100], [0.7, 0.9]) == 0.0
    assert transition_step([0, 100, 200], [0.1, 0.2, 0.3]) is None
    # Without interpolation: the step of the first value at or above the level.
    assert transition_step([0, 100, 200, 300], [0.1, 0.2, 0.6, 0.9], interpolate=False) == 200.0


def test_transition_step_relative_to_the_start():
    # β from 0.48 rises by 1 (to 1.48): 1.2 at 10, 2.0 at 20, so 10 + 0.28/0.8 · 10 = 13.5.
    step, beta = [0, 10, 20], [0.48, 1.2, 2.0]
    assert transition_step(step, beta, 1.0, relative_to="start") == pytest.approx(13.5, rel=1e-12)
    assert transition_step(step, beta, 1.0, relative_to="start", interpolate=False) == 20.0
    assert transition_step(step, beta, 2.0, relative_to="start") is None


def test_transition_step_relative_to_the_range():
    # From 0.1 to a largest 0.9 (then 0.8): halfway is 0.5, between 0.3 at 2 and 0.7 at 4, at 3.
    step, score = [0, 2, 4, 6], [0.1, 0.3, 0.7, 0.9]
    assert transition_step(step, score, 0.5, relative_to="range") == pytest.approx(3.0, rel=1e-12)
    assert transition_step([0, 2, 4, 6, 8], [0.1, 0.3, 0.7, 0.9, 0.8], 0.5, relative_to="range") == pytest.approx(3.0)
    # A quarter of the way, 0.3, is reached exactly at step 2.
    assert transition_step(step, score, 0.25, relative_to="range") == pytest.approx(2.0, rel=1e-12)
    # Values that never exceed their first one do not rise.
    assert transition_step([0, 1, 2], [0.5, 0.4, 0.5], 0.5, relative_to="range") is None


def test_transition_step_missing_values():
    # Skipped: None and NaN are left out, and the first present value (1.0 at step 1) is the start.
    step, xi = [0, 1, 2, 3], [None, 1.0, float("nan"), 3.0]
    assert transition_step(step, xi, 1.0, relative_to="start") == pytest.approx(2.0, rel=1e-12)
    assert transition_step(step, xi, 2.5) == pytest.approx(2.5, rel=1e-12)
    assert transition_step(step, xi, 1.0, relative_to="start", missing="none") is None
    assert transition_step([0, 1], [None, None], 0.5) is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: transition_step([0, 1], [0.1, 0.2], relative_to="end"), "^relative_to must be 'zero', 'start' or"),
        (lambda: transition_step([0, 1], [0.1, 0.2], missing="drop"), "^missing must be 'skip' or 'none'"),
        (lambda: transition_step([0, 1], [0.1, 0.2], level=float("nan")), "^level must be a finite number"),
        # a string on purpose: the check under test
        (lambda: transition_step([0, 1], [0.1, 0.2], level="0.5"), "^level must be a finite number"),  # type: ignore[arg-type]
        (lambda: transition_step([0, 1, 2], [0.1, 0.2]), "^step and values must be 1-D of one length"),
        (lambda: transition_step([0, np.inf], [0.1, 0.2]), "^step must be finite"),
        (lambda: transition_step([0, 1], ["a", 0.2]), "^values must be a 1-D sequence of real numbers or None"),
    ],
)
def test_transition_step_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_p_context_and_p_correct_by_hand():
    # Two sequences, N = 2, L = 4; logits chosen so the softmax is exact fractions.
    from types import SimpleNamespace

    from phenom.nets.measures import progress_measures

    logits = np.log(np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 4.0, 1.0, 1.0]]))  # probs /10
    batch = SimpleNamespace(context_labels=np.array([[0, 3], [2, 3]]), answer=np.array([3, 2]))
    task = SimpleNamespace(N=2, L=4)
    n, T = 2, 5
    cache = {"A1": np.full((n, T, T), 0.2), "a2": np.full((n, T), 0.2)}
    m = progress_measures(logits, cache, batch, task)
    # P(in context): (0.1 + 0.4) and (0.1 + 0.1); P(correct): 0.4 and 0.1; CLA: arg max 3 (in), 0 (out).
    assert m["p_context"] == pytest.approx((0.5 + 0.2) / 2, rel=1e-12)
    assert m["p_correct"] == pytest.approx((0.4 + 0.1) / 2, rel=1e-12)
    assert m["cla"] == 0.5


def test_expected_model_loss_by_hand_and_jensen():
    from types import SimpleNamespace

    from phenom.nets.measures import progress_measures

    # N = 2, L = 4. Sequence 0: correct 3 (logit 2), other in context 0 (logit 0), absent 1, 2
    # (logits 1 and −1, mean 0): u = 2, u' = 2 → log(1 + e^{-2} + 2 e^{-2}).
    # Sequence 1: correct 2 (logit 0), other 3 (logit 1), absent 0, 1 (logits 0, 0): u = −1, u' = 0
    # → log(1 + e^{1} + 2).
    logits = np.array([[0.0, 1.0, -1.0, 2.0], [0.0, 0.0, 0.0, 1.0]])
    batch = SimpleNamespace(context_labels=np.array([[0, 3], [2, 3]]), answer=np.array([3, 2]))
    cache = {"A1": np.full((2, 5, 5), 0.2), "a2": np.full((2, 5), 0.2)}
    m = progress_measures(logits, cache, batch, SimpleNamespace(N=2, L=4))
    by_hand = (np.log(1 + 3 * np.exp(-2.0)) + np.log(3 + np.e)) / 2
    assert m["expected_model_loss"] == pytest.approx(by_hand, rel=1e-12)
    # the rivals' spread within a group only raises the network's loss (Jensen)
    assert m["expected_model_loss"] <= m["eval_loss"]
    # no spread within either group: equal
    flat = np.array([[0.0, 1.0, 1.0, 2.0], [0.0, 0.0, 0.0, 1.0]])
    m = progress_measures(
        flat,
        cache,
        SimpleNamespace(context_labels=np.array([[0, 3], [1, 3]]), answer=np.array([3, 3])),
        SimpleNamespace(N=2, L=4),
    )
    assert m["expected_model_loss"] == pytest.approx(m["eval_loss"], rel=1e-12)

"""The generated, compiled kernels (phenom.induction.kernels) against independent references: mpmath on
Reddy's hand-typed loss (tests/reference.py), at the same tolerances as the numpy functions."""

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import assert_loss_matches_mpmath, mp_grad, mp_hessian, mp_loss, mp_term_magnitudes

from phenom.induction.kernels import compiled, source

theta_component = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def counts(draw):
    n = draw(st.integers(1, 64))
    return n, draw(st.integers(n, n + 200))


def _evaluate(b, a, x, N, L):
    k = compiled()
    out, H = np.empty(4), np.empty((3, 3))
    k["loss_grad"](b, a, x, float(N), float(L), out)
    k["hessian"](b, a, x, float(N), float(L), H)
    return out[0], out[1:], H


@settings(max_examples=examples(200), deadline=None)
@given(theta_component, theta_component, theta_component, counts())
def test_kernels_match_mpmath_everywhere(b, a, x, nl):
    N, L = nl
    loss, g, H = _evaluate(b, a, x, N, L)
    assert np.isfinite(loss) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))
    assert_loss_matches_mpmath(loss, b, a, x, N, L)
    g_scale, h_scale = mp_term_magnitudes(b, a, x, N, L)
    g_ref, H_ref = mp_grad(b, a, x, N, L), mp_hessian(b, a, x, N, L)
    np.testing.assert_array_less(np.abs(g - g_ref), 1e-10 * np.abs(g_ref) + 1e-14 * g_scale + 1e-300)
    np.testing.assert_array_less(np.abs(H - H_ref), 1e-9 * np.abs(H_ref) + 1e-13 * h_scale + 1e-300)


def test_kernels_at_the_corners_and_at_L_equal_N():
    # At θ = 0 the loss is log L (all logits equal) and only ξ has a gradient (hand: −(1/(2N+1))(1 − N/L)·…
    # checked here against mpmath); L = N empties the absent-label group, N = 1 the in-context one.
    for N, L in [(1, 1), (1, 32), (8, 8), (8, 32), (64, 256)]:
        for theta in [(0.0, 0.0, 0.0), (1e3, 1e3, 1e3), (-1e3, 1e3, -1e3), (1e3, -1e3, 1e3), (20.0, 40.0, 40.0)]:
            loss, g, H = _evaluate(*theta, N, L)
            assert np.isfinite(loss) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))
            ref = float(mp_loss(*theta, N, L))
            assert loss == pytest.approx(ref, rel=1e-12, abs=1e-300)
    assert _evaluate(0.0, 0.0, 0.0, 8, 32)[0] == pytest.approx(np.log(32), rel=1e-15)


def test_source_is_generated_from_the_derivation():
    import re

    text = source()
    body = text[text.index("def loss_grad") :]
    assert "def loss_grad(beta, alpha, xi, N, L, out):" in body and "def hessian(beta, alpha, xi, N, L, out):" in body
    # Straight-line scalar code: the only calls are math functions and the scalar primitives.
    called = set(re.findall(r"([A-Za-z_][\w.]*)\(", body)) - {"loss_grad", "hessian"}
    assert called <= {"_nll1", "_nll2", "_p1", "_p2", "_pdiff", "math.exp", "math.log", "math.log1p", "math.expm1"}
    assert {"_nll2", "_pdiff", "math.exp"} <= called


def test_the_compiled_module_is_cached_on_disk_across_processes(tmp_path):
    """The first process writes the module (named by a hash of its text) and numba's machine
    code beside it; the next process loads that code instead of compiling."""
    import os
    import subprocess
    import sys

    script = (
        "from phenom.induction.fastflow import flow_quantities\n"
        "from phenom.induction.kernels import flow_module\n"
        "flow_quantities(N=8, L=32, t_max=50.0)\n"
        "s = flow_module().batch_serial.stats\nprint(sum(s.cache_hits.values()), sum(s.cache_misses.values()))"
    )
    env = {**os.environ, "PHENOM_CACHE": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    (hits1, misses1), (hits2, misses2) = (tuple(map(int, r.stdout.split())) for r in runs)
    assert (hits1, misses1) == (0, 1) and (hits2, misses2) == (1, 0)
    files = list(tmp_path.glob("phenom_flows_*.py"))
    assert len(files) == 1 and any((tmp_path / "__pycache__").glob("*.nbi"))

"""The radius of the float32 Box–Muller transform, sqrt(−2 log(1 − u)), compiled (numba).

numpy's float32 ``log1p`` has no vectorised loop on x86-64 without AVX-512: it calls the C
library's ``log1pf`` once per number, and that call was half the time of sampling a batch.
:func:`radius` evaluates the same function, the fdlibm algorithm of glibc's ``log1pf``
(sysdeps/ieee754/flt-32/s_log1pf.c: 1 + x = 2^k (1 + f) with 1 + f in [√2/2, √2), then
log(1 + f) = f − (f²/2 − s (f²/2 + R(s²))), s = f/(2 + f)), operation for operation in float32,
every branch computed and one chosen (x = −u ∈ (−1, 0] needs only three), so that the compiler
vectorises the loop. It equals ``np.sqrt(np.float32(-2) * np.log1p(-u))`` with glibc bit for bit
on every float32 u in [0, 1) (the tests check all 2^24 float32 uniforms of numpy's generator and
random float32 numbers in [0, 1)): the sampled batches are the ones they were, 2^17 normals in
0.9 ms instead of 1.7 ms.

numba is imported on the first call, not with the module: the tasks, which every figure's
setting loads to check its fields, stay light to import.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["radius"]

_F = np.float32
_ONE, _TWO, _HALF, _ZERO = _F(1), _F(2), _F(0.5), _F(0)
_LN2_HI, _LN2_LO = _F(6.9313812256e-01), _F(9.0580006145e-06)  # 0x3f317180, 0x3717f7d1
_LP1, _LP2, _LP3, _LP4 = _F(6.6666668653e-01), _F(4.0000000596e-01), _F(2.8571429849e-01), _F(2.2222198546e-01)
_LP5, _LP6, _LP7 = _F(1.8183572590e-01), _F(1.5313838422e-01), _F(1.4798198640e-01)
_TWO_THIRDS = _F(0.66666666666666666)
_SMALL = 0x3E95F61F
"""Bits of 0.2929 ≈ 1 − 1/√2: up to it log1p(−u) is the series in f = −u itself (k = 0)."""


def _radius_loop(u, out):  # compiled by _compiled(); as plain Python the same arithmetic, slowly
    for i in range(u.size):
        x = -u[i]
        small = np.float32(u[i]).view(np.int32) <= _SMALL
        # Otherwise 1 + x = 2^k (1 + f), and c the rounding error of 1 + x over it (k <= 0 here).
        u1 = _ONE + x
        hu = np.float32(u1).view(np.int32)
        k = (hu >> 23) - 127
        c = (x - (u1 - _ONE)) / u1
        mant = hu & 0x007FFFFF
        low = mant < 0x3504F7
        k = k if low else k + 1
        tiny = (mant == 0) if low else (((0x00800000 - mant) >> 2) == 0)
        f = np.int32(mant | (0x3F800000 if low else 0x3F000000)).view(np.float32) - _ONE
        f = x if small else f
        c = _ZERO if small else c
        kf = np.float32(0 if small else k)
        hfsq = _HALF * f * f
        s = f / (_TWO + f)
        z = s * s
        R = z * (_LP1 + z * (_LP2 + z * (_LP3 + z * (_LP4 + z * (_LP5 + z * (_LP6 + z * _LP7))))))
        series = f - (hfsq - s * (hfsq + R))
        general = kf * _LN2_HI - ((hfsq - (s * (hfsq + R) + (kf * _LN2_LO + c))) - f)
        # |f| < 2^-20 but f != 0 (a mantissa just below 2): glibc's two-term series. At f = 0 the
        # general formula is glibc's k ln2_hi + (c + k ln2_lo) exactly.
        short = kf * _LN2_HI - ((hfsq * (_ONE - _TWO_THIRDS * f) - (kf * _LN2_LO + c)) - f)
        log1p = series if small else (short if (tiny and f != _ZERO) else general)
        out[i] = np.sqrt(np.float32(-2) * log1p)


@functools.cache
def _compiled():
    import numba  # here, not at the top: importing the tasks must not load numba

    return numba.njit(cache=True, error_model="numpy")(_radius_loop)


def radius(u: np.ndarray) -> np.ndarray:
    """sqrt(−2 log1p(−u)) of float32 numbers ``u`` in [0, 1), as numpy computes it with glibc."""
    out = np.empty_like(u)
    _compiled()(u, out)
    return out

"""A fused multiply-add for compiled loops (numba): ``fma(a, b, c)`` = a·b + c rounded once.

Compiled matrix products here accumulate each entry as the chain ``acc = fma(a_k, b_k, acc)``
over k in increasing order, from acc = 0. That is how OpenBLAS's double-precision kernels for
x86-64 with FMA (Haswell and later) compute a product's entries, so on such a machine the
compiled products give numpy's ``@`` bit for bit (``benchmarks/bench_work.py`` checks it);
elsewhere they are an equally exact product with its own last-bit rounding. numba has no FMA
of its own (and does not contract a·b + c without fastmath), so this is LLVM's ``llvm.fma``.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["fma"]


@intrinsic
def fma(typingctx, a, b, c):  # pragma: no cover - compiled
    """a·b + c with one rounding, for float64 arguments inside compiled functions."""
    if not all(isinstance(x, types.Float) and x.bitwidth == 64 for x in (a, b, c)):
        return None
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        double = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(double, [double] * 3), "llvm.fma.f64")
        return builder.call(fn, args)

    return sig, codegen

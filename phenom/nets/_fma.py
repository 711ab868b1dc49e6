"""A fused multiply-add for compiled loops (numba): ``fma(a, b, c)`` = a·b + c rounded once.

Compiled matrix products here accumulate each entry as the chain ``acc = fma(a_k, b_k, acc)``
over k in increasing order, from acc = 0. That is how OpenBLAS's kernels for x86-64 with FMA
(Haswell and later) compute the entries of small products (the linear-attention layers' in
float64, the attention network's products with two vectors in float32), so on such a machine
the compiled products give numpy's ``@`` bit for bit (the tests and ``benchmarks/bench_work.py``
check it); elsewhere they are an equally exact product with its own last-bit rounding. numba has no FMA
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
    """a·b + c with one rounding, inside compiled functions, for three float64 or three float32
    arguments (LLVM's ``llvm.fma.f64`` or ``llvm.fma.f32``)."""
    if not (isinstance(a, types.Float) and a == b == c and a.bitwidth in (32, 64)):
        return None
    sig = a(a, a, a)

    def codegen(context, builder, signature, args):
        kind = ir.DoubleType() if a.bitwidth == 64 else ir.FloatType()
        name = f"llvm.fma.f{a.bitwidth}"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(kind, [kind] * 3), name)
        return builder.call(fn, args)

    return sig, codegen

"""Fused scalar kernels of the β, α, ξ model, generated from its sympy derivation and compiled.

The numeric functions of :mod:`phenom.induction.model` are numpy ufunc pipelines: right for arrays,
costly for the one point at a time an ODE solver asks for (each stable softmax primitive is a
Python call that allocates arrays). Here the same stable derivation (:func:`phenom.induction.derivation.derive`
with ``stable=True``, symbolic N and L) is reduced by common-subexpression elimination and printed
as straight-line scalar Python: every log-sum-exp primitive of :mod:`phenom.induction._softmax` is printed
as a call to a small scalar helper with the same branches as its numpy implementation (``log1p``
when every gap is ≤ 0, the largest exponential factored out otherwise; a zero count is an empty
group). The source is compiled with numba, which inlines the helpers, so the kernels are fused
loops of floating-point operations with no Python in between. The derivation stays the single
source: nothing here is typed in by hand but the three primitives.

- :func:`source`: the generated Python source (readable; printed by ``python -m phenom.induction.kernels``).
- :func:`compiled`: the compiled kernels ``loss_grad(β, α, ξ, N, L, out)`` (out[0] = loss,
  out[1:4] = gradient) and ``hessian(β, α, ξ, N, L, out)`` (out: 3 × 3), scalar in and out.
- :func:`flow_module`: those kernels and the integrator of ``phenom/induction/_dopri.py`` as one module,
  written to the cache folder (:func:`phenom._cache.cache_dir`) and compiled with numba's on-disk
  cache: the first process on a machine compiles (seconds), later ones load the machine code.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from phenom import _cache, _io
from phenom.induction.derivation import L_sym, N_sym, derive

__all__ = ["source", "compiled", "HELPERS"]

HELPERS = """
def _nll1(d1, m1):
    if m1 <= 0.0:
        return 0.0
    if d1 > 0.0:
        return d1 + math.log(math.exp(-d1) + m1)
    return math.log1p(m1 * math.exp(d1))


def _nll2(d1, d2, m1, m2):
    live1, live2 = m1 > 0.0, m2 > 0.0
    shift = 0.0
    if live1 and d1 > shift:
        shift = d1
    if live2 and d2 > shift:
        shift = d2
    if shift > 0.0:
        total = math.exp(-shift)
        if live1:
            total += m1 * math.exp(d1 - shift)
        if live2:
            total += m2 * math.exp(d2 - shift)
        return shift + math.log(total)
    total = 0.0
    if live1:
        total += m1 * math.exp(d1)
    if live2:
        total += m2 * math.exp(d2)
    return math.log1p(total)


def _p1(j, F, d1, m1):
    return m1 * math.exp(d1 - F) if m1 > 0.0 else 0.0


def _p2(j, F, d1, d2, m1, m2):
    if j == 0:
        return m1 * math.exp(d1 - F) if m1 > 0.0 else 0.0
    return m2 * math.exp(d2 - F) if m2 > 0.0 else 0.0


def _pdiff(x_i, x_j, g):
    if g > 0.0:
        return -math.exp(x_i) * math.expm1(-g)
    return math.exp(x_j) * math.expm1(g)
"""
"""Scalar versions of :data:`phenom.induction._softmax.NUMPY_FUNCTIONS` (same branches, no arrays)."""


class _Printer(PythonCodePrinter):
    """Python with ``math``; the softmax primitives as calls to the scalar helpers."""

    def _print_SoftmaxNLL(self, e):
        k = len(e.args) // 2
        return f"_nll{k}({', '.join(self._print(a) for a in e.args)})"

    def _print_SoftmaxP(self, e):
        k = (len(e.args) - 2) // 2
        return f"_p{k}({', '.join(self._print(a) for a in e.args)})"

    def _print_ProbDifference(self, e):
        return f"_pdiff({', '.join(self._print(a) for a in e.args)})"


def _function(name: str, exprs: list, targets: list[str]) -> str:
    """``def name(beta, alpha, xi, N, L, out)``: the CSE of ``exprs`` written into ``out``."""
    printer = _Printer({"fully_qualified_modules": True})
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("s"))
    lines = [f"def {name}(beta, alpha, xi, N, L, out):"]
    lines += [f"    {symbol} = {printer.doprint(expr)}" for symbol, expr in replacements]
    lines += [f"    out[{target}] = {printer.doprint(expr)}" for target, expr in zip(targets, reduced, strict=False)]
    return "\n".join(lines)


@functools.cache
def source() -> str:
    """The generated module: the helpers, ``loss_grad`` and ``hessian`` of the general model.

    N and L stay symbolic, so one kernel serves every (N, L). Generating it (the stable
    derivation reduced by common-subexpression elimination) takes about a second of sympy, once
    per process.

    Returns
    -------
    str
        Python source: ``import math``, the log-sum-exp helpers of :data:`HELPERS`, then
        ``loss_grad(beta, alpha, xi, N, L, out)`` and ``hessian(beta, alpha, xi, N, L, out)``.

    Examples
    --------
    >>> from phenom.induction.kernels import source
    >>> text = source()
    >>> [line for line in text.splitlines() if line.startswith("def ") and not line.startswith("def _")]
    ['def loss_grad(beta, alpha, xi, N, L, out):', 'def hessian(beta, alpha, xi, N, L, out):']
    """
    d = derive(N_sym, L_sym, stable=True)
    loss_grad = _function("loss_grad", [d.loss, *d.grad], ["0", "1", "2", "3"])
    hessian = _function("hessian", list(d.hessian), [f"{i}, {j}" for i in range(3) for j in range(3)])
    return "import math\n" + HELPERS + "\n\n" + loss_grad + "\n\n\n" + hessian + "\n"


_JIT: dict[str, dict[str, object]] = {
    "_nll1": {"inline": "always"},
    "_nll2": {"inline": "always"},
    "_p1": {"inline": "always"},
    "_p2": {"inline": "always"},
    "_pdiff": {"inline": "always"},
    "loss_grad": {},
    "hessian": {},
    "rhs": {"inline": "always"},
    "rms": {"inline": "always"},
    "select_initial_step": {},
    "step_factor": {},
    "extension": {},
    "dense": {},
    "speed_change": {},
    "value": {},
    "root": {},
    "peak": {},
    "keep_point": {},
    "one": {},
    "member": {},
    "batch_serial": {"nogil": True},
    "batch": {"parallel": True},
    "evaluate": {},
}
"""Every function of the compiled module, with its numba options (all cached on disk)."""


def module_source() -> str:
    """The compiled module's text: :func:`source`, the RK45 coefficients, the integrator of
    ``phenom/induction/_dopri.py`` and the numba compilation of every function in :data:`_JIT`."""
    import numpy as np
    from scipy.integrate import RK45

    constants = "\n".join(
        f"{name} = np.array({np.asarray(v, float).tolist()!r})"
        for name, v in (("A", RK45.A), ("B", RK45.B), ("E", RK45.E), ("P", RK45.P))
    )
    dopri = (Path(__file__).parent / "_dopri.py").read_text()
    jit = "\n".join(
        f"{name} = numba.njit(cache=True{''.join(f', {k}={v!r}' for k, v in options.items())})({name})"
        for name, options in _JIT.items()
    )
    return (
        "import numba\nimport numpy as np\n"
        + source()
        + "\n\n"
        + constants
        + f"\n_STAGES = {RK45.n_stages}\n\n"
        + dopri
        + "\n\n"
        + jit
        + "\n"
    )


@functools.cache
def flow_module():
    """The compiled module (kernels and integrator), written once per content to the cache folder
    as ``phenom_flows_<hash>.py`` and imported from there; numba caches each function's machine
    code beside it, keyed by that file, so a new derivation or integrator gets a new file and a
    fresh compilation, and an unchanged one compiles once per machine."""
    import hashlib
    import importlib.util
    import sys

    text = module_source()
    name = "phenom_flows_" + hashlib.sha256(text.encode()).hexdigest()[:16]
    path = _cache.cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        _io.atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache finds the functions' module by name
    spec.loader.exec_module(module)
    return module


def compiled() -> dict:
    """The kernels of :func:`source`, compiled: ``{"loss_grad": …, "hessian": …}``.

    The first process on a machine compiles them (seconds); later ones load the machine code
    from numba's cache.

    Returns
    -------
    dict of str to callable
        ``loss_grad(β, α, ξ, N, L, out)`` writes the loss and the gradient into ``out`` (4,);
        ``hessian(β, α, ξ, N, L, out)`` writes the Hessian into ``out`` (3, 3). All arguments
        but ``out`` are floats.

    Examples
    --------
    At θ = 0 (N = 8, L = 32): the loss log 32, the force −A = −3/68 on ξ alone, and the one
    second-order coupling −B = −∂²loss/∂α∂ξ of :func:`phenom.induction.transition.closed_form_coefficients`.

    >>> import numpy as np
    >>> from phenom.induction.kernels import compiled
    >>> kernels = compiled()
    >>> out = np.empty(4)
    >>> kernels["loss_grad"](0.0, 0.0, 0.0, 8.0, 32.0, out)
    >>> round(float(out[0]), 6), round(float(out[3]), 6)
    (3.465736, -0.044118)
    >>> hessian = np.empty((3, 3))
    >>> kernels["hessian"](0.0, 0.0, 0.0, 8.0, 32.0, hessian)
    >>> round(float(hessian[1, 2]), 6), round(float(hessian[0, 1]), 6)
    (-0.006043, 0.0)
    """
    module = flow_module()
    return {"loss_grad": module.loss_grad, "hessian": module.hessian}


if __name__ == "__main__":
    print(source())

"""Refuse to start worker processes from a script's unguarded top level.

A pool of fresh ("spawn") worker processes imports the script that started it again in every
worker, as module ``__mp_main__`` (Python documentation, ``multiprocessing``, "Safe importing of
main module"). A script that calls :func:`phenom.figures.reproduce` at its top level, outside
``if __name__ == "__main__":``, would call it again in each worker, which would start workers of
its own: Python stops that with a traceback per worker and ``BrokenProcessPool`` in the parent.
:func:`require_main_guard` finds such a call before any worker is started, from the script's
source, and says so in one line; in a worker that re-imports such a script anyway, it exits with
that one line (no traceback).
"""

from __future__ import annotations

import ast
import multiprocessing
import sys
from pathlib import Path
from types import FrameType

__all__ = ["MainGuardError", "require_main_guard"]


class MainGuardError(RuntimeError):
    """A call that starts worker processes from a script's top level, outside its main guard."""


def _message(what: str, where: str) -> str:
    return (
        f"{what} was called at the top level of {where}, which every worker process imports again: "
        f'put the call under `if __name__ == "__main__":`'
    )


def _top_level_frame(module_name: str) -> FrameType | None:
    """The frame running module ``module_name``'s own top-level code, if it is on the stack."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == module_name:
            return frame
        frame = frame.f_back
    return None


def _is_main_test(test: ast.expr) -> bool:
    """Whether an ``if`` test is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = {n.id for n in sides if isinstance(n, ast.Name)}
    texts = {n.value for n in sides if isinstance(n, ast.Constant)}
    return names == {"__name__"} and texts == {"__main__"}


def _guarded_lines(source: str) -> list[tuple[int, int]]:
    """The line ranges of the bodies of ``if __name__ == "__main__":`` blocks."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.If) and _is_main_test(node.test):
            spans.append((node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno))
    return spans


def require_main_guard(what: str) -> None:
    """Raise :class:`MainGuardError` (before any worker is started) when ``what`` is being called
    from the top-level code of the main script, outside its ``if __name__ == "__main__":`` block;
    in a worker re-importing such a script, exit with that message instead."""
    if multiprocessing.current_process().name != "MainProcess" and _top_level_frame("__mp_main__") is not None:
        main = sys.modules.get("__mp_main__")
        raise SystemExit(_message(what, getattr(main, "__file__", "the main script")))
    frame = _top_level_frame("__main__")
    path = frame.f_globals.get("__file__") if frame is not None else None
    if frame is None or not path:  # no script (python -c, an interactive session): nothing is imported again
        return
    try:
        spans = _guarded_lines(Path(path).read_text())
    except (OSError, SyntaxError, ValueError):  # no readable source: the workers' own check remains
        return
    if not any(first <= frame.f_lineno <= last for first, last in spans):
        raise MainGuardError(_message(what, path))

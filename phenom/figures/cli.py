"""Command line (also ``python -m phenom``): one command per figure or family of figures, plus
``reproduce`` (every figure), ``draw`` (redraw from saved results) and ``check`` (the saved
figures' hashes, code versions and derived numbers: :mod:`phenom.figures.check`).

A thin layer over :mod:`phenom.figures.registry`: each figure command's options are generated from the
fields of its setting (:mod:`phenom.figures.settings`), so defaults, ranges and policy live there, and an
option given on the command line only overrides the field it names. Bad input prints one line
naming the argument and its range and exits with status 2; a run that fails after its input was
accepted prints one line naming the figure and the step that failed, and exits with status 1.
Neither shows a traceback. ``check`` prints one summary line and exits with 0 when everything
holds, else one line per problem and 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from phenom._version import __version__
from phenom.figures import settings
from phenom.figures.catalog import CATALOG, GROUPS

__all__ = ["main", "COMMANDS"]

COMMANDS: dict[str, tuple[str, list[str]]] = {
    **{name: (entry.about, [name]) for name, entry in CATALOG.items()},
    **GROUPS,
}
"""Command → (help, the figures it makes): one command per figure, named as the figure (the
hyphenated spelling is accepted too), and the groups."""


def _checker() -> ModuleType:
    """:mod:`phenom.figures.check`, imported once ``check`` runs (numpy and scipy, not the jobs,
    the plots or matplotlib)."""
    return importlib.import_module("phenom.figures.check")


def _registry() -> ModuleType:
    """:mod:`phenom.figures.registry`, imported once a command runs: it loads the numerical stack,
    the jobs and matplotlib, which ``phenom --help`` and bad options need not wait for."""
    return importlib.import_module("phenom.figures.registry")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(text: str) -> float | int:
    """A number as typed (an integer exactly, however long); ranges and integrality are checked
    by the setting, which names the field."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    return int(value) if value.is_integer() else value


def _fields(names: list[str]) -> tuple[list[dataclasses.Field], bool]:
    """The setting fields the figures ``names`` share (all of them for a single figure), and
    whether more than one setting shares them (a figure drawn from others' results has none)."""
    classes = [c for c in map(settings.setting_class, names) if dataclasses.fields(c)]
    if not classes:
        return [], False
    common = set.intersection(*({f.name for f in dataclasses.fields(c)} for c in classes))
    return [f for f in dataclasses.fields(classes[0]) if f.name in common], len(classes) > 1


def _add_option(p: argparse.ArgumentParser, f: dataclasses.Field, shared: bool) -> None:
    kind = f.metadata.get("kind")
    default = f.default
    text = f.metadata.get("help", "")
    text += " (default: each figure's own)" if shared else f" (default {_shown(default)})"
    flag = "--" + f.name.replace("_", "-")
    if isinstance(default, tuple):
        typ = str if kind is str else _number
        nargs = len(default) if f.name in ("theta0", "reference") else "*"
        metavar = {"theta0": ("BETA", "ALPHA", "XI"), "reference": ("N", "L")}.get(f.name, f.name.upper())
        p.add_argument(flag, dest=f.name, type=typ, nargs=nargs, default=None, help=text, metavar=metavar)
    elif isinstance(default, str) or kind is str:
        p.add_argument(flag, dest=f.name, type=str, default=None, help=text)
    else:
        p.add_argument(flag, dest=f.name, type=_number, default=None, help=text)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value) or "none"
    return "policy" if value is None else str(value)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="phenom", description="Phenomenological models of in-context learning.")
    parser.add_argument("--version", action="version", version=f"phenom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for command, (text, names) in COMMANDS.items():
        p = sub.add_parser(command, help=text, description=f"{text}. Writes {', '.join(names)}.")
        fields, shared = _fields(names)
        for f in fields:
            _add_option(p, f, shared)
        p.add_argument("--quick", action="store_true", help="start from the quick setting (shorter, fewer seeds)")
        p.add_argument("--out", default="figures", help="folder for the figures and their data (default figures/)")

    p = sub.add_parser("reproduce", help="make every figure of the README and its manifest.json")
    p.add_argument("--out", default=None, help="folder (default figures/, or figures/quick/ with --quick)")
    p.add_argument("--quick", action="store_true", help="coarser grids and shorter runs, same settings")
    p.add_argument("--only", nargs="+", metavar="FIGURE", help="make just these figures (names as in the manifest)")
    p.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="figures made side by side (default: one per core; 1: one after another)",
    )

    p = sub.add_parser("draw", help="redraw figures from their saved results, computing nothing")
    p.add_argument("names", nargs="*", metavar="FIGURE", help="figures to redraw (default: all with results in --out)")
    p.add_argument("--out", default="figures", help="folder holding the results (default figures/)")

    p = sub.add_parser(
        "check",
        help="check saved figures: file hashes, code versions, derived numbers recomputed from the raw data",
        description="For every figure in OUT/manifest.json: its files against their recorded sha256, the code "
        "that computed and drew it against today's, and every derived number of its JSON recomputed from the "
        "raw data saved beside it. One line when all hold (exit 0), else one line per problem (exit 1).",
    )
    p.add_argument("--out", default="figures", help="folder holding the figures and manifest.json (default figures/)")
    return parser


def _workers(text: str) -> int:
    """--workers: an integer from 1 to 64 (argparse turns the error into one line)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 64, got {text!r}") from None
    if not (value.is_integer() and 1 <= value <= 64):
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 64, got {text!r}")
    return int(value)


def _settings(args: argparse.Namespace) -> list[tuple[str, settings.Setting]]:
    """The command's figures and their settings: defaults, overridden by the options given.
    Every setting is built (and so checked) before any work starts."""
    names = COMMANDS[args.command][1]
    made = []
    for name in names:
        cls = settings.setting_class(name)
        setting = cls().quick() if args.quick else cls()
        own = {f.name for f in dataclasses.fields(cls)}
        given = {k: v for k, v in vars(args).items() if k in own and v is not None}
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
        made.append((name, setting.replace(**given) if given else setting))
    return made


def _run(args: argparse.Namespace) -> None:
    figures = _registry()
    if args.out == "":
        args.out = "."
        print(f"phenom {args.command}: --out is empty: writing to the current folder ({Path.cwd()})", file=sys.stderr)

    if args.command == "reproduce":
        figures.reproduce(args.out, quick=args.quick, only=args.only, workers=args.workers)
    elif args.command == "draw":
        figures.draw(args.names or None, args.out)
    else:
        for name, setting in _settings(args):
            entry = figures.make(name, setting, args.out)
            for f in entry["files"]:
                print(f"wrote {Path(args.out) / f}")


def _spelled(argv: list[str]) -> list[str]:
    """``argv`` with a figure command spelled with hyphens (induction-flow) as it is listed."""
    if argv and argv[0] not in COMMANDS and argv[0].replace("-", "_") in COMMANDS:
        return [argv[0].replace("-", "_"), *argv[1:]]
    return argv


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: this process's); return the exit status.

    Parameters
    ----------
    argv : list of str or None, default None
        The arguments after the program's name, e.g. ``["phase", "--quick"]``; None: ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success (for ``check``: everything holds); 1 when a run failed after its input was
        accepted (for ``check``: a problem was found); 2 for bad input, printed as one line on
        stderr; 130 when interrupted.

    Examples
    --------
    >>> from phenom.figures.cli import main
    >>> import contextlib, io, tempfile
    >>> out = tempfile.mkdtemp()
    >>> with contextlib.redirect_stdout(io.StringIO()) as printed:
    ...     status = main(["induction-flow", "--samples", "200", "--compare-L", "16", "--out", out])
    >>> status, printed.getvalue().count("wrote")
    (0, 3)
    >>> with contextlib.redirect_stdout(io.StringIO()) as printed:
    ...     status = main(["check", "--out", out])
    >>> status, printed.getvalue().startswith("1 figure checked: hashes, code versions and")
    (0, True)
    """
    try:
        args = _parser().parse_args(_spelled(sys.argv[1:] if argv is None else list(argv)))
    except SystemExit as done:  # argparse has printed its one line (or the help, or the version)
        return int(done.code or 0)
    if args.command == "check":
        return _check(args.out)
    try:
        _run(args)
    except ValueError as err:  # bad input: the message names the argument and its range
        print(f"phenom {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (_registry().FigureError, OSError, MemoryError) as err:  # the run itself failed
        print(f"phenom {args.command}: failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"phenom {args.command}: interrupted; figures already written are complete", file=sys.stderr)
        return 130
    return 0


def _check(out: str) -> int:
    """``phenom check``: the summary line (0), or one line per problem (1); a folder that is not
    one of saved figures is bad input (2), an unreadable manifest a failure (1)."""
    try:
        report = _checker().check(out)
    except ValueError as err:
        print(f"phenom check: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"phenom check: failed: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("phenom check: interrupted", file=sys.stderr)
        return 130
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Command line (also ``python -m phenom``): one command per figure or family of figures, plus
``reproduce`` (every figure) and ``draw`` (redraw from saved results).

A thin layer over :mod:`phenom.figures.registry`: each figure command's options are generated from the
fields of its setting (:mod:`phenom.figures.settings`), so defaults, ranges and policy live there, and an
option given on the command line only overrides the field it names. Bad input prints one line
naming the argument and its range and exits with status 2; a run that fails after its input was
accepted prints one line naming the figure and the step that failed, and exits with status 1.
Neither shows a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from phenom import __version__

__all__ = ["main", "COMMANDS"]

COMMANDS = {
    "flow": ("gradient flow of the beta, alpha, xi model: loss, parameters, accuracy", ["induction_flow"]),
    "landscape": ("loss slices through the cliff with the flow's path", ["induction_landscape"]),
    "phase": ("the flow's transition time over N and L, the start and the GD rate, against its asymptotic formula",
              ["phase"]),
    "minimal": ("the exact minimal network against the mean-field model", ["minimal_vs_mean_field"]),
    "train": ("train the two-layer attention network, with L = N controls", ["network_training"]),
    "ablate": ("train (or reuse the identical run) and remove each attention head", ["network_ablation"]),
    "heads": ("Olsson's induction-head scores through training against ICL accuracy (reuses the training run)",
              ["induction_heads"]),
    "data": ("in-context vs in-weights learning against burstiness, classes, noise and Zipf exponent (a resumable "
             "sweep)", ["data_dependence"]),
    "compare": ("flow and trained networks on shared axes, steps mapped to flow time", ["compare"]),
    "scaling": ("the network's transition step against both models' over N and L (a resumable sweep)", ["scaling"]),
    "growth": ("the network's effective beta, alpha, xi against the time-scale model's flow", ["growth"]),
    "lsa": ("linear attention as preconditioned GD: all five figures, with the options they share",
            ["lsa_landscape", "lsa_learning_curves", "lsa_preconditioner", "lsa_depth", "lsa_summary"]),
    "lsa-landscape": ("risk landscape of one preconditioned GD step, with both flows", ["lsa_landscape"]),
    "lsa-curves": ("the factored flow against the one-layer network trained by SGD", ["lsa_learning_curves"]),
    "lsa-preconditioner": ("the trained network's preconditioner against the optimal one", ["lsa_preconditioner"]),
    "lsa-depth": ("K-layer networks against K steps of GD and PGD", ["lsa_depth"]),
}
"""Command → (help, the figures it makes)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(text: str) -> float | int:
    """A number as typed; ranges and integrality are checked by the setting, which names the field."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    return int(value) if value.is_integer() else value


def _fields(names: list[str]) -> tuple[list[dataclasses.Field], bool]:
    """The setting fields the figures ``names`` share (all of them for a single figure), and
    whether more than one setting shares them."""
    from phenom.figures.registry import FIGURES
    from phenom.figures.settings import SummarySetting

    classes = [FIGURES[n].setting for n in names if FIGURES[n].setting is not SummarySetting]
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


def _shown(value) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value) or "none"
    return "policy" if value is None else str(value)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="phenom", description="Phenomenological models of in-context learning.")
    parser.add_argument("--version", action="version", version=f"phenom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    p.add_argument("--workers", type=_workers, default=None,
                   help="figures made side by side (default: one per core; 1: one after another)")

    p = sub.add_parser("draw", help="redraw figures from their saved results, computing nothing")
    p.add_argument("names", nargs="*", metavar="FIGURE", help="figures to redraw (default: all with results in --out)")
    p.add_argument("--out", default="figures", help="folder holding the results (default figures/)")
    return parser


def _workers(text: str) -> int:
    """--workers: an integer from 1 to 64 (argparse turns the ValueError into a one-line error)."""
    from phenom import _validate

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 64, got {text!r}") from None
    if not (value.is_integer() and 1 <= value <= 64):
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 64, got {text!r}")
    return _validate.count("workers", value)


def _settings(args: argparse.Namespace) -> list:
    """The command's figures and their settings: defaults, overridden by the options given.
    Every setting is built (and so checked) before any work starts."""
    from phenom.figures.registry import FIGURES, default_setting

    names = COMMANDS[args.command][1]
    made = []
    for name in names:
        setting = default_setting(name, quick=args.quick)
        own = {f.name for f in dataclasses.fields(FIGURES[name].setting)}
        given = {k: v for k, v in vars(args).items() if k in own and v is not None}
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
        made.append((name, setting.replace(**given) if given else setting))
    return made


def _run(args: argparse.Namespace) -> None:
    from phenom.figures import registry as figures

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


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as done:  # argparse has printed its one line (or the help, or the version)
        return int(done.code or 0)
    from phenom.figures.registry import FigureError

    try:
        _run(args)
    except ValueError as err:  # bad input: the message names the argument and its range
        print(f"phenom {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (FigureError, OSError, MemoryError) as err:  # the run itself failed
        print(f"phenom {args.command}: failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"phenom {args.command}: interrupted; figures already written are complete", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Command line: ``phenom flow | landscape | lsa | reproduce`` (also ``python -m phenom``).

A thin layer over :mod:`phenom.reproduce`: parse, call the job, print what was written. Bad input
prints one line naming the argument and exits with status 2; there is never a traceback for it.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(text: str) -> float | int:
    """A number as typed; ranges and integrality are checked by the API, which names the argument."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    return int(value) if value.is_integer() else value


def _flow_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--N", type=_number, default=8, help="item-label pairs in context, integer >= 1 (default 8)")
    p.add_argument("--L", type=_number, default=32, help="labels, integer >= N (default 32)")
    p.add_argument("--lr", type=_number, default=1.0, help="learning rate of the flow, > 0 (default 1)")
    p.add_argument("--t-max", type=_number, default=300.0, help="flow time to integrate to, > 0 (default 300)")
    p.add_argument(
        "--theta0", type=_number, nargs=3, default=[0.0, 0.0, 0.0], metavar=("BETA", "ALPHA", "XI"),
        help="initial parameters (default 0 0 0)",
    )
    p.add_argument("--out", default="figures", help="folder for the PNG and its data (default figures/)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="phenom", description="Phenomenological models of in-context learning.")
    parser.add_argument("--version", action="version", version=f"phenom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("flow", help="gradient flow of the beta, alpha, xi model: loss, parameters, accuracy")
    _flow_options(p)
    p.add_argument("--compare-L", type=_number, nargs="*", default=[], help="more L values for the accuracy panel")
    p.add_argument("--name", default="flow", help="file stem (default flow)")

    p = sub.add_parser("landscape", help="loss slices through the cliff with the flow's path")
    _flow_options(p)
    p.add_argument("--grid", type=_number, default=201, help="grid points per axis, 2 to 2001 (default 201)")
    p.add_argument("--name", default="landscape", help="file stem (default landscape)")

    p = sub.add_parser("lsa", help="linear attention as preconditioned GD: landscape, curves, preconditioner, depth")
    p.add_argument("--d", type=_number, default=5, help="input dimension, integer >= 1 (default 5)")
    p.add_argument("--N", type=_number, default=20, help="context pairs, integer >= 1 (default 20)")
    p.add_argument("--noise", type=_number, default=0.0, help="label-noise variance, >= 0 (default 0)")
    p.add_argument("--quick", action="store_true", help="shorter training, fewer seeds and depths")
    p.add_argument("--out", default="figures", help="folder for the PNGs and their data (default figures/)")

    for command, text in (("train", "train the two-layer attention network: history and progress-measure figure"),
                          ("ablate", "train (or reuse an identical run) and remove each attention head")):
        p = sub.add_parser(command, help=text)
        p.add_argument("--task", default="copy", help="copy or classify (default copy)")
        p.add_argument("--N", type=_number, default=8, help="item-label pairs, 1 to 32 (default 8)")
        p.add_argument("--L", type=_number, default=32, help="labels, integer >= N (default 32)")
        p.add_argument("--D", type=_number, default=63, help="content dimension, integer >= L (default 63)")
        p.add_argument("--eps", type=_number, default=0.1, help="within-class noise, >= 0 (default 0.1)")
        p.add_argument("--K", type=_number, default=256, help="classify: classes, a multiple of L (default 256)")
        p.add_argument("--B", type=_number, default=1, help="classify: burstiness, divides N, 0 = i.i.d. (default 1)")
        p.add_argument("--zipf", type=_number, default=0.0, help="classify: rank-frequency exponent a (default 0)")
        p.add_argument("--p-B", type=_number, default=1.0, help="classify: fraction of bursty sequences (default 1)")
        p.add_argument("--p-C", type=_number, default=0.0, help="classify: fraction with novel classes (default 0)")
        p.add_argument("--steps", type=_number, default=2000, help="training steps (default 2000)")
        p.add_argument("--lr", type=_number, default=None, help="learning rate (default 0.5 for sgd, 0.001 for adam)")
        p.add_argument("--optimizer", default=None,
                       help="sgd or adam (default sgd with the linear read-out, adam with mlp: under plain SGD "
                            "at a useful rate the MLP's ReLU units die)")
        p.add_argument("--classifier", default="linear", help="linear or mlp (default linear)")
        p.add_argument("--batch-size", type=_number, default=128, help="sequences per step (default 128)")
        p.add_argument("--seed", type=_number, default=0, help="seed of initialisation and data (default 0)")
        p.add_argument("--out", default="figures", help="folder for the results (default figures/)")
        p.add_argument("--name", default=command, help=f"file stem (default {command})")
        if command == "train":
            p.add_argument("--controls", type=_number, default=0, help="also train this many L = N runs (default 0)")

    p = sub.add_parser("compare", help="flow and trained networks on shared axes, steps mapped to flow time")
    p.add_argument("--N", type=_number, default=8, help="item-label pairs, 1 to 32 (default 8)")
    p.add_argument("--L", type=_number, default=32, help="labels, integer > N (default 32)")
    p.add_argument("--seeds", type=_number, nargs="+", default=[0, 1, 2], help="network seeds (default 0 1 2)")
    p.add_argument("--D", type=_number, default=63, help="content dimension, integer >= L (default 63)")
    p.add_argument("--eps", type=_number, default=0.1, help="within-class noise (default 0.1)")
    p.add_argument("--lr", type=_number, default=0.5, help="SGD learning rate (default 0.5)")
    p.add_argument("--steps", type=_number, default=2000, help="training steps (default 2000)")
    p.add_argument("--out", default="figures", help="folder (default figures/)")
    p.add_argument("--name", default="compare", help="file stem (default compare)")

    p = sub.add_parser("reproduce", help="regenerate every figure of the README and figures/manifest.json")
    p.add_argument("--out", default=None, help="folder (default figures/, or figures/quick/ with --quick)")
    p.add_argument("--quick", action="store_true", help="coarser grids and shorter runs, same settings")
    p.add_argument("--only", nargs="+", metavar="FIGURE", help="regenerate just these figures (names as in the manifest)")
    return parser


def _run(args: argparse.Namespace) -> None:
    from . import _validate
    from .jobs import induction, lsa
    from .reproduce import reproduce

    common = lambda: dict(N=args.N, L=args.L, lr=args.lr, t_max=args.t_max, theta0=args.theta0)  # noqa: E731
    if args.command == "flow":
        entries = [induction.flow_job(args.out, **common(), compare_L=args.compare_L, name=args.name)]
    elif args.command == "landscape":
        grid = _validate.count("grid", args.grid, minimum=2)
        if grid > 2001:
            raise ValueError(f"grid must be an integer from 2 to 2001, got {grid}")
        entries = [induction.landscape_job(args.out, **common(), n=grid, name=args.name)]
    elif args.command in ("train", "ablate"):
        from .jobs import network

        optimizer = args.optimizer or ("adam" if args.classifier == "mlp" else "sgd")
        lr = args.lr if args.lr is not None else (1e-3 if optimizer == "adam" else 0.5)
        settings = dict(N=args.N, L=args.L, D=args.D, eps=args.eps, steps=args.steps, lr=lr,
                        optimizer=optimizer, classifier=args.classifier, batch_size=args.batch_size)
        if args.task == "classify":
            settings.update(K=args.K, B=args.B, a=args.zipf, p_B=args.p_B, p_C=args.p_C)
        network.make_task(args.task, **settings)  # check before any work
        seed = _validate.count("seed", args.seed, minimum=0)
        if args.command == "train":
            controls = _validate.count("controls", args.controls, minimum=0)
            entries = [network.train_job(args.out, task=args.task, seed=seed, controls=controls, name=args.name, **settings)]
        else:
            entries = [network.ablate_job(args.out, task=args.task, seed=seed, name=args.name, **settings)]
    elif args.command == "compare":
        from .jobs import compare
        from .tasks import CopyingTask

        CopyingTask(N=args.N, L=args.L, D=args.D, eps=args.eps)  # check before any work
        steps = _validate.count("steps", args.steps)
        lr = _validate.positive("lr", args.lr)
        entries = [compare.compare_job(args.out, N=args.N, L=args.L, seeds=args.seeds, D=args.D, eps=args.eps,
                                       lr=lr, steps=steps, name=args.name)]
    elif args.command == "lsa":
        lsa.make_task(args.d, args.N, args.noise)  # check the arguments before any work
        entries = [job() for job in lsa.lsa_jobs(args.out, d=args.d, N=args.N, noise=args.noise, quick=args.quick).values()]
    else:
        reproduce(args.out, quick=args.quick, only=args.only)
        return
    for entry in entries:
        for f in entry["files"]:
            print(f"wrote {args.out.rstrip('/')}/{f}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except ValueError as err:  # bad input: the message names the argument and its range
        print(f"phenom {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError, MemoryError) as err:  # the run itself failed
        print(f"phenom {args.command}: failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"phenom {args.command}: interrupted; files already written are complete", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The argument parser and the entry point of `s2s` (and `python -m s2s`): usage
errors exit 2 with a message; only an internal error prints a traceback."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Any, Sequence

import numpy as np

from .. import cache
from ..backends import BACKENDS
from ..errors import InternalError, S2SError
from ..frontend import (
    STDIN,
    sources,
)
from ..pipeline import MODES
from ..version import VERSION
from .commands import DUMPS, cmd_cache, cmd_check, cmd_generate, cmd_graph, cmd_show
from .modules import DEFAULT_OUTPUT, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, RULES_HELP
from .targets import parse_checkpoint, split_target


def _seed(text: str) -> int:
    """A --seed: numpy's generators take non-negative integers."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return seed


def _add_targets(p: argparse.ArgumentParser, dest: str) -> None:
    p.add_argument(
        dest,
        nargs="+" if dest == "targets" else None,
        metavar="PATH.py[:FUNC]",
        help="a function, or a file for its functions decorated with @s2s.grad",
    )
    p.add_argument(
        "--wrt",
        help="parameters to differentiate, e.g. a,b (default: the decorator's wrt "
        "for a function decorated with @s2s.grad, else the first; a, for a tuple of "
        "one)",
    )
    p.add_argument("--rules", action="append", default=[], help=RULES_HELP)
    _add_stdin_filename(p)


def _add_stdin_filename(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stdin-filename",
        metavar="PATH.py",
        help="the name of the file read from standard input (-), for messages, "
        "headers and module names",
    )


def _add_verbosity(p: argparse.ArgumentParser) -> None:
    """-q and -v, as in black: -q leaves errors only, -v adds what did not change."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only (and any diff)"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also say which modules are up to date",
    )


#: What each --mode generates.
MODE_HELP = {
    "grad": "the gradient: FUNC_grad and FUNC_value_and_grad (the default)",
    "jvp": "forward mode: FUNC_jvp(params..., tangents...) -> (value, derivative)",
    "vjp": "FUNC_vjp(params..., dFUNC) -> (value, cotangents), any result shape",
    "hvp": "Hessian-vector product: FUNC_hvp(params..., tangents...)",
}


def _add_mode(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mode",
        choices=list(MODES),
        default="grad",
        help="what to generate: "
        + "; ".join(f"{k}: {v}" for k, v in MODE_HELP.items())
        + ".  Modules other than the gradient are named FILE_FUNC_MODE.py",
    )


def _add_has_aux(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--has-aux",
        action="store_true",
        help="the function returns (value, aux): FUNC_grad returns (grads, aux) and "
        "FUNC_value_and_grad ((value, aux), grads), aux passed on as it is (default: "
        "the decorator's has_aux for a function decorated with @s2s.grad)",
    )


def _add_backend(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default="numpy",
        help="what the generated code runs on: "
        + "; ".join(f"{b.name}: {b.summary}" for b in BACKENDS.values()),
    )


def _add_checkpoint(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        metavar="K",
        type=parse_checkpoint,
        help="keep at most K loop states per loop for the reverse sweep, which "
        "recomputes the other iterations (binomial checkpointing); 'auto' chooses K "
        "from the trip count",
    )


def _add_generate(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="write gradient modules to a directory",
        description="Write one gradient module per function.  PATH.py:FUNC names a "
        "function; PATH.py alone means every function in it decorated with "
        "@s2s.grad (with the decorator's wrt and has_aux).  Files are read, never "
        "run.",
    )
    _add_targets(p, "targets")
    _add_mode(p)
    _add_has_aux(p)
    _add_backend(p)
    _add_checkpoint(p)
    p.add_argument(
        "-o", "--output", default=DEFAULT_OUTPUT, help="directory (default: generated)"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; say which modules would change, and exit 1 if any would",
    )
    p.add_argument(
        "--diff",
        action="store_true",
        help="write nothing; print a diff of each module that would change (exit 0 "
        "unless --check is given too)",
    )
    p.add_argument(
        "--skip-undecorated",
        action="store_true",
        help="pass over a PATH.py with no decorated function instead of failing "
        "(for pre-commit, which passes every changed file)",
    )
    _add_verbosity(p)
    p.set_defaults(run=cmd_generate)


def _add_show(sub: Any) -> None:
    p = sub.add_parser(
        "show",
        help="print a generated module, or a stage of the pipeline",
        description="Print what s2s generate would write, or with --dump a stage: "
        + "; ".join(f"{k}: {v}" for k, v in DUMPS.items())
        + ".",
    )
    _add_targets(p, "targets")
    _add_mode(p)
    _add_has_aux(p)
    _add_backend(p)
    _add_checkpoint(p)
    p.add_argument(
        "--dump",
        choices=list(DUMPS),
        default="module",
        help="what to print: " + "; ".join(f"{k}: {v}" for k, v in DUMPS.items()),
    )
    p.set_defaults(run=cmd_show)


def _add_check(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="compare a gradient with central differences",
        description="Run the gradient s2s generates and compare it with central "
        "differences of the function (float64), reporting the worst element of each "
        "gradient; exit 1 on a mismatch.  Parameters not given with --at take their "
        "default, else standard normal values (seeded) of the shape given by --shape.  "
        "Only the function and the helpers it calls run, never the rest of the file.",
    )
    _add_targets(p, "target")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="print mismatches and errors only"
    )
    p.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="NAME=VALUE,...",
        help="values, e.g. a=5,b=3 or x=[1,2.5]",
    )
    p.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=DIMS,...",
        help="shapes of random inputs, e.g. W=3x4,b=4 (W=() for 0-d)",
    )
    p.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="for the random inputs (default 0)",
    )
    p.set_defaults(run=cmd_check)


def _add_cache(sub: Any) -> None:
    p = sub.add_parser(
        "cache",
        help="show or empty the import-time cache",
        description=f"The cache of gradients made by @s2s.grad: ${cache.DIR_VARIABLE} "
        f"or the platform's user cache directory; ${cache.SWITCH_VARIABLE}=0 turns it "
        f"off, and ${cache.SIZE_VARIABLE} caps its size (default "
        f"{cache.format_size(cache.DEFAULT_SIZE)}; least recently used entries go "
        "first).",
    )
    p.add_argument("action", choices=["info", "clear"])
    p.set_defaults(run=cmd_cache)


def _add_graph(sub: Any) -> None:
    p = sub.add_parser(
        "graph",
        help="draw the computation graph, with values and adjoints",
        description="Draw the SSA graph of a function as DOT text, or with -o as SVG, "
        "PNG or PDF (those need Graphviz's dot program).  Given inputs with --at, "
        "every node also shows its value and its adjoint dFUNC/dnode.  The file is "
        "read, never run.",
    )
    p.add_argument("target", metavar="PATH.py:FUNC")
    p.add_argument(
        "--at",
        action="append",
        metavar="VALUES",
        help="inputs, e.g. a=5,b=3,c=2 or 'w=[1,2]' (arrays: nested lists or .npy)",
    )
    p.add_argument("--wrt", help="inputs the adjoints are taken with respect to")
    p.add_argument("--rules", action="append", default=[], help=RULES_HELP)
    _add_stdin_filename(p)
    p.add_argument(
        "-o", "--output", help="out.svg, out.png, out.pdf or out.dot (default: DOT)"
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="do not say which file was written"
    )
    p.set_defaults(run=cmd_graph)


class _Parser(argparse.ArgumentParser):
    """argparse, reading `-:FUNC` (a function of the file on standard input) as a
    target rather than as an unknown option."""

    def _parse_optional(self, arg_string: str) -> Any:
        if arg_string.startswith(STDIN + ":"):
            return None
        return super()._parse_optional(arg_string)


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="s2s",
        description="Source-to-source automatic differentiation for Python + numpy.",
        epilog="Exit codes: 0 ok, 1 stale or mismatch, 2 usage or input error, "
        "3 internal error (a bug in s2s).",
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub)
    _add_show(sub)
    _add_check(sub)
    _add_graph(sub)
    _add_cache(sub)
    return p


def _version() -> str:
    import platform

    return f"s2s {VERSION} (numpy {np.__version__}, Python {platform.python_version()})"


def _refuse_two_stdin_readers(args: argparse.Namespace) -> None:
    """Standard input holds one file: `-` may name the model or the rules, once."""
    specs = getattr(args, "targets", None) or [getattr(args, "target", "")]
    paths = [split_target(spec)[0] for spec in specs if spec]
    if paths.count(STDIN) + getattr(args, "rules", []).count(STDIN) > 1:
        raise S2SError(
            "standard input (-) is named more than once, and holds one file",
            hint="Pass - for one file (the model or the --rules), and paths for the "
            "others.",
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    sources.stdin = sources.StandardInput(
        getattr(args, "stdin_filename", None) or "<stdin>"
    )
    try:
        _refuse_two_stdin_readers(args)
        return args.run(args)
    except InternalError as e:
        if e.__cause__ is not None:
            traceback.print_exception(e.__cause__)
        print(f"s2s: internal error: {e}", file=sys.stderr)
        return EXIT_INTERNAL
    except S2SError as e:
        print(f"s2s: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("s2s: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `s2s show ... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception:  # a bug in s2s: show the traceback, said as such
        traceback.print_exc()
        print(
            "s2s: internal error: this is a bug in s2s; please report it with the "
            "command and the file.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL

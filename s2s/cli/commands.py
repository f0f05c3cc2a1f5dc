"""The subcommands: `generate` writes gradient modules (or reports them stale, as
black does), `show` prints one or a stage of the pipeline, `check` compares a
gradient with central differences, `graph` draws the computation graph, `cache`
looks after the import-time cache."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from dataclasses import replace
from typing import Any, Callable, Sequence

import numpy as np

from .. import arguments, cache
from ..errors import GradientMismatchError, InternalError, S2SError
from ..files import read_text
from ..frontend import (
    STDIN,
    parse_file,
    shown_path,
)
from ..pipeline import generate
from .modules import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_STALE,
    content_key,
    load_rules,
    output_path,
    render,
)
from .targets import (
    Target,
    checkpointed,
    parse_wrt,
    refuse_aux_in_mode,
    split_target,
    targets,
)


def cmd_generate(args: argparse.Namespace) -> int:
    """Write every target it can (with --check or --diff, write nothing: report what
    would change, as black does); a target that fails is reported and the others
    still written, and the exit code is then 2."""
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise S2SError(
            f"cannot write into {args.output}: it is a file, not a directory",
            hint="Name a directory with -o (it is created if missing).",
        )
    paths = [split_target(spec)[0] for spec in args.targets]
    if STDIN in paths and args.stdin_filename is None:
        raise S2SError(
            "generate names its modules after the file, and standard input has no name",
            hint="Pass the file's path with --stdin-filename PATH.py "
            "(e.g. s2s generate - --stdin-filename model.py --check < model.py).",
        )
    refuse_aux_in_mode(args.mode, args.has_aux)
    load_rules(args.rules)
    chosen, failed = [], 0
    for spec in args.targets:
        try:
            found = targets(
                [spec], args.wrt, args.mode, args.skip_undecorated, args.has_aux
            )
            found = [replace(t, backend=args.backend) for t in found]
            chosen.extend(checkpointed(found, args.checkpoint))
        except InternalError:
            raise
        except S2SError as e:
            failed += _report(e)
    spec_failures = failed
    outputs = [output_path(args.output, t) for t in chosen]
    for i, out in enumerate(outputs):
        if out in outputs[:i]:
            raise S2SError(
                f"two targets would both be written to {out}",
                hint="Generate them into different directories with -o.",
            )
    stale = 0
    for target, out in zip(chosen, outputs):
        try:
            stale += _generate_one(target, out, args)
        except InternalError:
            raise
        except S2SError as e:
            failed += _report(e)
    dry = args.check or args.diff
    if stale and dry and not args.quiet:
        shown = "" if args.diff else "; --diff shows the changes"
        print(
            f"{stale} generated module(s) out of date{shown}; the same command "
            "without --check/--diff writes them",
            file=sys.stderr,
        )
    if failed:
        done = "checked" if dry else "up to date"
        print(
            f"s2s: {failed} of {spec_failures + len(chosen)} target(s) failed; the "
            f"other modules are {done}",
            file=sys.stderr,
        )
        return EXIT_INPUT
    return EXIT_STALE if stale and args.check else EXIT_OK


def _report(error: S2SError) -> int:
    print(f"s2s: error: {error}", file=sys.stderr)
    return 1


def _status(args: argparse.Namespace, message: str, verbose: bool = False) -> None:
    """A line about one module on stderr: none with -q; with `verbose`, only with -v."""
    if not args.quiet and (args.verbose or not verbose):
        print(message, file=sys.stderr)


def _generate_one(target: Target, out: str, args: argparse.Namespace) -> int:
    """Write the module of `target` to `out` (with --check or --diff, say that it
    would change, and with --diff how); 1 when it is stale, else 0."""
    text = render(target, args.output, args.rules)
    old = _read_or_none(out)
    if old == text:
        _status(args, f"{out} is up to date", verbose=True)
        return 0
    if old is not None and cache.read_stamp(old) is None:
        raise S2SError(
            f"{out} exists and was not written by s2s generate (it has no s2s "
            f"header), so it is left as it is",
            hint="Write the modules elsewhere with -o DIR, or delete the file.",
        )
    if args.check or args.diff:
        _status(args, f"would {'update' if old is not None else 'create'} {out}")
        if args.diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    (old or "").splitlines(True),
                    text.splitlines(True),
                    out if old is not None else "/dev/null",
                    out,
                )
            )
        return 1
    try:
        os.makedirs(args.output, exist_ok=True)
        cache.write_atomic(out, text)
    except OSError as e:
        raise S2SError(f"cannot write {out}: {e.strerror or e}") from None
    _status(args, f"wrote {out}")
    return 0


def _read_or_none(path: str) -> str | None:
    try:
        return read_text(path)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise S2SError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}")


#: What `s2s show --dump` prints.
DUMPS = {
    "module": "the module as s2s generate writes it (the default)",
    "raw": "the module before black: the text `grad` compiles",
    "ir": "the SSA graph of the function",
    "adjoint": "the SSA graph, then its adjoint (before optimization)",
    "optimized": "each function of the module after the optimizer, as emit gets it",
    "key": "the inputs the content key hashes (to see why a cache misses)",
}


def cmd_show(args: argparse.Namespace) -> int:
    load_rules(args.rules)
    found = targets(args.targets, args.wrt, args.mode, has_aux=args.has_aux)
    found = [replace(t, backend=args.backend) for t in found]
    for target in checkpointed(found, args.checkpoint):
        if args.dump == "module":
            sys.stdout.write(render(target, rules=args.rules))
            continue
        if args.dump == "key":
            key = content_key(parse_file(target.path, target.name), target)
            print(f"content key {key.content}\ncache key   {key.cache}\n{key.material}")
            continue
        stages = generate(
            parse_file(target.path, target.name), target.wrt, **target.options
        )
        if args.dump == "raw":
            sys.stdout.write(stages.module.raw)
        elif args.dump == "optimized":
            print("\n\n".join(map(str, stages.optimized)))
        else:
            print(stages.graph)
            if args.dump == "adjoint" and stages.adjoint is not None:
                print(stages.adjoint)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from ..standalone import function_from_file
    from ..testing import ATOL, RTOL, check_grad

    say = (lambda *_: None) if args.quiet else print
    load_rules(args.rules)
    status = EXIT_OK
    for target in targets([args.target], args.wrt):
        if target.has_aux:
            raise S2SError(
                f"{shown_path(target.path)}:{target.name} is decorated with "
                "has_aux=True, and check compares the gradient of a function "
                "returning one value",
                hint="Check a function that returns the value alone (the same "
                "computation without its aux).",
            )
        # An unsupported construct is reported (exit 2) before anything runs.
        graph = generate(parse_file(target.path, target.name), target.wrt).graph
        f = function_from_file(target.path, target.name)
        counts = arguments.counting_parameters(graph)
        values, described = check_inputs(f, args.at, args.shape, args.seed, counts)
        say(f"{shown_path(target.path)}:{target.name} at {', '.join(described)}")
        try:
            value = f(*values)
        except Exception as e:
            raise S2SError(
                f"{target.name} raised {type(e).__name__} at these inputs: {e}",
                hint="Give values with --at NAME=VALUE, or shapes that fit with "
                "--shape NAME=3x4.",
            ) from None
        status = max(status, _check_value(f, target, values, value, say))
        try:
            reports = check_grad(f, *values, wrt=target.wrt)
        except GradientMismatchError as e:
            print(f"MISMATCH {e}")
            status = EXIT_STALE
            continue
        for r in reports:
            say(
                f"  d{r.parameter}: {_where(r.index)}s2s {r.analytic:.10g}, central "
                f"differences {r.numeric:.10g} ({r.ratio:.2g} of the tolerance)"
            )
        say(f"ok (|s2s - central| <= {ATOL:g} + {RTOL:g} |central| everywhere)")
    return status


def _where(index: tuple[int, ...] | None) -> str:
    if index is None:
        return "along a random direction: "
    return f"worst element [{', '.join(map(str, index))}]: " if index else ""


def _check_value(
    f: Callable, target: Target, values: list, value: Any, say: Callable = print
) -> int:
    """The generated forward sweep must compute the function's own value."""
    from ..api import value_and_grad

    generated = value_and_grad(f, wrt=target.wrt)(*values)[0]
    if np.shape(generated) == np.shape(value) and np.allclose(
        generated, value, rtol=1e-9, atol=1e-12
    ):
        say(f"  value {float(value):.10g} (the generated forward sweep agrees)")
        return EXIT_OK
    print(
        f"MISMATCH the generated forward sweep computes {generated!r}, but "
        f"{target.name} computes {value!r}: this is a bug in s2s"
    )
    return EXIT_STALE


def check_inputs(
    f: Callable,
    at: Sequence[str],
    shapes: Sequence[str],
    seed: int,
    counts: set[str] = frozenset(),
) -> tuple[list[Any], list[str]]:
    """Arguments for `f`: the values given with --at, else the parameter's default,
    else standard normal numbers of the shape given with --shape (a scalar if none),
    or for a parameter in `counts` (a count, an index or a size) a small random
    integer; and a description of each."""
    code = f.__code__
    params = list(code.co_varnames[: code.co_argcount])
    defaults = dict(
        zip(params[len(params) - len(f.__defaults__ or ()) :], f.__defaults__ or ())
    )
    given = arguments.bind(f.__name__, params, *arguments.parse_at(at))
    sizes = arguments.parse_shapes(shapes, f.__name__, params)
    rng = np.random.default_rng(seed)
    values, described = [], []
    for name in params:
        if name in given:
            values.append(given[name])
            described.append(f"{name}={_short(given[name])}")
        elif name in defaults and name not in sizes:
            values.append(defaults[name])
            described.append(f"{name}={defaults[name]!r} (default)")
        elif name in sizes:
            shape = sizes[name]
            values.append(arguments.random_array(name, shape, rng))
            described.append(f"{name}~N(0,1) of shape {'x'.join(map(str, shape))}")
        elif name in counts:
            values.append(arguments.random_count(rng))
            described.append(
                f"{name}={values[-1]} (random count: {name} is used as a count, an "
                "index or a size)"
            )
        else:
            values.append(float(rng.standard_normal()))
            described.append(f"{name}={values[-1]:.6g} (random)")
    return values, described


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return (
            f"array of shape {value.shape}" if value.size > 6 else repr(value.tolist())
        )
    return repr(value)


def cmd_cache(args: argparse.Namespace) -> int:
    store = cache.open_cache()
    problem = _unusable(store.directory)
    if args.action == "clear":
        if problem is not None and os.path.exists(store.directory):
            raise S2SError(
                f"cannot clear the cache in {store.directory}: {problem}",
                hint=f"Check ${cache.DIR_VARIABLE}.",
            )
        removed = store.clear()
        print(f"removed {removed} entries from {store.directory}")
        return EXIT_OK
    info = store.info()
    state = "on" if info.enabled else f"off (${cache.SWITCH_VARIABLE}=0)"
    if problem is not None:
        state += (
            f", but the directory is unusable: {problem}; gradients are kept in "
            f"memory and regenerated in each process (set ${cache.DIR_VARIABLE} to a "
            "writable directory)"
        )
    print(f"directory: {info.directory or '(none: kept in memory)'} ({info.source})")
    print(f"state:     {state}")
    print(f"entries:   {info.entries} ({cache.format_size(info.size)})")
    source = {
        "default": f"the default; ${cache.SIZE_VARIABLE} sets it, e.g. 100M",
        f"${cache.SIZE_VARIABLE}": f"from ${cache.SIZE_VARIABLE}",
    }.get(info.cap_source, info.cap_source)
    print(
        f"cap:       {cache.format_size(info.cap)} ({source}); the least recently "
        "used entries beyond it are removed"
    )
    if info.leftovers:
        print(f"leftovers: {info.leftovers} temporary files of interrupted writes")
    return EXIT_OK


def _unusable(directory: str | None) -> str | None:
    """Why the cache cannot keep files in `directory` (None when it can)."""
    if directory is None:
        return None
    existing = directory
    while not os.path.exists(existing):  # created on first use: can it be?
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing):
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def cmd_graph(args: argparse.Namespace) -> int:
    from ..draw import draw_file  # graphviz support is not needed on other paths

    load_rules(args.rules)
    path, sep, name = split_target(args.target)
    if not sep:
        raise S2SError(
            f"expected PATH.py:FUNCTION, got {args.target!r}",
            hint="For example: s2s graph examples/graph.py:J --at a=5,b=3,c=2",
        )
    wrt = parse_wrt(args.wrt) if args.wrt is not None else None
    picture = draw_file(path, name, args.at or [], wrt)
    if args.output:
        picture.save(args.output)
        if not args.quiet:
            print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(picture.dot)
    return EXIT_OK

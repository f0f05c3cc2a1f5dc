"""The command line: `s2s generate` writes gradient modules, `show` prints one (or a
stage of the pipeline), `check` compares a gradient with central differences, `graph`
draws the computation graph, and `cache` looks after the import-time cache.

Files are read, never imported: a module's import-time side effects do not run
(`check` runs the function alone, see :mod:`s2s.standalone`).  The one exception is
`--rules`, which imports the module that registers custom rules.
Exit codes: 0 ok, 1 stale (`--check`) or a gradient mismatch (`check`), 2 bad usage or
input (an unsupported construct, a missing file or function), 3 internal error (a bug
in s2s).  Only an internal error prints a Python traceback.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib
import importlib.util
import os
import re
import shlex
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from . import __version__, arguments, cache, frontend
from .files import read_text
from .api import MODES, Stages, Wrt, generate, resolve_parsed_wrt
from .errors import GradientMismatchError, InternalError, S2SError
from .fingerprint import Fingerprint, fingerprint
from .frontend import (
    STDIN,
    TRANSFORMS,
    ParsedFunction,
    parse_file,
    read_module,
    s2s_names,
    shown_path,
    source_text,
)

EXIT_OK, EXIT_STALE, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULT_OUTPUT = "generated"
#: The decorators `s2s generate FILE.py` looks for, as s2s spells them.
DECORATORS = tuple(TRANSFORMS)
RULES_HELP = (
    "a .py file or module that registers custom rules with s2s.register "
    "(imported first; repeatable)"
)


# --- targets: PATH.py:FUNC, or PATH.py for its decorated functions ----------------------


@dataclass(frozen=True)
class Target:
    """One function to differentiate."""

    path: str
    name: str
    wrt: Wrt = 0
    mode: str = "grad"  # what to generate: see MODES

    @property
    def options(self) -> dict[str, Any]:
        """The generation options, as `grad` and the transforms of s2s.higher pass
        them (so that the content keys agree)."""
        return {} if self.mode == "grad" else {"mode": self.mode}


def parse_wrt(text: str | None) -> Wrt:
    """`a` -> "a", `a,b` -> ("a", "b"), `a,` -> ("a",), `0` -> 0; None -> 0."""
    if text is None:
        return 0
    if not text.strip(" ,"):
        raise S2SError(
            f"--wrt {text!r} names no parameter",
            hint="For example: --wrt W1,W2 (or leave --wrt out for the default).",
        )
    items = [item.strip() for item in text.split(",")]
    many = len(items) > 1
    if many and items[-1] == "":
        items.pop()
    values: list[int | str] = []
    for item in items:
        if re.fullmatch(r"-?\d+", item):
            values.append(int(item))
        elif item.isidentifier():
            values.append(item)
        else:
            raise S2SError(
                f"--wrt {text!r}: {item!r} is neither a parameter name nor an index",
                hint="For example: --wrt W1,W2 (or --wrt 0,1).",
            )
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise S2SError(
            f"--wrt {text!r} names {', '.join(repeated)} more than once",
            hint="Name each parameter once.",
        )
    return tuple(values) if many else values[0]


def wrt_option(wrt: Wrt) -> str | None:
    """The --wrt text that asks for `wrt` (None for the default: the first parameter)."""
    if isinstance(wrt, (tuple, list)):
        return ",".join(map(str, wrt)) + ("," if len(wrt) == 1 else "")
    return None if wrt == 0 else str(wrt)


def targets(
    specs: Sequence[str],
    wrt_text: str | None,
    mode: str = "grad",
    skip_undecorated: bool = False,
) -> list[Target]:
    """The functions named on the command line, in order.  A file with no decorated
    function is an error, or with `skip_undecorated` (pre-commit passes every changed
    file) nothing."""
    found: list[Target] = []
    for spec in specs:
        path, sep, name = split_target(spec)
        if sep:
            wrt = parse_wrt(wrt_text)
            if wrt_text is None:  # a decorated function: its decorator's wrt
                wrt = getattr(decorated_in(path, name).get(name), "wrt", wrt)
            found.append(Target(path, name, wrt, mode))
        elif mode != "grad":
            raise S2SError(
                f"--mode {mode} applies to PATH.py:FUNCTION targets, and {spec!r} is "
                "a file",
                hint=f"Name the function: {spec}:FUNCTION --mode {mode}.",
            )
        elif wrt_text is not None:
            raise S2SError(
                f"--wrt applies to PATH.py:FUNCTION targets, and {spec!r} is a file",
                hint="Decorated functions use their decorator's wrt; name the function "
                f"to choose another, e.g. {spec}:FUNCTION --wrt {wrt_text}.",
            )
        elif skip_undecorated:
            found.extend(decorated_in(spec).values())
        else:
            found.extend(decorated(spec))
    return found


def split_target(spec: str) -> tuple[str, str, str]:
    """`PATH.py:FUNC` -> (PATH.py, ":", FUNC); `PATH.py` -> (PATH.py, "", ""); an
    empty or malformed function name is an error."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or (os.path.exists(spec) and not os.path.exists(path)):
        return spec, "", ""  # a file (on Windows, C:\model.py is one too)
    if not name:
        raise S2SError(
            f"{spec!r}: no function name after ':'",
            hint=f"Name the function, {spec}FUNCTION, or leave out the ':' for every "
            "decorated function of the file.",
        )
    if ":" in path and not os.path.exists(path):
        raise S2SError(
            f"{spec!r}: expected PATH.py:FUNCTION, with one function name",
            hint="A method or a nested function cannot be named: name a function "
            "defined at the top level of the file.",
        )
    if not name.isidentifier():
        raise S2SError(
            f"{spec!r}: {name!r} is not a function name",
            hint="Write PATH.py:FUNCTION, e.g. model.py:loss.",
        )
    return path, sep, name


def decorated(path: str) -> list[Target]:
    """The functions in `path` decorated with s2s.grad or s2s.value_and_grad (under
    any import alias), each with its decorator's wrt; read without running the file."""
    found = decorated_in(path)
    if not found:
        raise S2SError(
            f"{shown_path(path)}: no function is decorated with @s2s.grad or "
            "@s2s.value_and_grad",
            hint=f"Name the function to differentiate: {path}:FUNCTION (or pass "
            "--skip-undecorated to pass over such files).",
        )
    return list(found.values())


def decorated_in(path: str, only: str | None = None) -> dict[str, Target]:
    """The decorated functions of `path` by name (see `decorated`), or the one named
    `only`; none is fine."""
    _, module = read_module(path)
    modules, functions = s2s_names(module)
    found: dict[str, Target] = {}
    for node in module.body:
        if not isinstance(node, ast.FunctionDef) or only not in (None, node.name):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            func = call.func if call else decorator
            ours = (isinstance(func, ast.Name) and func.id in functions) or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in modules
                and func.attr in DECORATORS
            )
            if not ours:
                continue
            target = Target(path, node.name, _decorator_wrt(path, call))
            if found.get(node.name, target) != target:
                raise S2SError(
                    f"{path}:{decorator.lineno}: {node.name} has two s2s decorators with "
                    f"different wrt, and one module per function is generated",
                    hint="Keep one decorator, or name the function with --wrt.",
                )
            found[node.name] = target
    return found


def _decorator_wrt(path: str, call: ast.Call | None) -> Wrt:
    if call is None:
        return 0
    keywords = {k.arg: k.value for k in call.keywords}
    if call.args or set(keywords) - {"wrt"}:
        raise S2SError(
            f"{path}:{call.lineno}: the decorator takes only wrt=...",
            hint='For example: @s2s.grad(wrt=("w", "b")).',
        )
    if "wrt" not in keywords:
        return 0
    try:
        return ast.literal_eval(keywords["wrt"])
    except ValueError:
        raise S2SError(
            f"{path}:{call.lineno}: wrt must be written as a constant here "
            f"(a name, an index, or a tuple of them)",
            hint="s2s reads the file without running it; or choose the parameters "
            "with --wrt.",
        ) from None


# --- building a module ------------------------------------------------------------------


def build(path: str, name: str, wrt: str | None, mode: str = "grad") -> Stages:
    """Run the pipeline on `name` in the file `path` (wrt as given to --wrt)."""
    target = Target(path, name, parse_wrt(wrt), mode)
    return generate(parse_file(path, name), target.wrt, **target.options)


def render(
    target: Target, output: str = DEFAULT_OUTPUT, rules: Sequence[str] = ()
) -> str:
    """The module `s2s generate` writes for `target`: a header saying where it came
    from and how to regenerate it (with the --rules it was generated with), its
    content key, and the formatted code."""
    import astor
    import black

    parsed = parse_file(target.path, target.name)
    code = generate(parsed, target.wrt, **target.options).module.text
    key = content_key(parsed, target)
    shown = shown_path(target.path).replace(os.sep, "/")
    header = (
        f"Generated by s2s {__version__} (black {black.__version__}, "
        f"astor {astor.__version__}) from {shown}:{target.name}.\n"
        f"Do not edit: regenerate with `{regenerate_command(target, output, rules)}`."
    )
    return cache.stamp(header, key.content, code)


def content_key(parsed: ParsedFunction, target: Target) -> Fingerprint:
    positions, many = resolve_parsed_wrt(parsed, target.wrt)
    names = tuple(parsed.params[i] for i in positions)
    key = fingerprint(parsed, names, many, target.options)
    if key is None:
        raise S2SError(
            f"{target.path}:{target.name}: a default value (of the function or of a "
            f"helper it calls) is not a constant, so the module has no content key",
            hint="Use numbers (or None) as defaults.",
        )
    return key


def regenerate_command(
    target: Target, output: str = DEFAULT_OUTPUT, rules: Sequence[str] = ()
) -> str:
    shown = shown_path(target.path).replace(os.sep, "/")
    words = ["s2s", "generate", f"{shown}:{target.name}"]
    wrt = wrt_option(target.wrt)
    if wrt is not None:
        words += ["--wrt", wrt]
    if target.mode != "grad":
        words += ["--mode", target.mode]
    if os.path.normpath(output) != DEFAULT_OUTPUT:
        words += ["-o", output.replace(os.sep, "/")]
    for spec in rules:
        words += ["--rules", spec.replace(os.sep, "/")]
    return " ".join(map(shlex.quote, words))


def output_path(directory: str, target: Target) -> str:
    stem = os.path.splitext(os.path.basename(shown_path(target.path)))[0]
    return os.path.join(directory, f"{stem}_{target.name}{MODES[target.mode]}.py")


# --- s2s generate -----------------------------------------------------------------------


def load_rules(specs: Sequence[str]) -> None:
    """Import the modules that register custom rules (a path or a module name):
    the one kind of user code the command line runs.  An error in them is the
    user's, reported as such (exit 2) with where it happened."""
    for spec in specs:
        if spec == STDIN:
            _run_rules(spec, lambda: _exec_rules(source_text(STDIN)))
        elif spec.endswith(".py"):
            name = "s2s_rules_" + os.path.splitext(os.path.basename(spec))[0]
            loader = importlib.util.spec_from_file_location(name, spec)
            if loader is None or not os.path.exists(spec):
                raise S2SError(f"cannot read the rules file {spec}")
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            _run_rules(spec, lambda: loader.loader.exec_module(module))
        else:
            _run_rules(spec, lambda: importlib.import_module(spec))


def _exec_rules(text: str) -> None:
    """Run rules read from standard input, as a module of their own."""
    module = type(sys)("s2s_rules_stdin")
    sys.modules[module.__name__] = module
    exec(compile(text, frontend.stdin.name, "exec"), module.__dict__)


def _run_rules(spec: str, run: Callable[[], Any]) -> None:
    kind = "file" if spec.endswith(".py") or spec == STDIN else "module"
    try:
        run()
    except ModuleNotFoundError as e:
        if kind == "module" and e.name and spec.startswith(e.name):
            raise S2SError(
                f"cannot import the rules module {spec}: {e}",
                hint="Pass a .py file or an importable module name.",
            ) from None
        raise _rules_error(spec, kind, e) from None
    except S2SError as e:  # s2s.register refused a rule: say where it was registered
        raise type(e)(
            f"{e.message}\n    in the rules {kind} {shown_path(spec)}{_user_frame(e)}",
            e.location,
            e.hint,
        ) from None
    except Exception as e:
        raise _rules_error(spec, kind, e) from None


def _user_frame(error: BaseException) -> str:
    """`, at FILE:LINE: text`: where in the user's code `error` was raised."""
    if isinstance(error, SyntaxError) and error.lineno:
        text = (error.text or "").strip()
        return f", at {error.filename}:{error.lineno}: {text}"
    package = os.path.dirname(os.path.abspath(__file__))
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not os.path.abspath(frame.filename).startswith(package)
        and not frame.filename.startswith("<frozen")
    ]
    if not frames:
        return ""
    last = frames[-1]
    return f", at {last.filename}:{last.lineno}: {(last.line or '').strip()}"


def _rules_error(spec: str, kind: str, error: Exception) -> S2SError:
    message = error.msg if isinstance(error, SyntaxError) else str(error)
    spec = shown_path(spec)
    return S2SError(
        f"the rules {kind} {spec} raised {type(error).__name__}: {message}\n"
        f"    {_user_frame(error).lstrip(', ')}".rstrip(),
        hint=f"Fix the error in {spec}: s2s imports it before reading your model.",
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
    load_rules(args.rules)
    chosen, failed = [], 0
    for spec in args.targets:
        try:
            chosen.extend(targets([spec], args.wrt, args.mode, args.skip_undecorated))
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


def _seed(text: str) -> int:
    """A --seed: numpy's generators take non-negative integers."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return seed


def _read_or_none(path: str) -> str | None:
    try:
        return read_text(path)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise S2SError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}")


# --- s2s show ---------------------------------------------------------------------------

#: What `s2s show --dump` prints.
DUMPS = {
    "module": "the module as s2s generate writes it (the default)",
    "raw": "the module before black: the text `grad` compiles",
    "ir": "the SSA graph of the function",
    "adjoint": "the SSA graph, then its adjoint (before optimization)",
    "key": "the inputs the content key hashes (to see why a cache misses)",
}


def cmd_show(args: argparse.Namespace) -> int:
    load_rules(args.rules)
    for target in targets(args.targets, args.wrt, args.mode):
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
        else:
            print(stages.graph)
            if args.dump == "adjoint" and stages.adjoint is not None:
                print(stages.adjoint)
    return EXIT_OK


# --- s2s check --------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from .standalone import function_from_file
    from .testing import ATOL, RTOL, check_grad

    say = (lambda *_: None) if args.quiet else print
    load_rules(args.rules)
    status = EXIT_OK
    for target in targets([args.target], args.wrt):
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
    from .api import value_and_grad

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


# --- s2s cache --------------------------------------------------------------------------


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


# --- the parser -------------------------------------------------------------------------


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


def _add_generate(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="write gradient modules to a directory",
        description="Write one gradient module per function.  PATH.py:FUNC names a "
        "function; PATH.py alone means every function in it decorated with "
        "@s2s.grad (with the decorator's wrt).  Files are read, never run.",
    )
    _add_targets(p, "targets")
    _add_mode(p)
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


def cmd_graph(args: argparse.Namespace) -> int:
    from .draw import draw_file  # graphviz support is not needed on other paths

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

    return f"s2s {__version__} (numpy {np.__version__}, Python {platform.python_version()})"


# --- running ----------------------------------------------------------------------------


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
    frontend.stdin = frontend.StandardInput(
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


if __name__ == "__main__":
    sys.exit(main())

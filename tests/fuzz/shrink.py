"""Shrink a failing program while it keeps failing the same way, and print it as a
ready-to-paste pytest test.

The shrinker works on the module's syntax tree and tries, greedily and in order of
how much each removes: dropping helpers, constants and parameters nothing reads;
deleting statements; replacing a branch by one of its arms and a loop by one trip
of its body; shortening loops (and the tuples loops run over); inlining a helper that is a single `return`;
replacing an expression by one of its sub-expressions, a parameter or `1.0`; and
rounding constants and arguments.  A candidate is kept when the oracle, run at the
same arguments (no redraw), gives the same `Result.signature()`.
"""

from __future__ import annotations

import ast
import copy
import time
import warnings
from dataclasses import replace
from typing import Callable, Iterator, Optional

import numpy as np

from .oracle import Case, Result, binder, run_case

# --- tree surgery ----------------------------------------------------------------------


def _function_defs(tree: ast.Module) -> list[ast.FunctionDef]:
    return [n for n in tree.body if isinstance(n, ast.FunctionDef)]


def _stmt_lists(tree: ast.Module) -> list[tuple[ast.AST, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module):
            continue
        for fieldname in ("body", "orelse", "finalbody"):
            block = getattr(node, fieldname, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                out.append((node, fieldname))
    return out


def _expr_slots(tree: ast.Module) -> list[tuple[ast.AST, str, Optional[int]]]:
    """Every place an expression is read (not an assignment target), outermost first."""
    out = []
    for node in ast.walk(tree):
        for fieldname, value in ast.iter_fields(node):
            if isinstance(node, (ast.Assign,)) and fieldname == "targets":
                continue
            if isinstance(node, (ast.AugAssign, ast.For)) and fieldname == "target":
                continue
            if isinstance(node, ast.Call) and fieldname == "func":
                continue
            if (
                isinstance(node, ast.Attribute)
                and fieldname == "value"
                and _is_module(node.value)
            ):
                continue
            if isinstance(value, ast.expr) and not isinstance(
                value, ast.Name | ast.Constant
            ):
                if not getattr(value, "ctx", None).__class__ is ast.Store:
                    out.append((node, fieldname, None))
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, ast.expr) and not isinstance(
                        item, ast.Name | ast.Constant
                    ):
                        out.append((node, fieldname, k))
    return out


def _is_module(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("np", "math")


def _get(node, fieldname, k):
    value = getattr(node, fieldname)
    return value if k is None else value[k]


def _set(node, fieldname, k, new):
    if k is None:
        setattr(node, fieldname, new)
    else:
        getattr(node, fieldname)[k] = new


def _children(e: ast.expr) -> list[ast.expr]:
    """Sub-expressions e could be replaced by."""
    out = []
    if isinstance(e, ast.Call):
        out += [a for a in e.args if not isinstance(a, ast.Starred)]
        if isinstance(e.func, ast.Attribute) and not _is_module(e.func.value):
            out.append(e.func.value)  # x.sum() -> x
        if isinstance(e.func, ast.Attribute) and isinstance(
            e.func.value, ast.Attribute
        ):
            pass
    elif isinstance(e, ast.Attribute):
        if not _is_module(e.value):
            out.append(e.value)
    elif isinstance(e, ast.Subscript):
        out.append(e.value)
    else:
        for child in ast.iter_child_nodes(e):
            if isinstance(child, ast.expr) and not isinstance(
                child, (ast.expr_context,)
            ):
                out.append(child)
    return [c for c in out if isinstance(c, ast.expr)]


def _names_read(tree: ast.AST) -> set[str]:
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _loop_start(node: ast.For) -> Optional[ast.expr]:
    """The first value a `for` over a range takes, when it can be read off."""
    it = node.iter
    rev = False
    if (
        isinstance(it, ast.Call)
        and isinstance(it.func, ast.Name)
        and it.func.id == "reversed"
        and it.args
    ):
        it, rev = it.args[0], True
    if (
        isinstance(it, ast.Call)
        and isinstance(it.func, ast.Name)
        and it.func.id == "range"
    ):
        args = it.args
        if rev:
            if len(args) == 1:
                return ast.BinOp(args[0], ast.Sub(), ast.Constant(1))
            return None
        return args[0] if len(args) >= 2 else ast.Constant(0)
    if isinstance(it, ast.Tuple) and it.elts and not rev:
        return it.elts[0]
    return None


class Shrinker:
    """Greedy shrinking of one failing case."""

    def __init__(
        self,
        case: Case,
        result: Result,
        workdir: str,
        budget: float = 120.0,
        per_run: float = 20.0,
        max_runs: int = 1500,
    ):
        self.case = replace(case, args=list(result.args or case.args), params=None)
        self.result = result
        self.target = result.signature()
        self.workdir = workdir
        self.deadline = time.monotonic() + budget
        self.per_run = per_run
        self.runs = 0
        self.max_runs = max_runs
        self.seen: set = set()

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline or self.runs >= self.max_runs

    def attempt(
        self, source: str, args: list, wrt: tuple, argnames=None, nkw=None
    ) -> bool:
        """Keep the candidate if it fails the same way (argnames and nkw: as in
        Case, when the candidate changes them)."""
        key = (source, repr(args), wrt)
        if key in self.seen:
            return False
        self.seen.add(key)
        try:
            with warnings.catch_warnings():
                # `1.0[0]` (a replaced expression) compiles with a SyntaxWarning,
                # then fails when it runs: not a candidate
                warnings.simplefilter("error", SyntaxWarning)
                compile(source, "<candidate>", "exec")
        except SyntaxError:
            return False
        self.runs += 1
        candidate = replace(self.case, source=source, args=args, wrt=wrt)
        if argnames is not None:
            candidate = replace(candidate, argnames=argnames, nkw=nkw)
        r = run_case(candidate, self.workdir, self.per_run, redraw=False)
        if r.signature() == self.target:
            self.case, self.result = candidate, r
            return True
        return False

    def shrink(self) -> tuple[Case, Result]:
        passes: list[Callable[[], Iterator]] = [
            self.p_unused,
            self.p_delete,
            self.p_unwrap,
            self.p_loops,
            self.p_inline,
            self.p_exprs,
            self.p_params,
            self.p_numbers,
        ]
        progress = True
        while progress and not self.out_of_time():
            progress = False
            for p in passes:
                # After a success the pass starts again on the new program, from the
                # position it had reached (what came before was tried already).
                start = 0
                while not self.out_of_time():
                    for k, cand in enumerate(p()):
                        if k < start:
                            continue
                        if self.out_of_time():
                            return self.case, self.result
                        if self.attempt(*cand):
                            progress = True
                            start = k
                            break
                    else:
                        break
        return self.case, self.result

    # each pass yields candidate (source, args, wrt), built from a fresh copy

    def tree(self) -> ast.Module:
        return ast.parse(self.case.source)

    def emit(self, tree: ast.Module) -> str:
        ast.fix_missing_locations(tree)
        return ast.unparse(tree) + "\n"

    def same(self, source):
        return source, self.case.args, self.case.wrt

    def p_unused(self) -> Iterator:
        tree = self.tree()
        changed = True
        while changed:
            changed = False
            used = _names_read(tree)
            keep = []
            for node in tree.body:
                if (
                    isinstance(node, ast.FunctionDef)
                    and node.name != self.case.name
                    and node.name not in used
                ):
                    changed = True
                    continue
                if isinstance(node, ast.Import) and not any(
                    (a.asname or a.name).split(".")[0] in used for a in node.names
                ):
                    changed = True
                    continue
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id not in used
                ):
                    changed = True
                    continue
                keep.append(node)
            tree.body = keep
        source = self.emit(tree)
        if source != self.case.source:
            yield self.same(source)

    def p_delete(self) -> Iterator:
        base = self.tree()
        slots = _stmt_lists(base)
        for s, (node, fieldname) in enumerate(slots):
            for k in range(len(getattr(node, fieldname))):
                tree = self.tree()
                n2, f2 = _stmt_lists(tree)[s]
                block = getattr(n2, f2)
                if (
                    isinstance(n2, ast.FunctionDef)
                    and isinstance(block[k], ast.Return)
                    and k == len(block) - 1
                ):
                    continue
                del block[k]
                if not block:
                    if f2 == "orelse":
                        pass
                    else:
                        block.append(ast.Pass())
                yield self.same(self.emit(tree))

    def p_unwrap(self) -> Iterator:
        base = self.tree()
        slots = _stmt_lists(base)
        for s, (node, fieldname) in enumerate(slots):
            for k, stmt in enumerate(getattr(node, fieldname)):
                options = []
                if isinstance(stmt, ast.If):
                    options = (
                        ["body", "orelse", "drop_else"] if stmt.orelse else ["body"]
                    )
                elif isinstance(stmt, (ast.For, ast.While)):
                    options = ["body"]
                elif isinstance(stmt, (ast.Try, ast.With)):
                    options = ["body"]
                for option in options:
                    tree = self.tree()
                    n2, f2 = _stmt_lists(tree)[s]
                    block = getattr(n2, f2)
                    st = block[k]
                    if option == "drop_else":
                        st.orelse = []
                        yield self.same(self.emit(tree))
                        continue
                    inner = list(getattr(st, option))
                    if isinstance(st, ast.For):
                        start = _loop_start(st)
                        if start is None:
                            continue
                        inner = [ast.Assign([copy.deepcopy(st.target)], start)] + inner
                        inner = [
                            s_
                            for s_ in inner
                            if not isinstance(s_, (ast.Break, ast.Continue))
                        ]
                    if isinstance(st, ast.While):
                        inner = [
                            s_
                            for s_ in inner
                            if not isinstance(s_, (ast.Break, ast.Continue))
                        ]
                    block[k : k + 1] = inner or [ast.Pass()]
                    yield self.same(self.emit(tree))

    def p_loops(self) -> Iterator:
        base = self.tree()
        calls = [n for n in ast.walk(base) if isinstance(n, ast.Call)]
        for c, call in enumerate(calls):
            if isinstance(call.func, ast.Name) and call.func.id == "reversed":
                tree = self.tree()
                target = [n for n in ast.walk(tree) if isinstance(n, ast.Call)][c]
                self._replace_node(tree, target, target.args[0])
                yield self.same(self.emit(tree))
            if isinstance(call.func, ast.Name) and call.func.id == "range":
                for a, arg in enumerate(call.args):
                    if (
                        isinstance(arg, ast.Constant)
                        and isinstance(arg.value, int)
                        and arg.value > 0
                    ):
                        tree = self.tree()
                        target = [n for n in ast.walk(tree) if isinstance(n, ast.Call)][
                            c
                        ]
                        target.args[a] = ast.Constant(arg.value - 1)
                        yield self.same(self.emit(tree))
        tuples = [  # the tuples a loop or a comprehension runs over
            n.iter
            for n in ast.walk(base)
            if isinstance(n, (ast.For, ast.comprehension))
            and isinstance(n.iter, ast.Tuple)
        ]
        for t, tup in enumerate(tuples):
            if len(tup.elts) < 2:
                continue
            for e in range(len(tup.elts)):
                tree = self.tree()
                target = [
                    n.iter
                    for n in ast.walk(tree)
                    if isinstance(n, (ast.For, ast.comprehension))
                    and isinstance(n.iter, ast.Tuple)
                ][t]
                del target.elts[e]
                yield self.same(self.emit(tree))
        compares = [n for n in ast.walk(base) if isinstance(n, ast.Compare)]
        for c, cmp_ in enumerate(compares):  # `k < 4` in a while test
            for j, comp in enumerate(cmp_.comparators):
                if (
                    isinstance(comp, ast.Constant)
                    and isinstance(comp.value, int)
                    and comp.value > 1
                ):
                    tree = self.tree()
                    target = [n for n in ast.walk(tree) if isinstance(n, ast.Compare)][
                        c
                    ]
                    target.comparators[j] = ast.Constant(comp.value - 1)
                    yield self.same(self.emit(tree))

    @staticmethod
    def _replace_node(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
        for node in ast.walk(tree):
            for fieldname, value in ast.iter_fields(node):
                if value is old:
                    setattr(node, fieldname, new)
                    return
                if isinstance(value, list):
                    for k, item in enumerate(value):
                        if item is old:
                            value[k] = new
                            return

    def p_inline(self) -> Iterator:
        base = self.tree()
        simple = {
            d.name: d
            for d in _function_defs(base)
            if d.name != self.case.name
            and len(d.body) == 1
            and isinstance(d.body[0], ast.Return)
            and not d.args.kwonlyargs
        }
        calls = [n for n in ast.walk(base) if isinstance(n, ast.Call)]
        for c, call in enumerate(calls):
            if isinstance(call.func, ast.Name) and call.func.id in simple:
                d = simple[call.func.id]
                params = [a.arg for a in d.args.args]
                if len(params) != len(call.args):
                    continue
                tree = self.tree()
                target = [n for n in ast.walk(tree) if isinstance(n, ast.Call)][c]
                body = copy.deepcopy(d.body[0].value)
                mapping = dict(zip(params, target.args))

                class Sub(ast.NodeTransformer):
                    def visit_Name(self, node):
                        if node.id in mapping:
                            return copy.deepcopy(mapping[node.id])
                        return node

                body = Sub().visit(body)
                self._replace_node(tree, target, body)
                yield self.same(self.emit(tree))

    def p_exprs(self) -> Iterator:
        base = self.tree()
        slots = _expr_slots(base)
        fn = next(d for d in _function_defs(base) if d.name == self.case.name)
        params = [fn.args.args[k].arg for k in self.case.wrt if k < len(fn.args.args)]
        for s, (node, fieldname, k) in enumerate(slots):
            e = _get(node, fieldname, k)
            replacements: list[ast.expr] = list(_children(e))
            replacements += [ast.Name(p, ast.Load()) for p in params]
            replacements.append(ast.Constant(1.0))
            for r_index in range(len(replacements)):
                tree = self.tree()
                n2, f2, k2 = _expr_slots(tree)[s]
                e2 = _get(n2, f2, k2)
                reps = (
                    list(_children(e2))
                    + [ast.Name(p, ast.Load()) for p in params]
                    + [ast.Constant(1.0)]
                )
                if r_index >= len(reps):
                    continue
                _set(n2, f2, k2, copy.deepcopy(reps[r_index]))
                yield self.same(self.emit(tree))

    def p_params(self) -> Iterator:
        """Drop a parameter nothing reads (and its argument, if it is passed)."""
        base = self.tree()
        fn = next(d for d in _function_defs(base) if d.name == self.case.name)
        used = _names_read(fn)
        args, wrt, nkw = self.case.args, self.case.wrt, self.case.nkw
        names = list(self.case.argnames or [a.arg for a in fn.args.args][: len(args)])
        npos = len(args) - nkw
        params = [(a.arg, False, k) for k, a in enumerate(fn.args.args)]
        params += [(a.arg, True, j) for j, a in enumerate(fn.args.kwonlyargs)]
        for name, kwonly, j in params:
            if name in used:
                continue
            passed = name in names and (names.index(name) >= npos) == kwonly
            at = names.index(name) if passed else None
            if at is not None and at in wrt and len(wrt) == 1:
                continue
            tree = self.tree()
            f2 = next(d for d in _function_defs(tree) if d.name == self.case.name)
            if kwonly:
                del f2.args.kwonlyargs[j]
                del f2.args.kw_defaults[j]
            else:
                first_default = len(f2.args.args) - len(f2.args.defaults)
                if j >= first_default:
                    del f2.args.defaults[j - first_default]
                del f2.args.args[j]
            if at is None:
                yield self.emit(tree), args, wrt
                continue
            yield (
                self.emit(tree),
                args[:at] + args[at + 1 :],
                tuple(k - (k > at) for k in wrt if k != at),
                names[:at] + names[at + 1 :],
                nkw - kwonly,
            )

    def p_numbers(self) -> Iterator:
        # arguments: fewer digits
        for k, a in enumerate(self.case.args):
            for digits in (1, 2):
                if isinstance(a, np.ndarray):
                    b = np.round(a, digits)
                    if np.array_equal(a, b):
                        continue
                elif isinstance(a, float):
                    b = round(a, digits)
                    if b == a:
                        continue
                else:
                    continue
                args = list(self.case.args)
                args[k] = b
                yield self.case.source, args, self.case.wrt
        # constants in the code: fewer digits
        base = self.tree()
        consts = [
            n
            for n in ast.walk(base)
            if isinstance(n, ast.Constant) and isinstance(n.value, float)
        ]
        for c, node in enumerate(consts):
            for value in (round(node.value), round(node.value, 1)):
                if float(value) == node.value:
                    continue
                tree = self.tree()
                target = [
                    n
                    for n in ast.walk(tree)
                    if isinstance(n, ast.Constant) and isinstance(n.value, float)
                ][c]
                target.value = float(value)
                yield self.same(self.emit(tree))


def shrink(
    case: Case,
    result: Result,
    workdir: str,
    budget: float = 120.0,
    per_run: float = 20.0,
) -> tuple[Case, Result, int]:
    """The smallest case found that fails like `result`, its result, and the number
    of oracle runs it took."""
    s = Shrinker(case, result, workdir, budget, per_run)
    out_case, out_result = s.shrink()
    return out_case, out_result, s.runs


# --- the repro ---------------------------------------------------------------------------


def _literal(a) -> str:
    if isinstance(a, np.ndarray):
        return f"np.array({np.array2string(a, separator=', ', precision=17, floatmode='unique', max_line_width=10_000)})"
    if isinstance(a, float):
        return repr(float(a))
    return repr(a)


def repro(case: Case, result: Result, test_name: str = "test_fuzz_repro") -> str:
    """A pytest test that fails while the defect is there: it writes the program to
    a file, imports it, and checks s2s against f and central differences (and, where
    f raises, that the gradient raises the same)."""
    args = ", ".join(_literal(a) for a in case.args) + (
        "," if len(case.args) == 1 else ""
    )
    b = binder(case)
    first_line = (
        (result.error or result.detail).splitlines()[0]
        if (result.error or result.detail)
        else ""
    )
    lines = [
        f"def {test_name}(tmp_path):",
        f'    """{case.label} {case.mutation}: {result.status} ({result.stage}). {first_line[:200]!s}"""'.replace(
            '\\"', "'"
        ),
        '    source = """',
    ]
    lines += [line for line in case.source.rstrip("\n").splitlines()]
    lines += [
        '"""',
        '    path = tmp_path / "fuzz_repro.py"',
        "    path.write_text(source)",
        '    spec = importlib.util.spec_from_file_location("fuzz_repro", path)',
        "    module = importlib.util.module_from_spec(spec)",
        "    spec.loader.exec_module(module)",
        f"    f = module.{case.name}",
        f"    args = ({args})",
    ]
    if case.nkw:
        kw = tuple(b.names[len(b.names) - b.nkw :])
        lines += [
            f"    keywords = {kw!r}  # the last arguments, passed by keyword",
            f"    wrt = {b.wrt(tuple(case.wrt))!r}",
            f"    positions = {tuple(case.wrt)!r}  # of wrt in args",
            "",
            "    def call(fun, a):",
            "        k = len(a) - len(keywords)",
            "        return fun(*a[:k], **dict(zip(keywords, a[k:])))",
        ]
    else:
        lines += [
            f"    wrt = {tuple(case.wrt)!r}",
            "    positions = wrt",
            "",
            "    def call(fun, a):",
            "        return fun(*a)",
        ]
    lines += [
        "",
        "    def central(fun, k, h=1e-6):  # central difference along args[k]",
        "        def at(d):",
        "            moved = [a.copy() if isinstance(a, np.ndarray) else a for a in args]",
        "            moved[k] = moved[k] + d",
        "            return call(fun, moved)",
        "",
        "        x = np.asarray(args[k], dtype=float)",
        "        out = np.zeros(x.shape)",
        "        for idx in np.ndindex(x.shape):",
        "            e = np.zeros(x.shape)",
        "            e[idx] = h",
        "            d = e if isinstance(args[k], np.ndarray) else float(h)",
        "            out[idx] = (np.asarray(at(d)) - np.asarray(at(-d))) / (2 * h)",
        "        return out",
        "",
    ]
    if result.stage in ("grad_of_grad",):
        first = b.param(result.extra.get("gg_wrt", case.wrt[0]))
        lines += [
            f"    g1 = s2s.grad(f, wrt={first!r})",
            "    row = call(s2s.grad(g1, wrt=wrt), args)",
            "    for j, k in enumerate(positions):",
            "        np.testing.assert_allclose(row[j], central(g1, k), rtol=1e-4, atol=1e-5)",
        ]
    elif result.stage == "hvp":
        tangents = result.extra.get("tangents")
        t_text = ", ".join(_literal(t) for t in tangents) + "," if tangents else "..."
        lines += [
            f"    tangents = ({t_text})",
            "    hv = s2s.hvp(f, args, tangents, wrt=wrt)",
            "    vg = s2s.value_and_grad(f, wrt=wrt)",
            "",
            "    def grad_along(h):",
            "        moved = list(args)",
            "        for k, t in zip(wrt, tangents):",
            "            moved[k] = moved[k] + h * t",
            "        return vg(*moved)[1]",
            "",
            "    h = 1e-6",
            "    for j, (a, b) in enumerate(zip(grad_along(h), grad_along(-h))):",
            "        np.testing.assert_allclose(hv[j], (np.asarray(a) - np.asarray(b)) / (2 * h), rtol=1e-4, atol=1e-5)",
        ]
    else:
        lines += [
            "    try:",
            "        expected, raised = call(f, args), None",
            "    except Exception as e:  # then the gradient must raise the same",
            "        expected, raised = None, e",
            "    try:",
            "        value, grads = call(s2s.value_and_grad(f, wrt=wrt), args)",
            "    except s2s.S2SError as e:  # refusing is right if it names the line",
            "        assert not isinstance(e, s2s.InternalError), str(e)",
            '        assert re.search(r"fuzz_repro\\.py:\\d+", str(e)), str(e)',
            "        return",
            "    except Exception as e:",
            "        assert type(e) is type(raised), (",
            '            "f %s, the gradient raises %r" % ("raises %r" % raised if raised else "returns", e)',
            "        )",
            "        return",
            '    assert raised is None, "f raises %r, the gradient returns" % raised',
            "    assert np.ndim(expected) == 0 and np.asarray(expected).dtype.kind in 'fiu', (",
            '        "s2s accepted a function whose value is not a number: %r" % (expected,)',
            "    )",
            "    assert np.ndim(value) == 0 and value == pytest.approx(expected, rel=1e-9, abs=1e-8)",
            "    for k, g in zip(positions, grads):",
            "        np.testing.assert_allclose(g, central(f, k), rtol=1e-5, atol=1e-6)",
        ]
    return "\n".join(lines) + "\n"


REPRO_IMPORTS = "import importlib.util\nimport math\nimport re\n\nimport numpy as np\nimport pytest\n\nimport s2s\n"

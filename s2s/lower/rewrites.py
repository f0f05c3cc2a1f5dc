"""numpy functions lowered as the primitives they are made of (a documented rewrite,
exact as numpy computes it), where that reads better in generated code than a
primitive of their own: `np.trapezoid` is `np.sum(d * (y[1:] + y[:-1]) / 2.0)`,
`np.average` a weighted sum over the sum of the weights, `np.logspace` a power of
`np.linspace`; and the casts: `x.astype(dtype)`, `np.asarray(x, dtype=...)` and
`np.array(x, dtype=...)` are the cast to floats or the one to integers or bools."""

from __future__ import annotations

import ast
from typing import Any

import numpy

from ..ir import Const, Operand
from ..primitives import REWRITTEN
from .syntax import display_items, located


def _slice_along(axis: int, lower: int | None, upper: int | None) -> tuple:
    """The getitem spec and parts of `[lower:upper]` on `axis` (`y[..., 1:]`)."""
    item = ("slice", lower is not None, upper is not None, False)
    parts = [Const(b) for b in (lower, upper) if b is not None]
    full = ("slice", False, False, False)
    if axis >= 0:
        items = [full] * axis + [item]
    else:
        items = [("ellipsis",), item] + [full] * (-axis - 1)
    return (len(items) > 1, *items), parts


class Rewrites:
    """The rewritten numpy functions (a mixin of :class:`~s2s.lower.lowerer.Lowerer`)."""

    def rewritten(self, name: str, node: ast.Call, hint: str | None) -> Operand:
        args = self._rewrite_arguments(name, node)
        return getattr(self, "_rewrite_" + name)(node, args, hint)

    def _rewrite_arguments(self, name: str, node: ast.Call) -> dict[str, ast.expr]:
        params = REWRITTEN[name]
        if len(node.args) > len(params) or any(
            isinstance(a, ast.Starred) for a in node.args
        ):
            raise self.fn.error(
                node,
                f"np.{name}() takes at most {len(params)} arguments here",
                f"Its arguments: {', '.join(params)}.",
            )
        found = dict(zip(params, node.args))
        for kw in node.keywords:
            if kw.arg not in params or kw.arg in found:
                raise self.fn.error(
                    kw.value,
                    f"np.{name}() keyword '{kw.arg}' is not handled by s2s "
                    "(or is given twice)",
                    f"Supported arguments: {', '.join(params)}.",
                )
            found[kw.arg] = kw.value
        return {
            k: v
            for k, v in found.items()
            if not (isinstance(v, ast.Constant) and v.value is None)
        }

    def _axis(self, name: str, args: dict[str, ast.expr], default: Any) -> Any:
        if "axis" not in args:
            return default
        axis = self._static(args["axis"], f"np.{name}'s axis")
        ok = isinstance(axis, int) and not isinstance(axis, bool)
        if not ok and not (name == "average" and isinstance(axis, tuple)):
            raise self.fn.error(
                args["axis"],
                f"np.{name}'s axis must be an integer, not {axis!r}",
                "Pass the axis as a constant integer, e.g. axis=0.",
            )
        return axis

    def _rewrite_trapezoid(self, node, args, hint) -> Operand:
        """numpy's own formula: sum(d * (y[1:] + y[:-1]) / 2.0) along the axis, d
        the differences of x (a vector of x laid along y's axis) or dx."""
        if "y" not in args:
            raise self.fn.error(node, "np.trapezoid() is missing y")
        axis = self._axis("trapezoid", args, -1)
        y = self.expr(args["y"])
        if "x" in args:
            x = self.expr(args["x"])
            if axis != -1:
                x = self.emit("along_axis", x, y, axis=axis)
            d = self.emit("diff", x, axis=axis)
        else:  # numpy's default dx=1.0 multiplies by 1.0, which changes nothing
            d = self.expr(args["dx"]) if "dx" in args else None
        ends = []
        for bounds in ((1, None), (None, -1)):
            spec, parts = _slice_along(axis, *bounds)
            ends.append(self.emit("getitem", y, *parts, spec=spec))
        heights = self.emit("add", *ends)
        if d is not None:
            heights = self.emit("mul", d, heights)
        areas = self.emit("div", heights, Const(2.0))
        return self.emit("sum", areas, hint=hint, axis=axis)

    def _rewrite_average(self, node, args, hint) -> Operand:
        """np.mean without weights; with them, sum(a * w) / sum(w) (a vector of
        weights laid along a's axis)."""
        if "a" not in args:
            raise self.fn.error(node, "np.average() is missing a")
        axis = self._axis("average", args, None)
        keepdims = (
            self._static(args["keepdims"], "np.average's keepdims")
            if "keepdims" in args
            else False
        )
        if "returned" in args and self._static(args["returned"], "returned"):
            raise self.fn.error(
                args["returned"],
                "np.average(..., returned=True) is not handled by s2s",
                "Compute the sum of the weights yourself: np.sum(w, axis=...).",
            )
        reduce = {"axis": axis, "keepdims": bool(keepdims)}
        a = self.expr(args["a"])
        if "weights" not in args:
            return self.emit("mean", a, hint=hint, **reduce)
        w = self.expr(args["weights"])
        if isinstance(axis, tuple):
            raise self.fn.error(
                args["weights"],
                "np.average with weights over several axes is not handled by s2s",
                "Write it as np.sum(a * w, axis=...) / np.sum(w, axis=...) with "
                "weights of a's shape.",
            )
        if axis is not None and axis != -1:
            w = self.emit("along_axis", w, a, axis=axis)
        total = self.emit("sum", self.emit("mul", a, w), **reduce)
        return self.emit("div", total, self.emit("sum", w, **reduce), hint=hint)

    def _rewrite_logspace(self, node, args, hint) -> Operand:
        """numpy's own formula: base ** np.linspace(start, stop, num, endpoint)."""
        missing = [name for name in ("start", "stop") if name not in args]
        if missing:
            raise self.fn.error(node, f"np.logspace() is missing {missing[0]}")
        grid = ast.Call(
            node.func,
            [args[name] for name in ("start", "stop", "num") if name in args],
            [ast.keyword("endpoint", args["endpoint"])] if "endpoint" in args else [],
        )
        exponents = self.call("linspace", located(grid, node), [], "np", None)
        base = self.expr(args["base"]) if "base" in args else Const(10.0)
        return self.emit("pow", base, exponents, hint=hint)

    def _rewrite_asarray(self, node, args, hint) -> Operand:
        return self._converted(node, args.get("a"), args.get("dtype"), False, hint)

    def _rewrite_array(self, node, args, hint) -> Operand:
        return self._converted(node, args.get("object"), args.get("dtype"), True, hint)

    def _converted(self, node, value, dtype, copy: bool, hint) -> Operand:
        """np.asarray(value, dtype) (np.array: a copy): the value as np.asarray
        of it alone lowers it, then cast."""
        if value is None:
            raise self.fn.error(node, f"{ast.unparse(node.func)}() is missing its data")
        if isinstance(node.func, ast.Attribute):  # np.asarray(x): as it was lowered
            x = self.expr(located(ast.Call(node.func, [value], []), node))
        elif display_items(value):  # from numpy import array: array([a, b])
            x = self._stacked(value)
        else:
            x = self.expr(value)
            x = self.emit("array_copy", x) if copy and dtype is None else x
        return x if dtype is None else self.cast(x, dtype, hint)

    def _stacked(self, display: ast.expr) -> Operand:
        """A (nested) list display as np.array makes it: its items stacked."""
        items = [
            self._stacked(e) if display_items(e) else self.expr(e)
            for e in display_items(display) or []
        ]
        return self.emit("stack", *items)

    def astype(self, node: ast.Call, x: ast.expr, hint: str | None) -> Operand:
        """`x.astype(dtype)`; `copy=` changes no value (numpy may return x itself
        where it is False, which the record of the cast says)."""
        keywords = {kw.arg: kw.value for kw in node.keywords}
        dtype = node.args[0] if node.args else keywords.get("dtype")
        extra = [k for k in keywords if k not in ("dtype", "copy")]
        if (
            dtype is None
            or len(node.args) > 1
            or extra
            or (node.args and "dtype" in keywords)
        ):
            raise self.fn.error(
                node,
                ".astype() takes the dtype and, by keyword, copy; s2s handles no "
                "other arguments",
                "Write x.astype(np.float32) or x.astype(float, copy=False).",
            )
        if "copy" in keywords:
            self._static(keywords["copy"], ".astype's copy")
        return self.cast(self.expr(x), dtype, hint)

    def cast(self, x: Operand, dtype_node: ast.expr, hint: str | None) -> Operand:
        """x cast to a dtype: to floats (the derivative passes, in x's dtype), or
        to integers or bools (a step: no derivative)."""
        dtype = self._dtype(dtype_node) or "float64"  # x.astype(None): numpy's float
        kind = numpy.dtype(dtype).kind
        if kind == "f":
            return self.emit("astype", x, hint=hint, dtype=dtype)
        if kind in "biu":
            return self.emit("astype_int", x, hint=hint, dtype=dtype)
        raise self.fn.error(
            dtype_node,
            f"a cast to {dtype} is not handled by s2s, which differentiates real "
            "numbers",
            "Cast to a float dtype (float, np.float32, np.float64) or to int or bool.",
        )

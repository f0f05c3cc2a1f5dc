"""Forward mode, vector-Jacobian products, Jacobians, Hessians and Hessian-vector
products, against central differences and closed forms.

Every rule case of tests/rule_cases.py is run through forward mode (its tangent rule
comes from the rule table by kind) and checked against central differences along a
seeded random direction, and against the gradient (J v = <grad, v>) at the special
points, where a one-sided difference would not do.  The same cases check the
Hessian-vector product (forward over the generated gradient) against central
differences of the gradient.
"""

from __future__ import annotations

import math
import warnings
import zlib

import custom_functions as cf
import numpy as np
import pytest
import rule_cases as rc
import test_rules as tr

import s2s
from s2s.ad.forward import has_tangent_rule
from s2s.custom import CUSTOM
from s2s.primitives import PRIMITIVES
from s2s.rules import KIND_NAMES

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

H = 1e-6
#: Tangents are checked like gradients: |a - n| <= ATOL + RTOL |n|.
ATOL, RTOL = 1e-7, 1e-5


def _direction(case: tr.Case, args: list) -> tuple[list[int], list]:
    """The differentiated positions and a seeded random tangent for each."""
    rng = np.random.default_rng(zlib.crc32(("direction " + case.id).encode()))
    positions = [case.names.index(n) for n in case.wrt]
    tangents = []
    for i in positions:
        t = rng.standard_normal(np.shape(args[i]))
        tangents.append(t if isinstance(args[i], np.ndarray) else float(t))
    return positions, tangents


def _real_args(case: tr.Case) -> list:
    args = tr.arguments(case)
    return [tr._real(a) if n in case.wrt else a for n, a in zip(case.names, args)] + [
        args[-1]
    ]


def _moved(args: list, positions: list[int], tangents: list, t: float) -> list:
    moved = list(args)
    for i, d in zip(positions, tangents):
        moved[i] = args[i] + t * d
    return moved


def _close(analytic, numeric) -> bool:
    a, n = np.asarray(analytic, float), np.asarray(numeric, float)
    return a.shape == n.shape and bool(np.all(np.abs(a - n) <= ATOL + RTOL * np.abs(n)))


# --- every rule, in forward mode ----------------------------------------------------------


@pytest.mark.parametrize(
    "case", [tr.param(c) for c in tr.RULE_CASES + tr.NONDIFF_CASES]
)
def test_tangent_of_rule_against_central_differences(case):
    f, _ = tr.functions(case)
    args = _real_args(case)
    positions, tangents = _direction(case, args)
    value, tangent = s2s.jvp(f, args, tangents, wrt=case.wrt)
    assert value == pytest.approx(f(*args), rel=1e-12, abs=1e-12)
    numeric = (
        f(*_moved(args, positions, tangents, H))
        - f(*_moved(args, positions, tangents, -H))
    ) / (2 * H)
    assert _close(tangent, numeric), f"jvp {tangent!r}, central differences {numeric!r}"


@pytest.mark.parametrize("case", [tr.param(c) for c in tr.EDGE_CASES])
def test_tangent_at_special_points_agrees_with_the_gradient(case):
    """At kinks and special values the tangent is the gradient (checked against
    central differences in test_rules) along the direction."""
    f, _ = tr.functions(case)
    args = _real_args(case)
    positions, tangents = _direction(case, args)
    _, tangent = s2s.jvp(f, args, tangents, wrt=case.wrt)
    grads = s2s.grad(f, wrt=case.wrt)(*args)
    expected = sum(np.sum(g * t) for g, t in zip(grads, tangents))
    assert tangent == pytest.approx(expected, rel=1e-12, abs=1e-12)


def _hvp_cases(refused: bool = False) -> list:
    """One case per rule row (and shape), except those of the primitives whose
    gradient s2s cannot differentiate again (rc.NOT_TWICE: np.prod, and the spectral
    norm's helper, whose gradient is a second derivative), which are the cases of
    `refused`: there it must say so."""
    return [
        tr.param(c)
        for c in tr.RULE_CASES + tr.NONDIFF_CASES
        if bool(set(c.prims) & set(rc.NOT_TWICE)) == refused
    ]


@pytest.mark.parametrize("case", _hvp_cases(refused=True))
def test_hessian_vector_product_is_refused_where_the_rules_have_none(case):
    f, _ = tr.functions(case)
    args = _real_args(case)
    positions, tangents = _direction(case, args)
    with pytest.raises(s2s.NotTwiceDifferentiableError):
        s2s.hvp(f, args, tangents, wrt=case.wrt)


@pytest.mark.parametrize("case", _hvp_cases())
def test_hessian_vector_product_of_rule_against_the_gradient(case):
    f, _ = tr.functions(case)
    args = _real_args(case)
    positions, tangents = _direction(case, args)
    products = s2s.hvp(f, args, tangents, wrt=case.wrt)
    grad = s2s.grad(f, wrt=case.wrt)
    with warnings.catch_warnings():  # differences may step over a kink's side
        warnings.simplefilter("ignore", RuntimeWarning)
        ahead = grad(*_moved(args, positions, tangents, H))
        behind = grad(*_moved(args, positions, tangents, -H))
    for name, hv, a, b in zip(case.wrt, products, ahead, behind):
        numeric = (np.asarray(a) - np.asarray(b)) / (2 * H)
        assert _close(hv, numeric), f"(H v) for {name}: {hv!r}, differences {numeric!r}"


def test_every_differentiable_primitive_has_a_tangent_rule():
    """Forward mode is built from the rule table: every primitive with an adjoint
    rule has a tangent, derived from its kind or written out (s2s.rules.tangents)."""
    ruled = [n for n, p in PRIMITIVES.items() if p.kind in KIND_NAMES]
    missing = {p for p in ruled if p not in CUSTOM and not has_tangent_rule(p)}
    assert not missing, f"primitives without a tangent rule: {sorted(missing)}"


# --- programs --------------------------------------------------------------------------


def loop_and_branch(x, y, n=4):
    s = x * y
    k = 0
    while s < 6.0:
        s = s * 1.3 + np.sin(x)
        k = k + 1
        if k > n:
            break
    for i in range(n):
        if i % 2 == 0:
            continue
        s = s + np.tanh(y * i) * x
    return s


def vector_field(v, A):
    h = np.tanh(A @ v)
    out = h
    for _ in range(3):
        out = np.sin(out) * v + A.T @ out
    return out * np.exp(-np.sum(v * v))


def test_jvp_of_a_program_with_loops_and_branches():
    rng = np.random.default_rng(4)
    for x, y in [(0.7, 1.1), (2.5, -0.4), (-1.2, 0.3)]:
        dx, dy = rng.standard_normal(2)
        value, tangent = s2s.jvp(loop_and_branch, (x, y), (dx, dy))
        numeric = (
            loop_and_branch(x + H * dx, y + H * dy)
            - loop_and_branch(x - H * dx, y - H * dy)
        ) / (2 * H)
        assert value == loop_and_branch(x, y)
        assert _close(tangent, numeric)


def test_jvp_arguments():
    value, tangent = s2s.jvp(loop_and_branch, (0.7, 1.1, 4), (1.0,), wrt="x")
    grads = s2s.grad(loop_and_branch, wrt=("x", "y"))(0.7, 1.1)
    assert tangent == pytest.approx(grads[0])
    # The default wrt is the first len(tangents) parameters; defaults are filled in.
    assert s2s.jvp(loop_and_branch, (0.7, 1.1), (0.0, 1.0))[1] == pytest.approx(
        grads[1]
    )
    with pytest.raises(s2s.WrtError, match="2 tangents for 1 parameters"):
        s2s.jvp(loop_and_branch, (0.7, 1.1), (1.0, 1.0), wrt="x")
    with pytest.raises(s2s.S2SError, match="do not fit"):
        s2s.jvp(loop_and_branch, (0.7, 1.1, 4, 5), (1.0,))


def _numeric_jacobian(f, x, *rest):
    x = np.asarray(x, float)
    columns = []
    for k in range(x.size):
        e = np.zeros(x.shape)
        e.flat[k] = H
        columns.append((f(x + e, *rest) - f(x - e, *rest)) / (2 * H))
    out_shape = np.shape(f(x, *rest))
    return np.reshape(np.stack(columns, axis=-1), out_shape + x.shape)


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_jacobian_against_central_differences(mode):
    rng = np.random.default_rng(5)
    v, A = rng.standard_normal(3), rng.standard_normal((3, 3))
    J = s2s.jacobian(vector_field, mode=mode)(v, A)
    np.testing.assert_allclose(J, _numeric_jacobian(vector_field, v, A), atol=1e-7)
    JA = s2s.jacobian(vector_field, wrt="A", mode=mode)(v, A)
    assert JA.shape == (3, 3, 3)
    np.testing.assert_allclose(
        JA, _numeric_jacobian(lambda a, b: vector_field(b, a), A, v), atol=1e-7
    )


def test_jacobian_chooses_the_mode_by_sizes(monkeypatch):
    """Few outputs and many inputs: reverse (one vjp per output); the other way round:
    forward (one jvp per input)."""
    from s2s import higher

    used = []
    for name in ("_forward_jacobian", "_reverse_jacobian"):
        original = getattr(higher, name)

        def spy(*args, _original=original, _name=name):
            used.append(_name)
            return _original(*args)

        monkeypatch.setattr(higher, name, spy)
    rng = np.random.default_rng(6)
    x = rng.standard_normal(6)
    s2s.jacobian(wide_to_narrow)(x)
    s2s.jacobian(narrow_to_wide)(x[:2])
    assert used == ["_reverse_jacobian", "_forward_jacobian"]
    np.testing.assert_allclose(
        s2s.jacobian(wide_to_narrow)(x), _numeric_jacobian(wide_to_narrow, x), atol=1e-7
    )
    np.testing.assert_allclose(
        s2s.jacobian(narrow_to_wide)(x[:2]),
        _numeric_jacobian(narrow_to_wide, x[:2]),
        atol=1e-7,
    )


def wide_to_narrow(x):
    return np.stack([np.sum(np.sin(x)), np.sum(x * x) * x[0]])


def narrow_to_wide(x):
    return np.concatenate([np.exp(x), x * x[1], np.outer(x, x).ravel()])


def test_vjp_of_a_vector_valued_function():
    rng = np.random.default_rng(7)
    v, A = rng.standard_normal(3), rng.standard_normal((3, 3))
    w = rng.standard_normal(3)
    value, (gv, gA) = s2s.vjp(vector_field, (v, A), w, wrt=("v", "A"))
    np.testing.assert_array_equal(value, vector_field(v, A))
    np.testing.assert_allclose(gv, w @ _numeric_jacobian(vector_field, v, A), atol=1e-7)
    JA = _numeric_jacobian(lambda a, b: vector_field(b, a), A, v)
    np.testing.assert_allclose(gA, np.tensordot(w, JA, axes=1), atol=1e-7)


def quadratic_form(x, A):
    return x @ A @ x + np.sum(np.sin(x))


def test_hessian_closed_forms():
    rng = np.random.default_rng(8)
    x, A = rng.standard_normal(4), rng.standard_normal((4, 4))
    expected = A + A.T - np.diag(np.sin(x))
    np.testing.assert_allclose(s2s.hessian(quadratic_form)(x, A), expected, atol=1e-12)
    # Mixed blocks: d2/dx dA of x A x is x_k delta_il + x_l delta_ik (a 4 x 4 x 4 block).
    blocks = s2s.hessian(quadratic_form, wrt=("x", "A"))(x, A)
    np.testing.assert_allclose(blocks[0][0], expected, atol=1e-12)
    eye = np.eye(4)
    mixed = np.einsum("il,k->ikl", eye, x) + np.einsum("ik,l->ikl", eye, x)
    np.testing.assert_allclose(blocks[0][1], mixed, atol=1e-12)
    np.testing.assert_allclose(blocks[1][1], np.zeros((4, 4, 4, 4)), atol=0)
    assert blocks[1][0].shape == (4, 4, 4)
    np.testing.assert_allclose(blocks[1][0], np.transpose(mixed, (1, 2, 0)), atol=1e-12)


def test_hessian_of_a_scalar_and_of_logistic_regression():
    from examples import logistic

    assert s2s.hessian(loop_and_branch)(0.7, 1.1) == pytest.approx(
        s2s.grad(s2s.grad(loop_and_branch))(0.7, 1.1)
    )
    rng = np.random.default_rng(9)
    X, y, w = rng.normal(size=(8, 3)), (rng.random(8) > 0.5) * 1.0, rng.normal(size=3)
    p = 1 / (1 + np.exp(-(X @ w + 0.1)))
    expected = X.T @ np.diag(p * (1 - p)) @ X / 8
    H_ = s2s.hessian(logistic.batch_loss)(w, 0.1, X, y)
    np.testing.assert_allclose(H_, expected, rtol=1e-12, atol=1e-15)


# --- the Newton examples ------------------------------------------------------------------


def test_newton_on_a_scalar_function_converges_quadratically():
    from examples import newton_scalar as ex

    x, history = ex.minimize(2.0)

    def slope(x):  # closed forms of the example's derivatives
        s = 4 * x**3 - 6 * x + 1 + sum(math.exp(k * (x - 3)) for k in range(1, 4))
        return s + (3 * (x - 2.5) ** 2 if x > 2.5 else 0.0)

    def curvature(x):
        c = 12 * x**2 - 6 + sum(k * math.exp(k * (x - 3)) for k in range(1, 4))
        return c + (6 * (x - 2.5) if x > 2.5 else 0.0)

    expected, steps = 2.0, [abs(slope(2.0))]
    while steps[-1] >= 1e-12:
        expected -= slope(expected) / curvature(expected)
        steps.append(abs(slope(expected)))
    assert len(history) == len(steps) == 7  # six Newton steps from x = 2
    np.testing.assert_allclose(history, steps, rtol=1e-9, atol=1e-15)
    assert x == pytest.approx(expected, abs=1e-14)
    # Quadratic convergence: the error is about squared at each late step.
    late = history[-4:]
    for before, after in zip(late, late[1:]):
        assert after < 10 * before**2
    for point in (2.0, 2.7, -1.3):  # both sides of the wall's branch
        assert s2s.derivative(ex.energy, "hvp")(point, 1.0) == pytest.approx(
            curvature(point), rel=1e-12
        )
        assert s2s.grad(s2s.grad(ex.energy))(point) == pytest.approx(
            curvature(point), rel=1e-12
        )


def test_newton_cg_on_logistic_regression_matches_exact_newton():
    from examples import newton_logistic as ex

    X, y = ex.data()
    lam = 0.1
    w, norms = ex.newton(np.zeros(X.shape[1]), X, y, lam)

    exact, exact_norms = np.zeros(X.shape[1]), []
    for _ in range(20):
        p = 1 / (1 + np.exp(-X @ exact))
        g = X.T @ (p - y) / len(y) + lam * exact
        exact_norms.append(np.linalg.norm(g))
        if exact_norms[-1] < 1e-10:
            break
        hessian = X.T @ (X * (p * (1 - p))[:, None]) / len(y) + lam * np.eye(len(exact))
        exact = exact - np.linalg.solve(hessian, g)
    assert len(norms) == len(exact_norms) <= 6
    np.testing.assert_allclose(norms[:4], exact_norms[:4], rtol=1e-6)
    np.testing.assert_allclose(w, exact, atol=1e-10)
    for before, after in zip(norms[1:], norms[2:]):  # quadratic convergence
        assert after < before**2


# --- errors --------------------------------------------------------------------------------


def test_unknown_modes_are_refused():
    with pytest.raises(s2s.S2SError, match="unknown mode"):
        s2s.derivative(loop_and_branch, "backwards")
    with pytest.raises(s2s.S2SError, match="unknown jacobian mode"):
        s2s.jacobian(vector_field, mode="sideways")


def custom_elementwise(x):
    return np.sum(cf.logistic(x) * x)


def custom_other(a, b):
    return np.sum(cf.pairwise_sq_dist(a, b))


def test_forward_mode_through_custom_rules():
    """A custom rule of kind elementwise has a tangent like a built-in one; one of
    kind other has an adjoint only, and forward mode says so."""
    s2s.register(cf.logistic, lambda g, y, x: g * y * (1 - y), kind="elementwise")
    s2s.register(
        cf.pairwise_sq_dist,
        lambda g, y, a, b: 2 * (np.sum(g, axis=1)[:, None] * a - g @ b),
        lambda g, y, a, b: 2 * (np.sum(g, axis=0)[:, None] * b - g.T @ a),
        kind="other",
    )
    try:
        x, v = np.array([0.3, -1.0, 2.0]), np.array([1.0, 0.5, -0.25])
        _, tangent = s2s.jvp(custom_elementwise, (x,), (v,))
        assert tangent == pytest.approx(s2s.grad(custom_elementwise)(x) @ v)
        a, b = np.ones((2, 3)), np.zeros((4, 3))
        with pytest.raises(s2s.UnsupportedSyntaxError, match="no tangent rule for"):
            s2s.jvp(custom_other, (a, b), (a,), wrt="a")
        s2s.check_grad(custom_other, a, b, wrt=("a", "b"))  # reverse mode works
    finally:
        s2s.unregister(cf.logistic)
        s2s.unregister(cf.pairwise_sq_dist)

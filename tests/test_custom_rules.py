"""Custom derivative rules (s2s.register): used exactly like built-in rules, written into
the generated module, checked against central differences; bad rules and missing rules
give clear errors."""

import math
import os
import subprocess
import sys

import custom_functions as cf
import numpy as np
import pytest
import scipy.special
from scipy.special import expit, gammaln

import s2s
from s2s.errors import RuleError
from s2s.pipeline import generate
from s2s.primitives import PRIMITIVES


@pytest.fixture
def rules():
    """Register rules for the test and forget them afterwards."""
    registered = []

    def register(fn, *args, **kwargs):
        registered.append(fn)
        return s2s.register(fn, *args, **kwargs)

    yield register
    for fn in registered:
        s2s.unregister(fn)


RNG = np.random.default_rng(7)
X = RNG.standard_normal((6, 3))
W = RNG.standard_normal(3)
T = (RNG.random(6) < 0.5).astype(float)


def logistic_loss(w, X, t):
    p = expit(X @ w)
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))


def test_scipy_ufunc_rule_as_in_the_readme(rules):
    rules(scipy.special.expit, lambda g, y, x: g * y * (1 - y))
    s2s.check_grad(logistic_loss, W, X, T)
    source = s2s.grad(logistic_loss).source
    assert "import scipy.special\n" in source
    assert "scipy.special.expit(X @ w)" in source
    # The rule's code is in the module, not a call back into s2s.
    assert "import s2s" not in source
    assert "* (1 - p)" in source or "* sub" in source


def test_generated_module_runs_alone(rules, tmp_path):
    """Written to disk, the module needs numpy and the function's own library only."""
    rules(scipy.special.expit, lambda g, y, x: g * y * (1 - y))
    g = s2s.grad(logistic_loss)
    path = tmp_path / "logistic_loss_grad.py"
    path.write_text(g.source)
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    np.testing.assert_allclose(namespace["logistic_loss_grad"](W, X, T), g(W, X, T))


def test_rule_with_real_numpy_and_broadcasting(rules):
    """An elementwise rule (a ufunc's default kind) is summed back over broadcasting."""
    rules(gammaln, lambda g, y, x: g * scipy.special.psi(x))
    rules(scipy.special.psi, lambda g, y, x: g * scipy.special.polygamma(1, x))

    def f(a, b):
        return np.sum(gammaln(a + b) * b)

    def digamma_sum(a):
        return np.sum(scipy.special.psi(a))

    # polygamma is Python code that calls the ufunc zeta, which has no rule.
    with pytest.raises(RuleError, match="zeta"):
        s2s.grad(digamma_sum)
    a, b = RNG.uniform(1, 2, (3, 1)), RNG.uniform(1, 2, 4)
    s2s.check_grad(f, a, b, wrt=(0, 1))


def test_python_function_with_a_parameter(rules):
    """Parameters with defaults are constants, given to the rules as keywords."""
    rules(cf.softplus, lambda g, y, x, beta: g * s2s.call(cf.logistic, beta * x))
    rules(cf.logistic, lambda g, y, x: g * y * (1 - y))

    def f(x):
        return np.sum(cf.softplus(x, beta=2.0)) + np.sum(cf.softplus(x) ** 2)

    x = RNG.standard_normal(5)
    s2s.check_grad(f, x)
    source = s2s.grad(f).source
    assert "custom_functions.softplus(x, beta=2.0)" in source
    assert "custom_functions.logistic(2.0 * x)" in source


def test_rule_of_kind_other_handles_shapes(rules):
    rules(
        cf.pairwise_sq_dist,
        lambda g, y, a, b: 2 * (a * np.sum(g, axis=1)[:, None] - g @ b),
        lambda g, y, a, b: 2 * (b * np.sum(g, axis=0)[:, None] - g.T @ a),
    )

    def f(a, b):
        return np.sum(np.exp(-cf.pairwise_sq_dist(a, b)))

    s2s.check_grad(
        f, RNG.standard_normal((4, 2)), RNG.standard_normal((3, 2)), wrt=(0, 1)
    )


def test_compiled_builtin_function(rules):
    # (math.erf, the example here once, is built in now)
    rules(math.exp2, lambda g, y, x: g * y * math.log(2.0))

    def f(x):
        return math.exp2(x) * x

    s2s.check_grad(f, 0.3)
    assert "math.exp2(x)" in s2s.grad(f).source


def test_a_rule_unpacks_what_a_numpy_function_returns(rules):
    """np.linalg.eigh in a rule gives its eigenvalues and eigenvectors, as numpy."""

    def rule(g, y, a):
        w, v = np.linalg.eigh((a + a.T) / 2)
        return g * np.outer(v[:, -1], v[:, -1])

    rules(cf.top_eigenvalue, rule)

    def f(a):
        return cf.top_eigenvalue(a) ** 2

    a = np.array([[2.0, 0.3, 0.1], [0.2, 1.0, 0.4], [0.0, 0.5, -1.0]])
    s2s.check_grad(f, a)
    assert "np.linalg.eigh(" in s2s.grad(f).source


def test_nondifferentiable_registration(rules):
    rules(cf.hard_threshold, nondifferentiable=True)

    def f(x):
        return np.sum(cf.hard_threshold(x) * x)

    x = np.array([0.5, -2.0, 3.0])
    np.testing.assert_allclose(s2s.grad(f)(x), cf.hard_threshold(x))


def test_registered_without_rules_is_an_error_when_differentiated(rules):
    rules(cf.no_rule)

    def f(x):
        return np.sum(cf.no_rule(x) * x)

    def g(x, y):
        return np.sum(cf.no_rule(y) * x)

    with pytest.raises(RuleError, match="without a derivative rule") as info:
        s2s.grad(f)
    assert info.value.lineno is not None
    np.testing.assert_allclose(s2s.grad(g)(np.ones(3), np.arange(3.0)), [0, 1, 2])


def test_unknown_function_shows_how_to_register():
    def f(x):
        return np.sum(scipy.special.erfc(x))

    with pytest.raises(s2s.UnknownFunctionError) as info:
        s2s.grad(f)
    text = str(info.value)
    assert "no derivative rule for scipy.special.erfc()" in text
    assert "s2s.register(scipy.special.erfc, lambda g, out, x:" in text
    assert info.value.lineno == f.__code__.co_firstlineno + 1


@pytest.mark.parametrize(
    "rule, words",
    [
        (lambda g, y, x: np.fft.fft(g), "fft"),
        (lambda g, y, x: 1.0, "not an expression of g"),
        (lambda g, y: g, "TypeError"),
        (lambda g, y, x: g * np.ones(3), "cannot use"),
    ],
    ids=["unknown function", "constant", "wrong signature", "array constant"],
)
def test_bad_rules_say_which_rule_and_where(rules, rule, words):
    rules(scipy.special.expit, rule)
    with pytest.raises(RuleError) as info:
        s2s.grad(logistic_loss)
    text = str(info.value)
    assert words in text
    assert "scipy.special.expit" in text and "defined at" in text
    assert info.value.lineno == logistic_loss.__code__.co_firstlineno + 1


def _keeps_its_first_g():
    kept = []

    def rule(g, y, x):
        kept.append(g)
        return kept[0] * y * (1 - y)

    return rule


_WRONG_RULES = {
    "a value kept between calls": (_keeps_its_first_g, "made in an earlier call"),
    "a constant code cannot spell": (
        lambda: lambda g, y, x: np.ones_like(g, dtype=int) * g * y * (1 - y),
        "cannot be written as Python code",
    ),
    "a Python condition": (
        lambda: lambda g, y, x: g * y * (1 - y) if x > 0 else g,
        "used a symbolic value as a condition",
    ),
}


def logistic_loss_again(w, X, t):
    p = expit(X @ w)
    return -np.mean(t * np.log(p) + (1 - t) * np.log1p(-p))


@pytest.mark.parametrize("mode", ["grad", "called on arrays", "graph", "hvp"])
@pytest.mark.parametrize("case", sorted(_WRONG_RULES))
def test_a_wrong_rule_is_the_users_rule_error_not_an_internal_one(rules, case, mode):
    """Mistakes a rule makes that only a later stage would trip over (as an
    InternalError, a SyntaxError, or a silently wrong branch) are caught where the
    rule runs, naming the rule and the line being differentiated."""
    make, words = _WRONG_RULES[case]
    rules(scipy.special.expit, make(), kind="elementwise")
    if case == "a value kept between calls":
        generate(logistic_loss)  # the rule's first call is right: it keeps this g
    run = {
        "grad": lambda: s2s.grad(logistic_loss_again),
        "called on arrays": lambda: s2s.grad(logistic_loss_again)(W, X, T),
        "graph": lambda: s2s.graph(logistic_loss_again, W, X, T),
        "hvp": lambda: s2s.hvp(logistic_loss_again, (W, X, T), (W,)),
    }[mode]
    with pytest.raises(RuleError) as info:
        run()
    assert not isinstance(info.value, s2s.InternalError)
    text = str(info.value)
    assert words in text
    assert "the rule for scipy.special.expit (argument 'x') (defined at" in text
    assert info.value.lineno == logistic_loss_again.__code__.co_firstlineno + 1


def test_registration_errors():
    with pytest.raises(RuleError, match="2 rule"):
        s2s.register(cf.logistic, lambda g, y, x: g, lambda g, y, x: g)
    with pytest.raises(RuleError, match="already has a rule"):
        s2s.register(np.exp, lambda g, y, x: g * y)
    with pytest.raises(RuleError, match="kind"):
        s2s.register(cf.logistic, lambda g, y, x: g, kind="smooth")
    with pytest.raises(RuleError, match="import"):

        def local(x):
            return x

        s2s.register(local, lambda g, y, x: g)
    assert s2s.custom.lookup_object(cf.logistic) is None  # nothing half-registered


def test_reregistering_replaces_the_rule(rules):
    rules(cf.logistic, lambda g, y, x: 2 * g)  # wrong on purpose
    rules(cf.logistic, lambda g, y, x: g * y * (1 - y))

    def f(x):
        return np.sum(cf.logistic(x))

    s2s.check_grad(f, RNG.standard_normal(4))


def test_kinds_are_recorded(rules):
    rules(expit, lambda g, y, x: g * y * (1 - y))
    rules(
        cf.pairwise_sq_dist,
        lambda g, y, a, b: None,
        lambda g, y, a, b: None,
        kind="bilinear",
    )
    assert PRIMITIVES["scipy.special.expit"].kind == "elementwise"
    assert PRIMITIVES["custom_functions.pairwise_sq_dist"].kind == "bilinear"


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOW = ["-m", "s2s", "show", "examples/custom_rule.py:loss", "--wrt", "w,b"]


def test_command_line_imports_the_rules_it_is_given():
    run = subprocess.run(
        [sys.executable, *SHOW, "--rules", "examples/custom_rules.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "import scipy.special\n" in run.stdout
    assert "p = scipy.special.expit(matmul + b)" in run.stdout


def test_command_line_without_the_rules_says_how_to_register():
    run = subprocess.run(
        [sys.executable, *SHOW], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 2
    assert "s2s.register(expit, lambda g, out, x:" in run.stderr
    assert "Traceback" not in run.stderr


def test_example_with_custom_rules():
    import examples.custom_rules  # noqa: F401  (registers the rules)
    from examples.custom_rule import loss

    try:
        rng = np.random.default_rng(5)
        X, y = rng.standard_normal((8, 3)), (rng.random(8) < 0.5).astype(float)
        s2s.check_grad(loss, rng.standard_normal(3), 0.3, X, y, wrt=("w", "b"))
    finally:
        s2s.unregister(scipy.special.expit)
        s2s.unregister(scipy.special.erf)


def _readme_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


def test_readme_registration_works_as_written():
    """The README's first custom-rule example, run as a new user would run it."""
    block = next(b for b in _readme_blocks() if "s2s.register(scipy.special.expit" in b)
    try:
        exec(block, {})
        s2s.check_grad(logistic_loss, W, X, T)
        assert "scipy.special.expit(X @ w)" in s2s.grad(logistic_loss).source
    finally:
        s2s.unregister(scipy.special.expit)

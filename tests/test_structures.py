"""Structured parameters: dicts, lists, tuples and namedtuples of arrays in,
gradients of the same layout out (issue 16).

Each function is written the way ML and science code keeps its parameters, and
every leaf of its gradient is checked against central differences.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Annotated

import numpy as np
import pytest

import s2s
from s2s.errors import S2SError, ShapeMismatchError, ShapeSpecError, WrtError
from s2s.structures import StructureError, layout_of, leaves_of, rebuilt

H = 1e-6
RNG = np.random.default_rng(16)


def normal(*shape):
    return RNG.normal(size=shape)


def central_leaves(f, args, k):
    """Central differences of f with respect to each numeric leaf of args[k]
    (None for a leaf that is not a number)."""
    layout = layout_of(args[k], "arg")
    leaves = leaves_of(args[k], layout)
    kinds = [leaf.kind for _, leaf in layout.leaves("")]
    found = []
    for at, (leaf, kind) in enumerate(zip(leaves, kinds)):
        if kind != "leaf":
            found.append(None)
            continue
        x = np.array(leaf, dtype=float)
        g = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            for sign in (1, -1):
                moved = x.copy()
                moved[index] += sign * H
                changed = list(leaves)
                changed[at] = moved if x.ndim else float(moved)
                shifted = list(args)
                shifted[k] = rebuilt(layout, iter(changed))
                g[index] += sign * f(*shifted)
            g[index] /= 2 * H
        found.append(g)
    return found


def assert_gradient(f, args, k=0, got=None):
    """s2s.grad(f, k) at args matches central differences on every leaf, in the
    layout of args[k]."""
    got = s2s.grad(f, k)(*args) if got is None else got
    layout = layout_of(args[k], "arg")
    assert layout_of(got, "grad") == layout_of(
        rebuilt(layout, iter(leaves_of(got, layout))), "grad"
    )
    assert type(got) is type(args[k])
    if isinstance(got, dict):
        assert list(got) == list(args[k])  # same keys, same order
    for ours, theirs in zip(leaves_of(got, layout), central_leaves(f, args, k)):
        if theirs is None:
            assert ours is None
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    return got


# --- the corpus -------------------------------------------------------------------


def mlp_dict(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    return np.mean((logits - y) ** 2)


def mlp_layers(layers, x):
    for W, b in layers:
        x = np.tanh(x @ W + b)
    return np.sum(x**2)


def mlp_indexed(weights, x):
    for i in range(len(weights)):
        x = np.tanh(x @ weights[i])
    return np.sum(x)


def mlp_fstring_keys(params, x):
    n_layers = len(params) // 2
    for i in range(n_layers):
        x = np.tanh(x @ params[f"W{i}"] + params[f"b{i}"])
    return np.sum(x**2)


def nested_layers(params, x):
    total = 0.0
    for name, layer in params.items():
        total = total + np.sum(np.sin(x @ layer["W"])) * layer["scale"]
    return total


def zip_enumerate(Ws, bs, x):
    s = 0.0
    for k, (W, b) in enumerate(zip(Ws, bs)):
        s = s + (k + 1) * np.sum(np.tanh(x @ W + b))
    return s


def unpacked(params, x):
    W, b = params
    return np.sum(np.exp(-((x @ W + b) ** 2)))


def helper_layer(layer, x):
    return np.tanh(x @ layer["W"] + layer["b"])


def through_helper(params, x):
    h = helper_layer(params["hidden"], x)
    return np.sum(helper_layer(params["out"], h))


Linear = namedtuple("Linear", "W b")


def namedtuple_fields(p, x):
    return np.sum((x @ p.W + p.b) ** 2)


def reversed_layers(layers, x):
    for W in reversed(layers):
        x = np.sin(W @ x)
    return np.sum(x)


def ridge(theta, X, y):
    """Linear regression with an intercept, parameters in a dict, and an L2
    penalty summed over the structure."""
    pred = X @ theta["w"] + theta["c"]
    penalty = sum(np.sum(v**2) for v in theta.values())
    return np.mean((pred - y) ** 2) + 0.1 * penalty


def flax_style(params, x):
    """Parameters nested as Flax keeps them, layers named in a tuple."""
    for name in ("dense1", "dense2"):
        layer = params[name]
        x = np.tanh(x @ layer["kernel"] + layer["bias"])
    return np.mean(x**2)


def linear_regression(theta, X, y):
    w, b = theta
    return 0.5 * np.mean((X @ w + b - y) ** 2)


def relu_layers_with_l2(layers, x, l2=1e-3):
    reg = 0.0
    for layer in layers:
        x = np.maximum(0.0, x @ layer["W"] + layer["b"])
        reg = reg + np.sum(layer["W"] ** 2)
    return np.sum(x) + l2 * reg


CASES = [
    (
        mlp_dict,
        lambda: [
            {"W1": normal(3, 4), "b1": normal(4), "W2": normal(4), "b2": 0.3},
            normal(5, 3),
            normal(5),
        ],
    ),
    (
        mlp_layers,
        lambda: [[(normal(3, 4), normal(4)), (normal(4, 2), normal(2))], normal(5, 3)],
    ),
    (mlp_indexed, lambda: [[normal(3, 4), normal(4, 4), normal(4, 2)], normal(2, 3)]),
    (
        mlp_fstring_keys,
        lambda: [
            {"W0": normal(3, 4), "b0": normal(4), "W1": normal(4, 2), "b1": normal(2)},
            normal(5, 3),
        ],
    ),
    (
        nested_layers,
        lambda: [
            {
                "a": {"W": normal(3, 2), "scale": 2.0},
                "b": {"W": normal(3, 1), "scale": 0.5, "note": None},
            },
            normal(4, 3),
        ],
    ),
    (unpacked, lambda: [(normal(3, 2), normal(2)), normal(4, 3)]),
    (
        through_helper,
        lambda: [
            {
                "hidden": {"W": normal(3, 4), "b": normal(4)},
                "out": {"W": normal(4, 2), "b": normal(2)},
            },
            normal(5, 3),
        ],
    ),
    (namedtuple_fields, lambda: [Linear(normal(3, 2), normal(2)), normal(4, 3)]),
    (reversed_layers, lambda: [[normal(3, 2), normal(2, 3)], normal(3)]),
    (ridge, lambda: [{"w": normal(3), "c": 0.5}, normal(6, 3), normal(6)]),
    (
        flax_style,
        lambda: [
            {
                "dense1": {"kernel": normal(3, 5), "bias": normal(5)},
                "dense2": {"kernel": normal(5, 2), "bias": normal(2)},
            },
            normal(4, 3),
        ],
    ),
    (linear_regression, lambda: [(normal(3), 0.1), normal(5, 3), normal(5)]),
    (
        relu_layers_with_l2,
        lambda: [
            [{"W": normal(3, 4), "b": normal(4)}, {"W": normal(4, 2), "b": normal(2)}],
            normal(5, 3),
        ],
    ),
]


@pytest.mark.parametrize("f, make", CASES, ids=[f.__name__ for f, _ in CASES])
def test_gradient_of_a_structure_matches_central_differences(f, make):
    assert_gradient(f, make())


def test_zip_and_enumerate_over_two_lists():
    args = [[normal(3, 2), normal(3, 2)], [normal(2), normal(2)], normal(4, 3)]
    grads = s2s.grad(zip_enumerate, wrt=(0, 1))(*args)
    assert_gradient(zip_enumerate, args, 0, grads[0])
    assert_gradient(zip_enumerate, args, 1, grads[1])


def test_a_parameter_after_a_structure_is_differentiated_too():
    args = [{"W": normal(3, 2), "b": normal(2)}, normal(4, 3)]
    g_params, g_x = s2s.grad(through_helper_flat, wrt=("params", "x"))(*args)
    assert_gradient(through_helper_flat, args, 0, g_params)
    x_num = central_leaves(through_helper_flat, args, 1)[0]
    np.testing.assert_allclose(g_x, x_num, rtol=1e-5, atol=1e-7)


def through_helper_flat(params, x):
    return np.sum(helper_layer(params, x) ** 2)


def test_none_leaves_stay_none_and_ints_become_reals():
    def f(p, x):
        return np.sum(p["w"] * x) * p["k"]

    g = s2s.grad(f)({"w": np.array([1, 2, 3]), "k": 2, "skip": None}, np.ones(3))
    assert g["skip"] is None
    assert g["w"].dtype == np.float64
    np.testing.assert_allclose(g["w"], 2 * np.ones(3))
    np.testing.assert_allclose(g["k"], 6.0)


def test_float32_leaves_get_float32_gradients():
    params = {"W": normal(3, 2).astype(np.float32), "b": np.zeros(2, np.float32)}
    g = s2s.grad(namedtuple_to_dict_loss)(params, normal(4, 3))
    assert g["W"].dtype == np.float32 and g["b"].dtype == np.float32


def namedtuple_to_dict_loss(params, x):
    return np.sum(np.tanh(x @ params["W"] + params["b"]))


def test_a_new_layout_gets_new_code_and_the_old_code_is_kept():
    g = s2s.grad(mlp_indexed)
    two = [normal(3, 4), normal(4, 2)]
    three = [normal(3, 4), normal(4, 4), normal(4, 2)]
    x = normal(2, 3)
    assert_gradient(mlp_indexed, [two, x], got=g(two, x))
    assert_gradient(mlp_indexed, [three, x], got=g(three, x))
    assert len(g(two, x)) == 2 and len(g(three, x)) == 3
    assert "weights[2]" in g.source_for(three, x)
    assert "weights[2]" not in g.source_for(two, x)


def test_generated_code_reads_each_leaf_and_returns_the_structure():
    args = CASES[0][1]()
    text = s2s.grad(mlp_dict).source_for(*args)
    assert 'W1 = params["W1"]' in text
    assert 'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}' in text
    layers = CASES[1][1]()
    text = s2s.grad(mlp_layers).source_for(*layers)
    assert "W = layers[0][0]" in text and "b_1 = layers[1][1]" in text
    text = s2s.grad(namedtuple_fields).source_for(*CASES[7][1]())
    assert "W = p.W" in text and "type(p)(W=dW, b=db)" in text


def test_value_and_grad_of_a_structure():
    args = CASES[0][1]()
    value, g = s2s.value_and_grad(mlp_dict)(*args)
    assert value == pytest.approx(mlp_dict(*args))
    assert_gradient(mlp_dict, args, got=g)


def classify(params, X, y):
    logits = X @ params["W"] + params["b"]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(np.sum(y * log_p, axis=1))
    accuracy = np.mean(np.argmax(logits, axis=1) == np.argmax(y, axis=1))
    return loss, {"accuracy": accuracy, "logits": logits}


def test_has_aux_passes_aux_on_with_grad_and_value_and_grad():
    X, labels = normal(8, 3), RNG.integers(0, 2, size=8)
    y = np.eye(2)[labels]
    params = {"W": normal(3, 2), "b": normal(2)}
    g, aux = s2s.grad(classify, has_aux=True)(params, X, y)
    (value, aux2), g2 = s2s.value_and_grad(classify, has_aux=True)(params, X, y)
    loss, expected = classify(params, X, y)
    assert value == pytest.approx(loss)
    for a in (aux, aux2):
        assert set(a) == {"accuracy", "logits"}
        assert a["accuracy"] == pytest.approx(expected["accuracy"])
        np.testing.assert_allclose(a["logits"], expected["logits"])
    assert_gradient(lambda *a: classify(*a)[0], [params, X, y], got=g)
    assert_gradient(lambda *a: classify(*a)[0], [params, X, y], got=g2)


def test_has_aux_on_arrays_and_a_function_without_a_pair_is_refused():
    def f(x):
        return np.sum(x**2), np.max(x)

    g, aux = s2s.grad(f, has_aux=True)(np.array([1.0, -3.0]))
    np.testing.assert_allclose(g, [2.0, -6.0])
    assert aux == 1.0

    def single(x):
        return np.sum(x)

    with pytest.raises(S2SError, match="must return a pair"):
        s2s.grad(single, has_aux=True)


def test_argnums_is_wrt():
    args = CASES[0][1]()
    a = s2s.grad(mlp_dict, argnums=0)(*args)
    b = s2s.grad(mlp_dict, wrt="params")(*args)
    assert all(np.allclose(a[k], b[k]) for k in a)
    with pytest.raises(WrtError, match="both wrt"):
        s2s.grad(mlp_dict, wrt=1, argnums=0)


def test_no_internal_names_in_messages():
    with pytest.raises(TypeError) as caught:
        s2s.grad(mlp_dict, frobnicate=True)
    assert "<locals>" not in str(caught.value)
    assert "grad()" in str(caught.value)


def quadratic(params, x):
    return np.sum(np.sin(x @ params["W"]) ** 2) + np.sum(params["b"] ** 3)


def test_hvp_jvp_vjp_take_structures_of_tangents():
    params = {"W": normal(3, 2), "b": normal(2)}
    v = {"W": normal(3, 2), "b": normal(2)}
    x = normal(4, 3)
    grad = s2s.grad(quadratic)
    h = s2s.hvp(quadratic, (params, x), (v,))
    assert list(h) == ["W", "b"]
    up = grad({k: params[k] + H * v[k] for k in params}, x)
    down = grad({k: params[k] - H * v[k] for k in params}, x)
    for k in params:
        np.testing.assert_allclose(h[k], (up[k] - down[k]) / (2 * H), rtol=1e-5)
    value, slope = s2s.jvp(quadratic, (params, x), (v,))
    moved = lambda t: quadratic({k: params[k] + t * v[k] for k in params}, x)
    assert value == pytest.approx(quadratic(params, x))
    assert slope == pytest.approx((moved(H) - moved(-H)) / (2 * H), rel=1e-6)
    value, cot = s2s.vjp(quadratic, (params, x), 2.0)
    g = grad(params, x)
    for k in params:
        np.testing.assert_allclose(cot[k], 2.0 * g[k])


def test_a_tangent_of_another_layout_is_refused():
    params = {"W": normal(3, 2), "b": normal(2)}
    with pytest.raises(StructureError, match="tangent of params"):
        s2s.hvp(quadratic, (params, normal(4, 3)), ({"W": normal(3, 2)},))


# --- bad input --------------------------------------------------------------------


def test_a_dict_with_non_string_keys_is_refused_naming_the_path():
    with pytest.raises(StructureError, match=r"params\['inner'\] has the key 1"):
        s2s.grad(nested_layers)({"inner": {1: np.ones(2)}}, np.ones((2, 2)))


def test_an_object_leaf_is_refused_naming_the_path():
    with pytest.raises(StructureError, match=r"params\['W'\] is a object"):
        s2s.grad(namedtuple_to_dict_loss)({"W": object(), "b": 1.0}, np.ones(2))


def test_a_string_leaf_in_a_differentiated_structure_is_refused():
    with pytest.raises(StructureError, match=r"params\['act'\] is the string"):
        s2s.grad(namedtuple_to_dict_loss)(
            {"W": np.ones((2, 2)), "b": np.ones(2), "act": "tanh"}, np.ones(2)
        )


def test_a_missing_key_is_reported_with_the_keys_there_are():
    with pytest.raises(S2SError, match=r"has no key 'b'.*'W'"):
        s2s.grad(namedtuple_to_dict_loss)({"W": np.ones((2, 2))}, np.ones(2))


def test_source_waits_for_arguments_when_the_code_needs_a_structure():
    g = s2s.grad(mlp_dict)
    with pytest.raises(S2SError, match="source_for"):
        g.source
    with pytest.raises(S2SError, match="reads a key of params"):
        g(np.ones(3), np.ones((2, 3)), np.ones(2))


def test_a_key_known_only_at_run_time_is_refused_with_advice():
    def f(params, x, n):
        for i in range(n):
            x = x @ params[f"W{i}"]
        return np.sum(x)

    with pytest.raises(S2SError, match="key known only at run time"):
        s2s.grad(f)({"W0": np.ones((2, 2))}, np.ones(2), 1)


# --- declared layouts (the command line) --------------------------------------------


def declared(params: {"W1": "h d", "b1": "h", "W2": "o h", "b2": "o"}, X: "n d"):
    h = np.tanh(X @ params["W1"].T + params["b1"])
    return np.sum((h @ params["W2"].T + params["b2"]) ** 2)


def declared_list(layers: Annotated[list, [("d h", "h"), ("h o", "o")]], x: "n d"):
    for W, b in layers:
        x = np.tanh(x @ W + b)
    return np.sum(x)


def test_a_declared_layout_is_read_and_checked_on_entry():
    from s2s.pipeline import generate

    text = generate(declared).module.text
    assert "\"params['W1']\"" in text  # the shape check names the leaf by path
    params = {"W1": normal(4, 3), "b1": normal(4), "W2": normal(2, 4), "b2": normal(2)}
    namespace = {}
    exec(compile(generate(declared).module.raw, "<declared>", "exec"), namespace)
    g = namespace["declared_grad"](params, normal(5, 3))
    assert_gradient(declared, [params, normal(5, 3)], got=None)
    assert list(g) == list(params)
    with pytest.raises(ValueError, match=r"params\['b1'\]"):
        namespace["declared_grad"](dict(params, b1=normal(3)), normal(5, 3))
    text = generate(declared_list).module.text
    assert "W_1 = layers[1][0]" in text


def test_a_declared_layout_that_cannot_be_read_is_refused():
    def bad(params: {"W": np.ndarray}, x):
        return np.sum(x @ params["W"])

    with pytest.raises(ShapeSpecError, match=r"layout of params\['W'\]"):
        s2s.pipeline.generate(bad)


def test_reading_parameters_as_structures_without_a_layout_names_the_remedy(tmp_path):
    from s2s.frontend.static import parse_file
    from s2s.pipeline import generate

    path = tmp_path / "model.py"
    path.write_text(
        "import numpy as np\n\n"
        "def loss(params, x):\n"
        "    return np.sum(x @ params['W'])\n"
    )
    with pytest.raises(S2SError, match="declare its layout in the signature"):
        generate(parse_file(str(path), "loss"))


def test_math_on_leaves():
    def f(p):
        return math.exp(p["a"]) * math.sin(p["b"])

    assert_gradient(f, [{"a": 0.3, "b": 1.2}])


def test_the_dict_mlp_example_trains_with_sgd_and_adam():
    from examples import mlp_dict

    X, Y = mlp_dict.two_moons()
    for train in (mlp_dict.sgd, mlp_dict.adam):
        params, history = train(mlp_dict.initial(), X, Y, steps=300)
        assert set(params) == {"W1", "b1", "W2", "b2"}
        (first, _), (last, accuracy) = history[0], history[-1]
        assert last < 0.2 * first and accuracy > 0.95
        assert mlp_dict.loss(params, X, Y)[0] == pytest.approx(last, rel=0.05)


def total_energy(*xs):
    return sum(np.sum(x**2) for x in xs)


def scaled_sines(a, *xs, scale=2.0):
    s = 0.0
    for x in xs:
        s = s + np.sum(np.sin(a * x))
    return s * scale


def test_star_args_is_a_tuple_whose_length_the_code_is_written_for():
    xs = (normal(2), normal(3), 0.5)
    g = s2s.grad(total_energy)(*xs)
    assert isinstance(g, tuple) and len(g) == 3
    for ours, x in zip(g, xs):
        np.testing.assert_allclose(ours, 2 * np.asarray(x))
    args = [0.7, normal(2), normal(3, 2)]
    g_xs = s2s.grad(scaled_sines, wrt="xs")(*args, scale=3.0)
    f = lambda a, xs: scaled_sines(a, *xs, scale=3.0)
    assert_gradient(f, [args[0], tuple(args[1:])], 1, got=g_xs)
    g_a = s2s.grad(scaled_sines)(*args)
    expected = central_leaves(lambda a: scaled_sines(a, *args[1:]), [args[0]], 0)[0]
    assert g_a == pytest.approx(float(expected), rel=1e-6)
    assert "x_1 = xs[1]" in s2s.grad(scaled_sines).source_for(*args)


def test_star_args_after_a_defaulted_parameter_is_refused():
    def f(a, b=1.0, *xs):
        return a * b * sum(xs)

    with pytest.raises(S2SError, match=r"before \*xs has a default"):
        s2s.grad(f)(1.0, 2.0, 3.0)


def test_a_structure_unlike_its_declaration_is_refused_naming_the_path():
    g = s2s.grad(declared)
    params = {"W1": normal(4, 3), "b1": normal(4), "W2": normal(2, 4), "b2": normal(2)}
    X = normal(5, 3)
    assert_gradient(declared, [params, X], got=g(params, X))
    del params["b2"]
    with pytest.raises(StructureError, match=r"params is \{'W1': array"):
        g(params, normal(5, 3))
    with pytest.raises(StructureError, match="params is not a structure"):
        g(normal(3), normal(5, 3))
    with pytest.raises(ShapeMismatchError, match=r"params\['b1'\]"):  # shapes too
        g(
            {"W1": normal(4, 3), "b1": normal(3), "W2": normal(2, 4), "b2": normal(2)},
            normal(5, 3),
        )

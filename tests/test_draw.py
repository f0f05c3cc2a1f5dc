"""Pictures of the computation graph (issue 7): the seeds' numbers in the DOT text,
every drawn adjoint against the generated gradient or central differences, clusters
for branches and loops, the CLI, and rendering with Graphviz."""

import html
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

import s2s
from examples import chain_rule, graph, logistic, mlp, neuron, newton, rnn
from s2s import draw, evaluate, scene
from s2s.cli import main
from s2s.frontend import parse_function
from s2s.ir import walk
from s2s.lower import lower

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PICTURES = os.path.join(ROOT, "docs", "pictures")


def nodes(dot: str) -> dict[str, list[str]]:
    """Each node's label rows as plain text, keyed by its title (the bold row)."""
    found = {}
    for label in re.findall(r"label=<<table[^>]*>(.*?)</table>>", dot):
        cells = re.findall(r"<tr><td>(.*?)</td></tr>", label)
        rows = [html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in cells]
        where = next(i for i, cell in enumerate(cells) if "point-size" in cell)
        found[rows[where - 1]] = rows
    return found


# --- the seed's J(a, b, c) -------------------------------------------------------------


def test_J_picture_has_the_seed_numbers():
    """Seeds 000/003 at (5, 3, 2): u=6, v=11, J=33; dv=3, da=3, du=3, db=6, dc=9."""
    dot = draw.draw_file("examples/graph.py", "J", ["a=5,b=3,c=2"]).dot
    assert nodes(dot) == {
        "a": ["5", "a", "input", "da = 3"],
        "b": ["3", "b", "input", "db = 6"],
        "c": ["2", "c", "input", "dc = 9"],
        "u = b * c": ["6", "u = b * c", "graph.py:13", "du = 3"],
        "v = a + u": ["11", "v = a + u", "graph.py:14", "dv = 3"],
        "J = 3 * v": ["33", "J = 3 * v", "graph.py:15", "dJ = 1"],
    }
    green, red = scene.VALUE_COLOR, scene.ADJOINT_COLOR
    for value in ("5", "3", "2", "6", "11", "33"):
        assert f'<font color="{green}">{value}</font>' in dot
    for adjoint in ("dv = 3", "da = 3", "du = 3", "db = 6", "dc = 9"):
        assert f'<font color="{red}">{adjoint}</font>' in dot
    edges = re.findall(r"(n\d+) -> (n\d+)", dot)
    assert len(edges) == 5  # b, c -> u; a, u -> v; v -> J
    assert dot.count("peripheries=2") == 1  # the output


def test_J_renders_as_svg_and_png(dot_program, tmp_path):
    picture = s2s.graph(graph.J, 5, 3, 2)
    picture.save(str(tmp_path / "J.svg"))
    tree = ElementTree.parse(tmp_path / "J.svg")
    texts = {t.text for t in tree.iter("{http://www.w3.org/2000/svg}text")}
    assert {"33", "u = b * c", "du = 3", "dc = 9"} <= texts
    assert picture._repr_svg_().lstrip().startswith("<?xml")
    picture.save(str(tmp_path / "J.png"))
    assert (tmp_path / "J.png").read_bytes().startswith(b"\x89PNG")


def test_api_and_cli_draw_the_same(capsys):
    assert main(["graph", "examples/graph.py:J", "--at", "a=5,b=3,c=2"]) == 0
    assert capsys.readouterr().out == s2s.graph(graph.J, 5, 3, 2).dot


# --- every adjoint drawn is right ---------------------------------------------------------

RNG = np.random.default_rng(7)
T, BATCH, INPUTS, HIDDEN = 4, 3, 2, 5
RNN_ARGS = (
    RNG.normal(size=(INPUTS, HIDDEN)) * 0.5,
    RNG.normal(size=(HIDDEN, HIDDEN)) * 0.3,
    RNG.normal(size=HIDDEN) * 0.1,
    RNG.normal(size=(T, BATCH, INPUTS)),
    RNG.normal(size=(BATCH, HIDDEN)) * 0.1,
)
MLP_ARGS = (
    RNG.normal(size=(5, 4)) * 0.5,
    RNG.normal(size=(3, 5)) * 0.5,
    RNG.normal(size=(4, 6)),
    np.eye(3)[:, RNG.integers(0, 3, 6)],
    0.1,
)


def branches_and_break(x, w, n):
    y = x
    for i in range(n):
        if i % 2 == 0:
            y = y * w
        else:
            y = np.sin(y) + w
        if y > 5.0:
            break
    if y > 0:
        z = y * y
    else:
        z = -y
    return z


CASES = [
    (graph.J, (5.0, 3.0, 2.0), ("a", "b", "c")),
    (chain_rule.f, (-2.0, 5.0, -4.0), ("x", "y", "z")),
    (neuron.neuron, (2.0, -3.0, -3.0, -1.0, -2.0), ("w0", "w1", "w2", "x0", "x1")),
    (logistic.sigmoid_loss, (0.5, -0.3, 0.1, 1.0, 2.0, 1.0), ("w1", "w2", "b")),
    (mlp.J, MLP_ARGS, ("W1", "W2")),
    (rnn.loss, RNN_ARGS, ("Wx", "Wh", "b", "h0")),
    (rnn.loss_all_states, RNN_ARGS, ("Wx", "Wh", "b")),
    (newton.loss, (8.0,), ("a",)),
    (branches_and_break, (0.7, 1.3, 6), ("x", "w")),
    (branches_and_break, (-0.7, 1.3, 1), ("x", "w")),
    (branches_and_break, (0.7, 3.0, 6), ("x", "w")),  # stops at the break
]


@pytest.mark.parametrize("f, args, wrt", CASES)
def test_drawn_input_adjoints_are_the_generated_gradient(f, args, wrt):
    picture = s2s.graph(f, *args, wrt=wrt)
    value, grads = s2s.value_and_grad(f, wrt=wrt)(*args)
    fn = lower(parse_function(f))
    np.testing.assert_allclose(picture.values[fn.result.name], value, rtol=1e-13)
    for name, expected in zip(wrt, grads):
        np.testing.assert_allclose(
            picture.adjoints[name], expected, rtol=1e-10, atol=1e-13, err_msg=name
        )


class _Nudged(evaluate._Runner):
    """Runs the graph with one value moved by `delta` right after it is made."""

    def __init__(self, env, target, delta):
        self.target, self.delta = target, delta
        super().__init__(env)

    def set(self, v, value):
        super().set(v, value + self.delta if v is self.target else value)


@pytest.mark.parametrize(
    "f, args, wrt",
    [
        c
        for c in CASES
        if c[0] in (graph.J, chain_rule.f, neuron.neuron, logistic.sigmoid_loss, mlp.J)
    ],
)
def test_every_drawn_adjoint_matches_central_differences(f, args, wrt):
    """dOutput/dnode for every node of a loop-free graph, by nudging that node."""
    picture = s2s.graph(f, *args, wrt=wrt)
    fn = lower(parse_function(f))
    env = {p: np.asarray(a, dtype=float)[()] for p, a in zip(fn.params, args)}
    by_name = {
        v.name: v for v in fn.params + [v for s in walk(fn.ops) for v in s.defines]
    }
    rng = np.random.default_rng(0)
    assert len(picture.adjoints) > len(wrt)
    for name, adjoint in picture.adjoints.items():
        target = by_name[name]
        value = picture.values[name]
        direction = rng.normal(size=np.shape(value))
        h = 1e-6 * max(1.0, float(np.max(np.abs(value))))

        def output(sign):
            runner = _Nudged(env, target, sign * h * direction)
            runner.block(fn.ops)
            return runner.env[fn.result]

        numeric = (output(1) - output(-1)) / (2 * h)
        analytic = np.sum(adjoint * direction)
        assert abs(analytic - numeric) <= 1e-6 + 1e-5 * abs(numeric), name


def test_neuron_seed_numbers():
    """Seed 001: through 1/x about -0.53, through exp about -0.20; dw, dx as the seed."""
    picture = s2s.graph(neuron.neuron, 2, -3, -3, -1, -2)
    denominator = picture.values["denominator"]
    assert picture.values["f"] == pytest.approx(1 / (1 + np.exp(-1)))
    assert picture.adjoints["denominator"] == pytest.approx(-1 / denominator**2)
    assert round(picture.adjoints["denominator"], 2) == -0.53
    assert round(picture.adjoints["neg"], 2) == -0.20
    dws = [picture.adjoints[n] for n in ("w0", "w1", "w2")]
    assert [round(d, 2) for d in dws] == [-0.20, -0.39, 0.20]
    assert [round(picture.adjoints[n], 2) for n in ("x0", "x1")] == [0.39, -0.59]


# --- loops and branches -----------------------------------------------------------------


def test_loop_is_a_cluster_drawn_once_with_its_trip_count():
    picture = s2s.graph(rnn.loss, *RNN_ARGS)
    dot = picture.dot
    assert dot.count("subgraph cluster_") == 1
    assert f"{T} iterations; values from the last" in dot
    assert len([t for t in nodes(dot) if "np.tanh" in t]) == 1
    # The last iteration's state is the final one, and d(sum h^2)/dh = 2h.
    h_last = picture.values["h_1"]
    np.testing.assert_allclose(picture.adjoints["h_1"], 2 * h_last, rtol=1e-13)
    assert "next" in dot  # the carried value's back edge


def test_loop_carried_running_total_has_adjoint_one():
    picture = s2s.graph(rnn.loss_all_states, *RNN_ARGS, wrt="Wx")
    assert picture.adjoints["total"] == 1.0
    assert picture.adjoints["total_1"] == 1.0


def test_while_loop_shows_its_last_iteration():
    picture = s2s.graph(newton.loss, 8.0)
    assert picture.values["x_2"] == pytest.approx(2.0)
    # The header is shown as it was in the last iteration that ran the body.
    assert bool(picture.values["gt"]) is True
    assert picture.values["magnitude"] == abs(picture.values["step"])
    trips = re.search(r"(\d+) iterations; values from the last", picture.dot)
    assert trips and int(trips.group(1)) > 3


def test_branch_not_taken_is_marked_and_has_no_values():
    picture = s2s.graph(branches_and_break, -0.7, 1.3, 1)
    dot = picture.dot
    # One iteration (i = 0 takes `then`); y stays negative, so `if y > 0` goes to else.
    assert dot.count("else (not run)") == 1 and dot.count("then (not run)") == 1
    rows = nodes(dot)
    assert rows["z = y_4 * y_4"][0] == "not run"
    assert rows["sin = np.sin(y)"][0] == "not run"
    assert "z" not in picture.values and "z" not in picture.adjoints
    assert rows["z_1 = -y_4"][0] == "0.91"
    more = s2s.graph(branches_and_break, -0.7, 1.3, 3).dot
    assert "then (ran 2 of 3 times; last values)" in more
    assert "else (ran 1 of 3 times; last values)" in more


def test_break_ends_the_loop_early():
    picture = s2s.graph(branches_and_break, 0.7, 3.0, 6)
    assert "3 iterations; values from the last" in picture.dot
    assert bool(picture.values["stop"]) is True


def test_loop_that_never_runs():
    picture = s2s.graph(branches_and_break, 0.5, 2.0, 0)
    assert "not run" in picture.dot
    assert picture.adjoints["x"] == pytest.approx(2 * 0.5)


# --- inputs, arrays and the rest -----------------------------------------------------------


def test_structure_only_without_inputs():
    picture = s2s.graph(graph.J)
    assert picture.values == {} and picture.adjoints == {}
    assert nodes(picture.dot)["u = b * c"] == ["u = b * c", "graph.py:13"]
    assert scene.VALUE_COLOR not in picture.dot.split("];", 1)[1]


def test_arrays_show_shape_and_summary_not_every_element():
    def loss(W, x):
        return np.sum(np.tanh(W @ x))

    W = np.arange(12.0).reshape(3, 4) / 10
    picture = s2s.graph(loss, W, np.array([1.0, -1.0, 0.5, 2.0]))
    rows = nodes(picture.dot)["W"]
    assert rows[:2] == ["3×4 array", f"mean {W.mean():.4g} in [0, 1.1]"]
    assert rows[2:5] == ["W", "input", "dW = 3×4 array"] and rows[5].startswith("mean ")
    assert nodes(picture.dot)["x"][0] == "[1, -1, 0.5, 2]"
    assert scene.summary(np.zeros((0, 3))) == ["0×3 array, empty"]
    assert scene.summary(np.array([[True, False]])) == ["1×2 array", "1 of 2 true"]
    assert scene.summary(np.float64(2.5)) == ["2.5"]
    assert scene.summary((5, 3)) == ["(5, 3)"]


def test_small_arrays_in_full_and_no_negative_zeros():
    assert scene.summary(np.array([-0.25, -0.0, -0.25, -0.0])) == [
        "[-0.25, 0, -0.25, 0]"
    ]
    assert scene.summary(-0.0) == ["0"] and scene.summary(np.float64(-0.0)) == ["0"]
    assert scene.summary(np.arange(6.0)) == ["[0, 1, 2, 3, 4, 5]"]
    assert scene.summary(np.arange(6.0).reshape(2, 3) - 3) == [
        "2×3 array",
        "[[-3, -2, -1], [0, 1, 2]]",
    ]
    assert scene.summary(np.arange(7.0)) == ["7 array", "mean 3 in [0, 6]"]


def _svg_width(dot: str) -> float:
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True
    ).stdout.decode()
    return float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))


def test_long_chains_are_ranked_top_to_bottom():
    """The seed's J (a chain of 4) reads left to right; the neuron's chain of 9 top
    to bottom, so that it is narrow enough to read at a page's width."""
    assert "rankdir=LR" in s2s.graph(graph.J, 5, 3, 2).dot
    neuron_dot = s2s.graph(neuron.neuron, 2, -3, -3, -1, -2).dot
    assert "rankdir=TB" in neuron_dot


def test_pictures_fit_a_page(dot_program):
    """The 13-node neuron was 1,175 pt wide left to right (1,567 px at 96 dpi)."""
    assert _svg_width(s2s.graph(neuron.neuron, 2, -3, -3, -1, -2).dot) < 600
    assert _svg_width(s2s.graph(graph.J, 5, 3, 2).dot) < 600


def _legend(dot: str) -> str:
    label = re.search(r"label=<(.*?)>\];", dot.split("\n")[1]).group(1)
    return html.unescape(re.sub(r"<[^>]+>", " ", label.split("<br/>", 1)[1]))


def test_a_legend_explains_the_marks_in_the_picture():
    J = _legend(s2s.graph(graph.J, 5, 3, 2).dot)
    for words in ("green: value", "red: adjoint dJ/dnode (inputs a, b, c)"):
        assert words in J
    assert "shaded: input" in J and "double border: result" in J
    assert "dotted" not in J and "loop" not in J  # J has neither
    loop = _legend(s2s.graph(newton.loss, 8.0).dot)
    assert "gray, dotted: no derivative" in loop
    assert "dashed box: carried by the loop, next: its next value" in loop
    bare = _legend(s2s.graph(graph.J).dot)
    assert "green" not in bare and "shaded: input" in bare


def test_integer_sizes_are_not_differentiated_by_default():
    def powers(x, n):
        y = x
        for i in range(n):
            y = y * x
        return y

    picture = s2s.graph(powers, 1.5, 3)
    assert "n" not in picture.adjoints
    assert picture.adjoints["x"] == pytest.approx(4 * 1.5**3)
    assert "(inputs x)" in picture.dot


def test_non_scalar_result_draws_values_without_adjoints():
    def elementwise(x):
        return x * 2.0

    picture = s2s.graph(elementwise, np.ones(3))
    assert picture.adjoints == {}
    assert "no adjoints: the result has shape (3,)" in picture.dot
    np.testing.assert_array_equal(picture.values["elementwise"], [2.0, 2.0, 2.0])


def test_a_failing_input_names_the_line():
    def mismatch(a, b):
        return np.sum(a @ b)

    with pytest.raises(evaluate.EvaluationError) as info:
        s2s.graph(mismatch, np.ones((2, 3)), np.ones((2, 3)))
    assert info.value.lineno == mismatch.__code__.co_firstlineno + 1
    assert "a @ b fails at the given inputs" in str(info.value)


def test_binding_errors():
    with pytest.raises(s2s.S2SError, match="no value for c"):
        s2s.graph(graph.J, 5, 3)
    with pytest.raises(s2s.S2SError, match="no parameter named 'd'"):
        s2s.graph(graph.J, 5, 3, 2, d=1)
    with pytest.raises(s2s.S2SError, match="takes 3 arguments, 4 given"):
        s2s.graph(graph.J, 5, 3, 2, 1)
    with pytest.raises(s2s.WrtError):
        s2s.graph(graph.J, 5, 3, 2, wrt="q")


def test_parse_at():
    args, kwargs = draw.parse_at(["a=5, w=[[1, 2], [3, 4.5]]", "b=-3e-2"])
    assert args == [] and kwargs.keys() == {"a", "w", "b"}
    assert kwargs["a"] == 5 and kwargs["b"] == -0.03
    np.testing.assert_array_equal(kwargs["w"], [[1, 2], [3, 4.5]])
    assert draw.parse_at(["5,3,2"]) == ([5, 3, 2], {})
    for bad in ("a=x", "a=5,3", "a=1,a=2", "1a=2", "w=['s']"):
        with pytest.raises(s2s.S2SError, match="cannot read --at"):
            draw.parse_at([bad])


def test_npy_inputs(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.arange(3.0))
    _, kwargs = draw.parse_at([f"w={path}"])
    np.testing.assert_array_equal(kwargs["w"], [0.0, 1.0, 2.0])


def test_missing_graphviz_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(draw.shutil, "which", lambda name: None)
    picture = s2s.graph(graph.J, 5, 3, 2)
    with pytest.raises(s2s.GraphvizNotFoundError) as info:
        picture.save(str(tmp_path / "J.svg"))
    assert "apt-get install graphviz" in str(info.value)
    assert not (tmp_path / "J.svg").exists()
    picture.save(str(tmp_path / "J.dot"))  # DOT needs no Graphviz
    assert (tmp_path / "J.dot").read_text(encoding="utf-8") == picture.dot


def test_unknown_picture_format():
    with pytest.raises(s2s.S2SError, match=r"\.svg, \.png, \.pdf or \.dot"):
        s2s.graph(graph.J).save("J.jpeg")


def test_cli_errors_exit_2(capsys, monkeypatch):
    monkeypatch.setattr(draw.shutil, "which", lambda name: None)
    assert main(["graph", "examples/graph.py:J", "--at", "a=5,b=3,c=x"]) == 2
    assert "cannot read --at 'c=x'" in capsys.readouterr().err
    args = ["graph", "examples/graph.py:J", "--at", "5,3,2", "-o", "J.png"]
    assert main(args) == 2
    assert "graphviz" in capsys.readouterr().err


def test_cli_writes_files(tmp_path, capsys, dot_program):
    out = tmp_path / "neuron.svg"
    args = ["graph", "examples/neuron.py:neuron", "--at", "2,-3,-3,-1,-2"]
    assert main(args + ["-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").count("<svg") == 1
    assert main(args + ["--wrt", "w0", "-o", str(tmp_path / "n.dot")]) == 0
    dot = (tmp_path / "n.dot").read_text(encoding="utf-8")
    assert "dw0 = -0.1966" in dot and "dw1" not in dot


# --- the committed pictures -------------------------------------------------------------------


def test_committed_pictures_are_current():
    """docs/pictures/*.dot are what `bash docs/pictures/regenerate.sh` writes."""
    result = subprocess.run(
        ["bash", "docs/pictures/regenerate.sh", "--check"],
        cwd=ROOT,
        env=dict(os.environ, PYTHON=sys.executable),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_svgs_exist_for_every_dot():
    dots = sorted(f for f in os.listdir(PICTURES) if f.endswith(".dot"))
    assert dots, "no pictures committed"
    for name in dots:
        svg = os.path.join(PICTURES, name[:-4] + ".svg")
        with open(svg, encoding="utf-8") as f:
            ElementTree.parse(f)  # well-formed

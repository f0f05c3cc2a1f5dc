"""What a generated `FUNC_grad` would cost if it called `FUNC_value_and_grad` instead
of holding its own copy of the forward sweep (README: "Why a module holds the forward
code twice").

For committed modules of generated/, each timed on the examples' own arguments:

- own: `FUNC_grad` as generated;
- delegating: `def FUNC_grad(...): return FUNC_value_and_grad(...)[1]`, the one-line
  alternative, with the same parameters.

Delegating adds a call, a tuple and an index, and loses what the gradient leaves out
of its forward sweep (with shapes known, the value itself when only the scalar check
needed it: the MLP's log-sum-exp).  Each figure is the best of `--repeats` timings of
enough calls to take about 0.2 s, in nanoseconds per call.  Run from the repository
root:

    python benchmarks/grad_delegation.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import timeit

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNG = np.random.default_rng(0)

#: (module in generated/, function, arguments): scalar code first, then arrays.
CASES = [
    ("graph_J", "J", (5.0, 3.0, 2.0)),
    ("chain_rule_f", "f", (0.5, 1.5, -0.7)),
    ("neuron_neuron", "neuron", (2.0, -3.0, -3.0, -1.0, -2.0)),
    ("logistic_sigmoid_loss", "sigmoid_loss", (0.3, -0.2, 0.1, 1.5, -0.5, 1.0)),
    ("newton_scalar_energy", "energy", (2.0,)),
    (
        "mlp_J",
        "J",
        (
            RNG.normal(size=(5, 4)),
            RNG.normal(size=(3, 5)),
            RNG.normal(size=(4, 6)),
            np.eye(3)[:, RNG.integers(0, 3, 6)],
            0.1,
        ),
    ),
    (
        "rnn_loss",
        "loss",
        (
            RNG.normal(size=(2, 5)) * 0.5,
            RNG.normal(size=(5, 5)) * 0.3,
            RNG.normal(size=5) * 0.1,
            RNG.normal(size=(4, 3, 2)),
            RNG.normal(size=(3, 5)) * 0.1,
        ),
    ),
]


def load(stem: str) -> dict:
    path = os.path.join(ROOT, "generated", stem + ".py")
    spec = importlib.util.spec_from_file_location(stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def delegating(namespace: dict, name: str) -> object:
    """`name_grad` written as a call of `name_value_and_grad`, same parameters."""
    code = namespace[f"{name}_grad"].__code__
    params = ", ".join(code.co_varnames[: code.co_argcount])
    text = f"def {name}_grad({params}):\n"
    text += f"    return {name}_value_and_grad({params})[1]\n"
    local = dict(namespace)
    exec(compile(text, f"<delegating {name}_grad>", "exec"), local)
    return local[f"{name}_grad"]


def best(f: object, args: tuple, repeats: int) -> float:
    timer = timeit.Timer(lambda: f(*args))
    number, _ = timer.autorange()
    number = max(number, 1)
    return min(timer.repeat(repeats, number)) / number * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"{'module':<24} {'own ns':>9} {'delegating ns':>14} {'slower':>7}")
    for stem, name, arguments in CASES:
        namespace = load(stem)
        own = namespace[f"{name}_grad"]
        other = delegating(namespace, name)
        np.testing.assert_equal(own(*arguments), other(*arguments))
        # Interleaved, so that a busy machine slows both alike.
        times = {"own": [], "delegating": []}
        for _ in range(args.repeats):
            times["own"].append(best(own, arguments, 1))
            times["delegating"].append(best(other, arguments, 1))
        fast, slow = min(times["own"]), min(times["delegating"])
        print(f"{stem:<24} {fast:>9.0f} {slow:>14.0f} {slow / fast - 1:>7.0%}")


if __name__ == "__main__":
    main()

"""The benchmark harness cannot rot: at small sizes, every hand-written gradient (the
yardstick) and every s2s gradient of the benchmark workloads agrees with central
differences, the harness's own checks catch a wrong gradient, and one short
measurement per workload goes through the worker and the report.  (Timings are never
asserted; the benchmark itself runs with `python -m benchmarks`.)
"""

import numpy as np
import pytest

import s2s
from benchmarks import global_workloads
from benchmarks.check import CheckFailed, agreement, directional_check
from benchmarks.environment import machine
from benchmarks.report import render
from benchmarks.worker import Settings, measure
from benchmarks.workloads import SIZES, WORKLOADS
from s2s.testing import ATOL, RTOL, numeric_gradient

KEYS = list(WORKLOADS)


@pytest.mark.parametrize("key", KEYS)
def test_hand_written_gradient_matches_central_differences(key):
    w = WORKLOADS[key]
    args = w.inputs("small")
    grads = w.hand_grad(*args)
    assert len(grads) == len(w.wrt)
    for i, g in zip(w.wrt_positions, grads):
        numeric = numeric_gradient(w.fun, list(args), i)
        assert np.shape(g) == numeric.shape
        np.testing.assert_array_less(np.abs(g - numeric), ATOL + RTOL * np.abs(numeric))


@pytest.mark.parametrize("key", KEYS)
def test_s2s_gradient_matches_central_differences_and_hand(key):
    w = WORKLOADS[key]
    args = w.inputs("small")
    s2s.check_grad(w.fun, *args, wrt=w.wrt)
    assert agreement(s2s.grad(w.fun, wrt=w.wrt)(*args), w.hand_grad(*args)) < 1e-12


@pytest.mark.parametrize("key", ["W1", "W4", "W5"])
def test_harness_checks_reject_a_wrong_gradient(key):
    w = WORKLOADS[key]
    args = w.inputs("small")
    grads = w.hand_grad(*args)
    wrong = (np.asarray(grads[0]) * 1.01,) + grads[1:]
    directional_check(w.fun, args, w.wrt_positions, grads)
    with pytest.raises(CheckFailed):
        directional_check(w.fun, args, w.wrt_positions, wrong)
    with pytest.raises(CheckFailed):
        agreement(wrong, grads)


def test_full_size_inputs_have_the_issue_shapes():
    shapes = {k: [np.shape(a) for a in w.inputs("full")] for k, w in WORKLOADS.items()}
    assert shapes["W3"][2] == (1000, 100)
    assert shapes["W4"][:3] == [(784, 256), (256, 10), (256, 784)]
    assert shapes["W5"][3] == (50, 32, 16) and shapes["W5"][1] == (64, 64)
    assert all(shape == () for k in ("W1", "W2", "W6") for shape in shapes[k])


def test_module_data_workloads_run_on_the_inputs_of_w3_and_w4():
    def same(got, expected):
        return len(got) == len(expected) and all(map(np.array_equal, got, expected))

    for size in SIZES:
        w, b = WORKLOADS["W3g"].inputs(size)
        data = global_workloads.X, global_workloads.y
        assert same((w, b, *data), WORKLOADS["W3"].inputs(size))
        W1, W2, lam = WORKLOADS["W4g"].inputs(size)
        data = global_workloads.images, global_workloads.labels
        assert same((W1, W2, *data, lam), WORKLOADS["W4"].inputs(size))


def test_a_short_measurement_of_every_workload_renders():
    quick = Settings(seconds=0.0, block=1e-4, min_rounds=2, size="small")
    results = [measure(f, k, quick) for k in KEYS for f in ("hand", "s2s", "s2s.grad")]
    for r in results:
        assert r["status"] == "ok", r
        assert r["rounds"] >= 2 and r["to_hand"]["median"] > 0
        assert r["peak_bytes"]["hand"] > 0
    run = {
        "machine": machine(),
        "settings": dict(vars(quick), cpu=0, repeats=0),
        "command": "test",
        "started": "now",
        "elapsed_s": 0.0,
        "threads": "test",
        "results": results,
        "onetime": {},
    }
    text = render(run)
    assert all(f"#### {k}" in text for k in KEYS)

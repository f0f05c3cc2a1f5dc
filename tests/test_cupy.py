"""Generated gradients on CuPy arrays, through numpy's dispatch (the default numpy
backend): numpy's functions called with CuPy arrays run CuPy's (CuPy implements
__array_function__ and __array_ufunc__), on the GPU, and return CuPy arrays.  What
CuPy refuses is a numpy array next to its own (it never copies between host and
device implicitly), so a gradient runs on CuPy where the generated code makes no
numpy array of its own from a shape or a number and mixes it in.

Two sets of tests:

- on real CuPy arrays, where CuPy and a GPU exist (skipped elsewhere, saying which
  is missing);
- everywhere, on `Device`, a stand-in for a GPU array library: a wrapper of numpy
  arrays that implements the same protocols and, like CuPy, refuses a numpy array
  among its operands and any conversion to one.  It shows which gradients need no
  host array; those that make one are known failures (xfail, strict), the work of
  the array-API backend rather than of numpy's dispatch.
"""

import numbers

import numpy as np
import pytest

import s2s
from s2s.errors import InternalError
from test_dask import (
    _inputs,
    centred,
    contractions,
    indexing,
    joining,
    logistic,
    mlp,
    ridge,
    shared,
    softmax_loss,
)

pytestmark = pytest.mark.filterwarnings("error")


class HostArrayError(TypeError):
    """A numpy array met a Device array, or a Device array was made a numpy one."""


class Device(np.lib.mixins.NDArrayOperatorsMixin):
    """An array of a device library, as numpy's dispatch sees one: numpy's functions
    and ufuncs run on the arrays it wraps; Python and numpy scalars may join them,
    numpy arrays may not (CuPy's rule: no implicit transfer from the host)."""

    def __init__(self, data):
        self.data = data

    def __array__(self, dtype=None, copy=None):
        raise HostArrayError("a Device array was converted to a numpy array")

    @staticmethod
    def unwrap(x):
        if isinstance(x, Device):
            return x.data
        if isinstance(x, np.ndarray):
            raise HostArrayError(f"a numpy array of shape {x.shape} met Device arrays")
        if isinstance(x, (list, tuple)):
            return type(x)(Device.unwrap(v) for v in x)
        return x

    @staticmethod
    def wrap(x):
        if isinstance(x, np.ndarray):
            return Device(x)
        if isinstance(x, tuple):
            return tuple(Device.wrap(v) for v in x)
        return x

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = [self.unwrap(x) for x in inputs]
        if "out" in kwargs:  # `a += b` of Device arrays: in place on the device
            out = kwargs["out"]
            kwargs["out"] = self.unwrap(out)
            getattr(ufunc, method)(*inputs, **kwargs)
            return out[0] if len(out) == 1 else out
        return self.wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        args = self.unwrap(args)
        kwargs = {k: self.unwrap(v) for k, v in kwargs.items()}
        return self.wrap(func(*args, **kwargs))

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)
    T = property(lambda self: Device(self.data.T))

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self.wrap(self.data[self.unwrap(index)])

    def __setitem__(self, index, value):
        self.data[self.unwrap(index)] = self.unwrap(value)

    def __getattr__(self, name):  # x.sum(axis=0), x.reshape(...): numpy's function
        function = getattr(np, name)
        return lambda *args, **kwargs: function(self, *args, **kwargs)

    def astype(self, dtype):
        return Device(self.data.astype(dtype))

    def get(self):
        """The array on the host (CuPy's spelling)."""
        return self.data


def _gradients(f, module):
    """f's gradient with respect to its params on numpy arrays, and on arrays
    `module.asarray` makes (data and parameters alike)."""
    params, data = _inputs(f.__name__)
    g = s2s.grad(f, wrt=tuple(range(len(params))))
    expected = g(*params, *data)
    moved = [
        module.asarray(v) if isinstance(v, np.ndarray) else v for v in (*params, *data)
    ]
    return expected, g(*moved)


def recurrent(Wx, Wh, x):
    """rnn, its state started from the data (np.zeros((n, k)) is a numpy array)."""
    h = np.tanh(x[0] @ Wx)
    for t in range(1, x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh)
    return np.sum(h**2)


def picks(W, x):
    return np.sum(W[[0, 2, 2]] ** 2) + np.sum(x @ W)


def traced(W, x):
    return np.trace(W) * np.sum(x @ W) + np.sum(np.diag(W) ** 3)


def product(W, x):
    return np.sum(np.prod(W, axis=0) * x)


RUNS = [ridge, mlp, logistic, centred, shared, softmax_loss]
RUNS += [indexing, joining, contractions]
HOST_ARRAYS = {
    recurrent: "the loop's accumulators start as np.zeros(shape), a numpy array",
    picks: "integer-array indexing sums with np.bincount over np.arange positions",
    traced: "np.diag's adjoint is made with np.eye and np.zeros",
    product: "np.prod's adjoint reads its operand with np.asarray",
}


class _DeviceModule:
    asarray = staticmethod(Device)


@pytest.mark.parametrize(
    "f",
    RUNS
    + [
        pytest.param(
            f,
            marks=pytest.mark.xfail(
                raises=InternalError, strict=True, reason=HOST_ARRAYS[f]
            ),
        )
        for f in HOST_ARRAYS
    ],
    ids=lambda f: f.__name__,
)
def test_gradient_on_a_device_library(f):
    expected, got = _gradients(f, _DeviceModule)
    for grad, want in zip(got, expected):
        assert isinstance(grad, Device), f"a gradient came back as {type(grad)}"
        np.testing.assert_allclose(grad.get(), want, rtol=1e-12, atol=1e-12)


def _cupy():
    """CuPy, where it and a GPU exist; else the test is skipped, saying which is
    missing."""
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy is installed but there is no CUDA GPU")
    except cupy.cuda.runtime.CUDARuntimeError as e:
        pytest.skip(f"CuPy is installed but no CUDA GPU is usable: {e}")
    return cupy


@pytest.mark.parametrize(
    "f",
    RUNS
    + [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason=HOST_ARRAYS[f]))
        for f in HOST_ARRAYS
    ],
    ids=lambda f: f.__name__,
)
def test_gradient_on_cupy_arrays(f):
    cupy = _cupy()
    expected, got = _gradients(f, cupy)
    for grad, want in zip(got, expected):
        assert isinstance(grad, cupy.ndarray), f"a gradient came back as {type(grad)}"
        np.testing.assert_allclose(cupy.asnumpy(grad), want, rtol=1e-10, atol=1e-12)


def test_device_refuses_host_arrays():
    """The stand-in keeps CuPy's rule, or the tests above would prove nothing."""
    x = Device(np.ones(3))
    for mixed in (
        lambda: x + np.ones(3),
        lambda: np.ones(3) * x,
        lambda: np.asarray(x),
    ):
        with pytest.raises(HostArrayError):
            mixed()
    assert isinstance(x * 2.0 + np.float64(1.0), Device)
    assert isinstance(np.sum(np.tanh(x)), (Device, numbers.Number, np.generic))

"""lintra.optimized: the fast engine. Programs compile once into plans of straight-line
NumPy (or CuPy) code, with the engine's own type inference, JVP, partial evaluation and
transposition, written from the spec independently of :mod:`lintra.reference`.

Programs:

>>> from lintra.reference.parse import parse_program
>>> import lintra.optimized as lo
>>> p = parse_program('''
... def f(x: f64[]) -> f64[]:
...     y: f64[] = sin(x)
...     z: f64[] = mul(y, x)
...     return z
... ''')
>>> value, grad = lo.compile(p).value_and_grad(2.0)

Python functions written with :mod:`lintra.optimized.numpy`, traced into programs:

>>> import lintra.optimized.numpy as lnp
>>> float(lo.grad(lambda x: lnp.sin(x) * x)(2.0)) == float(grad)
True
"""

from lintra.optimized.api import Compiled, LinearMap, compile
from lintra.optimized.numpy import stop_gradient
from lintra.optimized.tracing import ConcretizationError, EscapedTracerError, Tracer
from lintra.optimized.transformations import (
    grad,
    hessian,
    jacfwd,
    jacrev,
    jit,
    jvp,
    linear_transpose,
    linearize,
    make_program,
    value_and_grad,
    vjp,
)

__all__ = [
    "Compiled", "ConcretizationError", "EscapedTracerError", "LinearMap", "Tracer", "compile",
    "grad", "hessian", "jacfwd", "jacrev", "jit", "jvp", "linear_transpose", "linearize",
    "make_program", "stop_gradient", "value_and_grad", "vjp",
]

"""lintra.optimized: the fast engine. Programs compile once into plans of straight-line
NumPy (or CuPy) code, with the engine's own type inference, JVP, partial evaluation and
transposition, written from the spec independently of :mod:`lintra.reference`.

>>> from lintra.reference.parse import parse_program
>>> import lintra.optimized as lo
>>> p = parse_program('''
... def f(x: f64[]) -> f64[]:
...     y: f64[] = sin(x)
...     z: f64[] = mul(y, x)
...     return z
... ''')
>>> value, grad = lo.compile(p).value_and_grad(2.0)
"""

from lintra.optimized.api import Compiled, LinearMap, compile

__all__ = ["Compiled", "LinearMap", "compile"]

"""The README's library example runs and computes what it says (Rosenbrock's gradient and
Hessian, against SciPy's closed forms)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.optimize

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_library_example_runs(capsys) -> None:
    (code,) = [b for b in FENCE.findall(README.read_text(encoding="utf-8"))
               if "lintra.optimized.numpy" in b]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md: the library example", "exec"), namespace)
    x, g, hess = namespace["x"], namespace["g"], namespace["H"]
    # Each entry of the gradient and Hessian is a short sum of products; both computations
    # (the library's and SciPy's closed form) round each of at most ten steps once, so each
    # errs by at most 10u times the sum of the absolute values of the inner terms.
    u = np.finfo(np.float64).eps / 2
    a, b = np.abs(x[:-1]), np.abs(x[1:])
    scale_g = np.zeros_like(x)
    scale_g[1:] += 200 * (b + a * a)
    scale_g[:-1] += 400 * a * (b + a * a) + 2 * (1 + a)
    scale_h = np.full_like(x, 202.0)
    scale_h[:-1] += 1200 * a * a + 400 * b
    scale_h = np.maximum(scale_h[:, None], 400 * np.abs(x)[:, None] + 400 * np.abs(x)[None, :])
    assert np.all(np.abs(g - scipy.optimize.rosen_der(x)) <= 2 * 10 * u * scale_g)
    assert np.all(np.abs(hess - scipy.optimize.rosen_hess(x)) <= 2 * 10 * u * scale_h)
    want = scipy.optimize.rosen(x)
    scale_v = np.sum(100 * (b + a * a) ** 2 + (1 + a) ** 2)
    assert abs(namespace["value"] - want) <= 2 * 10 * u * scale_v
    assert "def rosen(x0: f64[10]) -> f64[]:" in capsys.readouterr().out

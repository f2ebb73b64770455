"""The library against its peers: the seven workloads written as ordinary NumPy-style code.

    python benchmarks/library.py [--quick] [--only NAME ...] [--systems NAME ...]
                                 [--markdown FILE] [--png FILE] [--json FILE]

Each workload of ``workloads.py`` is a Python function written once over an array namespace
(``Workload.loss(xp)``: ``lintra.optimized.numpy``, ``autograd.numpy``, ``jax.numpy``, and
PyTorch through a few renamed functions), differentiated by each system as its users would:
``lo.jit(lo.value_and_grad(f))``, ``autograd.value_and_grad``, ``jax.value_and_grad`` eager and
under ``jax.jit``, and PyTorch eager (``torch.autograd.grad``). The hand-written NumPy reverse
pass of ``workloads.py`` is the yardstick. Everything runs in one process pinned to one core
with one BLAS/OpenMP thread and the allocator settings of ``compare.py``; every gradient is
checked against the hand-written one before anything is timed; systems are interleaved round by
round and the tables show medians. Before the first workload, each system differentiates a
small function once, untimed, so that a workload's first call measures its own tracing,
transformation and compilation, not a library's one-time start. Peak memory of one call is
measured with ``tracemalloc`` for the systems whose arrays are NumPy's (it does not see JAX's
or PyTorch's buffers). A system that is not installed (the ``peers`` extra) is left out and
the table says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import _SETTINGS

if __name__ == "__main__" and any(os.environ.get(k) != v for k, v in _SETTINGS.items()):
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **_SETTINGS})

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from compare import gradient_error, peak_memory, pin_one_core, time_calls
from workloads import Workload, all_workloads

GRADIENT_TOLERANCE = 1e-8
"""Normwise relative error allowed against the hand-written gradient before timing."""

HAND_WRITTEN = "numpy (hand-written VJP)"


# --------------------------------------------------------------------------------------------
# PyTorch's spelling of the names the workloads use


class _TorchNamespace:
    """The few NumPy names the workloads use, spelled for PyTorch tensors."""

    def __init__(self) -> None:
        import torch
        self.torch = torch
        for name in ("tanh", "exp", "log", "sin", "cos", "sqrt", "log1p"):
            setattr(self, name, getattr(torch, name))

    def sum(self, x, axis=None, keepdims=False):
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return x.max() if axis is None else x.max(dim=axis, keepdim=keepdims).values

    def concatenate(self, xs):
        return self.torch.cat(xs)


# --------------------------------------------------------------------------------------------
# The systems: each gives (primal, value_and_grad) over the workload's NumPy inputs


@dataclass
class System:
    name: str
    primal: Callable[..., Any]
    value_and_grad: Callable[..., tuple[Any, tuple[Any, ...]]]
    numpy_memory: bool = False
    """Whether its buffers are NumPy's, so that tracemalloc sees them."""


def _lintra(w: Workload) -> System | None:
    import lintra.optimized as lo
    try:
        import lintra.optimized.numpy as lnp
    except ImportError:
        return None
    if not hasattr(lo, "value_and_grad"):
        return None
    f = w.loss(lnp)
    return System("lintra.optimized", lo.jit(f),
                  lo.jit(lo.value_and_grad(f, argnums=w.argnums)), numpy_memory=True)


def _autograd(w: Workload) -> System | None:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None
    f = w.loss(anp)
    rest = [k for k in range(len(w.inputs)) if k not in w.argnums]

    def of_differentiated(diff, others):
        args = [None] * len(w.inputs)
        for k, v in zip(w.argnums, diff):
            args[k] = v
        for k, v in zip(rest, others):
            args[k] = v
        return f(*args)

    vg = autograd.value_and_grad(of_differentiated)

    def value_and_grad(*args):
        return vg(tuple(args[k] for k in w.argnums), tuple(args[k] for k in rest))

    return System("autograd", f, value_and_grad, numpy_memory=True)


def _jax(w: Workload, jit: bool) -> System | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    if jit and w.name == "pde":  # 7,500 unrolled operations: XLA compiles for minutes
        return None
    f = w.loss(jnp)
    vg = jax.value_and_grad(f, argnums=w.argnums)
    primal = jax.jit(f) if jit else f
    vg = jax.jit(vg) if jit else vg

    def run_primal(*args):
        return jax.block_until_ready(primal(*args))

    def value_and_grad(*args):
        return jax.block_until_ready(vg(*args))

    return System("jax jit" if jit else "jax eager", run_primal, value_and_grad)


def _torch(w: Workload) -> System | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    f = w.loss(_TorchNamespace())

    def primal(*args):
        with torch.no_grad():
            return f(*(torch.from_numpy(np.asarray(a)) for a in args)).item()

    def value_and_grad(*args):
        leaves = [torch.tensor(np.asarray(a), requires_grad=k in w.argnums)
                  for k, a in enumerate(args)]
        value = f(*leaves)
        grads = torch.autograd.grad(value, [leaves[k] for k in w.argnums])
        return value.item(), tuple(g.numpy() for g in grads)

    return System("torch eager", primal, value_and_grad)


def systems_for(w: Workload, wanted: set[str] | None) -> tuple[list[System], list[str]]:
    """The systems that run here, and the names of those that do not (not installed)."""
    makers: list[tuple[str, Callable[[], System | None]]] = [
        (HAND_WRITTEN, lambda: System(HAND_WRITTEN, w.primal, w.value_and_grad, True)),
        ("lintra.optimized", lambda: _lintra(w)),
        ("autograd", lambda: _autograd(w)),
        ("jax eager", lambda: _jax(w, jit=False)),
        ("jax jit", lambda: _jax(w, jit=True)),
        ("torch eager", lambda: _torch(w)),
    ]
    found, missing = [], []
    for name, make in makers:
        if wanted and name not in wanted and name != HAND_WRITTEN:
            continue
        system = make()
        (found.append(system) if system is not None else missing.append(name))
    return found, missing


# --------------------------------------------------------------------------------------------
# Measuring


def warm_up(wanted: set[str] | None) -> None:
    """Differentiate a small Rosenbrock (n = 5, a program no workload shares) once with every
    system, untimed: what a process pays once (importing a library's lazily loaded modules,
    starting JAX's backend) then stays out of every workload's first call, which measures
    tracing, transformation and compilation of that workload."""
    from workloads import rosenbrock
    w = rosenbrock(5)
    for s in systems_for(w, wanted)[0]:
        s.value_and_grad(*w.inputs)
        s.primal(*w.inputs)


def measure(w: Workload, quick: bool, wanted: set[str] | None) -> dict[str, Any]:
    systems, missing = systems_for(w, wanted)
    want = w.value_and_grad(*w.inputs)
    first: dict[str, float] = {}
    errors: dict[str, float] = {}
    for s in systems:
        t = time.perf_counter()
        value, grads = s.value_and_grad(*w.inputs)
        first[s.name] = time.perf_counter() - t
        errors[s.name] = max(gradient_error(grads, want[1]),
                             gradient_error([value], [want[0]]))
        if errors[s.name] > GRADIENT_TOLERANCE:
            raise SystemExit(f"{w.name}: {s.name}'s value or gradient differs from the "
                             f"hand-written one by {errors[s.name]:.2e} (normwise, relative)")
        s.primal(*w.inputs)  # warm-up (and, under jit, compilation) of the primal
    rounds, budget = (3, 0.05) if quick else (7, 0.2)
    grad_samples: dict[str, list[float]] = {s.name: [] for s in systems}
    primal_samples: dict[str, list[float]] = {s.name: [] for s in systems}
    for _ in range(rounds):
        for s in systems:
            grad_samples[s.name].append(time_calls(s.value_and_grad, w.inputs, budget)[0])
            primal_samples[s.name].append(time_calls(s.primal, w.inputs, budget)[0])
    grad = {k: statistics.median(v) for k, v in grad_samples.items()}
    primal = {k: statistics.median(v) for k, v in primal_samples.items()}
    memory = {s.name: peak_memory(s.value_and_grad, w.inputs) for s in systems
              if s.numpy_memory}
    return {"workload": w.name, "description": w.description, "grad_seconds": grad,
            "primal_seconds": primal, "first_call_seconds": first, "gradient_error": errors,
            "peak_bytes": memory, "missing": missing}


# --------------------------------------------------------------------------------------------
# Reporting


def _time(s: float) -> str:
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def summary(results: list[dict[str, Any]]) -> list[str]:
    """Two tables, systems by workloads: grad time over the hand-written pass's, and grad
    time over the system's own primal."""
    names = list(dict.fromkeys(n for r in results for n in r["grad_seconds"]))
    head = "| system | " + " | ".join(r["workload"] for r in results) + " |"
    rule = "|---|" + "---:|" * len(results)
    out = []
    for title, ratio in (
            ("grad time relative to the hand-written NumPy VJP",
             lambda r, n: r["grad_seconds"][n] / r["grad_seconds"][HAND_WRITTEN]),
            ("grad time relative to the system's own primal",
             lambda r, n: r["grad_seconds"][n] / r["primal_seconds"][n])):
        out += [f"**{title}**", "", head, rule]
        for n in names:
            cells = [f"{ratio(r, n):.2f}×" if n in r["grad_seconds"] else "—" for r in results]
            out.append(f"| {n} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def markdown(results: list[dict[str, Any]]) -> str:
    """One table per workload: grad time, its ratio to the hand-written pass, grad/primal,
    peak memory relative to the hand-written pass, the first call's extra time over a cached
    call (tracing, transformation and compilation, where a system has them), gradient
    error."""
    out = [*summary(results), ""]
    for r in results:
        base, base_memory = r["grad_seconds"][HAND_WRITTEN], r["peak_bytes"].get(HAND_WRITTEN)
        out += [f"### {r['workload']}", "", r["description"], "",
                "| system | grad time | vs hand-written | grad/primal | peak memory | "
                "first call, extra | gradient error |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name, t in r["grad_seconds"].items():
            mem = r["peak_bytes"].get(name)
            mem_text = (f"{mem / base_memory:.2f}×" if mem is not None and base_memory
                        else "n/m")
            out.append(f"| {name} | {_time(t)} | {t / base:.2f}× | "
                       f"{t / r['primal_seconds'][name]:.2f}× | {mem_text} | "
                       f"{_time(max(r['first_call_seconds'][name] - t, 0.0))} | "
                       f"{r['gradient_error'][name]:.1e} |")
        if r["missing"]:
            out.append("\nNot available here (not installed, or not yet provided): "
                       f"{', '.join(r['missing'])}.")
        out.append("")
    out.append("*n/m*: not measured (tracemalloc sees NumPy's buffers only).")
    return "\n".join(out)


def chart(results: list[dict[str, Any]], path: Path) -> None:
    """Two panels: grad time relative to the hand-written pass, and grad/primal, per
    workload and system (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s for s in dict.fromkeys(n for r in results for n in r["grad_seconds"])]
    fig, axes = plt.subplots(2, 1, figsize=(11, 8), sharex=True)
    width = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        xs, rel, ratio = [], [], []
        for i, r in enumerate(results):
            if name in r["grad_seconds"]:
                t = r["grad_seconds"][name]
                xs.append(i + (k - (len(names) - 1) / 2) * width)
                rel.append(t / r["grad_seconds"][HAND_WRITTEN])
                ratio.append(t / r["primal_seconds"][name])
        axes[0].bar(xs, rel, width, label=name)
        axes[1].bar(xs, ratio, width, label=name)
    axes[0].set_ylabel("grad time / hand-written NumPy VJP")
    axes[1].set_ylabel("grad time / own primal")
    for ax in axes:
        ax.set_yscale("log")
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[1].set_xticks(range(len(results)), [r["workload"] for r in results])
    axes[0].legend(ncol=3, fontsize="small")
    fig.suptitle("value and gradient, one pinned thread, medians (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter samples")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these workloads only")
    parser.add_argument("--systems", nargs="+", metavar="NAME",
                        help="these systems only (the hand-written pass always runs)")
    parser.add_argument("--markdown", type=Path, help="write the tables here too")
    parser.add_argument("--png", type=Path, help="draw the chart here (needs matplotlib)")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args(argv)
    pin_one_core()
    wanted = set(args.systems) if args.systems else None
    warm_up(wanted)
    results = []
    for w in all_workloads():
        if args.only and w.name not in args.only:
            continue
        print(f"measuring {w.name} ...", file=sys.stderr, flush=True)
        results.append(measure(w, args.quick, wanted))
    text = markdown(results)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    if args.png:
        chart(results, args.png)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

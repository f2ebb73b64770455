"""Side-by-side speed of value-and-gradient on the seven workloads (``workloads.py``).

    python benchmarks/compare.py [--quick] [--only NAME ...] [--json FILE]

Each workload runs, in one process pinned to one core with one BLAS/OpenMP thread and
glibc's allocator told to keep freed memory (the settings of the peers' measurements): a
hand-written NumPy reverse pass (the practical limit), ``lintra.optimized`` (the program
compiled once; ``value_and_grad``), the reference interpreter in float64 (where one call
takes under a few seconds) and JAX's ``jit(value_and_grad)`` of the same program through the
conformance adapter's lowering (with the ``peers`` extra). Every gradient is checked against
the hand-written one before anything is timed. Systems are interleaved round by round and
the table shows medians and the ratio to the hand-written pass; peak memory of one call is
measured with ``tracemalloc`` (NumPy reports its buffers to it) for NumPy and the engine.
A second table shows how transformation and compilation grow with program size (medians of
three rounds, wall-clock and CPU time of the process, and the load average: on a shared
machine the wall-clock time includes waiting for a core).
"""

from __future__ import annotations

import os
import sys

_SETTINGS = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=268435456:"
                      "glibc.malloc.trim_threshold=1073741824",
}
if __name__ == "__main__" and any(os.environ.get(k) != v for k, v in _SETTINGS.items()):
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **_SETTINGS})

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import Workload, all_workloads  # noqa: E402

import lintra.optimized as lo  # noqa: E402
from lintra.reference.parse import parse_program  # noqa: E402

GRADIENT_TOLERANCE = 1e-8
"""Normwise relative error allowed against the hand-written gradient before timing (the
peers' measurements used the same threshold; the largest seen there was 3e-15)."""


JAX_LIMIT = 5_000
"""Programs with more equations than this are not given to jax.jit (see systems_for)."""


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})


def _reference_system(w: Workload, p) -> Callable[..., Any] | None:
    from lintra.reference.derived import vjp

    n_float = [k for k, b in enumerate(p.inputs) if b.type.array.dtype.is_float]

    def value_and_grad(*args):
        outs, pullback = vjp(p, *args)
        cts = pullback(np.float64(1.0))
        return outs[0], tuple(cts[n_float.index(k)] for k in w.argnums)

    return value_and_grad


def _jax_system(w: Workload, p) -> Callable[..., Any] | None:
    try:
        import jax

        from lintra.conformance.backends.jax import JaxBackend
        from lintra.conformance.backends.lowering import run
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    ops = JaxBackend().ops

    def loss(*args):
        return run(p, args, ops)[0]

    fn = jax.jit(jax.value_and_grad(loss, argnums=w.argnums))

    def value_and_grad(*args):
        value, grads = fn(*args)
        return jax.block_until_ready(value), jax.block_until_ready(grads)

    return value_and_grad


def systems_for(w: Workload, quick: bool) -> dict[str, Callable[..., Any]]:
    p = parse_program(w.program)
    compiled = lo.compile(p)

    def optimized(*args):
        return compiled.value_and_grad(*args, argnums=w.argnums)

    found: dict[str, Callable[..., Any]] = {"numpy (hand-written VJP)": w.value_and_grad,
                                            "lintra.optimized": optimized}
    if not quick:
        found["lintra.reference (float64)"] = _reference_system(w, p)
    # XLA compiles an unrolled program of thousands of operations for minutes and gigabytes
    # (the peers' figures for the loops use lax.scan and fori_loop, which lintra lacks)
    jax_fn = _jax_system(w, p) if len(p.equations) <= JAX_LIMIT else None
    if jax_fn is not None:
        found["jax jit"] = jax_fn
    return found


def gradient_error(got: Any, want: Any) -> float:
    worst = 0.0
    for g, r in zip(got, want):
        g, r = np.asarray(g, dtype=np.float64), np.asarray(r, dtype=np.float64)
        scale = float(np.max(np.abs(r))) or 1.0
        worst = max(worst, float(np.max(np.abs(g - r))) / scale)
    return worst


def time_calls(fn: Callable[..., Any], args: tuple, budget: float) -> tuple[float, int]:
    """One sample: as many calls as fit in ``budget`` seconds (at least one); seconds per
    call and the count."""
    n, start = 0, time.perf_counter()
    while True:
        fn(*args)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return elapsed / n, n


def peak_memory(fn: Callable[..., Any], args: tuple) -> int:
    gc.collect()
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def measure(w: Workload, quick: bool) -> dict[str, Any]:
    start = time.perf_counter()
    systems = systems_for(w, quick)
    first: dict[str, float] = {}
    want = w.value_and_grad(*w.inputs)
    errors: dict[str, float] = {}
    slow: set[str] = set()
    for name, fn in systems.items():
        t = time.perf_counter()
        value, grads = fn(*w.inputs)
        first[name] = time.perf_counter() - t
        errors[name] = max(gradient_error(grads, want[1]), gradient_error([value], [want[0]]))
        if errors[name] > GRADIENT_TOLERANCE:
            raise SystemExit(f"{w.name}: {name}'s value or gradient differs from the "
                             f"hand-written one by {errors[name]:.2e} (normwise, relative)")
        if first[name] > 3.0 and name.startswith("lintra.reference"):
            slow.add(name)
    for name, fn in systems.items():  # warm-up
        if name not in slow:
            fn(*w.inputs)
    rounds = 3 if quick else 7
    budget = 0.05 if quick else 0.2
    samples: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(rounds):
        for name, fn in systems.items():
            if name in slow:
                continue
            samples[name].append(time_calls(fn, w.inputs, budget)[0])
    for name in slow:
        samples[name] = [first[name]]
    medians = {name: statistics.median(s) for name, s in samples.items()}
    memory = {name: peak_memory(systems[name], w.inputs)
              for name in ("numpy (hand-written VJP)", "lintra.optimized")}
    p = parse_program(w.program)
    return {"workload": w.name, "description": w.description, "equations": len(p.equations),
            "median_seconds": medians, "first_call_seconds": first,
            "gradient_error": errors, "peak_bytes": memory,
            "measured_in": time.perf_counter() - start}


def chain_text(n: int, name: str = "chain") -> str:
    lines = [f"def {name}(x: f64[3]) -> f64[]:", "    v0 = sin(x)"]
    for k in range(1, n - 1):
        lines.append(f"    v{k} = mul(v{k - 1}, 1.0001)" if k % 2 else f"    v{k} = sin(v{k - 1})")
    lines += [f"    r = reduce_sum(v{n - 2}, axes=(0,))", "    return r"]
    return "\n".join(lines) + "\n"


def scaling(sizes: tuple[int, ...], rounds: int = 3) -> list[dict[str, Any]]:
    """Seconds to compile a chain program and make its first value_and_grad (conversion,
    JVP, partial evaluation, transposition, plan generation), less the run itself: the
    median over ``rounds`` rounds, wall-clock and CPU time of this process. Each round
    compiles a program of its own (named after the round: an equal program would be found
    in the compile cache), parsed before the clock starts, with what parsing left already
    collected (its garbage is not the compiler's)."""
    out = []
    x = np.array([0.1, 0.2, 0.3])
    for n in sizes:
        walls, cpus, runs = [], [], []
        for r in range(rounds):
            p = parse_program(chain_text(n, name=f"chain_{n}_{r}"))
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            compiled = lo.compile(p)
            compiled.value_and_grad(x)
            total, total_cpu = time.perf_counter() - t, time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
            compiled.value_and_grad(x)
            run, run_cpu = time.perf_counter() - t, time.process_time() - c
            walls.append(total - run)
            cpus.append(total_cpu - run_cpu)
            runs.append(run)
            del compiled, p
        out.append({"equations": n, "rounds": rounds,
                    "transform_and_compile_seconds": statistics.median(walls),
                    "transform_and_compile_cpu_seconds": statistics.median(cpus),
                    "transform_and_compile_seconds_all": walls,
                    "transform_and_compile_cpu_seconds_all": cpus,
                    "run_seconds": statistics.median(runs)})
    return out


def _load() -> str:
    """The 1-minute load average, where the system reports one: timings on a shared machine
    are read against it."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "unknown"


def _fmt_time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def table(results: list[dict[str, Any]]) -> str:
    names = []
    for r in results:
        for name in r["median_seconds"]:
            if name not in names:
                names.append(name)
    head = "| workload | " + " | ".join(names) + " | peak memory (engine / NumPy) |"
    lines = [head, "|" + "---|" * (len(names) + 2)]
    for r in results:
        base = r["median_seconds"]["numpy (hand-written VJP)"]
        cells = []
        for name in names:
            t = r["median_seconds"].get(name)
            cells.append("—" if t is None else f"{_fmt_time(t)} ({t / base:.2f}×)")
        mem = r["peak_bytes"]
        ratio = mem["lintra.optimized"] / max(mem["numpy (hand-written VJP)"], 1)
        lines.append(f"| {r['workload']} | " + " | ".join(cells) + f" | {ratio:.2f}× |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer, shorter samples; no reference interpreter")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these workloads only")
    parser.add_argument("--scaling", nargs="*", type=int, default=[1_000, 10_000, 100_000],
                        metavar="N", help="chain sizes for the compile-time table")
    parser.add_argument("--scaling-rounds", type=int, default=3, metavar="R",
                        help="rounds per chain size (the table shows medians)")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args(argv)
    pin_one_core()
    results = []
    for w in all_workloads():
        if args.only and w.name not in args.only:
            continue
        print(f"measuring {w.name} ...", file=sys.stderr, flush=True)
        results.append(measure(w, args.quick))
    print(table(results))
    load = _load()
    grown = scaling(tuple(args.scaling), args.scaling_rounds) if args.scaling else []
    if grown:
        print("\n| equations | transform + compile, wall (CPU) | run |\n|---|---|---|")
        for g in grown:
            print(f"| {g['equations']:,} | {_fmt_time(g['transform_and_compile_seconds'])} "
                  f"({_fmt_time(g['transform_and_compile_cpu_seconds'])}) | "
                  f"{_fmt_time(g['run_seconds'])} |")
        print(f"\nmedians of {args.scaling_rounds} rounds; 1-minute load average "
              f"{load} before, {_load()} after")
    if args.json:
        args.json.write_text(json.dumps({"workloads": results, "scaling": grown}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The seven workloads of the performance comparison, each three ways: as a lintra program,
as a plain NumPy function, and with a hand-written NumPy reverse pass (value and gradient),
which is the practical limit for an AD system that runs on NumPy.

Each :class:`Workload` gives ``program`` (lintra text), ``inputs`` (arrays, seeded),
``argnums`` (the parameters the gradient is taken of), ``loss(xp)`` (the function written
once over an array namespace ``xp``: NumPy, ``lintra.optimized.numpy``, ``autograd.numpy``,
``jax.numpy``), ``primal = loss(numpy)`` and ``value_and_grad(*inputs) -> (value,
(gradients...))``, the hand-written NumPy reverse pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    program: str
    inputs: tuple[np.ndarray, ...]
    argnums: tuple[int, ...]
    primal: Callable[..., Any]
    value_and_grad: Callable[..., tuple[Any, tuple[np.ndarray, ...]]]
    loss: Callable[[Any], Callable[..., Any]]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# mlp: tanh MLP 784-256-256-10, batch 128, softmax cross-entropy


def mlp(batch: int = 128, sizes: tuple[int, ...] = (784, 256, 256, 10)) -> Workload:
    d0, d1, d2, d3 = sizes
    rng = _rng(0)
    x = rng.standard_normal((batch, d0))
    y = np.eye(d3)[rng.integers(0, d3, batch)]
    w1, b1 = rng.standard_normal((d0, d1)) / np.sqrt(d0), np.zeros(d1)
    w2, b2 = rng.standard_normal((d1, d2)) / np.sqrt(d1), np.zeros(d2)
    w3, b3 = rng.standard_normal((d2, d3)) / np.sqrt(d2), np.zeros(d3)
    mm = "contracting_dims=((1,), (0,))"
    text = f"""
def mlp(x: f64[{batch}, {d0}], y: f64[{batch}, {d3}], w1: f64[{d0}, {d1}], b1: f64[{d1}],
        w2: f64[{d1}, {d2}], b2: f64[{d2}], w3: f64[{d2}, {d3}], b3: f64[{d3}]) -> f64[]:
    a1 = dot_general(x, w1, {mm})
    c1 = broadcast_in_dim(b1, shape=({batch}, {d1}), broadcast_dimensions=(1,))
    z1 = add(a1, c1)
    h1 = tanh(z1)
    a2 = dot_general(h1, w2, {mm})
    c2 = broadcast_in_dim(b2, shape=({batch}, {d2}), broadcast_dimensions=(1,))
    z2 = add(a2, c2)
    h2 = tanh(z2)
    a3 = dot_general(h2, w3, {mm})
    c3 = broadcast_in_dim(b3, shape=({batch}, {d3}), broadcast_dimensions=(1,))
    logits = add(a3, c3)
    m = reduce_max(logits, axes=(1,))
    ms = stop_gradient(m)
    mb = broadcast_in_dim(ms, shape=({batch}, {d3}), broadcast_dimensions=(0,))
    z = sub(logits, mb)
    e = exp(z)
    se = reduce_sum(e, axes=(1,))
    lse = log(se)
    lb = broadcast_in_dim(lse, shape=({batch}, {d3}), broadcast_dimensions=(0,))
    logp = sub(z, lb)
    yl = mul(y, logp)
    t = reduce_sum(yl, axes=(0, 1))
    loss = div(t, -{float(batch)})
    return loss
"""
    text = _flatten(text)

    def loss(xp):
        def f(x, y, w1, b1, w2, b2, w3, b3):
            h1 = xp.tanh(x @ w1 + b1)
            h2 = xp.tanh(h1 @ w2 + b2)
            logits = h2 @ w3 + b3
            z = logits - xp.max(logits, axis=1, keepdims=True)
            logp = z - xp.log(xp.sum(xp.exp(z), axis=1, keepdims=True))
            return -xp.sum(y * logp) / batch
        return f

    def value_and_grad(x, y, w1, b1, w2, b2, w3, b3):
        h1 = np.tanh(x @ w1 + b1)
        h2 = np.tanh(h1 @ w2 + b2)
        logits = h2 @ w3 + b3
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logp = z - np.log(s)
        loss = -(y * logp).sum() / batch
        dlogits = (e / s * y.sum(axis=1, keepdims=True) - y) / batch
        dw3, db3 = h2.T @ dlogits, dlogits.sum(axis=0)
        dz2 = (dlogits @ w3.T) * (1 - h2 * h2)
        dw2, db2 = h1.T @ dz2, dz2.sum(axis=0)
        dz1 = (dz2 @ w2.T) * (1 - h1 * h1)
        dw1, db1 = x.T @ dz1, dz1.sum(axis=0)
        return loss, (dw1, db1, dw2, db2, dw3, db3)

    return Workload("mlp", f"tanh MLP {'-'.join(map(str, sizes))}, batch {batch}, softmax "
                    "cross-entropy; gradient w.r.t. W1, b1, W2, b2, W3, b3", text,
                    (x, y, w1, b1, w2, b2, w3, b3), (2, 3, 4, 5, 6, 7), loss(np), value_and_grad,
                    loss)


def _flatten(text: str) -> str:
    """Join the continuation lines of a def header (the grammar wants it on one line)."""
    lines = text.strip().splitlines()
    header = [lines[0]]
    k = 1
    while not header[-1].rstrip().endswith(":"):
        header.append(lines[k].strip())
        k += 1
    return " ".join(header) + "\n" + "\n".join(lines[k:]) + "\n"


# --------------------------------------------------------------------------------------------
# Rosenbrock


def rosenbrock(n: int) -> Workload:
    x = _rng(1).uniform(-1.0, 1.0, n)
    text = f"""def rosen(x: f64[{n}]) -> f64[]:
    x0 = slice(x, start=(0,), limit=({n - 1},))
    x1 = slice(x, start=(1,), limit=({n},))
    sq = mul(x0, x0)
    d = sub(x1, sq)
    d2 = mul(d, d)
    t1 = mul(d2, 100.0)
    o = sub(1.0, x0)
    o2 = mul(o, o)
    s = add(t1, o2)
    r = reduce_sum(s, axes=(0,))
    return r
"""

    def loss(xp):
        def f(x):
            x0, x1 = x[:-1], x[1:]
            return xp.sum(100.0 * (x1 - x0 * x0) ** 2 + (1.0 - x0) ** 2)
        return f

    def value_and_grad(x):
        x0, x1 = x[:-1], x[1:]
        d = x1 - x0 * x0
        o = 1.0 - x0
        value = np.sum(100.0 * d * d + o * o)
        g = np.zeros_like(x)
        g[1:] += 200.0 * d
        g[:-1] += -400.0 * d * x0 - 2.0 * o
        return value, (g,)

    return Workload(f"rosen_{'small' if n <= 100 else 'large'}", f"Rosenbrock, n = {n:,}",
                    text, (x,), (0,), loss(np), value_and_grad, loss)


# --------------------------------------------------------------------------------------------
# A chain of 23 elementwise operations, then a sum


def elementwise(n: int = 1_000_000) -> Workload:
    x = _rng(2).uniform(0.5, 1.5, n)
    text = f"""def chain(x: f64[{n}]) -> f64[]:
    a = sin(x)
    b = exp(a)
    c = tanh(b)
    d = mul(c, x)
    e = add(d, 1.0)
    f = log1p(e)
    g = cos(f)
    h = sqrt(g)
    i = div(h, x)
    j = neg(i)
    k = exp(j)
    l = add(k, a)
    m = mul(l, l)
    o = sin(m)
    p = add(o, 2.0)
    q = sqrt(p)
    r = tanh(q)
    s = mul(r, b)
    t = log1p(s)
    u = cos(t)
    v = div(u, e)
    w = add(v, x)
    z = mul(w, c)
    y = reduce_sum(z, axes=(0,))
    return y
"""

    def loss(xp):
        def f(x):
            a = xp.sin(x)
            b = xp.exp(a)
            c = xp.tanh(b)
            e = c * x + 1.0
            f_ = xp.log1p(e)
            h = xp.sqrt(xp.cos(f_))
            k = xp.exp(-(h / x))
            m = (k + a) ** 2
            q = xp.sqrt(xp.sin(m) + 2.0)
            r = xp.tanh(q)
            t = xp.log1p(r * b)
            w = xp.cos(t) / e + x
            return xp.sum(w * c)
        return f

    def value_and_grad(x):
        a = np.sin(x)
        b = np.exp(a)
        c = np.tanh(b)
        d = c * x
        e = d + 1.0
        f = np.log1p(e)
        g = np.cos(f)
        h = np.sqrt(g)
        i = h / x
        k = np.exp(-i)
        l_ = k + a
        m = l_ * l_
        o = np.sin(m)
        q = np.sqrt(o + 2.0)
        r = np.tanh(q)
        s = r * b
        t = np.log1p(s)
        u = np.cos(t)
        v = u / e
        w = v + x
        value = np.sum(w * c)
        dw = c
        dc = w.copy()
        dx = dw.copy()
        dv = dw
        du = dv / e
        de = -dv * v / e
        dt = -du * np.sin(t)
        ds = dt / (1.0 + s)
        dr = ds * b
        db = ds * r
        dq = dr * (1.0 - r * r)
        do = dq / (2.0 * q)
        dm = do * np.cos(m)
        dl = 2.0 * l_ * dm
        dk = dl
        da = dl.copy()
        di = -dk * k
        dh = di / x
        dx -= di * i / x
        dg = dh / (2.0 * h)
        df = -dg * np.sin(f)
        de += df / (1.0 + e)
        dd = de
        dc += dd * x
        dx += dd * c
        db += dc * (1.0 - c * c)
        da += db * b
        dx += da * np.cos(x)
        return value, (dx,)

    return Workload("elementwise", f"chain of 23 elementwise operations on n = {n:,}, then "
                    "a sum", text, (x,), (0,), loss(np), value_and_grad, loss)


# --------------------------------------------------------------------------------------------
# tiny_ops: 1000 iterations of x = x * 1.0001 + 0.001 * sin(x) on a length-3 array


def tiny_ops(iterations: int = 1000) -> Workload:
    x = np.array([0.1, 0.2, 0.3])
    lines = ["def tiny(x: f64[3]) -> f64[]:", "    v0 = copy(x)"]
    for k in range(iterations):
        v, w = f"v{k}", f"v{k + 1}"
        lines += [f"    s{k} = sin({v})", f"    a{k} = mul({v}, 1.0001)",
                  f"    b{k} = mul(s{k}, 0.001)", f"    {w} = add(a{k}, b{k})"]
    lines += [f"    r = reduce_sum(v{iterations}, axes=(0,))", "    return r"]
    text = "\n".join(lines) + "\n"

    def loss(xp):
        def f(x):
            for _ in range(iterations):
                x = x * 1.0001 + 0.001 * xp.sin(x)
            return xp.sum(x)
        return f

    def value_and_grad(x):
        tape = []
        for _ in range(iterations):
            tape.append(x)
            x = x * 1.0001 + 0.001 * np.sin(x)
        g = np.ones(3)
        for v in reversed(tape):
            g = g * 1.0001 + g * (0.001 * np.cos(v))
        return np.sum(x), (g,)

    return Workload("tiny_ops", f"{iterations} iterations of x = x·1.0001 + 0.001·sin(x) on a "
                    f"length-3 array ({4 * iterations} operations), then a sum", text, (x,),
                    (0,), loss(np), value_and_grad, loss)


# --------------------------------------------------------------------------------------------
# rnn_loop: a tanh RNN unrolled over 100 steps


def rnn(steps: int = 100, hidden: int = 64, inputs: int = 32) -> Workload:
    rng = _rng(3)
    w = rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)
    u = rng.standard_normal((hidden, inputs)) / np.sqrt(inputs)
    b = np.zeros(hidden)
    xs = rng.standard_normal((steps, inputs))
    h0 = np.zeros(hidden)
    mv = "contracting_dims=((1,), (0,))"
    lines = [f"def rnn(w: f64[{hidden}, {hidden}], u: f64[{hidden}, {inputs}], "
             f"b: f64[{hidden}], xs: f64[{steps}, {inputs}], h0: f64[{hidden}]) -> f64[]:",
             "    h_0 = copy(h0)"]
    for t in range(steps):
        lines += [f"    r{t} = slice(xs, start=({t}, 0), limit=({t + 1}, {inputs}))",
                  f"    x{t} = reshape(r{t}, new_sizes=({inputs},))",
                  f"    p{t} = dot_general(w, h_{t}, {mv})",
                  f"    q{t} = dot_general(u, x{t}, {mv})",
                  f"    s{t} = add(p{t}, q{t})",
                  f"    z{t} = add(s{t}, b)",
                  f"    h_{t + 1} = tanh(z{t})"]
    lines += [f"    sq = mul(h_{steps}, h_{steps})", "    loss = reduce_sum(sq, axes=(0,))",
              "    return loss"]
    text = "\n".join(lines) + "\n"

    def loss(xp):
        def f(w, u, b, xs, h0):
            h = h0
            for t in range(steps):
                h = xp.tanh(w @ h + u @ xs[t] + b)
            return xp.sum(h * h)
        return f

    def value_and_grad(w, u, b, xs, h0):
        hs = [h0]
        for t in range(steps):
            hs.append(np.tanh(w @ hs[-1] + u @ xs[t] + b))
        h = hs[-1]
        dh = 2.0 * h
        dw, du, db = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
        for t in reversed(range(steps)):
            dz = dh * (1.0 - hs[t + 1] * hs[t + 1])
            dw += np.outer(dz, hs[t])
            du += np.outer(dz, xs[t])
            db += dz
            dh = w.T @ dz
        return np.sum(h * h), (dw, du, db)

    return Workload("rnn_loop", f"tanh RNN unrolled over {steps} steps, hidden {hidden}, "
                    f"input {inputs}, loss sum(h_T²); gradient w.r.t. W, U, b", text,
                    (w, u, b, xs, h0), (0, 1, 2), loss(np), value_and_grad, loss)


# --------------------------------------------------------------------------------------------
# pde: 1-D reaction-diffusion, explicit steps with periodic neighbours


def pde(n: int = 256, steps: int = 500, dt: float = 0.01, diffusion: float = 10.0) -> Workload:
    grid = np.linspace(0.0, 1.0, n, endpoint=False)
    u0 = 0.5 + 0.25 * np.sin(2 * np.pi * grid)
    r = np.float64(0.5)
    k = dt * diffusion
    lines = [f"def pde(u0: f64[{n}], r: f64[]) -> f64[]:", "    u_0 = copy(u0)",
             f"    rdt = mul(r, {dt!r})"]
    for t in range(steps):
        u = f"u_{t}"
        lines += [f"    a{t} = slice({u}, start=({n - 1},), limit=({n},))",
                  f"    b{t} = slice({u}, start=(0,), limit=({n - 1},))",
                  f"    left{t} = concatenate(a{t}, b{t}, dimension=0)",
                  f"    c{t} = slice({u}, start=(1,), limit=({n},))",
                  f"    d{t} = slice({u}, start=(0,), limit=(1,))",
                  f"    right{t} = concatenate(c{t}, d{t}, dimension=0)",
                  f"    s{t} = add(left{t}, right{t})",
                  f"    twice{t} = mul({u}, 2.0)",
                  f"    lap{t} = sub(s{t}, twice{t})",
                  f"    diff{t} = mul(lap{t}, {k!r})",
                  f"    one{t} = sub(1.0, {u})",
                  f"    grow{t} = mul({u}, one{t})",
                  f"    react{t} = mul(grow{t}, rdt)",
                  f"    inc{t} = add(diff{t}, react{t})",
                  f"    u_{t + 1} = add({u}, inc{t})"]
    lines += [f"    sq = mul(u_{steps}, u_{steps})", "    loss = reduce_sum(sq, axes=(0,))",
              "    return loss"]
    text = "\n".join(lines) + "\n"

    def loss(xp):
        def f(u0, r):
            u = u0
            rdt = r * dt
            for _ in range(steps):
                left = xp.concatenate([u[-1:], u[:-1]])  # periodic neighbours
                right = xp.concatenate([u[1:], u[:1]])
                u = u + k * (left + right - 2.0 * u) + u * (1.0 - u) * rdt
            return xp.sum(u * u)
        return f

    def value_and_grad(u0, r):
        us = [u0]
        rdt = r * dt
        for _ in range(steps):
            u = us[-1]
            us.append(u + k * (np.roll(u, 1) + np.roll(u, -1) - 2.0 * u) + u * (1.0 - u) * rdt)
        u = us[-1]
        du = 2.0 * u
        drdt = 0.0
        for t in reversed(range(steps)):
            v = us[t]
            drdt += np.sum(du * v * (1.0 - v))
            du = (du + k * (np.roll(du, -1) + np.roll(du, 1) - 2.0 * du)
                  + du * (1.0 - 2.0 * v) * rdt)
        return np.sum(u * u), (du, np.float64(drdt * dt))

    return Workload("pde", f"1-D reaction-diffusion, n = {n}, {steps} explicit steps with "
                    "periodic neighbours, loss sum(u²); gradient w.r.t. u0 and r", text,
                    (u0, r), (0, 1), loss(np), value_and_grad, loss)


def all_workloads() -> list[Workload]:
    return [mlp(), rosenbrock(10), rosenbrock(1_000_000), elementwise(), rnn(), pde(),
            tiny_ops()]

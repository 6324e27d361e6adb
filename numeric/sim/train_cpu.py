"""Numba CPU trainer: the algorithm of :mod:`scaling_theory.numeric.sim.reference`, compiled, threads over students.

All students of one call share each data chunk; one parallel kernel call per chunk runs
``prange`` over the students (largest first, one student per task, so the 2 cores balance).
Online SGD students (``B = 1``) keep their hidden weights *unit-major*, ``Wt (d, n)``: each
sample's update ``Wt -= (c v 1[h > 0]) x^T`` and the next sample's forward pass ``h = Wt^T x'``
share one pass over the weights with the unit index innermost, which LLVM vectorises whatever the
width (the row-major dot products of length ``d = 8`` vectorised poorly).  Minibatch and Adam
students keep row-major ``W (n, d)`` for the register-blocked kernels below.  No BLAS is called
inside the kernels, so there is no nested BLAS threading to oversubscribe the cores.

Every kernel also sums the online KL of each sample (against the teacher logits the stream drew
its label with, before the step that uses it); the teacher's ``softplus(F)`` and ``sigma(F)`` are
computed once per chunk for all students, and the student's ``softplus(f)`` is the loss's.

Floating-point: the kernels use the LLVM fast-math flags ``reassoc``, ``contract``, ``nsz`` and
``arcp`` (reordered, fused sums) but *not* ``nnan``/``ninf``, so non-finite values still propagate
and the divergence rule still sees them.  Results therefore match the NumPy reference to rounding
(about 1e-15 relative after a few thousand steps; the tests allow 1e-9), and a seeded run is
bit-for-bit reproducible on one machine (every student is computed by one thread in a fixed order,
and the background data thread changes only when a chunk is drawn, never what it holds).  Online
SGD students with ``precision="float32"`` keep their weights, forward pass and update in float32
(own buffers, and a float32 copy of each chunk's inputs shared by them); their loss, online KL and
learning rate stay float64, and they match the float32 reference to float32's rounding.

Memory is ``O(chunk_size * d)`` for the data (the current chunk and two drawn ahead) plus
``O(p)`` per student: one student with d = 64 trained on T = 10^7 samples peaked at about
180 MiB RSS for the whole Python process (``/usr/bin/time -v``).

Performance notes: a sample costs about ``4 p`` flops (forward ``2 p``, fused gradient and update
``2 p``).  The backward pass is branch-free: inactive units (``h_i <= 0``) get a zero update rather
than a skipped row, because a data-dependent branch per unit mispredicts about half the time.
For ``B > 1`` the step's gradient is computed by register-blocked kernels (4 units x 4 samples:
each load of a weight row serves four samples, each load of an input row four units); a plain
SGD step that fits one block is written straight into ``W`` (no gradient buffer pass).
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
from typing import Iterable, Iterator, Sequence

import numba
import numpy as np
from numba import njit, prange

# the shared compiled primitives (the one Bernoulli-KL-from-logits helper among them)
from scaling_theory.numeric.sim.kernels import _hidden, _kl_from_parts, _relu_dot, _teacher_parts
from scaling_theory.numeric.sim.teacher import DEFAULT_CHUNK, Teacher, chunk_triple, data_chunks
from scaling_theory.numeric.sim.teacher import chunk as data_chunk
from scaling_theory.numeric.sim.students import (ADAM_BETA1, ADAM_BETA2, ADAM_EPS, OPTIMIZERS, SCHEDULES,
                                                 StudentConfig, TrainResult, divergence_reason, init_params,
                                                 layer_lr_factors, online_kl_summary)

__all__ = ["train_cpu", "train_cpu_many", "train_chunks"]

_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
_SCRATCH_ROWS = 256  # rows of a minibatch processed per block (bounds scratch memory for huge B)


@njit(cache=True, inline="always")
def _lr(sch, lr0, t0, t):
    if sch == 0:
        return lr0
    if sch == 1:
        return lr0 / (1.0 + t / t0)
    return lr0 / math.sqrt(1.0 + t / t0)


@njit(cache=True, fastmath=_FASTMATH)
def _apply_step(W, v, GW, Gv, MW, Mv, VW, Vv, m, lr, opt, k, cW, cv):
    """Apply the mean of the accumulated gradient (m samples) and clear the accumulators.

    Layer ``W`` steps with rate ``cW lr``, ``v`` with ``cv lr`` (``layer_lr_factors``)."""
    n, d = W.shape
    lrW = lr * cW
    lrv = lr * cv
    if opt == 0:
        c = lrW / m
        c_v = lrv / m
        for i in range(n):
            for j in range(d):
                W[i, j] -= c * GW[i, j]
                GW[i, j] = 0.0
            v[i] -= c_v * Gv[i]
            Gv[i] = 0.0
    else:
        b1, b2 = ADAM_BETA1, ADAM_BETA2
        bc1 = 1.0 - b1 ** k
        bc2 = 1.0 - b2 ** k
        inv_m = 1.0 / m
        for i in range(n):
            for j in range(d):
                g = GW[i, j] * inv_m
                MW[i, j] = b1 * MW[i, j] + (1.0 - b1) * g
                VW[i, j] = b2 * VW[i, j] + (1.0 - b2) * g * g
                W[i, j] -= lrW * (MW[i, j] / bc1) / (math.sqrt(VW[i, j] / bc2) + ADAM_EPS)
                GW[i, j] = 0.0
            g = Gv[i] * inv_m
            Mv[i] = b1 * Mv[i] + (1.0 - b1) * g
            Vv[i] = b2 * Vv[i] + (1.0 - b2) * g * g
            v[i] -= lrv * (Mv[i] / bc1) / (math.sqrt(Vv[i] / bc2) + ADAM_EPS)
            Gv[i] = 0.0


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _update_forward(Wt, ck, x, xn, h):
    """``Wt[j, k] -= ck[k] x[j]`` and, in the same pass, ``h[k] = sum_j Wt[j, k] xn[j]`` (new weights).

    Unit-major ``Wt (d, n)``, units innermost (vectorised); the input dimension in blocks of 8, so
    for ``d <= 8`` every weight is loaded and stored once per sample.
    """
    d, n = Wt.shape
    d8 = d - d % 8
    if d8 == 0:
        for k in range(n):
            h[k] = 0.0
    for j in range(0, d8, 8):
        x0 = x[j]
        x1 = x[j + 1]
        x2 = x[j + 2]
        x3 = x[j + 3]
        x4 = x[j + 4]
        x5 = x[j + 5]
        x6 = x[j + 6]
        x7 = x[j + 7]
        z0 = xn[j]
        z1 = xn[j + 1]
        z2 = xn[j + 2]
        z3 = xn[j + 3]
        z4 = xn[j + 4]
        z5 = xn[j + 5]
        z6 = xn[j + 6]
        z7 = xn[j + 7]
        W0 = Wt[j]
        W1 = Wt[j + 1]
        W2 = Wt[j + 2]
        W3 = Wt[j + 3]
        W4 = Wt[j + 4]
        W5 = Wt[j + 5]
        W6 = Wt[j + 6]
        W7 = Wt[j + 7]
        if j == 0:  # two loops: a select on j inside the loop stops LLVM vectorising it
            for k in range(n):
                c = ck[k]
                w0 = W0[k] - c * x0
                w1 = W1[k] - c * x1
                w2 = W2[k] - c * x2
                w3 = W3[k] - c * x3
                w4 = W4[k] - c * x4
                w5 = W5[k] - c * x5
                w6 = W6[k] - c * x6
                w7 = W7[k] - c * x7
                W0[k] = w0
                W1[k] = w1
                W2[k] = w2
                W3[k] = w3
                W4[k] = w4
                W5[k] = w5
                W6[k] = w6
                W7[k] = w7
                acc = w0 * z0 + w1 * z1 + w2 * z2 + w3 * z3 + w4 * z4 + w5 * z5 + w6 * z6 + w7 * z7
                h[k] = acc
        else:
            for k in range(n):
                c = ck[k]
                w0 = W0[k] - c * x0
                w1 = W1[k] - c * x1
                w2 = W2[k] - c * x2
                w3 = W3[k] - c * x3
                w4 = W4[k] - c * x4
                w5 = W5[k] - c * x5
                w6 = W6[k] - c * x6
                w7 = W7[k] - c * x7
                W0[k] = w0
                W1[k] = w1
                W2[k] = w2
                W3[k] = w3
                W4[k] = w4
                W5[k] = w5
                W6[k] = w6
                W7[k] = w7
                acc = w0 * z0 + w1 * z1 + w2 * z2 + w3 * z3 + w4 * z4 + w5 * z5 + w6 * z6 + w7 * z7
                h[k] += acc
    for j in range(d8, d):
        xj = x[j]
        zj = xn[j]
        Wj = Wt[j]
        for k in range(n):
            w = Wj[k] - ck[k] * xj
            Wj[k] = w
            h[k] += w * zj


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _step_forward8(Wt, v, h, c, cv, x, xn):
    """``d = 8``: the whole step of one sample and the next sample's forward pass in one loop.

    Per unit: the hidden delta ``c v_k 1[h_k > 0]`` (old ``v``), ``v_k -= cv ReLU(h_k)``, the unit's 8
    weights updated, its new pre-activation on ``xn`` and its share of the new logit, which is
    returned.  The same operations as :func:`_update_forward` and :func:`_relu_dot`, fused.
    """
    n = v.shape[0]
    zero = v.dtype.type(0.0)  # scalars in the weights' dtype: float32 students stay float32
    c = v.dtype.type(c)
    cv = v.dtype.type(cv)
    x0 = x[0]
    x1 = x[1]
    x2 = x[2]
    x3 = x[3]
    x4 = x[4]
    x5 = x[5]
    x6 = x[6]
    x7 = x[7]
    z0 = xn[0]
    z1 = xn[1]
    z2 = xn[2]
    z3 = xn[3]
    z4 = xn[4]
    z5 = xn[5]
    z6 = xn[6]
    z7 = xn[7]
    W0 = Wt[0]
    W1 = Wt[1]
    W2 = Wt[2]
    W3 = Wt[3]
    W4 = Wt[4]
    W5 = Wt[5]
    W6 = Wt[6]
    W7 = Wt[7]
    f = zero
    for k in range(n):
        hk = h[k]
        vk = v[k]
        ck = c * vk if hk > zero else zero
        vn = vk - cv * max(hk, zero)
        v[k] = vn
        w0 = W0[k] - ck * x0
        w1 = W1[k] - ck * x1
        w2 = W2[k] - ck * x2
        w3 = W3[k] - ck * x3
        w4 = W4[k] - ck * x4
        w5 = W5[k] - ck * x5
        w6 = W6[k] - ck * x6
        w7 = W7[k] - ck * x7
        W0[k] = w0
        W1[k] = w1
        W2[k] = w2
        W3[k] = w3
        W4[k] = w4
        W5[k] = w5
        W6[k] = w6
        W7[k] = w7
        acc = w0 * z0 + w1 * z1 + w2 * z2 + w3 * z3 + w4 * z4 + w5 * z5 + w6 * z6 + w7 * z7
        h[k] = acc
        f += vn * max(acc, zero)
    return f


@njit(cache=True, fastmath=_FASTMATH)
def _online_sgd(Wt, v, h, ck, X, y, P, rows, seen, sch, lr0, t0, cW, cv):
    """B = 1 plain SGD on rows ``[0, rows)``: forward, loss, online KL, update, per sample.

    Unit-major weights ``Wt (d, n)``; ``h``, ``ck`` are scratch of length n.  ``P`` holds the
    teacher's logits ``F`` and their ``softplus`` and ``sigma`` (rows 0, 1, 2; see
    :func:`scaling_theory.numeric.sim.kernels._teacher_parts`).  The update of sample ``t`` and the
    forward pass of sample ``t + 1`` share one pass over the weights (:func:`_update_forward`;
    for ``d = 8`` the whole step in one loop, :func:`_step_forward8`); the order of operations is
    the reference's.  Returns the summed loss and the summed online KL
    (and its squares), each sample's before its own update.
    """
    loss = 0.0
    kls = 0.0
    kl2 = 0.0
    if rows == 0:
        return loss, kls, kl2
    n = v.shape[0]
    d8 = Wt.shape[0] == 8
    _hidden(Wt, X[0], h)
    f = float(_relu_dot(v, h))  # the per-sample scalar chain runs in float64 for either dtype
    zero = v.dtype.type(0.0)
    for t in range(rows):
        yt = y[t]
        e = math.exp(-abs(f))             # one exp serves softplus and sigmoid
        sp = max(f, 0.0) + math.log1p(e)  # softplus(f)
        loss += sp - yt * f
        kl = _kl_from_parts(sp, f, P[1, t], P[2, t], P[0, t])
        kls += kl
        kl2 += kl * kl
        g = _lr(sch, lr0, t0, float(seen + t)) * ((1.0 / (1.0 + e) if f >= 0.0 else e / (1.0 + e)) - yt)
        c = g * cW    # per-layer rates (layer_lr_factors); both factors are 1 by default
        c_v = g * cv
        if d8 and t + 1 < rows:
            f = float(_step_forward8(Wt, v, h, c, c_v, X[t], X[t + 1]))
            continue
        c = v.dtype.type(c)
        c_v = v.dtype.type(c_v)
        for k in range(n):
            # branch-free: inactive units get a zero update (a data-dependent branch here
            # mispredicts half the time and costs ~4x in throughput)
            hk = h[k]
            vk = v[k]
            ck[k] = c * vk if hk > zero else zero   # the W gradient uses v before the step
            v[k] = vk - c_v * max(hk, zero)
        if t + 1 < rows:
            _update_forward(Wt, ck, X[t], X[t + 1], h)
            f = float(_relu_dot(v, h))
        else:
            x = X[t]
            for j in range(Wt.shape[0]):
                xj = x[j]
                for k in range(n):
                    Wt[j, k] -= ck[k] * xj
    return loss, kls, kl2


@njit(cache=True, fastmath=_FASTMATH)
def _forward_block(W, X, H, start, m):
    """``H[b, i] = X[start + b] . W[i]`` for ``b < m``, register-blocked 4 units x 4 samples."""
    n, d = W.shape
    n4 = n - n % 4
    m4 = m - m % 4
    for b in range(0, m4, 4):
        r = start + b
        for i in range(0, n4, 4):
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            b0 = 0.0
            b1 = 0.0
            b2 = 0.0
            b3 = 0.0
            c0 = 0.0
            c1 = 0.0
            c2 = 0.0
            c3 = 0.0
            e0 = 0.0
            e1 = 0.0
            e2 = 0.0
            e3 = 0.0
            for j in range(d):
                x0 = X[r, j]
                x1 = X[r + 1, j]
                x2 = X[r + 2, j]
                x3 = X[r + 3, j]
                w = W[i, j]
                a0 += w * x0
                a1 += w * x1
                a2 += w * x2
                a3 += w * x3
                w = W[i + 1, j]
                b0 += w * x0
                b1 += w * x1
                b2 += w * x2
                b3 += w * x3
                w = W[i + 2, j]
                c0 += w * x0
                c1 += w * x1
                c2 += w * x2
                c3 += w * x3
                w = W[i + 3, j]
                e0 += w * x0
                e1 += w * x1
                e2 += w * x2
                e3 += w * x3
            H[b, i] = a0
            H[b + 1, i] = a1
            H[b + 2, i] = a2
            H[b + 3, i] = a3
            H[b, i + 1] = b0
            H[b + 1, i + 1] = b1
            H[b + 2, i + 1] = b2
            H[b + 3, i + 1] = b3
            H[b, i + 2] = c0
            H[b + 1, i + 2] = c1
            H[b + 2, i + 2] = c2
            H[b + 3, i + 2] = c3
            H[b, i + 3] = e0
            H[b + 1, i + 3] = e1
            H[b + 2, i + 3] = e2
            H[b + 3, i + 3] = e3
    # leftovers: samples past m4 for every unit, units past n4 for the blocked samples
    for b in range(m):
        r = start + b
        lo = n4 if b < m4 else 0
        for i in range(lo, n):
            acc = 0.0
            for j in range(d):
                acc += W[i, j] * X[r, j]
            H[b, i] = acc


@njit(cache=True, fastmath=_FASTMATH)
def _backward_block(GW, X, D, start, m):
    """``GW[i] += sum_b D[b, i] X[start + b]``, register-blocked 4 units x 4 samples."""
    n, d = GW.shape
    n4 = n - n % 4
    m4 = m - m % 4
    for i in range(0, n4, 4):
        for b in range(0, m4, 4):
            r = start + b
            a0 = D[b, i]
            a1 = D[b + 1, i]
            a2 = D[b + 2, i]
            a3 = D[b + 3, i]
            b0 = D[b, i + 1]
            b1 = D[b + 1, i + 1]
            b2 = D[b + 2, i + 1]
            b3 = D[b + 3, i + 1]
            c0 = D[b, i + 2]
            c1 = D[b + 1, i + 2]
            c2 = D[b + 2, i + 2]
            c3 = D[b + 3, i + 2]
            e0 = D[b, i + 3]
            e1 = D[b + 1, i + 3]
            e2 = D[b + 2, i + 3]
            e3 = D[b + 3, i + 3]
            for j in range(d):
                x0 = X[r, j]
                x1 = X[r + 1, j]
                x2 = X[r + 2, j]
                x3 = X[r + 3, j]
                GW[i, j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3
                GW[i + 1, j] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3
                GW[i + 2, j] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3
                GW[i + 3, j] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3
    for i in range(n):
        lo = m4 if i < n4 else 0
        for b in range(lo, m):
            c = D[b, i]
            r = start + b
            for j in range(d):
                GW[i, j] += c * X[r, j]


@njit(cache=True, fastmath=_FASTMATH)
def _batch_gradient(W, v, H, GW, Gv, X, y, P, start, m, scale, vscale, kl_acc):
    """Add ``scale`` x the summed gradient of rows ``X[start:start+m]`` (at the current weights)
    to GW, and ``scale * vscale`` x its v part to Gv.  ``GW`` may be ``W`` itself (fused SGD step): W is not read after the forward pass.

    Forward and weight-gradient passes are register-blocked (each load of a weight row or an
    input row serves several multiply-adds); ``H`` (at least ``m x n``) is scratch.  Returns the
    summed loss; adds the rows' online KL against the teacher (``P``: logits, their softplus and
    sigma; at the current weights) and its square to ``kl_acc[0]``, ``kl_acc[1]``.
    """
    n = W.shape[0]
    _forward_block(W, X, H, start, m)
    # logits, loss, output-unit gradient; H becomes the hidden deltas g_b v_i 1[h_bi > 0]
    loss = 0.0
    for b in range(m):
        f = 0.0
        for i in range(n):
            f += v[i] * max(H[b, i], 0.0)
        yt = y[start + b]
        e = math.exp(-abs(f))            # one exp serves softplus and sigmoid
        sp = max(f, 0.0) + math.log1p(e)
        loss += sp - yt * f
        g = scale * ((1.0 / (1.0 + e) if f >= 0.0 else e / (1.0 + e)) - yt)
        gv = g * vscale
        r = start + b
        kl = _kl_from_parts(sp, f, P[1, r], P[2, r], P[0, r])
        kl_acc[0] += kl
        kl_acc[1] += kl * kl
        for i in range(n):
            hi = H[b, i]
            Gv[i] += gv * max(hi, 0.0)
            H[b, i] = g * v[i] if hi > 0.0 else 0.0
    _backward_block(GW, X, H, start, m)
    return loss


@njit(cache=True, fastmath=_FASTMATH)
def _minibatch(W, v, H, GW, Gv, MW, Mv, VW, Vv, X, y, P, rows, state, T, B, opt, sch, lr0, t0, cW, cv, kl_acc):
    """General case: steps of B samples (the last may be shorter), any optimiser.

    Each step's samples go through the blocked :func:`_batch_gradient` in blocks of at most
    ``H.shape[0]`` rows (a step straddling two chunks is finished in the next call); the gradient
    accumulates in ``GW``, ``Gv`` until the step is applied.  ``state`` = [seen, filled, steps] is
    updated in place.  Returns the summed loss.
    """
    seen, filled, steps = state[0], state[1], state[2]
    hb = H.shape[0]
    loss = 0.0
    t = 0
    while t < rows:
        # the largest block that stays inside this step, this chunk and the scratch rows
        k = min(B - filled, T - seen, rows - t, hb)
        if opt == 0 and filled == 0 and (k == B or k == T - seen):
            # a whole SGD step in one block: the scaled gradient goes straight into W
            lr = _lr(sch, lr0, t0, float(seen))
            loss += _batch_gradient(W, v, H, W, Gv, X, y, P, t, k, -lr * cW / k, cv / cW, kl_acc)
            for i in range(v.shape[0]):
                v[i] += Gv[i]
                Gv[i] = 0.0
            t += k
            seen += k
            steps += 1
            continue
        loss += _batch_gradient(W, v, H, GW, Gv, X, y, P, t, k, 1.0, 1.0, kl_acc)
        t += k
        seen += k
        filled += k
        if filled == B or seen == T:
            steps += 1
            lr = _lr(sch, lr0, t0, float(seen - filled))
            _apply_step(W, v, GW, Gv, MW, Mv, VW, Vv, filled, lr, opt, steps, cW, cv)
            filled = 0
    state[0], state[1], state[2] = seen, filled, steps
    return loss


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _student_chunk(s, X, X32, y, P, active, d, width, woff, voff, Wf, vf, GWf, Gvf, MWf, Mvf, VWf, Vvf,
                   hf, hoff, single, Wf32, vf32, hf32, state, T, B, opt, sch, lr0, t0, lrf, chunk_loss,
                   chunk_rows, chunk_kl):
    """Student ``s``'s share of one data chunk (``chunk_kl[s]``: summed online KL and its squares;
    ``lrf[s]``: the per-layer rate factors ``(c_W, c_v)``).

    Online SGD students (B = 1) keep their hidden weights unit-major, ``(d, n)``; the others
    row-major, ``(n, d)`` (see :func:`train_chunks`).  ``single[s]``: a float32 student, whose
    weights live in ``Wf32``, ``vf32``, ``hf32`` (same offsets) and which reads the chunk's float32
    copy ``X32``.
    """
    if not active[s]:
        chunk_rows[s] = 0
        chunk_loss[s] = 0.0
        chunk_kl[s, 0] = 0.0
        chunk_kl[s, 1] = 0.0
        return
    n = width[s]
    v = vf[voff[s]:voff[s] + n]
    rows = min(X.shape[0], T[s] - state[s, 0])
    chunk_rows[s] = rows
    if B[s] == 1 and opt[s] == 0:
        if single[s]:
            Wt32 = Wf32[woff[s]:woff[s] + n * d].reshape((d, n))
            loss, kls, kl2 = _online_sgd(Wt32, vf32[voff[s]:voff[s] + n], hf32[hoff[s]:hoff[s] + n],
                                         hf32[hoff[s] + n:hoff[s] + 2 * n], X32, y, P, rows, state[s, 0],
                                         sch[s], lr0[s], t0[s], lrf[s, 0], lrf[s, 1])
        else:
            Wt = Wf[woff[s]:woff[s] + n * d].reshape((d, n))
            loss, kls, kl2 = _online_sgd(Wt, v, hf[hoff[s]:hoff[s] + n], hf[hoff[s] + n:hoff[s] + 2 * n], X,
                                         y, P, rows, state[s, 0], sch[s], lr0[s], t0[s], lrf[s, 0], lrf[s, 1])
        chunk_loss[s] = loss
        chunk_kl[s, 0] = kls
        chunk_kl[s, 1] = kl2
        state[s, 0] += rows
        state[s, 2] += rows
    else:
        W = Wf[woff[s]:woff[s] + n * d].reshape((n, d))
        GW = GWf[woff[s]:woff[s] + n * d].reshape((n, d))
        MW = MWf[woff[s]:woff[s] + n * d].reshape((n, d))
        VW = VWf[woff[s]:woff[s] + n * d].reshape((n, d))
        hb = min(B[s], _SCRATCH_ROWS)
        H = hf[hoff[s]:hoff[s] + hb * n].reshape((hb, n))
        chunk_kl[s, 0] = 0.0
        chunk_kl[s, 1] = 0.0
        chunk_loss[s] = _minibatch(W, v, H, GW, Gvf[voff[s]:voff[s] + n], MW,
                                   Mvf[voff[s]:voff[s] + n], VW, Vvf[voff[s]:voff[s] + n],
                                   X, y, P, rows, state[s], T[s], B[s], opt[s], sch[s],
                                   lr0[s], t0[s], lrf[s, 0], lrf[s, 1], chunk_kl[s])


@njit(cache=True, parallel=True, nogil=True)
def _train_chunk(X3, X3s, y2, P3, stream, order, active, d, width, woff, voff, Wf, vf, GWf, Gvf, MWf, Mvf,
                 VWf, Vvf, hf, hoff, single, Wf32, vf32, hf32, state, T, B, opt, sch, lr0, t0, lrf, chunk_loss,
                 chunk_rows, chunk_kl):
    """One data chunk for all students, ``prange`` over students (in ``order``, largest first).

    ``X3[g]``, ``y2[g]``, ``P3[g]`` is the current chunk of data stream ``g`` (inputs, labels, and
    the teacher's logits with their softplus and sigma; ``X3s[g]`` the inputs in float32 when a
    float32 student reads them); student ``s`` reads stream ``stream[s]`` (one stream per teacher
    and data seed).
    """
    for q in prange(order.shape[0]):
        s = order[q]
        g = stream[s]
        _student_chunk(s, X3[g], X3s[g], y2[g], P3[g], active, d, width, woff, voff, Wf, vf, GWf, Gvf, MWf, Mvf,
                       VWf, Vvf, hf, hoff, single, Wf32, vf32, hf32, state, T, B, opt, sch, lr0, t0, lrf,
                       chunk_loss, chunk_rows, chunk_kl)


def train_cpu(teacher: Teacher, students: Sequence[StudentConfig], Ts: Sequence[int], *,
              data_seed: int, chunk_size: int = DEFAULT_CHUNK, progress: bool = False
              ) -> list[TrainResult]:
    """Train students with the Numba kernels; same contract as :func:`scaling_theory.numeric.sim.reference.train_reference`.

    Use :func:`scaling_theory.numeric.sim.training.train` with ``device="cpu"``.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t = sample_teacher(3, 2, seed=0)
    >>> [r] = train_cpu(t, [StudentConfig(2, batch_size=4)], [10], data_seed=1, chunk_size=4)
    >>> r.status, r.samples_seen, r.device
    ('done', 10, 'cpu')
    """
    start = time.perf_counter()
    T_max = max((int(T) for T in Ts), default=0)
    chunks = data_chunks(teacher, T_max, seed=data_seed, chunk_size=chunk_size, with_logits=True)
    if progress:
        from tqdm import tqdm
        chunks = tqdm(chunks, total=-(-T_max // chunk_size), desc="train (cpu)", unit="chunk",
                      file=sys.stderr)
    results = train_chunks(teacher.d, students, Ts, _prefetch(chunks))
    seconds = time.perf_counter() - start
    for r in results:
        r.seconds = seconds
    return results


def train_cpu_many(tasks: Sequence[tuple[Teacher, StudentConfig, int, int]], *,
                   chunk_size: int = DEFAULT_CHUNK, progress: bool = False) -> list[TrainResult]:
    """Train students of *different* teachers / data seeds in one parallel call.

    ``tasks`` are ``(teacher, config, T, data_seed)``; all teachers must share ``d``.  Each distinct
    ``(teacher, data_seed)`` is one data stream (the same chunks :func:`scaling_theory.numeric.sim.teacher.data_chunks`
    yields), so every student's result is the one :func:`train_cpu` gives it alone.  Use
    :func:`scaling_theory.numeric.sim.training.train_many`.
    """
    start = time.perf_counter()
    keys: dict = {}
    teachers: list[Teacher] = []
    seeds: list[int] = []
    streams = []
    for teacher, _, _, data_seed in tasks:
        key = (id(teacher), int(data_seed))
        if key not in keys:
            keys[key] = len(teachers)
            teachers.append(teacher)
            seeds.append(int(data_seed))
        streams.append(keys[key])
    d = teachers[0].d
    G = len(teachers)
    T_stream = [0] * G
    for g, (_, _, T, _) in zip(streams, tasks):
        T_stream[g] = max(T_stream[g], int(T))
    T_max = max(T_stream)
    n_chunks = -(-T_max // chunk_size)

    def stacked():
        for c in range(n_chunks):
            rows = min(chunk_size, T_max - c * chunk_size)
            X3 = np.zeros((G, rows, d))
            y2 = np.zeros((G, rows))
            F2 = np.zeros((G, rows))
            for g in range(G):
                if c * chunk_size < T_stream[g]:
                    X, y, F = data_chunk(teachers[g], c, seed=seeds[g], chunk_size=chunk_size,
                                         with_logits=True)
                    X3[g] = X[:rows]
                    y2[g] = y[:rows]
                    F2[g] = F[:rows]
            yield X3, y2, F2

    chunks: Iterable = stacked()
    if progress:
        from tqdm import tqdm
        chunks = tqdm(chunks, total=n_chunks, desc="train (cpu)", unit="chunk", file=sys.stderr)
    results = train_chunks(d, [cfg for _, cfg, _, _ in tasks], [int(T) for _, _, T, _ in tasks],
                           _prefetch(chunks), streams=streams)
    seconds = time.perf_counter() - start
    for r in results:
        r.seconds = seconds
    return results


def _prefetch(iterator: Iterable, depth: int = 2) -> Iterator:
    """Yield from ``iterator``, producing the next items in a background thread.

    The data stream (NumPy's generator and matmul release the GIL) is then drawn on one core
    while the kernels (``nogil``) train on the other; the items and their order are unchanged.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work():
        try:
            for item in iterator:
                if stop.is_set():
                    return
                q.put(item)
            q.put(done)
        except BaseException as err:  # handed to the consumer, re-raised there
            q.put(err)

    thread = threading.Thread(target=work, name="data-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.01)


def _padded(sizes: np.ndarray) -> np.ndarray:
    """Sizes rounded up to whole 128-byte blocks of float64 (16 values)."""
    return -(-np.asarray(sizes, dtype=np.int64) // 16) * 16


def train_chunks(d: int, students: Sequence[StudentConfig], Ts: Sequence[int],
                 chunks: Iterable[tuple[np.ndarray, ...]],
                 streams: Sequence[int] | None = None) -> list[TrainResult]:
    """Train on given data chunks; the driver of :func:`train_cpu` and :func:`train_cpu_many`.

    ``chunks`` yields ``(X, y, F)`` (C-contiguous float64, one stream; ``F`` the teacher's logits,
    for the online KL) or, with ``streams`` (the stream index of each student), ``(X3, y2, F2)``
    stacking the current chunk of every stream (``X3[g]`` of shape ``(rows, d)``; rows past a
    stream's end are never read).  Without ``F`` (pairs) the online KL is NaN.  The benchmark
    feeds the same pre-generated chunks to every implementation through this.  ``seconds`` in the
    results is the time spent here.

    Layout: online SGD students (``batch_size=1``, ``optimizer="sgd"``) hold their hidden weights
    unit-major, ``(d, n)`` (the update and the next forward pass run over units innermost,
    vectorised); the others row-major, ``(n, d)`` (the register-blocked minibatch kernels).
    """
    start = time.perf_counter()
    S = len(students)
    width = np.array([c.width for c in students], dtype=np.int64)
    # each student's slice starts on its own 128-byte boundary: tiny students updated by different
    # threads must not share cache lines (false sharing made 3 tiny students 10x slower than one)
    woff = np.zeros(S, dtype=np.int64)
    voff = np.zeros(S, dtype=np.int64)
    woff[1:] = np.cumsum(_padded(width * d))[:-1]
    voff[1:] = np.cumsum(_padded(width))[:-1]
    Wf = np.empty(int(_padded(width * d).sum()))
    vf = np.empty(int(_padded(width).sum()))
    online = np.array([c.batch_size == 1 and c.optimizer == "sgd" for c in students], dtype=bool)
    single = np.array([c.precision == "float32" for c in students], dtype=bool)
    # float32 students' weights: their own buffers at the same offsets (empty when there are none)
    Wf32 = np.zeros(Wf.size if single.any() else 0, dtype=np.float32)
    vf32 = np.zeros(vf.size if single.any() else 0, dtype=np.float32)
    for s, cfg in enumerate(students):
        W, v = init_params(cfg, d)
        Wf[woff[s]:woff[s] + W.size] = W.T.ravel() if online[s] else W.ravel()
        vf[voff[s]:voff[s] + v.size] = v
        if single[s]:
            Wf32[woff[s]:woff[s] + W.size] = W.T.ravel()
            vf32[voff[s]:voff[s] + v.size] = v
    zeros_w = lambda: np.zeros_like(Wf)  # noqa: E731 - four identical buffers
    zeros_v = lambda: np.zeros_like(vf)  # noqa: E731
    GWf, MWf, VWf = zeros_w(), zeros_w(), zeros_w()
    Gvf, Mvf, Vvf = zeros_v(), zeros_v(), zeros_v()
    B = np.array([c.batch_size for c in students], dtype=np.int64)
    # scratch: hidden pre-activations of a block (online SGD: h and the hidden deltas)
    rows_h = np.where(online, 2, np.minimum(B, _SCRATCH_ROWS))
    hoff = np.zeros(S, dtype=np.int64)
    hoff[1:] = np.cumsum(_padded(rows_h * width))[:-1]
    hf = np.zeros(int(_padded(rows_h * width).sum()))
    hf32 = np.zeros(hf.size if single.any() else 0, dtype=np.float32)

    def weights(s):
        """Student ``s``'s flat hidden and output weights (views), in its own precision."""
        n = width[s]
        if single[s]:
            return Wf32[woff[s]:woff[s] + n * d], vf32[voff[s]:voff[s] + n]
        return Wf[woff[s]:woff[s] + n * d], vf[voff[s]:voff[s] + n]
    state = np.zeros((S, 3), dtype=np.int64)          # seen, filled, steps
    T = np.array(Ts, dtype=np.int64)
    opt = np.array([OPTIMIZERS.index(c.optimizer) for c in students], dtype=np.int64)
    sch = np.array([SCHEDULES.index(c.schedule) for c in students], dtype=np.int64)
    lr0 = np.array([c.lr for c in students], dtype=np.float64)
    t0 = np.array([c.t0 for c in students], dtype=np.float64)
    lrf = np.array([layer_lr_factors(c) for c in students], dtype=np.float64).reshape(S, 2)
    # largest students first so the two threads finish together
    order = np.argsort(-(width * T), kind="stable").astype(np.int64)
    active = T > 0
    status = ["done"] * S
    reasons: list[str | None] = [None] * S
    loss_total = np.zeros(S)
    chunk_loss = np.zeros(S)
    chunk_rows = np.zeros(S, dtype=np.int64)
    chunk_kl = np.zeros((S, 2))
    kl_total = np.zeros((S, 2))
    stream = np.zeros(S, dtype=np.int64) if streams is None else np.asarray(streams, dtype=np.int64)
    old_chunk = numba.get_parallel_chunksize()
    numba.set_parallel_chunksize(1)  # one student per task: dynamic balance across threads
    try:
        for item in chunks:
            X, y, F = chunk_triple(item)
            if X.ndim == 2:
                X, y, F = X[None], y[None], F[None]
            # the teacher's share of the online KL, once per chunk for every student of a stream
            P = np.empty((F.shape[0], 3, F.shape[1]))
            for g in range(F.shape[0]):
                P[g, 0] = F[g]
                _teacher_parts(F[g], P[g, 1], P[g, 2])
            args = (active, d, width, woff, voff, Wf, vf, GWf, Gvf, MWf, Mvf, VWf, Vvf, hf, hoff, single, Wf32,
                    vf32, hf32, state, T, B, opt, sch, lr0, t0, lrf, chunk_loss, chunk_rows, chunk_kl)
            live = np.flatnonzero(active)
            # the chunk's inputs in float32, once for every float32 student of the stream
            Xs = X.astype(np.float32) if single[live].any() else np.empty((X.shape[0], 0, d), np.float32)
            if live.shape[0] == 1:
                # one student: no parallel region (idle OpenMP threads spin and steal the core)
                g = stream[live[0]]
                _student_chunk(live[0], X[g], Xs[g], y[g], P[g], *args)
            else:
                _train_chunk(X, Xs, y, P, stream, order, *args)
            for s in np.flatnonzero(active):
                loss_total[s] += chunk_loss[s]
                kl_total[s] += chunk_kl[s]
                reason = divergence_reason(*weights(s), chunk_loss[s], int(chunk_rows[s]), int(state[s, 0]),
                                           students[s].max_loss)
                if reason is not None:
                    status[s], reasons[s] = "diverged", reason
                    active[s] = False
                elif state[s, 0] >= T[s]:
                    active[s] = False
            if not active.any():
                break
    finally:
        numba.set_parallel_chunksize(old_chunk)
    seconds = time.perf_counter() - start
    results = []
    for s, cfg in enumerate(students):
        n = int(width[s])
        flat, vs = weights(s)
        # float32 students report their weights in float64 (exactly), as every trainer does
        W = np.array(flat.reshape(d, n).T if online[s] else flat.reshape(n, d), dtype=np.float64, order="C")
        v = np.array(vs, dtype=np.float64)
        seen = int(state[s, 0])
        results.append(TrainResult(cfg, W, v, status[s], reasons[s], seen, seconds,
                                   loss_total[s] / seen if seen else float("nan"), "cpu",
                                   *online_kl_summary(kl_total[s, 0], kl_total[s, 1], seen, status[s])))
    return results

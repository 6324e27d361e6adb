"""Teacher networks and the seeded data stream they label (docs/paper-setting.md, "Ours: the reference teacher").

The teacher is a one-hidden-layer ReLU network with a sigmoid output unit,

    F(x) = sum_k a_k ReLU(w_k . x),    X ~ N(0, I_d),    Y | F, X ~ Bernoulli(sigma(F(X))),

with ``a_k ~ N(0, 1)`` and ``w_k ~ N(0, I_d)`` (``kind="finite"``, K units), or its Dirichlet-process
variant (``kind="dp"``, concentration K; ``"dirichlet"`` is its old name): atoms ``(a_j, w_j)`` drawn from the same base
measure, weighted by stick-breaking weights ``pi_j`` and scaled by K,

    F(x) = K * sum_j pi_j a_j ReLU(w_j . x),

so that equal weights ``pi_j = 1/K`` on K atoms give back the finite teacher.  The Pitman-Yor teacher
(``kind="pitman-yor"``, discount ``sigma`` in ``[0, 1)``) breaks its stick with ``Beta(1 - sigma, K + j sigma)``
in place of ``Beta(1, K)``; at ``sigma = 0`` it draws exactly the ``dp`` teacher of the same seed.  The stick is
broken until the leftover mass ``R = prod_j (1 - beta_j)`` falls below ``tol`` (default ``1e-8``) or
``max_atoms`` atoms are drawn; the leftover is stored on the teacher.  Dropping it moves F by at most
``K * leftover * max_j |a_j ReLU(w_j . x)|`` in distribution terms, i.e. in expectation
``E|F - F_trunc| <= K * leftover * E|a| E[ReLU(w . X)] = K * leftover * sqrt(2/pi) * sqrt(d/(2 pi))``.
In mean square, given the kept sticks, the dropped atoms are ``R`` times a GEM(sigma, K + m sigma) stick, so
``E[(F - F_trunc)^2 | kept] = s2 R^2 (1 - sigma)/(2 (K + 1 + m sigma))`` with ``s2 = E[a^2 ||w||^2]``: a share
``R^2 (K+1)/(K+1+m sigma)`` of the teacher's mean signal ``E[F^2]`` (:attr:`Teacher.dropped_share`).  For
``sigma > 0`` the leftover falls only like ``m^(-(1-sigma)/sigma)``, so ``max_atoms`` usually ends the stick;
the share falls like ``m^(1-2/sigma)`` (about ``1e-4`` at ``sigma = 0.75``, ``K = 32``, ``m = 10^4``).

Data are streamed: chunk ``c`` of the stream with seed ``s`` is drawn from
``np.random.default_rng([s, stream, c])`` as ``X = rng.standard_normal((chunk_size, d))`` then
``U = rng.random(chunk_size)`` and ``y = (U < sigma(F(X)))``.  The stream for ``T`` samples is a prefix
of the stream for any larger ``T`` (the last chunk is cut, never re-drawn), and every implementation
(NumPy, Numba, CUDA) consumes the same chunks.  Training uses ``stream=0``; the reducible-error
estimator uses ``stream=1`` so its inputs are fresh.  A ``T x d`` array is never built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.kernels import relu_logits
from scaling_theory.theory import teachers
from scaling_theory.numeric.validate import positive_int

__all__ = [
    "Teacher",
    "sample_teacher",
    "teacher_logits",
    "teacher_logits_fast",
    "data_chunks",
    "chunk_triple",
    "input_chunks",
    "sigmoid",
    "expected_distinct_atoms",
    "DEFAULT_CHUNK",
    "TRAIN_STREAM",
    "EVAL_STREAM",
]

#: rows per data chunk; part of the stream's definition (another size gives other samples)
DEFAULT_CHUNK = 8192
#: stream tags mixed into the seed so training and evaluation inputs never coincide
TRAIN_STREAM = 0
EVAL_STREAM = 1
_TEACHER_TAG = 0x7EAC4E  # mixed into the teacher seed so teacher and data draws are independent


@dataclass(frozen=True, eq=False)
class Teacher:
    """A sampled teacher network ``F(x) = sum_k a_k ReLU(W_k . x)`` (docs/paper-setting.md, "Ours").

    Parameters
    ----------
    kind : ``"finite"`` (K units), ``"dp"`` (stick-breaking mixture, concentration K) or ``"pitman-yor"``
        (stick-breaking with discount ``sigma``).
    d : input dimension.
    K : number of units (finite) or concentration (dp, pitman-yor).
    a : ``(m,)`` output weights; for the stick-breaking kinds these already include the factor
        ``sigma_a * pi_j``.
    W : ``(m, d)`` hidden weights.
    seed : the seed it was sampled from.
    pi : ``(m,)`` stick-breaking weights (``None`` for ``"finite"``).
    leftover : stick mass dropped by the truncation (0 for ``"finite"``).
    sigma : the Pitman-Yor discount (0 for the other kinds).

    Usually drawn with :func:`sample_teacher`; a hand-built teacher is handy in tests.

    Examples
    --------
    >>> t = Teacher("finite", 2, 1, np.array([2.0]), np.array([[1.0, -1.0]]))
    >>> t.m, t.to_json()
    (1, {'kind': 'finite', 'd': 2, 'K': 1, 'm': 1, 'seed': 0, 'leftover': 0.0})
    >>> teacher_logits(t, np.array([[3.0, 1.0]])).tolist()   # 2 * ReLU(3 - 1)
    [4.0]
    >>> sample_teacher(4, 2, seed=0).a.round(3).tolist()     # seeded: always the same teacher
    [0.302, -0.432]

    References
    ----------
    Jeon & Van Roy, arXiv:2212.01365 (the ReLU teacher); docs/paper-setting.md "Ours: the reference teacher".
    """

    kind: str
    d: int
    K: float
    a: np.ndarray
    W: np.ndarray
    seed: int = 0
    pi: np.ndarray | None = field(default=None, repr=False)
    leftover: float = 0.0
    sigma: float = 0.0

    @property
    def m(self) -> int:
        """Number of hidden units (atoms) actually stored."""
        return int(self.a.shape[0])

    @property
    def dropped_share(self) -> float:
        """Expected mean square of the atoms the stick's cut dropped, given the kept sticks, as a share of the
        teacher distribution's ``E[F^2]``: ``R^2 (K+1)/(K+1+m sigma)`` (module docstring); 0 for ``"finite"``.

        Examples
        --------
        >>> t = sample_teacher(3, 2.0, kind="pitman-yor", sigma=0.5, seed=0, max_atoms=1000)
        >>> t.m, bool(1e-9 < t.dropped_share < 1e-5)
        (1000, True)
        """
        if self.pi is None:
            return 0.0
        return float(self.leftover**2 * (self.K + 1) / (self.K + 1 + self.m * self.sigma))

    def to_json(self) -> dict:
        """Plain description (no arrays) for stores and reports (``sigma`` for a Pitman-Yor teacher only)."""
        out = {"kind": self.kind, "d": self.d, "K": self.K, "m": self.m, "seed": self.seed,
               "leftover": self.leftover}
        if self.kind == "pitman-yor":
            out["sigma"] = self.sigma
        return out


def sample_teacher(d: int, K: float, *, kind: str = "finite", seed: int = 0, tol: float = 1e-8,
                   max_atoms: int = 100_000, scale: str = "barron", sigma: float | None = None) -> Teacher:
    """Sample a teacher network (docs/paper-setting.md, "Ours: the reference teacher").

    Parameters
    ----------
    d : input dimension (>= 1).
    K : number of hidden units (``kind="finite"``, integer >= 1) or the concentration (> 0) of the
        stick-breaking kinds.
    kind : ``"finite"``, ``"dp"`` or ``"pitman-yor"`` (old names ``"dirichlet"``, ``"infinite"`` accepted).
    seed : integer seed; the draws come from ``np.random.default_rng([seed, 0x7EAC4E])``.
    tol : stick-breaking stops once the leftover mass is below ``tol`` (stick-breaking kinds only).
    max_atoms : hard cap on the number of atoms (stick-breaking kinds only; the module docstring says what the
        cut costs).
    scale : ``"barron"`` (``a ~ N(0,1)``, ``w ~ N(0, I_d)``; the stick-breaking teachers' output weights are
        ``K pi_k a_k``) or ``"normalised"`` (``E[F^2] = 1/2`` for every ``d`` and ``K``: finite
        ``a ~ N(0, 1/K)``, dp weights ``sqrt(K+1) pi_k a_k``, Pitman-Yor ``sqrt((K+1)/(1-sigma)) pi_k a_k``, all
        with ``w ~ N(0, I_d/d)``).  The variances are read from
        :func:`scaling_theory.theory.teachers.scale_variances`, the description the laws' constants read too.  The
        same seed draws the same normal variates on both scales.
    sigma : the Pitman-Yor discount in ``[0, 1)``; required for ``kind="pitman-yor"`` and refused otherwise.
        The ``j``-th stick is ``Beta(1 - sigma, K + j sigma)``; ``sigma = 0`` draws the ``dp`` teacher of the
        same seed, bit for bit.

    Returns
    -------
    Teacher

    Examples
    --------
    >>> t = sample_teacher(4, 3, seed=1)
    >>> t.a.shape, t.W.shape
    ((3,), (3, 4))
    >>> dp = sample_teacher(4, 2.0, kind="dp", seed=1)
    >>> bool(dp.leftover < 1e-8 and abs(dp.pi.sum() + dp.leftover - 1) < 1e-12)
    True
    >>> n = sample_teacher(4, 3, seed=1, scale="normalised")
    >>> bool(np.allclose(n.a, t.a / np.sqrt(3)) and np.allclose(n.W, t.W / 2))
    True
    >>> py0 = sample_teacher(4, 2.0, kind="pitman-yor", sigma=0, seed=1)
    >>> bool(np.array_equal(py0.a, dp.a) and np.array_equal(py0.W, dp.W) and np.array_equal(py0.pi, dp.pi))
    True
    >>> py = sample_teacher(4, 2.0, kind="pitman-yor", sigma=0.5, seed=1, max_atoms=2000)
    >>> py.m, bool(py.leftover > 1e-8 and abs(py.pi.sum() + py.leftover - 1) < 1e-12)
    (2000, True)
    """
    d = positive_int(d, "input dimension d")
    kind = teachers.canonical_kind(kind)
    teachers.check_scale(scale)
    if kind != "pitman-yor" and sigma is not None:
        raise UserInputError(f"sigma is the Pitman-Yor discount: a {kind} teacher takes none (kind 'pitman-yor')")
    if kind == "pitman-yor":
        if sigma is None:
            raise UserInputError("a Pitman-Yor teacher needs its discount sigma in [0, 1)")
        sigma = teachers.check_discount(sigma)
    rng = np.random.default_rng([int(seed), _TEACHER_TAG])
    if kind == "finite":
        if float(K) != int(K) or int(K) < 1:
            raise UserInputError(f"a finite teacher needs an integer K >= 1, got {K!r}")
        K = int(K)
        a_scale, w_scale = teachers.numeric_scales(scale, kind, d, K)
        W = rng.standard_normal((K, d)) * w_scale
        a = rng.standard_normal(K) * a_scale
        return Teacher("finite", d, K, a, W, int(seed))
    K = float(K)
    if not math.isfinite(K) or K <= 0:
        what = "Dirichlet-process" if kind == "dp" else "Pitman-Yor"
        raise UserInputError(f"a {what} teacher needs a concentration K > 0, got {K!r}")
    if not (0 < tol < 1):
        raise UserInputError(f"stick-breaking tolerance must be in (0, 1), got {tol!r}")
    max_atoms = positive_int(max_atoms, "max_atoms")
    if kind == "dp":
        a_scale, w_scale = teachers.numeric_scales(scale, kind, d, K)
        s_ = 0.0
    else:
        a_scale, w_scale = teachers.numeric_scales(scale, kind, d, K, sigma)
        s_ = sigma
    if kind == "dp":
        pis = []
        rest = 1.0
        # stick-breaking: beta_j ~ Beta(1, K), pi_j = beta_j * prod_{i<j}(1 - beta_i)
        while rest > tol and len(pis) < max_atoms:
            beta = rng.beta(1.0, K)
            pis.append(rest * beta)
            rest *= 1.0 - beta
        pi = np.asarray(pis)
    else:
        pi, rest = _pitman_yor_sticks(rng, K, s_, tol, max_atoms)
    m = pi.shape[0]
    W = rng.standard_normal((m, d)) * w_scale
    a_raw = rng.standard_normal(m)
    return Teacher(kind, d, K, a_scale * pi * a_raw, W, int(seed), pi=pi, leftover=float(rest), sigma=s_)


def _pitman_yor_sticks(rng: np.random.Generator, K: float, sigma: float, tol: float, max_atoms: int
                       ) -> tuple[np.ndarray, float]:
    """The sticks ``pi_j = beta_j prod_{i<j}(1 - beta_i)``, ``beta_j ~ Beta(1 - sigma, K + j sigma)``, broken until the
    leftover is at most ``tol`` or ``max_atoms`` are drawn; returns ``(pi, leftover)``.

    Drawn in blocks (NumPy draws an array of Betas exactly as the same calls one by one), with the leftover
    accumulated left to right as the one-at-a-time loop does; the block that crosses the cut is drawn again up to
    the cut from the saved generator state, so the generator ends where :func:`_pitman_yor_sticks_reference`
    leaves it: the same teacher, bit for bit (at ``sigma = 0`` the dp teacher's loop).
    """
    parts, rest, m, block = [], 1.0, 0, 256
    while rest > tol and m < max_atoms:
        size = min(block, max_atoms - m)
        state = rng.bit_generator.state
        beta = rng.beta(1.0 - sigma, K + np.arange(m + 1, m + size + 1) * sigma)
        rests = np.multiply.accumulate(np.concatenate(([rest], 1.0 - beta)))[1:]
        stop = np.flatnonzero(rests <= tol)
        take = int(stop[0]) + 1 if stop.size else size
        if take < size:   # the cut falls inside the block: consume only the Betas the loop would have drawn
            rng.bit_generator.state = state
            beta = rng.beta(1.0 - sigma, K + np.arange(m + 1, m + take + 1) * sigma)
        parts.append(np.concatenate(([rest], rests[: take - 1])) * beta[:take])
        rest, m, block = float(rests[take - 1]), m + take, 2 * block
    return (np.concatenate(parts) if parts else np.zeros(0)), rest


def _pitman_yor_sticks_reference(rng: np.random.Generator, K: float, sigma: float, tol: float, max_atoms: int
                                 ) -> tuple[np.ndarray, float]:
    """:func:`_pitman_yor_sticks` one stick at a time (the reference the blocked version must equal)."""
    pis, rest = [], 1.0
    while rest > tol and len(pis) < max_atoms:
        beta = rng.beta(1.0 - sigma, K + (len(pis) + 1) * sigma)
        pis.append(rest * beta)
        rest *= 1.0 - beta
    return np.asarray(pis), rest


def expected_distinct_atoms(K: float, n: int) -> float:
    """Expected number of distinct atoms hit by ``n`` draws from a DP with concentration K.

    ``sum_{i<n} K/(K+i)``, which is about ``K ln(1 + n/K)`` (docs/paper-setting.md, "Ours").

    Examples
    --------
    >>> expected_distinct_atoms(1.0, 1)
    1.0
    >>> round(expected_distinct_atoms(2.0, 3), 6)
    2.166667
    """
    i = np.arange(int(n), dtype=np.float64)
    return float(np.sum(K / (K + i)))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, computed without overflow for any float input.

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def teacher_logits(teacher: Teacher, X: np.ndarray) -> np.ndarray:
    """The teacher's logits ``F(X) = ReLU(X W^T) a`` for rows of ``X`` (shape ``(N, d)``).

    Examples
    --------
    >>> t = Teacher("finite", 2, 1, np.array([2.0]), np.array([[1.0, -1.0]]))
    >>> teacher_logits(t, np.array([[3.0, 1.0], [0.0, 1.0]])).tolist()
    [4.0, 0.0]
    """
    X = np.asarray(X, dtype=np.float64)
    return np.maximum(X @ teacher.W.T, 0.0) @ teacher.a


def teacher_logits_fast(teacher: Teacher, X: np.ndarray) -> np.ndarray:
    """:func:`teacher_logits` computed by a compiled single-threaded kernel (agrees to rounding).

    The data stream labels with this one; :func:`teacher_logits` is its NumPy reference.  The kernel
    (:func:`scaling_theory.numeric.sim.kernels.relu_logits`) runs over the teacher's units innermost,
    vectorised (no BLAS: small BLAS calls on a loaded 2-core machine spend most of their time in
    thread hand-offs).

    Examples
    --------
    >>> t = sample_teacher(5, 7, seed=2)
    >>> X = np.random.default_rng(0).standard_normal((50, 5))
    >>> bool(np.allclose(teacher_logits_fast(t, X), teacher_logits(t, X), rtol=1e-12, atol=1e-12))
    True
    """
    return relu_logits(X, teacher.W, teacher.a)


def data_chunks(teacher: Teacher, T: int, *, seed: int, chunk_size: int = DEFAULT_CHUNK,
                stream: int = TRAIN_STREAM, with_logits: bool = False) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield the first ``T`` labelled samples ``(X, y)`` of a seeded stream, chunk by chunk.

    Chunk ``c`` comes from ``np.random.default_rng([seed, stream, c])``: ``X`` (``chunk_size x d``,
    standard normal) then ``U`` (uniform), ``y = float(U < sigma(F(X)))``.  The final chunk is cut
    to length, so a shorter stream is always a prefix of a longer one.

    Parameters
    ----------
    teacher : the labelling teacher.
    T : number of samples (>= 0).
    seed : the data seed.
    chunk_size : rows per chunk (part of the stream's definition).
    stream : ``TRAIN_STREAM`` (0) for training, ``EVAL_STREAM`` (1) for fresh evaluation inputs.
    with_logits : also yield the teacher's logits ``F(X)`` the labels were drawn with (the trainers
        use them for the online KL, exact in Y); the samples are the same either way.

    Yields
    ------
    (X, y) or (X, y, F) : C-contiguous float64 arrays of shapes ``(m, d)``, ``(m,)`` and ``(m,)``,
        ``m <= chunk_size``.

    Examples
    --------
    >>> t = sample_teacher(3, 2, seed=0)
    >>> [X.shape for X, y in data_chunks(t, 10, seed=0, chunk_size=4)]
    [(4, 3), (4, 3), (2, 3)]
    >>> a = np.concatenate([y for _, y in data_chunks(t, 6, seed=5, chunk_size=4)])
    >>> b = np.concatenate([y for _, y in data_chunks(t, 9, seed=5, chunk_size=4)])
    >>> bool(np.array_equal(a, b[:6]))
    True
    >>> X, y, F = next(data_chunks(t, 6, seed=5, chunk_size=4, with_logits=True))
    >>> bool(np.allclose(F, teacher_logits(t, X)))
    True
    """
    T = int(T)
    if T < 0:
        raise UserInputError(f"number of samples T must be >= 0, got {T}")
    chunk_size = positive_int(chunk_size, "chunk_size")
    n_chunks = -(-T // chunk_size)
    for c in range(n_chunks):
        parts = chunk(teacher, c, seed=seed, chunk_size=chunk_size, stream=stream, with_logits=with_logits)
        m = min(chunk_size, T - c * chunk_size)
        if m < chunk_size:
            parts = tuple(np.ascontiguousarray(a[:m]) for a in parts)
        yield parts


def input_chunks(d: int, N: int, *, seed: int, chunk_size: int = DEFAULT_CHUNK,
                 stream: int = EVAL_STREAM) -> Iterator[np.ndarray]:
    """Yield only the inputs ``X`` of the stream (same draws as :func:`data_chunks`, no labels).

    Examples
    --------
    >>> t = sample_teacher(3, 2, seed=0)
    >>> X1 = next(input_chunks(3, 5, seed=2, chunk_size=4))
    >>> X2, _ = next(data_chunks(t, 5, seed=2, chunk_size=4, stream=EVAL_STREAM))
    >>> bool(np.array_equal(X1, X2))
    True
    """
    N = int(N)
    chunk_size = positive_int(chunk_size, "chunk_size")
    for c in range(-(-N // chunk_size)):
        rng = np.random.default_rng([int(seed), int(stream), int(c)])
        X = rng.standard_normal((chunk_size, d))
        m = min(chunk_size, N - c * chunk_size)
        yield X if m == chunk_size else np.ascontiguousarray(X[:m])


def chunk(teacher: Teacher, index: int, *, seed: int, chunk_size: int = DEFAULT_CHUNK,
          stream: int = TRAIN_STREAM, with_logits: bool = False) -> tuple[np.ndarray, ...]:
    """The full chunk number ``index`` of the stream (see :func:`data_chunks`): ``(X, y)``, or
    ``(X, y, F)`` with the teacher's logits ``F`` when ``with_logits``."""
    rng = np.random.default_rng([int(seed), int(stream), int(index)])
    X = rng.standard_normal((chunk_size, teacher.d))
    u = rng.random(chunk_size)
    F = teacher_logits_fast(teacher, X)
    y = (u < sigmoid(F)).astype(np.float64)
    return (X, y, F) if with_logits else (X, y)


def chunk_triple(item) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A data chunk as ``(X, y, F)``: ``F`` as given, or NaN when the chunk is ``(X, y)``.

    Examples
    --------
    >>> X, y, F = chunk_triple((np.zeros((2, 3)), np.zeros(2)))
    >>> F.tolist()
    [nan, nan]
    """
    if len(item) == 3:
        X, y, F = item
        return X, y, np.ascontiguousarray(F, dtype=np.float64)
    X, y = item
    return X, y, np.full(np.shape(y), np.nan)

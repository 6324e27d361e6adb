"""Sequential Monte Carlo estimate of the Bayes-optimal error ``L_T = I(F; D_T) / T`` (docs/bayes.md).

For a teacher ``F`` drawn from its prior and data ``D_T = ((x_1, y_1), ..., (x_T, y_T))`` labelled by it,

    I(F; D_T) = E[ log p(y_1..T | F, x) - log p(y_1..T | x) ]
              = sum_t E[ KL( p(y | F, x_t) || p(y | D_{t-1}, x_t) ) ],

the time-averaged reducible log-loss of the Bayesian learner (Jeon & Van Roy, arXiv:2212.01365, the
identity behind their error bound).  The SMC sampler targets the posteriors ``p(F | D_t)`` one observation
at a time: weights are multiplied by the new observation's likelihood, the particles are resampled
(systematic) when the effective sample size drops below ``ess_fraction * P``, and then moved by
``moves`` random-walk Metropolis-Hastings steps that leave the current posterior invariant (proposal
covariance: the particles' own covariance before resampling, times an adapted scale).  The weighted
predictive ``p_hat(y_t | D_{t-1}, x_t) = sum_i w_i p(y_t | F_i, x_t)`` multiplies to the SMC estimate of
the marginal likelihood, so per teacher

    L_hat = (1/T) [ sum_t log p(y_t | F, x_t) - log p_hat(y_1..T | x) ],

and the per-step term ``KL(Bern(sigma(F(x_t))) || Bern(q_t))`` with ``q_t`` the weighted predictive
probability gives the error curve over ``t`` (its time average ``L_rb`` is the Rao-Blackwellised form of
the same estimate: it averages out the label noise of step ``t``).

Runs of independent teachers are batched (``(n, P, D)`` particle arrays) so the Numba kernels work in
parallel over teachers and particles.  All random numbers come from ``np.random.default_rng([seed, b, 0x5AC])``
for run ``b``, so results reproduce for any thread count.

The learner's prior is the teacher's (the well-specified Bayesian learner), or with ``width=n`` its
restriction to width-``n`` networks (:func:`learner_prior`; docs/bayes.md, "The restricted learner").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes import kernels
from scaling_theory.numeric.bayes.kernels import DIRICHLET, DP_RENORMALISED, FINITE, latent_dim
from scaling_theory.numeric.sim.teacher import Teacher, data_chunks, sample_teacher, teacher_logits
from scaling_theory.errors import UserInputError
from scaling_theory.theory.teachers import canonical_kind, check_discount, py_cut_atoms

__all__ = ["SMCResult", "smc_runs", "dp_atoms", "py_atoms", "PY_MAX_ATOMS", "py_teacher_atoms", "TEACHER_DROPPED_SHARE",
           "teacher_arguments", "learner_prior", "run_teachers", "teacher_data", "SMC_TAG"]

SMC_TAG = 0x5AC  # mixed into the SMC seed so its draws never coincide with the teacher's or the data's
_TRUNCATION_MASS = 1e-3


def dp_atoms(conc: float) -> int:
    """Atoms ``M`` of the truncated stick: the smallest with expected leftover ``(c/(1+c))^M <= 1e-3``.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.smc import dp_atoms
    >>> dp_atoms(1.0), dp_atoms(4.0)
    (10, 31)
    """
    return max(2, math.ceil(math.log(_TRUNCATION_MASS) / math.log(conc / (1.0 + conc)) - 1e-12))


def py_atoms(conc: float, sigma: float) -> int:
    """Atoms ``M`` of the Pitman-Yor teacher's truncated stick: the smallest with expected leftover
    ``prod_{k<=M} (c + k sigma)/(c + k sigma + 1 - sigma) <= 1e-3`` (at ``sigma = 0`` :func:`dp_atoms`' rule);
    a one-line error above :data:`PY_MAX_ATOMS` (a heavy tail needs more atoms than a sampler can carry: give
    the learner a width instead).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.smc import py_atoms, dp_atoms
    >>> py_atoms(1.0, 0.0) == dp_atoms(1.0), py_atoms(1.0, 0.1)
    (True, 17)
    """
    log_rest, M = 0.0, 0
    target = math.log(_TRUNCATION_MASS)
    while log_rest > target + 1e-12:
        M += 1
        if M > PY_MAX_ATOMS:
            raise UserInputError(f"the Pitman-Yor teacher's own prior at K={conc:g}, sigma={sigma:g} needs more than "
                                 f"{PY_MAX_ATOMS} atoms to leave at most {_TRUNCATION_MASS:g} of its stick; give the "
                                 "learner a width (--width) instead")
        log_rest += math.log((conc + M * sigma) / (conc + M * sigma + 1.0 - sigma))
    return max(2, M)


#: the most atoms the Pitman-Yor teacher's own (unrestricted) prior may carry in the sampler
PY_MAX_ATOMS = 200

#: the share of the teacher's mean signal ``E[F^2]`` a Pitman-Yor data teacher may drop at its cut
TEACHER_DROPPED_SHARE = 1e-6


def py_teacher_atoms(K: float, sigma: float, share: float = TEACHER_DROPPED_SHARE) -> int:
    """Atoms a Pitman-Yor *data* teacher keeps (``sample_teacher``'s ``max_atoms``): the fewest ``m`` whose cut drops
    at most ``share`` of ``E[F^2]`` in expectation.  The dropped share is ``t(m)/t(0)`` with ``t`` the squared stick
    tail (:func:`scaling_theory.theory.teachers.py_stick_square_tail`), ``Gamma((K+2)/sigma) Gamma(K/sigma + m + 1)
    / (Gamma(K/sigma + 1) Gamma((K+2)/sigma + m))``, falling like ``m^(1 - 2/sigma)``.  Without it the sampler's
    default cap of 100,000 atoms made every logit cost ``10^5 d`` flops and a ``T x m`` array (10 GB at
    ``T = 12800``).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.smc import py_teacher_atoms
    >>> py_teacher_atoms(2.0, 0.5), py_teacher_atoms(2.0, 0.25)
    (589, 74)
    """
    if sigma <= 0.0:
        return 100_000                      # the Dirichlet stick ends at its tolerance long before
    m = py_cut_atoms(K, sigma, share)
    if m is None:
        raise UserInputError(f"a Pitman-Yor teacher at K={K:g}, sigma={sigma:g} needs more than 1e7 atoms to "
                             f"drop at most {share:g} of its signal")
    return m


def teacher_arguments(kind: str, K: float, sigma: float | None = None) -> dict:
    """``sample_teacher``'s keyword arguments for the SMC's and the compute study's data teachers: the discount and
    :func:`py_teacher_atoms` atoms for the Pitman-Yor teacher, nothing for the others (so their teachers stay
    those of every earlier run).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.smc import teacher_arguments
    >>> teacher_arguments("dp", 2.0), teacher_arguments("pitman-yor", 2.0, 0.5)
    ({}, {'sigma': 0.5, 'max_atoms': 589})
    """
    if canonical_kind(kind) != "pitman-yor":
        return {}
    sig = check_discount(0.0 if sigma is None else sigma)
    return {"sigma": sig, "max_atoms": py_teacher_atoms(float(K), sig)} if sig > 0 else {"sigma": sig}


def learner_prior(kind: str, K: float, width: int | None = None, sigma: float | None = None) -> tuple[int, int]:
    """The sampler's latent map ``(kernel kind, m)`` for the learner of a ``kind`` teacher, optionally of width ``n``.

    * no width: the teacher's own prior (the well-specified learner): ``K`` units (``finite``), or the
      stick truncated at :func:`dp_atoms` atoms with the last taking the rest (``dp``; :func:`py_atoms` for
      ``pitman-yor``).
    * ``finite``, width ``n >= K``: the teacher's own prior (a width-``n`` network with ``n - K`` units
      at zero is the same function class; the learner is the unrestricted one, bit for bit).
    * ``finite``, width ``n < K``: ``n`` units with the teacher's per-unit prior ``a, w ~ N(0, 1)``.
    * ``dp`` or ``pitman-yor``, width ``n``: the first ``n`` atoms of the teacher's stick, renormalised
      (:data:`~scaling_theory.numeric.bayes.kernels.DP_RENORMALISED`; the stick's law is passed to the kernels
      as ``conc = (K, sigma)``, :func:`~scaling_theory.numeric.bayes.kernels.stick_parameters`).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.smc import learner_prior
    >>> learner_prior("finite", 3), learner_prior("finite", 3, 8), learner_prior("finite", 3, 2)
    ((0, 3), (0, 3), (0, 2))
    >>> learner_prior("dp", 1.0), learner_prior("dp", 1.0, 4), learner_prior("pitman-yor", 1.0, 4, sigma=0.5)
    ((1, 10), (2, 4), (2, 4))
    """
    kind = canonical_kind(kind)
    if kind == "finite":
        return FINITE, int(K) if width is None else min(int(width), int(K))
    if width is None:
        return DIRICHLET, (dp_atoms(float(K)) if kind == "dp" else py_atoms(float(K), float(sigma or 0.0)))
    return DP_RENORMALISED, int(width)


@dataclass
class SMCResult:
    """Per-run output of :func:`smc_runs` (arrays over the ``n`` runs).

    Parameters
    ----------
    error : ``(n,)`` ``L_hat`` per run, from the SMC marginal likelihood, in nats.
    error_rb : ``(n,)`` time-averaged per-step KL (Rao-Blackwellised estimate of the same quantity).
    log_evidence : ``(n,)`` ``log p_hat(y_1..T | x)``.
    log_lik_true : ``(n,)`` ``log p(y_1..T | F, x)`` under the true teacher.
    kl_curve : ``(n, T)`` per-step KL between the true conditional and the posterior predictive.
    excess_curve : ``(n, T)`` per-step ``log p(y_t | F, x_t) - log p_hat(y_t | D_{t-1}, x_t)``; its time
        average is ``error``.
    ess_min : ``(n,)`` smallest effective sample size seen (before resampling), as a fraction of ``P``.
    acceptance : ``(n,)`` Metropolis-Hastings acceptance rate (NaN when no move was made).
    resamples : ``(n,)`` number of resampling events.
    mh_updates : ``(n,)`` particle-observation likelihood evaluations spent in Metropolis-Hastings moves.
    particles, T : run sizes.
    """

    error: np.ndarray
    error_rb: np.ndarray
    log_evidence: np.ndarray
    log_lik_true: np.ndarray
    kl_curve: np.ndarray
    excess_curve: np.ndarray
    ess_min: np.ndarray
    acceptance: np.ndarray
    resamples: np.ndarray
    mh_updates: np.ndarray
    particles: int
    T: int

    def prefix(self, T: int) -> tuple[np.ndarray, np.ndarray]:
        """``(error, error_rb)`` per run at ``T`` samples, from the first ``T`` steps of the curves.

        A run to ``T_max`` is, over its first ``T`` steps, the run to ``T`` (same draws in the same
        order; :func:`smc_runs`), so these equal what a run to ``T`` reports.

        Examples
        --------
        >>> from scaling_theory.numeric.bayes.smc import run_teachers
        >>> _, r = run_teachers("finite", 1, 1, 40, teachers=2, particles=100)
        >>> e, e_rb = r.prefix(40)
        >>> bool((e == r.error).all() or abs(e - r.error).max() < 1e-15)
        True
        """
        T = int(T)
        if not 1 <= T <= self.T:
            raise ValueError(f"prefix length must be in [1, {self.T}], got {T}")
        return self.excess_curve[:, :T].mean(axis=1), self.kl_curve[:, :T].mean(axis=1)


def _systematic(w: np.ndarray, u: float) -> np.ndarray:
    """Systematic resampling indices for normalised weights ``w`` and one uniform ``u``."""
    P = w.shape[0]
    c = np.cumsum(w)
    c[-1] = 1.0
    return np.minimum(np.searchsorted(c, (u + np.arange(P)) / P, side="right"), P - 1)


def _resample_and_prepare(b, Z, ll, w, rng, P, D, fast=True):
    """Proposal Cholesky factor from the weighted particles, then systematic resampling of run ``b``."""
    C = (kernels.weighted_covariance if fast else kernels.weighted_covariance_reference)(Z[b], w[b])
    C += 1e-10 * np.eye(D) + 1e-6 * np.trace(C) / D * np.eye(D)
    chol = kernels.cholesky(C) if fast else np.linalg.cholesky(C)
    idx = _systematic(w[b], rng.random())
    Z[b] = Z[b][idx]
    ll[b] = ll[b][idx]
    return chol, idx


def smc_runs(X: np.ndarray, y: np.ndarray, f_true: np.ndarray, *, kind: int, m: int, conc=1.0,
             particles: int = 1000, seed: int = 0, ess_fraction: float = 0.5, moves: int = 5,
             backend: str = "numba", run_ids=None, parallel: bool = True) -> SMCResult:
    """Run the SMC sampler on ``n`` independent data sets at once (module docstring; docs/bayes.md).

    Parameters
    ----------
    X : ``(n, T, d)`` inputs of each run.
    y : ``(n, T)`` labels in {0, 1}.
    f_true : ``(n, T)`` true teacher logits ``F(x_t)`` (for ``log p(y | F, x)`` and the KL curve).
    kind : ``kernels.FINITE``, ``kernels.DIRICHLET`` or ``kernels.DP_RENORMALISED``.
    m : units (finite) or atoms (the stick maps).
    conc : Dirichlet-process concentration, or ``(K, sigma)`` for the Pitman-Yor stick (ignored for the finite
        teacher).
    particles : ``P``.
    seed : seed of the sampler's random numbers.
    ess_fraction : resample when ``ESS < ess_fraction * P``.
    moves : Metropolis-Hastings moves after each resampling.
    backend : ``"numba"`` (kernels) or ``"numpy"`` (their references; slow, for tests).
    run_ids : ``(n,)`` integers naming the runs in the seed (default ``0..n-1``), so a run's draws do not
        depend on which batch it is in.
    parallel : the kernels on Numba's threads; ``False``: on the calling thread with the GIL released
        (for batches run from several Python threads, :func:`run_teachers`).  Same results either way.

    Returns
    -------
    SMCResult

    Notes
    -----
    Each run advances on its own (:func:`~scaling_theory.numeric.bayes.kernels.advance`) until its ESS
    drops below the floor, then it is resampled and moved; its random numbers come from its own generator
    in a fixed order (initial particles; per resampling one uniform, then per move the increments and the
    log-uniforms), so a run's result does not depend on the other runs of the batch or on the thread
    count.  The first ``T'`` steps of a run to ``T`` are the run to ``T'``: the curves' prefix means are
    the estimates at every smaller ``T`` (:meth:`SMCResult.prefix`).

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.smc import smc_runs
    >>> from scaling_theory.numeric.bayes.kernels import FINITE
    >>> X = np.ones((1, 20, 1)); f = np.full((1, 20), 50.0); y = np.ones((1, 20))
    >>> r = smc_runs(X, y, f, kind=FINITE, m=1, particles=200, seed=0)
    >>> bool(r.kl_curve[0, -1] < r.error[0] < r.kl_curve[0, 0])   # it learns: last step below the average
    True
    """
    if backend not in ("numba", "numpy"):
        raise ValueError(f"unknown backend {backend!r}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    f_true = np.ascontiguousarray(f_true, dtype=np.float64)
    n, T, d = X.shape
    P = int(particles)
    D = latent_dim(kind, d, m)
    ids = np.arange(n) if run_ids is None else np.asarray(run_ids)
    rngs = [np.random.default_rng([int(seed), int(b), SMC_TAG]) for b in ids]
    Z = np.stack([r.standard_normal((P, D)) for r in rngs])
    ll = np.zeros((n, P))
    kl_curve = np.zeros((n, T))
    log_pred = np.zeros((n, T))
    ess_min = np.ones(n)
    acc_sum = np.zeros(n)
    acc_cnt = np.zeros(n)
    resamples = np.zeros(n, dtype=np.int64)
    mh_updates = np.zeros(n)
    scale = np.full(n, 2.38 / math.sqrt(D))
    t_now = np.zeros(n, dtype=np.int64)
    fast = backend == "numba"
    if fast:
        XT = np.ascontiguousarray(X.transpose(0, 2, 1))
        sg = np.where(y > 0.5, -1.0, 1.0)                      # log p(y | f) = -softplus(sg f)
        Ac, Wc = kernels.network_cache(Z, kind, m, d, conc, parallel)
        w = np.full((n, P), 1.0 / P)
        pos = np.zeros((n, P))
        prod = np.ones((n, P))
    else:
        logw = np.zeros((n, P))
    while True:
        if fast:
            need = kernels.advance(Ac, Wc, XT, sg, f_true, t_now, w, pos, prod, ll, ess_fraction, kl_curve,
                                   log_pred, ess_min, parallel)
        else:
            need = kernels.advance_reference(Z, kind, m, d, conc, X, y, f_true, t_now, logw, ll, ess_fraction,
                                             kl_curve, log_pred, ess_min)
        if not need.any():
            break
        rows = np.flatnonzero(need)
        chol = np.empty((rows.size, D, D))
        for a, b in enumerate(rows):
            if fast:
                ll[b] -= pos[b] + np.log(prod[b])               # fold the running parts into ll
                pos[b], prod[b] = 0.0, 1.0
                wb = w
            else:
                wb = np.exp(logw - logw.max(axis=1, keepdims=True))
                wb /= wb.sum(axis=1, keepdims=True)
            chol[a], idx = _resample_and_prepare(b, Z, ll, wb, rngs[b], P, D, fast)
            if fast:
                Ac[b], Wc[b] = Ac[b][:, idx], Wc[b][:, :, idx]
                w[b] = 1.0 / P
            else:
                logw[b] = 0.0
            resamples[b] += 1
        # every move's random numbers drawn up front, in the order of one move after the other
        E = np.empty((rows.size, moves, P, D))
        log_u = np.empty((rows.size, moves, P))
        for a, b in enumerate(rows):
            for v in range(moves):
                E[a, v] = rngs[b].standard_normal((P, D))
                log_u[a, v] = np.log(rngs[b].random(P))
        if fast:
            rates = kernels.mh_moves(Z, ll, XT, sg, t_now, rows, kind, m, d, conc, E, log_u, chol, scale, Ac, Wc,
                                     parallel)
        else:
            rates = kernels.mh_moves_reference(Z, ll, X, y, t_now, rows, kind, m, d, conc, E, log_u, chol, scale)
        acc_sum[rows] += rates.sum(axis=1)
        acc_cnt[rows] += moves
        mh_updates[rows] += moves * P * t_now[rows]
    ll_true_t = -np.logaddexp(0.0, np.where(y > 0.5, -f_true, f_true))
    log_lik_true = np.sum(ll_true_t, axis=1)
    log_evidence = np.sum(log_pred, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        acceptance = np.where(acc_cnt > 0, acc_sum / np.maximum(acc_cnt, 1), np.nan)
    return SMCResult(error=(log_lik_true - log_evidence) / T, error_rb=kl_curve.mean(axis=1),
                     log_evidence=log_evidence, log_lik_true=log_lik_true, kl_curve=kl_curve,
                     excess_curve=ll_true_t - log_pred, ess_min=ess_min, acceptance=acceptance,
                     resamples=resamples, mh_updates=mh_updates, particles=P, T=T)


def teacher_data(teacher: Teacher, T: int, data_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``T`` samples ``(X, y)`` of the teacher's training stream, and its logits ``F(X)`` there.

    The same samples :func:`scaling_theory.numeric.sim.training.train` uses with ``data_seed``.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.smc import teacher_data
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> X, y, f = teacher_data(sample_teacher(2, 1, seed=0), 5, 0)
    >>> X.shape, y.shape, f.shape
    ((5, 2), (5,), (5,))
    """
    parts = list(data_chunks(teacher, T, seed=data_seed))
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    # rows in blocks, so a teacher with many atoms never needs a (T x atoms) array at once
    rows = max(1, int(2**23 // max(1, teacher.W.shape[0])))
    f = np.concatenate([teacher_logits(teacher, X[i: i + rows]) for i in range(0, len(X), rows)]) if len(X) else \
        teacher_logits(teacher, X)
    return X, y, f


def run_teachers(kind: str, d: int, K: float, T: int, *, teachers: int = 8, particles: int = 1000,
                 seed: int = 0, batch: int = 4, moves: int = 5, backend: str = "numba", width: int | None = None,
                 threads: int | None = None, progress=None, sigma: float | None = None
                 ) -> tuple[list[Teacher], SMCResult]:
    """SMC on ``teachers`` independent teachers drawn from the prior, in batches of ``batch`` runs.

    Teacher ``i`` is ``sample_teacher(d, K, kind=kind, seed=seed * 100003 + i)`` and its data are the
    first ``T`` samples of its training stream with data seed ``seed * 100003 + i``: the same teachers and
    data at every ``width``, ``particles``, ``batch`` and ``threads``.  The learner's prior is
    :func:`learner_prior` (``width=None``: the teacher's own; for ``kind="dp"`` the sampler's stick is
    truncated at :func:`dp_atoms` atoms, expected leftover mass <= 1e-3, the teacher's at 1e-8).  ``sigma`` is
    the Pitman-Yor teacher's discount (``kind="pitman-yor"`` only): its teachers and the learner's stick follow it.

    The batches run on ``threads`` Python threads at once (default: Numba's thread count; ``batch`` is
    lowered to give each thread a batch), each batch's kernels on its own thread with the GIL released:
    no thread waits on another's Python work (a team of Numba threads spins through every step the
    sampler takes in Python; on a loaded machine that took 2-4 times the CPU).  The results do not
    depend on ``batch`` or ``threads``.  ``progress(done_teachers)`` is called as batches finish.

    Returns
    -------
    (teachers, SMCResult with the runs concatenated in teacher order)

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.smc import run_teachers
    >>> ts, r = run_teachers("finite", 1, 1, 30, teachers=2, particles=200)
    >>> len(ts), r.error.shape, r.kl_curve.shape
    (2, (2,), (2, 30))
    """
    import numba

    kind = canonical_kind(kind)
    extra = {}
    if kind == "pitman-yor":
        extra = {"sigma": check_discount(0.0 if sigma is None else sigma)}
    elif sigma is not None:
        raise UserInputError(f"sigma is the Pitman-Yor discount: a {kind} teacher takes none")
    kcode, m = learner_prior(kind, K, width, **extra)
    conc = (float(K), extra["sigma"]) if extra else float(K)
    ts = [sample_teacher(d, K, kind=kind, seed=seed * 100003 + i, **teacher_arguments(kind, K, sigma))
          for i in range(teachers)]
    threads = numba.get_num_threads() if threads is None else max(1, int(threads))
    batch = max(1, min(int(batch), -(-teachers // threads)))        # at least one batch per thread
    chunks = [list(range(s, min(teachers, s + batch))) for s in range(0, teachers, batch)]
    workers = min(threads, len(chunks))

    def one(chunk):
        data = [teacher_data(ts[i], T, seed * 100003 + i) for i in chunk]
        X = np.stack([a[0] for a in data])
        y = np.stack([a[1] for a in data])
        f = np.stack([a[2] for a in data])
        return smc_runs(X, y, f, kind=kcode, m=m, conc=conc, particles=particles, seed=seed, moves=moves,
                        backend=backend, run_ids=chunk, parallel=False)

    out = [None] * len(chunks)
    if workers == 1:
        for j, chunk in enumerate(chunks):
            out[j] = one(chunk)
            if progress is not None:
                progress(chunk[-1] + 1)
    else:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(one, chunk): j for j, chunk in enumerate(chunks)}
            done = 0
            for fut in as_completed(futures):
                out[futures[fut]] = fut.result()
                done += len(chunks[futures[fut]])
                if progress is not None:
                    progress(done)
    cat = {k: np.concatenate([getattr(r, k) for r in out]) for k in
           ("error", "error_rb", "log_evidence", "log_lik_true", "kl_curve", "excess_curve", "ess_min",
            "acceptance", "resamples", "mh_updates")}
    return ts, SMCResult(**cat, particles=int(particles), T=int(T))

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes import kernels
from scaling_theory.numeric.bayes.kernels import DIRICHLET, FINITE, latent_dim
from scaling_theory.numeric.sim.teacher import Teacher, data_chunks, sample_teacher, teacher_logits
from scaling_theory.theory.teachers import canonical_kind

__all__ = ["SMCResult", "smc_runs", "dp_atoms", "run_teachers", "teacher_data", "SMC_TAG"]

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
    ess_min: np.ndarray
    acceptance: np.ndarray
    resamples: np.ndarray
    mh_updates: np.ndarray
    particles: int
    T: int


def _kl(f_true, q):
    """KL(Bern(sigma(f_true)) || Bern(q)) for predictive probabilities q (clipped away from 0, 1)."""
    q = np.clip(q, 1e-300, 1.0 - 1e-16)
    p = 1.0 / (1.0 + np.exp(-f_true))
    log_p = -np.logaddexp(0.0, -f_true)
    log_1p = -np.logaddexp(0.0, f_true)
    return np.maximum(p * (log_p - np.log(q)) + (1.0 - p) * (log_1p - np.log1p(-q)), 0.0)


def _systematic(w: np.ndarray, u: float) -> np.ndarray:
    """Systematic resampling indices for normalised weights ``w`` and one uniform ``u``."""
    P = w.shape[0]
    c = np.cumsum(w)
    c[-1] = 1.0
    return np.minimum(np.searchsorted(c, (u + np.arange(P)) / P, side="right"), P - 1)


def smc_runs(X: np.ndarray, y: np.ndarray, f_true: np.ndarray, *, kind: int, m: int, conc: float = 1.0,
             particles: int = 1000, seed: int = 0, ess_fraction: float = 0.5, moves: int = 5,
             backend: str = "numba", run_ids=None) -> SMCResult:
    """Run the SMC sampler on ``n`` independent data sets at once (module docstring; docs/bayes.md).

    Parameters
    ----------
    X : ``(n, T, d)`` inputs of each run.
    y : ``(n, T)`` labels in {0, 1}.
    f_true : ``(n, T)`` true teacher logits ``F(x_t)`` (for ``log p(y | F, x)`` and the KL curve).
    kind : ``kernels.FINITE`` or ``kernels.DIRICHLET``.
    m : units (finite) or truncation atoms (Dirichlet process).
    conc : Dirichlet-process concentration (ignored for the finite teacher).
    particles : ``P``.
    seed : seed of the sampler's random numbers.
    ess_fraction : resample when ``ESS < ess_fraction * P``.
    moves : Metropolis-Hastings moves after each resampling.
    backend : ``"numba"`` (kernels) or ``"numpy"`` (their references; slow, for tests).
    run_ids : ``(n,)`` integers naming the runs in the seed (default ``0..n-1``), so a run's draws do not
        depend on which batch it is in.

    Returns
    -------
    SMCResult

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
    logit_fn = kernels.logits if backend == "numba" else kernels.logits_reference
    mh_fn = kernels.mh_sweep if backend == "numba" else kernels.mh_sweep_reference
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    n, T, d = X.shape
    P = int(particles)
    D = latent_dim(kind, d, m)
    ids = np.arange(n) if run_ids is None else np.asarray(run_ids)
    rngs = [np.random.default_rng([int(seed), int(b), SMC_TAG]) for b in ids]
    Z = np.stack([r.standard_normal((P, D)) for r in rngs])
    logw = np.zeros((n, P))
    ll = np.zeros((n, P))
    log_evidence = np.zeros(n)
    kl_curve = np.empty((n, T))
    ess_min = np.ones(n)
    acc_sum = np.zeros(n)
    acc_cnt = np.zeros(n)
    resamples = np.zeros(n, dtype=np.int64)
    mh_updates = np.zeros(n)
    scale = np.full(n, 2.38 / math.sqrt(D))
    rows = np.arange(n)
    for t in range(T):
        f = logit_fn(Z, kind, m, d, conc, X[:, t])                               # (n, P)
        yt = y[:, t][:, None]
        lp = -np.logaddexp(0.0, np.where(yt > 0.5, -f, f))
        mx = logw.max(axis=1, keepdims=True)
        w = np.exp(logw - mx)
        wsum = w.sum(axis=1)
        w /= wsum[:, None]
        q = np.sum(w / (1.0 + np.exp(-f)), axis=1)                                 # predictive P(y=1)
        kl_curve[:, t] = _kl(f_true[:, t], q)
        log_evidence += np.log(np.sum(w * np.exp(lp - lp.max(axis=1, keepdims=True)), axis=1)) + lp.max(axis=1)
        logw += lp
        ll += lp
        mx = logw.max(axis=1, keepdims=True)
        w = np.exp(logw - mx)
        w /= w.sum(axis=1, keepdims=True)
        ess = 1.0 / np.sum(w * w, axis=1) / P
        ess_min = np.minimum(ess_min, ess)
        need = ess < ess_fraction
        if not need.any() or t == T - 1:
            continue
        # proposal covariance from the weighted particles, before resampling
        chol = np.zeros((n, D, D))
        for b in rows[need]:
            mu = w[b] @ Z[b]
            C = (Z[b] - mu).T @ ((Z[b] - mu) * w[b][:, None])
            C += 1e-10 * np.eye(D) + 1e-6 * np.trace(C) / D * np.eye(D)
            chol[b] = np.linalg.cholesky(C)
            idx = _systematic(w[b], rngs[b].random())
            Z[b] = Z[b][idx]
            ll[b] = ll[b][idx]
            logw[b] = 0.0
            resamples[b] += 1
        for _ in range(moves):
            step = np.zeros((n, P, D))
            log_u = np.zeros((n, P))
            for b in rows[need]:
                step[b] = scale[b] * rngs[b].standard_normal((P, D)) @ chol[b].T
                log_u[b] = np.log(rngs[b].random(P))
            accepted = mh_fn(Z, ll, X, y, t + 1, need, kind, m, d, conc, step, log_u)
            rate = accepted.mean(axis=1)
            acc_sum[need] += rate[need]
            acc_cnt[need] += 1
            mh_updates[need] += P * (t + 1)
            # adapt the scale toward ~25% acceptance (between moves: each move is a valid MH kernel)
            scale[need] *= np.exp(np.clip(rate[need] - 0.25, -0.5, 0.5))
    log_lik_true = np.sum(-np.logaddexp(0.0, np.where(y > 0.5, -f_true, f_true)), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        acceptance = np.where(acc_cnt > 0, acc_sum / np.maximum(acc_cnt, 1), np.nan)
    return SMCResult(error=(log_lik_true - log_evidence) / T, error_rb=kl_curve.mean(axis=1),
                     log_evidence=log_evidence, log_lik_true=log_lik_true, kl_curve=kl_curve,
                     ess_min=ess_min, acceptance=acceptance, resamples=resamples, mh_updates=mh_updates,
                     particles=P, T=T)


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
    return X, y, teacher_logits(teacher, X)


def run_teachers(kind: str, d: int, K: float, T: int, *, teachers: int = 8, particles: int = 1000,
                 seed: int = 0, batch: int = 8, moves: int = 5, backend: str = "numba"
                 ) -> tuple[list[Teacher], SMCResult]:
    """SMC on ``teachers`` independent teachers drawn from the prior (in batches of ``batch`` runs).

    Teacher ``i`` is ``sample_teacher(d, K, kind=kind, seed=seed * 100003 + i)`` and its data are the
    first ``T`` samples of its training stream with data seed ``seed * 100003 + i``.  For
    ``kind="dp"`` the sampler's prior is the stick truncated at :func:`dp_atoms` atoms (expected
    leftover mass <= 1e-3), the teacher's is truncated at 1e-8 (:func:`sample_teacher`).

    Returns
    -------
    (teachers, SMCResult with the runs concatenated)

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.smc import run_teachers
    >>> ts, r = run_teachers("finite", 1, 1, 30, teachers=2, particles=200)
    >>> len(ts), r.error.shape, r.kl_curve.shape
    (2, (2,), (2, 30))
    """
    kind = canonical_kind(kind)
    if kind == "finite":
        kcode, m = FINITE, int(K)
    else:
        kcode, m = DIRICHLET, dp_atoms(float(K))
    ts = [sample_teacher(d, K, kind=kind, seed=seed * 100003 + i) for i in range(teachers)]
    out = []
    for start in range(0, teachers, batch):
        chunk = list(range(start, min(teachers, start + batch)))
        data = [teacher_data(ts[i], T, seed * 100003 + i) for i in chunk]
        X = np.stack([a[0] for a in data])
        y = np.stack([a[1] for a in data])
        f = np.stack([a[2] for a in data])
        out.append(smc_runs(X, y, f, kind=kcode, m=m, conc=float(K), particles=particles, seed=seed,
                            moves=moves, backend=backend, run_ids=chunk))
    cat = {k: np.concatenate([getattr(r, k) for r in out]) for k in
           ("error", "error_rb", "log_evidence", "log_lik_true", "kl_curve", "ess_min", "acceptance",
            "resamples", "mh_updates")}
    return ts, SMCResult(**cat, particles=int(particles), T=int(T))

"""The SMC estimate: reproducible, kernels and references give the same run, and it matches the exact case."""

import numpy as np
import pytest

from scaling_theory.numeric.bayes.exact import exact_error_d1k1, log_evidence_d1k1
from scaling_theory.numeric.bayes.smc import run_teachers, teacher_data


def test_seeded_runs_reproduce_and_batches_do_not_matter():
    _, a = run_teachers("finite", 2, 2, 60, teachers=3, particles=150, seed=4)
    _, b = run_teachers("finite", 2, 2, 60, teachers=3, particles=150, seed=4, batch=2)
    np.testing.assert_array_equal(a.error, b.error)
    np.testing.assert_array_equal(a.kl_curve, b.kl_curve)
    _, c = run_teachers("finite", 2, 2, 60, teachers=3, particles=150, seed=5)
    assert not np.array_equal(a.error, c.error)


@pytest.mark.parametrize("kind,K", [("finite", 2), ("dp", 1.0)])
def test_numba_run_equals_numpy_reference_run(kind, K):
    _, a = run_teachers(kind, 2, K, 40, teachers=2, particles=120, seed=1)
    _, b = run_teachers(kind, 2, K, 40, teachers=2, particles=120, seed=1, backend="numpy")
    assert a.resamples.sum() > 0                          # the MH moves were exercised
    np.testing.assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-10)
    np.testing.assert_allclose(a.kl_curve, b.kl_curve, rtol=1e-8, atol=1e-14)


def test_exact_evidence_matches_brute_force_monte_carlo():
    # the K_0 reduction of the d=1, K=1 prior, against plain Monte Carlo over (a, w)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(6)
    y = (rng.random(6) < 0.5).astype(float)
    a, w = rng.standard_normal((2, 400_000))
    F = a[:, None] * np.maximum(w[:, None] * x[None], 0.0)
    lp = np.sum(-np.logaddexp(0.0, np.where(y > 0.5, -F, F)), axis=1)
    mc = np.log(np.mean(np.exp(lp)))
    se = np.std(np.exp(lp)) / np.sqrt(lp.size) / np.exp(mc)
    assert abs(log_evidence_d1k1(x, y) - mc) < 4 * se


@pytest.mark.slow
def test_smc_agrees_with_the_exact_d1_k1_error():
    T, n = 200, 12
    ts, r = run_teachers("finite", 1, 1, T, teachers=n, particles=1000, seed=0)
    exact = np.array([exact_error_d1k1(*teacher_data(t, T, i)) for i, t in enumerate(ts)])
    np.testing.assert_allclose(r.log_lik_true / T - r.error, [log_evidence_d1k1(*teacher_data(t, T, i)[:2]) / T
                                                              for i, t in enumerate(ts)], atol=1e-3)
    diff = r.error - exact                                # paired over the same data sets
    se = diff.std(ddof=1) / np.sqrt(n)
    assert abs(diff.mean()) < 3 * se + 1e-5
    assert abs(diff).max() < 1e-3                         # < 0.2 nats of log-evidence per data set
    # and the estimate, over teachers, is within its interval of the exact mean
    assert abs(r.error.mean() - exact.mean()) < 2 * r.error.std(ddof=1) / np.sqrt(n)


def test_a_longer_run_starts_with_the_shorter_one():
    # the prefix of a run to T equals the run to T' < T, bit for bit: every budget from one run
    _, long = run_teachers("finite", 2, 2, 90, teachers=2, particles=150, seed=2)
    _, short = run_teachers("finite", 2, 2, 37, teachers=2, particles=150, seed=2)
    np.testing.assert_array_equal(long.kl_curve[:, :37], short.kl_curve)
    np.testing.assert_array_equal(long.excess_curve[:, :37], short.excess_curve)
    e, e_rb = long.prefix(37)
    np.testing.assert_allclose(e, short.error, rtol=1e-12)
    np.testing.assert_allclose(e_rb, short.error_rb, rtol=1e-12)
    assert long.resamples.sum() > short.resamples.sum() > 0


def test_the_thread_count_does_not_change_a_run():
    import numba

    from scaling_theory.numeric.bayes import smc

    _, one = run_teachers("dp", 2, 1.0, 60, teachers=3, particles=120, seed=6, threads=1, batch=3)
    _, many = run_teachers("dp", 2, 1.0, 60, teachers=3, particles=120, seed=6, threads=3, batch=1)
    np.testing.assert_array_equal(one.kl_curve, many.kl_curve)
    np.testing.assert_array_equal(one.error, many.error)
    # the kernels on Numba's threads (smc_runs' default) make the same run as on the calling thread
    ts, _ = run_teachers("dp", 2, 1.0, 60, teachers=3, particles=120, seed=6)
    data = [smc.teacher_data(t, 60, 6 * 100003 + i) for i, t in enumerate(ts)]
    X, y, f = (np.stack([a[k] for a in data]) for k in range(3))
    before = numba.get_num_threads()
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            r = smc.smc_runs(X, y, f, kind=smc.DIRICHLET, m=smc.dp_atoms(1.0), conc=1.0, particles=120, seed=6)
            np.testing.assert_array_equal(r.kl_curve, one.kl_curve)
    finally:
        numba.set_num_threads(before)


def test_the_finite_learner_of_width_K_or_more_is_the_unrestricted_one():
    _, a = run_teachers("finite", 2, 2, 70, teachers=2, particles=120, seed=3)
    for width in (2, 5):
        _, b = run_teachers("finite", 2, 2, 70, teachers=2, particles=120, seed=3, width=width)
        np.testing.assert_array_equal(a.kl_curve, b.kl_curve)
        np.testing.assert_array_equal(a.error, b.error)
    _, c = run_teachers("finite", 2, 2, 70, teachers=2, particles=120, seed=3, width=1)
    assert not np.array_equal(a.error, c.error)


@pytest.mark.parametrize("kind,K,width", [("dp", 2.0, 3), ("finite", 3, 2)])
def test_restricted_numba_run_equals_numpy_reference_run(kind, K, width):
    _, a = run_teachers(kind, 2, K, 40, teachers=2, particles=120, seed=1, width=width)
    _, b = run_teachers(kind, 2, K, 40, teachers=2, particles=120, seed=1, width=width, backend="numpy")
    assert a.resamples.sum() > 0
    np.testing.assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-10)
    np.testing.assert_allclose(a.kl_curve, b.kl_curve, rtol=1e-8, atol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("kind,K,scale,T", [("finite", 1, 1.0, 50), ("finite", 2, 1.0, 200), ("dp", 2, 2.0, 50),
                                            ("dp", 1, 1.0, 200)])
def test_width_one_learners_agree_with_the_exact_evidence(kind, K, scale, T):
    # d = 1, one unit: the restricted learner's evidence is one integral (numeric/bayes/exact.py), for the
    # finite teacher of K = 1 (the unrestricted learner) and K = 2 (misspecified), and the DP teacher's
    # one renormalised atom (prior scale K)
    n = 12
    ts, r = run_teachers(kind, 1, K, T, teachers=n, particles=1000, seed=0, width=1)
    exact = np.array([exact_error_d1k1(*teacher_data(t, T, i), scale=scale) for i, t in enumerate(ts)])
    diff = r.error - exact
    se = diff.std(ddof=1) / np.sqrt(n)
    assert abs(diff.mean()) < 3 * se + 1e-5
    assert np.abs(diff).max() * T < 0.25                 # log-evidence within 0.25 nats per data set
    assert abs(r.error_rb.mean() - exact.mean()) < 3 * r.error_rb.std(ddof=1) / np.sqrt(n)


def test_exact_evidence_scale_is_the_scaled_prior():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(5), (rng.random(5) < 0.5) * 1.0
    a, w = rng.standard_normal((2, 400_000))
    F = 2.5 * a[:, None] * np.maximum(w[:, None] * x[None], 0.0)
    lp = np.sum(-np.logaddexp(0.0, np.where(y > 0.5, -F, F)), axis=1)
    mc = np.log(np.mean(np.exp(lp)))
    se = np.std(np.exp(lp)) / np.sqrt(lp.size) / np.exp(mc)
    assert abs(log_evidence_d1k1(x, y, scale=2.5) - mc) < 4 * se

"""The SMC sampler's Pitman-Yor stick: the inverse Beta CDF against SciPy, the prior it induces against the
teacher's own stick law, the kernels against their references, and the runs against the DP's at sigma = 0."""

import numpy as np
import pytest
from scipy import stats

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes import kernels
from scaling_theory.numeric.bayes.kernels import DIRICHLET, DP_RENORMALISED, latent_dim
from scaling_theory.numeric.bayes.smc import PY_MAX_ATOMS, learner_prior, py_atoms, run_teachers


@pytest.mark.parametrize("conc", [(2.0, 0.25), (2.0, 0.5), (0.3, 0.75), (32.0, 0.9), (1.0, 0.05), (1000.0, 0.5)])
def test_log_keep_agrees_with_scipy_inverse_beta(conc):
    rng = np.random.default_rng(0)
    s = np.concatenate([rng.uniform(-8, 8, 4000), [-8.0, -1e-9, 0.0, 1e-9, 8.0]])
    j = rng.integers(0, 40, s.size)
    got, want = kernels.log_keep(s, j, conc), kernels.log_keep_reference(s, j, conc)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-300)
    # beyond where SciPy's inverse is defined the kernel stays finite and monotone in s
    far = np.array([-37.0, -20.0, -8.0, 8.0, 20.0, 37.0])
    out = kernels.log_keep(far, np.zeros(6, int), conc)
    assert np.all(out <= 0) and np.all(np.diff(out) <= 0) and np.isfinite(out[1:]).all()


def test_log_keep_at_sigma_zero_is_the_dirichlet_map_bit_for_bit():
    s = np.random.default_rng(1).standard_normal(1000) * 3
    j = np.arange(1000) % 7
    np.testing.assert_array_equal(kernels.log_keep(s, j, (2.5, 0.0)), kernels.log_keep(s, j, 2.5))
    np.testing.assert_allclose(kernels.log_keep(s, j, 2.5), kernels.log_keep_reference(s, j, 2.5), rtol=1e-13)


@pytest.mark.parametrize("c,sigma,j", [(2.0, 0.5, 0), (2.0, 0.5, 4), (0.5, 0.75, 2)])
def test_the_latent_prior_gives_the_teachers_stick_law(c, sigma, j):
    # z ~ N(0, 1) mapped by the kernel is a draw of 1 - beta_j ~ Beta(c + (j+1) sigma, 1 - sigma): a KS test
    z = np.random.default_rng(2 + j).standard_normal(20000)
    keep = np.exp(kernels.log_keep(z, np.full(z.size, j), (c, sigma)))
    assert stats.kstest(keep, stats.beta(c + (j + 1) * sigma, 1 - sigma).cdf).pvalue > 1e-3


@pytest.mark.parametrize("kind,d,m", [(DIRICHLET, 2, 6), (DP_RENORMALISED, 3, 4), (DP_RENORMALISED, 1, 1)])
def test_pitman_yor_unpack_logits_and_cache_agree_with_reference(kind, d, m):
    conc = (1.5, 0.6)
    rng = np.random.default_rng(kind * 7 + m)
    Z = 2.0 * rng.standard_normal((2, 30, latent_dim(kind, d, m)))
    x = rng.standard_normal((2, d))
    np.testing.assert_allclose(kernels.logits(Z, kind, m, d, conc, x),
                               kernels.logits_reference(Z, kind, m, d, conc, x), rtol=1e-10, atol=1e-12)
    Ac, Wc = kernels.network_cache(Z, kind, m, d, conc)
    A, W = kernels.unpack_reference(Z, kind, m, d, conc)
    np.testing.assert_allclose(Ac, A.transpose(0, 2, 1), rtol=1e-10, atol=1e-300)
    if kind == DP_RENORMALISED:      # the first m atoms renormalised: |A| sums to c when every a_j = 1
        Z[..., m: 2 * m] = 1.0
        A, _ = kernels.unpack_reference(Z, kind, m, d, conc)
        np.testing.assert_allclose(A.sum(axis=-1), conc[0], rtol=1e-12)


def test_learner_prior_and_atoms():
    assert learner_prior("pitman-yor", 2.0, 5, sigma=0.5) == (DP_RENORMALISED, 5)
    assert learner_prior("pitman-yor", 2.0, sigma=0.0) == learner_prior("dp", 2.0)
    M = py_atoms(2.0, 0.2)
    keep = [(2.0 + k * 0.2) / (2.0 + k * 0.2 + 0.8) for k in range(1, M + 1)]     # E(1 - beta_k)
    assert np.prod(keep) <= 1e-3 < np.prod(keep[:-1])
    with pytest.raises(UserInputError, match=f"more than {PY_MAX_ATOMS} atoms.*--width"):
        py_atoms(2.0, 0.5)


def test_runs_at_sigma_zero_are_the_dp_runs_and_reference_agrees():
    _, dp = run_teachers("dp", 2, 1.0, 40, teachers=2, particles=100, seed=1, width=3)
    _, py0 = run_teachers("pitman-yor", 2, 1.0, 40, teachers=2, particles=100, seed=1, width=3, sigma=0.0)
    np.testing.assert_array_equal(dp.kl_curve, py0.kl_curve)
    _, a = run_teachers("pitman-yor", 2, 1.0, 40, teachers=2, particles=100, seed=1, width=3, sigma=0.5)
    _, b = run_teachers("pitman-yor", 2, 1.0, 40, teachers=2, particles=100, seed=1, width=3, sigma=0.5,
                        backend="numpy")
    assert a.resamples.sum() > 0 and not np.array_equal(a.kl_curve, dp.kl_curve)
    np.testing.assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-9)
    np.testing.assert_allclose(a.kl_curve, b.kl_curve, rtol=1e-7, atol=1e-13)
    with pytest.raises(UserInputError, match="takes none"):
        run_teachers("dp", 2, 1.0, 10, teachers=1, particles=10, sigma=0.5)


@pytest.mark.parametrize("K,sigma", [(2.0, 0.5), (2.0, 0.25), (0.5, 0.75), (32.0, 0.5)])
def test_data_teachers_keep_the_atoms_that_drop_at_most_their_share(K, sigma):
    import sympy as sp

    from scaling_theory.numeric.bayes.smc import TEACHER_DROPPED_SHARE, py_teacher_atoms
    from scaling_theory.theory.teachers import py_stick_square_tail

    def share(m):   # t(m)/t(0): the expected share of E[F^2] the cut drops, from the theory's closed form
        Ks, ss = sp.nsimplify(K), sp.nsimplify(sigma)
        return float(py_stick_square_tail(sp.Integer(m), Ks, ss) / py_stick_square_tail(sp.Integer(0), Ks, ss))

    m = py_teacher_atoms(K, sigma)
    assert share(m) <= TEACHER_DROPPED_SHARE < share(m - 1)


def test_teacher_data_is_blocked_for_many_atoms_and_equals_the_one_shot_logits():
    from scaling_theory.numeric.bayes.smc import teacher_data
    from scaling_theory.numeric.sim.teacher import sample_teacher, teacher_logits

    t = sample_teacher(3, 2.0, kind="pitman-yor", sigma=0.5, seed=4, max_atoms=20000)
    X, y, f = teacher_data(t, 600, 9)      # 600 x 20000 would be 96 MB at once; the blocks hold 64 MB at most
    np.testing.assert_allclose(f, teacher_logits(t, X), rtol=1e-12, atol=1e-12)

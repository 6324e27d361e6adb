"""The Numba particle kernels agree with their NumPy references; the latent map is the teacher's law."""

import numpy as np
import pytest

from scaling_theory.numeric.bayes import kernels
from scaling_theory.numeric.bayes.kernels import DIRICHLET, DP_RENORMALISED, FINITE, latent_dim
from scaling_theory.numeric.bayes.smc import dp_atoms
from scaling_theory.numeric.sim.teacher import Teacher, teacher_logits


@pytest.mark.parametrize("kind,d,m,conc", [(FINITE, 1, 1, 1.0), (FINITE, 4, 4, 1.0), (DIRICHLET, 2, 10, 1.0),
                                           (DIRICHLET, 3, 7, 4.0)])
def test_logits_and_unpack_agree_with_reference(kind, d, m, conc):
    rng = np.random.default_rng(kind * 10 + d)
    Z = 2.0 * rng.standard_normal((3, 50, latent_dim(kind, d, m)))
    x = rng.standard_normal((3, d))
    np.testing.assert_allclose(kernels.logits(Z, kind, m, d, conc, x),
                               kernels.logits_reference(Z, kind, m, d, conc, x), rtol=1e-12, atol=1e-12)
    A, W = kernels.unpack(Z[1, 7], kind, m, d, conc)
    Ar, Wr = kernels.unpack_reference(Z[1, 7], kind, m, d, conc)
    np.testing.assert_allclose(A, Ar, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(W, Wr)


def test_logits_match_the_teacher_network():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(latent_dim(FINITE, 3, 2))
    A, W = kernels.unpack(z, FINITE, 2, 3)
    t = Teacher("finite", 3, 2, A, W)
    x = rng.standard_normal((1, 3))
    assert kernels.logits(z[None, None], FINITE, 2, 3, 1.0, x)[0, 0] == pytest.approx(teacher_logits(t, x)[0])


def test_dirichlet_weights_form_a_stick_with_beta_fractions():
    # pi sums to 1 (the last atom takes the rest) and beta_1 ~ Beta(1, c): mean 1/(1+c)
    c, m = 2.0, dp_atoms(2.0)
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((1, 40000, latent_dim(DIRICHLET, 1, m)))
    Z[..., m - 1: 2 * m - 1] = 1.0                       # a_j = 1, so A_j = c pi_j
    A, _ = kernels.unpack_reference(Z, DIRICHLET, m, 1, c)
    np.testing.assert_allclose(A.sum(axis=-1) / c, 1.0, rtol=1e-12)
    first = A[0, :, 0] / c
    assert abs(first.mean() - 1 / (1 + c)) < 4 * first.std() / np.sqrt(first.size)
    assert abs(np.mean(first ** 2) - 2 / ((1 + c) * (2 + c))) < 0.005   # E beta^2 of Beta(1, c)


@pytest.mark.parametrize("kind,d,m,conc", [(FINITE, 2, 3, 1.0), (DIRICHLET, 2, 5, 2.0), (DP_RENORMALISED, 2, 3, 1.0)])
def test_mh_sweep_agrees_with_reference(kind, d, m, conc):
    rng = np.random.default_rng(11)
    n, P, t = 3, 64, 40
    D = latent_dim(kind, d, m)
    Z = rng.standard_normal((n, P, D))
    X = rng.standard_normal((n, t + 5, d))
    y = (rng.random((n, t + 5)) < 0.5).astype(float)
    ll0 = kernels.mh_sweep_reference(Z.copy(), np.full((n, P), -np.inf), X, y, t, np.ones(n, bool), kind, m, d,
                                     conc, np.zeros_like(Z), np.zeros((n, P)))
    assert ll0.all()                                       # from -inf every proposal is taken
    _, ll = Z.copy(), np.full((n, P), -np.inf)
    kernels.mh_sweep_reference(Z, ll, X, y, t, np.ones(n, bool), kind, m, d, conc, np.zeros_like(Z),
                               np.zeros((n, P)))           # ll: the true log-likelihood of Z
    step = 0.3 * rng.standard_normal(Z.shape)
    log_u = np.log(rng.random((n, P)))
    active = np.array([True, False, True])
    Z1, ll1, Z2, ll2 = Z.copy(), ll.copy(), Z.copy(), ll.copy()
    a1 = kernels.mh_sweep(Z1, ll1, X, y, t, active, kind, m, d, conc, step, log_u)
    a2 = kernels.mh_sweep_reference(Z2, ll2, X, y, t, active, kind, m, d, conc, step, log_u)
    np.testing.assert_array_equal(a1, a2)
    assert 0 < a1.sum() < a1[active].size                 # some accepted, some rejected
    assert not a1[1].any() and np.array_equal(Z1[1], Z[1])  # an inactive run is left alone
    np.testing.assert_allclose(Z1, Z2, rtol=0, atol=0)
    np.testing.assert_allclose(ll1, ll2, rtol=1e-12)


def test_the_vectorisable_exp_is_within_two_ulp():
    u = -np.concatenate([np.linspace(0.0, 40.0, 200_001), np.geomspace(1e-300, 1e-3, 1000), [40.0, 41.0, 1e300]])
    got = kernels.exp_nonpositive(u)
    want = np.exp(np.maximum(u, -40.0))
    assert np.max(np.abs(got - want) / np.spacing(want)) <= 2.0
    assert kernels.exp_nonpositive(np.array([0.0]))[0] == 1.0
    assert 1.0 + kernels.exp_nonpositive(np.array([-1e300]))[0] == 1.0    # the clamp changes nothing in 1 + e


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("t", [0, 1, 255, 256, 257, 700])
def test_network_log_lik_agrees_with_reference(d, t):
    # every input-dimension branch and every chunk boundary of the observation loop
    rng = np.random.default_rng(d * 1000 + t)
    A, W = 3 * rng.standard_normal(3), rng.standard_normal((3, d))
    X = 2 * rng.standard_normal((t, d))
    y = (rng.random(t) < 0.5) * 1.0
    got, want = kernels.network_log_lik(A, W, X, y), kernels.network_log_lik_reference(A, W, X, y)
    # one log per chunk of products of (1 + e): absolute error ~ eps per observation, not relative
    assert got == pytest.approx(want, rel=1e-13, abs=1e-15 * (t + 1))


def test_network_log_lik_survives_huge_logits():
    # labels against logits of +-1e4: softplus ~ 1e4 per observation, no overflow of the chunk product
    X = np.ones((600, 1))
    y = np.tile([1.0, 0.0], 300)
    for A in (1e4, -1e4):
        got = kernels.network_log_lik(np.array([A]), np.array([[1.0]]), X, y)
        want = kernels.network_log_lik_reference(np.array([A]), np.array([[1.0]]), X, y)
        assert np.isfinite(got) and got == pytest.approx(want, rel=1e-14)


@pytest.mark.parametrize("kind,d,m,conc", [(FINITE, 3, 2, 1.0), (DIRICHLET, 2, 6, 2.0), (DP_RENORMALISED, 5, 4, 0.5),
                                           (DP_RENORMALISED, 1, 1, 3.0)])
def test_network_cache_is_the_unpacked_particles(kind, d, m, conc):
    Z = 2 * np.random.default_rng(7).standard_normal((3, 37, latent_dim(kind, d, m)))
    Ac, Wc = kernels.network_cache(Z, kind, m, d, conc)
    A, W = kernels.unpack_reference(Z, kind, m, d, conc)
    np.testing.assert_allclose(Ac, A.transpose(0, 2, 1), rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(Wc, W.transpose(0, 2, 3, 1))


def test_renormalised_stick_weights_sum_to_one_and_one_atom_carries_it_all():
    c, m = 1.5, 5
    Z = 3 * np.random.default_rng(8).standard_normal((1, 2000, latent_dim(DP_RENORMALISED, 1, m)))
    Z[..., m: 2 * m] = 1.0                                 # a_j = 1, so A_j = c pi_j / sum pi
    A, _ = kernels.unpack_reference(Z, DP_RENORMALISED, m, 1, c)
    np.testing.assert_allclose(A.sum(axis=-1), c, rtol=1e-12)
    assert (A > 0).all()
    Ak = np.array([kernels.unpack(z, DP_RENORMALISED, m, 1, c)[0] for z in Z[0, :50]])
    np.testing.assert_allclose(Ak, A[0, :50], rtol=1e-12)
    A1, _ = kernels.unpack(np.array([-9.0, 0.7, 1.1]), DP_RENORMALISED, 1, 1, c)
    assert A1[0] == pytest.approx(c * 0.7, rel=1e-15)     # one atom: weight 1 whatever its stick fraction


@pytest.mark.parametrize("kind,d,m,conc", [(FINITE, 2, 2, 1.0), (DIRICHLET, 2, 4, 1.0), (DP_RENORMALISED, 6, 3, 2.0)])
def test_advance_agrees_with_reference(kind, d, m, conc):
    rng = np.random.default_rng(12)
    n, P, T = 3, 80, 60
    Z = rng.standard_normal((n, P, latent_dim(kind, d, m)))
    X = rng.standard_normal((n, T, d))
    f_true = 2 * rng.standard_normal((n, T))
    y = (rng.random((n, T)) < 1 / (1 + np.exp(-f_true))) * 1.0
    t0 = np.array([0, 5, T], dtype=np.int64)               # the last run has nothing left to absorb
    Ac, Wc = kernels.network_cache(Z, kind, m, d, conc)
    XT, sg = np.ascontiguousarray(X.transpose(0, 2, 1)), np.where(y > 0.5, -1.0, 1.0)
    w, pos, prod, ll = np.full((n, P), 1 / P), np.zeros((n, P)), np.ones((n, P)), np.zeros((n, P))
    kl, lp, em, t1 = np.zeros((n, T)), np.zeros((n, T)), np.ones(n), t0.copy()
    need = kernels.advance(Ac, Wc, XT, sg, f_true, t1, w, pos, prod, ll, 0.3, kl, lp, em)
    klr, lpr, emr, t2, logw, llr = np.zeros((n, T)), np.zeros((n, T)), np.ones(n), t0.copy(), np.zeros((n, P)), \
        np.zeros((n, P))
    need_r = kernels.advance_reference(Z, kind, m, d, conc, X, y, f_true, t2, logw, llr, 0.3, klr, lpr, emr)
    np.testing.assert_array_equal(need, need_r)
    np.testing.assert_array_equal(t1, t2)
    assert need[:2].any() and not need[2] and t1[2] == T      # a stop on the ESS floor was exercised
    np.testing.assert_allclose(kl, klr, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(lp, lpr, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(em, emr, rtol=1e-11)
    wr = np.exp(logw - logw.max(axis=1, keepdims=True))
    np.testing.assert_allclose(w[:2], (wr / wr.sum(axis=1, keepdims=True))[:2], rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(ll - pos - np.log(prod), llr, rtol=1e-12, atol=1e-12)


def test_mh_moves_with_per_run_t_agree_with_reference_and_update_the_cache():
    kind, d, m, conc = DP_RENORMALISED, 3, 3, 1.0
    rng = np.random.default_rng(13)
    n, P, T, moves = 4, 50, 300, 3
    D = latent_dim(kind, d, m)
    Z = rng.standard_normal((n, P, D))
    X, y = rng.standard_normal((n, T, d)), (rng.random((n, T)) < 0.5) * 1.0
    t = np.array([300, 0, 257, 40], dtype=np.int64)
    ll = np.zeros((n, P))
    for b in range(n):                                     # the true log-likelihoods of the current particles
        A, W = kernels.unpack_reference(Z[b], kind, m, d, conc)
        ll[b] = [kernels.network_log_lik_reference(A[i], W[i], X[b, :t[b]], y[b, :t[b]]) for i in range(P)]
    rows = np.array([0, 1, 2])                             # run 3 is not moved
    E = rng.standard_normal((3, moves, P, D))
    log_u = np.log(rng.random((3, moves, P)))
    L = np.stack([np.linalg.cholesky(0.04 * np.eye(D) + 0.01 * np.ones((D, D))) for _ in rows])
    Ac, Wc = kernels.network_cache(Z, kind, m, d, conc)
    Z1, ll1, Z2, ll2 = Z.copy(), ll.copy(), Z.copy(), ll.copy()
    s1, s2 = np.ones(n), np.ones(n)
    XT, sg = np.ascontiguousarray(X.transpose(0, 2, 1)), np.where(y > 0.5, -1.0, 1.0)
    r1 = kernels.mh_moves(Z1, ll1, XT, sg, t, rows, kind, m, d, conc, E, log_u, L, s1, Ac, Wc)
    r2 = kernels.mh_moves_reference(Z2, ll2, X, y, t, rows, kind, m, d, conc, E, log_u, L, s2)
    np.testing.assert_array_equal(r1, r2)
    assert 0 < r1.min() and r1.max() < 1                  # some accepted, some rejected, in every move
    np.testing.assert_allclose(s1, s2, rtol=1e-14)
    assert s1[3] == 1.0 and s1[0] != 1.0                  # only the moved runs adapt their scale
    np.testing.assert_allclose(Z1, Z2, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(Z1[3], Z[3])
    np.testing.assert_allclose(ll1, ll2, rtol=1e-12, atol=1e-13)
    Ac2, Wc2 = kernels.network_cache(Z1, kind, m, d, conc)
    np.testing.assert_allclose(Ac, Ac2, rtol=1e-15)        # accepted networks were written to the cache
    np.testing.assert_array_equal(Wc, Wc2)


def test_weighted_covariance_agrees_with_reference():
    rng = np.random.default_rng(14)
    Z, w = rng.standard_normal((300, 7)), rng.random(300)
    w /= w.sum()
    np.testing.assert_allclose(kernels.weighted_covariance(Z, w), kernels.weighted_covariance_reference(Z, w),
                               rtol=1e-12, atol=1e-15)


def test_cholesky_agrees_with_numpy_and_refuses_what_it_does():
    rng = np.random.default_rng(15)
    A = rng.standard_normal((40, 40))
    C = A @ A.T + 1e-3 * np.eye(40)
    np.testing.assert_allclose(kernels.cholesky(C), np.linalg.cholesky(C), rtol=1e-10, atol=1e-12)
    with pytest.raises(np.linalg.LinAlgError):
        kernels.cholesky(-np.eye(3))

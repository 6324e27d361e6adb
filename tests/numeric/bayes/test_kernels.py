"""The Numba particle kernels agree with their NumPy references; the latent map is the teacher's law."""

import numpy as np
import pytest

from scaling_theory.numeric.bayes import kernels
from scaling_theory.numeric.bayes.kernels import DIRICHLET, FINITE, latent_dim
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


@pytest.mark.parametrize("kind,d,m,conc", [(FINITE, 2, 3, 1.0), (DIRICHLET, 2, 5, 2.0)])
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

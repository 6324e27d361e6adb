"""The simulator's Pitman-Yor teacher: sigma = 0 is the dp teacher bit for bit, the blocked sticks equal the
one-at-a-time loop, the cut's cost, and the draws' moments."""

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim import teacher as sim


@pytest.mark.parametrize("scale", ["barron", "normalised"])
@pytest.mark.parametrize("K", [0.3, 2.0, 32.0])
def test_sigma_zero_draws_the_dp_teacher_bit_for_bit(K, scale):
    for seed in range(8):
        for tol, cap in ((1e-8, 100_000), (1e-3, 5)):
            dp = sim.sample_teacher(5, K, kind="dp", seed=seed, scale=scale, tol=tol, max_atoms=cap)
            py = sim.sample_teacher(5, K, kind="pitman-yor", sigma=0.0, seed=seed, scale=scale, tol=tol, max_atoms=cap)
            assert np.array_equal(dp.pi, py.pi) and np.array_equal(dp.a, py.a) and np.array_equal(dp.W, py.W)
            assert dp.leftover == py.leftover


def test_blocked_sticks_equal_the_one_at_a_time_reference():
    for seed in range(60):
        K = (0.3, 2.0, 32.0, 7.5)[seed % 4]
        sigma = (0.0, 0.1, 0.5, 0.75, 0.95)[seed % 5]
        tol, cap = ((1e-8, 100_000), (1e-3, 37), (0.5, 1000))[seed % 3]
        r1, r2 = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 1])
        a, ra = sim._pitman_yor_sticks(r1, K, sigma, tol, cap)
        b, rb = sim._pitman_yor_sticks_reference(r2, K, sigma, tol, cap)
        assert np.array_equal(a, b) and ra == rb
        assert r1.random() == r2.random()   # the generator is left where the loop leaves it


def test_seeded_and_cut_at_max_atoms_with_its_dropped_share():
    a = sim.sample_teacher(3, 2.0, kind="pitman-yor", sigma=0.75, seed=4, max_atoms=500)
    b = sim.sample_teacher(3, 2.0, kind="pitman-yor", sigma=0.75, seed=4, max_atoms=500)
    assert np.array_equal(a.a, b.a) and a.m == 500 and a.leftover > 1e-8
    assert abs(a.pi.sum() + a.leftover - 1) < 1e-12
    assert a.dropped_share == pytest.approx(a.leftover**2 * 3.0 / (3.0 + 500 * 0.75))
    assert a.to_json()["sigma"] == 0.75 and "sigma" not in sim.sample_teacher(3, 2.0, kind="dp").to_json()


@pytest.mark.parametrize("kwargs, match", [({"kind": "pitman-yor"}, "needs its discount"),
                                           ({"kind": "pitman-yor", "sigma": 1.0}, r"\[0, 1\)"),
                                           ({"kind": "pitman-yor", "sigma": "x"}, "must be a number"),
                                           ({"kind": "dp", "sigma": 0.5}, "takes none"),
                                           ({"kind": "pitman-yor", "sigma": 0.5, "max_atoms": 0}, "max_atoms")])
def test_bad_discount_is_one_line(kwargs, match):
    with pytest.raises(UserInputError, match=match) as exc:
        sim.sample_teacher(3, 2.0, **kwargs)
    assert "\n" not in str(exc.value)


def test_first_stick_mean_and_leftover_match_the_closed_forms():
    # E pi_1 = (1 - sigma)/(K + 1), E R_3 = prod_{j<=3} (K + j sigma)/(K + 1 + (j-1) sigma)
    K, sigma, m = 2.0, 0.5, 4000
    ts = [sim.sample_teacher(1, K, kind="pitman-yor", sigma=sigma, seed=s, max_atoms=50) for s in range(m)]
    pi1 = np.array([t.pi[0] for t in ts])
    r3 = np.array([1 - t.pi[:3].sum() for t in ts])
    assert abs(pi1.mean() - (1 - sigma) / (K + 1)) < 4 * pi1.std() / np.sqrt(m)
    want = np.prod([(K + j * sigma) / (K + 1 + (j - 1) * sigma) for j in (1, 2, 3)])
    assert abs(r3.mean() - want) < 4 * r3.std() / np.sqrt(m)

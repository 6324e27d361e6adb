"""Teacher scale in the simulator: the normalised teachers have E[F^2] = 1/2 for every d and K."""

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.teacher import sample_teacher


def _output_second_moment(kind, d, K, seeds=400, inputs=200):
    rng = np.random.default_rng(5)
    vals = []
    for s in range(seeds):
        t = sample_teacher(d, K, kind=kind, seed=s, scale="normalised")
        X = rng.standard_normal((inputs, d))
        vals.append(np.mean((np.maximum(X @ t.W.T, 0) @ t.a) ** 2))
    vals = np.asarray(vals)
    return vals.mean(), vals.std(ddof=1) / np.sqrt(seeds)


@pytest.mark.parametrize("kind,d,K", [("finite", 2, 1), ("finite", 16, 8), ("dp", 3, 2.0), ("dp", 8, 6.0)])
def test_normalised_teacher_has_half_output_second_moment(kind, d, K):
    mean, se = _output_second_moment(kind, d, K)
    assert abs(mean - 0.5) <= 5 * se


def test_unknown_scale_is_a_one_line_error():
    with pytest.raises(UserInputError, match="unknown teacher scale") as exc:
        sample_teacher(4, 3, scale="unit")
    assert "\n" not in str(exc.value)

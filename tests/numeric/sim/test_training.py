"""Public training API (numeric/training.py)."""

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.teacher import sample_teacher
from scaling_theory.numeric.sim.students import StudentConfig, init_params, param_count
from scaling_theory.numeric.sim.training import train


def test_param_count_table():
    for (d, n), p in {(32, 8): 264, (1, 1): 2, (64, 128): 8320}.items():
        assert param_count(d, n) == p


def test_init_params_is_seeded_and_scaled():
    W, v = init_params(StudentConfig(400, init_seed=1), 100)
    W2, _ = init_params(StudentConfig(400, init_seed=1), 100)
    assert np.array_equal(W, W2)
    assert abs(W.std() - 0.1) < 0.002 and abs(v.std() - 0.05) < 0.005
    explicit = init_params(StudentConfig(2, init_W=np.ones((2, 3)), init_v=np.zeros(2)), 3)
    assert np.array_equal(explicit[0], np.ones((2, 3)))


def test_bad_configs_are_user_errors():
    cases = {"width": dict(width=0), "batch size": dict(width=1, batch_size=0),
             "lr": dict(width=1, lr=-1.0), "optimizer": dict(width=1, optimizer="rmsprop"),
             "schedule": dict(width=1, schedule="cosine"), "both init_W": dict(width=1, init_W=np.ones((1, 2))),
             "init_W must be": dict(width=2, init_W=np.ones((3, 2)), init_v=np.ones(3))}
    for text, kwargs in cases.items():
        with pytest.raises(UserInputError, match=text):
            StudentConfig(**kwargs)


def test_train_arguments_are_checked():
    t = sample_teacher(3, 2, seed=0)
    with pytest.raises(UserInputError, match="unknown device"):
        train(t, [StudentConfig(2)], 10, data_seed=0, device="tpu")
    with pytest.raises(UserInputError, match="2 sample budgets for 1 students"):
        train(t, [StudentConfig(2)], [10, 20], data_seed=0)
    with pytest.raises(UserInputError, match="columns"):
        train(t, [StudentConfig(2, init_W=np.ones((2, 5)), init_v=np.ones(2))], 10, data_seed=0)
    assert train(t, [], 10, data_seed=0) == []


def test_per_student_budgets_are_prefixes_of_one_stream():
    t = sample_teacher(3, 2, seed=0)
    cfg = StudentConfig(2, lr=0.1)
    both = train(t, [cfg, cfg], [300, 1000], data_seed=4, device="cpu", chunk_size=128)
    short = train(t, [cfg], 300, data_seed=4, device="cpu", chunk_size=128)[0]
    assert [r.samples_seen for r in both] == [300, 1000]
    assert np.array_equal(both[0].W, short.W)
    assert both[0].to_json()["config"]["width"] == 2 and both[1].to_json()["status"] == "done"

"""``allocate`` reports the parameter set actually used, not the law's default after overrides."""

from scaling_theory.numeric.precision.allocate import allocate


def test_param_set_is_the_one_used():
    every = allocate("jeon-van-roy", "1e12", params={"d": 8, "K": 32}, digits=20).to_json()
    assert every["param_set"] is None and every["params"]["d"] == "8" and every["params"]["K"] == "32"
    one = allocate("jeon-van-roy", "1e12", params={"d": 8}, digits=20).to_json()
    assert one["param_set"] == "d16-K4" and one["overridden"] == ["d"]

"""Figures: each plot function writes a readable PNG at the path it returns, atomically."""

import struct

import pytest

from scaling_theory.numeric.analysis import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == PNG_MAGIC
    return struct.unpack(">II", head[16:24])


CASES = {
    "isoflop": lambda p: plots.isoflop_curves(
        [{"C": 1e6, "N": [10, 30, 100], "loss": [0.3, 0.1, 0.2], "N_opt": 40, "loss_opt": 0.09,
          "parabola": [0.5, -3.7, 4.5]},
         {"C": 1e7, "N": [30, 100, 300], "loss": [0.1, 0.05, 0.08]}], p),
    "frontier": lambda p: plots.frontier(
        [1e5, 1e6, 1e7], [30, 100, 300], [3e3, 1e4, 3e4], p,
        fitted={"approach 2": (0.1, 0.5, 10.0, 0.5)}, derived={"bound": ([1e5, 1e7], [20, 200], [5e3, 5e4])}),
    "share": lambda p: plots.model_share([4, 8, 16], [0.01, 0.02, 0.04], p, xlabel="d",
                                         ci=[(0.008, 0.012), (0.015, 0.03), (float("nan"), float("nan"))],
                                         theory=[0.012, 0.02, 0.03]),
    "contours": lambda p: plots.law_contours(
        {"E": 0.0, "A": 2.0, "B": 30.0, "alpha": 0.5, "beta": 0.5}, p, N_range=(10, 1e4),
        D_range=(1e2, 1e6), cost=1.0, points=([10, 100], [1e4, 1e3])),
}


@pytest.mark.parametrize("name", CASES)
def test_plot_writes_png_and_returns_path(tmp_path, name):
    path = tmp_path / "sub" / f"{name}.png"
    assert CASES[name](path) == str(path)
    width, height = _png_size(path)
    assert width >= 500 and height >= 400
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_unwritable_figure_path_is_one_line_user_error(tmp_path):
    from scaling_theory.errors import UserInputError

    (tmp_path / "adir").mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for bad in (tmp_path / "adir", blocker / "sub.png"):
        with pytest.raises(UserInputError, match="cannot write figure"):
            CASES["share"](bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "file"]
    assert list((tmp_path / "adir").iterdir()) == []

"""Figures of the scaling study (matplotlib, Agg backend): plain data in, a PNG path out.

- :func:`isoflop_curves`: loss against model size, one curve per compute budget, minima marked
  (Hoffmann et al. 2022, Fig. 3 left).
- :func:`frontier`: compute-optimal ``p*(C)`` and ``T*(C)`` on log-log axes with fitted and derived
  lines (Fig. 3 centre/right).
- :func:`model_share`: the compute-optimal model share against ``d`` or ``K``, measured and derived.
- :func:`law_contours`: contours of a fitted law ``L(N, D)`` with its efficient frontier
  (Fig. 4).
- :func:`lr_sensitivity`: error against learning rate, one curve per width, one panel per teacher
  and budget, with intervals over seeds (the tuned protocol's learning-rate figure).
- :func:`study_figures`: all of the above for one study (``scaling-theory reproduce``).

Every function takes plain numbers (sequences, dicts) and a path, writes the PNG atomically and
returns the path.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from scaling_theory.numeric.analysis.compare import label

__all__ = ["isoflop_curves", "frontier", "model_share", "law_contours", "bayes_error_curves", "lr_sensitivity",
           "study_figures"]

_DPI = 130


def _figure(width=6.4, height=4.4):
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only, never a window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return plt, fig, ax


def _save(plt, fig, path) -> str:
    """Render the figure to PNG bytes and write them with :func:`scaling_theory._files.write_output`.

    A regular file is replaced atomically (keeping its mode), a symlink is written through, a
    device or FIFO is written directly; a missing folder is created.
    """
    import io

    from scaling_theory._files import write_output
    from scaling_theory.errors import UserInputError

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.path.isdir(path):
            raise UserInputError(f"cannot write figure {path}: it is a directory")
        os.makedirs(folder, exist_ok=True)
        buf = io.BytesIO()
        fig.savefig(buf, dpi=_DPI, format="png")
    except OSError as err:
        raise UserInputError(f"cannot write figure {path}: {err.strerror or err}") from None
    finally:
        plt.close(fig)
    write_output(path, buf.getvalue())
    return path


def _plain_ticks(axis, minor: bool) -> None:
    """Tick labels as plain numbers (``0.03``, ``16``) instead of powers like ``3x10^-2``."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fmt = FuncFormatter(lambda v, _: f"{v:.3g}")
    axis.set_major_formatter(fmt)
    axis.set_minor_formatter(fmt if minor else NullFormatter())


def _spans_little(values) -> bool:
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    return v.size > 0 and v.max() / v.min() < 8


def _colors(plt, n):
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.05, 0.9, max(n, 1))]


def isoflop_curves(curves: Sequence[Mapping], path, *, xlabel: str = "model size p (parameters)",
                   ylabel: str = "reducible error", title: str | None = None,
                   trivial: float | None = None) -> str:
    """Loss against model size at fixed compute, one curve per budget.

    Parameters
    ----------
    curves : one mapping per budget with ``C``, ``N`` and ``loss`` (sequences), optionally
        ``N_opt``/``loss_opt`` (the minimum, marked with a star) and ``parabola`` (coefficients
        ``c2, c1, c0`` of ``ln loss`` in ``ln N``, drawn dashed).
    path : where to write the PNG.
    trivial : the trivial error (best input-independent predictor); drawn as a dotted line with the
        range above it shaded, where a student does no better than predicting a constant.
    xlabel, ylabel : the axes' quantities with their units.

    Every mark is in the legend (outside the axes): the budgets' colours, the parabolas, the
    minima, the trivial error and its band.

    Returns
    -------
    The path written.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "iso.png")
    >>> isoflop_curves([{"C": 1e6, "N": [10, 100, 1000], "loss": [0.3, 0.1, 0.2]}], out) == out
    True
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt, fig, ax = _figure(7.6, 4.4)
    handles = []
    drew_parabola = drew_star = False
    for color, c in zip(_colors(plt, len(curves)), sorted(curves, key=lambda c: c["C"])):
        N, L = np.asarray(c["N"], float), np.asarray(c["loss"], float)
        order = np.argsort(N)
        handles += ax.plot(N[order], L[order], "o", color=color, ms=4, label=f"C = {c['C']:.2g}")
        if c.get("parabola"):
            c2, c1, c0 = c["parabola"]
            xs = np.linspace(np.log(N.min()), np.log(N.max()), 100)
            ax.plot(np.exp(xs), np.exp(c0 + c1 * xs + c2 * xs**2), "--", color=color, lw=1)
            drew_parabola = True
        else:
            ax.plot(N[order], L[order], "-", color=color, lw=1, alpha=0.6)
        if c.get("N_opt") is not None and c.get("loss_opt") is not None:
            ax.plot([c["N_opt"]], [c["loss_opt"]], "*", color=color, ms=13, mec="black", mew=0.6)
            drew_star = True
    # every line, marker and band in the legend: the colours name the budgets, these the kinds of mark
    if drew_parabola:
        handles.append(Line2D([], [], ls="--", color="0.3", lw=1, label="parabola in ln p (approach 2)"))
    if drew_star:
        handles.append(Line2D([], [], ls="", marker="*", ms=11, color="0.6", mec="black", mew=0.6,
                              label="its minimum"))
    if trivial is not None and math.isfinite(trivial) and trivial > 0:
        handles.append(ax.axhline(trivial, color="grey", ls=":", lw=1.2, label="trivial error (constant predictor)"))
        ax.axhspan(trivial, max(trivial * 10, ax.get_ylim()[1]), color="0.85", alpha=0.5, lw=0)
        handles.append(Patch(color="0.85", alpha=0.5, label="no better than a constant predictor"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    all_loss = np.concatenate([np.asarray(c["loss"], float) for c in curves]) if curves else []
    _plain_ticks(ax.yaxis, minor=_spans_little(all_loss))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "IsoFLOP profiles (stars: fitted minima)")
    ax.grid(True, which="both", alpha=0.25)
    if curves:
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _save(plt, fig, path)


def frontier(C: Sequence[float], N_opt: Sequence[float], D_opt: Sequence[float], path, *,
             fitted: Mapping[str, tuple[float, float, float, float]] | None = None,
             derived: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]] | None = None,
             labels: tuple[str, str] = ("compute-optimal model size p* (parameters)",
                                        "compute-optimal data T* (samples)"), title: str | None = None,
             points_label: str = "per-budget optima", vacuous_below: float | None = None,
             xlabel: str = "compute C = pT (parameters x samples)") -> str:
    """The compute-optimal model and data sizes against compute, log-log, two panels.

    Parameters
    ----------
    C, N_opt, D_opt : measured per-budget optima (points).
    fitted : ``{label: (k_N, a, k_D, b)}`` power laws ``k_N C^a``, ``k_D C^b`` (solid lines).
    derived : ``{label: (C, N, D)}`` curves from theory (dashed lines).
    path : where to write the PNG.
    vacuous_below : budgets below this one are shaded: there the derived bound's optimal loss is not
        below the trivial error, so the bound says nothing (``math.inf``: vacuous everywhere shown).

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "f.png")
    >>> frontier([1e4, 1e5], [10, 30], [1e3, 3e3], out, fitted={"fit": (0.1, 0.5, 10, 0.5)},
    ...          vacuous_below=3e4) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 5.4), layout="constrained")
    C = np.asarray(C, float)
    # the x range holds the measured optima and the derived curves, so the vacuous band spans what is drawn
    every = np.concatenate([C, *(np.asarray(Cd, float) for Cd, _, _ in (derived or {}).values())])
    lo, hi = (every.min() / 2, every.max() * 2) if every.size else (1.0, 10.0)
    grid = np.geomspace(lo, hi, 50)
    styles = ["-", "-.", ":", (0, (5, 1))]
    for ax, ys, ylabel, which in ((axes[0], N_opt, labels[0], 0), (axes[1], D_opt, labels[1], 1)):
        if vacuous_below is not None and vacuous_below > lo:
            ax.axvspan(lo, min(vacuous_below, hi), color="0.85", alpha=0.6, lw=0,
                       label="bound vacuous (L* >= trivial error)")
        ax.plot(C, ys, "o", color="black", ms=5, label=points_label)
        for i, (name, (kN, a, kD, b)) in enumerate((fitted or {}).items()):
            k, e = (kN, a) if which == 0 else (kD, b)
            ax.plot(grid, k * grid**e, linestyle=styles[i % len(styles)], lw=1.6,
                    label=f"{name}: exponent {e:.3f}")
        for name, (Cd, Nd, Dd) in (derived or {}).items():
            yd = np.asarray(Nd if which == 0 else Dd, float)
            Cd = np.asarray(Cd, float)
            text = name
            if Cd.size >= 2:  # the derived curve's mean log-log slope over its range
                text += f": exponent {np.polyfit(np.log(Cd), np.log(yd), 1)[0]:.3f}"
            ax.plot(Cd, yd, "--", color="tab:red", lw=1.6, label=text)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xlim(lo, hi)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), borderaxespad=0)  # below: no curve hidden
    fig.suptitle(title or "Compute-optimal frontier")
    return _save(plt, fig, path)


def model_share(x: Sequence[float], share: Sequence[float], path, *, xlabel: str,
                ci: Sequence[tuple[float, float]] | None = None,
                theory: Sequence[float] | None = None, ylabel: str = "compute-optimal ratio p*/T*",
                title: str | None = None) -> str:
    """The compute-optimal model share against ``d`` or ``K``: measured (with intervals) and derived.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "s.png")
    >>> model_share([4, 8, 16], [0.1, 0.2, 0.3], out, xlabel="d", theory=[0.1, 0.25, 0.35]) == out
    True
    """
    plt, fig, ax = _figure(5.6, 4.0)
    x = np.asarray(x, float)
    y = np.asarray(share, float)
    if ci is not None:
        lo = np.array([c[0] for c in ci], float)
        hi = np.array([c[1] for c in ci], float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(x[ok], y[ok], yerr=[y[ok] - lo[ok], hi[ok] - y[ok]], fmt="none",
                    ecolor="black", capsize=3, lw=1)
    ax.plot(x, y, "o-", color="black", label="measured (approach 2)")
    if theory is not None:
        ax.plot(x, np.asarray(theory, float), "s--", color="tab:red", label="derived bound")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _plain_ticks(ax.xaxis, minor=False)
    ax.set_xticks(sorted(set(x.tolist())))
    _plain_ticks(ax.yaxis, minor=_spans_little(np.concatenate([y, np.asarray(theory if theory is not None else [], float)])))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"Model share of compute vs {xlabel}")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def law_contours(params: Mapping[str, float], path, *, N_range: tuple[float, float],
                 D_range: tuple[float, float], cost: float = 6.0,
                 points: tuple[Sequence[float], Sequence[float]] | None = None,
                 title: str | None = None, xlabel: str = "model size N",
                 ylabel: str = "data size D", zlabel: str = "loss L(N, D)") -> str:
    """Contours of ``L = E + A/N^alpha + B/D^beta`` with iso-compute lines and the efficient frontier.

    Parameters
    ----------
    params : ``E, A, B, alpha, beta`` of the fitted law.
    N_range, D_range : axis ranges.
    cost : ``C = cost N D`` for the iso-compute lines and the frontier.
    points : optional measured ``(N, D)`` to overlay.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "c.png")
    >>> p = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    >>> law_contours(p, out, N_range=(1e7, 1e11), D_range=(1e9, 1e13)) == out
    True
    """
    plt, fig, ax = _figure(6.0, 4.8)
    E, A, B = params["E"], params["A"], params["B"]
    al, be = params["alpha"], params["beta"]
    n = np.geomspace(*N_range, 200)
    dd = np.geomspace(*D_range, 200)
    NN, DD = np.meshgrid(n, dd)
    L = E + A / NN**al + B / DD**be
    levels = np.geomspace(L.min(), L.max(), 14)
    from matplotlib.colors import LogNorm

    cs = ax.contourf(NN, DD, L, levels=levels, cmap="viridis_r", norm=LogNorm())
    fig.colorbar(cs, ax=ax, label=zlabel, format="%.3g")
    # efficient frontier: N* = G (C/cost)^(be/(al+be)), D* = (C/cost)^(al/(al+be))/G
    G = (al * A / (be * B)) ** (1 / (al + be))
    cs_ = np.geomspace(cost * N_range[0] * D_range[0], cost * N_range[1] * D_range[1], 200)
    Nf = G * (cs_ / cost) ** (be / (al + be))
    Df = (cs_ / cost) ** (al / (al + be)) / G
    ax.plot(Nf, Df, color="tab:red", lw=2, label="efficient frontier")
    for i, Cline in enumerate(np.geomspace(cs_[0], cs_[-1], 9)[1:-1]):
        ax.plot(n, Cline / (cost * n), color="white", lw=0.6, alpha=0.7,
                label="iso-compute lines" if i == 0 else None)
    if points is not None:
        ax.plot(points[0], points[1], "k.", ms=3, label="measured configs")
    ax.set_xlim(*N_range)
    ax.set_ylim(*D_range)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Fitted law (white: iso-compute lines)")
    leg = ax.legend(fontsize=8, loc="upper right")
    leg.get_frame().set_facecolor("0.75")  # the white iso-compute line shows against it
    return _save(plt, fig, path)


def bayes_error_curves(rows: Sequence[Mapping], path, *, title: str | None = None) -> str:
    """The Bayes-optimal error ``L_T`` against ``T`` (SMC, with 2-standard-error bars), the bound and SGD.

    ``rows`` are :meth:`scaling_theory.numeric.bayes.compare.BayesResult.to_json` dicts (keys ``teacher``,
    ``T``, ``error``, ``error_se``, ``bound`` and optionally ``sgd_error``); one colour per teacher. The
    bound is about ``L_T`` (framework result 1 of docs/paper-setting.md), SGD's time-averaged online excess
    loss is the same quantity for an optimiser.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "b.png")
    >>> rows = [{"teacher": "finite", "T": t, "error": 1 / t, "error_se": 0.1 / t, "bound": 5 / t,
    ...          "sgd_error": 2 / t} for t in (100, 1000)]
    >>> bayes_error_curves(rows, out) == out
    True
    """
    plt, fig, ax = _figure(8.2, 4.2)
    teachers = sorted({r["teacher"] for r in rows})
    for color, name in zip(_colors(plt, len(teachers)), teachers):
        own = sorted((r for r in rows if r["teacher"] == name), key=lambda r: r["T"])
        T = np.array([r["T"] for r in own], float)
        err = np.array([r["error"] for r in own], float)
        se = np.array([r["error_se"] for r in own], float)
        ax.errorbar(T, err, yerr=[np.minimum(2 * se, 0.99 * err), 2 * se], fmt="o-", color=color, capsize=3,
                    label=f"{name}: L_T (SMC, bars 2 se)")
        ax.plot(T, [r["bound"] for r in own], "--", color=color, label=f"{name}: bound (min over p)")
        sgd = [(t, r["sgd_error"]) for t, r in zip(T, own) if r.get("sgd_error") is not None]
        if sgd:
            ax.plot(*zip(*sgd), ":", marker="^", color=color, label=f"{name}: SGD online excess")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples T")
    ax.set_ylabel("time-averaged reducible error (nats)")
    ax.set_title(title or "Bayes-optimal error, the bound and SGD")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _save(plt, fig, path)


def lr_sensitivity(panels: Sequence[Mapping], path, *, ylabel: str = "reducible error",
                   max_curves: int = 7, title: str | None = None) -> str:
    """Error against learning rate, one curve per model size, one panel per teacher and budget.

    Parameters
    ----------
    panels : one mapping per panel with ``teacher`` (a label; one row of panels each), ``C``
        (the budget; one column each), ``curves``: ``{p: {lr: {"mean", "lo", "hi"}}}`` (as
        :func:`scaling_theory.numeric.analysis.protocol.lr_curves` gives per ``(C, p)``) and
        optionally ``diverged``: ``{p: {lr: (diverged runs, runs)}}`` (as
        :func:`scaling_theory.numeric.analysis.protocol.diverged_counts` gives).
    path : where to write the PNG.
    max_curves : at most this many sizes per panel, spread evenly in ``ln p`` (the one with the
        lowest error always among them).

    Bars are the intervals over seeds; a hollow marker is each size's best rate; a cross at the
    panel's top edge (one row per size) marks a rate where some seed of that size diverged (its
    mean is not drawn),
    and the title counts the diverged runs by rate.  The legends sit beside the panels.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "lr.png")
    >>> curves = {p: {lr: {"mean": (1 + abs(math.log(lr / 0.1))) / p ** 0.1, "lo": 0.5, "hi": 2.0}
    ...               for lr in (0.03, 0.1, 0.3)} for p in (9, 90)}
    >>> lr_sensitivity([{"teacher": "finite", "C": 1e6, "curves": curves, "diverged": {90: {1.0: (3, 3)}}}],
    ...                out) == out
    True
    """
    import textwrap

    import matplotlib
    import matplotlib.ticker
    from matplotlib.lines import Line2D

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    teachers = list(dict.fromkeys(p["teacher"] for p in panels))
    budgets = sorted({p["C"] for p in panels})
    rows, cols = max(len(teachers), 1), max(len(budgets), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols + 0.4, 2.9 * rows + 0.6), layout="constrained",
                             squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    diverged_runs: dict[float, int] = {}
    for panel in panels:
        ax = axes[teachers.index(panel["teacher"]), budgets.index(panel["C"])]
        ax.set_visible(True)
        curves = {p: c for p, c in panel["curves"].items() if c}
        bad = {p: v for p, v in (panel.get("diverged") or {}).items() if v}
        for by_lr in bad.values():
            for lr, (n, _tot) in by_lr.items():
                diverged_runs[float(lr)] = diverged_runs.get(float(lr), 0) + int(n)
        ps = sorted(set(curves) | set(bad))
        if len(ps) > max_curves:
            best_p = min((p for p in ps if p in curves and curves[p]),
                         key=lambda p: min(v["mean"] for v in curves[p].values()), default=ps[0])
            want = np.geomspace(ps[0], ps[-1], max_curves - 1)
            keep = {min(ps, key=lambda p: abs(math.log(p / w))) for w in want} | {best_p}
            ps = sorted(keep)
        root = math.sqrt(panel["C"])
        handles = []
        marked = [p for p in ps if p in bad]
        for color, p in zip(_colors(plt, len(ps)), ps):
            name = f"p={p:g} ({p / root:.2g}" + r"$\sqrt{C}$)"
            lrs = sorted(curves.get(p, {}))
            if lrs:
                mean = np.array([curves[p][lr]["mean"] for lr in lrs])
                lo = np.array([curves[p][lr]["lo"] for lr in lrs])
                hi = np.array([curves[p][lr]["hi"] for lr in lrs])
                lo = np.where(np.isfinite(lo), lo, mean)
                hi = np.where(np.isfinite(hi), hi, mean)
                yerr = [np.clip(mean - lo, 0, 0.95 * mean), np.clip(hi - mean, 0, None)]
                handles.append(ax.errorbar(lrs, mean, yerr=yerr, fmt="o-", ms=3, lw=1, capsize=2, color=color,
                                           label=name))
                i = int(np.argmin(mean))
                ax.plot([lrs[i]], [mean[i]], "o", ms=9, mfc="none", mec=color, mew=1.2)
            else:
                handles.append(Line2D([], [], color=color, marker="x", ls="", label=name + ": every rate diverged"))
            for lr in bad.get(p, {}):
                # near the top edge, one row per size: a diverged run has no error to place on the y axis
                ax.plot([lr], [0.96 - 0.055 * marked.index(p)], "x", ms=6, mew=1.4, color=color,
                        transform=ax.get_xaxis_transform(), clip_on=False)
        if any(p in bad for p in ps):
            handles.append(Line2D([], [], color="0.3", marker="x", ls="", mew=1.5, label="some seed diverged"))
        handles.append(Line2D([], [], color="0.3", marker="o", ms=8, mfc="none", ls="", label="best rate"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        rates = sorted({lr for c in curves.values() for lr in c} | {lr for v in bad.values() for lr in v})
        ax.set_xticks(rates, [f"{lr:g}" for lr in rates])  # every rate of the grid labelled, diverged ones too
        if rates:
            ax.set_xlim(rates[0] / 1.6, rates[-1] * 1.6)
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        # long teacher labels wrap instead of running into the next panel
        ax.set_title(textwrap.fill(str(panel["teacher"]), 36) + f"\nC = {panel['C']:.2g}", fontsize=7.5)
        ax.set_xlabel("learning rate lr0", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(handles=handles, fontsize=5.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    counts = "; ".join(f"lr0 = {lr:g}: {n} runs" for lr, n in sorted(diverged_runs.items()))
    fig.suptitle((title or "Error against learning rate (mean over seeds, 95% intervals; rings: best rate)")
                 + (f"\ndiverged, not drawn as means (crosses at the top edge): {counts}" if counts else ""),
                 fontsize=9)
    return _save(plt, fig, path)


def study_figures(groups, fits, theory, comparison, main_key, folder: Path) -> list[Path]:
    """The study's figures for the main teacher setting and the d/K trends; returns the paths written.

    A trend figure (``share_vs_d.png``, ``share_vs_K.png``) needs two values of its axis at one budget;
    with fewer it is not drawn.  The bound's curve is its better proof route's where the law has
    routes (the route the verdicts use).

    ``groups`` and ``fits`` map ``(d, K, kind)`` to :class:`~scaling_theory.numeric.analysis.data.FitData`
    and :class:`~scaling_theory.numeric.analysis.results.FitResult`; ``theory`` and ``comparison``
    come from :mod:`scaling_theory.numeric.analysis.compare`.
    """
    figs: list[Path] = []
    data = groups[main_key]
    res = fits[main_key]
    r2 = res.approaches[2]
    pts2 = {p["C"]: p for p in (r2.points if r2.ok else [])}
    curves = []
    for C in sorted(set(data.budget.tolist())):
        m = data.budget == C
        c = {"C": C, "N": data.N[m], "loss": data.loss[m]}
        if C in pts2:
            c.update(N_opt=pts2[C]["N_opt"], loss_opt=pts2[C]["loss_opt"], parabola=pts2[C]["parabola"])
        curves.append(c)
    th = theory.get(main_key, {})
    error = f"{data.source} (nats)"  # the error kind of the data (the time-averaged online KL for reproduce)
    figs.append(Path(isoflop_curves(
        curves, folder / "isoflop.png", title=f"IsoFLOP profiles ({label(main_key)}; stars: approach 2)",
        trivial=th.get("trivial_error"), ylabel=error)))
    ref = res.approaches[1]
    pts = r2.points if r2.ok else (ref.points if ref.ok else [])
    if pts:
        fitted = {f"approach {k}": (r.coefficients["k_N"], r.a, r.coefficients["k_D"], r.b)
                  for k, r in sorted(res.approaches.items())
                  if r.ok and all(math.isfinite(v) for v in r.coefficients.values())}
        derived = {}
        if "best_N_opt" in th:  # the better proof route's optimum: the one the verdicts use
            routes = ", ".join(sorted(set(th.get("route", []))))
            derived[f"bound's optimum ({th['law']}, {routes} route)"] = (th["C"], th["best_N_opt"], th["best_D_opt"])
        elif "N_opt" in th:
            derived[f"bound's optimum ({th['law']})"] = (th["C"], th["N_opt"], th["D_opt"])
        figs.append(Path(frontier([p["C"] for p in pts], [p["N_opt"] for p in pts],
                                        [p["D_opt"] for p in pts], folder / "frontier.png",
                                        fitted=fitted, derived=derived,
                                        points_label="per-budget optima (approach %d)" % (2 if r2.ok else 1),
                                        title=f"Compute-optimal frontier ({label(main_key)})",
                                        vacuous_below=_vacuous_below(th))))
    for name, trend in (("d", comparison["d_trend"]), ("K", comparison["K_trend"])):
        rows = [r for r in trend["rows"] if r["ratio"] is not None]
        if not rows:
            continue
        C = max(r["C"] for r in rows)  # largest shared budget: furthest from small-size effects
        sel = [r for r in rows if r["C"] == C]
        if len({r[name] for r in sel}) < 2:
            continue  # one value of the axis is no trend: not drawn (the report says so)
        theory_vals = [r["theory_ratio"] for r in sel]
        figs.append(Path(model_share(
            [r[name] for r in sel], [r["ratio"] for r in sel], folder / f"share_vs_{name}.png",
            xlabel=name, ci=[tuple(r["ratio_ci"]) if r["ratio_ci"] else (math.nan, math.nan) for r in sel],
            theory=theory_vals if all(v is not None for v in theory_vals) else None,
            title=f"p*/T* against {name} at C = {C:.3g} ({'K' if name == 'd' else 'd'} = "
                  f"{list(trend['fixed'].values())[0]})")))
    r3 = res.approaches[3]
    if r3.ok and all(math.isfinite(v) for v in r3.params.values()):
        figs.append(Path(law_contours(
            r3.params, folder / "law_contours.png", N_range=(data.N.min() / 3, data.N.max() * 3),
            D_range=(data.D.min() / 3, data.D.max() * 3), cost=res.cost, points=(data.N, data.D),
            title=f"Approach-3 fit, {label(main_key)}", xlabel="model size p (parameters)",
            ylabel="data size T (samples)", zlabel=f"fitted {error}")))
    return figs


def _vacuous_below(theory: Mapping) -> float | None:
    """The budget below which the derived bound is vacuous (``inf``: at every budget up to 1e60)."""
    if "trivial_error" not in theory:
        return None
    c = theory.get("informative_budget")
    return math.inf if c is None else float(c)


# ---------------------------------------------------------------------------------------------------------
# the Bayes side of the compute study (numeric/bayes/study.py; docs/bayes.md, "The compute study")

__all__ += ["bayes_width_curves", "bayes_n_star"]


def bayes_width_curves(panels: Sequence[Mapping], path, *, title: str | None = None) -> str:
    """The restricted Bayes learner's error against its width at fixed compute, one curve per budget.

    Parameters
    ----------
    panels : one mapping per teacher (one panel each), ``{"teacher": label, "curves": [{"C", "widths",
        "error", "error_se", "n_star", "bounds": {route: values or None}}]}`` as
        :func:`scaling_theory.numeric.bayes.study.figure_data` gives (``width_curves``).
    path : where to write the PNG.

    Bars are 2 standard errors over the paired teachers; a star marks each budget's ``n*``; each route's
    bound is drawn dashed (one line style per route) in its budget's colour, where it is valid.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "bw.png")
    >>> curve = {"C": 1e3, "widths": [1, 2, 4], "error": [0.03, 0.02, 0.025], "error_se": [3e-3, 2e-3, 2e-3],
    ...          "n_star": 2, "bounds": {"maurey": [0.5, 0.4, None]}}
    >>> bayes_width_curves([{"teacher": "finite", "curves": [curve]}], out) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    cols = max(len(panels), 1)
    fig, axes = plt.subplots(1, cols, figsize=(5.4 * cols + 0.4, 5.4), layout="constrained", squeeze=False)
    styles = ["--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]
    for ax, panel in zip(axes[0], panels):
        curves = sorted(panel["curves"], key=lambda c: c["C"])
        routes = sorted({r for c in curves for r in (c.get("bounds") or {})})
        for color, c in zip(_colors(plt, len(curves)), curves):
            w = np.asarray(c["widths"], float)
            e = np.asarray(c["error"], float)
            se = np.asarray(c["error_se"], float)
            ax.errorbar(w, e, yerr=[np.minimum(2 * se, 0.95 * e), 2 * se], fmt="o-", ms=4, lw=1.2, capsize=2,
                        color=color, label=f"C = {c['C']:.3g}")
            k = list(c["widths"]).index(c["n_star"])
            ax.plot([c["n_star"]], [e[k]], "*", ms=13, color=color, mec="black", mew=0.6)
            sgd = [(n, v) for n, v in zip(c["widths"], c.get("sgd_error") or []) if v is not None and math.isfinite(v)]
            if sgd:   # SGD students on the same teachers and data: hollow squares, dotted
                ax.plot(*zip(*sgd), "s:", ms=4, mfc="none", lw=1, color=color)
            for style, route in zip(styles * 4, routes):
                vals = (c.get("bounds") or {}).get(route)
                if not vals:
                    continue
                pts = [(n, v) for n, v in zip(c["widths"], vals) if v is not None and math.isfinite(v)]
                if pts:
                    ax.plot(*zip(*pts), linestyle=style, lw=1, color=color, alpha=0.8)
        if any(c.get("sgd_error") for c in curves):
            ax.plot([], [], "s:", ms=4, mfc="none", color="black", lw=1, label="SGD (same teachers)")
        ax.plot([], [], "*", ms=10, color="white", mec="black", label="n* (Bayes)")
        for style, route in zip(styles * 4, routes):   # one legend entry per route, in black
            ax.plot([], [], linestyle=style, color="black", lw=1, label=f"bound: {route}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_ticks(ax.yaxis, minor=_spans_little([e for c in curves for e in c["error"]]))
        ws = sorted({n for c in curves for n in c["widths"]})
        ax.set_xticks(ws, [f"{n:g}" for n in ws])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("learner width n  (T = C / (n (d + 1)))")
        ax.set_ylabel("time-averaged KL, (1/T) sum_t KL (nats)")
        ax.set_title(str(panel["teacher"]), fontsize=9)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    fig.suptitle(title or "Restricted Bayes learner (dots, bars: 2 se over paired teachers), SGD and each route's "
                          "bound at fixed compute C", fontsize=9)
    return _save(plt, fig, path)


def bayes_n_star(series: Sequence[Mapping], path, *, title: str | None = None) -> str:
    """The compute-optimal width ``n*(C)`` of the restricted Bayes learner against ``C``, with each route's.

    Parameters
    ----------
    series : one mapping per teacher, ``{"teacher", "C", "n_star", "lo", "hi", "n_star_smooth",
        "exponent": [a, lo, hi], "routes": {route: [n* per C or None]}}`` as
        :func:`scaling_theory.numeric.bayes.study.figure_data` gives (``n_star``).
    path : where to write the PNG.

    Markers are the argmin over the width grid with its 95% bootstrap interval over teachers (bars),
    the line the smoothed ``n*`` (parabola in ``ln n``); routes are drawn dashed.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "ns.png")
    >>> s = {"teacher": "dp", "C": [1e3, 1e4], "n_star": [1, 2], "lo": [1, 2], "hi": [2, 3],
    ...      "n_star_smooth": [1.2, 2.3], "exponent": [0.28, 0.1, 0.4], "routes": {"stick": [3, 5]}}
    >>> bayes_n_star([s], out) == out
    True
    """
    import matplotlib.ticker

    plt, fig, ax = _figure(6.4, 6.0)
    styles = ["--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]
    palette = plt.get_cmap("tab10")
    for k, s in enumerate(series):
        color = palette(k % 10)
        # teachers side by side at each budget (a few per cent apart), so their bars do not cover each other
        C = np.asarray(s["C"], float) * 1.04 ** (k - (len(series) - 1) / 2)
        n = np.asarray(s["n_star"], float)
        lo, hi = np.asarray(s["lo"], float), np.asarray(s["hi"], float)
        a = s.get("exponent") or [None, None, None]
        lab = f"{s['teacher']}: n* (Bayes)"
        if a[0] is not None and math.isfinite(a[0]):
            lab += f", a = {a[0]:.2f}" + (f" [{a[1]:.2f}, {a[2]:.2f}]" if a[1] is not None else "")
        ax.errorbar(C, n, yerr=[np.maximum(n - lo, 0), np.maximum(hi - n, 0)], fmt="o", ms=6, capsize=3,
                    elinewidth=1, color=color, label=lab)
        sm = [(c, v) for c, v in zip(C, s.get("n_star_smooth") or []) if v is not None and math.isfinite(v)]
        if sm:
            ax.plot(*zip(*sm), "-", color=color, lw=1.2, alpha=0.8, label=f"{s['teacher']}: n* smoothed (Bayes)")
        sgd = s.get("sgd")
        if sgd:   # SGD on the same teachers: hollow squares, shifted a little to the right
            ok = [i for i, v in enumerate(sgd["n_star"]) if v is not None]
            Cs, ns = C[ok] * 1.06, np.asarray([sgd["n_star"][i] for i in ok], float)
            los = np.asarray([(sgd["lo"][i] if sgd["lo"][i] is not None else ns[j]) for j, i in enumerate(ok)], float)
            his = np.asarray([(sgd["hi"][i] if sgd["hi"][i] is not None else ns[j]) for j, i in enumerate(ok)], float)
            b = sgd.get("exponent") or [None, None, None]
            lab = f"{s['teacher']}: n* (SGD)" + (f", a = {b[0]:.2f}" if b[0] is not None else "") + (
                f" [{b[1]:.2f}, {b[2]:.2f}]" if b[0] is not None and b[1] is not None else "")
            ax.errorbar(Cs, ns, yerr=[np.maximum(ns - los, 0), np.maximum(his - ns, 0)], fmt="s", ms=5, mfc="none",
                        capsize=2, elinewidth=0.8, color=color, label=lab)
        for style, (route, vals) in zip(styles * 4, sorted((s.get("routes") or {}).items())):
            pts = [(c, v) for c, v in zip(C, vals) if v is not None and math.isfinite(v)]
            if pts:
                ax.plot(*zip(*pts), linestyle=style, marker="x", ms=5, color=color, lw=1,
                        label=f"{s['teacher']}: route {route}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    every = [v for s in series for v in [*s["hi"], *s["n_star"], *[x for vals in (s.get("routes") or {}).values()
                                                                   for x in vals],
                                           *((s.get("sgd") or {}).get("hi") or [])] if v is not None]
    top = max(every or [1])
    ticks = [v for v in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 50, 64, 100, 128, 200, 500, 1000) if v <= max(2, 1.5 * top)]
    ax.set_yticks(ticks, [f"{v:g}" for v in ticks])
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("compute C = n (d + 1) T  (parameter-samples)")
    ax.set_ylabel("compute-optimal width n* (hidden units)")
    ax.set_title(title or "n*(C): restricted Bayes learner, SGD and each route (bars: 95% bootstrap over teachers)",
                 fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    handles, labels = ax.get_legend_handles_labels()   # below the axes, inside the figure (constrained layout)
    fig.legend(handles, labels, fontsize=7, loc="outside lower center", ncol=2, frameon=False)
    return _save(plt, fig, path)

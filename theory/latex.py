r"""LaTeX export of laws and their compute-optimal allocations (SymPy's printer, paper symbol names).

Symbols print as a paper writes them: ``alpha`` as ``\alpha``, ``N_c`` as ``N_{c}``, ``alpha_N`` as
``\alpha_{N}``; a law's ``latex_names`` override the default.

Examples
--------
>>> from scaling_theory.theory.registry import get_law
>>> law_latex(get_law("chinchilla"))
'L(N, D) = \\frac{A}{N^{\\alpha}} + \\frac{B}{D^{\\beta}} + E'
>>> from scaling_theory.theory.allocation import compute_optimal_allocation
>>> allocation_latex(compute_optimal_allocation(get_law("chinchilla")))["model_exponent"]
'\\frac{\\beta}{\\alpha + \\beta}'
"""

from __future__ import annotations

from typing import Mapping

import sympy as sp
from sympy.printing.latex import LatexPrinter

from scaling_theory.theory.allocation import Allocation
from scaling_theory.theory.laws import Law

__all__ = ["law_latex", "allocation_latex", "abbreviations_latex", "law_document", "to_latex", "latex_preamble",
           "latex_text"]

_KEYS = ("bound", "cost", "model_optimal", "data_optimal", "model_exponent", "data_exponent",
         "optimal_loss", "ratio", "implicit_equation", "asymptotic_model", "asymptotic_data")


def to_latex(expr, names: Mapping[str, str] | None = None) -> str:
    r"""``sympy.latex`` with ``{symbol name: LaTeX}`` overrides for the symbols of ``expr``.

    Examples
    --------
    >>> N, D, aN = sp.symbols("N D alpha_N", positive=True)
    >>> print(to_latex(N**-aN + 1/D, {"alpha_N": r"\alpha_N"}))
    \frac{1}{N^{\alpha_N}} + \frac{1}{D}"""
    names = names or {}
    symbol_names = {s: names[s.name] for s in getattr(expr, "free_symbols", ()) if
                    isinstance(s, sp.Symbol) and s.name in names}
    return _PaperPrinter({"symbol_names": symbol_names}).doprint(expr)


def _negative_power(f) -> bool:
    return f.is_Pow and not f.exp.is_number and f.exp.could_extract_minus_sign()


class _PaperPrinter(LatexPrinter):
    """SymPy's LaTeX printer, but ``A*N**(-alpha)`` prints as ``\\frac{A}{N^{\\alpha}}``."""

    def _print_Mul(self, expr):
        if not any(_negative_power(f) for f in expr.args):
            return super()._print_Mul(expr)
        coeff, rest = expr.as_coeff_Mul()
        sign = "- " if coeff.is_negative else ""
        coeff = abs(coeff)
        num = [sp.Integer(coeff.p)] if coeff.is_Rational else [coeff]
        den = [sp.Integer(coeff.q)] if coeff.is_Rational else []
        for f in sp.Mul.make_args(rest):
            if _negative_power(f):
                den.append(sp.Pow(f.base, -f.exp))
            elif f.is_Pow and f.exp.is_number and f.exp.is_negative:
                den.append(sp.Pow(f.base, -f.exp))
            else:
                num.append(f)
        n = sp.Mul(*num, evaluate=False) if len(num) > 1 else num[0]
        if len(num) > 1 and num[0] == 1:
            n = sp.Mul(*num[1:]) if len(num) > 2 else num[1]
        d = sp.Mul(*den)
        return sign + r"\frac{%s}{%s}" % (self._print(n), self._print(d))

    def _print_Pow(self, expr, *args, **kwargs):
        if _negative_power(expr):
            return r"\frac{1}{%s}" % self._print(sp.Pow(expr.base, -expr.exp))
        return super()._print_Pow(expr, *args, **kwargs)


def _lhs(law_or_alloc) -> str:
    return f"L({to_latex(law_or_alloc.model)}, {to_latex(law_or_alloc.data)})"


def law_latex(law: Law) -> str:
    r"""``L(model, data) = ...`` for a law, in LaTeX (Hoffmann et al. 2022, Eq. (2) for Chinchilla).

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> print(law_latex(get_law("chinchilla")))
    L(N, D) = \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}} + E"""
    return f"{_lhs(law)} = {to_latex(law.display_expr, law.latex_names)}"


def abbreviations_latex(law_or_alloc) -> list[str]:
    r"""``["A = ...", ...]``: the abbreviations of a law or an allocation, one LaTeX equation each.

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> print(abbreviations_latex(get_law("jeon-van-roy-finite"))[-1])
    \beta = \frac{K d}{2} + \frac{1}{2}
    >>> abbreviations_latex(get_law("chinchilla"))
    []"""
    names = law_or_alloc.latex_names
    return [f"{to_latex(k, names)} = {to_latex(v, names)}" for k, v in law_or_alloc.abbreviations.items()]


def allocation_latex(allocation: Allocation) -> dict[str, str | None]:
    r"""LaTeX of each result of an allocation, keyed like :meth:`Allocation.to_json` (None if absent).

    Examples
    --------
    >>> from scaling_theory.theory.allocation import compute_optimal_allocation
    >>> from scaling_theory.theory.registry import get_law
    >>> tex = allocation_latex(compute_optimal_allocation(get_law("chinchilla")))
    >>> print(tex["model_exponent"], tex["data_exponent"])
    \frac{\beta}{\alpha + \beta} \frac{\alpha}{\alpha + \beta}"""
    out: dict[str, str | None] = {}
    for key in _KEYS:
        value = getattr(allocation, key)
        out[key] = None if value is None else to_latex(value, allocation.latex_names)
    return out


# plain text -> LaTeX text mode (the one escape table: law documents, derivations, reports)
_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$",
                 ">": r"$>$", "|": r"$|$"}


def latex_text(s: str) -> str:
    r"""Plain text escaped for LaTeX's text mode.

    Examples
    --------
    >>> print(latex_text("a_b & 50% <= x"))
    a\_b \& 50\% $<$= x
    """
    return "".join(_TEXT_ESCAPES.get(ch, ch) for ch in str(s))


_text = latex_text


def latex_preamble(title: str | None = None, *, author: str | None = None) -> str:
    r"""The one LaTeX preamble of every document the toolkit writes, up to ``\begin{document}``.

    Parameters
    ----------
    title : str, optional
        Plain text (escaped here); with it the preamble ends in ``\maketitle``.
    author : str, optional
        Plain text for ``\author`` (only with a title).

    Examples
    --------
    >>> pre = latex_preamble("A & B")
    >>> pre.splitlines()[0], pre.rstrip().splitlines()[-1]
    ('\\documentclass[11pt]{article}', '\\maketitle')
    >>> "\\title{A \\& B}" in pre, latex_preamble().rstrip().endswith("\\begin{document}")
    (True, True)
    """
    lines = [r"\documentclass[11pt]{article}", r"\usepackage{amsmath,amssymb}",
             r"\usepackage[margin=2.2cm]{geometry}", r"\usepackage{graphicx}", r"\usepackage{booktabs}",
             r"\allowdisplaybreaks"]
    if title is not None:
        lines += [rf"\title{{{latex_text(title)}}}", rf"\author{{{latex_text(author or '')}}}", r"\date{}"]
    lines.append(r"\begin{document}")
    if title is not None:
        lines.append(r"\maketitle")
    return "\n".join(lines) + "\n"


def law_document(law: Law, allocation: Allocation, fmt: str = "latex") -> str:
    r"""A complete LaTeX (or Markdown) document: the law, the derivation steps, the optimum, exponents.

    Examples
    --------
    >>> from scaling_theory.theory.allocation import compute_optimal_allocation
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("chinchilla")
    >>> doc = law_document(law, compute_optimal_allocation(law))
    >>> print(doc.splitlines()[0]); print(doc.rstrip().splitlines()[-1])
    \documentclass[11pt]{article}
    \end{document}
    >>> print(law_document(law, compute_optimal_allocation(law), fmt="markdown").splitlines()[0])
    # Compute-optimal allocation: chinchilla"""
    if fmt == "markdown":
        return _markdown(law, allocation)
    if fmt != "latex":
        raise ValueError(f"unknown format {fmt!r}")
    names = allocation.latex_names
    tex = allocation_latex(allocation)
    C = to_latex(allocation.compute)
    N, D = to_latex(allocation.model), to_latex(allocation.data)
    lines = [
        latex_preamble().rstrip("\n"),
        rf"\section*{{Compute-optimal allocation: {_text(law.name)}}}",
        _text(law.description) + (r"\\" if law.description else ""),
        (r"\emph{Source:} " + _text(law.citation)) if law.citation else "",
        r"\begin{equation*}", law_latex(law), r"\end{equation*}",
        _where_latex(law),
        rf"minimised subject to the compute budget ${tex['cost']} = {C}$.",
        r"\subsection*{Derivation}",
        r"\begin{enumerate}",
    ]
    for description, expr in allocation.steps:
        lines.append(rf"\item {_text(description)}: \[ {to_latex(expr, names)} \]")
    lines += [r"\end{enumerate}", r"\subsection*{Result}", r"\begin{align*}"]
    kind = "" if allocation.closed_form else r"\quad\text{(leading order as } " + C + r" \to \infty)"
    lines.append(rf"{N}^* &= {tex['model_optimal']}{kind} \\")
    lines.append(rf"{D}^* &= {tex['data_optimal']}{kind} \\")
    lines.append(rf"{N}^*/{D}^* &= {tex['ratio']}")
    if tex["model_exponent"] is not None:
        lines[-1] += r" \\"
        lines.append(rf"a &= \lim_{{{C}\to\infty}} \frac{{d\ln {N}^*}}{{d\ln {C}}} = {tex['model_exponent']} \\")
        lines.append(rf"b &= \lim_{{{C}\to\infty}} \frac{{d\ln {D}^*}}{{d\ln {C}}} = {tex['data_exponent']}")
    lines.append(r"\end{align*}")
    if tex["implicit_equation"] is not None:
        lines += [r"The optimum solves the implicit equation", r"\[", tex["implicit_equation"], r"\]"]
    lines.append(r"\end{document}")
    return "\n".join(line for line in lines if line != "") + "\n"


def _where_latex(law: Law) -> str:
    """``where A = ..., B = ...`` under the law (empty without abbreviations)."""
    if not law.abbreviations:
        return ""
    return "\n".join(["where", r"\begin{align*}", " \\\\\n".join(
        eq.replace(" = ", " &= ", 1) for eq in abbreviations_latex(law)), r"\end{align*}"])


def _markdown(law: Law, allocation: Allocation) -> str:
    """Markdown with ``$$`` display math (renders on GitHub and in Jupyter)."""
    names = allocation.latex_names
    tex = allocation_latex(allocation)
    C = to_latex(allocation.compute)
    N, D = to_latex(allocation.model), to_latex(allocation.data)
    out = [f"# Compute-optimal allocation: {law.name}", ""]
    if law.description:
        out += [law.description, ""]
    if law.citation:
        out += [f"*Source:* {law.citation}", ""]
    out += ["$$", law_latex(law), "$$", ""]
    if law.abbreviations:
        out += ["where", "", "$$", r",\quad ".join(abbreviations_latex(law)), "$$", ""]
    out += [f"minimised subject to ${tex['cost']} = {C}$.", "",
            "## Derivation", ""]
    for i, (description, expr) in enumerate(allocation.steps, 1):
        out += [f"{i}. {description}:", "", "   $$", "   " + to_latex(expr, names), "   $$", ""]
    kind = "" if allocation.closed_form else f" (leading order as ${C} \\to \\infty$)"
    out += ["## Result", "", f"Optimum{kind}:", "", "$$",
            f"{N}^* = {tex['model_optimal']}, \\qquad {D}^* = {tex['data_optimal']}", "$$", ""]
    if tex["model_exponent"] is not None:
        out += ["$$", f"a = {tex['model_exponent']}, \\qquad b = {tex['data_exponent']}", "$$", ""]
    return "\n".join(out)

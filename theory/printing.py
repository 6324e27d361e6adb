r"""SymPy's LaTeX printer with the paper's conventions (``A*N**(-alpha)`` as ``\frac{A}{N^{\alpha}}``).

Shared by :mod:`scaling_theory.theory.latex` and the Jupyter displays of laws and allocations.
"""

from __future__ import annotations

from typing import Mapping

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["to_latex"]


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

    def _print_log1p(self, expr, exp=None):
        # sympy.codegen's log1p (an exactly evaluated ln(1 + x)) reads as the logarithm it is
        tex = r"\log{\left(1 + %s \right)}" % self._print(expr.args[0])
        return tex if exp is None else r"\log^{%s}{\left(1 + %s \right)}" % (exp, self._print(expr.args[0]))

    def _print_Pow(self, expr, *args, **kwargs):
        if _negative_power(expr):
            return r"\frac{1}{%s}" % self._print(sp.Pow(expr.base, -expr.exp))
        return super()._print_Pow(expr, *args, **kwargs)

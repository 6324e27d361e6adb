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


import sympy as sp

from scaling_theory.theory.allocation import Allocation
from scaling_theory.theory.printing import to_latex
from scaling_theory.theory.laws import Law

__all__ = ["law_latex", "allocation_latex", "abbreviations_latex", "law_document", "to_latex", "latex_preamble",
           "latex_text", "display_equation", "latex_width", "routes_latex", "routes_document"]

_KEYS = ("bound", "cost", "model_optimal", "data_optimal", "model_exponent", "data_exponent",
         "optimal_loss", "ratio", "implicit_equation", "asymptotic_model", "asymptotic_data")


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
             r"\allowdisplaybreaks", r"\setlength{\emergencystretch}{3em}"]
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
        _law_display(law),
        _where_latex(law),
        rf"minimised subject to the compute budget ${tex['cost']} = {C}$.",
        r"\subsection*{Derivation}",
        r"\begin{enumerate}",
    ]
    for description, expr in allocation.steps:
        lines.append(rf"\item {_text(description)}:" + "\n" + _display(expr, names))
    lines += [r"\end{enumerate}", r"\subsection*{Result}"]
    if not allocation.closed_form:
        lines.append(rf"To leading order as ${C} \to \infty$:")
    Ns, Ds = sp.Symbol(f"{N}^*"), sp.Symbol(f"{D}^*")
    for lhs, key, value in ((Ns, "model_optimal", allocation.model_optimal),
                            (Ds, "data_optimal", allocation.data_optimal), (Ns / Ds, "ratio", allocation.ratio)):
        lines.append(display_equation(lhs, "=", value, printer=lambda e: to_latex(e, names))
                     if latex_width(tex[key]) > LINE_WIDTH else
                     "\\begin{equation*}\n" + f"{to_latex(lhs)} = {tex[key]}" + "\n\\end{equation*}")
    if tex["model_exponent"] is not None:
        lines.append(r"\begin{align*}")
        lines.append(rf"a &= \lim_{{{C}\to\infty}} \frac{{d\ln {N}^*}}{{d\ln {C}}} = {tex['model_exponent']} \\")
        lines.append(rf"b &= \lim_{{{C}\to\infty}} \frac{{d\ln {D}^*}}{{d\ln {C}}} = {tex['data_exponent']}")
        lines.append(r"\end{align*}")
    if tex["implicit_equation"] is not None:
        lines += [r"The optimum solves the implicit equation", _display(allocation.implicit_equation, names)]
    lines.append(r"\end{document}")
    return "\n".join(line for line in lines if line != "") + "\n"


def _law_display(law: Law) -> str:
    """The law as a displayed equation, broken over lines when too wide for the page."""
    text = law_latex(law)
    if latex_width(text) <= LINE_WIDTH:
        return "\\begin{equation*}\n" + text + "\n\\end{equation*}"
    names = law.latex_names
    return display_equation(sp.Symbol(_lhs(law)), "=", law.display_expr, printer=lambda e: to_latex(e, names))


def _display(expr, names) -> str:
    """A displayed expression or relation, broken over lines when too wide for the page."""
    def printer(e):
        return to_latex(e, names)
    if isinstance(expr, sp.core.relational.Relational):
        rel = {"==": "=", "<=": r"\le", ">=": r"\ge"}.get(expr.rel_op, expr.rel_op)
        return display_equation(expr.lhs, rel, expr.rhs, printer=printer)
    if isinstance(expr, sp.Expr):
        return display_equation(None, "", expr, printer=printer)
    return "\\[ " + to_latex(expr, names) + " \\]"


def _where_latex(law: Law) -> str:
    """``where A = ..., B = ...`` under the law (empty without abbreviations)."""
    if not law.abbreviations:
        return ""
    names = law.latex_names
    eqs = abbreviations_latex(law)
    if all(latex_width(eq) <= LINE_WIDTH for eq in eqs):
        return "\n".join(["where", r"\begin{align*}", " \\\\\n".join(
            eq.replace(" = ", " &= ", 1) for eq in eqs), r"\end{align*}"])
    return "\n".join(["where"] + [display_equation(k, "=", v, printer=lambda e: to_latex(e, names))
                                   for k, v in law.abbreviations.items()])


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


# -- breaking long displayed formulas ---------------------------------------------------------------
# Widths are estimated in "characters" of 11pt math (about 6.5 pt each); the text width of the
# preamble's page (A4, 2.2 cm margins, 472 pt) holds about 70 of them.
LINE_WIDTH = 52


def _group(s: str, i: int) -> tuple[str, int]:
    """The braced group starting at ``s[i] == '{'``: (its inside, index after it)."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return s[i + 1:j], j + 1
    return s[i + 1:], len(s)


def latex_width(tex: str) -> float:
    r"""Estimated printed width of LaTeX math ``tex``, in characters (a fraction is as wide as its widest part).

    Examples
    --------
    >>> latex_width(r"\frac{A}{N^{\alpha}} + E") < latex_width(r"A N^{\alpha} + B D^{\beta} + E")
    True
    """
    w, i = 0.0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            j = i + 1
            while j < len(tex) and tex[j].isalpha():
                j += 1
            cmd = tex[i + 1:j] or tex[j:j + 1]
            i = j if j > i + 1 else j + 1
            if cmd in ("frac", "dfrac", "tfrac"):
                a, i = _group(tex, i)
                b, i = _group(tex, i)
                w += max(latex_width(a), latex_width(b)) + 0.6
            elif cmd in ("operatorname", "text", "mathrm", "texttt"):
                a, i = _group(tex, i)
                w += len(a)
            elif cmd in ("left", "right", "quad", "qquad", ",", ";", "!", "limits"):
                w += {"quad": 2, "qquad": 4}.get(cmd, 0.3)
            elif cmd == "sqrt":
                a, i = _group(tex, i) if i < len(tex) and tex[i] == "{" else ("", i)
                w += latex_width(a) + 1.2
            elif cmd in ("log", "ln", "exp", "lim", "sin", "cos", "max", "min"):
                w += 2.4
            else:
                w += 1.2 if len(cmd) > 1 else 0.8
        elif ch in "^_":
            if i + 1 < len(tex) and tex[i + 1] == "{":
                a, i = _group(tex, i + 1)
            else:
                a, i = tex[i + 1:i + 2], i + 2
            w += 0.7 * latex_width(a)
        elif ch in "{} ":
            i += 1
        elif ch in "+-=<>":
            w += 2.0
            i += 1
        else:
            w += 1.0
            i += 1
    return w


def _signed_terms(expr, printer) -> list[str]:
    """The terms of a sum as ``["first", "+ second", "- third", ...]`` (one item for a non-sum)."""
    if not isinstance(expr, sp.Add):
        return [printer(expr)]
    out = []
    for k, term in enumerate(expr.as_ordered_terms()):
        if term.could_extract_minus_sign():
            out.append("- " + printer(-term))
        else:
            out.append(printer(term) if k == 0 else "+ " + printer(term))
    return out


def _split_term(tex_sign: str, term, printer, width: float) -> list[str]:
    """A single too-wide term ``c*(a + b + ...)`` or ``(a + b + ...)/c`` as lines of a sum in brackets."""
    sign = "- " if tex_sign.startswith("- ") else ("+ " if tex_sign.startswith("+ ") else "")
    if not isinstance(term, sp.Expr):
        return [tex_sign]
    if sign == "- ":
        term = -term
    num, den = sp.fraction(sp.together(term)) if not isinstance(term, sp.Add) else (term, sp.Integer(1))
    factors = sp.Mul.make_args(num)
    sums = [f for f in factors if isinstance(f, sp.Add) or (isinstance(f, sp.exp) and isinstance(f.args[0], sp.Add))]
    if not sums:
        return [tex_sign]
    inner = max(sums, key=lambda f: latex_width(printer(f)))
    rest = sp.Mul(*[f for f in factors if f is not inner]) / den
    head = "" if rest == 1 else printer(rest)
    if head and isinstance(rest, sp.Add):
        head = r"\left(" + head + r"\right)"
    opener = r"\Bigl("
    if isinstance(inner, sp.exp):
        inner, opener = inner.args[0], r"\exp\Bigl("
    # the first line carries the factor in front and the bracket: leave room for them
    lines = _side_lines(inner, printer, max(width - 6 - latex_width(head), width / 2))
    if head and latex_width(head) > width - 4 and isinstance(rest, sp.Expr) and not isinstance(rest, sp.Add):
        # the factor in front is itself too wide (e.g. exp of a sum in a numerator): break it too,
        # and start the bracketed factor on a line of its own
        head_lines = _split_term("", rest, printer, width)
        if len(head_lines) > 1:
            head_lines[0] = sign + head_lines[0]
            lines[0] = r"\cdot " + opener + lines[0]
            lines[-1] += r"\Bigr)"
            return head_lines + lines
    lines[0] = f"{sign}{head}" + opener + lines[0]
    lines[-1] += r"\Bigr)"
    return lines


def _pack(terms: list[str], width: float, printer=None, exprs=None) -> list[str]:
    """Greedily pack signed terms into lines no wider than ``width`` (a wider single term stays whole)."""
    lines: list[str] = []
    cur = ""
    for t in terms:
        if cur and latex_width(cur + " " + t) > width:
            lines.append(cur)
            cur = t
        else:
            cur = (cur + " " + t).strip()
    lines.append(cur)
    return lines


def _side_lines(expr, printer, width: float) -> list[str]:
    terms = _signed_terms(expr, printer)
    parts = sp.Add.make_args(expr) if isinstance(expr, sp.Add) else (expr,)
    if isinstance(expr, sp.Add):
        parts = expr.as_ordered_terms()
    out: list[str] = []
    for tex, term in zip(terms, parts):
        if latex_width(tex) > width:
            out.append(("\x00", tex, term))
        else:
            out.append(tex)
    lines: list[str] = []
    run: list[str] = []
    for item in out:
        if isinstance(item, tuple):
            lines += _pack(run, width) if run else []
            run = []
            lines += _split_term(item[1], item[2], printer, width)
        else:
            run.append(item)
    if run:
        lines += _pack(run, width)
    return lines


def display_equation(lhs, relation: str, rhs, printer=None, width: float = LINE_WIDTH) -> str:
    r"""A displayed equation ``lhs relation rhs`` that fits the page: one line if it fits, else broken.

    A formula too wide for :data:`LINE_WIDTH` is set in ``align*``: the left side, then the relation
    and the right side, each sum broken between its terms and a too-wide term ``c (a + b + ...)``
    broken inside its brackets.

    Parameters
    ----------
    lhs, rhs : sympy.Expr
        The two sides (``lhs=None``: display ``rhs`` alone).
    relation : str
        LaTeX of the relation (``=``, ``\le``, ...).
    printer : callable, optional
        Expression to LaTeX (default :func:`to_latex`).
    width : float
        Line width in estimated characters (:func:`latex_width`).

    Examples
    --------
    >>> x, y = sp.symbols("x y", positive=True)
    >>> print(display_equation(x, "=", y + 1))
    \begin{equation*}
    x = y + 1
    \end{equation*}
    >>> long = sum(sp.Symbol(f"a_{i}") * x**i for i in range(1, 30))
    >>> out = display_equation(y, "=", long)
    >>> out.startswith(r"\begin{align*}"), all(latex_width(l) < 60 for l in out.splitlines())
    (True, True)
    """
    printer = printer or to_latex
    one = printer(rhs) if lhs is None else f"{printer(lhs)} {relation} {printer(rhs)}"
    if latex_width(one) <= width:
        return "\\begin{equation*}\n" + one + "\n\\end{equation*}"
    left = [] if lhs is None else _side_lines(lhs, printer, width)
    right = _side_lines(rhs, printer, width - 3)
    rel = f"{relation} " if lhs is not None else ""
    if len(left) == 1 and latex_width(left[0]) < width / 4:  # a short left side shares the first line
        right = _side_lines(rhs, printer, width - 3 - latex_width(left[0]))
        right[0] = f"{left[0]} {rel}{right[0]}"
        left, rel = [], ""
    rows = [f"&{ln}" if k == 0 else rf"&\quad {ln}" for k, ln in enumerate(left)]
    rows += [f"&{rel}{ln}" if k == 0 else rf"&\quad {ln}" for k, ln in enumerate(right)]
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


# -- prose with ASCII math -> LaTeX text with inline math -------------------------------------------
import re as _re

_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "eps", "zeta", "eta", "theta", "lambda", "mu", "nu",
          "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega", "Gamma", "Delta", "Lambda", "Phi")
_FUNCS = ("ln", "log", "exp", "sqrt", "sum", "int", "inf", "sup", "lim", "max", "min", "sin", "cos", "tan")
_MATHCHARS = set("_^|=<>*~/[}")
_TEXT_ONLY = _re.compile(r"(\.md\b|docs/|arXiv|https?:|scaling-theory|--)")
_NUMBER = _re.compile(r"^[(]?[-+]?\d+(\.\d+)?(e[-+]?\d+)?[)]?[.,;:]?$")
_WORD = _re.compile(r"^[(]*[-+]?(?P<w>[A-Za-z]+)'*[)]*[.,;:]?$")  # a sign in front, primes after: -lambda, c'
_CALL = _re.compile(r"^[(]*[A-Za-z]+'*\(")
_SETBRACE = _re.compile(r"(?<![_^])\{")


def _is_math(tok: str) -> bool:
    if _TEXT_ONLY.search(tok):
        return False
    if _SETBRACE.search(tok):
        return False
    if _CALL.match(tok):
        return True
    if tok in ("+", "-", "=", "<=", ">=", "!=", "->", "~", "<", ">", "*", "/"):
        return True
    if any(c in _MATHCHARS for c in tok):
        return True
    if _NUMBER.match(tok):
        return True
    m = _WORD.match(tok)
    if m:
        w = m.group("w")
        return (len(w) == 1 and w not in ("a", "I")) or w in _GREEK or w in _FUNCS or \
            bool(_re.match(r"^[A-Za-z]\d+$", w))
    return False


def _sqrt_groups(s: str) -> str:
    """``sqrt(x)`` -> ``\\sqrt{x}`` (matching parentheses)."""
    out, i = "", 0
    while True:
        j = s.find("sqrt(", i)
        if j < 0 or (j > 0 and s[j - 1].isalpha()):
            return out + s[i:] if j < 0 else _sqrt_groups_tail(out + s[i:j + 5], s[j + 5:])
        depth, k = 1, j + 5
        while k < len(s) and depth:
            depth += {"(": 1, ")": -1}.get(s[k], 0)
            k += 1
        if depth:
            return out + s[i:]
        out += s[i:j] + r"\sqrt{" + _sqrt_groups(s[j + 5:k - 1]) + "}"
        i = k


def _sqrt_groups_tail(head: str, tail: str) -> str:
    return head + _sqrt_groups(tail)


def _math_run(s: str) -> str:
    """One run of ASCII math as LaTeX math (without the ``$``)."""
    s = s.replace("\\", r"\backslash ").replace("#", r"\#").replace("%", r"\%").replace("&", r"\&")
    s = s.replace("$", r"\$").replace("..", r"\ldots ")
    s = _re.sub(r"(?<![_^\\])\{", r"\\{", s)
    s = s.replace("||", r"\|").replace("<=", r"\le ").replace(">=", r"\ge ").replace("!=", r"\ne ")
    s = s.replace("->", r"\to ")
    s = _re.sub(r"\^\(([^()]*)\)", r"^{(\1)}", s)
    s = _re.sub(r"\boo\b", r"\\infty ", s)
    s = _re.sub(r"\b([A-Za-z])~", r"\\tilde{\1}", s)
    s = s.replace("~", r"\sim ")
    s = _re.sub(r"\*\^(\([^()]*\)|-?[A-Za-z]+|-?\d+)", lambda m: "^{*" + m.group(1).strip("()") + "}", s)
    s = _re.sub(r"(?<=\w)\*(?=[\w(])", r"\\cdot ", s)
    s = _re.sub(r"(?<!\{)\*", r"^*", s)
    s = _sqrt_groups(s)
    s = _re.sub(r"(?<![A-Za-z\\])(" + "|".join(f for f in _FUNCS if f != "sqrt") + r")(?![A-Za-z])", r"\\\1 ", s)
    s = _re.sub(r"(?<![A-Za-z\\])eps(?![A-Za-z])", r"\\epsilon ", s)
    s = _re.sub(r"(?<![A-Za-z\\])(" + "|".join(g for g in _GREEK if g != "eps") + r")(?![A-Za-z])", r"\\\1 ", s)
    s = _re.sub(r"\b([A-Za-z])(\d+)\b", r"\1_{\2}", s)
    return s


def _balanced(s: str) -> bool:
    depth = 0
    for i, c in enumerate(s):
        if c == "{" and (i == 0 or s[i - 1] != "\\"):
            depth += 1
        elif c == "}" and (i == 0 or s[i - 1] != "\\"):
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def latex_prose(s: str, fmt: str = "latex") -> str:
    r"""Prose with ASCII math (``I(F;D_T) = sum_t ...``) as text with inline math.

    Runs of math-looking words (with ``_ ^ | = < > * ~ /``, single letters, numbers, Greek and
    function names) become ``$...$`` (``<=`` as ``\le``, ``sqrt(x)`` as ``\sqrt{x}``, ``F~`` as
    ``\tilde{F}``); the rest is escaped text (:func:`latex_text`). ``fmt="markdown"`` keeps the text
    as it is and only wraps the math.

    Examples
    --------
    >>> print(latex_prose("Chain rule: I(F;D_T) = sum_t I_t, for a unit u."))
    Chain rule: $I(F;D_T) = \sum _t I_t$, for a unit $u$.
    >>> print(latex_prose("E[V^2] <= K d (ours)."))
    $E[V^2] \le K d$ (ours).
    >>> print(latex_prose("DP bound (all T), and (x + y)."))
    DP bound (all $T$), and $(x + y)$.
    >>> print(latex_prose("y* = -lambda ln c' and C p L''(p) = 2."))
    $y^* = -\lambda  \ln  c'$ and $C p L''(p) = 2$.
    """
    toks = _re.split(r"(\s+)", str(s))
    out: list[str] = []
    run: list[str] = []

    def flush():
        if not run:
            return
        while run and run[-1].isspace():
            run.pop()
        text = "".join(run)
        tail = ""
        while text and text[-1] in ".,;:" and not text.endswith(".."):
            text, tail = text[:-1], text[-1] + tail
        # a bracket that closes one opened in the text stays text: "(all T)" -> "(all $T$)"
        while text.endswith(")") and text.count(")") > text.count("("):
            text, tail = text[:-1], ")" + tail
            while text and text[-1] in ".,;:" and not text.endswith(".."):
                text, tail = text[:-1], text[-1] + tail
        head = ""
        while text.startswith("(") and text.count("(") > text.count(")"):
            text, head = text[1:], head + "("
        if not text:
            out.append(head + tail if fmt == "markdown" else latex_text(head + tail))
            run.clear()
            return
        m = _math_run(text)
        if fmt == "markdown":
            out.append(f"{head}${text}${tail}" if "$" not in text else head + text + tail)
        elif _balanced(m):
            out.append(f"{latex_text(head)}${m}${latex_text(tail)}")
        else:
            out.append(latex_text(head + text + tail))
        run.clear()

    for tok in toks:
        if tok.isspace() or tok == "":
            (run if run else out).append(tok)
            continue
        if _is_math(tok) and (run or not _NUMBER.match(tok)):
            run.append(tok)
            if tok[-1] in ":;":
                flush()
        else:
            trailing = []
            while run and run[-1].isspace():
                trailing.append(run.pop())
            flush()
            out.extend(trailing)
            out.append(tok if fmt == "markdown" else latex_text(tok))
    flush()
    return "".join(out)


def _route_symbol(name: str) -> str:
    return rf"L_{{\mathrm{{{name}}}}}"


def routes_latex(law: Law, routes) -> list[str]:
    r"""LaTeX lines of a law with proof routes: the law as the minimum over its routes, then each route's
    bound, validity window, leading orders and model exponent (one equation per line).

    Parameters
    ----------
    law : Law
        A law with routes.
    routes : list of :class:`scaling_theory.theory.routes.RouteAllocation`
        Its routes, derived (:func:`scaling_theory.theory.routes.route_allocations`).

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> from scaling_theory.theory.routes import route_allocations
    >>> law = get_law("jeon-van-roy")
    >>> lines = routes_latex(law, route_allocations(law))
    >>> print(lines[0])
    L(p, T) = \min\{L_{\mathrm{maurey}}(p, T),\ L_{\mathrm{truncation}}(p, T)\}
    >>> print([line for line in lines if line.startswith("a_")][-1])
    a_{\mathrm{truncation}} = \lim_{C\to\infty} \frac{d\ln p^*}{d\ln C} = 0
    """
    names = law.latex_names
    N, D = to_latex(law.model), to_latex(law.data)
    args = f"({N}, {D})"
    lines = [rf"L{args} = \min\{{" + r",\ ".join(_route_symbol(r.name) + args for r in routes) + r"\}"]
    for r in routes:
        expr = r.law.display_expr if r.allocation is not None else r.law.expr
        lines.append(f"{_route_symbol(r.name)}{args} = {to_latex(expr, names)}")
        lines.append(rf"\text{{valid for }} {N} \ge {to_latex(r.min_model, names)},\ {D} \ge {to_latex(r.min_data, names)}")
        for key, sym in (("model", N), ("data", D), ("loss", "L")):
            if r.leading.get(key) is not None:
                lines.append(rf"{sym}^*_{{\mathrm{{{r.name}}}}} \sim {to_latex(r.leading[key], names)}")
        if r.model_exponent is not None:
            lines.append(rf"a_{{\mathrm{{{r.name}}}}} = \lim_{{C\to\infty}} \frac{{d\ln {N}^*}}{{d\ln C}} = "
                         f"{to_latex(r.model_exponent, names)}")
    abbreviations = {k: v for r in routes if r.allocation is not None for k, v in r.allocation.abbreviations.items()}
    if abbreviations:
        lines += ["where", *(f"{to_latex(k, names)} = {to_latex(v, names)}" for k, v in abbreviations.items())]
    return lines


def routes_document(law: Law, routes, fmt: str = "latex") -> str:
    r"""A complete document for a law with proof routes: the law's minimum, then one section per route (its
    bound, validity window, method, leading orders and exponent, and for a symbolic route its derivation).

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> from scaling_theory.theory.routes import route_allocations
    >>> law = get_law("jeon-van-roy-finite")
    >>> doc = routes_document(law, route_allocations(law))
    >>> doc.splitlines()[0], doc.rstrip().splitlines()[-1], "\\subsection*{Route direct}" in doc
    ('\\documentclass[11pt]{article}', '\\end{document}', True)
    >>> routes_document(law, route_allocations(law), fmt="markdown").splitlines()[0]
    '# Proof routes: jeon-van-roy-finite'
    """
    names = law.latex_names
    N, D = to_latex(law.model), to_latex(law.data)
    args = f"({N}, {D})"
    if fmt == "markdown":
        out = [f"# Proof routes: {law.name}", "", law.description, "",
               "$$" + routes_latex(law, routes)[0] + "$$", ""]
        for r in routes:
            expr = r.law.display_expr if r.allocation is not None else r.law.expr
            out += [f"## Route {r.name}", "", f"{r.description} (derivation `{r.derivation}`).", "",
                    f"$${_route_symbol(r.name)}{args} = {to_latex(expr, names)}$$", "",
                    f"Valid for ${N} \\ge {to_latex(r.min_model, names)}$, ${D} \\ge {to_latex(r.min_data, names)}$. "
                    f"Optimum: {r.method}.", ""]
            for key, sym in (("model", N), ("data", D), ("loss", "L")):
                if r.leading.get(key) is not None:
                    out += [f"$${sym}^* \\sim {to_latex(r.leading[key], names)}$$", ""]
            if r.model_exponent is not None:
                out += [f"Model exponent $a = {to_latex(r.model_exponent, names)}$ ({N}* grows like {r.growth}).", ""]
        return "\n".join(out).rstrip("\n") + "\n"
    if fmt != "latex":
        raise ValueError(f"unknown format {fmt!r}")
    lines = [latex_preamble().rstrip("\n"), rf"\section*{{Proof routes: {_text(law.name)}}}",
             _text(law.description) + r"\\",
             (r"\emph{Source:} " + _text(law.citation)) if law.citation else "",
             "The law is the minimum over its routes; at each budget its value and its compute-optimal allocation "
             "are the best valid route's:",
             "\\begin{equation*}\n" + routes_latex(law, routes)[0] + "\n\\end{equation*}"]
    for r in routes:
        expr = r.law.display_expr if r.allocation is not None else r.law.expr
        lines += [rf"\subsection*{{Route {_text(r.name)}}}",
                  _text(f"{r.description} (derivation {r.derivation}).") + " "
                  + rf"Valid for ${N} \ge {to_latex(r.min_model, names)}$ and ${D} \ge {to_latex(r.min_data, names)}$.",
                  display_equation(sp.Symbol(_route_symbol(r.name) + args), "=", expr,
                                   printer=lambda e: to_latex(e, names)),
                  _text(f"Optimum: {r.method}.")]
        lead = [(sym, r.leading[key]) for key, sym in (("model", N), ("data", D), ("loss", "L"))
                if r.leading.get(key) is not None]
        if lead:
            lines.append(rf"To leading order as $C \to \infty$:")
            for sym, value in lead:
                lines.append(display_equation(sp.Symbol(f"{sym}^*"), r"\sim", value,
                                              printer=lambda e: to_latex(e, names)))
        if r.model_exponent is not None:
            lines.append("\\begin{equation*}\n" + rf"a = \lim_{{C\to\infty}} \frac{{d\ln {N}^*}}{{d\ln C}} = "
                         f"{to_latex(r.model_exponent, names)}" + "\n\\end{equation*}")
        if r.allocation is not None and r.allocation.abbreviations:
            lines.append(_where_latex(r.law))
    lines.append(r"\end{document}")
    return "\n".join(line for line in lines if line != "") + "\n"

"""The project's own whitelisting parser for user-typed scaling-law formulas.

A formula such as ``E + A/N**alpha + B/D**beta`` (Hoffmann et al. 2022, eq. (2), the Chinchilla law)
is read by a small tokenizer and a recursive-descent parser that builds SymPy objects directly
(:class:`sympy.Add`, :class:`sympy.Mul`, :class:`sympy.Pow`, exact :class:`sympy.Rational` numbers,
positive :class:`sympy.Symbol` s and a short whitelist of functions).  The text is never handed to
``eval``, ``exec``, ``compile``, ``sympify``, ``parse_expr`` or Python's :mod:`ast`: nothing in it can
run code, import a module or open a file.  Anything outside the grammar is refused with a one-line
:class:`FormulaError` that names the offending token and its (1-based) column.

Grammar (``^`` is accepted as a synonym of ``**``, as mathematicians type it; it is *not* XOR)::

    formula := sum END
    sum     := product (('+' | '-') product)*
    product := factor (('*' | '/') factor)*
    factor  := ('+' | '-') factor | power
    power   := atom [('**' | '^') factor]          # right-associative: 2**3**2 == 2**9
    atom    := NUMBER | NAME | FUNCTION '(' sum (',' sum)* ')' | '(' sum ')'

* ``NUMBER``: ``12``, ``0.34``, ``.5``, ``1e30``, ``2.5E-3``; always an exact Integer/Rational.
* ``NAME``: ``[A-Za-z][A-Za-z0-9_]*``; a plain ``Symbol(name, positive=True)`` (or the symbol given
  in ``symbols``).  ``E``, ``I``, ``N``, ``S``, ``Q`` ... are ordinary symbols (Chinchilla's irreducible
  loss is literally ``E``); only ``pi`` means :data:`sympy.pi`.  Greek names (``alpha``, ``beta``,
  ``gamma``) stay symbols of that name, which SymPy prints as Greek letters.  Python keywords
  (``lambda``, ``if``, ``import`` ...), names starting with ``_`` or containing ``__``, and
  ``nan``/``inf``/``oo``/``zoo`` are refused.
* Functions: ``log(x)``, ``log(x, base)``, ``ln(x)``, ``exp(x)``, ``sqrt(x)``, ``LambertW(x)`` (no
  ``W`` alias: ``W`` is an ordinary symbol), ``gamma(x)``, ``Abs(x)``, ``Min(a, b, ...)``,
  ``Max(a, b, ...)`` (2 to 16 arguments).  ``gamma`` is the Gamma function only when called; a bare
  ``gamma`` is a symbol.  Small ``Min``/``Max`` calls are simplified as SymPy does; large ones (more
  than 40 tree nodes in their arguments) are kept unevaluated, because SymPy's pairwise comparison
  of large arguments takes seconds.
* Implicit multiplication (``2N``, ``N D``, ``(A)(B)``) is refused: write ``2*N``.
* Whitespace: spaces, tabs and line breaks; every other control character and every non-ASCII
  character (including look-alikes such as Greek ``Ν``, U+039D) is refused.
* Error columns count characters from 1 over the whole text (a line break counts as one).

Resource bounds: at most :data:`MAX_LENGTH` characters, :data:`MAX_DEPTH` levels of nesting
(parentheses, calls, unary signs, exponents), and no exact number with more than :data:`MAX_DIGITS`
digits, checked *before* SymPy evaluates a numeric power, so ``10**10**10`` is refused at once.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from typing import Callable, Mapping

import sympy as sp

# SymPy imports these lazily on the first Add, log and Min/Max; loading them now keeps parsing free of
# imports (the fuzz test's audit hook checks that nothing is imported, compiled or opened while parsing)
import sympy.assumptions.wrapper  # noqa: F401,E402
import sympy.sets.setexpr  # noqa: F401,E402
import sympy.tensor.tensor  # noqa: F401,E402
from scaling_theory.errors import UserInputError

__all__ = ["parse_formula", "FormulaError", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH", "MAX_DIGITS"]

MAX_LENGTH = 10_000  # characters of input
MAX_DEPTH = 100  # nesting levels; keeps recursion far below Python's limit
MAX_DIGITS = 1000  # decimal digits of any exact number (numerator or denominator)

# intermediate products may briefly exceed MAX_DIGITS (e.g. 1e999*N/1e999); beyond this they are refused
_WORK_DIGITS = 20 * MAX_DIGITS
_SNIPPET = 60  # echo at most this many characters of the input in a message

_KEYWORDS = frozenset(
    "False None True and as assert async await break class continue def del elif else except "
    "finally for from global if import in is lambda nonlocal not or pass raise return try while "
    "with yield".split()
)
_NON_FINITE = frozenset({"nan", "inf", "infinity", "oo", "zoo"})
_WHITESPACE = frozenset(" \t\r\n")

# name -> (SymPy constructor, min args, max args); the whole set of callable things
FUNCTIONS: dict[str, tuple[Callable[..., sp.Expr], int, int]] = {
    "log": (sp.log, 1, 2),
    "ln": (sp.log, 1, 1),
    "exp": (sp.exp, 1, 1),
    "sqrt": (sp.sqrt, 1, 1),
    "LambertW": (sp.LambertW, 1, 1),
    "gamma": (sp.gamma, 1, 1),
    "Abs": (sp.Abs, 1, 1),
    "Min": (sp.Min, 2, 16),
    "Max": (sp.Max, 2, 16),
}
_BARE_OK = frozenset({"gamma"})  # function names that are also common symbol names
# SymPy compares Min/Max arguments pairwise through the assumptions system (seconds for a few large
# ones), so only small calls are simplified; larger ones are kept as written (evaluate=False)
_MINMAX_EVAL_NODES = 40  # tree nodes of all arguments of one call
_MINMAX_EVAL_BUDGET = 16  # arguments of simplified calls per formula

_NUMBER_RE = re.compile(r"(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?|\.(\d+)(?:[eE]([+-]?\d+))?")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FAST_RE = re.compile(r"[ \t\r\n]*(?:(\*\*|[-+*^(),]|/(?!/))|([A-Za-z][A-Za-z0-9_]*))")

_PUNCT_PROBLEMS = {
    "'": "quotes are not allowed (strings)",
    '"': "quotes are not allowed (strings)",
    "`": "backquotes are not allowed",
    "[": "brackets are not allowed (indexing, lists, comprehensions); use parentheses",
    "]": "brackets are not allowed (indexing, lists, comprehensions); use parentheses",
    "{": "braces are not allowed (sets, dicts)",
    "}": "braces are not allowed (sets, dicts)",
    ":": "is not allowed (slices, lambdas, annotations)",
    ";": "is not allowed (one formula only)",
    "=": "is not allowed (write an expression, not an assignment or equation)",
    "<": "is not allowed (comparisons)",
    ">": "is not allowed (comparisons)",
    "!": "is not allowed",
    "@": "is not allowed (matrix multiplication, decorators)",
    "%": "is not allowed (modulo, formatting)",
    "&": "is not allowed (bitwise operators)",
    "|": "is not allowed (bitwise operators)",
    "~": "is not allowed (bitwise operators)",
    "#": "is not allowed (comments)",
    "\\": "is not allowed (backslash)",
    "$": "is not allowed",
    "?": "is not allowed",
}


class FormulaError(UserInputError):
    """A formula was refused; ``str(err)`` is one line naming the column and the offending token.

    Attributes ``column`` (1-based) and ``problem`` (the message without position and echo) let
    callers build their own messages.

    Examples
    --------
    >>> try:
    ...     parse_formula("N.__class__")
    ... except FormulaError as err:
    ...     print(err)
    ...     print(err.column)
    formula error at column 2: '.' is not allowed (attribute access) in 'N.__class__'
    2
    """

    def __init__(self, problem: str, column: int, text: str):
        self.problem = problem
        self.column = column
        super().__init__(f"formula error at column {column}: {problem} in '{_snippet(text, column)}'")


# --------------------------------------------------------------------------------------------
# helpers for messages


def _escape(s: str) -> str:
    """Printable-ASCII rendering of ``s`` (control and non-ASCII characters as escapes)."""
    out = []
    for ch in s:
        o = ord(ch)
        if 32 <= o < 127:
            out.append(ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x100:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    return "".join(out)


def _snippet(text: str, column: int) -> str:
    """The input echoed in a message: at most about _SNIPPET printable characters around ``column``."""
    if len(text) <= _SNIPPET and len(_escape(text)) <= _SNIPPET:
        return _escape(text)
    at = min(max(column - 1, 0), len(text))
    lo = hi = at  # grow a window [lo, hi) around the column until the escaped text fills the budget
    used = 0
    while (lo > 0 or hi < len(text)) and used < _SNIPPET:
        if hi < len(text) and (hi - at <= at - lo or lo == 0):
            used += len(_escape(text[hi]))
            hi += 1
        else:
            lo -= 1
            used += len(_escape(text[lo]))
    return ("..." if lo > 0 else "") + _escape(text[lo:hi]) + ("..." if hi < len(text) else "")


def _show(token: str, limit: int = 20) -> str:
    """A token quoted for a message, shortened when long."""
    t = _escape(token)
    return f"'{t[:limit]}...'" if len(t) > limit else f"'{t}'"


def _char_problem(ch: str) -> str:
    """Why a single character outside the grammar is refused."""
    o = ord(ch)
    if o >= 128:
        name = unicodedata.name(ch, "unnamed character")
        return f"character U+{o:04X} ({name}) is not allowed; formulas are plain ASCII"
    if o < 32 or o == 127:
        what = "NUL byte" if o == 0 else "control character"
        return f"{what} U+{o:04X} is not allowed"
    if ch in _PUNCT_PROBLEMS:
        p = _PUNCT_PROBLEMS[ch]
        return p if p[0] != "i" else f"'{ch}' {p}"
    return f"'{ch}' is not allowed"


# --------------------------------------------------------------------------------------------
# tokenizer (lazy, so the parser reports the leftmost problem first)

_NUM, _NAME, _OP, _END = "number", "name", "op", "end"


class _Token:
    __slots__ = ("kind", "text", "col", "value")

    def __init__(self, kind: str, text: str, col: int, value: object = None):
        self.kind, self.text, self.col, self.value = kind, text, col, value


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.prev: _Token | None = None  # last token produced (for '.' after a name)
        self._peeked: _Token | None = None

    def error(self, problem: str, col: int) -> FormulaError:
        return FormulaError(problem, col, self.text)

    def peek(self) -> _Token:
        if self._peeked is None:
            self._peeked = self._scan()
        return self._peeked

    def next(self) -> _Token:
        tok = self.peek()
        self._peeked = None
        self.prev = tok
        return tok

    def _scan(self) -> _Token:
        text, n = self.text, len(self.text)
        m = _FAST_RE.match(text, self.pos)  # fast path: operators and ordinary names
        if m is not None:
            if m.group(1):
                self.pos = m.end()
                return _Token(_OP, m.group(1), m.start(1) + 1)
            name = m.group(2)
            if "__" not in name and name not in _KEYWORDS and name.lower() not in _NON_FINITE:
                self.pos = m.end()
                return _Token(_NAME, name, m.start(2) + 1)
        i = self.pos
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            self.pos = n
            return _Token(_END, "", n + 1)
        ch, col = text[i], i + 1
        if ch.isascii() and (ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isascii()
                                                and text[i + 1].isdigit() and not self._glued(i))):
            return self._number(i)
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            return self._name(i)
        two = text[i:i + 2]
        if two == "**":
            self.pos = i + 2
            return _Token(_OP, "**", col)
        if two == "//":
            raise self.error("'//' is not allowed (floor division); use '/'", col)
        if ch == "^":
            self.pos = i + 1
            return _Token(_OP, "^", col)
        if ch in "+-*/(),":
            self.pos = i + 1
            return _Token(_OP, ch, col)
        if ch == ".":
            if self._glued(i) and self.prev is not None and self.prev.kind == _NUM:
                raise self.error("'.' is not allowed (a number has at most one decimal point)", col)
            raise self.error("'.' is not allowed (attribute access)", col)
        raise self.error(_char_problem(ch), col)

    def _glued(self, i: int) -> bool:
        """Whether position ``i`` directly follows the previous token (no whitespace between)."""
        return i > 0 and self.prev is not None and self.text[i - 1] not in _WHITESPACE

    def _number(self, i: int) -> _Token:
        text = self.text
        m = _NUMBER_RE.match(text, i)
        j = m.end()
        col = i + 1
        if j < len(text) and (text[j].isascii() and (text[j].isalpha() or text[j] == "_")):
            k = _NAME_RE.match(text, j).end()
            raise self.error(f"{_show(text[i:k])}: implicit multiplication is not allowed; "
                             f"write '{_escape(text[i:j])}*{_escape(text[j:k])}'" if k - i < 40 else
                             f"{_show(text[i:k])}: a number followed by a name (implicit "
                             "multiplication is not allowed; use '*')", col)
        if j < len(text) and text[j] == ".":
            raise self.error("'.' is not allowed (a number has at most one decimal point)", j + 1)
        if m.group(1) is not None:
            whole, frac, exp = m.group(1), m.group(2) or "", m.group(3)
        else:
            whole, frac, exp = "", m.group(4), m.group(5)
        digits = (whole + frac).lstrip("0") or "0"
        if len(digits) > MAX_DIGITS or (exp is not None and len(exp.lstrip("+-").lstrip("0")) > 6):
            raise self.error(f"number {_show(text[i:j])} has too many digits (at most {MAX_DIGITS})", col)
        scale = (int(exp) if exp is not None else 0) - len(frac)
        # digits of the integer value (scale >= 0) or of the denominator (scale < 0)
        size = len(digits) + scale if scale >= 0 else 1 - scale
        if digits != "0" and size > MAX_DIGITS:
            raise self.error(f"number {_show(text[i:j])} has too many digits (at most {MAX_DIGITS})", col)
        p = int(digits)
        value = sp.Integer(0) if p == 0 else (
            sp.Integer(p * 10**scale) if scale >= 0 else sp.Rational(p, 10**-scale))
        self.pos = j
        return _Token(_NUM, text[i:j], col, value)

    def _name(self, i: int) -> _Token:
        text = self.text
        j = _NAME_RE.match(text, i).end()
        name, col = text[i:j], i + 1
        if name.startswith("_"):
            raise self.error(f"{_show(name)}: names starting with '_' are not allowed", col)
        if "__" in name:
            raise self.error(f"{_show(name)}: names containing '__' are not allowed", col)
        if name in _KEYWORDS:
            hint = " (for the Greek letter write e.g. 'lam')" if name == "lambda" else ""
            raise self.error(f"{_show(name)} is a Python keyword, not allowed in a formula{hint}", col)
        if name.lower() in _NON_FINITE:
            raise self.error(f"{_show(name)} is not allowed (non-finite values are not supported)", col)
        self.pos = j
        return _Token(_NAME, name, col)


# --------------------------------------------------------------------------------------------
# size and sanity checks on the SymPy objects being built


def _digits(r: sp.Rational) -> float:
    """Approximate decimal digits of the larger of numerator and denominator (0 for 0 and +-1)."""
    m = max(abs(r.p), r.q)
    return math.log10(m) if m > 1 else 0.0


def _coeff_digits(e: sp.Basic) -> float:
    """Digits of the numbers SymPy may combine when ``e`` enters a sum or product (shallow)."""
    if isinstance(e, sp.Rational):
        return _digits(e)
    if isinstance(e, sp.Add):
        return max((_coeff_digits(t) for t in e.args), default=0.0)
    if isinstance(e, sp.Mul) and isinstance(e.args[0], sp.Rational):
        return _digits(e.args[0])
    return 0.0


def _max_atom_digits(e: sp.Basic) -> float:
    """Digits of the largest exact number anywhere in ``e``."""
    return max((_digits(a) for a in sp.preorder_traversal(e) if isinstance(a, sp.Rational)), default=0.0)


def _pow_estimate(base: sp.Basic, exponent: sp.Basic) -> float | None:
    """Upper estimate of the digits SymPy would compute for ``base**exponent`` (None: no numbers)."""
    if not isinstance(exponent, sp.Rational) or abs(exponent.p) <= exponent.q:
        return None  # symbolic or |exponent| <= 1: nothing grows
    d = _max_atom_digits(base)
    if d == 0:
        return None  # only symbols, 0 and +-1 in the base: exponents merely multiply
    return 10 ** min(math.log10(abs(exponent.p)) - math.log10(exponent.q) + math.log10(d), 300.0)


def _bad_value(e: sp.Basic, seen: set) -> str | None:
    """Why ``e`` is not a finite real expression, or None; subtrees in ``seen`` were checked before."""
    stack = [e]
    while stack:
        a = stack.pop()
        if a in seen:
            continue
        seen.add(a)
        if a is sp.S.ComplexInfinity or a is sp.S.Infinity or a is sp.S.NegativeInfinity:
            return "is not finite (division by zero or a pole)"
        if a is sp.S.NaN:
            return "is undefined (NaN)"
        if a is sp.S.ImaginaryUnit or (isinstance(a, sp.Pow) and a.base is sp.S.NegativeOne
                                       and isinstance(a.exp, sp.Rational) and a.exp.q != 1):
            return "is not real (a root or logarithm of a negative number)"
        stack.extend(a.args)
    return None


_INF = float("inf")
_LN10 = math.log(10)
_KNOWN = {sp.pi: (0.4971, 0.4972), sp.E: (0.4342, 0.4343)}


def _log10_abs(r: sp.Rational) -> float:
    return math.log10(abs(r.p)) - math.log10(r.q) if r.p else -_INF


def _magnitude(e: sp.Basic, cache: dict) -> tuple[float, float] | None:
    """Bounds ``(lo, hi)`` on ``log10|e|`` for an expression without symbols; None if it has symbols.

    Conservative: ``hi`` may be ``inf`` (e.g. after dividing by a difference whose size is unknown).
    Used to refuse numbers beyond ``10**MAX_DIGITS`` *before* SymPy tries to evaluate towers such as
    ``exp(exp(exp(100)))``, whose numerical comparison (in Abs, Min, log, printing) never finishes.
    """
    if e in cache:
        return cache[e]
    if isinstance(e, sp.Symbol):
        out = None
    elif isinstance(e, sp.Rational):
        out = (_log10_abs(e),) * 2
    elif e in _KNOWN:
        out = _KNOWN[e]
    elif not e.args:
        out = (-_INF, _INF)  # other numeric atoms: unknown size
    else:
        subs = [_magnitude(a, cache) for a in e.args]
        if any(m is None for m in subs):
            out = None
        elif isinstance(e, sp.Add):
            out = _add_magnitude(subs)
        elif isinstance(e, sp.Mul):
            out = (sum(m[0] for m in subs), sum(m[1] for m in subs))
        elif isinstance(e, sp.Pow):
            out = _pow_magnitude(subs[0], subs[1], e.exp)
        elif isinstance(e, sp.exp):
            out = _exp_magnitude(e.args[0], subs[0])
        elif isinstance(e, sp.log):
            out = _log_magnitude(e.args[0], subs[0])
        elif isinstance(e, (sp.Abs, sp.Min, sp.Max)):
            out = (min(m[0] for m in subs), max(m[1] for m in subs))
        elif isinstance(e, sp.gamma):
            x = _abs_value_bound(subs[0])
            out = (-_INF, x * math.log10(x) if x > 10 else max(1.0, -subs[0][0]))
        elif isinstance(e, sp.LambertW):
            out = (-_INF, math.log10(1 + _LN10 * max(abs(subs[0][0]), abs(subs[0][1]), 1.0)))
        else:
            out = (-_INF, _INF)
    cache[e] = out
    return out


def _add_magnitude(subs: list[tuple[float, float]]) -> tuple[float, float]:
    """A sum is at most n times its largest term; it is bounded below when one term dominates."""
    his = sorted(m[1] for m in subs)
    hi = his[-1] + math.log10(len(subs))
    top = max(subs, key=lambda m: m[0])
    rest = sorted(m[1] for m in subs if m is not top)
    lo = -_INF
    if len(subs) == 1:
        lo = top[0]
    elif top[0] != -_INF:
        gap = math.log10(len(rest)) + rest[-1] - top[0]
        if gap < -0.001:
            lo = top[0] + math.log10(1 - 10**gap)
    return (lo, hi)


def _exp_magnitude(arg: sp.Basic, m: tuple[float, float]) -> tuple[float, float]:
    if isinstance(arg, sp.Rational):
        v = float(arg) / _LN10 if abs(arg.p) < 10**300 * arg.q else math.copysign(_INF, arg.p)
        return (v, v)
    big = _abs_value_bound(m) / _LN10
    return (-big, big)


def _abs_value_bound(m: tuple[float, float]) -> float:
    """Upper bound of ``|x|`` from bounds on ``log10|x|`` (inf when unknown or astronomically large)."""
    return 10 ** m[1] if m[1] < 300 else _INF


def _pow_magnitude(base: tuple[float, float], exp_m: tuple[float, float], exp: sp.Basic
                   ) -> tuple[float, float]:
    if isinstance(exp, sp.Rational):
        k = float(exp) if abs(exp.p) < 10**300 else math.copysign(_INF, exp.p)
        ends = [k * base[0] if base[0] != -_INF or k != 0 else 0.0, k * base[1] if k != 0 else 0.0]
        ends = [0.0 if math.isnan(v) else v for v in ends]
        return (min(ends), max(ends))
    big = _abs_value_bound(exp_m) * max(abs(base[0]), abs(base[1]))
    return (-big, big) if not math.isnan(big) else (-_INF, _INF)


def _log_magnitude(arg: sp.Basic, m: tuple[float, float]) -> tuple[float, float]:
    hi = math.log10(_LN10 * max(abs(m[0]), abs(m[1]), 1e-300))
    if isinstance(arg, sp.Rational) and arg.p > 0:
        ln = math.log(arg.p) - math.log(arg.q)
        return (math.log10(abs(ln)) if ln else -_INF, hi)
    if m[0] > 0.01 or m[1] < -0.01:
        return (math.log10(_LN10 * min(abs(m[0]), abs(m[1]))), hi)
    return (-_INF, hi)


# --------------------------------------------------------------------------------------------
# parser


class _Parser:
    def __init__(self, text: str, symbols: Mapping[str, sp.Basic], allow_new: bool):
        self.lex = _Lexer(text)
        self.text = text
        self.symbols = symbols
        self.allow_new = allow_new
        self.depth = 0
        self.minmax_budget = _MINMAX_EVAL_BUDGET
        self.magnitudes: dict = {}
        self.new_symbols: dict[str, sp.Symbol] = {}
        self.checked: set = set()  # subexpressions already known finite and real

    def error(self, problem: str, col: int) -> FormulaError:
        return FormulaError(problem, col, self.text)

    def enter(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting is too deep (more than {MAX_DEPTH} levels)", col)

    def build(self, what: str, col: int, fn: Callable[..., sp.Basic], *args: sp.Basic) -> sp.Basic:
        """Call a SymPy constructor; its own errors and non-finite results become FormulaErrors."""
        try:
            out = fn(*args)
        except RecursionError:
            raise self.error(f"{what}: expression is too deeply nested", col) from None
        except (ArithmeticError, ValueError, TypeError, AttributeError, NotImplementedError) as exc:
            raise self.error(f"{what} cannot be built ({type(exc).__name__}: "
                             f"{_escape(str(exc))[:80]})", col) from None
        return out

    def check(self, what: str, col: int, value: sp.Basic) -> sp.Basic:
        bad = _bad_value(value, self.checked)
        if bad is not None:
            raise self.error(f"{what} {bad}", col)
        return self.size_ok(what, col, value)

    def size_ok(self, what: str, col: int, value: sp.Basic) -> sp.Basic:
        """Refuse a symbol-free value provably beyond 10**MAX_DIGITS in magnitude."""
        m = _magnitude(value, self.magnitudes)
        if m is not None and m[1] != _INF and m[1] > MAX_DIGITS:
            raise self.error(f"{what} gives a number of about 10**{_fmt(m[1])} (at most 10**{MAX_DIGITS})",
                             col)
        return value

    def escalation_ok(self, what: str, col: int, m: tuple[float, float] | None) -> None:
        """Before exp, gamma or ``x**k`` (``|k| > 1``) of a symbol-free value: its size must be bounded."""
        if m is None:
            return
        if m[1] == _INF:
            raise self.error(f"{what}: the size of this number cannot be bounded (at most 10**{MAX_DIGITS} "
                             "is allowed)", col)
        if m[1] > MAX_DIGITS:
            raise self.error(f"{what} would produce a number of about 10**{_fmt(m[1])} "
                             f"(at most 10**{MAX_DIGITS})", col)

    # formula := sum END
    def parse(self) -> sp.Expr:
        first = self.lex.peek()
        if first.kind == _END:
            raise self.error("empty formula", 1)
        expr = self.sum()
        tok = self.lex.peek()
        if tok.kind != _END:
            if tok.text == ")":
                raise self.error("unmatched ')'", tok.col)
            if tok.text == ",":
                raise self.error("',' is only allowed between function arguments", tok.col)
            raise self.error(f"unexpected {_show(tok.text)}", tok.col)  # pragma: no cover
        for a in sp.preorder_traversal(expr):
            if isinstance(a, sp.Rational) and _digits(a) > MAX_DIGITS:
                raise self.error(f"the formula contains a number with more than {MAX_DIGITS} digits", 1)
        if not isinstance(expr, sp.Expr):  # pragma: no cover - every constructor here returns Expr
            raise self.error("the formula is not an expression", 1)
        return expr

    def sum(self) -> sp.Basic:
        terms = [self.product()]
        op_col = None
        while self.lex.peek().text in ("+", "-") and self.lex.peek().kind == _OP:
            op = self.lex.next()
            op_col = op_col or op.col
            t = self.product()
            terms.append(t if op.text == "+" else self.build("'-'", op.col, sp.Mul, sp.S.NegativeOne, t))
        if len(terms) == 1:
            return terms[0]
        if sum(_coeff_digits(t) for t in terms) > _WORK_DIGITS:  # bounds numerators and denominators
            raise self.error(f"the numbers in this sum are too large (more than {MAX_DIGITS} digits)", op_col)
        total = self.build("'+'", op_col, sp.Add, *terms)
        return self.size_ok("'+'", op_col, self._shallow_ok("'+'", op_col, total))

    def product(self) -> sp.Basic:
        factors = [self.factor()]
        op_col = None
        while True:
            tok = self.lex.peek()
            if tok.kind == _OP and tok.text in ("*", "/"):
                op = self.lex.next()
                op_col = op_col or op.col
                f = self.factor()
                if op.text == "/":
                    if f == 0:
                        raise self.error("division by zero", op.col)
                    f = self.power_of(f, sp.S.NegativeOne, op.col, "'/'")
                factors.append(f)
            elif tok.kind in (_NUM, _NAME) or tok.text == "(":
                raise self.error(f"{_show(tok.text)}: implicit multiplication is not allowed; "
                                 "write '*' between factors", tok.col)
            else:
                break
        if len(factors) == 1:
            return factors[0]
        if sum(_coeff_digits(f) for f in factors) > _WORK_DIGITS:
            raise self.error(f"the numbers in this product are too large (more than {MAX_DIGITS} digits)",
                             op_col)
        product = self.build("'*'", op_col, sp.Mul, *factors)
        return self.size_ok("'*'", op_col, self._shallow_ok("'*'", op_col, product))

    def _shallow_ok(self, what: str, col: int, value: sp.Basic) -> sp.Basic:
        if _coeff_digits(value) > MAX_DIGITS or any(_coeff_digits(a) > MAX_DIGITS for a in value.args):
            raise self.error(f"{what} gives a number with more than {MAX_DIGITS} digits", col)
        return value

    def factor(self) -> sp.Basic:
        tok = self.lex.peek()
        if tok.kind == _OP and tok.text in ("+", "-"):
            self.lex.next()
            self.enter(tok.col)
            operand = self.factor()
            self.depth -= 1
            if tok.text == "+":
                return operand
            return self.build("'-'", tok.col, sp.Mul, sp.S.NegativeOne, operand)
        return self.power()

    def power(self) -> sp.Basic:
        base = self.atom()
        tok = self.lex.peek()
        if tok.kind == _OP and tok.text in ("**", "^"):
            self.lex.next()
            self.enter(tok.col)
            exponent = self.factor()
            self.depth -= 1
            return self.power_of(base, exponent, tok.col, f"'{tok.text}'")
        return base

    def power_of(self, base: sp.Basic, exponent: sp.Basic, col: int, what: str) -> sp.Basic:
        est = _pow_estimate(base, exponent)
        if est is not None and est > MAX_DIGITS:
            raise self.error(f"{what} would produce a number with about {_fmt(est)} digits "
                             f"(at most {MAX_DIGITS})", col)
        mb, me = _magnitude(base, self.magnitudes), _magnitude(exponent, self.magnitudes)
        shrinking = isinstance(exponent, sp.Rational) and abs(exponent.p) <= exponent.q
        if mb is not None and me is not None and not shrinking:
            self.escalation_ok(what, col, _pow_magnitude(mb, me, exponent))
        if base == 0 and isinstance(exponent, sp.Rational) and exponent < 0:
            raise self.error("division by zero" if what == "'/'" else f"{what}: zero to a negative power",
                             col)
        return self.check(what, col, self.build(what, col, sp.Pow, base, exponent))

    def atom(self) -> sp.Basic:
        tok = self.lex.next()
        if tok.kind == _NUM:
            return tok.value
        if tok.kind == _NAME:
            nxt = self.lex.peek()
            if nxt.kind == _OP and nxt.text == "(":
                return self.call(tok)
            return self.name(tok)
        if tok.kind == _OP and tok.text == "(":
            self.enter(tok.col)
            if self.lex.peek().text == ")" and self.lex.peek().kind == _OP:
                raise self.error("empty parentheses '()'", self.lex.peek().col)
            inner = self.sum()
            close = self.lex.next()
            if close.kind == _END:
                raise self.error(f"'(' at column {tok.col} is never closed", tok.col)
            if close.text == ",":
                raise self.error("',' is only allowed between function arguments (no tuples)", close.col)
            if close.text != ")":  # pragma: no cover - sum() stops only at ')', ',' or END
                raise self.error(f"expected ')' but found {_show(close.text)}", close.col)
            self.depth -= 1
            return inner
        if tok.kind == _END:
            raise self.error("unexpected end of formula (an operand is missing)", tok.col)
        if tok.text == ")":
            raise self.error("unexpected ')' (an operand is missing)", tok.col)
        if tok.text == ",":
            raise self.error("',' is only allowed between function arguments", tok.col)
        raise self.error(f"unexpected {_show(tok.text)} (an operand is missing)", tok.col)

    def name(self, tok: _Token) -> sp.Basic:
        name = tok.text
        if name in self.symbols:
            return self.symbols[name]
        if name == "pi":
            return sp.pi
        if name in FUNCTIONS and name not in _BARE_OK:
            raise self.error(f"{_show(name)} is a function; call it as {name}(...)", tok.col)
        if not self.allow_new:
            declared = sorted(self.symbols)
            shown = ", ".join(declared[:12]) + (", ..." if len(declared) > 12 else "")
            raise self.error(f"unknown symbol {_show(name)} (declared: {shown or 'none'})", tok.col)
        sym = self.new_symbols.get(name)
        if sym is None:
            sym = self.new_symbols[name] = sp.Symbol(name, positive=True)
        return sym

    def call(self, name_tok: _Token) -> sp.Basic:
        name = name_tok.text
        if name not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS, key=str.lower))
            what = "is a symbol, not a function" if (name in self.symbols or name == "pi") else \
                "is not an allowed function"
            raise self.error(f"{_show(name)} {what} (allowed: {allowed}; write '*' to multiply)",
                             name_tok.col)
        fn, lo, hi = FUNCTIONS[name]
        open_tok = self.lex.next()
        self.enter(open_tok.col)
        args = []
        if self.lex.peek().kind == _OP and self.lex.peek().text == ")":
            self.lex.next()
        else:
            while True:
                args.append(self.sum())
                sep = self.lex.next()
                if sep.kind == _OP and sep.text == ",":
                    continue
                if sep.kind == _OP and sep.text == ")":
                    break
                if sep.kind == _END:
                    raise self.error(f"'(' at column {open_tok.col} is never closed", open_tok.col)
                raise self.error(f"expected ',' or ')' but found {_show(sep.text)}",
                                 sep.col)  # pragma: no cover
        self.depth -= 1
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = (f"{lo}" if lo == hi else f"{lo} or {hi}" if hi == lo + 1 else f"{lo} to {hi}")
            raise self.error(f"{name}() takes {want} argument{'s' if want != '1' else ''}, "
                             f"got {len(args)}", name_tok.col)
        what = f"{name}(...)"
        if name == "sqrt":
            return self.power_of(args[0], sp.S.Half, name_tok.col, what)
        m = _magnitude(args[0], self.magnitudes)
        if name == "exp":
            self._exp_guard(args[0], name_tok.col, what)
            if m is not None:
                self.escalation_ok(what, name_tok.col, _exp_magnitude(args[0], m))
        if name == "gamma":
            self._gamma_guard(args[0], name_tok.col, what)
            if m is not None:
                x = _abs_value_bound(m)
                self.escalation_ok(what, name_tok.col, (0.0, x * math.log10(x) if x > 10 else 0.0))
        if name in ("log", "ln") and args[0] == 0:
            raise self.error(f"{what}: logarithm of zero", name_tok.col)
        if name in ("Min", "Max"):
            nodes = sum(1 for _ in itertools.islice(
                (n for a in args for n in sp.preorder_traversal(a)), _MINMAX_EVAL_NODES + 1))
            if nodes <= _MINMAX_EVAL_NODES and len(args) <= self.minmax_budget:
                self.minmax_budget -= len(args)
            else:
                return self.size_ok(what, name_tok.col,
                                    self.build(what, name_tok.col, lambda *a: fn(*a, evaluate=False), *args))
        return self.check(what, name_tok.col, self.build(what, name_tok.col, fn, *args))

    def _exp_guard(self, arg: sp.Basic, col: int, what: str) -> None:
        # SymPy rewrites exp(k*log(b) + ...) as b**k * exp(...): bound that power like '**'
        for term in sp.Add.make_args(arg):
            coeff, rest = term.as_coeff_Mul()
            logs = [f for f in sp.Mul.make_args(rest) if isinstance(f, sp.log)]
            for lg in logs:
                est = _pow_estimate(lg.args[0], coeff)
                if est is not None and est > MAX_DIGITS:
                    raise self.error(f"{what} would produce a number with about {_fmt(est)} digits "
                                     f"(at most {MAX_DIGITS})", col)

    def _gamma_guard(self, arg: sp.Basic, col: int, what: str) -> None:
        # gamma(n) and gamma(n + 1/2) are evaluated exactly via factorials
        if isinstance(arg, sp.Rational) and arg.q <= 2:
            x = abs(arg.p) / arg.q if abs(arg.p) < 10**15 else float("inf")
            est = x * math.log10(x) if x > 1 else 0.0
            if est > MAX_DIGITS:
                raise self.error(f"{what} would produce a number with about {_fmt(est)} digits "
                                 f"(at most {MAX_DIGITS})", col)


def _fmt(x: float) -> str:
    """A digit count for a message: exact below 1e15, else a power of ten."""
    return f"{int(x)}" if x < 1e15 else ("1e300 or more" if x >= 1e300 else f"1e{int(math.log10(x))}")


def parse_formula(text: str, *, symbols: Mapping[str, sp.Basic] | None = None,
                  allow_new_symbols: bool = True) -> sp.Expr:
    """Parse a user-typed formula into a SymPy expression, refusing everything but arithmetic.

    Parameters
    ----------
    text : the formula, e.g. ``"E + A/N**alpha + B/D**beta"`` (Hoffmann et al. 2022, eq. (2)).
    symbols : ``{name: Symbol}`` to reuse (e.g. a law's symbols, so that ``N`` in the text *is*
        the law's ``N``); a declared name wins over ``pi`` and bare function names.
    allow_new_symbols : if False, a name neither declared in ``symbols`` nor ``pi`` is refused.
        Otherwise it becomes ``Symbol(name, positive=True)``.

    Returns
    -------
    sympy.Expr built from exact numbers, symbols, ``+ - * / **`` and the functions in
    :data:`FUNCTIONS`.

    Raises
    ------
    FormulaError
        (a :class:`~scaling_theory.errors.UserInputError`) with a one-line message naming the column and
        the offending token, for anything outside the grammar in the module docstring or beyond
        the bounds :data:`MAX_LENGTH`, :data:`MAX_DEPTH`, :data:`MAX_DIGITS`.

    Examples
    --------
    >>> L = parse_formula("E + A/N**alpha + B/D**beta")
    >>> L
    A/N**alpha + B/D**beta + E
    >>> sorted(s.name for s in L.free_symbols), all(s.is_positive for s in L.free_symbols)
    (['A', 'B', 'D', 'E', 'N', 'alpha', 'beta'], True)

    Decimals and scientific notation are exact:

    >>> parse_formula("0.34"), parse_formula("2.5E-3"), parse_formula("1e30") == 10**30
    (17/50, 1/400, True)

    Python's precedence; ``^`` means power:

    >>> parse_formula("-2**2"), parse_formula("2^3^2"), parse_formula("log(8, 2)")
    (-4, 512, 3)

    Reusing declared symbols, or refusing undeclared ones:

    >>> N, D = sp.symbols("N D", positive=True)
    >>> parse_formula("6*N*D", symbols={"N": N, "D": D}) == 6*N*D
    True
    >>> parse_formula("6*N*T", symbols={"N": N, "D": D}, allow_new_symbols=False)
    Traceback (most recent call last):
    ...
    scaling_theory.theory.parser.FormulaError: formula error at column 5: unknown symbol 'T' (declared: D, N) in '6*N*T'

    Code is refused, never run:

    >>> parse_formula("__import__('os').system('ls')")
    Traceback (most recent call last):
    ...
    scaling_theory.theory.parser.FormulaError: formula error at column 1: '__import__': names starting with '_' are not allowed in '__import__('os').system('ls')'
    >>> parse_formula("10**10**10")
    Traceback (most recent call last):
    ...
    scaling_theory.theory.parser.FormulaError: formula error at column 3: '**' would produce a number with about 10000000000 digits (at most 1000) in '10**10**10'
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_formula expects a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is too long ({len(text)} characters, at most {MAX_LENGTH})",
                           MAX_LENGTH + 1, text)
    table: dict[str, sp.Basic] = {}
    for key, value in (symbols or {}).items():
        if not isinstance(value, sp.Basic):
            raise TypeError(f"symbols[{key!r}] must be a SymPy object, got {type(value).__name__}")
        table[str(key)] = value
    return _Parser(text, table, allow_new_symbols).parse()

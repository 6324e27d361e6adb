"""Property-based fuzzing of :func:`scaling_theory.theory.parser.parse_formula`.

Four hypothesis tests generate 10,000 inputs per run in total (derandomized, so CI is reproducible):

* grammar-generated valid formulas, each compared with the same expression built by hand in SymPy;
* hostile fragments glued together: dunder attributes, lambda, comprehensions, imports, strings,
  huge exponents, deep nesting, very long input, non-ASCII look-alikes, control characters, NUL;
* arbitrary Unicode text and arbitrary text over the grammar's own alphabet;
* single-character mutations of valid formulas.

For every input: the result is a finite real ``sympy.Expr`` or a :class:`FormulaError` with a one-line
printable message naming a column inside the input, never any other exception; it takes less than
2 s of CPU time and 10 s of wall-clock time (a blow-up guard, not a speed claim) and less than
64 MiB of traced allocations; and an audit
hook (:func:`sys.addaudithook`) sees no code compiled or executed, no module imported, no file opened
and no process, socket or foreign-function call while ``parse_formula`` runs.
"""

import pytest
import sys
import time
import tracemalloc

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaling_theory.theory.parser import FUNCTIONS, MAX_DIGITS, MAX_LENGTH, FormulaError, parse_formula

pytestmark = [pytest.mark.slow]

# examples per test; their sum is the number of fuzz inputs per run (asserted below)
N_VALID, N_HOSTILE, N_TEXT, N_MUTATED = 2000, 2000, 4500, 1500
TIME_LIMIT_S = 2.0  # CPU seconds per input: a blow-up guard, not a speed claim
WALL_LIMIT_S = 10.0  # wall clock per input, loose: the CI machine's 2 cores are shared
MEMORY_LIMIT = 64 * 2**20

# audit events that mean "ran, imported, opened or spawned something"
_FORBIDDEN_EVENTS = ("compile", "exec", "import", "open", "marshal.", "code.__new__", "function.__new__",
                     "os.", "subprocess.", "ctypes.", "builtins.input", "socket.", "shutil.", "pickle.",
                     "glob.", "tempfile.", "sqlite3.", "urllib.", "webbrowser.", "cpython.run_",
                     "sys.settrace", "sys.setprofile", "_posixsubprocess.", "pty.", "fcntl.", "mmap.")


class _Audit:
    """Records forbidden audit events, only while ``active`` is set (around one parse call)."""

    active = False
    events: list = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if cls.active and event.startswith(_FORBIDDEN_EVENTS):
            cls.events.append(event)


# audit hooks cannot be removed: install one per process, inert unless a parse is running
if not getattr(sys, "_scaling_theory_parser_audit", False):
    sys.addaudithook(_Audit.hook)
    sys._scaling_theory_parser_audit = True

# one example per whitelisted function and number path, parsed before auditing starts
_WARM_UP = ["E + A/N**alpha + B/D**beta", "log(N)", "log(8, 2)", "log(N, 10)", "ln(1/3)", "exp(N)",
            "exp(2*log(3))", "sqrt(N)", "sqrt(2)", "sqrt(10**99 + 7)", "(-8)**(1/3)", "LambertW(N)",
            "LambertW(1)", "gamma(N)", "gamma(5)", "gamma(7/2)", "Abs(N - D)", "Abs(-3)", "Min(N, D)",
            "Min(1, 2)", "Max(sqrt(2), 3/2)", "Max(N, 3)", "1.5e3/N**0.34", "pi*N", "1/0", "log(-1)"]
assert set(FUNCTIONS) <= {w.split("(")[0] for w in _WARM_UP}


def _warm_up() -> None:
    for text in _WARM_UP:
        try:
            parse_formula(text)
        except FormulaError:
            pass


def _bad(expr: sp.Basic) -> bool:
    """Whether a hand-built expression is not a finite real one (the parser must refuse it)."""
    if expr is None:
        return True
    for a in sp.preorder_traversal(expr):
        if a in (sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I):
            return True
        if isinstance(a, sp.Pow) and a.base == -1 and isinstance(a.exp, sp.Rational) and a.exp.q != 1:
            return True
    return False


def _checked_parse(text: str, **kwargs):
    """Parse under the audit hook with time and memory bounds; return (expr or None, error or None)."""
    _Audit.events = []
    result = error = None
    own = not tracemalloc.is_tracing()
    if own:
        tracemalloc.start()  # traces only this parse's allocations (tracing hypothesis too triples the time)
    else:  # someone else traces: measure the growth of the peak
        tracemalloc.reset_peak()
    base = 0 if own else tracemalloc.get_traced_memory()[0]
    _Audit.active = True
    start, start_cpu = time.perf_counter(), time.process_time()
    try:
        result = parse_formula(text, **kwargs)
    except FormulaError as exc:
        error = exc
    finally:
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        _Audit.active = False
        peak = tracemalloc.get_traced_memory()[1] - base
        if own:
            tracemalloc.stop()
    assert not _Audit.events, (text[:80], sorted(set(_Audit.events)))
    assert elapsed_cpu < TIME_LIMIT_S, (text[:80], elapsed_cpu)
    assert elapsed < WALL_LIMIT_S, (text[:80], elapsed)
    assert peak < MEMORY_LIMIT, (text[:80], peak)
    if error is not None:
        msg = str(error)
        assert msg.isascii() and msg.isprintable() and "\n" not in msg, repr(msg)
        assert msg.startswith(f"formula error at column {error.column}: "), msg
        assert 1 <= error.column <= min(len(text), MAX_LENGTH) + 1, (text[:80], msg)
        assert len(msg) < 400, msg
    else:
        assert isinstance(result, sp.Expr), (text[:80], result)
        assert not _bad(result), (text[:80], result)
        assert all(len(str(abs(a.p))) <= MAX_DIGITS and len(str(a.q)) <= MAX_DIGITS
                   for a in result.atoms(sp.Rational)), text[:80]
    return result, error


def _settings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


# --------------------------------------------------------------------------------------------
# (a) grammar-generated valid formulas with the expression they must give

_KEYWORD_LIKE = {"and", "as", "if", "in", "is", "or", "not", "for", "def", "del", "try", "None", "True",
                 "False", "else", "elif", "from", "pass", "with", "class", "break", "raise", "while",
                 "yield", "async", "await", "assert", "global", "lambda", "return", "import", "except",
                 "finally", "continue", "nonlocal", "nan", "inf", "infinity", "oo", "zoo", "pi"}
_names = st.one_of(
    st.sampled_from(["N", "D", "E", "A", "B", "C", "I", "S", "Q", "alpha", "beta", "gamma", "N_c", "W"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True).filter(
        lambda s: s.lower() not in _KEYWORD_LIKE and s not in _KEYWORD_LIKE and "__" not in s
        and s not in FUNCTIONS),
)


@st.composite
def _number(draw):
    """A number literal and its exact value."""
    kind = draw(st.sampled_from(["int", "dec", "sci"]))
    whole = draw(st.integers(0, 999))
    if kind == "int":
        return str(whole), sp.Integer(whole)
    frac = draw(st.from_regex(r"[0-9]{1,4}", fullmatch=True))
    value = sp.Integer(whole) + sp.Rational(int(frac), 10 ** len(frac))
    if kind == "dec":
        return f"{whole}.{frac}", value
    exp = draw(st.integers(-30, 30))
    e = draw(st.sampled_from(["e", "E"]))
    sign = "+" if exp >= 0 and draw(st.booleans()) else ""
    return f"{whole}.{frac}{e}{sign}{exp}", value * sp.Integer(10) ** exp


def _const(value):
    return lambda: value


# every generated node is (text, thunk); the thunk builds the expected SymPy expression by hand, only
# in the test that compares (the mutation test needs the text alone)
_symbol = _names.map(lambda s: (s, _const(sp.Symbol(s, positive=True))))
_leaf = st.one_of(_number().map(lambda t: (t[0], _const(t[1]))), _symbol)
_small_exponent = st.one_of(
    st.integers(-4, 4).map(lambda k: (f"({k})" if k < 0 else str(k), _const(sp.Integer(k)))),
    st.sampled_from([("0.5", sp.Rational(1, 2)), ("0.34", sp.Rational(17, 50)), ("(1/3)", sp.Rational(1, 3))]
                    ).map(lambda t: (t[0], _const(t[1]))),
    _symbol,
    _names.map(lambda s: (f"(-{s})", _const(-sp.Symbol(s, positive=True)))),
)
_ws = st.sampled_from(["", "", "", " ", "  ", "\t"])


_BAD = None  # stands for "the parser must refuse this" (not finite, not real, or SymPy refuses)


_TOO_BIG = "too big"  # stands for "beyond the parser's size bounds" (refusal expected, not computed)


def _digits(e) -> int:
    return max((len(str(max(abs(a.p), a.q))) for a in e.atoms(sp.Rational)), default=0)


def _mk(fn, *thunks):
    """Build the expected expression by hand; a bad argument or result propagates as _BAD."""
    args = [t() for t in thunks]
    if any(a is _TOO_BIG for a in args):
        return _TOO_BIG
    if any(a is _BAD or _bad(a) for a in args):
        return _BAD
    if fn is _pow and isinstance(args[1], sp.Rational) and abs(args[1]) > 1 \
            and _digits(args[0]) * abs(args[1]) > 2 * MAX_DIGITS:
        return _TOO_BIG
    try:
        out = fn(*args)
    except (ArithmeticError, ValueError, TypeError):
        return _BAD
    return _BAD if _bad(out) else out


def _pow(a, b):
    return a**b


_OPS = {"+": sp.Add, "-": lambda a, b: a - b, "*": sp.Mul, "/": lambda a, b: a / b, "**": _pow, "^": _pow}


def _node(text, fn, *children):
    return (text, lambda: _mk(fn, *(c[1] for c in children)))


def _extend(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children, _ws, _ws).map(
        lambda t: _node(f"({t[0][0]}{t[3]}{t[1]}{t[4]}{t[2][0]})", _OPS[t[1]], t[0], t[2]))
    power = st.tuples(children, st.sampled_from(["**", "^"]), _small_exponent).map(
        lambda t: _node(f"({t[0][0]}){t[1]}{t[2][0]}", _OPS[t[1]], t[0], t[2]))
    unary = st.tuples(st.sampled_from(["-", "+"]), children).map(
        lambda t: _node(f"{t[0]}({t[1][0]})", (lambda a: -a) if t[0] == "-" else (lambda a: a), t[1]))
    one_arg = st.tuples(st.sampled_from(["log", "ln", "sqrt", "LambertW", "Abs"]), children).map(
        lambda t: _node(f"{t[0]}({t[1][0]})", FUNCTIONS[t[0]][0], t[1]))
    # exp and gamma get a symbolic argument: numeric towers (exp(exp(999))) would hang the hand-built side
    grows = st.tuples(st.sampled_from(["exp", "gamma"]), _symbol, children).map(
        lambda t: _node(f"{t[0]}({t[1][0]}*{t[2][0]})", lambda a, b, f=FUNCTIONS[t[0]][0]: f(a * b),
                        t[1], t[2]))
    log_base = st.tuples(children, st.integers(2, 10)).map(
        lambda t: _node(f"log({t[0][0]}, {t[1]})", lambda a, b=t[1]: sp.log(a, b), t[0]))
    # Min/Max of leaves only: SymPy's pairwise comparison of large arguments takes seconds
    min_max = st.tuples(st.sampled_from(["Min", "Max"]), st.lists(_leaf, min_size=2, max_size=3)).map(
        lambda t: _node(f"{t[0]}({', '.join(c[0] for c in t[1])})", FUNCTIONS[t[0]][0], *t[1]))
    return st.one_of(binary, binary, power, unary, one_arg, grows, log_base, min_max)


_valid = st.recursive(_leaf, _extend, max_leaves=8)


def _count(n_expected: int, test) -> None:
    calls = []
    test(calls)
    assert len(calls) >= n_expected, (len(calls), n_expected)


def test_fuzz_grammar_generated_formulas_parse_to_the_hand_built_expression():
    @_settings(N_VALID)
    @given(_valid)
    def run(calls, case):
        calls.append(1)
        text, build = case
        expected = build()
        got, error = _checked_parse(text)
        if expected is _BAD:
            assert error is not None, (text, got)
        elif expected is _TOO_BIG or _digits(expected) > MAX_DIGITS:
            assert error is not None and "digits" in error.problem, (text, got)
        elif error is None:
            assert got == expected or sp.simplify(got - expected) == 0, (text, got, expected)
        else:  # only the documented bounds may refuse a grammatical formula
            assert "would produce a number" in error.problem or "digits" in error.problem, (text, error)

    _warm_up()  # SymPy imports submodules on first use: not while auditing
    _count(N_VALID, run)


# --------------------------------------------------------------------------------------------
# (b) hostile fragments

_HOSTILE = [
    "__import__", "__class__", "__bases__", "__subclasses__()", "__globals__", "__builtins__", "_x",
    ".", ".__class__", "N.real", "().__class__", "lambda", "lambda x: x", "x:", "[x for x in y]", "[", "]",
    "for", "in", "if", "else", "import os", "from os import system", "exec(", "eval(", "compile(",
    "open('/etc/passwd')", "getattr(N, 'a')", "os.system('ls')", "'", '"', "'str'", "b'x'", "f'{N}'",
    "{", "}", "{}", ";", "=", "==", ":=", "@", "%", "&", "|", "~", "<<", "#", "\\", "`", "$", "?", "!",
    "\x00", "\x1b[31m", "\x7f", "\r", "\n", "\t", "\x0c", "\u0085", "\u00a0", "\u200b", "\u202e",
    "\u039d", "\u0430", "\u0435", "\uff2e", "\u2212", "\u00b2", "\u03b1", "\u2126", "\U0001d4dd", "\ufeff",
    "10**10**10", "9**9**9**9", "2**(10**6)", "(10**400)**(10**400)", "2^2^2^2^2", "1e999", "1e1001",
    "1e-999", "9" * 1200, "gamma(10**6)", "exp(10**9*log(3))", "(sqrt(2)*N)**(10**9)", "0**-1", "1/0",
    "log(0)", "sqrt(-1)", "(", ")", "(" * 150, ")" * 150, "-" * 150, "sqrt(" * 120, "**", "^", "*", "/",
    "+", "-", ",", "N", "D", "E", "alpha", "2", "0.5", "1e30", "log(", "exp(", "Min(", "Max(N,", "Abs(",
    "gamma(", "LambertW(", "foo(", "W(", "pi", "inf", "nan", "oo", "zoo", "None", "True", "__",
]
_repeats = st.one_of(st.integers(1, 300),
                     st.sampled_from([1000, 2000, 3333, 4999, 5000, 9999, 10_000, 50_000]))
_long = st.tuples(st.sampled_from(["N+", "(N)*", "-", "(", "N**", "1e999*", "x1+", "9", "a__b+", "\u039d"]),
                  _repeats).map(lambda t: t[0] * t[1] + "N")
_nested = st.tuples(st.sampled_from(["(", "sqrt(", "-(", "Abs(", "log(N,"]), st.integers(1, 400),
                    st.integers(0, 400)).map(lambda t: t[0] * t[1] + "N" + ")" * t[2])
_fragments = st.lists(st.tuples(st.sampled_from(_HOSTILE), _ws), min_size=1, max_size=12).map(
    lambda parts: "".join(p + w for p, w in parts))
_hostile = st.one_of(*[_fragments] * 8, _long, _nested)  # weights 8:1:1 (long and deep inputs cost most)


def test_fuzz_hostile_fragments_are_refused_or_parsed_harmlessly():
    @_settings(N_HOSTILE)
    @given(_hostile)
    def run(calls, text):
        calls.append(1)
        _checked_parse(text)

    _warm_up()  # SymPy imports submodules on first use: not while auditing
    _count(N_HOSTILE, run)


# --------------------------------------------------------------------------------------------
# (c) arbitrary text and (d) mutated valid formulas

_GRAMMAR_CHARS = "0123456789.eE+-*/^() ,NDAB_alphbetgmoqrxsinLWMAbx\t\x00'[]:=;@_\u039d"
_arbitrary = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=_GRAMMAR_CHARS, max_size=60),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)


def test_fuzz_arbitrary_text_is_refused_or_parsed():
    @_settings(N_TEXT)
    @given(_arbitrary, st.booleans())
    def run(calls, text, closed):
        calls.append(1)
        symbols = {"N": sp.Symbol("N", positive=True), "D": sp.Symbol("D", positive=True)}
        _checked_parse(text, symbols=symbols, allow_new_symbols=not closed)

    _warm_up()  # SymPy imports submodules on first use: not while auditing
    _count(N_TEXT, run)


@st.composite
def _mutated(draw):
    text, _ = draw(_valid)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        ch = draw(st.one_of(st.sampled_from(list(_GRAMMAR_CHARS) + ["__", ".x", "lambda ", "**9**9"]),
                            st.characters()))
        how = draw(st.sampled_from(["insert", "replace", "delete"]))
        if how == "insert":
            text = text[:i] + ch + text[i:]
        elif how == "replace":
            text = text[:i] + ch + text[i + 1:]
        else:
            text = text[:i] + text[i + 1:]
    return text


def test_fuzz_mutated_formulas_are_refused_or_parsed():
    @_settings(N_MUTATED)
    @given(_mutated())
    def run(calls, text):
        calls.append(1)
        _checked_parse(text)

    _warm_up()  # SymPy imports submodules on first use: not while auditing
    _count(N_MUTATED, run)


def test_fuzz_budget_is_at_least_ten_thousand_inputs():
    assert N_VALID + N_HOSTILE + N_TEXT + N_MUTATED >= 10_000


def test_audit_hook_sees_forbidden_events():
    # the hook is live: compiling code while "parsing" would be caught
    _Audit.events = []
    _Audit.active = True
    try:
        compile("1", "<audit-check>", "eval")
    finally:
        _Audit.active = False
    assert _Audit.events == ["compile"]

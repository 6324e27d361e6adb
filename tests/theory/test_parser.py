"""Table-driven tests of the whitelisting formula parser (:mod:`scaling_theory.theory.parser`)."""

import time

import pytest
import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.theory.parser import MAX_DEPTH, MAX_DIGITS, MAX_LENGTH, FormulaError, parse_formula

N, D, E, A, B, C, T = sp.symbols("N D E A B C T", positive=True)
alpha, beta, gamma_, a, b, c, x, y, W = sp.symbols("alpha beta gamma a b c x y W", positive=True)
Nc, Dc, aN, aD, lam = sp.symbols("N_c D_c alpha_N alpha_D lam", positive=True)
R = sp.Rational

VALID = {
    # the laws of the paper and their building blocks
    "E + A/N**alpha + B/D**beta": E + A * N**-alpha + B * D**-beta,
    "E + A/N^alpha + B/D^beta": E + A * N**-alpha + B * D**-beta,
    "((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D": ((Nc / N) ** (aN / aD) + Dc / D) ** aD,
    "6*N*D": 6 * N * D,
    "1.69 + 406.4/N**0.34 + 410.7/D**0.28":
        R(169, 100) + R(4064, 10) * N ** R(-34, 100) + R(4107, 10) * D ** R(-28, 100),
    "A*log(N)/N + B/D": A * sp.log(N) / N + B / D,
    "log(N, 10)": sp.log(N) / sp.log(10),
    "ln(N) - log(D)": sp.log(N) - sp.log(D),
    "exp(-N/T) + sqrt(D)": sp.exp(-N / T) + sp.sqrt(D),
    "LambertW(N)": sp.LambertW(N),
    "gamma(alpha)": sp.gamma(alpha),
    "gamma*N + gamma(3)": gamma_ * N + 2,  # bare gamma is a symbol, called gamma is the function
    "Abs(N - D)": sp.Abs(N - D),
    "Min(N, D) + Max(N, D, 1)": sp.Min(N, D) + sp.Max(N, D, 1),
    "pi*N": sp.pi * N,
    "W + lam": W + lam,  # W is not a LambertW alias; lambda is spelled lam
    # exact numbers
    "0.34": R(17, 50),
    ".5": R(1, 2),
    "5.": sp.Integer(5),
    "007": sp.Integer(7),
    "1e30": sp.Integer(10) ** 30,
    "1E+30": sp.Integer(10) ** 30,
    "2.5E-3": R(1, 400),
    "1e-300": R(1, 10**300),
    "0.1 + 0.2": R(3, 10),
    "1/3": R(1, 3),
    "0e999999": sp.Integer(0),
    # precedence and associativity (Python's rules)
    "-2**2": sp.Integer(-4),
    "(-2)**2": sp.Integer(4),
    "2**3**2": sp.Integer(512),
    "2^3^2": sp.Integer(512),
    "2**-1": R(1, 2),
    "2**-3**2": R(1, 512),
    "a/b/c": a / (b * c),
    "a - b - c": a - b - c,
    "a - (b - c)": a - b + c,
    "a*b**2": a * b**2,
    "-a*b": -a * b,
    "+a": a,
    "--a": a,
    "2*-3": sp.Integer(-6),
    "1 + 2*3**2": sp.Integer(19),
    "x**y**2": x ** (y**2),
    # whitespace: spaces, tabs, line breaks
    " \tN\n+\r\nD ": N + D,
    # exponents that are large but symbolic or small numerically
    "N**1000000": N**1000000,
    "2**2**2**2": sp.Integer(65536),
    "exp(1000*log(N))": N**1000,
    "exp(2000) + exp(exp(7))": sp.exp(2000) + sp.exp(sp.exp(7)),
    "exp(exp(-1e30))": sp.exp(sp.exp(-sp.Integer(10) ** 30)),
    "1/(pi - 3) + (pi - 3)**-2": 1 / (sp.pi - 3) + (sp.pi - 3) ** -2,
    "1e999*N/1e999": N,
}


def test_valid_formulas_parse_to_the_expected_expression():
    for text, expected in VALID.items():
        got = parse_formula(text)
        assert isinstance(got, sp.Expr), text
        assert got == expected or sp.simplify(got - expected) == 0, (text, got, expected)


def test_new_names_are_positive_plain_symbols_never_sympy_specials():
    got = parse_formula("E + I + N + S + Q + O + beta")
    assert got.free_symbols == set(sp.symbols("E I N S Q O beta", positive=True))
    assert sp.E not in got.atoms() and sp.I not in got.atoms()
    assert all(s.is_positive for s in got.free_symbols)
    assert sp.latex(parse_formula("alpha")) == r"\alpha"


def test_numbers_are_exact():
    table = {"0.34": R(34, 100), "1e30": 10**30, "2.5E-3": R(25, 10**4),
             "123456789012345678901234567890.5": R(1234567890123456789012345678905, 10)}
    for text, expected in table.items():
        got = parse_formula(text)
        assert isinstance(got, sp.Rational) and got == expected, text
    assert parse_formula("1e999") == sp.Integer(10) ** 999  # the largest literal that fits MAX_DIGITS


def test_symbols_mapping_is_reused():
    n, d = sp.Symbol("N", positive=True, integer=True), sp.Symbol("D")
    got = parse_formula("6*N*D + k", symbols={"N": n, "D": d})
    assert got == 6 * n * d + sp.Symbol("k", positive=True)
    assert n in got.free_symbols and d in got.free_symbols
    # a declared name wins over pi and over a bare function name
    assert parse_formula("pi + log", symbols={"pi": x, "log": y}) == x + y


def test_allow_new_symbols_false_refuses_undeclared_names():
    table = {"N": N, "D": D}
    assert parse_formula("6*N*D + pi", symbols=table, allow_new_symbols=False) == 6 * N * D + sp.pi
    with pytest.raises(FormulaError) as info:
        parse_formula("6*N*T", symbols=table, allow_new_symbols=False)
    assert str(info.value) == "formula error at column 5: unknown symbol 'T' (declared: D, N) in '6*N*T'"
    with pytest.raises(FormulaError, match="declared: none"):
        parse_formula("N", allow_new_symbols=False)


def test_formula_error_is_a_user_input_error_with_position():
    with pytest.raises(UserInputError) as info:
        parse_formula("N.__class__")
    err = info.value
    assert isinstance(err, FormulaError)
    assert str(err) == "formula error at column 2: '.' is not allowed (attribute access) in 'N.__class__'"
    assert err.column == 2 and err.problem == "'.' is not allowed (attribute access)"


# hostile or malformed input -> (column, a fragment the one-line message must contain)
REFUSED = {
    "__import__('os').system('x')": (1, "'__import__': names starting with '_'"),
    "N.__class__.__bases__": (2, "attribute access"),
    "N.real": (2, "attribute access"),
    "(1).real": (4, "attribute access"),
    "lambda x: x": (1, "'lambda' is a Python keyword"),
    "[x for x in y]": (1, "brackets are not allowed"),
    "(x for x in y)": (4, "'for' is a Python keyword"),
    "import os": (1, "'import' is a Python keyword"),
    "exec('1')": (1, "'exec' is not an allowed function"),
    "eval('1')": (1, "'eval' is not an allowed function"),
    "getattr(N,'a')": (1, "'getattr' is not an allowed function"),
    "().__class__": (2, "empty parentheses"),
    "a if b else c": (3, "'if' is a Python keyword"),
    "'str'": (1, "quotes are not allowed"),
    '"str"': (1, "quotes are not allowed"),
    "{}": (1, "braces are not allowed"),
    "N;D": (2, "';' is not allowed"),
    "N=1": (2, "'=' is not allowed"),
    "N==1": (2, "'=' is not allowed"),
    "N<D": (2, "'<' is not allowed"),
    "N@D": (2, "'@' is not allowed"),
    "N%2": (2, "'%' is not allowed"),
    "N|D": (2, "'|' is not allowed"),
    "~N": (1, "'~' is not allowed"),
    "N # comment": (3, "'#' is not allowed"),
    "N[0]": (2, "brackets are not allowed"),
    "N:D": (2, "':' is not allowed"),
    "f'{N}'": (2, "quotes are not allowed"),
    "N\\\nD": (2, "'\\' is not allowed"),
    "2//3": (2, "floor division"),
    "1.2.3": (4, "at most one decimal point"),
    "_x": (1, "names starting with '_'"),
    "a__b": (1, "names containing '__'"),
    "True": (1, "'True' is a Python keyword"),
    "None*N": (1, "'None' is a Python keyword"),
    "not N": (1, "'not' is a Python keyword"),
    "inf": (1, "non-finite"),
    "nan": (1, "non-finite"),
    "oo": (1, "non-finite"),
    "zoo + 1": (1, "non-finite"),
    # unknown functions, arity, structure
    "foo(N)": (1, "'foo' is not an allowed function"),
    "W(N)": (1, "'W' is not an allowed function"),
    "sin(N)": (1, "'sin' is not an allowed function"),
    "N(3)": (1, "'N' is not an allowed function"),
    "pi(3)": (1, "'pi' is a symbol, not a function"),
    "log()": (1, "log() takes 1 or 2 arguments, got 0"),
    "log(N, 2, 3)": (1, "log() takes 1 or 2 arguments, got 3"),
    "exp(N, D)": (1, "exp() takes 1 argument, got 2"),
    "Min(N)": (1, "Min() takes 2 to 16 arguments, got 1"),
    "Max(" + "N, " * 16 + "D)": (1, "Max() takes 2 to 16 arguments, got 17"),
    "log": (1, "'log' is a function; call it as log(...)"),
    "sqrt + 1": (1, "'sqrt' is a function"),
    "N,D": (2, "',' is only allowed between function arguments"),
    "(N,D)": (3, "no tuples"),
    "log(N,)": (7, "unexpected ')'"),
    "": (1, "empty formula"),
    "   ": (1, "empty formula"),
    "(N": (1, "'(' at column 1 is never closed"),
    "log(N": (4, "'(' at column 4 is never closed"),
    "N)": (2, "unmatched ')'"),
    "N+": (3, "unexpected end of formula"),
    "N*/D": (3, "unexpected '/'"),
    "*N": (1, "unexpected '*'"),
    "2N": (1, "implicit multiplication"),
    "2 N": (3, "implicit multiplication"),
    "N D": (3, "implicit multiplication"),
    "(A)(B)": (4, "implicit multiplication"),
    "2(N)": (2, "implicit multiplication"),
    "2 .5": (3, "implicit multiplication"),
    "0x1F": (1, "implicit multiplication"),
    "1_000": (1, "implicit multiplication"),
    # values that are not finite reals
    "1/0": (2, "division by zero"),
    "N/(D-D)": (2, "division by zero"),
    "0**-1": (2, "zero to a negative power"),
    "log(0)": (1, "logarithm of zero"),
    "log(N, 1)": (1, "not finite"),
    "gamma(-1)": (1, "not finite"),
    "sqrt(-1)": (1, "not real"),
    "log(-1)": (1, "not real"),
    "(-8)**(1/3)": (5, "not real"),
    # resource bounds
    "10**10**10": (3, "would produce a number with about 10000000000 digits"),
    "9**9**9**9": (5, "would produce a number"),
    "2**(10**6)": (2, "would produce a number with about 301029 digits"),
    "(10**400)**(10**400)": (10, "would produce a number"),
    "2**2**2**2**2": (2, "would produce a number with about 19728 digits"),
    "(sqrt(2)*N)**(10**9)": (12, "would produce a number"),
    "(N**2)**(10**999)": (7, "would produce a number"),
    "exp(10**9*log(3))": (1, "exp(...) would produce a number"),
    "exp(N + 10**9*log(3))": (1, "exp(...) would produce a number"),
    "gamma(10**6)": (1, "gamma(...) would produce a number"),
    "gamma(1/2 - 10**6)": (1, "gamma(...) would produce a number"),
    "1e999*1e999": (6, f"more than {MAX_DIGITS} digits"),
    # numeric towers: SymPy would never finish comparing or printing them (Abs, Min, log, str)
    "Abs(exp(exp(exp(100))) - 1)": (9, "exp(...) would produce a number of about 10**1e43"),
    "Min(N, exp(exp(7)) + 1, exp(exp(exp(9))))": (29, "exp(...) would produce a number of about 10**3519"),
    "exp(2400)": (1, "exp(...) would produce a number of about 10**1042"),
    "exp(1e30)": (1, "exp(...) would produce a number"),
    "pi**(10**6)": (3, "'**' would produce a number of about 10**497"),
    "pi**pi**pi**pi": (3, "'**' would produce a number"),
    "2**(pi*10**6)": (2, "'**' would produce a number"),
    "gamma(exp(100))": (1, "gamma(...) would produce a number"),
    "gamma(400.5)": (1, "gamma(...) would produce a number with about 1042 digits"),
    "exp(2000)*exp(2000)": (10, "'*' gives a number of about 10**1737"),
    "exp(1/(sqrt(2) - 1.41421356237))": (1, "the size of this number cannot be bounded"),
    "1e1000": (1, "has too many digits"),
    "1e-1000": (1, "has too many digits"),
    "1e9999999": (1, "has too many digits"),
    "1" * 1001: (1, "has too many digits"),
    "-" * 200 + "N": (MAX_DEPTH + 1, "nesting is too deep"),
    "(" * 4000 + "N" + ")" * 4000: (MAX_DEPTH + 1, "nesting is too deep"),
    "sqrt(" * 200 + "N" + ")" * 200: (5 * MAX_DEPTH + 5, "nesting is too deep"),
    "2**" * 300 + "2": (3 * MAX_DEPTH + 2, "nesting is too deep"),
    "N" + "+N" * 50_000: (MAX_LENGTH + 1, "too long (100001 characters"),
    "(" * 10_000 + "N" + ")" * 10_000: (MAX_LENGTH + 1, "too long"),
    # characters outside printable ASCII
    "N\x00": (2, "NUL byte U+0000"),
    "\x00": (1, "NUL byte"),
    "N+\x1b[31mD": (3, "control character U+001B"),
    "N\x7f": (2, "control character U+007F"),
    "\u039d + D": (1, "U+039D (GREEK CAPITAL LETTER NU)"),  # looks like N
    "N + \u0430": (5, "U+0430 (CYRILLIC SMALL LETTER A)"),  # looks like a
    "\uff2e+1": (1, "FULLWIDTH LATIN CAPITAL LETTER N"),
    "N\u00a0+ D": (2, "NO-BREAK SPACE"),
    "N \u2212 D": (3, "MINUS SIGN"),
    "\u03b1 * N": (1, "GREEK SMALL LETTER ALPHA"),
    "N\u200b": (2, "ZERO WIDTH SPACE"),
    "\U0001d4dd": (1, "U+1D4DD"),
}


def test_refused_inputs_raise_a_one_line_error_naming_column_and_token():
    for text, (column, fragment) in REFUSED.items():
        start = time.perf_counter()
        with pytest.raises(FormulaError) as info:
            parse_formula(text)
        elapsed = time.perf_counter() - start
        msg = str(info.value)
        assert "\n" not in msg and "\r" not in msg and msg.isascii() and msg.isprintable(), repr(msg)
        assert msg.startswith(f"formula error at column {column}: "), (text[:40], msg)
        assert fragment in msg, (text[:40], msg)
        assert info.value.column == column
        assert len(msg) < 400, msg  # long input is trimmed in the echo
        assert elapsed < 2.0, (text[:40], elapsed)  # blow-up guard, not a speed claim


def test_long_input_is_trimmed_around_the_offending_column():
    text = "N + " * 100 + "D.x" + " + N" * 100
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    msg = str(info.value)
    assert msg.startswith("formula error at column 402: '.' is not allowed")
    assert msg.endswith(" + N + D.x + N + N + N + N + N + N + N...'") and "in '... N + N" in msg


def test_nesting_up_to_the_limit_is_accepted():
    deep = "(" * (MAX_DEPTH - 1) + "N" + ")" * (MAX_DEPTH - 1)
    assert parse_formula(deep) == N
    assert parse_formula("-" * MAX_DEPTH + "N") == N


def test_non_string_input_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_formula(b"N")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_formula("N", symbols={"N": 3})  # type: ignore[dict-item]

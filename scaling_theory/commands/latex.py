"""`scaling-theory latex`: LaTeX of a law and its optimum, or a derivation's document."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, add_law_arguments, emit, law_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "latex", help="LaTeX of a law, its optimum and exponents (or a derivation document)",
        description="LaTeX (SymPy's printer, paper symbol names) of a law and its compute-optimal "
                    "allocation; --document gives a complete document (for a derivation name: its "
                    "checked steps).")
    add_law_arguments(parser)
    parser.add_argument("--document", action="store_true", help="a complete document")
    parser.add_argument("--route", metavar="NAME", default=None,
                        help="for a law with proof routes: this route only (default: the law's minimum and every "
                             "route)")
    parser.add_argument("--format", choices=("latex", "markdown"), default="latex",
                        help="document format (default latex)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (a file is replaced atomically; a link is followed; /dev/stdout prints)")
    from scaling_theory.commands.exponents import add_exponent_arguments

    group = parser.add_argument_group("the exponent map (NAME = exponents: the map as a LaTeX table, with "
                                      "--document its derivation)")
    add_exponent_arguments(group, route=False)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _derivation_names() -> list[str]:
    """Derivations and their aliases (``jeon-van-roy`` = the whole chain behind that law, ``all``)."""
    from scaling_theory.derivations.registry import ALIASES, derivation_names

    return [*derivation_names(), *ALIASES]


_MAP_DEFAULTS = {"teacher": "pitman-yor", "sigma": None, "param": [], "scale": "barron", "measured": None}


def run(args) -> int:
    from scaling_theory.errors import UserInputError
    from scaling_theory.theory.registry import law_names

    name = args.name
    if args.expr is None and name == "exponents":
        return _exponents(args)
    changed = [k for k, v in _MAP_DEFAULTS.items() if getattr(args, k) != v]
    if changed:
        raise UserInputError(f"--{changed[0]} goes with NAME exponents (the exponent map)")
    laws = law_names()
    if args.expr is None and name is not None:
        derivs = _derivation_names()
        is_derivation = name in derivs
        # a derivation's document when asked for one (or when NAME is only a derivation)
        if is_derivation and (args.document or name not in laws):
            from scaling_theory.derivations.render import render_document

            text = render_document(name, args.format)
            payload = {"name": name, "format": args.format, "document": text}
            return _output(args, payload, text)
        if name not in laws:
            raise UserInputError(f"unknown law or derivation {name!r} (laws: {', '.join(laws)}; "
                                 f"derivations: {', '.join(derivs)})")
    from scaling_theory.theory.allocation import compute_optimal_allocation
    from scaling_theory.theory.latex import abbreviations_latex, allocation_latex, law_document, law_latex

    law = law_from_args(args)
    if law.routes:
        return _routes(args, law)
    if args.route is not None:
        law.route(args.route)   # one-line error: this law is one formula
    alloc = compute_optimal_allocation(law)
    tex = allocation_latex(alloc)
    if args.document:
        text = law_document(law, alloc, fmt=args.format)
    else:
        N, D = tex_symbol(alloc.model, alloc), tex_symbol(alloc.data, alloc)
        lines = [law_latex(law), f"{tex['cost']} = {tex_symbol(alloc.compute, alloc)}",
                 f"{N}^* = {tex['model_optimal']}", f"{D}^* = {tex['data_optimal']}",
                 f"{N}^*/{D}^* = {tex['ratio']}", f"L^* = {tex['optimal_loss']}"]
        if tex["model_exponent"] is not None:
            lines += [f"a = {tex['model_exponent']}", f"b = {tex['data_exponent']}"]
        if tex["implicit_equation"] is not None:
            lines.append(f"{tex['implicit_equation']}")
        if alloc.abbreviations:
            lines += ["where", *abbreviations_latex(alloc)]
        text = "\n".join(lines)
    payload = {"name": law.name, "law": law_latex(law), "latex": tex,
               "abbreviations": dict(zip((k.name for k in alloc.abbreviations), abbreviations_latex(alloc)))}
    if args.document:
        payload.update(format=args.format, document=text)
    return _output(args, payload, text)


def _routes(args, law) -> int:
    """A law with proof routes: its minimum and each route (bound, window, leading orders, exponent)."""
    from scaling_theory.theory.latex import routes_document, routes_latex
    from scaling_theory.theory.routes import route_allocations

    routes = route_allocations(law, args.route)
    lines = routes_latex(law, routes)
    if args.route is not None:
        lines = lines[1:]   # one route: no minimum to show
    text = routes_document(law, routes, fmt=args.format) if args.document else "\n".join(lines)
    payload = {"name": law.name, "routes": [r.name for r in routes], "latex": lines}
    if args.document:
        payload.update(format=args.format, document=text)
    return _output(args, payload, text)


def _exponents(args) -> int:
    """``latex exponents``: the exponent map as a LaTeX table (``--document``: with its derivation, compiled by
    pdflatex as is; ``--format markdown``: the map's Markdown table)."""
    from scaling_theory.commands.exponents import build_map

    result = build_map(args)
    if args.format == "markdown":
        text = result._repr_markdown_()
    else:
        text = result.latex(document=args.document)
    payload = {"name": "exponents", "format": args.format, "teacher": result.teacher, "latex" if args.format == "latex"
               else "markdown": text, **({"document": text} if args.document else {})}
    return _output(args, payload, text)


def tex_symbol(sym, alloc) -> str:
    from scaling_theory.theory.latex import to_latex

    return to_latex(sym, alloc.latex_names)


def _output(args, payload: dict, text: str) -> int:
    if args.output:
        from scaling_theory._files import write_atomic

        write_atomic(args.output, text.rstrip("\n") + "\n")
        emit({**payload, "output": args.output}, f"wrote {args.output}", args.json)
    else:
        emit(payload, text, args.json)
    return 0

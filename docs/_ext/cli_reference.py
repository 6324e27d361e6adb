"""Two small directives: the CLI reference from argparse, and a derivation rendered as Markdown."""

from __future__ import annotations

import argparse

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class CliReference(SphinxDirective):
    """One section per subcommand with its ``--help`` text (from ``scaling_theory.cli.build_parser``)."""

    def run(self):
        from scaling_theory.cli import build_parser

        parser = build_parser()
        out = [nodes.literal_block(text=parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    sec = nodes.section(ids=[f"cli-{name}"])
                    sec += nodes.title(text=f"scaling-theory {name}")
                    sec += nodes.literal_block(text=sub.format_help())
                    out.append(sec)
        return out


class DerivationMarkdown(SphinxDirective):
    """The Markdown the toolkit renders for a derivation (``scaling-theory latex NAME --format markdown``)."""

    required_arguments = 1

    def run(self):
        from scaling_theory.derivations.render import render_document

        text = render_document(self.arguments[0], "markdown")
        text = "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())
        return self.parse_text_to_nodes(text) if hasattr(self, "parse_text_to_nodes") else \
            [nodes.literal_block(text=text)]


def setup(app):
    app.add_directive("cli-reference", CliReference)
    app.add_directive("derivations-markdown", DerivationMarkdown)
    return {"parallel_read_safe": True}

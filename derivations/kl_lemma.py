"""The Bernoulli-logit KL lemma: ``KL(Bern(sigma(f)) || Bern(sigma(g))) <= (f - g)^2/8`` (framework 3).

Standard: the KL between two members of an exponential family is the Bregman divergence of the
log-partition function (softplus), whose second derivative ``sigma(1 - sigma)`` is at most 1/4.

References
----------
docs/paper-setting.md "Framework" item 3; Jeon & Van Roy, arXiv:2212.01365 (used for the misspecification error).
"""

from __future__ import annotations

import sympy as sp

from scaling_theory.derivations.core import Derivation, identity, inequality
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.framework import bernoulli_kl, kl_quadratic_bound, sigmoid, softplus

__all__ = ["derivation"]

f, g, x = sp.symbols("f g x", real=True)
s = sp.Symbol("s", real=True)


def derivation() -> Derivation:
    """The Bernoulli-logit KL lemma ``KL(Bern(sigma(f)) || Bern(sigma(g))) <= (f - g)^2/8`` via the
    Bregman form of softplus and ``sigma (1 - sigma) <= 1/4`` (standard; docs/paper-setting.md "Framework" item 3,
    used for the misspecification error of Jeon & Van Roy, arXiv:2212.01365).

    Returns
    -------
    Derivation
        ``kl-lemma``: 4 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('kl-lemma', 4, 0)
    >>> [s.name for s in der.steps][:2]
    ['kl-bregman', 'softplus-curvature']
    """
    logits = {f: Box(-30, 30), g: Box(-30, 30, extra=(0,))}
    steps = (
        identity("kl-bregman", bernoulli_kl(f, g), softplus(g) - softplus(f) - sigmoid(f) * (g - f), logits,
                 "Exponential-family form: ln Bern(y; sigma(f)) = y f - softplus(f), so the KL is the Bregman "
                 "divergence of softplus (standard).", symbolic=False),
        identity("softplus-curvature", sp.diff(softplus(x), x, 2), sigmoid(x) * (1 - sigmoid(x)),
                 {x: Box(-40, 40)}, "Differentiate softplus twice: softplus' = sigma, sigma' = sigma (1 - sigma)."),
        inequality("curvature-at-most-quarter", s * (1 - s), sp.Rational(1, 4), {s: Box(0, 1)},
                   "1/4 - s(1 - s) = (s - 1/2)^2 >= 0 for the sigmoid value s (symbolic certificate).",
                   certificate=(s - sp.Rational(1, 2)) ** 2),
        inequality("kl-quadratic", bernoulli_kl(f, g), kl_quadratic_bound(f, g), logits,
                   "Taylor's theorem with integral remainder for the Bregman divergence and curvature <= 1/4 "
                   "give KL <= (f - g)^2/8 (standard); checked at random and edge logits.", points=30),
    )
    return Derivation("kl-lemma", "Bernoulli-logit KL lemma",
                      "KL between sigmoid outputs is at most the squared logit gap over 8.", steps,
                      conclusion={"KL lemma": sp.Le(sp.Symbol("KL"), kl_quadratic_bound(f, g))})

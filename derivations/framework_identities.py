"""Framework identities (docs/paper-setting.md "Framework" 1, 2, 4): Bayes identity, proxy bound, rate-distortion form.

These are standard results (not ours).  They are checked exactly on small discrete Bayesian models
("toys"): a finite teacher set with a random prior, binary inputs and Bernoulli outputs, where every
quantity is a finite sum evaluated with mpmath at the working precision.

References
----------
Jeon & Van Roy, arXiv:2212.01365, Sec. 3 (framework); Cover & Thomas, ch. 2 (chain rule).
"""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import mpmath
import sympy as sp

from scaling_theory.derivations.core import Derivation, identity, numeric_values, value_inequalities
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.framework import RateDistortionBound, bayes_identity

__all__ = ["derivation", "toy_model", "bayes_sides", "proxy_sides"]

_T = sp.Symbol("T", positive=True)
_SEEDS = range(6)


def toy_model(seed: int, m: int = 3, m_proxy: int = 2) -> dict:
    """A random finite Bayesian model (exact rationals): prior, P(X=1), theta[f][x], proxy channel."""
    rng = random.Random(seed)

    def simplex(k):
        w = [Fraction(rng.randint(1, 20)) for _ in range(k)]
        return [x / sum(w) for x in w]

    theta = [[Fraction(rng.randint(1, 19), 20) for _ in range(2)] for _ in range(m)]
    theta_proxy = [[Fraction(rng.randint(1, 19), 20) for _ in range(2)] for _ in range(m_proxy)]
    return {"prior": simplex(m), "px1": Fraction(rng.randint(1, 9), 10), "theta": theta,
            "channel": [simplex(m_proxy) for _ in range(m)], "theta_proxy": theta_proxy}


def _mp(q):
    return mpmath.mpf(q.numerator) / q.denominator


def _kl(a, b):
    return a * mpmath.log(a / b) + (1 - a) * mpmath.log((1 - a) / (1 - b))


def _likelihoods(model, t):
    """{sequence of (x, y): [P(seq | f) for f]} for all sequences of length t (exact in mpmath)."""
    px = [1 - _mp(model["px1"]), _mp(model["px1"])]
    th = [[_mp(v) for v in row] for row in model["theta"]]
    out = {}
    for seq in itertools.product([(0, 0), (0, 1), (1, 0), (1, 1)], repeat=t):
        out[seq] = [mpmath.fprod(px[x] * (th[f][x] if y else 1 - th[f][x]) for x, y in seq)
                    for f in range(len(th))]
    return out


def bayes_sides(model: dict, T: int) -> tuple:
    """``(sum_t E[KL(P(Y|F,X_t) || P_hat_t)], I(F; D_T))`` of a toy model; the Bayes identity says equal."""
    prior = [_mp(v) for v in model["prior"]]
    px = [1 - _mp(model["px1"]), _mp(model["px1"])]
    th = [[_mp(v) for v in row] for row in model["theta"]]
    total_kl = mpmath.mpf(0)
    for t in range(T):
        for seq, lik in _likelihoods(model, t).items():
            joint = [prior[f] * lik[f] for f in range(len(prior))]
            z = mpmath.fsum(joint)
            for x in (0, 1):
                pred = mpmath.fsum(joint[f] * th[f][x] for f in range(len(prior))) / z
                total_kl += mpmath.fsum(joint[f] * px[x] * _kl(th[f][x], pred) for f in range(len(prior)))
    info = mpmath.mpf(0)
    for seq, lik in _likelihoods(model, T).items():
        marg = mpmath.fsum(prior[f] * lik[f] for f in range(len(prior)))
        info += mpmath.fsum(prior[f] * lik[f] * mpmath.log(lik[f] / marg) for f in range(len(prior)))
    return total_kl, info


def proxy_sides(model: dict, T: int) -> tuple:
    """``(L_T, I(F; F~)/T + E[KL(P(Y|F,X) || P(Y|F~,X))])`` of a toy model with its proxy channel."""
    _, info = bayes_sides(model, T)
    prior = [_mp(v) for v in model["prior"]]
    px = [1 - _mp(model["px1"]), _mp(model["px1"])]
    th = [[_mp(v) for v in row] for row in model["theta"]]
    thp = [[_mp(v) for v in row] for row in model["theta_proxy"]]
    ch = [[_mp(v) for v in row] for row in model["channel"]]
    marg = [mpmath.fsum(prior[f] * ch[f][g] for f in range(len(prior))) for g in range(len(thp))]
    mi = mpmath.fsum(prior[f] * ch[f][g] * mpmath.log(ch[f][g] / marg[g])
                     for f in range(len(prior)) for g in range(len(thp)))
    mis = mpmath.fsum(prior[f] * ch[f][g] * px[x] * _kl(th[f][x], thp[g][x])
                      for f in range(len(prior)) for g in range(len(thp)) for x in (0, 1))
    return info / T, mi / T + mis


def _bayes_pairs(dps):
    return [bayes_sides(toy_model(s), T) for s in _SEEDS for T in (1, 2, 3)]


def _proxy_pairs(dps):
    return [proxy_sides(toy_model(s), T) for s in _SEEDS for T in (1, 2, 3)]


def derivation() -> Derivation:
    """The framework identities (standard, not ours): the Bayes identity ``L_T = I(F; D_T)/T``, the proxy
    bound ``L_T <= I(F; F~)/T + E[KL(P(Y|F,X) || P(Y|F~,X))]`` and the rate-distortion optimum of
    ``H_eps(F)/T + eps``, each checked exactly on small discrete Bayesian toys with mpmath
    (Jeon & Van Roy, arXiv:2212.01365, Sec. 3; docs/paper-setting.md "Framework" 1, 2, 4).

    Returns
    -------
    Derivation
        ``framework``: 3 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('framework', 3, 0)
    >>> [s.name for s in der.steps][:2]
    ['bayes-identity', 'proxy-bound']
    """
    I, L = sp.Symbol("I(F;D_T)", positive=True), sp.Symbol("L_T", positive=True)
    Iproxy = sp.Symbol(r"I(F;\tilde{F})", positive=True)
    mis = sp.Symbol(r"E[KL(P(Y|F,X)||P(Y|\tilde{F},X))]", positive=True)
    eps, k = sp.symbols("epsilon k", positive=True)
    rd = RateDistortionBound(k * sp.log(1 / eps), eps, _T)
    steps = (
        numeric_values(
            "bayes-identity", "identity", L, bayes_identity(I, _T).rhs,
            "Chain rule of mutual information: I(F;D_T) = sum_t I(F; Y_{t+1} | D_t, X_t), and each term is "
            "the expected KL between P(Y|F,X_t) and the posterior predictive (framework, standard). "
            "Checked exactly on 6 random finite Bayesian models for T = 1, 2, 3.",
            pairs=_bayes_pairs, method="exact-enumeration"),
        value_inequalities(
            "proxy-bound", L, Iproxy / _T + mis,
            "For any proxy F~ with F~ independent of D_T given F: L_T = I(F;D_T)/T <= I(F;F~)/T + "
            "E[KL(P(Y|F,X) || P(Y|F~,X))] (framework: estimation error + misspecification error). "
            "Checked exactly on 6 random toy models and proxy channels, T = 1, 2, 3.",
            pairs=_proxy_pairs, method="exact-enumeration"),
        identity(
            "rate-distortion-optimum", rd.optimized(), (k * sp.log(_T / k) + k) / _T,
            {k: Box(0.1, 100, log=True), _T: Box(1, 1e12, log=True)},
            "Rate-distortion form inf_eps [H_eps(F)/T + eps]; for H_eps = k ln(1/eps) the infimum is at "
            "eps* = k/T and equals (k ln(T/k) + k)/T (framework; example entropy ours)."),
    )
    return Derivation(
        "framework", "The information-theoretic framework",
        "Reducible error as average expected KL equals I(F;D_T)/T for the Bayesian learner; any proxy gives "
        "estimation + misspecification; the infimum over proxies is the rate-distortion form.",
        steps, conclusion={"Bayes identity": bayes_identity(I, _T),
                           "proxy bound": sp.Le(L, Iproxy / _T + mis)})

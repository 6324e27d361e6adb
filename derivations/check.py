"""Run the checks of every step of the named derivations and report (``scaling-theory check``).

Stateless and process-safe: each derivation is rebuilt from its name in the worker, precision is set
only through ``mp.workdps`` inside the checkers, and Monte Carlo draws are seeded per step.

Examples
--------
>>> report = run_checks(["kl-lemma"], digits=20)
>>> report.ok, report.failed, report.steps_verified >= 4
(True, 0, True)
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from scaling_theory.derivations.registry import derivation_names, get_derivation, resolve
from scaling_theory.errors import UserInputError

__all__ = ["CheckReport", "run_checks", "check_derivation", "validate_digits", "MIN_DIGITS", "MAX_DIGITS"]

MIN_DIGITS, MAX_DIGITS = 15, 5000


@dataclass
class CheckReport:
    """Outcome of :func:`run_checks`: one dict per step plus totals.

    Parameters
    ----------
    steps : one dict per step (keys ``derivation``, ``step``, ``kind``, ``ours``, ``method``,
        ``digits``, ``max_rel_error``, ``status`` = ``"verified"`` | ``"consistent"`` | ``"FAILED"``, ``evidence``, ``detail``, ``seconds``).
    digits : working digits requested.
    seconds : wall time of the run.

    Examples
    --------
    >>> report = CheckReport([{"step": "a", "status": "verified"}, {"step": "b", "status": "FAILED"}])
    >>> report.steps_verified, report.failed, report.ok
    (1, 1, False)
    >>> report.to_json()["digits"], CheckReport().ok   # an empty report is not a success
    (50, False)
    """

    steps: list[dict] = field(default_factory=list)
    digits: int = 50
    seconds: float = 0.0

    @property
    def steps_verified(self) -> int:
        """Number of steps whose status is ``"verified"``."""
        return sum(1 for s in self.steps if s["status"] == "verified")

    @property
    def failed(self) -> int:
        """Number of steps not verified (failed checks and crashed checkers); consistency steps excluded."""
        return sum(1 for s in self.steps if s["status"] not in ("verified", "consistent"))

    @property
    def consistency(self) -> int:
        """Number of steps that only restate a definition (checked, shown, not counted as verified)."""
        return sum(1 for s in self.steps if s["status"] == "consistent")

    @property
    def ok(self) -> bool:
        """At least one step and none failed."""
        return bool(self.steps) and self.failed == 0

    def _repr_markdown_(self) -> str:
        """One table row per step (Jupyter).

        Examples
        --------
        >>> md = CheckReport([{"derivation": "d", "step": "a", "kind": "identity", "status": "verified"}])._repr_markdown_()
        >>> md.splitlines()[0], md.splitlines()[-1]
        ('**1 of 1 steps verified** at 50 digits', '| d | a | identity | verified |  |')
        """
        def err(s):
            e = s.get("max_rel_error")
            return "" if e is None else (f"{e:.1e}" if isinstance(e, float) else str(e))
        lines = [f"**{self.steps_verified} of {len(self.steps)} steps verified** at {self.digits} digits", "",
                 "| derivation | step | kind | status | max rel. error |", "|---|---|---|---|---|"]
        lines += [f"| {s.get('derivation', '')} | {s.get('step', '')} | {s.get('kind', '')} | "
                  f"{s['status']} | {err(s)} |" for s in self.steps]
        return "\n".join(lines)

    def to_json(self) -> dict:
        """``{ok, steps_verified, failed, consistency, digits, seconds, steps}`` for ``check --json``."""
        return {"ok": self.ok, "steps_verified": self.steps_verified, "failed": self.failed,
                "consistency": self.consistency,
                "digits": self.digits, "seconds": round(self.seconds, 3), "steps": self.steps}


def validate_digits(digits) -> int:
    """``digits`` as an int in ``[MIN_DIGITS, MAX_DIGITS]``, else a one-line :class:`UserInputError`.

    Examples
    --------
    >>> validate_digits(50)
    50
    >>> validate_digits(10)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: digits must be between 15 and 5000, got 10
    >>> validate_digits(True)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: digits must be an integer, got True
    """
    if isinstance(digits, bool) or not isinstance(digits, int):
        raise UserInputError(f"digits must be an integer, got {digits!r}")
    if not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise UserInputError(f"digits must be between {MIN_DIGITS} and {MAX_DIGITS}, got {digits}")
    return digits


def check_derivation(derivation, digits: int = 50) -> list[dict]:
    """Verify every step of one derivation object; a checker that raises counts as a failed step."""
    rows = []
    for step in derivation.steps:
        t0 = time.perf_counter()
        try:
            res = step.verify(digits)
            row = {"method": res.method, "digits": res.digits, "max_rel_error": res.max_rel_error,
                   "status": "verified" if res.ok else "FAILED", "detail": res.detail}
        except Exception as err:  # a crashing checker is a failed step, reported, never hidden
            row = {"method": "error", "digits": digits, "max_rel_error": None, "status": "FAILED",
                   "detail": f"{type(err).__name__}: {err}"}
        evidence = step.evidence_kind
        if evidence == "consistency" and row["status"] == "verified":
            row["status"] = "consistent"   # restates a definition: not counted as verified
        rows.append({"derivation": derivation.name, "step": step.name, "kind": step.kind, "ours": step.ours,
                     "evidence": evidence, **row, "seconds": round(time.perf_counter() - t0, 3)})
    return rows


def _check_by_name(name: str, digits: int) -> list[dict]:
    return check_derivation(get_derivation(name), digits)


def run_checks(names: list[str] | str | None = None, digits: int = 50, *, workers: int = 1,
               progress: bool = False) -> CheckReport:
    """Check the named derivations (aliases such as ``all`` or a law name allowed; default: all).

    Parameters
    ----------
    names : derivation names or aliases, or one name as a string; ``None`` means every derivation.
    digits : working digits (15..5000); identities are re-checked at twice this precision.
    workers : processes to use (``1``: in this process).
    progress : show a tqdm bar on stderr.

    Returns
    -------
    CheckReport
        One row per step, in derivation order; a checker that raises is a failed step, never an error.

    Raises
    ------
    UserInputError
        For an unknown derivation name or ``digits`` outside ``[MIN_DIGITS, MAX_DIGITS]``.

    Examples
    --------
    >>> report = run_checks(["kl-lemma"], digits=15)
    >>> report.ok, report.steps_verified, report.failed, report.consistency
    (True, 4, 0, 0)
    >>> [(row["step"], row["evidence"]) for row in report.steps][:2]
    [('kl-bregman', 'numeric'), ('softplus-curvature', 'symbolic')]
    >>> run_checks("kl-lemma", digits=15).steps_verified     # one name as a string
    4
    """
    digits = validate_digits(digits)
    if isinstance(names, str):  # one name, not a sequence of one-letter names
        names = [names]
    chosen: list[str] = []
    for name in (names or derivation_names()):
        for resolved in resolve(name):
            if resolved not in chosen:
                chosen.append(resolved)
    t0 = time.perf_counter()
    rows: list[dict] = []
    if workers > 1 and len(chosen) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(_check_by_name, chosen, [digits] * len(chosen)):
                rows.extend(part)
    else:
        iterator = chosen
        if progress:
            from tqdm import tqdm
            iterator = tqdm(chosen, desc="derivations", unit="deriv")
        for name in iterator:
            rows.extend(_check_by_name(name, digits))
    return CheckReport(rows, digits, time.perf_counter() - t0)

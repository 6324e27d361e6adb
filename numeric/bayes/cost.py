"""Memory and time of an SMC job, estimated before it starts (docs/bayes.md, "Sizes, memory and time").

The sampler's work (``P`` particles, latent dimension ``D``, a width-``m`` network on ``d`` inputs):

* reweighting: ``P T`` particle updates (one particle's likelihood at one observation);
* moves: per resampling event at ``t`` observations, ``moves x P`` proposals, each rescored on all ``t``
  observations (``t`` updates) and made from ``D`` normals through the ``D x D`` Cholesky factor.

The events come when the posterior has shrunk by a fixed factor, so they are spaced geometrically in
``t`` and their ``t`` sum to a multiple of ``T`` that grows with the latent dimension and saturates:
measured ``sum_e t_e / T`` = 1.7 (``D = 2``), 4.8 (6), 9.4 (20), 18 (36), 19 (66 and 136) for the finite
teacher, 1.8-7.5 for the stick maps (``d = 1, 2, 4``; their later atoms carry little weight), with
about three events per unit of that sum.  :func:`estimate` takes ``min(1 + D/2, 20)`` (finite) and
``min(1 + D/2, 1 + 0.9(d + 2), 20)`` (stick maps).  The costs per update, ``1.7 + 0.17 m(d+1)`` ns
(moves) and ``1.8 + 0.4 m(d+1)`` ns (reweighting), and ``0.2 D^2`` ns per proposal were fitted to
14 runs (``d`` up to 32, ``D`` up to 136; within 35% of every one) in CPU time per thread on the
development machine's AMD EPYC (Zen 4) cores; a loaded or older machine takes longer.

Memory: every batch alive at once (one per thread) holds its particles ``(b, P, D)``, the moves'
increments drawn up front ``(b, moves, P, D)``, the cached networks ``(b, P, m(d+1))``, the per-particle
state, its data ``(b, T, d)`` in two layouts and its curves; the result keeps two ``(teachers, T)``
curves.
"""

from __future__ import annotations

from dataclasses import dataclass

from scaling_theory.errors import UserInputError
from scaling_theory.numeric._resources import memory_text, physical_memory
from scaling_theory.numeric.bayes.kernels import FINITE, latent_dim
from scaling_theory.numeric.bayes.smc import learner_prior

__all__ = ["CostEstimate", "estimate", "check", "machine_memory", "MAX_SECONDS"]

#: jobs estimated longer than this (seconds) are refused unless the caller allows long jobs (``--allow-long``)
MAX_SECONDS = 600.0


@dataclass(frozen=True)
class CostEstimate:
    """What an SMC job will take, before it starts.

    Parameters
    ----------
    updates : particle updates (reweighting plus moves).
    seconds : wall-clock seconds on ``threads`` cores of the development machine.
    memory_bytes : peak bytes of the sampler's arrays.
    threads : cores the estimate assumes.
    """

    updates: float
    seconds: float
    memory_bytes: float
    threads: int

    def describe(self) -> str:
        """One line for people, e.g. ``about 3.2 min and 120 MiB (1.1e+10 particle updates on 2 threads)``."""
        s = self.seconds
        when = (f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"
                if s < 172800 else f"{s / 86400:.1f} days")
        mem = self.memory_bytes
        size = memory_text(mem)
        return f"about {when} and {size} ({self.updates:.2g} particle updates on {self.threads} threads)"


def machine_memory() -> float:
    """Physical memory of this machine in bytes (``inf`` where it cannot be read)."""
    return physical_memory()


def estimate(teacher: str, d: int, K: float, T: int, teachers: int, particles: int, *, width: int | None = None,
             moves: int = 5, batch: int = 4, threads: int | None = None, sigma: float | None = None) -> CostEstimate:
    """Estimated particle updates, wall time and peak memory of ``run_teachers`` (module docstring).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.cost import estimate
    >>> e = estimate("finite", 2, 2, 1000, 8, 500, threads=2)
    >>> round(e.updates / 1e6), round(e.seconds, 2), round(e.memory_bytes / 2**20, 1)
    (84, 0.12, 2.3)
    >>> estimate("finite", 2, 2, 20000, 256, 20000, threads=2).describe()   # issue 27's 36-day job, before
    'about 50.0 min and 153 MiB (2.2e+12 particle updates on 2 threads)'
    """
    import numba

    threads = numba.get_num_threads() if threads is None else max(1, int(threads))
    kcode, m = learner_prior(teacher, K, width, sigma=sigma)
    D = latent_dim(kcode, d, m)
    ratio = min(1.0 + D / 2, 20.0) if kcode == FINITE else min(1.0 + D / 2, 1.0 + 0.9 * (d + 2), 20.0)
    steps = float(teachers) * particles * T
    updates = steps * (1.0 + moves * ratio)
    events = min(3.0 * ratio, max(T - 1, 0))                      # no event after the last observation
    proposals = float(teachers) * events * moves * particles
    ns = (steps * moves * ratio * (1.7 + 0.17 * m * (d + 1)) + steps * (1.8 + 0.4 * m * (d + 1))
          + proposals * 0.2 * D * D)
    if sigma:   # the Pitman-Yor stick's inverse Beta CDF: about 1.5 us per atom per proposal (kernels.log_keep)
        ns += proposals * m * 1500.0
    seconds = ns * 1e-9 / min(threads, max(1, teachers))
    b = max(1, min(batch, -(-teachers // threads)))
    alive = min(threads, -(-teachers // b)) * b                     # runs held at once
    per_run = (particles * D * (1 + (moves if events else 0)) + particles * (m * (d + 1) + 8) + T * (2 * d + 6)
               + (D * D if events else 0))
    memory = 8.0 * (alive * per_run + 2 * particles * D + 2.0 * teachers * T)
    return CostEstimate(updates=updates, seconds=seconds, memory_bytes=memory, threads=threads)


def check(cost: CostEstimate, *, allow_long: bool = False, what: str = "this job") -> None:
    """Refuse (one-line :class:`UserInputError`) above the machine's memory, or above :data:`MAX_SECONDS`
    unless ``allow_long``.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.cost import CostEstimate, check
    >>> check(CostEstimate(1e15, 4e6, 1e9, 2))
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: this job would take about 46.3 days and 954 MiB (1e+15 particle updates on 2 threads), above the limit of 10 min; pass --allow-long to run it anyway, or lower T, --particles or --teachers
    """
    have = machine_memory()
    if cost.memory_bytes > have:
        raise UserInputError(f"{what} needs {cost.describe()}, more memory than this machine's "
                             f"{have / 2**30:.3g} GiB; lower T, --particles, --teachers or the width")
    if cost.seconds > MAX_SECONDS and not allow_long:
        raise UserInputError(f"{what} would take {cost.describe()}, above the limit of "
                             f"{MAX_SECONDS / 60:g} min; pass --allow-long to run it anyway, or lower T, "
                             f"--particles or --teachers")

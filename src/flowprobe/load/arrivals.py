"""Open-loop arrivals: requests start on a schedule, not when a user happens to be free.

A closed loop (each user waits for its answer, then ``wait_time``) slows down with the target
and hides its worst latencies: coordinated omission. Here a schedule of slots (constant or
Poisson) is shared by a pool of users; a user that becomes free takes the next slot and sleeps
until it. A slot whose time has already passed by more than ``tolerance`` when claimed had no
free user: it is counted as missed and never replayed, so late work is not sent in a burst.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Claim:
    """A claimed slot: when to start (perf_counter seconds) and how many slots were missed."""

    at: float
    missed: int


@dataclass(slots=True)
class ArrivalSchedule:
    """Slots at ``rate`` per second from the first claim; ``poisson`` draws random gaps."""

    rate: float
    poisson: bool = False
    tolerance: float = 0.05
    seed: int = 0
    _next: float | None = None
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("arrival rate must be above 0 per second")
        self._random = random.Random(self.seed)

    def _gap(self) -> float:
        return self._random.expovariate(self.rate) if self.poisson else 1.0 / self.rate

    def claim(self, now: float) -> Claim:
        """The next slot not already late at ``now``; earlier late slots are skipped."""
        if self._next is None:
            self._next = now
        missed = 0
        while True:
            slot = self._next
            self._next += self._gap()
            if slot >= now - self.tolerance:
                return Claim(at=slot, missed=missed)
            missed += 1

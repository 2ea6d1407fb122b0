"""In-memory aggregation (the listener's hot path) and the bounded buffer of the push.

`Aggregator.count`/`observe` are what a listener hook calls: a dict update under a lock, no I/O,
no allocation beyond the key. `drain()` hands everything over to the agent's metrics job. `PushBuffer`
holds drained points until the control plane acknowledges them; beyond its size the oldest points
are dropped and counted, so an outage costs memory up to a fixed bound and nothing else.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

TagKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sample:
    """One aggregated value: a counter total, or one timer observation (seconds)."""

    name: str
    kind: str  # "counter" | "timer" | "gauge"
    value: float
    tags: TagKey
    timestamp: float


class Aggregator:
    """Counters summed per (name, tags) and timer observations, until drained."""

    def __init__(self, max_observations: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, TagKey], float] = {}
        self._observations: deque[Sample] = deque(maxlen=max_observations)

    def count(self, name: str, tags: TagKey, value: float = 1.0) -> None:
        key = (name, tags)
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + value

    def observe(self, name: str, tags: TagKey, seconds: float, timestamp: float) -> None:
        with self._lock:
            self._observations.append(Sample(name, "timer", seconds, tags, timestamp))

    def drain(self, now: float) -> list[Sample]:
        """Everything counted since the last drain; the aggregator starts again from zero."""
        with self._lock:
            counters, self._counters = self._counters, {}
            observations = list(self._observations)
            self._observations.clear()
        return [
            Sample(name, "counter", value, tags, now) for (name, tags), value in counters.items()
        ] + observations

    def __len__(self) -> int:
        with self._lock:
            return len(self._counters) + len(self._observations)


@dataclass
class Batch:
    """The points of one push attempt; its id stays the same on every retry so it counts once."""

    batch_id: str
    samples: list[Sample]
    dropped: int
    last_seq: int


@dataclass
class PushBuffer:
    """Samples waiting for the control plane, oldest first, at most `capacity` of them."""

    capacity: int
    instance_id: str
    max_batch: int = 10_000
    dropped_total: int = 0
    _items: deque[tuple[int, Sample]] = field(default_factory=deque)
    _seq: int = 0
    _unreported_drops: int = 0
    _inflight: Batch | None = None

    def add(self, samples: Iterable[Sample]) -> int:
        """Append; drop (and count) the oldest beyond capacity. Returns how many were dropped now."""
        dropped = 0
        for sample in samples:
            self._seq += 1
            self._items.append((self._seq, sample))
            if len(self._items) > self.capacity:
                seq, _ = self._items.popleft()
                dropped += 1
                if self._inflight is not None and seq <= self._inflight.last_seq:
                    self._inflight = None  # its samples changed: the next attempt is a new batch
        self.dropped_total += dropped
        self._unreported_drops += dropped
        return dropped

    def __len__(self) -> int:
        return len(self._items)

    def next_batch(self) -> Batch | None:
        """The batch to send: the one in flight (same id) or a new one from the oldest samples."""
        if self._inflight is not None:
            return self._inflight
        if not self._items and not self._unreported_drops:
            return None
        chosen = list(itertools.islice(self._items, self.max_batch - 1))  # room for the drops point
        last_seq = chosen[-1][0] if chosen else self._seq
        first_seq = chosen[0][0] if chosen else self._seq
        batch_id = f"{self.instance_id[-40:]}-{first_seq}-{last_seq}-{self.dropped_total}"[:64]
        self._inflight = Batch(batch_id, [s for _, s in chosen], self._unreported_drops, last_seq)
        return self._inflight

    def acknowledge(self, batch: Batch) -> None:
        """The control plane has the batch: forget its samples and the drops it reported."""
        while self._items and self._items[0][0] <= batch.last_seq:
            self._items.popleft()
        self._unreported_drops = max(0, self._unreported_drops - batch.dropped)
        if self._inflight is batch:
            self._inflight = None

    def abandon(self, batch: Batch) -> None:
        """The control plane refused the batch for good (4xx): drop it, counted, not retried."""
        count = sum(1 for seq, _ in self._items if seq <= batch.last_seq)
        self.acknowledge(batch)
        self.dropped_total += count
        self._unreported_drops += count

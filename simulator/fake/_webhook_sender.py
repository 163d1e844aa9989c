"""The fake Fixflo's webhook sender: one thread posting deliveries, with seeded faults.

Fixflo publishes no retry policy for webhooks (contracts/fixflo.md section 8). The fake
assumes one: a delivery answered with anything but a 2xx, or not answered at all, is tried
again up to `Sender.retries` (3) more times, ``backoff * 2**n`` seconds apart (0.5 s, 1 s,
2 s by default); every attempt is an Activity item.

A fault spec for deliveries is a comma-separated list of ``KIND=RATE`` (`parse_webhook_faults`):

- ``drop``: never sent; Activity shows the attempt Failed with "connection lost" (no retry:
  the delivery is lost, the nightly run is the safety net)
- ``duplicate``: sent twice
- ``delay``: sent after a random wait of up to ``max_delay`` seconds
- ``reorder``: held until the next delivery has been sent (or ``hold`` seconds at most)
- ``forge``: besides the real delivery, one more with a wrong signature and a random issue
  id (someone else posting to the receiver: not Fixflo's, so no Activity item and no retry)

The first four exclude each other (their rates add up to at most 1); ``forge`` is rolled on
its own. The dice are rolled when an issue is saved, so the same seed and the same saves give
the same faults whatever the timing.

The sender is a daemon thread started by the first delivery; it sends one delivery at a
time with its own `httpx.Client` (never on the fake's event loop) and stops on `close`.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import httpx

from simulator.fake._faults import fault_rate

__all__ = [
    "WEBHOOK_FAULTS",
    "Attempt",
    "Delivery",
    "FaultDice",
    "Sender",
    "WebhookFaults",
    "parse_webhook_faults",
]

WEBHOOK_FAULTS: Final = ("drop", "duplicate", "delay", "reorder", "forge")
_EXCLUSIVE: Final = ("drop", "duplicate", "delay", "reorder")
_ANSWER_KEPT: Final = 1000  # characters of a receiver's answer kept in Activity


@dataclass(frozen=True, slots=True)
class WebhookFaults:
    """The rates of each delivery fault, and their dice's seed.

    Attributes:
        max_delay: the longest a ``delay`` fault holds a delivery back (seconds).
        hold: the longest a ``reorder`` fault waits for a next delivery (seconds).
    """

    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    forge: float = 0.0
    seed: int = 0
    max_delay: float = 1.0
    hold: float = 2.0


def parse_webhook_faults(spec: str, *, seed: int = 0, max_delay: float = 1.0) -> WebhookFaults:
    """Read a delivery fault spec such as ``"drop=0.1,duplicate=0.1,forge=0.05"``.

    Raises:
        ValueError: an unknown kind, a rate that is not a number from 0 to 1, or rates of
            drop, duplicate, delay and reorder adding up to more than 1; saying which.

    Example:
        >>> parse_webhook_faults("drop=0.1,forge=0.05", seed=3).forge
        0.05
    """
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, sep, text = item.partition("=")
        kind = kind.strip()
        if not sep:
            raise ValueError(f"webhook fault {item!r}: write KIND=RATE, such as drop=0.1")
        if kind not in WEBHOOK_FAULTS:
            raise ValueError(
                f"webhook fault {item!r}: unknown kind {kind!r}; use one of "
                + ", ".join(WEBHOOK_FAULTS)
            )
        rates[kind] = fault_rate(item, text, what="webhook fault")
    if sum(rates.get(kind, 0.0) for kind in _EXCLUSIVE) > 1.0:
        raise ValueError(
            f"webhook faults {spec!r}: drop, duplicate, delay and reorder add up to more than 1"
        )
    return WebhookFaults(**rates, seed=seed, max_delay=max_delay)


@dataclass(frozen=True, slots=True)
class Roll:
    """What the dice decided for one delivery."""

    kind: str | None
    forge: bool
    delay: float
    forged_id: str


class FaultDice:
    """The seeded dice of `WebhookFaults`: one `roll` per delivery, in order."""

    def __init__(self, faults: WebhookFaults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)  # noqa: S311 - fault dice, not secrets

    def roll(self) -> Roll:
        """The fault (or None), whether a forged one goes too, the delay and a forged id."""
        faults, rng = self.faults, self._rng
        roll, kind = rng.random(), None
        for name in _EXCLUSIVE:
            rate = float(getattr(faults, name))
            if roll < rate:
                kind = name
                break
            roll -= rate
        forge = rng.random() < faults.forge
        delay = rng.uniform(0.0, faults.max_delay)
        return Roll(kind, forge, delay, str(rng.randint(100_000, 999_999)))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery as it goes on the wire.

    Attributes:
        subscription: the subscription's id; None for a forged delivery (not Fixflo's).
        dropped: the ``drop`` fault: recorded as lost, never sent.
        attempt: 1 for the first try, then 2, 3...
    """

    target: str
    method: str
    body: bytes
    headers: dict[str, str]
    event: str
    subscription: str | None
    dropped: bool = False
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt at a (genuine) delivery gave."""

    delivery: Delivery
    sent_at: datetime
    status: int | None
    failure: str | None
    answer: str | None

    @property
    def failed(self) -> bool:
        """Whether the attempt got no 2xx answer."""
        return self.failure is not None


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    delivery: Delivery = field(compare=False)
    held: bool = field(default=False, compare=False)


class Sender:
    """Sends deliveries from one daemon thread, retrying failures; counts what it did.

    Args:
        record: called (in the sender's thread) with every genuine attempt.
        retries: tries after the first for a delivery that failed.
        backoff: the first retry's wait in seconds; each next one waits twice as long.
        timeout: seconds to wait for a receiver's answer.
        hold: the longest a held (reordered) delivery waits for a next one.

    Attributes:
        sent: genuine attempts made over HTTP (duplicates and retries included).
        forged: forged deliveries sent.
        dropped: deliveries a ``drop`` fault lost.
        failed: genuine attempts that got no 2xx answer (dropped ones included).
    """

    def __init__(
        self,
        record: Callable[[Attempt], None],
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        hold: float = 2.0,
    ) -> None:
        self.record, self.retries, self.backoff = record, retries, backoff
        self.timeout, self.hold = timeout, hold
        self.sent = self.forged = self.dropped = self.failed = 0
        self._jobs: list[_Job] = []
        self._busy = 0
        self._seq = 0
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, delivery: Delivery, *, delay: float = 0.0, held: bool = False) -> None:
        """Queue `delivery`: due after `delay` seconds; `held` until the next one is sent."""
        with self._cond:
            if self._closed:
                return
            wait = self.hold if held else delay
            self._jobs.append(_Job(time.monotonic() + wait, self._seq, delivery, held))
            self._seq += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fake-fixflo-webhooks", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        """Whether the sending thread runs (it starts with the first delivery)."""
        return self._thread is not None and self._thread.is_alive()

    def pending(self) -> int:
        """Deliveries queued (delayed, held or due for a retry) or being sent."""
        with self._cond:
            return len(self._jobs) + self._busy

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or in flight; False when `timeout` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def close(self) -> None:
        """Stop sending: queued deliveries are dropped; the thread ends (waited for briefly)."""
        with self._cond:
            self._closed = True
            self._jobs.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.timeout + 1.0)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, trust_env=False) as client:
            while (job := self._next()) is not None:
                try:
                    self._attempt(client, job.delivery)
                finally:
                    self._finish(job)

    def _next(self) -> _Job | None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._jobs:
                    job = min(self._jobs)
                    if job.due <= now:
                        self._jobs.remove(job)
                        self._busy += 1
                        return job
                    self._cond.wait(job.due - now)
                else:
                    self._cond.wait()
            return None

    def _finish(self, job: _Job) -> None:
        with self._cond:
            self._busy -= 1
            now = time.monotonic()
            for other in self._jobs if not job.delivery.dropped else ():
                if other.held:  # a reordered delivery goes right after the next one sent
                    other.held, other.due = False, now
            self._cond.notify_all()

    def _attempt(self, client: httpx.Client, delivery: Delivery) -> None:
        if delivery.dropped:
            self.dropped += 1
            self._recorded(Attempt(delivery, _now(), None, "connection lost", None))
            return
        sent_at = _now()
        status, failure, answer = _post(client, delivery)
        if delivery.subscription is None:
            self.forged += 1
            return
        self.sent += 1
        self._recorded(Attempt(delivery, sent_at, status, failure, answer))
        if failure is not None and delivery.attempt <= self.retries:
            wait = self.backoff * 2 ** (delivery.attempt - 1)
            again = dataclasses.replace(delivery, attempt=delivery.attempt + 1)
            self.submit(again, delay=wait)

    def _recorded(self, attempt: Attempt) -> None:
        if attempt.failed:
            self.failed += 1
        self.record(attempt)


def _post(client: httpx.Client, delivery: Delivery) -> tuple[int | None, str | None, str | None]:
    """Send one delivery: (status, failure or None, the answer's text)."""
    try:
        response = client.request(
            delivery.method, delivery.target, content=delivery.body, headers=delivery.headers
        )
    except httpx.HTTPError as exc:
        return None, f"no answer: {type(exc).__name__}: {exc}"[:200], None
    status = response.status_code
    failure = None if 200 <= status < 300 else f"the receiver answered HTTP {status}"
    return status, failure, response.text[:_ANSWER_KEPT]


def _now() -> datetime:
    return datetime.now(UTC)

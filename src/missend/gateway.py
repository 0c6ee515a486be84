"""What the mail path does with one message: the verdict turned into deliver, fix, hold or refuse.

Both delivery points in the mail path (the SMTP relay and the milter) call `Gateway.decide` and
translate the `Decision` into their own protocol, so they make the same decision for the same
message. Anything that goes wrong while deciding becomes a temporary failure: the client keeps the
message and retries, and nothing passes unchecked.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from missend.config import Config
from missend.detectors.base import CheckContext, FixKind
from missend.engine import Engine
from missend.history.model import SenderHistory
from missend.history.store import Store, StoreError
from missend.hold.queue import Held, HoldQueue, Reason
from missend.learning.store import models_for
from missend.message import Message, parse_message
from missend.message.limits import Limits
from missend.rewrite import RecipientChange, rewrite_recipients
from missend.verdict import Action, Verdict

log = logging.getLogger(__name__)
MODEL_REFRESH_SECONDS = 300.0
_UNSAFE = re.compile(r"[^\x20-\x7e]")


class Outcome(StrEnum):
    DELIVER = "deliver"
    HOLD = "hold"
    REJECT = "reject"
    TEMPFAIL = "tempfail"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reply: str
    message: Message | None = None
    verdict: Verdict | None = None
    data: bytes = b""
    fixed: bool = False
    held: Held | None = None
    header: str = ""
    change: RecipientChange = field(default_factory=RecipientChange)


def reply_text(text: str, limit: int = 300) -> str:
    """Printable ASCII, one line, bounded: what may go into an SMTP or milter reply."""
    return _UNSAFE.sub(" ", text)[:limit].strip()


def verdict_header(verdict: Verdict) -> str:
    detectors = sorted({d.finding.detector for d in verdict.findings if d.action != Action.ALLOW})
    parts = [str(verdict.action), f"risk={verdict.risk:.2f}"]
    if detectors:
        parts.append("findings=" + ",".join(detectors))
    return "; ".join(parts)


def add_header(raw: bytes, name: str, value: str) -> bytes:
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    return f"{name}: {value}".encode("ascii", "replace") + newline + raw


def transit_change(verdict: Verdict) -> RecipientChange | None:
    """The fix that can be applied in transit, or None when the fix needs a person.

    Moving exposed recipients out of the visible headers is safe in transit: the envelope still
    delivers to everyone. Removing a recipient or an attachment changes who gets what, which only
    the sender may decide.
    """
    to_bcc: set[str] = set()
    for decided in verdict.findings:
        if decided.action != Action.FIX:
            continue
        fix = decided.finding.fix
        if fix is None or fix.kind != FixKind.MOVE_TO_BCC:
            return None
        to_bcc.update(fix.recipients)
    return RecipientChange(to_bcc=frozenset(to_bcc))


class HistoryCache:
    """Sender histories kept for a short while, so a burst from one sender loads it once.

    With a shared PostgreSQL store, what another node learned becomes visible here after at most
    `ttl` seconds; a ttl of 0 always reads the store.
    """

    def __init__(self, store: Store, ttl: float = 30.0, size: int = 512) -> None:
        self.store, self.ttl, self.size = store, ttl, size
        self._items: dict[str, tuple[float, SenderHistory]] = {}
        self._lock = threading.Lock()

    def get(self, sender: str) -> SenderHistory:
        stamp = time.monotonic()
        with self._lock:
            hit = self._items.get(sender)
        if hit and self.ttl > 0 and stamp - hit[0] < self.ttl:
            return hit[1]
        history = self.store.snapshot(sender)
        with self._lock:
            if len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[sender] = (stamp, history)
        return history

    def forget(self, sender: str) -> None:
        with self._lock:
            self._items.pop(sender, None)


class Gateway:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        history_ttl: float = 30.0,
        limits: Limits | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.engine = Engine(config.policy)
        self._models_checked = float("-inf")
        self._reloading = threading.Lock()
        self.queue = HoldQueue(store)
        self.histories = HistoryCache(store, history_ttl)
        self.limits = limits or Limits()

    def decide(
        self,
        raw: bytes,
        envelope_from: str,
        envelope_to: list[str],
        *,
        source: str = "smtp",
        mta_queue_id: str | None = None,
    ) -> Decision:
        try:
            return self._decide(raw, envelope_from, envelope_to, source, mta_queue_id)
        except StoreError as exc:
            log.error("store unavailable: %s", exc)
            return Decision(
                Outcome.TEMPFAIL, "missend cannot reach its store; please try again later"
            )
        except Exception:  # the message must stay with the client rather than be lost or pass
            log.exception("checking a message failed")
            return Decision(
                Outcome.TEMPFAIL, "missend could not check this message; please try again later"
            )

    def _decide(
        self,
        raw: bytes,
        envelope_from: str,
        envelope_to: list[str],
        source: str,
        mta_queue_id: str | None,
    ) -> Decision:
        self._refresh_models()
        message = parse_message(raw, envelope_from or None, envelope_to, self.limits)
        sender = message.sender.email if message.sender else ""
        history = self.store.reveal(self.histories.get(sender), message.recipients)
        verdict = self.engine.check(message, history)
        action = verdict.action
        change = RecipientChange()
        data = raw
        if action == Action.FIX:
            found = transit_change(verdict)
            if found is None:
                action = Action.HOLD
            else:
                change = found
                data = rewrite_recipients(raw, change, bcc_header=False)
        header = verdict_header(verdict)
        if action == Action.BLOCK:
            top = next((d.finding for d in verdict.findings if d.action == Action.BLOCK), None)
            why = top.title if top else "this message breaks the organisation's mail policy"
            return Decision(
                Outcome.REJECT, reply_text(f"Not sent: {why}"), message, verdict, header=header
            )
        if action == Action.HOLD:
            held = self.queue.hold(
                add_header(raw, "X-Missend-Verdict", header),
                envelope_from,
                envelope_to,
                verdict.to_dict(),
                sender=sender,
                subject=message.subject,
                source=source,
                mta_queue_id=mta_queue_id,
            )
            return Decision(
                Outcome.HOLD,
                f"held for review as {held.id}",
                message,
                verdict,
                held=held,
                header=header,
            )
        data = add_header(data, "X-Missend-Verdict", header)
        if self._delayed(message):
            held = self.queue.hold(
                data,
                envelope_from,
                envelope_to,
                verdict.to_dict(),
                sender=sender,
                subject=message.subject,
                reason=Reason.DELAY,
                delay=timedelta(seconds=self.config.delay.seconds),
                source=source,
                mta_queue_id=mta_queue_id,
            )
            return Decision(
                Outcome.HOLD,
                f"queued for {self.config.delay.seconds}s as {held.id}",
                message,
                verdict,
                data=data,
                fixed=not change.is_empty(),
                held=held,
                header=header,
                change=change,
            )
        return Decision(
            Outcome.DELIVER,
            "checked",
            message,
            verdict,
            data=data,
            fixed=not change.is_empty(),
            header=header,
            change=change,
        )

    def _refresh_models(self) -> None:
        """Pick up a newly trained model, and the directory as the store holds it now, without a
        restart. The first load comes before the first check (the store being down surfaces as
        the temporary failure the caller turns into a retry); later ones run beside the checks,
        since reading a large organisation's directory takes seconds no message should wait."""
        stamp = time.monotonic()
        if stamp - self._models_checked < MODEL_REFRESH_SECONDS:
            return
        if self._models_checked == float("-inf"):
            self.engine.models = models_for(self.store)
            self._models_checked = stamp
            return
        if not self._reloading.acquire(blocking=False):
            return
        self._models_checked = stamp
        threading.Thread(target=self._reload_models, name="missend-models", daemon=True).start()

    def _reload_models(self) -> None:
        try:
            self.engine.models = models_for(self.store)
        except Exception:  # the loaded models stay; the next refresh tries again
            log.warning("reloading the trained models failed; keeping those loaded", exc_info=True)
        finally:
            self._reloading.release()

    def _delayed(self, message: Message) -> bool:
        if self.config.delay.seconds <= 0:
            return False
        if not self.config.delay.external_only:
            return True
        sender = message.sender.email if message.sender else ""
        return bool(CheckContext(message, SenderHistory(sender), self.engine.orgs).external)

    def learn(self, message: Message) -> None:
        """History update after delivery; a failure here must not undo a delivery that happened."""
        if not self.config.learn.from_traffic or message.sender is None:
            return
        try:
            self.store.learn([message])
            self.histories.forget(message.sender.email)
        except StoreError as exc:
            log.warning("could not learn from a delivered message: %s", exc)

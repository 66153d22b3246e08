"""OutboxNotifier: record each message as one JSON line (the embedded default, and `duban simulate`).

Nothing is delivered, so the state is `sent`. The recipient's channels are written in their masked form
only: an expanded URL never reaches the file. With a session factory, each message is also written to the
delivery ledger (one row, channel `outbox`), at the message's own time (the check's as_of: a simulated clock
stays simulated), and its route and notices are settled in that same transaction. A dispatch's messages
(`send_many`) are appended in one write and recorded in one transaction: one commit for all of them.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from notifications.delivery import inflight, ledger
from notifications.delivery.channels import mask_url
from notifications.delivery.crashpoints import crash_point
from notifications.message import DeliveryResult, Message

OUTBOX_CHANNEL = "outbox"


def outbox_record(message: Message, state: str = "sent") -> dict:
    recipient = message.recipient
    return {
        "at": message.at.isoformat(),
        "message": message.message_id,
        "program": message.program_id,
        "unit": recipient.unit_code,
        "unit_name": recipient.unit_name,
        "audience": recipient.audience,
        "kinds": list(message.kinds),
        "tasks": list(message.task_codes),
        "notice_ids": list(message.notice_ids),
        "channel": OUTBOX_CHANNEL,
        "channels": [mask_url(url) for url in recipient.urls],
        "state": state,
        "subject": message.subject,
        "text": message.text,
        "attachments": [
            {"filename": a.filename, "bytes": len(a.content), "mime": a.mime} for a in message.attachments
        ],
    }


class OutboxNotifier:
    def __init__(self, path: str | os.PathLike[str], session_factory: sessionmaker[Session] | None = None):
        self.path = Path(path)
        self._sessions = session_factory
        self._lock = threading.Lock()
        self._folder_made = False  # the outbox's folder, made on the first write

    def routes(self, urls: tuple[str, ...]) -> tuple[inflight.Route, ...]:
        return (inflight.Route(inflight.OUTBOX_ROUTE, None, OUTBOX_CHANNEL, "outbox"),)

    def send(self, message: Message) -> DeliveryResult:
        return self._write([message])[0]

    def send_many(self, messages: Sequence[Message]) -> list[DeliveryResult]:
        for _message in messages:
            crash_point("after_claim")
        return self._write(messages)

    def _write(self, messages: Sequence[Message]) -> list[DeliveryResult]:
        """Appends the messages' lines in one write, then records them in one transaction: the ledger rows,
        the route and the messages' notices. The route was claimed straight into `posting`
        (inflight.claim_routes_of): a run that dies before the commit leaves them `unknown`, shown to the
        coordinator, never written again unasked."""
        lines = "".join(json.dumps(outbox_record(message), ensure_ascii=False, separators=(",", ":")) + "\n"
                        for message in messages)
        if not self._folder_made:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._folder_made = True
        data = lines.encode("utf-8")
        with self._lock:
            # One write() on an O_APPEND descriptor: lines from concurrent processes do not interleave.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        settled: dict[str, Counter] | dict[str, None] = dict.fromkeys(m.message_id for m in messages)
        if self._sessions is not None and messages:
            ids, at = [m.message_id for m in messages], messages[0].at  # one dispatch: one as_of
            with self._sessions() as session, session.begin():
                ledger.record_deliveries(session, messages, channel=OUTBOX_CHANNEL,
                                         route=inflight.OUTBOX_ROUTE, kind="outbox", state="sent",
                                         reason="recorded in the outbox")
                inflight.settle_routes(session, ids, inflight.OUTBOX_ROUTE, "sent", at)
                settled = inflight.settle_messages(session, ids, at, OUTBOX_CHANNEL)
        return [DeliveryResult(state="sent", channel=OUTBOX_CHANNEL, attempts=1,
                               channels=((OUTBOX_CHANNEL, "sent"),), settled=settled[m.message_id])
                for m in messages]

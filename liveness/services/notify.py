"""Telling the partner about a final verdict. Called inside the deciding transaction.

Delivery itself (signed webhooks, retries) is asynchronous and must never block or roll back the
decision, so everything here only records what to send and enqueues it after commit.
"""

from __future__ import annotations

from ..models import Case
from .audit import audit_record
from .webhooks import webhook_enqueue


def case_verdict_final(*, case: Case, event: str) -> None:
    audit_record(
        action="case.verdict_final",
        case=case,
        actor_label="system",
        data={"event": event, "final_verdict": case.final_verdict, "status": case.status},
    )
    # A delivery row in this transaction (it commits with the verdict, or not at all); the POST
    # happens in a task after commit.
    webhook_enqueue(case=case, event=event)

"""Assignment's use cases: load state, call the domain, store state, emit events through the outbox.

Event handlers take `(event, Delivery)` and work in the consumer's transaction; HTTP commands and scheduler
ticks open their own through `AssignmentContext.transaction`.
"""

from .answers import answer_notification
from .assignment_requests import answer_assignment, override_specialist, request_change
from .cases import cancel_discharge, note_readmission, record_consent, take_discharge
from .context import AssignmentContext, Conflict, NotFound
from .crises import acknowledge_crisis_by_request, close_crisis, flag_crisis, repeat_crisis_notices
from .deadlines import reassign_overdue
from .roster import RosterCache, deactivate_specialist, seed_demo_roster, upsert_roster

__all__ = [
    "AssignmentContext",
    "Conflict",
    "NotFound",
    "RosterCache",
    "acknowledge_crisis_by_request",
    "answer_assignment",
    "answer_notification",
    "cancel_discharge",
    "close_crisis",
    "deactivate_specialist",
    "flag_crisis",
    "note_readmission",
    "override_specialist",
    "reassign_overdue",
    "record_consent",
    "repeat_crisis_notices",
    "request_change",
    "seed_demo_roster",
    "take_discharge",
    "upsert_roster",
]

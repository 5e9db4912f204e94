"""Everything assignment listens to, and what it emits."""

from functools import partial

from shared.events import (
    CaseOpened,
    CrisisAcknowledged,
    CrisisClosed,
    CrisisFlagged,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    NotificationAcknowledged,
    NotificationRequested,
    PatientReadmitted,
    SpecialistAcknowledged,
    SpecialistAssigned,
    SpecialistAtRisk,
    SpecialistReassigned,
    SpecialistReleased,
    SpecialistUnmatched,
)
from shared.runtime import Subscription

from .handlers import AssignmentContext, answer_notification, cancel_discharge, note_readmission, take_discharge


def subscriptions(ctx: AssignmentContext) -> tuple[Subscription, ...]:
    taken = partial(take_discharge, ctx=ctx)
    return (
        Subscription(
            topics=("discharge.events",),
            handlers={
                DischargePending: taken,  # plan early: match as soon as a discharge is planned (A16)
                DischargeRegistered: taken,  # match if no pending came, or the pending found nobody (A03)
                DischargeUpdated: taken,  # keep needs current; match once consent arrives (A08)
                DischargeCancelled: partial(cancel_discharge, ctx=ctx),  # release specialist and caseload
                PatientReadmitted: partial(note_readmission, ctx=ctx),  # tell the earlier case's specialist
            },
            emits=(
                CaseOpened,
                SpecialistAssigned,
                SpecialistReleased,
                SpecialistUnmatched,
                CrisisFlagged,
                NotificationRequested,
            ),
            description="Discharges announced by intake.",
        ),
        Subscription(
            topics=("notification.events",),
            handlers={NotificationAcknowledged: partial(answer_notification, ctx=ctx)},
            emits=(SpecialistAcknowledged, SpecialistReassigned, SpecialistUnmatched, CrisisAcknowledged),
            description="Specialists accepting or declining offers, and crisis alerts acknowledged.",
        ),
    )


# What the HTTP API (overrides, change requests, crises) and the scheduler (deadlines, crisis repeats) emit.
API_EMITS = (
    SpecialistAcknowledged,
    SpecialistAtRisk,
    SpecialistReassigned,
    SpecialistReleased,
    SpecialistUnmatched,
    CrisisFlagged,
    CrisisAcknowledged,
    CrisisClosed,
    NotificationRequested,
)

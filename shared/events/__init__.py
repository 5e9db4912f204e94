"""The event catalogue: every event type the platform speaks, by its versioned CloudEvents type."""

from __future__ import annotations

from .appointment import (
    FollowupAtRisk,
    FollowupAttended,
    FollowupCancelled,
    FollowupMissed,
    FollowupReminderDue,
    FollowupScheduled,
)
from .assignment import (
    CrisisAcknowledged,
    CrisisClosed,
    CrisisFlagged,
    SpecialistAcknowledged,
    SpecialistAssigned,
    SpecialistAtRisk,
    SpecialistReassigned,
    SpecialistReleased,
    SpecialistUnmatched,
)
from .base import Event
from .discharge import (
    AdmissionCancelled,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    PatientReadmitted,
)
from .notification import (
    NotificationAcknowledged,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
)
from .resource import (
    ReferralAccepted,
    ReferralCompleted,
    ReferralCreated,
    ReferralDeclined,
    ReferralStatusChanged,
    ResourcesMatched,
)
from .service import CaseOpened
from .transport import (
    RideAccepted,
    RideAtRisk,
    RideCancelled,
    RideCancelRequested,
    RideCompleted,
    RideDriverAssigned,
    RideFailed,
    RideNoShow,
    RidePickedUp,
    RideRejected,
    RideRequested,
    RideStatusChanged,
)

ALL_EVENTS: tuple[type[Event], ...] = (
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    DischargeCancelled,
    PatientReadmitted,
    AdmissionCancelled,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
    SpecialistUnmatched,
    SpecialistAtRisk,
    SpecialistAcknowledged,
    CrisisFlagged,
    CrisisAcknowledged,
    CrisisClosed,
    NotificationRequested,
    NotificationDelivered,
    NotificationFailed,
    NotificationAcknowledged,
    RideRequested,
    RideCancelRequested,
    RideAccepted,
    RideDriverAssigned,
    RidePickedUp,
    RideCompleted,
    RideCancelled,
    RideNoShow,
    RideRejected,
    RideStatusChanged,
    RideFailed,
    RideAtRisk,
    FollowupScheduled,
    FollowupReminderDue,
    FollowupAttended,
    FollowupMissed,
    FollowupCancelled,
    FollowupAtRisk,
    ResourcesMatched,
    ReferralCreated,
    ReferralAccepted,
    ReferralDeclined,
    ReferralCompleted,
    ReferralStatusChanged,
    CaseOpened,
)

EVENT_TYPES: dict[str, type[Event]] = {cls.ce_type: cls for cls in ALL_EVENTS}
assert len(EVENT_TYPES) == len(ALL_EVENTS), "two event classes share a ce_type"

__all__ = ["ALL_EVENTS", "EVENT_TYPES", "Event", *(cls.__name__ for cls in ALL_EVENTS)]

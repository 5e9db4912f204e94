"""Resource's use cases: cases and their matches (cases.py), referrals (referrals.py), due reminders (reminders.py)."""

from .cases import (
    add_needs,
    case_needs,
    close_cancelled_case,
    forget_specialist,
    open_case,
    record_part2_consent,
    remember_specialist,
)
from .reminders import remind_unanswered

__all__ = [
    "add_needs",
    "case_needs",
    "close_cancelled_case",
    "forget_specialist",
    "open_case",
    "record_part2_consent",
    "remember_specialist",
    "remind_unanswered",
]

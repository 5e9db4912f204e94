"""The referral's closed loop in pieces: Gravity Project Task statuses, signed answers, reminder timing, and the
FHIR R4 ServiceRequest + Task export (validated against fhir.resources' R4B models)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from services.resource.db import Referral, ReferralStatusLog
from services.resource.domain import TERMINAL, TRANSITIONS, ReminderPlan, TransitionRefused, next_status
from services.resource.fhir_tasks import searchset
from services.resource.signatures import SignatureRefused, sign, verify
from shared.events.resource import ReferralStatus as S

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ((S.REQUESTED, S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.COMPLETED), True),
        ((S.REQUESTED, S.ACCEPTED, S.ON_HOLD, S.IN_PROGRESS, S.COMPLETED), True),
        ((S.REQUESTED, S.REJECTED), True),
        ((S.REQUESTED, S.RECEIVED, S.CANCELLED), True),
        ((S.REQUESTED, S.COMPLETED), False),  # completed without ever being accepted
        ((S.REQUESTED, S.REJECTED, S.ACCEPTED), False),  # a terminal status is final
        ((S.REQUESTED, S.ACCEPTED, S.RECEIVED), False),  # no way back
    ],
)
def test_a_referral_moves_only_along_the_gravity_task_statuses(path: tuple[S, ...], allowed: bool) -> None:
    def walk() -> None:
        current = path[0]
        for wanted in path[1:]:
            current = next_status(current, wanted) or current

    if allowed:
        walk()
    else:
        with pytest.raises(TransitionRefused):
            walk()


def test_the_same_answer_twice_changes_nothing_and_terminal_statuses_go_nowhere() -> None:
    assert next_status(S.ACCEPTED, S.ACCEPTED) is None
    assert all(status not in TRANSITIONS for status in TERMINAL)
    assert set(TRANSITIONS) | TERMINAL == set(S)


def test_reminders_come_after_the_answer_time_then_at_intervals_up_to_a_cap() -> None:
    plan = ReminderPlan(timedelta(hours=48), timedelta(hours=24), max_reminders=2)
    assert plan.first(NOW) == NOW + timedelta(hours=48)
    assert plan.after(1, NOW) == NOW + timedelta(hours=24)
    assert plan.after(2, NOW) is None


# --- signatures ----------------------------------------------------------------------------------------------

SECRET = "org-secret-for-tests-0123456789"
BODY = b'{"status": "accepted"}'


def test_a_signature_over_timestamp_and_body_verifies() -> None:
    timestamp = int(NOW.timestamp())
    signature = sign(SECRET, timestamp, BODY)
    assert signature.startswith("sha256=")
    assert verify(SECRET, str(timestamp), signature, BODY, now=NOW, window_s=300) == signature.removeprefix("sha256=")


@pytest.mark.parametrize(
    ("timestamp_shift", "body", "secret", "header", "reason"),
    [
        (0, b'{"status": "completed"}', SECRET, None, "bad_signature"),  # body changed after signing
        (0, BODY, "another organisation's secret!!", None, "bad_signature"),
        (-301, BODY, SECRET, None, "outside_replay_window"),  # too old
        (301, BODY, SECRET, None, "outside_replay_window"),  # from the future
        (0, BODY, SECRET, "md5=abc", "malformed_signature"),
        (0, BODY, SECRET, "", "missing_signature"),
    ],
)
def test_a_signature_is_refused_with_its_reason(
    timestamp_shift: int, body: bytes, secret: str, header: str | None, reason: str
) -> None:
    timestamp = int(NOW.timestamp()) + timestamp_shift
    signature = header if header is not None else sign(secret, timestamp, BODY)
    with pytest.raises(SignatureRefused) as refused:
        verify(SECRET, str(timestamp), signature, body, now=NOW, window_s=300)
    assert refused.value.reason == reason


# --- FHIR export ----------------------------------------------------------------------------------------------


def a_referral(status: S, need: str = "housing") -> Referral:
    return Referral(
        id="RF-0a1b2c3d4e5f",
        case_id="0f8e2a4b-6c1d-5e3f-9a7b-2c4d6e8f0a1b",
        need=need,
        service_id="svc-housing-1",
        site_id="sal-1",
        organization_id="org 1/with spaces",  # HSDS ids need not be FHIR ids
        location_id="loc-1",
        service_name="Rapid Rehousing",
        organization_name="Housing Partners",
        status=status.value,
        created_at=NOW,
        updated_at=NOW + timedelta(hours=3),
        respond_by=NOW + timedelta(hours=48),
    )


@pytest.mark.parametrize(
    ("status", "need", "request_status"),
    [
        (S.REQUESTED, "housing", "active"),
        (S.ACCEPTED, "peer_group", "active"),
        (S.COMPLETED, "food", "completed"),
        (S.REJECTED, "treatment", "revoked"),
        (S.ON_HOLD, "employment", "on-hold"),
    ],
)
def test_referrals_export_as_a_valid_fhir_searchset_of_tasks_and_service_requests(
    status: S, need: str, request_status: str
) -> None:
    referral = a_referral(status, need)
    history = [ReferralStatusLog(referral_id=referral.id, status=status.value, at=NOW, by="system", note="booked")]

    bundle = searchset("https://resource.example/fhir", [(referral, history, "SPRINGFIELD_PSY")])

    parsed = Bundle.model_validate(bundle)  # R4B models (fhir.resources 8): R4's Task/ServiceRequest are unchanged
    assert parsed.type == "searchset" and parsed.total == 1
    task, request = (entry.resource for entry in parsed.entry)
    assert task.get_resource_type() == "Task" and request.get_resource_type() == "ServiceRequest"
    assert [e.search.mode for e in parsed.entry] == ["match", "include"]
    assert task.status == status.value
    assert task.focus.reference == f"ServiceRequest/{referral.id}"
    assert task.for_fhir.identifier.value == referral.case_id
    assert task.owner.identifier.value == "org 1/with spaces"
    assert request.status == request_status
    assert request.intent == "order"
    if need in ("housing", "food"):
        assert request.category[0].coding[0].system.endswith("SDOHCC-CodeSystemTemporaryCodes")
    if status == S.COMPLETED:
        assert task.output[0].valueString == "booked"
    if status == S.REJECTED:
        assert task.statusReason.text == "booked"


def test_an_empty_search_is_a_valid_empty_bundle() -> None:
    parsed = Bundle.model_validate(searchset("https://resource.example/fhir", []))
    assert parsed.total == 0 and not parsed.entry

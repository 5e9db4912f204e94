"""Assignment's use cases against an in-memory SQLite database: each test is a small story of one case.

Events the handlers emit are read back from the outbox, in order, exactly as the relay would publish them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import col, select

from services.assignment.db import TABLES, CrisisRecord, SpecialistRecord
from services.assignment.domain import (
    CertificationIn,
    Contact,
    CrisisClosureIn,
    HomeBase,
    PreferencesIn,
    RosterIn,
    SpecialistIn,
    SupervisorIn,
)
from services.assignment.handlers import (
    AssignmentContext,
    Conflict,
    acknowledge_crisis_by_request,
    answer_assignment,
    answer_notification,
    cancel_discharge,
    close_crisis,
    flag_crisis,
    note_readmission,
    override_specialist,
    reassign_overdue,
    record_consent,
    repeat_crisis_notices,
    request_change,
    take_discharge,
    upsert_roster,
)
from services.assignment.roster_files import read_roster, write_csv
from services.assignment.roster_generator import generate_roster
from services.assignment.settings import AssignmentSettings
from shared.clock import ManualClock
from shared.db import Database
from shared.envelope import encode
from shared.events import (
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    Event,
    NotificationAcknowledged,
    PatientReadmitted,
)
from shared.events.common import Channel, GeoPoint, Place
from shared.events.discharge import Code, Patient, PlanningNeeds, RecoveryDomain, RiskFlag, Source
from shared.inbox import Delivery, InboxRecord
from shared.outbox import OutboxRecord
from tests.factories import discharge_details, discharge_pending, unique

pytestmark = pytest.mark.unit

# Tuesday 24 November 2026, 09:00 in Springfield (America/Chicago): specialists are on duty.
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
SPRINGFIELD = (39.80, -89.64)
API_KEY = SecretStr("unit:" + "k" * 24)


def specialist(specialist_id: str, lat: float, lon: float, **overrides: Any) -> SpecialistIn:
    values: dict[str, Any] = dict(
        id=specialist_id,
        name=f"Peer {specialist_id}",
        contact=Contact(email=f"{specialist_id.lower()}@peers.example.org"),
        languages=("en",),
        domains=(RecoveryDomain.SUBSTANCE_USE,),
        certifications=(CertificationIn(kind="state", issuer="IL", expires_on=date(2027, 6, 30)),),
        home=HomeBase(lat=lat, lon=lon),
        travel_radius_km=40.0,
        max_caseload=4,
        supervisor_id="SUP-2",
    )
    values.update(overrides)
    return SpecialistIn(**values)


# Ranked for a Springfield patient in substance-use recovery: A (closest), then B, then C (other lived experience).
ROSTER = RosterIn(
    specialists=(
        specialist("S-A", 39.80, -89.645),
        specialist("S-B", 39.90, -89.65, languages=("en", "es")),
        specialist("S-C", 39.79, -89.64, domains=(RecoveryDomain.MENTAL_HEALTH,)),
        specialist("S-D", 41.88, -87.63),  # Chicago, not remote: never within reach of Springfield
    ),
    supervisors=(
        SupervisorIn(id="SUP-1", name="On call", contact=Contact(email="sup-1@peers.example.org"), on_call=True),
        SupervisorIn(id="SUP-2", name="Off duty"),
    ),
)


@dataclass
class World:
    ctx: AssignmentContext
    clock: ManualClock
    db: Database

    async def deliver(self, handler: Callable[..., Awaitable[None]], event: Event) -> None:
        envelope = encode(event, source="/test").envelope
        async with self.db.transaction() as session:
            await handler(event, Delivery(envelope=envelope, session=session), ctx=self.ctx)

    async def emitted(self, case_id: str | None = None, *types: str) -> list[dict[str, Any]]:
        """Bodies of the events emitted so far (optionally of one case and some types), each with its ce_type."""
        async with self.db.sessions() as session:
            rows = (await session.exec(select(OutboxRecord).order_by(col(OutboxRecord.id)))).all()
        return [
            {"type": row.ce_type.removesuffix(".v1"), **json.loads(row.body)}
            for row in rows
            if (case_id is None or row.key == case_id) and (not types or row.ce_type.removesuffix(".v1") in types)
        ]

    async def kinds(self, case_id: str) -> list[str]:
        return [event["type"] for event in await self.emitted(case_id)]

    async def specialist(self, specialist_id: str) -> SpecialistRecord:
        async with self.db.sessions() as session:
            row = await session.get(SpecialistRecord, specialist_id)
        assert row is not None
        return row

    async def answer(self, offer: dict[str, Any], accepted: bool) -> None:
        await self.deliver(
            answer_notification,
            NotificationAcknowledged(
                case_id=offer["case_id"],
                notification_id=offer["notification_id"],
                recipient_id=offer["recipient_id"],
                related_id=offer["related_id"],
                accepted=accepted,
                responded_at=self.clock.now(),
            ),
        )

    async def alerts(self, case_id: str) -> list[dict[str, Any]]:
        requests = await self.emitted(case_id, "notification.requested")
        return [r for r in requests if r["template"] == "crisis.flagged"]

    async def offers(self, case_id: str) -> list[dict[str, Any]]:
        requests = await self.emitted(case_id, "notification.requested")
        return [r for r in requests if r["template"] in ("specialist.assigned", "specialist.reassigned")]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    db = Database("sqlite+aiosqlite:///:memory:", [OutboxRecord, InboxRecord, *TABLES], schema="assignment")
    await db.create_tables()
    clock = ManualClock(START)
    settings = AssignmentSettings(api_keys=API_KEY, ack_timeout_minutes=60, crisis_repeat_minutes=10)
    await upsert_roster(db, ROSTER, clock.now())
    try:
        yield World(AssignmentContext(settings=settings, clock=clock, db=db), clock, db)
    finally:
        await db.dispose()


def planning(**overrides: Any) -> PlanningNeeds:
    values: dict[str, Any] = dict(
        recovery_domains=(RecoveryDomain.SUBSTANCE_USE,),
        consent_peer_support=True,
        destination_place=Place(name="Home", location=GeoPoint(lat=SPRINGFIELD[0], lon=SPRINGFIELD[1])),
    )
    values.update(overrides)
    return PlanningNeeds(**values)


def pending(**overrides: Any) -> DischargePending:
    return discharge_pending(
        planning=planning(**overrides),
        expected_discharge_at=START + timedelta(hours=2),
        diagnoses=(Code(code="F11.20", system="ICD-10-CM", display="Opioid use disorder"),),
    )


def registered_like(event: DischargePending, **changes: Any) -> DischargeRegistered:
    details = event.discharge.model_copy(update={"discharged_at": START + timedelta(hours=3), **changes})
    return DischargeRegistered(case_id=event.case_id, discharge=details, source=event.source)


def updated_like(event: DischargePending, planning_now: PlanningNeeds) -> DischargeUpdated:
    details = event.discharge.model_copy(update={"planning": planning_now})
    return DischargeUpdated(case_id=event.case_id, discharge=details, changed_fields=("planning",), source=event.source)


async def test_a_pending_discharge_is_offered_to_the_best_specialist_with_reasons_and_the_runner_up(
    world: World,
) -> None:
    event = pending()
    await world.deliver(take_discharge, event)

    assert await world.kinds(event.case_id) == ["case.opened", "specialist.assigned", "notification.requested"]
    (assigned,) = await world.emitted(event.case_id, "specialist.assigned")
    assert assigned["specialist"]["specialist_id"] == "S-A"
    assert assigned["runner_up"]["specialist_id"] == "S-B"
    reasons = assigned["specialist"]["reasons"]
    assert [r["factor"] for r in reasons][:2] == ["lived_experience", "distance"]
    assert sum(r["score"] for r in reasons) == pytest.approx(assigned["specialist"]["score"])
    assert datetime.fromisoformat(assigned["acknowledge_by"]) == START + timedelta(minutes=60)
    assert (await world.specialist("S-A")).active_cases == 1


async def test_the_offer_asks_for_an_answer_by_the_deadline_and_carries_no_name_or_diagnosis(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    (assigned,) = await world.emitted(event.case_id, "specialist.assigned")
    (offer,) = await world.offers(event.case_id)
    assert offer["recipient_id"] == "S-A" and offer["recipient_role"] == "specialist"
    assert offer["needs_acknowledgement"] is True
    assert offer["respond_by"] == assigned["acknowledge_by"]
    assert offer["related_id"] == assigned["assignment_id"]
    assert offer["contact"] == {"email": "s-a@peers.example.org", "webhook_url": None}
    assert offer["channels"] == ["inbox", "email"]
    text = json.dumps(offer)
    for secret in ("Ana", "F11", "Opioid", "substance", "MRN"):
        assert secret not in text


async def test_the_same_case_announced_again_is_not_assigned_twice(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    await world.deliver(take_discharge, pending().model_copy(update={"case_id": event.case_id}))
    await world.deliver(take_discharge, registered_like(event))
    assert (await world.kinds(event.case_id)).count("specialist.assigned") == 1
    assert (await world.specialist("S-A")).active_cases == 1


async def test_a_registered_discharge_without_a_pending_one_is_matched(world: World) -> None:
    event = registered_like(pending())
    await world.deliver(take_discharge, event)
    assert "specialist.assigned" in await world.kinds(event.case_id)


async def test_without_consent_nobody_is_asked_and_coordinators_see_why(world: World) -> None:
    event = pending(consent_peer_support=False)
    await world.deliver(take_discharge, event)
    await world.deliver(take_discharge, registered_like(event))  # said once, not again
    assert await world.kinds(event.case_id) == ["case.opened", "specialist.unmatched", "notification.requested"]
    (unmatched,) = await world.emitted(event.case_id, "specialist.unmatched")
    assert unmatched["reasons"] == ["no_consent"]
    (note,) = await world.emitted(event.case_id, "notification.requested")
    assert note["recipient_id"] == f"coordinators:{event.discharge.facility.id}"


async def test_unknown_consent_waits_for_an_answer_then_matches(world: World) -> None:
    event = pending(consent_peer_support=None)
    await world.deliver(take_discharge, event)
    await world.deliver(take_discharge, registered_like(event))
    assert await world.kinds(event.case_id) == ["case.opened", "notification.requested"]
    (ask,) = await world.emitted(event.case_id, "notification.requested")
    assert ask["recipient_role"] == "coordinator" and "consent" in ask["summary"]

    await world.deliver(take_discharge, updated_like(event, planning(consent_peer_support=True)))
    assert (await world.kinds(event.case_id))[-2:] == ["specialist.assigned", "notification.requested"]


async def test_staff_can_record_the_consent_they_asked_for(world: World) -> None:
    event = pending(consent_peer_support=None)
    await world.deliver(take_discharge, event)
    await record_consent(world.ctx, event.case_id, True)
    assert "specialist.assigned" in await world.kinds(event.case_id)


async def test_withdrawn_consent_releases_the_specialist(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    await world.deliver(take_discharge, updated_like(event, planning(consent_peer_support=False)))
    assert (await world.kinds(event.case_id))[-3:] == [
        "specialist.released",
        "specialist.unmatched",
        "notification.requested",
    ]
    assert (await world.specialist("S-A")).active_load == 0


def with_language(event: DischargeUpdated, language: str) -> DischargeUpdated:
    patient = event.discharge.patient.model_copy(update={"language": language})
    return event.model_copy(update={"discharge": event.discharge.model_copy(update={"patient": patient})})


async def test_an_update_that_changes_the_language_moves_the_case_to_a_specialist_who_speaks_it(
    world: World,
) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    (offer,) = await world.offers(event.case_id)
    await world.answer(offer, accepted=True)

    nearby = planning(destination_place=Place(name="Shelter", location=GeoPoint(lat=39.81, lon=-89.66)))
    await world.deliver(take_discharge, updated_like(event, nearby))
    assert await world.emitted(event.case_id, "specialist.reassigned") == []  # S-A still fits: the case stays

    await world.deliver(take_discharge, with_language(updated_like(event, nearby), "es"))
    (reassigned,) = await world.emitted(event.case_id, "specialist.reassigned")
    assert (reassigned["previous_specialist_id"], reassigned["reason"]) == ("S-A", "needs_changed")
    assert reassigned["specialist"]["specialist_id"] == "S-B"  # the one who speaks Spanish
    assert (await world.specialist("S-A")).active_cases == 0
    assert (await world.specialist("S-B")).active_cases == 1
    assert (await world.offers(event.case_id))[-1]["recipient_id"] == "S-B"


async def test_an_accepted_offer_is_acknowledged_and_a_late_decline_changes_nothing(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    (offer,) = await world.offers(event.case_id)
    await world.answer(offer, accepted=True)
    await world.answer(offer, accepted=False)
    assert (await world.kinds(event.case_id))[-1] == "specialist.acknowledged"
    (acknowledged,) = await world.emitted(event.case_id, "specialist.acknowledged")
    assert acknowledged["specialist_id"] == "S-A"
    world.clock.advance(timedelta(hours=3))
    assert await reassign_overdue(None, ctx=world.ctx) == 0  # type: ignore[arg-type]


async def test_a_decline_goes_to_the_runner_up_and_frees_the_place(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    (offer,) = await world.offers(event.case_id)
    await world.answer(offer, accepted=False)

    (reassigned,) = await world.emitted(event.case_id, "specialist.reassigned")
    assert reassigned["previous_specialist_id"] == "S-A"
    assert reassigned["specialist"]["specialist_id"] == "S-B"
    assert reassigned["reason"] == "declined"
    assert reassigned["runner_up"]["specialist_id"] == "S-C"
    assert (await world.specialist("S-A")).active_cases == 0
    assert (await world.specialist("S-B")).active_cases == 1
    second = (await world.offers(event.case_id))[-1]
    assert second["recipient_id"] == "S-B" and second["template"] == "specialist.reassigned"


async def test_no_answer_by_the_deadline_goes_to_the_next_best_and_a_late_yes_is_ignored(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    (first,) = await world.offers(event.case_id)
    world.clock.advance(timedelta(minutes=59))
    assert await reassign_overdue(None, ctx=world.ctx) == 0  # type: ignore[arg-type]
    world.clock.advance(timedelta(minutes=2))
    assert await reassign_overdue(None, ctx=world.ctx) == 1  # type: ignore[arg-type]
    await world.answer(first, accepted=True)

    (reassigned,) = await world.emitted(event.case_id, "specialist.reassigned")
    assert reassigned["reason"] == "no_acknowledgement"
    assert reassigned["specialist"]["specialist_id"] == "S-B"
    assert "specialist.acknowledged" not in await world.kinds(event.case_id)


async def test_when_everyone_declines_the_case_is_unmatched_and_no_place_stays_taken(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    for _ in range(3):
        await world.answer((await world.offers(event.case_id))[-1], accepted=False)

    kinds = await world.kinds(event.case_id)
    assert kinds.count("specialist.reassigned") == 2
    assert kinds[-3:] == ["specialist.released", "specialist.unmatched", "notification.requested"]
    (unmatched,) = await world.emitted(event.case_id, "specialist.unmatched")
    assert unmatched["reasons"] == ["distance"]  # only S-D is left, and Chicago is out of reach
    assert unmatched["assignment_id"]
    for name in ("S-A", "S-B", "S-C"):
        assert (await world.specialist(name)).active_load == 0


async def test_a_cancelled_discharge_releases_the_specialist_and_their_caseload(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    await world.answer((await world.offers(event.case_id))[0], accepted=True)
    cancel = DischargeCancelled(
        case_id=event.case_id,
        facility_id=event.discharge.facility.id,
        visit_number=event.discharge.visit_number,
        was_pending_only=True,
        source=event.source,
    )
    await world.deliver(cancel_discharge, cancel)

    (released,) = await world.emitted(event.case_id, "specialist.released")
    assert (released["specialist_id"], released["reason"]) == ("S-A", "discharge_cancelled")
    told = (await world.emitted(event.case_id, "notification.requested"))[-1]
    assert (told["recipient_id"], told["template"]) == ("S-A", "specialist.released")
    assert (await world.specialist("S-A")).active_load == 0


async def test_acuity_weighs_on_caseload(world: World) -> None:
    flagged = pending(risk_flags=(RiskFlag.HOMELESSNESS, RiskFlag.NO_SUPPORT_NETWORK))
    await world.deliver(take_discharge, flagged)
    assert (await world.specialist("S-A")).active_load == 1.5


async def test_a_readmission_tells_the_earlier_specialist_who_gets_the_new_stay_again(world: World) -> None:
    first = pending(recovery_domains=(RecoveryDomain.MENTAL_HEALTH,))
    await world.deliver(take_discharge, first)
    (offer,) = await world.offers(first.case_id)
    assert offer["recipient_id"] == "S-C"
    await world.answer(offer, accepted=True)

    readmitted = PatientReadmitted(
        case_id=unique("case"),
        previous_case_id=first.case_id,
        facility_id=first.discharge.facility.id,
        visit_number=unique("V"),
        admitted_at=START + timedelta(days=9),
        days_since_discharge=9,
        source=Source(channel=Channel.HL7V2, message_id=unique("msg"), trigger="A01"),
    )
    await world.deliver(note_readmission, readmitted)
    note = (await world.emitted(first.case_id, "notification.requested"))[-1]
    assert (note["recipient_id"], note["template"]) == ("S-C", "patient.readmitted")
    assert "9 day" in note["summary"]

    # The new stay, in substance-use recovery this time: S-A shares it, but S-C supported the patient before.
    details = discharge_details(
        planning=planning(recovery_domains=()), expected_discharge_at=START + timedelta(days=12)
    )
    again = DischargePending(case_id=readmitted.case_id, discharge=details, source=first.source)
    await world.deliver(take_discharge, again)
    (assigned,) = await world.emitted(again.case_id, "specialist.assigned")
    assert assigned["specialist"]["specialist_id"] == "S-C"
    continuity = next(r for r in assigned["specialist"]["reasons"] if r["factor"] == "continuity")
    assert continuity["score"] > 0


async def test_the_same_patient_at_a_later_stay_gets_the_specialist_who_accepted_before(world: World) -> None:
    first = pending(recovery_domains=())
    await world.deliver(take_discharge, first)
    await world.answer((await world.offers(first.case_id))[0], accepted=True)
    await override_specialist(world.ctx, (await world.offers(first.case_id))[0]["related_id"], "S-C", by="SUP-1")
    await world.answer((await world.offers(first.case_id))[-1], accepted=True)

    later = discharge_details(
        patient=first.discharge.patient, planning=planning(recovery_domains=()), expected_discharge_at=START
    )
    again = DischargePending(case_id=unique("case"), discharge=later, source=first.source)
    await world.deliver(take_discharge, again)
    (assigned,) = await world.emitted(again.case_id, "specialist.assigned")
    # S-A accepted first but was moved off by the supervisor: only S-C's acceptance stands for continuity.
    assert assigned["specialist"]["specialist_id"] == "S-C"


async def test_a_supervisor_override_keeps_hard_constraints_unless_forced(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    (assigned,) = await world.emitted(event.case_id, "specialist.assigned")
    assignment_id = assigned["assignment_id"]
    with pytest.raises(Conflict, match="distance"):
        await override_specialist(world.ctx, assignment_id, "S-D", by="SUP-1")

    await override_specialist(world.ctx, assignment_id, "S-C", by="SUP-1", note="knows the family")
    (moved,) = await world.emitted(event.case_id, "specialist.reassigned")
    assert (moved["reason"], moved["specialist"]["specialist_id"]) == ("supervisor_override", "S-C")
    assert moved["runner_up"]["specialist_id"] == "S-B"  # S-A was moved off the case: not proposed again

    await override_specialist(world.ctx, assignment_id, "S-D", by="SUP-1", force=True)
    forced = (await world.emitted(event.case_id, "specialist.reassigned"))[-1]
    assert forced["specialist"]["reasons"][0]["detail"] == "supervisor override despite: distance"


async def test_a_patient_asking_for_someone_else_gets_the_next_best_with_reasons(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    (assigned,) = await world.emitted(event.case_id, "specialist.assigned")
    await answer_assignment(world.ctx, assigned["assignment_id"], "S-A", accepted=True)
    await request_change(world.ctx, assigned["assignment_id"], PreferencesIn(gender_identity="woman"))

    (changed,) = await world.emitted(event.case_id, "specialist.reassigned")
    assert changed["reason"] == "patient_request"
    assert changed["specialist"]["specialist_id"] == "S-B"
    assert any(r["factor"] == "client_preference" for r in changed["specialist"]["reasons"])
    told = [n for n in await world.emitted(event.case_id, "notification.requested") if n["recipient_id"] == "S-A"]
    assert told[-1]["template"] == "specialist.released"
    with pytest.raises(Conflict):
        await answer_assignment(world.ctx, assigned["assignment_id"], "S-A", accepted=True)


async def test_an_intake_risk_flag_raises_a_crisis_that_repeats_until_acknowledged(world: World) -> None:
    event = pending(risk_flags=(RiskFlag.OVERDOSE_RISK,))
    await world.deliver(take_discharge, event)
    (flagged,) = await world.emitted(event.case_id, "crisis.flagged")
    assert (flagged["raised_by"], flagged["priority"]) == ("intake", "urgent")
    alerts = [
        n for n in await world.emitted(event.case_id, "notification.requested") if n["template"] == "crisis.flagged"
    ]
    assert {(a["recipient_id"], a["priority"]) for a in alerts} == {("S-A", "urgent"), ("SUP-1", "urgent")}

    world.clock.advance(timedelta(minutes=10))
    assert await repeat_crisis_notices(None, ctx=world.ctx) == 1  # type: ignore[arg-type]
    alerts = [
        n for n in await world.emitted(event.case_id, "notification.requested") if n["template"] == "crisis.flagged"
    ]
    assert len(alerts) == 4 and "reminder 1" in alerts[-1]["summary"]

    await world.answer(next(a for a in alerts if a["recipient_id"] == "SUP-1"), accepted=True)
    (acknowledged,) = await world.emitted(event.case_id, "crisis.acknowledged")
    assert acknowledged["acknowledged_by"] == "supervisor:SUP-1"
    world.clock.advance(timedelta(minutes=30))
    assert await repeat_crisis_notices(None, ctx=world.ctx) == 0  # type: ignore[arg-type]

    # The same flag in a later message is the same crisis, not a new one.
    await world.deliver(take_discharge, registered_like(event))
    assert len(await world.emitted(event.case_id, "crisis.flagged")) == 1


async def test_a_specialist_raises_a_crisis_and_it_closes_only_with_a_disposition(world: World) -> None:
    event = pending()
    await world.deliver(take_discharge, event)
    crisis = await flag_crisis(world.ctx, event.case_id, raised_by="specialist:S-A", reason="says they are not safe")
    await acknowledge_crisis_by_request(world.ctx, crisis.id, "specialist:S-A")
    closure = CrisisClosureIn(
        disposition="referred_to_988",
        what_happened="Called 988 together; mobile crisis team visited; safe at home with family.",
        referrals=("988", "mobile_crisis_team"),
        ems_involved=False,
        crisis_plan_exists=True,
        handled_by="specialist:S-A",
    )
    await close_crisis(world.ctx, crisis.id, closure)
    with pytest.raises(Conflict):
        await close_crisis(world.ctx, crisis.id, closure)

    (closed,) = await world.emitted(event.case_id, "crisis.closed")
    assert closed["referrals"] == ["988", "mobile_crisis_team"] and closed["ems_involved"] is False
    assert "what_happened" not in closed  # the account stays in the crisis record, not on the bus
    async with world.db.sessions() as session:
        record = await session.get(CrisisRecord, crisis.id)
    assert record is not None and record.state == "closed" and record.what_happened == closure.what_happened


def test_a_generated_roster_survives_the_csv_round_trip_and_bad_rows_are_named(tmp_path: Path) -> None:
    roster = generate_roster(30, seed=5, today=date(2026, 11, 23))
    path = tmp_path / "roster.csv"
    text = write_csv(roster.specialists)
    lines = text.splitlines()
    lines[2] = lines[2].replace("@peers.example.org", "")  # an email address without a domain
    path.write_text("\n".join(lines) + "\n")
    read, errors = read_roster(path)
    assert [e.row for e in errors] == [2] and "email" in errors[0].error
    assert read.specialists == tuple(s for i, s in enumerate(roster.specialists) if i != 1)


async def test_a_patient_with_a_language_nobody_speaks_is_unmatched_once(world: World) -> None:
    details = discharge_details(
        planning=planning(), patient=Patient(identifiers=(pending().discharge.patient.identifiers[0],), language="fr")
    )
    event = DischargePending(case_id=unique("case"), discharge=details, source=pending().source)
    await world.deliver(take_discharge, event)
    await world.deliver(take_discharge, registered_like(event))
    (unmatched,) = await world.emitted(event.case_id, "specialist.unmatched")
    assert unmatched["reasons"] == ["language"] and "0 speak fr" in unmatched["detail"]


async def test_the_round_robin_strategy_offers_cases_in_rota_order(world: World) -> None:
    world.ctx.settings = world.ctx.settings.model_copy(update={"strategy": "round_robin"})
    offered = []
    for _ in range(5):
        event = pending()
        await world.deliver(take_discharge, event)
        (assigned,) = await world.emitted(event.case_id, "specialist.assigned")
        offered.append(assigned["specialist"]["specialist_id"])
    # Language, distance and lived experience are not considered: S-D in Chicago takes its turn too.
    assert offered == ["S-A", "S-B", "S-C", "S-D", "S-A"]

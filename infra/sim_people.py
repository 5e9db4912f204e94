"""The simulated people around the platform: specialists answering offers, staff recording consent, patients at their
follow-up visits, community organisations answering referrals.

Each reads only what reaches them through the platform (an offer in the inbox, a booked visit, a referral) and acts
through its public API; every decision draws from a stream named by stable ids (`sim_agenda.draw`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from services.assignment.domain import SpecialistIn
from services.intake.hl7_mapping import DEFAULT_MAPPING
from shared.case_id import case_id_for
from shared.events import (
    FollowupCancelled,
    FollowupScheduled,
    NotificationRequested,
    ReferralCreated,
    RideStatusChanged,
    SpecialistAcknowledged,
)
from shared.events.transport import Leg, RideStatus

from .event_log import Logged
from .scenario import LOCAL_ZONE, Channel, Scenario, ScenarioConfig, Stay, Trigger, on_grid
from .scenario_supply import Supply
from .sim_agenda import Action, Agenda, Kind, draw

OFFER_TEMPLATES = ("specialist.assigned", "specialist.reassigned")
CRISIS_TEMPLATE = "crisis.flagged"
CONFIRMED_RIDE = (RideStatus.ACCEPTED, RideStatus.DRIVER_ASSIGNED, RideStatus.PICKED_UP, RideStatus.COMPLETED)
# Assumptions of the model (docs/outcomes.md): how often people do things. Peer support raising attendance is the
# one assumption that favours the platform's own work; it is small and named so it can be set to zero.
ACCEPT_SHARE = 0.9
ACCEPT_OTHER_LANGUAGE = 0.15
NO_SHARED_EXPERIENCE_FACTOR = 0.8
OFF_SHIFT_ANSWER_SHARE = 0.3
ATTEND_SHARE = 0.72
TELEHEALTH_BONUS = 0.05
NO_RIDE_PENALTY = 0.12  # an in-person visit without a confirmed ride: some patients have no other way there
PEER_SUPPORT_BONUS = 0.08
REFERRAL_ACCEPTED, REFERRAL_DECLINED, REFERRAL_COMPLETED = 0.7, 0.15, 0.8


def recovery_domains(stay: Stay) -> set[str]:
    """The domains intake derives for the stay (HL7 PV1-10 and ICD-10 prefixes), as the specialist will learn them."""
    mapping = DEFAULT_MAPPING
    domains = set()
    if stay.facility.channel is Channel.HL7:
        domains |= {str(d) for d in mapping.service_domains.get(stay.facility.hospital_service, ())}
    for code, _ in stay.diagnoses:
        plain = code.replace(".", "").upper()
        domains |= {str(d) for p, d in mapping.diagnosis_domains.items() if plain.startswith(p.replace(".", ""))}
    return domains


class People:
    def __init__(self, scenario: Scenario, supply: Supply) -> None:
        self.config: ScenarioConfig = scenario.config
        self.stays = {case_id_for(s.facility.id, s.visit_number): s for s in scenario.stays}
        self.domains = {case_id: recovery_domains(stay) for case_id, stay in self.stays.items()}
        self.roster: dict[str, SpecialistIn] = {s.id: s for s in supply.roster.specialists}
        self.habits = supply.specialist_habits
        self.acknowledged: dict[str, datetime] = {}
        self.visit_ride: dict[str, bool] = {}  # appointment id → a ride there is confirmed
        self.visits: dict[str, FollowupScheduled] = {}
        self.cancelled_visits: set[str] = set()
        self._ordinals: dict[tuple[str, ...], int] = defaultdict(int)
        self.stats: dict[str, int] = defaultdict(int)

    def _ordinal(self, *parts: str) -> int:
        self._ordinals[parts] += 1
        return self._ordinals[parts]

    def plan_consents(self, scenario: Scenario, *, announce_ahead: bool, agenda: Agenda) -> None:
        """Staff ask each patient about peer support once the facility has told the platform of the discharge, and
        record the answer a step later (FHIR and HL7 carry no consent, so matching waits for it)."""
        first_told: dict[str, datetime] = {}
        for message in scenario.messages_for(announce_ahead=announce_ahead):
            if message.trigger in (Trigger.PENDING, Trigger.DISCHARGED):
                case_id = case_id_for(message.stay.facility.id, message.stay.visit_number)
                first_told.setdefault(case_id, message.at)
        for case_id, told in first_told.items():
            stay = self.stays[case_id]
            agenda.add(
                Action(told + self.config.step, Kind.CONSENT, case_id, {"consent": stay.consents_to_peer_support})
            )

    def take(self, events: list[Logged], agenda: Agenda) -> None:
        for logged in events:
            event = logged.event
            if isinstance(event, NotificationRequested) and event.template in OFFER_TEMPLATES:
                self._offer(event, logged.time, agenda)
            elif isinstance(event, NotificationRequested) and event.template == CRISIS_TEMPLATE:
                self._crisis_alert(event, logged.time, agenda)
            elif isinstance(event, SpecialistAcknowledged):
                self.acknowledged.setdefault(event.case_id, logged.time)
            elif isinstance(event, FollowupScheduled):
                self.visits[event.appointment_id] = event
                ordinal = self._ordinal(event.case_id, "visit")
                at = on_grid(self.config, event.starts_at, up=True)
                key = f"{event.case_id}:visit:{ordinal}"
                agenda.add(Action(at, Kind.VISIT_OUTCOME, key, {"appointment_id": event.appointment_id, "n": ordinal}))
            elif isinstance(event, FollowupCancelled):
                self.cancelled_visits.add(event.appointment_id)
            elif isinstance(event, RideStatusChanged) and event.leg is Leg.TO_APPOINTMENT and event.appointment_id:
                self.visit_ride[event.appointment_id] = event.status in CONFIRMED_RIDE
            elif isinstance(event, ReferralCreated):
                self._referral(event, logged.time, agenda)

    # --- specialists -------------------------------------------------------------------------------------------
    def _offer(self, offer: NotificationRequested, at: datetime, agenda: Agenda) -> None:
        specialist = self.roster.get(offer.recipient_id)
        habits = self.habits.get(offer.recipient_id)
        if specialist is None or habits is None or offer.respond_by is None:
            return
        ordinal = self._ordinal(offer.case_id, "offer")
        self.stats["offers"] += 1
        if not habits.answers:
            self.stats["offers_never_answered"] += 1
            return
        rng = draw(self.config.seed, "offer", offer.case_id, offer.recipient_id, ordinal)
        delay = timedelta(minutes=habits.minutes_to_answer * rng.uniform(0.5, 1.5))
        answered = self._next_on_shift(specialist, at, off_shift_answers=rng.random() < OFF_SHIFT_ANSWER_SHARE)
        if answered is None:
            self.stats["offers_on_leave"] += 1
            return
        answered = on_grid(self.config, answered + delay, up=True)
        if answered > offer.respond_by:
            self.stats["offers_answered_too_late"] += 1
            return
        stay = self.stays.get(offer.case_id)
        accept = ACCEPT_SHARE
        if stay is not None and stay.patient.language not in specialist.languages:
            accept = ACCEPT_OTHER_LANGUAGE
        if not self.domains.get(offer.case_id, set()) & {str(d) for d in specialist.domains}:
            accept *= NO_SHARED_EXPERIENCE_FACTOR
        accepted = rng.random() < accept
        key = f"{offer.case_id}:offer:{ordinal}"
        agenda.add(
            Action(
                answered,
                Kind.NOTIFICATION_ANSWER,
                key,
                {"notification_id": offer.notification_id, "accepted": accepted},
            )
        )

    def _next_on_shift(self, specialist: SpecialistIn, at: datetime, *, off_shift_answers: bool) -> datetime | None:
        """When the specialist sees the offer: now if on shift (or checking the phone off shift), else at the start of
        the next shift within the offer's window; None when on leave today."""
        hours = specialist.availability
        local = at.astimezone(LOCAL_ZONE)
        if any(t.starts_on <= local.date() <= t.ends_on for t in hours.time_off):
            return None
        for days in range(3):
            day = local.date() + timedelta(days=days)
            if day.strftime("%a").lower() not in hours.weekdays:
                continue
            starts = datetime.combine(day, hours.starts, LOCAL_ZONE)
            ends = datetime.combine(day, hours.ends, LOCAL_ZONE)
            if days == 0 and starts <= local < ends:
                return at
            if local < starts:
                return at if off_shift_answers else starts
        return at if off_shift_answers else None

    def _crisis_alert(self, alert: NotificationRequested, at: datetime, agenda: Agenda) -> None:
        """The on-call supervisor takes a crisis alert as soon as it is seen.

        Peers are not clinicians: they call in.
        """
        if alert.recipient_role != "supervisor" or not alert.needs_acknowledgement:
            return
        self.stats["crisis_alerts_answered"] += 1
        key = f"{alert.case_id}:crisis:{self._ordinal(alert.case_id, 'crisis')}"
        payload = {"notification_id": alert.notification_id, "accepted": True}
        agenda.add(Action(at, Kind.NOTIFICATION_ANSWER, key, payload))  # a repeat is answered if this one expired

    # --- organisations -----------------------------------------------------------------------------------------
    def _referral(self, referral: ReferralCreated, at: datetime, agenda: Agenda) -> None:
        ordinal = self._ordinal(referral.case_id, "referral", referral.category)
        rng = draw(self.config.seed, "referral", referral.case_id, referral.category, ordinal)
        key = f"{referral.case_id}:referral:{referral.category}:{ordinal}"
        roll = rng.random()
        if roll < REFERRAL_ACCEPTED:
            accepted = on_grid(self.config, at + timedelta(hours=rng.uniform(4, 48)), up=True)
            agenda.add(Action(accepted, Kind.REFERRAL_ANSWER, key, {"id": referral.referral_id, "status": "accepted"}))
            if rng.random() < REFERRAL_COMPLETED:
                done = on_grid(self.config, accepted + timedelta(days=rng.uniform(3, 12)), up=True)
                agenda.add(Action(done, Kind.REFERRAL_ANSWER, key + ":done", {"id": referral.referral_id,
                                                                              "status": "completed"}))  # fmt: skip
        elif roll < REFERRAL_ACCEPTED + REFERRAL_DECLINED:
            declined = on_grid(self.config, at + timedelta(hours=rng.uniform(2, 24)), up=True)
            payload = {"id": referral.referral_id, "status": "rejected", "reason": "no_capacity"}
            agenda.add(Action(declined, Kind.REFERRAL_ANSWER, key, payload))

    # --- patients ----------------------------------------------------------------------------------------------
    def attends(self, appointment_id: str, ordinal: int) -> bool | None:
        """Whether the patient comes to the visit (decided when it is due); None if it was cancelled or moved."""
        visit = self.visits.get(appointment_id)
        if visit is None or appointment_id in self.cancelled_visits:
            return None
        chance = ATTEND_SHARE
        if visit.telehealth:
            chance += TELEHEALTH_BONUS
        elif not self.visit_ride.get(appointment_id, False):
            chance -= NO_RIDE_PENALTY
        acknowledged = self.acknowledged.get(visit.case_id)
        if acknowledged is not None and acknowledged <= visit.starts_at:
            chance += PEER_SUPPORT_BONUS
        return draw(self.config.seed, "visit", visit.case_id, ordinal).random() < chance

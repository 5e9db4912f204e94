"""Templates per name and language: the summary, what to do and the links; never PHI, refused when it shows up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notification.domain import phi_findings
from services.notification.templates import (
    DEFAULT_TEMPLATE,
    TEMPLATES,
    MessageFacts,
    PhiRefused,
    ack_page,
    render,
    supported_language,
)

pytestmark = pytest.mark.unit

DASHBOARD = "https://dashboard.example.org/cases/0f8e2a4b-6c1d-5e3f-9a7b-2c4d6e8f0a1b"
ACCEPT = "https://notify.example.org/v1/ack/tok3n?answer=accept"
DECLINE = "https://notify.example.org/v1/ack/tok3n?answer=decline"


def facts(**overrides: object) -> MessageFacts:
    values: dict[str, object] = {
        "template": "specialist.assigned",
        "language": "en",
        "case_ref": "0f8e2a4b",
        "summary": "New case 0f8e2a4b at TEST_FACILITY: please confirm you can mentor this patient",
        "urgent": False,
        "dashboard_url": DASHBOARD,
    }
    values.update(overrides)
    return MessageFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_template_renders_in_english_and_spanish_with_the_case_summary_and_link(
    template: str, language: str
) -> None:
    message = render(facts(template=template, language=language))
    assert (message.template, message.language) == (template, language)
    assert "0f8e2a4b" in message.subject
    assert message.text.startswith("New case 0f8e2a4b at TEST_FACILITY")
    assert DASHBOARD in message.text
    assert "{{" not in message.subject + message.text
    assert "answer=accept" not in message.text  # no answer asked, no links to answer


def test_an_answer_asked_puts_both_one_time_links_and_the_deadline_in_the_message() -> None:
    respond_by = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    message = render(facts(accept_url=ACCEPT, decline_url=DECLINE, respond_by=respond_by))
    assert f"- Accept: {ACCEPT}\n" in message.text
    assert f"- Decline: {DECLINE}\n" in message.text
    assert "by 2026-11-23 18:00 UTC" in message.text
    spanish = render(facts(language="es", accept_url=ACCEPT, decline_url=DECLINE, respond_by=respond_by))
    assert f"- Aceptar: {ACCEPT}\n" in spanish.text
    assert "antes del 2026-11-23 18:00 UTC" in spanish.text
    assert spanish.subject.startswith("Nueva asignación")


def test_urgent_messages_say_so_first_in_the_subject() -> None:
    assert render(facts(template="crisis.flagged", urgent=True)).subject.startswith("[URGENT] Crisis flagged")
    assert render(facts(template="crisis.flagged", urgent=True, language="es")).subject.startswith("[URGENTE] ")


def test_an_unknown_template_or_language_falls_back_rather_than_leaving_someone_unnotified() -> None:
    message = render(facts(template="transport.something-new", language="fr"))
    assert (message.template, message.language) == (DEFAULT_TEMPLATE, "en")
    assert "See the details on the dashboard." in message.text
    assert supported_language("es-MX") == "es"
    assert supported_language("ES_us") == "es"


@pytest.mark.parametrize(
    ("summary", "kind"),
    [
        ("Ana Rivera, F32.9, needs a mentor", "diagnosis_code"),
        ("Patient with F11.20 leaving today", "diagnosis_code"),
        ("Discharged, dx major depressive disorder", "diagnosis"),
        ("Follow up on her schizophrenia meds", "diagnosis"),
        ("Opioid use disorder, discharged today", "diagnosis"),
        ("DOB 1980-04-02, discharged today", "birth_date"),
        ("fecha de nacimiento 02/04/1980", "birth_date"),
        ("MRN 448812 discharged", "record_number"),
        ("Call back about 123-45-6789", "ssn"),
    ],
)
def test_a_summary_that_looks_like_it_holds_phi_is_refused(summary: str, kind: str) -> None:
    assert kind in phi_findings(summary)
    with pytest.raises(PhiRefused) as refused:
        render(facts(summary=summary))
    assert kind in refused.value.findings
    assert summary not in str(refused.value)  # the refusal names kinds, never the text


@pytest.mark.parametrize(
    "summary",
    [
        "New case 0f8e2a4b at TEST_FACILITY: peer specialist match pending",
        "Referral R-7f3c (housing) to Springfield Housing Authority has had no answer since 2026-11-20 09:00 UTC",
        "3 peer groups and community activities near the patient's home in the first 4 weeks (5 dated sessions)",
        "Ride 0f8e2a4b-ride picked up at 14:05; follow-up on 2026-11-30T10:00",
        "Specialist S-104 assigned, assignment A-7f3c",
    ],
)
def test_the_platforms_own_summaries_pass_the_guard(summary: str) -> None:
    assert phi_findings(summary) == ()


def test_the_message_holds_only_what_the_facts_hold() -> None:
    # The facts have no field for a name, a birth date or a diagnosis: what the discharge carried cannot leak.
    message = render(facts(accept_url=ACCEPT, decline_url=DECLINE))
    for patient_fact in ("Ana", "Rivera", "1980-04-02", "F32", "depress", "MRN"):
        assert patient_fact not in message.subject + message.text
    assert set(MessageFacts.__dataclass_fields__) == {
        "template",
        "language",
        "case_ref",
        "summary",
        "urgent",
        "dashboard_url",
        "accept_url",
        "decline_url",
        "respond_by",
    }


def test_the_link_page_asks_with_buttons_and_escapes_what_it_shows() -> None:
    page = ack_page("ask", language="en", title="<b>New</b> assignment", answer="accept")
    assert '<form method="post" action="?answer=accept"><button type="submit">Accept</button></form>' in page
    assert "answer=decline" not in page
    assert "&lt;b&gt;New&lt;/b&gt;" in page
    both = ack_page("ask", language="es", title="Asignación")
    assert "Aceptar" in both and "Rechazar" in both
    used = ack_page("answered", language="en", title="t", accepted=False, when=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert "already used" in used and "(declined)" in used and "2026-01-02 03:04 UTC" in used
    assert "<form" not in used

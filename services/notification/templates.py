"""Message templates per template name and language (en, es), and the pages an acknowledgement link opens.

A message names the case (a short reference), says what to do and links to the dashboard; it shows the request's
summary and nothing else about the patient, and refuses to render when the summary looks like it holds PHI.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from jinja2 import Environment, StrictUndefined, Template

from .domain import phi_findings

DEFAULT_LANGUAGE = "en"
DEFAULT_TEMPLATE = "notice"


@dataclass(frozen=True, slots=True)
class Wording:
    subject: str
    action: str


# Subjects and actions are Jinja templates over `case_ref`; the layout below puts them around the summary and links.
TEMPLATES: dict[str, dict[str, Wording]] = {
    "specialist.assigned": {
        "en": Wording(
            "New peer support assignment (case {{ case_ref }})",
            "You have been matched to mentor a patient leaving care. Please accept or decline the assignment.",
        ),
        "es": Wording(
            "Nueva asignación de apoyo entre pares (caso {{ case_ref }})",
            "Se le ha asignado acompañar a un paciente que deja la atención. Acepte o rechace la asignación.",
        ),
    },
    "specialist.reassigned": {
        "en": Wording(
            "Peer support assignment passed to you (case {{ case_ref }})",
            "A patient's peer support was reassigned to you. Please accept or decline the assignment.",
        ),
        "es": Wording(
            "Asignación de apoyo entre pares transferida a usted (caso {{ case_ref }})",
            "El acompañamiento de un paciente se le ha reasignado. Acepte o rechace la asignación, por favor.",
        ),
    },
    "specialist.released": {
        "en": Wording(
            "Assignment ended (case {{ case_ref }})", "Your assignment to this case has ended. No action is needed."
        ),
        "es": Wording(
            "Asignación terminada (caso {{ case_ref }})",
            "Su asignación a este caso ha terminado. No hace falta hacer nada.",
        ),
    },
    "case.awaiting-match": {
        "en": Wording(
            "New case awaiting a peer specialist (case {{ case_ref }})",
            "Review the case and its match on the dashboard.",
        ),
        "es": Wording(
            "Caso nuevo a la espera de un especialista de pares (caso {{ case_ref }})",
            "Revise el caso y su asignación en el panel.",
        ),
    },
    "crisis.flagged": {
        # Peers are not clinicians (SAMHSA peer support guidance): the message says who to involve, 988 first.
        "en": Wording(
            "Crisis flagged: respond now (case {{ case_ref }})",
            "Respond now. Involve the clinician on call; if anyone is in immediate danger, call 988 or 911.",
        ),
        "es": Wording(
            "Crisis señalada: responda ya (caso {{ case_ref }})",
            "Responda ya. Avise al clínico de guardia; si alguien corre peligro inmediato, llame al 988 o al 911.",
        ),
    },
    "referral.unanswered": {
        "en": Wording(
            "Referral without an answer (case {{ case_ref }})",
            "Follow up with the organisation, or choose another option on the dashboard.",
        ),
        "es": Wording(
            "Derivación sin respuesta (caso {{ case_ref }})",
            "Haga seguimiento con la organización o elija otra opción en el panel.",
        ),
    },
    "resource.activities-suggested": {
        "en": Wording(
            "Community activities to suggest (case {{ case_ref }})",
            "Review the suggested peer groups and activities, and offer them to the patient.",
        ),
        "es": Wording(
            "Actividades comunitarias para sugerir (caso {{ case_ref }})",
            "Revise los grupos de pares y actividades sugeridos y ofrézcaselos al paciente.",
        ),
    },
    "followup.reminder-due": {
        "en": Wording(
            "Follow-up appointment reminder (case {{ case_ref }})",
            "Remind the patient of the appointment and check that the ride is booked.",
        ),
        "es": Wording(
            "Recordatorio de cita de seguimiento (caso {{ case_ref }})",
            "Recuerde la cita al paciente y compruebe que el transporte está reservado.",
        ),
    },
    "followup.missed": {
        "en": Wording(
            "Follow-up appointment missed (case {{ case_ref }})",
            "Reach out to the patient and help them rebook the appointment.",
        ),
        "es": Wording(
            "Cita de seguimiento perdida (caso {{ case_ref }})", "Contacte al paciente y ayúdele a reprogramar la cita."
        ),
    },
    DEFAULT_TEMPLATE: {
        "en": Wording("Discharge coordination update (case {{ case_ref }})", "See the details on the dashboard."),
        "es": Wording("Novedad de coordinación de altas (caso {{ case_ref }})", "Vea los detalles en el panel."),
    },
}

URGENT_PREFIX = {"en": "[URGENT] ", "es": "[URGENTE] "}

LAYOUTS = {
    "en": """\
{{ summary }}

{{ action }}
{% if accept_url %}

Please answer{% if respond_by %} by {{ respond_by }}{% endif %}:
- Accept: {{ accept_url }}
- Decline: {{ decline_url }}
The first answer counts; the link works once.
{% endif %}

Open the case on the dashboard (sign-in required):
{{ dashboard_url }}

--
This message holds no health information by design: the details are behind sign-in.
Discharge coordination. Replies to this address are not read.
""",
    "es": """\
{{ summary }}

{{ action }}
{% if accept_url %}

Responda, por favor{% if respond_by %}, antes del {{ respond_by }}{% endif %}:
- Aceptar: {{ accept_url }}
- Rechazar: {{ decline_url }}
Cuenta la primera respuesta; el enlace funciona una sola vez.
{% endif %}

Abra el caso en el panel (requiere iniciar sesión):
{{ dashboard_url }}

--
Este mensaje no contiene información de salud por diseño: los detalles están tras el inicio de sesión.
Coordinación de altas. Las respuestas a esta dirección no se leen.
""",
}

# Plain text for email and webhooks: no HTML escaping, but every variable must be given (StrictUndefined).
_text = Environment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_html = Environment(undefined=StrictUndefined, autoescape=True, trim_blocks=True, lstrip_blocks=True)


@functools.cache
def _text_template(source: str) -> Template:
    # Compiling is most of a render (docs/benchmarks.md); the sources are this module's constants, so few and fixed.
    return _text.from_string(source)


class PhiRefused(ValueError):
    """The message would carry what looks like PHI; nothing is rendered."""

    def __init__(self, findings: tuple[str, ...]) -> None:
        super().__init__(f"refused to render: looks like {', '.join(findings)}")
        self.findings = findings


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """Everything a template may show. No field can hold a diagnosis, a name or a birth date."""

    template: str
    language: str
    case_ref: str
    summary: str
    urgent: bool
    dashboard_url: str
    accept_url: str | None = None
    decline_url: str | None = None
    respond_by: datetime | None = None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    template: str  # the template used: the requested one, or DEFAULT_TEMPLATE for a name this service lacks
    language: str  # the language used: the requested one, or DEFAULT_LANGUAGE
    subject: str
    text: str


def supported_language(language: str) -> str:
    """ "es-MX" → "es"; a language without templates falls back to English."""
    primary = language.split("-", 1)[0].split("_", 1)[0].lower()
    return primary if primary in LAYOUTS else DEFAULT_LANGUAGE


def render(facts: MessageFacts) -> RenderedMessage:
    findings = phi_findings(facts.summary, facts.dashboard_url)
    if findings:
        raise PhiRefused(findings)
    language = supported_language(facts.language)
    template = facts.template if facts.template in TEMPLATES else DEFAULT_TEMPLATE
    wording = TEMPLATES[template][language]
    subject = _text_template(wording.subject).render(case_ref=facts.case_ref)
    if facts.urgent:
        subject = URGENT_PREFIX[language] + subject
    text = _text_template(LAYOUTS[language]).render(
        summary=facts.summary,
        action=wording.action,
        accept_url=facts.accept_url,
        decline_url=facts.decline_url,
        respond_by=format_time(facts.respond_by) if facts.respond_by else None,
        dashboard_url=facts.dashboard_url,
    )
    return RenderedMessage(template=template, language=language, subject=subject, text=text)


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# What an acknowledgement link opens. GET only asks (mail scanners follow links: RFC 9110 §9.2.1, GET is safe);
# the recipient's button POSTs the answer.
AckPage = Literal["ask", "accepted", "declined", "expired", "answered", "unknown", "not_asked"]

ACK_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "ask": "Your answer to this notification:",
        "accept": "Accept",
        "decline": "Decline",
        "accepted": "Thank you: you accepted. Your answer was recorded.",
        "declined": "Thank you: you declined. Your answer was recorded; the coordinator will be told.",
        "expired": "This link expired on {when}. Please contact your coordinator.",
        "answered": "This link was already used: the answer ({answer}) was recorded on {when}.",
        "unknown": "This link is not valid. Please check that it was copied whole.",
        "not_asked": "This notification does not ask for an answer.",
        "yes": "accepted",
        "no": "declined",
    },
    "es": {
        "ask": "Su respuesta a esta notificación:",
        "accept": "Aceptar",
        "decline": "Rechazar",
        "accepted": "Gracias: ha aceptado. Su respuesta quedó registrada.",
        "declined": "Gracias: ha rechazado. Su respuesta quedó registrada; se avisará al coordinador.",
        "expired": "Este enlace caducó el {when}. Contacte a su coordinador, por favor.",
        "answered": "Este enlace ya se usó: la respuesta ({answer}) se registró el {when}.",
        "unknown": "Este enlace no es válido. Compruebe que lo copió completo.",
        "not_asked": "Esta notificación no pide respuesta.",
        "yes": "aceptada",
        "no": "rechazada",
    },
}

ACK_PAGE = """\
<!doctype html>
<html lang="{{ language }}">
<head><meta charset="utf-8"><meta name="robots" content="noindex"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
<p>{{ message }}</p>
{% for action, label in buttons %}
<form method="post" action="{{ action }}"><button type="submit">{{ label }}</button></form>
{% endfor %}
</body>
</html>
"""


_ACK_TEMPLATE = _html.from_string(ACK_PAGE)


def ack_page(
    page: AckPage,
    *,
    language: str,
    title: str,
    answer: Literal["accept", "decline"] | None = None,
    accepted: bool | None = None,
    when: datetime | None = None,
) -> str:
    """The HTML of one acknowledgement page; `ask` holds a button per answer offered, posting to the same link."""
    language = supported_language(language)
    texts = ACK_TEXTS[language]
    answer_text = texts["yes"] if accepted else texts["no"]
    message = texts[page].format(when=format_time(when) if when else "", answer=answer_text)
    offered = [answer] if answer else ["accept", "decline"]
    buttons = [(f"?answer={choice}", texts[choice]) for choice in offered] if page == "ask" else []
    return _ACK_TEMPLATE.render(language=language, title=title, message=message, buttons=buttons)

"""The outside channels: one attempt to send an email over SMTP or a signed webhook POST, and what came of it."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage

import aiosmtplib
import httpx

from .domain import DELIVERED, Outcome
from .settings import NotificationSettings
from .signing import signature_headers

USER_AGENT = "discharge-coordination-notification/1"


def email_message(
    settings: NotificationSettings, *, to: str, subject: str, text: str, notification_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    # One Message-ID per notification (RFC 5322 §3.6.4): a retry after an unclear failure is the same message,
    # which mail clients and servers can recognise as a duplicate.
    domain = email.utils.parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{notification_id}@{domain}>"
    # Machine-sent (RFC 3834 §5): auto-responders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    return message


async def send_email(settings: NotificationSettings, message: EmailMessage) -> Outcome:
    if not settings.smtp_host:
        return Outcome(False, "email_not_configured", "NOTIFICATION_SMTP_HOST is not set", permanent=True)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        refusal = error.recipients[0]
        return _smtp_reply(refusal.code, refusal.message)
    except aiosmtplib.SMTPResponseException as error:
        return _smtp_reply(error.code, error.message)
    except (aiosmtplib.SMTPException, OSError) as error:  # OSError: refused connection, DNS, TLS (ssl.SSLError)
        return Outcome(False, "smtp_unreachable", _short(f"{type(error).__name__}: {error}"))
    return DELIVERED


def _smtp_reply(code: int, text: str) -> Outcome:
    # RFC 5321 §4.2.1: 5yz is a permanent negative completion (retrying the same message fails again), 4yz transient.
    if 500 <= code < 600:
        return Outcome(False, "smtp_rejected", _short(f"{code} {text}"), permanent=True)
    return Outcome(False, "smtp_deferred", _short(f"{code} {text}"))


async def post_webhook(
    client: httpx.AsyncClient, *, url: str, body: bytes, secret: str, notification_id: str, attempt: int, now: int
) -> Outcome:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        # Receivers dedupe retries by the notification id; the attempt number is for their logs.
        "X-Notification-Id": notification_id,
        "X-Delivery-Attempt": str(attempt),
        **signature_headers(secret, now, body),
    }
    try:
        # No redirects: a signed delivery goes to the registered URL only.
        response = await client.post(url, content=body, headers=headers, follow_redirects=False)
    except httpx.TimeoutException as error:
        return Outcome(False, "webhook_timeout", _short(type(error).__name__))
    except httpx.HTTPError as error:
        return Outcome(False, "webhook_unreachable", _short(f"{type(error).__name__}: {error}"))
    if response.is_success:
        return DELIVERED
    # 410 Gone: the receiver says this endpoint is no more (RFC 9110 §15.5.11); every other status may pass.
    return Outcome(False, "webhook_rejected", f"HTTP {response.status_code}", permanent=response.status_code == 410)


def _short(text: str) -> str:
    return text[:500]

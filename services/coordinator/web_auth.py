"""Web sign-in for the board: scrypt password hashes, HMAC-signed session cookies, roles and who may see what."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from .db import CaseView, WebUser

COOKIE = "dcp_session"


class Role(StrEnum):
    FACILITY_STAFF = "facility_staff"
    COORDINATOR = "coordinator"
    SUPERVISOR = "supervisor"
    SPECIALIST = "specialist"


def hash_password(password: str, salt: bytes | None = None) -> str:
    # scrypt (RFC 7914) from the standard library; n=2**14 keeps a sign-in near 50 ms on this hardware.
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, _ = stored.split("$")
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(hash_password(password, base64.b64decode(salt)), stored)


@dataclass(frozen=True)
class SessionUser:
    username: str
    role: Role
    facility_id: str | None
    specialist_id: str | None

    @classmethod
    def of(cls, user: WebUser) -> SessionUser:
        return cls(user.username, Role(user.role), user.facility_id, user.specialist_id)


class SessionSigner:
    def __init__(self, secret: bytes, hours: float) -> None:
        self.secret = secret
        self.seconds = int(hours * 3600)

    def issue(self, user: SessionUser) -> str:
        payload = base64.urlsafe_b64encode(
            json.dumps(
                {
                    "u": user.username,
                    "r": user.role,
                    "f": user.facility_id,
                    "s": user.specialist_id,
                    "exp": int(time.time()) + self.seconds,
                }
            ).encode()
        ).decode()
        return f"{payload}.{self._sign(payload)}"

    def read(self, token: str | None) -> SessionUser | None:
        if not token or "." not in token:
            return None
        payload, signature = token.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        data = json.loads(base64.urlsafe_b64decode(payload))
        if data["exp"] < time.time():
            return None
        return SessionUser(data["u"], Role(data["r"]), data["f"], data["s"])

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()


def may_view(user: SessionUser, case: CaseView) -> bool:
    """Specialists see only their own cases, facility staff only their facility's; the rest see all."""
    if user.role is Role.SPECIALIST:
        return user.specialist_id is not None and case.specialist_id == user.specialist_id
    if user.role is Role.FACILITY_STAFF:
        return user.facility_id is not None and case.facility_id == user.facility_id
    return True

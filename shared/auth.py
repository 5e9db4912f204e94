"""Bearer API keys on every HTTP route but /health."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .settings import ServiceSettings

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")


def api_key_guard(settings: ServiceSettings) -> Callable[..., str]:
    """A FastAPI dependency that answers 401 unless the request carries one of the configured keys."""
    keys = settings.parsed_api_keys

    def require_api_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "missing bearer API key", headers={"WWW-Authenticate": "Bearer"}
            )
        offered = credentials.credentials.encode()
        # Compare against every key in constant time, so timing does not reveal which prefix matched.
        principal = None
        for key in keys:
            if hmac.compare_digest(offered, key.key.get_secret_value().encode()):
                principal = key.principal
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
        return principal

    return require_api_key

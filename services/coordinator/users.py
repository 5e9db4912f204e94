"""Web users of the board: created at start-up for development, or with `python -m services.coordinator.users`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.db import Database
from shared.runtime import ServiceRuntime

from .db import TABLES, WebUser
from .settings import CoordinatorSettings
from .web_auth import Role, hash_password


async def put_user(
    db: Database,
    username: str,
    password: str,
    role: Role,
    facility_id: str | None = None,
    specialist_id: str | None = None,
) -> None:
    async with db.transaction() as session:
        user = await session.get(WebUser, username) or WebUser(username=username, password_hash="", role=role)
        user.password_hash = hash_password(password)
        user.role, user.facility_id, user.specialist_id = role, facility_id, specialist_id
        session.add(user)


@asynccontextmanager
async def dev_users(runtime: ServiceRuntime) -> AsyncIterator[None]:
    """`make run`/`make up` pass a fresh COORDINATOR_DEV_PASSWORD: sign in as 'coordinator' or 'supervisor'."""
    settings: CoordinatorSettings = runtime.settings  # type: ignore[assignment]
    if settings.dev_password is not None:
        for name, role in (("coordinator", Role.COORDINATOR), ("supervisor", Role.SUPERVISOR)):
            await put_user(runtime.db, name, settings.dev_password.get_secret_value(), role)
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description="Add or update a web user of the coordinator board.")
    parser.add_argument("username")
    parser.add_argument("--role", choices=[r.value for r in Role], required=True)
    parser.add_argument("--facility", help="facility staff: their facility id")
    parser.add_argument("--specialist", help="specialists: their roster id")
    args = parser.parse_args()
    password = getpass.getpass(f"password for {args.username}: ")
    if len(password) < 12:
        raise SystemExit("use a password of at least 12 characters")
    settings = CoordinatorSettings()
    db = Database(settings.resolved_database_url, TABLES, schema=settings.service_name)

    async def run() -> None:
        await db.create_tables()
        await put_user(db, args.username, password, Role(args.role), args.facility, args.specialist)
        await db.dispose()

    asyncio.run(run())
    print(f"{args.username} ({args.role}) saved")


if __name__ == "__main__":
    main()

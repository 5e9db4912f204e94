"""What every assignment use case is given: settings, clock, database, the roster's match index."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.clock import Clock
from shared.db import Database
from shared.events import Event

from ..settings import AssignmentSettings
from .roster import RosterCache

SERVICE = "assignment"
SOURCE = f"/{SERVICE}"


class NotFound(LookupError):
    """The assignment, case or crisis an HTTP request names does not exist (404)."""


class Conflict(ValueError):
    """The request does not fit the current state (409), e.g. answering an offer that already ended."""


@dataclass
class AssignmentContext:
    settings: AssignmentSettings
    clock: Clock
    db: Database
    wake_relay: Callable[[], None] = lambda: None
    roster: RosterCache = field(default_factory=RosterCache)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.local_time_zone)

    @property
    def ack_timeout(self) -> timedelta:
        return timedelta(minutes=self.settings.ack_timeout_minutes)

    @property
    def crisis_repeat(self) -> timedelta:
        return timedelta(minutes=self.settings.crisis_repeat_minutes)

    def now(self) -> datetime:
        return self.clock.now()

    def emit(self, session: AsyncSession, event: Event) -> None:
        """Stage an event in the caller's transaction (the outbox): it leaves only if the state change commits."""
        outbox.add(session, event, source=SOURCE, now=self.clock.now())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """For HTTP commands and scheduler ticks: one transaction, then the relay is woken for what it staged."""
        async with self.db.transaction() as session:
            yield session
        self.wake_relay()

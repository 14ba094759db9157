"""A clock the tests control, injected into backends in place of the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Moves forward one ``tick`` on every reading, so each write gets a later time.

    Strictly increasing times make "newest first" well defined without real sleeps.
    """

    def __init__(
        self, start: datetime = datetime(2025, 1, 1, tzinfo=UTC), tick: timedelta = timedelta(seconds=1)
    ) -> None:
        self.now = start
        self.tick = tick

    def __call__(self) -> datetime:
        self.now += self.tick
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Jump forward, as if time passed between two calls."""
        self.now += delta


class WallClock(FakeClock):
    """The wall clock, for tests where the store's times and a runner's must line up (timeouts,
    spans); ``advance`` still moves it ahead."""

    def __init__(self) -> None:
        super().__init__(datetime.now(UTC), timedelta(0))
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        self.now = datetime.now(UTC) + self.offset
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

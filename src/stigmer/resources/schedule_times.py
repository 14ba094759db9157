"""When a Schedule fires: its cron expression or interval, read in its time zone.

Cron expressions are evaluated by ``cronsim`` (see docs/triggers.md for why), which handles
daylight-saving changes as cron does: a fire in an hour that a spring-forward skips happens
at the first valid minute after it, and a fixed-time fire in an hour that a fall-back repeats
happens once. Intervals (``every: 15m``) are counted from ``start``, or from the Unix epoch,
so every worker computes the same fire times.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stigmer.api.schedule.v1.schedule_pb2 import ScheduleSpec
from stigmer.errors import InvalidArgument
from stigmer.resources.durations import parse_duration

# The named forms cron accepts, as the five fields they stand for (cronsim reads only fields).
NAMED = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def time_zone(name: str, *, field: str = "spec.timeZone") -> ZoneInfo:
    """The IANA time zone ``name`` ("UTC" when empty).

    Raises:
        InvalidArgument: No such zone.
    """
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            f"unknown time zone {name!r}", field=field, hint="use an IANA name such as Europe/Berlin or UTC"
        ) from None


@dataclass(frozen=True)
class FireTimes:
    """The fire times of one schedule spec (all returned as aware datetimes in its zone)."""

    cron: str
    interval: timedelta | None
    zone: ZoneInfo
    start: datetime | None
    end: datetime | None

    @classmethod
    def of(cls, spec: ScheduleSpec) -> FireTimes:
        """Read a spec's timing.

        Raises:
            InvalidArgument: Neither or both of cron and every, a bad expression, interval or zone.
        """
        if bool(spec.cron) == bool(spec.every):
            raise InvalidArgument(
                "a Schedule has exactly one of cron and every",
                field="spec.cron",
                hint="write e.g. cron: '0 9 * * 1' or every: 15m",
            )
        zone = time_zone(spec.time_zone)
        start = spec.start.ToDatetime(UTC) if spec.HasField("start") else None
        end = spec.end.ToDatetime(UTC) if spec.HasField("end") else None
        if start and end and end <= start:
            raise InvalidArgument("spec.end must be after spec.start", field="spec.end")
        if spec.every:
            seconds = parse_duration(spec.every, field="spec.every")
            if seconds < 1:
                raise InvalidArgument(f"every must be at least 1s, got {spec.every!r}", field="spec.every")
            return cls("", timedelta(seconds=seconds), zone, start, end)
        cron = NAMED.get(spec.cron.strip().lower(), spec.cron.strip())
        from cronsim import CronSim, CronSimError

        try:
            CronSim(cron, datetime.now(zone))
        except CronSimError as exc:
            raise InvalidArgument(
                f"invalid cron expression {spec.cron!r}: {exc}",
                field="spec.cron",
                hint="five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, …",
            ) from None
        return cls(cron, None, zone, start, end)

    def _in_window(self, t: datetime) -> bool:
        return (self.start is None or t >= self.start) and (self.end is None or t <= self.end)

    def after(self, t: datetime) -> Iterator[datetime]:
        """Fire times strictly after ``t``, in order (ends at ``end``)."""
        # Compared in UTC: two times of one ZoneInfo compare by wall clock, wrong in a repeated hour.
        t = t.astimezone(UTC)
        t = max(t, self.start - timedelta(microseconds=1)) if self.start else t
        for fire in self._forward(t):
            if self.end is not None and fire > self.end:
                return
            yield fire

    def before(self, t: datetime) -> Iterator[datetime]:
        """Fire times at or before ``t``, newest first (ends at ``start``)."""
        t = t.astimezone(UTC)
        if self.end is not None and t > self.end:
            t = self.end
        for fire in self._backward(t):
            if self.start is not None and fire < self.start:
                return
            yield fire

    def _forward(self, t: datetime) -> Iterator[datetime]:
        if self.interval is not None:
            step, anchor = self.interval, self.start or _EPOCH
            n = (t - anchor) // step + 1
            while True:
                yield (anchor + n * step).astimezone(self.zone)
                n += 1
        from cronsim import CronSim

        # cronsim works at minute precision and returns times after its start minute.
        yield from (f for f in CronSim(self.cron, t.astimezone(self.zone)) if f > t)

    def _backward(self, t: datetime) -> Iterator[datetime]:
        if self.interval is not None:
            step, anchor = self.interval, self.start or _EPOCH
            n = (t - anchor) // step
            while True:
                yield (anchor + n * step).astimezone(self.zone)
                n -= 1
        from cronsim import CronSim

        # reverse=True yields times before its start minute, so start one minute later and keep
        # <= t; the minute is added in UTC (wall-clock arithmetic would lose a repeated hour's fold).
        later = (t + timedelta(minutes=1)).astimezone(self.zone)
        yield from (f for f in CronSim(self.cron, later, reverse=True) if f <= t)

    def next(self, t: datetime, n: int) -> list[datetime]:
        """The first ``n`` fire times after ``t``."""
        out: list[datetime] = []
        for fire in self.after(t):
            if len(out) >= n:
                break
            out.append(fire)
        return out


__all__ = ["NAMED", "FireTimes", "time_zone"]

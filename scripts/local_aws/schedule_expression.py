"""AWS cron schedule expressions: `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, the
format restore testing plans take ("CreateRestoreTestingPlan": ScheduleExpression, "a CRON
expression in specified timezone"; ScheduleExpressionTimezone, UTC by default).

The fields follow "Cron expressions reference" (Amazon EventBridge Scheduler): Day-of-week runs
1-7 with 1 = SUN (or SUN-SAT), months 1-12 (or JAN-DEC); `*`, `,`, `-` and `/` work in every
field; one of Day-of-month and Day-of-week must be `?`. The `L`, `W` and `#` wildcards are refused
as not supported by this emulator.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (name, lowest, highest, names for lowest..)
FIELDS = [("Minutes", 0, 59, None), ("Hours", 0, 23, None), ("Day-of-month", 1, 31, None),
          ("Month", 1, 12, MONTHS), ("Day-of-week", 1, 7, DAYS), ("Year", 1970, 2199, None)]
CRON = re.compile(r"^cron\((.*)\)$")
# How far ahead a next run is looked for: a schedule with no run in this many days has none.
HORIZON_DAYS = 366 * 4


class ScheduleError(ValueError):
    pass


class Schedule:
    def __init__(self, expression: str, timezone_name: str | None = None) -> None:
        match = CRON.match((expression or "").strip())
        parts = match.group(1).split() if match else []
        if len(parts) != 6:
            raise ScheduleError(f"Invalid ScheduleExpression {expression!r}: expected cron(Minutes Hours "
                                "Day-of-month Month Day-of-week Year)")
        if (parts[2] == "?") == (parts[4] == "?"):
            raise ScheduleError(f"Invalid ScheduleExpression {expression!r}: one of Day-of-month and "
                                "Day-of-week must be '?'")
        self.minutes, self.hours, self.days, self.months, self.weekdays, self.years = (
            field_values(text, *spec) for text, spec in zip(parts, FIELDS))
        try:
            self.zone = ZoneInfo(timezone_name) if timezone_name else timezone.utc
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"Invalid ScheduleExpressionTimezone {timezone_name!r}") from None

    def runs_on(self, day: date) -> bool:
        weekday = day.isoweekday() % 7 + 1  # SUN = 1 ... SAT = 7
        return (day.year in self.years and day.month in self.months
                and (self.days is None or day.day in self.days)
                and (self.weekdays is None or weekday in self.weekdays))

    def next_after(self, epoch: float) -> float | None:
        """The first scheduled time strictly after `epoch`, or None."""
        day = datetime.fromtimestamp(epoch, self.zone).date()
        for _ in range(HORIZON_DAYS):
            if self.runs_on(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone).timestamp()
                        if at > epoch:
                            return at
            day += timedelta(days=1)
        return None


def field_values(text: str, name: str, low: int, high: int, names: list[str] | None) -> set[int] | None:
    """The values a cron field allows; None for `?` (any, decided by the other day field)."""
    if text == "?":
        if name not in ("Day-of-month", "Day-of-week"):
            raise ScheduleError(f"'?' is only allowed in Day-of-month or Day-of-week, not in {name}")
        return None
    if any(c in text for c in "LW#"):
        raise ScheduleError(f"The {name} field {text!r} uses a wildcard (L, W or #) this emulator does not support")
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = number(step_text, name) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = value(a, name, low, names), value(b, name, low, names)
        else:
            first = value(base, name, low, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or first > last or step < 1:
            raise ScheduleError(f"The {name} field {text!r} is out of range {low}-{high}")
        values.update(range(first, last + 1, step))
    return values


def value(text: str, name: str, low: int, names: list[str] | None) -> int:
    if names and text.upper() in names:
        return names.index(text.upper()) + low
    return number(text, name)


def number(text: str, name: str) -> int:
    if not text.isdigit():
        raise ScheduleError(f"The {name} field has an invalid value {text!r}")
    return int(text)

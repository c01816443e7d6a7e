"""AWS cron expressions as restore testing plans read them ("Cron expressions reference"): next
runs in UTC or the plan's time zone, and the expressions AWS refuses. Pure: no emulator."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schedule_expression import Schedule, ScheduleError  # noqa: E402

FRIDAY = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc).timestamp()


def next_run(expression: str, zone: str | None = None) -> str:
    return datetime.fromtimestamp(Schedule(expression, zone).next_after(FRIDAY), timezone.utc).isoformat()


def test_daily_weekly_and_stepped_schedules_run_at_their_next_time():
    assert next_run("cron(0 5 ? * * *)") == "2026-11-28T05:00:00+00:00"
    assert next_run("cron(0 3 ? * MON *)") == "2026-11-30T03:00:00+00:00"
    assert next_run("cron(0 3 ? * 2 *)") == "2026-11-30T03:00:00+00:00"  # 1 = SUN, 2 = MON
    assert next_run("cron(30 */6 * * ? *)") == "2026-11-27T12:30:00+00:00"
    assert next_run("cron(0 0 1 JAN ? 2027)") == "2027-01-01T00:00:00+00:00"


def test_a_time_zone_moves_the_run_and_a_time_already_past_today_waits_for_tomorrow():
    assert next_run("cron(0 5 ? * MON *)", "Europe/Paris") == "2026-11-30T04:00:00+00:00"
    assert next_run("cron(0 10 ? * * *)") == "2026-11-28T10:00:00+00:00"


def test_a_schedule_in_the_past_has_no_next_run():
    assert Schedule("cron(0 0 1 1 ? 2020)").next_after(FRIDAY) is None


@pytest.mark.parametrize("expression", [
    "rate(7 days)",                 # restore testing takes a cron expression
    "cron(0 5 * * *)",              # five fields
    "cron(0 5 * * MON *)",          # neither day field is ?
    "cron(0 5 ? * ? *)",            # both are
    "cron(60 5 ? * * *)",           # minute out of range
    "cron(0 5 ? * FUNDAY *)",
])
def test_malformed_expressions_are_refused(expression):
    with pytest.raises(ScheduleError):
        Schedule(expression)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ScheduleError, match="ScheduleExpressionTimezone"):
        Schedule("cron(0 5 ? * * *)", "Mars/Olympus_Mons")

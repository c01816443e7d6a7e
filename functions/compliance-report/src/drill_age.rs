//! When a plan's last successful drill is stale: older than the longest gap of the restore
//! tests' schedule plus a grace, or missing. Pure.
//!
//! The schedule is the restore testing plan's `ScheduleExpression` (the policy's
//! `restore_tests.schedule`, else the template's `RestoreTestSchedule`); the grace covers the
//! plan's start window ("Restore testing": a test starts within `StartWindowHours` of its
//! schedule) and the restore's own time. The schedule's longest gap is read as backup plans'
//! schedules are ([`rearguard::policy::schedule`]).

use chrono::{DateTime, Duration, Utc};
use rearguard::policy::schedule::longest_gap_minutes;

/// Weekly, when neither the policy nor the stack says otherwise.
pub const WEEKLY: &str = "rate(7 days)";

#[derive(Debug, Clone, PartialEq)]
pub struct DrillAge {
    /// The schedule the age is derived from, for the report.
    pub schedule: String,
    /// A drill older than this is stale.
    pub max_age: Duration,
}

impl DrillAge {
    pub fn new(schedule: &str, grace_hours: i64) -> Result<DrillAge, String> {
        let gap = longest_gap_minutes(schedule)?;
        Ok(DrillAge {
            schedule: schedule.trim().to_string(),
            max_age: Duration::minutes(gap) + Duration::hours(grace_hours),
        })
    }

    /// Never drilled, or drilled longer ago than a run of the schedule and its grace allow.
    /// Exactly at the limit is not stale yet.
    pub fn is_stale(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        last.is_none_or(|at| now - at > self.max_age)
    }
}

impl Default for DrillAge {
    fn default() -> DrillAge {
        DrillAge::new(WEEKLY, 24).expect("a weekly rate is readable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_weekly_schedule_with_a_day_of_grace_makes_a_drill_stale_after_eight_days() {
        // The template's default RestoreTestSchedule, and its plan's 24 h start window.
        let age = DrillAge::new("cron(0 5 ? * SAT *)", 24).unwrap();
        assert_eq!(age.max_age, Duration::days(8));
        let now = at("2026-11-27T06:00:00Z");
        assert!(!age.is_stale(Some(at("2026-11-19T06:00:00Z")), now), "exactly 8 days");
        assert!(age.is_stale(Some(at("2026-11-19T05:59:00Z")), now), "a minute more");
        assert!(age.is_stale(None, now), "never drilled");
    }

    #[test]
    fn the_age_follows_the_schedule_and_the_grace() {
        let daily = DrillAge::new("cron(0 5 * * ? *)", 6).unwrap();
        assert_eq!(daily.max_age, Duration::hours(30));
        let monthly = DrillAge::new("cron(0 5 1 * ? *)", 24).unwrap();
        assert_eq!(monthly.max_age, Duration::days(32));
        let now = at("2026-11-27T06:00:00Z");
        let ten_days_ago = Some(at("2026-11-17T06:00:00Z"));
        assert!(daily.is_stale(ten_days_ago, now));
        assert!(!monthly.is_stale(ten_days_ago, now));
        assert_eq!(DrillAge::default().max_age, Duration::days(8), "weekly by default");
    }

    #[test]
    fn an_unreadable_schedule_is_refused_not_guessed() {
        assert!(DrillAge::new("every saturday", 24).is_err());
    }
}

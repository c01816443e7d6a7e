//! The RPO and RTO a restore test achieved, and how they compare with the plan's targets. Pure.
//!
//! RPO: the restore test's start (the restore job's `CreationDate`) minus the restored recovery
//! point's creation (`RecoveryPointCreationDate`): the data a restore at that moment would lose.
//! RTO: the restore job's `CompletionDate` minus its `CreationDate`: how long the restore took
//! ("DescribeRestoreJob": CreationDate, CompletionDate, RecoveryPointCreationDate).

use chrono::Duration;

use crate::drill::RestoreJobFacts;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub rpo: Option<Duration>,
    pub rto: Option<Duration>,
}

impl Figures {
    pub fn rpo_hours(&self) -> Option<f64> {
        self.rpo.map(|d| d.num_milliseconds() as f64 / 3_600_000.0)
    }

    pub fn rto_minutes(&self) -> Option<f64> {
        self.rto.map(|d| d.num_milliseconds() as f64 / 60_000.0)
    }
}

pub fn measure(facts: &RestoreJobFacts) -> Figures {
    let between = |from: Option<chrono::DateTime<chrono::Utc>>, to: Option<chrono::DateTime<chrono::Utc>>| {
        // A negative span means a clock or data error, not a figure.
        Some(to? - from?).filter(|d| *d >= Duration::zero())
    };
    Figures {
        rpo: between(facts.point_created, facts.created),
        rto: between(facts.created, facts.completed),
    }
}

/// The targets of the policy plan the restored resource belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Targets {
    pub rpo_hours: Option<i64>,
    pub rto_hours: Option<i64>,
}

/// Each target the figures missed, said for a person.
pub fn misses(figures: &Figures, targets: &Targets) -> Vec<String> {
    let mut missed = Vec::new();
    if let (Some(rpo), Some(target)) = (figures.rpo, targets.rpo_hours)
        && rpo > Duration::hours(target)
    {
        missed.push(format!(
            "RPO {:.1} h is over the plan's {target} h",
            figures.rpo_hours().unwrap_or_default()
        ));
    }
    if let (Some(rto), Some(target)) = (figures.rto, targets.rto_hours)
        && rto > Duration::hours(target)
    {
        missed.push(format!(
            "RTO {:.0} min is over the plan's {target} h",
            figures.rto_minutes().unwrap_or_default()
        ));
    }
    missed
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(text.parse().unwrap())
    }

    fn facts() -> RestoreJobFacts {
        RestoreJobFacts {
            point_created: at("2026-11-21T03:00:00Z"),
            created: at("2026-11-22T05:30:00Z"),
            completed: at("2026-11-22T06:15:00Z"),
            ..RestoreJobFacts::default()
        }
    }

    #[test]
    fn rpo_is_the_tests_start_minus_the_backups_creation_and_rto_the_restores_duration() {
        let figures = measure(&facts());
        assert_eq!(figures.rpo_hours(), Some(26.5));
        assert_eq!(figures.rto_minutes(), Some(45.0));
    }

    #[test]
    fn missing_or_backwards_dates_give_no_figure() {
        let figures = measure(&RestoreJobFacts {
            completed: None,
            point_created: at("2026-11-23T00:00:00Z"),
            ..facts()
        });
        assert_eq!(figures, Figures { rpo: None, rto: None });
    }

    #[test]
    fn figures_over_the_targets_are_named_and_figures_within_are_not() {
        let figures = measure(&facts());
        let tight = Targets {
            rpo_hours: Some(24),
            rto_hours: Some(0),
        };
        assert_eq!(
            misses(&figures, &tight),
            [
                "RPO 26.5 h is over the plan's 24 h",
                "RTO 45 min is over the plan's 0 h"
            ]
        );
        let loose = Targets {
            rpo_hours: Some(33),
            rto_hours: Some(1),
        };
        assert!(misses(&figures, &loose).is_empty());
        assert!(misses(&figures, &Targets::default()).is_empty());
    }
}

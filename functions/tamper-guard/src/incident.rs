//! Several tamper steps by one principal close together are one incident ("possible attack on
//! backups in progress"), listing every step in the order it happened. Pure.

use chrono::{DateTime, Duration, Utc};
use rearguard::alert::Severity;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub event_id: String,
    pub severity: Severity,
    pub action: String,
    pub headline: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The first step's event id: stable across redeliveries.
    pub id: String,
    pub principal: String,
    /// Oldest first, by the events' own times (delivery order is not guaranteed).
    pub steps: Vec<Step>,
}

impl Incident {
    pub fn last_at(&self) -> Option<DateTime<Utc>> {
        self.steps.iter().map(|s| s.at).max()
    }

    /// The worst step's severity.
    pub fn severity(&self) -> Severity {
        self.steps.iter().map(|s| s.severity).min().unwrap_or(Severity::Warning)
    }

    pub fn in_progress(&self) -> bool {
        self.steps.len() > 1
    }
}

/// The incident `step` belongs to: the open one, when the step is within `window` of its last
/// step, or a new one. A step already in it (a redelivery) is not added twice.
pub fn add_step(open: Option<Incident>, principal: &str, step: Step, window: Duration) -> Incident {
    let joins = |incident: &Incident| {
        incident
            .last_at()
            .is_some_and(|last| (step.at - last).abs() <= window || step.at <= last)
    };
    let mut incident = match open.filter(|i| i.principal == principal && joins(i)) {
        Some(incident) => incident,
        None => Incident {
            id: step.event_id.clone(),
            principal: principal.to_string(),
            steps: Vec::new(),
        },
    };
    if !incident.steps.iter().any(|s| s.event_id == step.event_id) {
        incident.steps.push(step);
        incident.steps.sort_by_key(|s| s.at);
    }
    incident
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn step(id: &str, minute: u32) -> Step {
        Step {
            at: Utc.with_ymd_and_hms(2026, 11, 20, 3, minute, 0).unwrap(),
            event_id: id.into(),
            severity: if id == "e3" {
                Severity::Critical
            } else {
                Severity::Error
            },
            action: "DeleteRecoveryPoint".into(),
            headline: "Recovery point deleted".into(),
            target: "point".into(),
        }
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/ops-admin";

    #[test]
    fn steps_within_the_window_are_one_incident_in_time_order() {
        let window = Duration::minutes(15);
        let mut incident = None;
        for (id, minute) in [("e1", 0), ("e3", 5), ("e2", 2), ("e4", 8), ("e5", 10)] {
            incident = Some(add_step(incident, ROLE, step(id, minute), window));
        }
        let incident = incident.unwrap();
        assert_eq!(incident.id, "e1");
        let order: Vec<&str> = incident.steps.iter().map(|s| s.event_id.as_str()).collect();
        assert_eq!(order, ["e1", "e2", "e3", "e4", "e5"]);
        assert_eq!(incident.severity(), Severity::Critical);
        assert!(incident.in_progress());
    }

    #[test]
    fn a_step_after_the_window_opens_a_new_incident() {
        let window = Duration::minutes(15);
        let first = add_step(None, ROLE, step("e1", 0), window);
        let later = add_step(Some(first), ROLE, step("e2", 16), window);
        assert_eq!(later.id, "e2");
        assert_eq!(later.steps.len(), 1);
    }

    #[test]
    fn a_redelivered_step_is_not_counted_twice() {
        let window = Duration::minutes(15);
        let first = add_step(None, ROLE, step("e1", 0), window);
        let again = add_step(Some(first), ROLE, step("e1", 0), window);
        assert_eq!(again.steps.len(), 1);
        assert!(!again.in_progress());
    }
}

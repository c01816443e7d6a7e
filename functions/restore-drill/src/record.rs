//! What goes into the drill record ([`rearguard::drill_record`]) for one restore test. Pure.
//!
//! A passed drill is SUCCESSFUL; a failed one (the restore failed, the restored resource is not
//! usable, a target was missed, or AWS refused the validation) is FAILED with its reasons. A
//! restore of a type without a validation proves nothing either way and is not recorded.

use chrono::{DateTime, Utc};
use rearguard::drill_record::{DrillRecord, DrillResult};

use crate::decide::{Decision, Verdict};
use crate::drill::RestoreJobFacts;
use crate::figures::{self, Figures, Targets};

/// What the record says besides the verdict, for both ways a record is made.
pub struct Drilled<'a> {
    pub facts: &'a RestoreJobFacts,
    pub plan: Option<&'a str>,
    pub figures: &'a Figures,
    pub targets: &'a Targets,
    /// When the drill was judged: its time when the restore job has no completion date.
    pub now: DateTime<Utc>,
}

impl<'a> Drilled<'a> {
    /// A drill judged at this moment.
    pub fn judged_now(
        facts: &'a RestoreJobFacts,
        plan: Option<&'a str>,
        figures: &'a Figures,
        targets: &'a Targets,
    ) -> Drilled<'a> {
        Drilled {
            facts,
            plan,
            figures,
            targets,
            now: Utc::now(),
        }
    }

    fn record(&self, result: DrillResult, reason: String) -> DrillRecord {
        let facts = self.facts;
        DrillRecord {
            restore_job_id: facts.restore_job_id.clone(),
            plan: self.plan.map(str::to_string),
            resource_type: facts.resource_type.clone(),
            source_resource_arn: facts.source_resource_arn.clone(),
            recovery_point_arn: facts.recovery_point_arn.clone(),
            result,
            reason,
            // The restore time of a failed restore is not a restore time (as for the metrics).
            rpo_hours: self.figures.rpo_hours().filter(|_| facts.status == "COMPLETED"),
            rto_minutes: self.figures.rto_minutes().filter(|_| facts.status == "COMPLETED"),
            rpo_target_hours: self.targets.rpo_hours,
            rto_target_hours: self.targets.rto_hours,
            drilled_at: facts.completed.unwrap_or(self.now),
        }
    }

    /// The record of a drill judged now; `None` for an unvalidated one.
    pub fn judged(&self, decision: &Decision) -> Option<DrillRecord> {
        match &decision.verdict {
            Verdict::Passed => Some(
                self.record(
                    DrillResult::Successful,
                    decision
                        .validation
                        .as_ref()
                        .map(|v| v.message.clone())
                        .unwrap_or_default(),
                ),
            ),
            Verdict::Failed { reasons } => Some(self.record(DrillResult::Failed, reasons.join("; "))),
            Verdict::Unvalidated { .. } => None,
        }
    }

    /// The record of a restore test whose validation result was already put (by an earlier
    /// attempt that then failed before recording, or by someone else): AWS's validation result,
    /// and the targets judged again from the same dates.
    pub fn already_validated(&self) -> Option<DrillRecord> {
        let status = self.facts.validation_status.as_deref()?;
        let message = self.facts.validation_message.clone().unwrap_or_default();
        let missed = figures::misses(self.figures, self.targets);
        Some(match status {
            "SUCCESSFUL" if missed.is_empty() => self.record(DrillResult::Successful, message),
            "SUCCESSFUL" => self.record(DrillResult::Failed, missed.join("; ")),
            other => self.record(
                DrillResult::Failed,
                if message.is_empty() {
                    format!("validation {other}")
                } else {
                    message
                },
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{Validation, ValidationStatus};

    fn facts() -> RestoreJobFacts {
        RestoreJobFacts {
            restore_job_id: "r-1".into(),
            status: "COMPLETED".into(),
            resource_type: "DynamoDB".into(),
            source_resource_arn: Some("arn:aws:dynamodb:eu-west-1:111122223333:table/orders".into()),
            recovery_point_arn: Some("arn:aws:backup:eu-west-1:111122223333:recovery-point:p".into()),
            point_created: Some("2026-11-21T03:00:00Z".parse().unwrap()),
            created: Some("2026-11-22T05:30:00Z".parse().unwrap()),
            completed: Some("2026-11-22T06:15:00Z".parse().unwrap()),
            ..RestoreJobFacts::default()
        }
    }

    const TARGETS: Targets = Targets {
        rpo_hours: Some(24),
        rto_hours: Some(4),
    };

    fn now() -> DateTime<Utc> {
        "2026-11-22T06:20:00Z".parse().unwrap()
    }

    #[test]
    fn a_passed_drill_is_successful_with_its_evidence_figures_targets_and_the_restores_completion() {
        let facts = facts();
        let figures = figures::measure(&facts);
        let drilled = Drilled {
            facts: &facts,
            plan: Some("production"),
            figures: &figures,
            targets: &TARGETS,
            now: now(),
        };
        let decision = Decision {
            validation: Some(Validation {
                status: ValidationStatus::Successful,
                message: "table orders is ACTIVE".into(),
            }),
            verdict: Verdict::Passed,
        };
        let record = drilled.judged(&decision).unwrap();
        assert_eq!(record.result, DrillResult::Successful);
        assert_eq!(record.reason, "table orders is ACTIVE");
        assert_eq!((record.rpo_hours, record.rto_minutes), (Some(26.5), Some(45.0)));
        assert_eq!((record.rpo_target_hours, record.rto_target_hours), (Some(24), Some(4)));
        assert_eq!(record.drilled_at, facts.completed.unwrap());
        assert_eq!(record.plan.as_deref(), Some("production"));
    }

    #[test]
    fn a_failed_restore_is_failed_with_its_reasons_no_figures_and_the_judging_time() {
        let facts = RestoreJobFacts {
            status: "FAILED".into(),
            completed: None,
            ..facts()
        };
        let figures = figures::measure(&facts);
        let drilled = Drilled {
            facts: &facts,
            plan: None,
            figures: &figures,
            targets: &Targets::default(),
            now: now(),
        };
        let decision = crate::decide::restore_failed("Access denied");
        let record = drilled.judged(&decision).unwrap();
        assert_eq!(record.result, DrillResult::Failed);
        assert_eq!(record.reason, "the restore failed: Access denied");
        assert_eq!((record.rpo_hours, record.rto_minutes), (None, None));
        assert_eq!(record.drilled_at, now());
        let unvalidated = Decision {
            validation: None,
            verdict: Verdict::Unvalidated {
                reason: "no validation for type EFS".into(),
            },
        };
        assert_eq!(drilled.judged(&unvalidated), None);
    }

    #[test]
    fn an_already_validated_drill_is_recorded_from_aws_result_and_the_targets_again() {
        let validated = |status: &str| RestoreJobFacts {
            validation_status: Some(status.into()),
            validation_message: Some("table orders is ACTIVE".into()),
            ..facts()
        };
        let facts = validated("SUCCESSFUL");
        let figures = figures::measure(&facts);
        let drilled = |facts, targets| Drilled {
            facts,
            plan: Some("production"),
            figures: &figures,
            targets,
            now: now(),
        };
        // RPO 26.5 h against 24 h: validated SUCCESSFUL, yet the drill failed.
        let record = drilled(&facts, &TARGETS).already_validated().unwrap();
        assert_eq!(record.result, DrillResult::Failed);
        assert!(record.reason.contains("RPO 26.5 h"), "{}", record.reason);
        let loose = Targets {
            rpo_hours: Some(48),
            rto_hours: None,
        };
        let record = drilled(&facts, &loose).already_validated().unwrap();
        assert_eq!(
            (record.result, record.reason.as_str()),
            (DrillResult::Successful, "table orders is ACTIVE")
        );
        let failed = validated("FAILED");
        assert_eq!(
            drilled(&failed, &loose).already_validated().unwrap().result,
            DrillResult::Failed
        );
    }
}

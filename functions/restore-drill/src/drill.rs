//! Which restore jobs are restore tests, and what became of them. Pure.
//!
//! A `Restore Job State Change` event carries `restoreTestingPlanArn` only on COMPLETED
//! ("Monitoring AWS Backup events using Amazon EventBridge"); a FAILED or ABORTED restore test
//! is recognised by DescribeRestoreJob's `CreatedBy.RestoreTestingPlanArn` ("DescribeRestoreJob":
//! `CreatedBy`, "the restore testing plan ARN" of a job a restore testing plan started).

use chrono::{DateTime, Utc};
use rearguard::backup_events::{JobDetail, JobEvent, JobState};

/// What DescribeRestoreJob says about a restore job, as plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreJobFacts {
    pub restore_job_id: String,
    pub account: String,
    pub status: String,
    pub status_message: Option<String>,
    /// `CreatedBy.RestoreTestingPlanArn`: set only for jobs a restore testing plan started.
    pub testing_plan_arn: Option<String>,
    pub resource_type: String,
    pub source_resource_arn: Option<String>,
    pub created_resource_arn: Option<String>,
    pub recovery_point_arn: Option<String>,
    pub vault_arn: Option<String>,
    /// When the restore job was created: the restore test's start.
    pub created: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
    /// `RecoveryPointCreationDate`: when the restored backup was taken.
    pub point_created: Option<DateTime<Utc>>,
    /// `ValidationStatus`, once a validation result was put.
    pub validation_status: Option<String>,
    /// `ValidationStatusMessage`, with the validation status.
    pub validation_message: Option<String>,
}

/// What to do with an event before any AWS call.
#[derive(Debug, Clone, PartialEq)]
pub enum Triage {
    /// An ended restore job that may be a restore test: describe it.
    Describe { restore_job_id: String },
    /// Not this function's business; the reason is logged.
    Ignore(&'static str),
}

pub fn triage(event: &JobEvent) -> Triage {
    let JobDetail::Restore(detail) = &event.detail else {
        return Triage::Ignore("not a restore job event");
    };
    let Some(id) = detail.restore_job_id.as_deref().filter(|id| !id.trim().is_empty()) else {
        return Triage::Ignore("the event has no restoreJobId");
    };
    match event.state() {
        // A restore test's COMPLETED event names its plan; without it the job is an ordinary restore.
        JobState::Completed if detail.restore_testing_plan_arn.is_none() => {
            Triage::Ignore("a restore that no restore testing plan started")
        }
        JobState::Completed | JobState::Failed | JobState::Aborted => Triage::Describe {
            restore_job_id: id.to_string(),
        },
        _ => Triage::Ignore("the restore job has not ended"),
    }
}

/// What a described restore job is.
#[derive(Debug, Clone, PartialEq)]
pub enum Drill {
    /// No restore testing plan started it (an ordinary restore, which job-alerts reports).
    NotATest,
    /// A validation result is already recorded (an earlier delivery or someone else put it).
    AlreadyValidated(String),
    /// The restore test did not restore anything: AWS's reason.
    RestoreFailed { status: String, reason: String },
    /// The restore test restored a resource, to be validated.
    Restored,
    /// DescribeRestoreJob does not (yet) show the job as ended.
    NotEnded(String),
}

pub fn classify(facts: &RestoreJobFacts) -> Drill {
    if facts.testing_plan_arn.as_deref().is_none_or(str::is_empty) {
        return Drill::NotATest;
    }
    // VALIDATING is an interim result ("PutRestoreValidationResult"); anything else is final.
    if let Some(status) = facts
        .validation_status
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "VALIDATING")
    {
        return Drill::AlreadyValidated(status.to_string());
    }
    match facts.status.as_str() {
        "COMPLETED" => Drill::Restored,
        "FAILED" | "ABORTED" => Drill::RestoreFailed {
            status: facts.status.clone(),
            reason: facts
                .status_message
                .clone()
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| format!("the restore job ended {} without a status message", facts.status)),
        },
        other => Drill::NotEnded(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail: serde_json::Value) -> JobEvent {
        JobEvent::decode(&json!({
            "id": "e-1", "detail-type": "Restore Job State Change", "source": "aws.backup",
            "account": "111122223333", "region": "eu-west-1", "detail": detail
        }))
        .unwrap()
    }

    fn test_job(status: &str) -> RestoreJobFacts {
        RestoreJobFacts {
            restore_job_id: "r-1".into(),
            status: status.into(),
            testing_plan_arn: Some("arn:aws:backup:eu-west-1:111122223333:restore-testing-plan:weekly-1".into()),
            ..RestoreJobFacts::default()
        }
    }

    #[test]
    fn a_completed_restore_test_is_described() {
        let e = event(json!({"restoreJobId": "r-1", "status": "COMPLETED", "restoreTestingPlanArn": "arn:p"}));
        assert_eq!(
            triage(&e),
            Triage::Describe {
                restore_job_id: "r-1".into()
            }
        );
    }

    #[test]
    fn a_completed_ordinary_restore_is_ignored_without_an_aws_call() {
        let e = event(json!({"restoreJobId": "r-1", "status": "COMPLETED"}));
        assert!(matches!(triage(&e), Triage::Ignore(_)));
    }

    #[test]
    fn a_failed_restore_is_described_because_its_event_does_not_say_whether_it_was_a_test() {
        let e = event(json!({"restoreJobId": "r-1", "status": "FAILED", "statusMessage": "x"}));
        assert_eq!(
            triage(&e),
            Triage::Describe {
                restore_job_id: "r-1".into()
            }
        );
    }

    #[test]
    fn progress_events_and_events_without_a_job_id_are_ignored() {
        assert!(matches!(
            triage(&event(json!({"restoreJobId": "r-1", "state": "CREATED"}))),
            Triage::Ignore(_)
        ));
        assert!(matches!(
            triage(&event(json!({"restoreJobId": "r-1", "status": "RUNNING"}))),
            Triage::Ignore(_)
        ));
        assert!(matches!(
            triage(&event(json!({"status": "COMPLETED", "restoreTestingPlanArn": "arn:p"}))),
            Triage::Ignore(_)
        ));
    }

    #[test]
    fn a_failed_restore_without_a_testing_plan_is_not_a_test() {
        let facts = RestoreJobFacts {
            testing_plan_arn: None,
            ..test_job("FAILED")
        };
        assert_eq!(classify(&facts), Drill::NotATest);
    }

    #[test]
    fn a_failed_restore_test_carries_aws_reason_or_says_there_was_none() {
        let facts = RestoreJobFacts {
            status_message: Some("Access denied".into()),
            ..test_job("FAILED")
        };
        assert_eq!(
            classify(&facts),
            Drill::RestoreFailed {
                status: "FAILED".into(),
                reason: "Access denied".into()
            }
        );
        let Drill::RestoreFailed { reason, .. } = classify(&test_job("ABORTED")) else {
            panic!()
        };
        assert!(reason.contains("ABORTED"), "{reason}");
    }

    #[test]
    fn a_final_validation_result_is_not_put_twice_but_validating_is_not_final() {
        let validated = RestoreJobFacts {
            validation_status: Some("SUCCESSFUL".into()),
            ..test_job("COMPLETED")
        };
        assert_eq!(classify(&validated), Drill::AlreadyValidated("SUCCESSFUL".into()));
        let interim = RestoreJobFacts {
            validation_status: Some("VALIDATING".into()),
            ..test_job("COMPLETED")
        };
        assert_eq!(classify(&interim), Drill::Restored);
    }
}

//! What a job event means for the people on call: a pure function of the event.
//!
//! | job     | state                            | verdict               | severity |
//! |---------|----------------------------------|-----------------------|----------|
//! | backup  | FAILED, EXPIRED                  | failed                | CRITICAL |
//! | backup  | ABORTED                          | failed                | ERROR    |
//! | backup  | PARTIAL                          | failed                | WARNING  |
//! | backup  | COMPLETED with a status message  | completed with issues | WARNING  |
//! | copy    | FAILED, ABORTED                  | failed                | ERROR    |
//! | copy    | PARTIAL                          | failed                | WARNING  |
//! | restore | FAILED                           | failed                | CRITICAL |
//! | restore | ABORTED                          | failed                | WARNING  |
//! | restore | COMPLETED of a restore test      | restore test          | -        |
//! | restore | COMPLETED                        | restored              | INFO     |
//! | any     | COMPLETED (plain)                | succeeded             | -        |
//! | any     | CREATED, PENDING, RUNNING, ABORTING | in progress        | -        |
//!
//! A restore test's COMPLETED event carries `restoreTestingPlanArn` ("Monitoring AWS Backup events
//! using Amazon EventBridge"): restore-drill validates it and reports on it, and the resource it
//! restored is deleted by AWS Backup after validation ("Restore testing"), so nobody is told to
//! point applications at it.
//!
//! A copy job in CREATED never alerts: AWS keeps retrying a failing copy in CREATED for up to
//! two hours, and only its terminal state says whether it worked.

use rearguard::alert::Severity;
use rearguard::backup_events::{JobDetail, JobEvent, JobKind, JobState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The job did not do its work.
    Failed {
        severity: Severity,
        consequence: &'static str,
    },
    /// A backup finished, but AWS reported an issue ("Completed with issues" in the console).
    CompletedWithIssues,
    /// The job finished cleanly: closes an open failure of the same resource.
    Succeeded,
    /// A restore finished: a new resource exists that applications must be pointed at.
    Restored,
    /// A restore test finished: restore-drill's business, not a notice.
    RestoreTest,
    /// Nothing to say yet.
    InProgress,
    /// A state this version does not know; logged, never alerted.
    UnknownState,
}

pub fn classify(event: &JobEvent) -> Verdict {
    use JobKind::*;
    use JobState::*;
    let failed = |severity, consequence| Verdict::Failed { severity, consequence };
    match (event.kind(), event.state()) {
        (_, Created | Pending | Running | Aborting) => Verdict::InProgress,
        (Backup, Failed) => failed(Severity::Critical, "No recovery point was created for this resource."),
        (Backup, Expired) => failed(
            Severity::Critical,
            "The job did not start within its start window, so no recovery point was created.",
        ),
        (Backup, Aborted) => failed(
            Severity::Error,
            "The job was stopped before it finished; no recovery point was created.",
        ),
        (Backup, Partial) => failed(
            Severity::Warning,
            "Only part of the resource was backed up: some nested resources of this composite recovery point are missing.",
        ),
        (Backup, Completed) if event.status_message().is_some() => Verdict::CompletedWithIssues,
        (Copy, Failed) => failed(
            Severity::Error,
            "The backup exists, but its copy to the destination vault was not made: there is no isolated copy.",
        ),
        (Copy, Aborted) => failed(
            Severity::Error,
            "The copy was stopped before it finished: there is no isolated copy of this backup.",
        ),
        (Copy, Partial) => failed(
            Severity::Warning,
            "Only part of the recovery point was copied to the destination vault.",
        ),
        (Restore, Failed) => failed(Severity::Critical, "The restore did not produce a usable resource."),
        (Restore, Aborted) => failed(
            Severity::Warning,
            "The restore was stopped before it finished; no resource was restored.",
        ),
        (Restore, Completed) if is_restore_test(event) => Verdict::RestoreTest,
        (Restore, Completed) => Verdict::Restored,
        (_, Completed) => Verdict::Succeeded,
        (_, Expired) => failed(Severity::Error, "The job expired before it could run."),
        (Restore, Partial) => failed(Severity::Warning, "Only part of the resource was restored."),
        (_, Unknown(_)) => Verdict::UnknownState,
    }
}

fn is_restore_test(event: &JobEvent) -> bool {
    matches!(&event.detail, JobDetail::Restore(r) if r.restore_testing_plan_arn.as_deref().is_some_and(|a| !a.is_empty()))
}

/// A composite job whose nested jobs failed: each failed child is a resource without its backup
/// (or its copy), so the parent alerts as a failed job of its kind would.
pub fn failed_child(kind: JobKind) -> (Severity, &'static str) {
    match kind {
        JobKind::Copy => (
            Severity::Error,
            "Nested copy jobs of this composite job failed: those resources have no copy in the destination vault.",
        ),
        _ => (
            Severity::Critical,
            "Nested backup jobs of this composite job failed: those resources have no recovery point from this backup.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rearguard::backup_events::{BACKUP_JOB, COPY_JOB, RESTORE_JOB};
    use serde_json::json;

    fn event(kind: JobKind, state: &str, status_message: &str) -> JobEvent {
        let (detail_type, state_key) = match kind {
            JobKind::Backup => (BACKUP_JOB, "state"),
            JobKind::Copy => (COPY_JOB, "state"),
            JobKind::Restore => (RESTORE_JOB, if state == "CREATED" { "state" } else { "status" }),
        };
        JobEvent::decode(&json!({
            "id": "e", "detail-type": detail_type, "source": "aws.backup", "account": "111122223333",
            "region": "eu-west-1", "detail": {state_key: state, "statusMessage": status_message}
        }))
        .unwrap()
    }

    fn severity(kind: JobKind, state: &str) -> Option<Severity> {
        match classify(&event(kind, state, "")) {
            Verdict::Failed { severity, .. } => Some(severity),
            _ => None,
        }
    }

    #[test]
    fn every_job_type_and_state_has_the_documented_verdict() {
        use JobKind::*;
        use Severity::*;
        let table = [
            (Backup, "FAILED", Some(Critical)),
            (Backup, "EXPIRED", Some(Critical)),
            (Backup, "ABORTED", Some(Error)),
            (Backup, "PARTIAL", Some(Warning)),
            (Copy, "FAILED", Some(Error)),
            (Copy, "ABORTED", Some(Error)),
            (Copy, "PARTIAL", Some(Warning)),
            (Restore, "FAILED", Some(Critical)),
            (Restore, "ABORTED", Some(Warning)),
        ];
        for (kind, state, expected) in table {
            assert_eq!(severity(kind, state), expected, "{kind} {state}");
        }
        for kind in [Backup, Copy, Restore] {
            for state in ["CREATED", "PENDING", "RUNNING", "ABORTING"] {
                assert_eq!(classify(&event(kind, state, "")), Verdict::InProgress, "{kind} {state}");
            }
        }
    }

    #[test]
    fn copy_in_created_never_alerts_even_with_a_message() {
        assert_eq!(
            classify(&event(JobKind::Copy, "CREATED", "retrying")),
            Verdict::InProgress
        );
    }

    #[test]
    fn completed_backup_with_a_status_message_is_completed_with_issues() {
        let verdict = classify(&event(
            JobKind::Backup,
            "COMPLETED",
            "Windows VSS backup attempt failed",
        ));
        assert_eq!(verdict, Verdict::CompletedWithIssues);
        assert_eq!(classify(&event(JobKind::Backup, "COMPLETED", "")), Verdict::Succeeded);
    }

    #[test]
    fn completed_copy_succeeds_and_completed_restore_is_a_notice() {
        assert_eq!(classify(&event(JobKind::Copy, "COMPLETED", "")), Verdict::Succeeded);
        assert_eq!(classify(&event(JobKind::Restore, "COMPLETED", "")), Verdict::Restored);
    }

    #[test]
    fn unknown_state_is_not_alerted() {
        assert_eq!(
            classify(&event(JobKind::Backup, "HIBERNATING", "")),
            Verdict::UnknownState
        );
    }

    #[test]
    fn a_completed_restore_test_is_not_a_restore_to_announce() {
        let test = JobEvent::decode(&json!({
            "id": "e", "detail-type": RESTORE_JOB, "source": "aws.backup", "account": "111122223333",
            "region": "eu-west-1",
            "detail": {"status": "COMPLETED", "restoreTestingPlanArn": "arn:aws:backup:eu-west-1:111122223333:restore-testing-plan:p"}
        }))
        .unwrap();
        assert_eq!(classify(&test), Verdict::RestoreTest);
        assert_eq!(classify(&event(JobKind::Restore, "COMPLETED", "")), Verdict::Restored);
    }
}

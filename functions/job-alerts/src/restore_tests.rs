//! Whether a failed restore was a restore test, which restore-drill owns.
//!
//! A restore test's FAILED or ABORTED `Restore Job State Change` event does not carry
//! `restoreTestingPlanArn` (only COMPLETED does, "Monitoring AWS Backup events using Amazon
//! EventBridge"); DescribeRestoreJob's `CreatedBy.RestoreTestingPlanArn` says it ("DescribeRestoreJob":
//! the restore testing plan of a job a restore testing plan started). restore-drill alerts such a
//! drill as an ERROR, so job-alerts stays quiet on it instead of sending a second alert. Only
//! restores of this account that ended badly are looked up (rare, one cheap call each); a lookup
//! that fails alerts as before.

use async_trait::async_trait;
use rearguard::backup_events::{JobEvent, JobKind, JobState};

use crate::composite::BackupJobLookup;

#[async_trait]
pub trait RestoreTestLookup: Send + Sync {
    /// The restore testing plan that started the restore job, if one did.
    async fn testing_plan_of(&self, region: &str, restore_job_id: &str) -> Result<Option<String>, String>;
}

/// A FAILED or ABORTED restore of this account (where restore-drill runs): it may be a restore
/// test. Pure.
pub fn worth_a_lookup(event: &JobEvent, home_account: &str) -> bool {
    event.kind() == JobKind::Restore
        && matches!(event.state(), JobState::Failed | JobState::Aborted)
        && event.job_id().is_some_and(|id| !id.is_empty())
        && event.account == home_account
}

#[async_trait]
impl RestoreTestLookup for BackupJobLookup {
    async fn testing_plan_of(&self, region: &str, restore_job_id: &str) -> Result<Option<String>, String> {
        let out = self
            .client(region)
            .await
            .describe_restore_job()
            .restore_job_id(restore_job_id)
            .send()
            .await
            .map_err(|e| aws_sdk_backup::error::DisplayErrorContext(e).to_string())?;
        Ok(out
            .created_by()
            .and_then(|c| c.restore_testing_plan_arn())
            .filter(|arn| !arn.is_empty())
            .map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn restore(status: &str, account: &str) -> JobEvent {
        JobEvent::decode(&json!({
            "id": "e-1", "detail-type": "Restore Job State Change", "source": "aws.backup",
            "account": account, "region": "eu-west-1",
            "detail": {"restoreJobId": "r-1", "status": status}
        }))
        .unwrap()
    }

    #[test]
    fn only_restores_of_this_account_that_ended_badly_are_looked_up() {
        assert!(worth_a_lookup(&restore("FAILED", "111122223333"), "111122223333"));
        assert!(worth_a_lookup(&restore("ABORTED", "111122223333"), "111122223333"));
        assert!(!worth_a_lookup(&restore("COMPLETED", "111122223333"), "111122223333"));
        assert!(
            !worth_a_lookup(&restore("FAILED", "444455556666"), "111122223333"),
            "restore-drill does not see another account's restores"
        );
        let backup = JobEvent::decode(&json!({
            "id": "e-2", "detail-type": "Backup Job State Change", "source": "aws.backup",
            "account": "111122223333", "region": "eu-west-1",
            "detail": {"backupJobId": "b-1", "state": "FAILED"}
        }))
        .unwrap();
        assert!(!worth_a_lookup(&backup, "111122223333"));
    }

    #[tokio::test]
    async fn the_testing_plan_comes_from_describe_restore_job_created_by() {
        use aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput;
        use aws_sdk_backup::types::RestoreJobCreator;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let plan = "arn:aws:backup:eu-west-1:111122223333:restore-testing-plan:weekly-1";
        let test = mock!(aws_sdk_backup::Client::describe_restore_job)
            .match_requests(|r| r.restore_job_id() == Some("r-test"))
            .then_output(move || {
                DescribeRestoreJobOutput::builder()
                    .created_by(RestoreJobCreator::builder().restore_testing_plan_arn(plan).build())
                    .build()
            });
        let ordinary = mock!(aws_sdk_backup::Client::describe_restore_job)
            .match_requests(|r| r.restore_job_id() == Some("r-ordinary"))
            .then_output(|| DescribeRestoreJobOutput::builder().build());
        let lookup = BackupJobLookup::with_client(
            "eu-west-1",
            mock_client!(aws_sdk_backup, RuleMode::MatchAny, [&test, &ordinary]),
        );

        assert_eq!(
            lookup.testing_plan_of("eu-west-1", "r-test").await.unwrap().as_deref(),
            Some(plan)
        );
        assert_eq!(lookup.testing_plan_of("eu-west-1", "r-ordinary").await.unwrap(), None);
        assert_eq!((test.num_calls(), ordinary.num_calls()), (1, 1));
    }
}

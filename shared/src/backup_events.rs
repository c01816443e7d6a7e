//! Typed, lenient models of the AWS Backup job events delivered by EventBridge
//! (`source: aws.backup`): `Backup Job State Change`, `Copy Job State Change` and
//! `Restore Job State Change`.
//!
//! Traps handled here (see the field notes in the repository's reference material):
//! restore events carry `status` except their CREATED event, which carries `state`; sizes are
//! strings in one event and numbers in another; `destinationRecoveryPointArn` is `{}` until a
//! copy completes; CREATED events carry almost nothing; states and resource types are open sets.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

use crate::lenient::{loose_string, number_or_string};

pub const SOURCE: &str = "aws.backup";
pub const BACKUP_JOB: &str = "Backup Job State Change";
pub const COPY_JOB: &str = "Copy Job State Change";
pub const RESTORE_JOB: &str = "Restore Job State Change";

/// Which kind of AWS Backup job an event is about. Rendered as AWS Backup's own `jobType`
/// words so SNS filter policies read naturally (`"jobType": ["COPY"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobKind {
    Backup,
    Copy,
    Restore,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Backup => "BACKUP",
            JobKind::Copy => "COPY",
            JobKind::Restore => "RESTORE",
        }
    }

    /// The word a person reads: "Backup", "Copy", "Restore".
    pub fn title(self) -> &'static str {
        match self {
            JobKind::Backup => "Backup",
            JobKind::Copy => "Copy",
            JobKind::Restore => "Restore",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job state, open-ended: AWS adds states (ABORTING, PARTIAL) faster than documentation
/// catches up, so an unknown value is kept verbatim instead of failing the event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    Created,
    Pending,
    Running,
    Aborting,
    Aborted,
    Completed,
    Failed,
    Expired,
    Partial,
    Unknown(String),
}

impl JobState {
    pub fn as_str(&self) -> &str {
        match self {
            JobState::Created => "CREATED",
            JobState::Pending => "PENDING",
            JobState::Running => "RUNNING",
            JobState::Aborting => "ABORTING",
            JobState::Aborted => "ABORTED",
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
            JobState::Expired => "EXPIRED",
            JobState::Partial => "PARTIAL",
            JobState::Unknown(other) => other,
        }
    }
}

impl From<String> for JobState {
    fn from(value: String) -> Self {
        match value.to_ascii_uppercase().as_str() {
            "CREATED" => JobState::Created,
            "PENDING" => JobState::Pending,
            "RUNNING" => JobState::Running,
            "ABORTING" => JobState::Aborting,
            "ABORTED" => JobState::Aborted,
            "COMPLETED" => JobState::Completed,
            "FAILED" => JobState::Failed,
            "EXPIRED" => JobState::Expired,
            "PARTIAL" => JobState::Partial,
            _ => JobState::Unknown(value),
        }
    }
}

impl<'de> Deserialize<'de> for JobState {
    /// Lenient like every other field: a state that is not a string is kept as its JSON text
    /// (an unknown state, logged and not alerted) instead of failing the whole event.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::String(text) => JobState::from(text),
            other => JobState::Unknown(other.to_string()),
        })
    }
}

/// `createdBy` when it is an object; anything else (`null`, a string, a list) is taken as absent
/// rather than failing the event.
pub(crate) fn lenient_created_by<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<CreatedBy>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        value @ Value::Object(_) => serde_json::from_value(value).ok(),
        _ => None,
    })
}

impl Serialize for JobState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `createdBy` on jobs started by a backup plan. On-demand jobs have none.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct CreatedBy {
    #[serde(deserialize_with = "loose_string")]
    pub backup_plan_id: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub backup_plan_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub backup_plan_version: Option<String>,
    /// Job events say `backupPlanRuleId`; the API and scan events say `backupRuleId`.
    #[serde(alias = "backupRuleId", deserialize_with = "loose_string")]
    pub backup_plan_rule_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupJobDetail {
    #[serde(deserialize_with = "loose_string")]
    pub backup_job_id: Option<String>,
    pub state: Option<JobState>,
    #[serde(deserialize_with = "loose_string")]
    pub backup_vault_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub backup_vault_name: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub iam_role_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub resource_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub resource_type: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub status_message: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub creation_date: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub completion_date: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub start_by: Option<String>,
    #[serde(deserialize_with = "number_or_string")]
    pub backup_size_in_bytes: Option<u64>,
    #[serde(deserialize_with = "number_or_string")]
    pub bytes_transferred: Option<u64>,
    #[serde(deserialize_with = "number_or_string")]
    pub percent_done: Option<f64>,
    #[serde(deserialize_with = "number_or_string")]
    pub retry_count: Option<u32>,
    #[serde(deserialize_with = "lenient_created_by")]
    pub created_by: Option<CreatedBy>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct CopyJobDetail {
    /// Absent in CREATED events.
    #[serde(deserialize_with = "loose_string")]
    pub copy_job_id: Option<String>,
    pub state: Option<JobState>,
    #[serde(deserialize_with = "loose_string")]
    pub source_backup_vault_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub destination_backup_vault_arn: Option<String>,
    /// `{}` until the copy completes.
    #[serde(deserialize_with = "loose_string")]
    pub destination_recovery_point_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub iam_role_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub resource_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub resource_type: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub status_message: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub creation_date: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub completion_date: Option<String>,
    #[serde(deserialize_with = "number_or_string")]
    pub backup_size_in_bytes: Option<u64>,
    #[serde(deserialize_with = "lenient_created_by")]
    pub created_by: Option<CreatedBy>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct RestoreJobDetail {
    #[serde(deserialize_with = "loose_string")]
    pub restore_job_id: Option<String>,
    /// Restore events use `status`; only their CREATED event uses `state`. Both are kept
    /// (not a serde alias) so an event that carries both is still accepted.
    pub status: Option<JobState>,
    pub state: Option<JobState>,
    #[serde(deserialize_with = "loose_string")]
    pub backup_vault_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub recovery_point_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub source_resource_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub created_resource_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub restore_testing_plan_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub iam_role_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub resource_type: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub status_message: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub creation_date: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub completion_date: Option<String>,
    #[serde(deserialize_with = "number_or_string")]
    pub backup_size_in_bytes: Option<u64>,
    #[serde(deserialize_with = "number_or_string")]
    pub percent_done: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JobDetail {
    Backup(BackupJobDetail),
    Copy(CopyJobDetail),
    Restore(RestoreJobDetail),
}

/// One AWS Backup job event: the EventBridge envelope's useful fields plus the typed detail.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    pub event_id: String,
    pub account: String,
    pub region: String,
    pub time: Option<DateTime<Utc>>,
    pub resources: Vec<String>,
    pub detail: JobDetail,
}

/// Why an event was not turned into a [`JobEvent`]. Every variant is a reason to log and
/// ignore, never to retry: the same bytes would fail the same way again.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("not an EventBridge event: {0}")]
    NotAnEvent(String),
    #[error("unhandled event: source {event_source:?}, detail-type {detail_type:?}")]
    Unhandled { event_source: String, detail_type: String },
    #[error("malformed {detail_type:?} detail: {reason}")]
    BadDetail { detail_type: String, reason: String },
    #[error("{detail_type:?} event has no state or status")]
    NoState { detail_type: String },
}

impl JobEvent {
    /// Decodes an EventBridge envelope that has already been parsed as JSON.
    pub fn decode(envelope: &Value) -> Result<JobEvent, DecodeError> {
        let event: EventBridgeEvent<Value> =
            serde_json::from_value(envelope.clone()).map_err(|e| DecodeError::NotAnEvent(e.to_string()))?;
        Self::from_envelope(event)
    }

    /// Decodes raw bytes (an SQS body or a direct invocation payload).
    pub fn decode_str(body: &str) -> Result<JobEvent, DecodeError> {
        let event: EventBridgeEvent<Value> =
            serde_json::from_str(body).map_err(|e| DecodeError::NotAnEvent(e.to_string()))?;
        Self::from_envelope(event)
    }

    fn from_envelope(event: EventBridgeEvent<Value>) -> Result<JobEvent, DecodeError> {
        let bad_detail = |e: serde_json::Error| DecodeError::BadDetail {
            detail_type: event.detail_type.clone(),
            reason: e.to_string(),
        };
        if event.source != SOURCE {
            return Err(DecodeError::Unhandled {
                event_source: event.source.clone(),
                detail_type: event.detail_type.clone(),
            });
        }
        let detail = match event.detail_type.as_str() {
            BACKUP_JOB => JobDetail::Backup(serde_json::from_value(event.detail.clone()).map_err(bad_detail)?),
            COPY_JOB => JobDetail::Copy(serde_json::from_value(event.detail.clone()).map_err(bad_detail)?),
            RESTORE_JOB => JobDetail::Restore(serde_json::from_value(event.detail.clone()).map_err(bad_detail)?),
            _ => {
                return Err(DecodeError::Unhandled {
                    event_source: event.source.clone(),
                    detail_type: event.detail_type.clone(),
                });
            }
        };
        let job = JobEvent {
            event_id: event.id.unwrap_or_default(),
            account: event.account.unwrap_or_default(),
            region: event.region.unwrap_or_default(),
            time: event.time,
            resources: event.resources.unwrap_or_default(),
            detail,
        };
        if job.state_opt().is_none() {
            return Err(DecodeError::NoState {
                detail_type: event.detail_type,
            });
        }
        Ok(job)
    }

    pub fn kind(&self) -> JobKind {
        match self.detail {
            JobDetail::Backup(_) => JobKind::Backup,
            JobDetail::Copy(_) => JobKind::Copy,
            JobDetail::Restore(_) => JobKind::Restore,
        }
    }

    fn state_opt(&self) -> Option<&JobState> {
        match &self.detail {
            JobDetail::Backup(d) => d.state.as_ref(),
            JobDetail::Copy(d) => d.state.as_ref(),
            JobDetail::Restore(d) => d.status.as_ref().or(d.state.as_ref()),
        }
    }

    /// The job's state (decoding guarantees one is present).
    pub fn state(&self) -> &JobState {
        self.state_opt().expect("decode rejects events without a state")
    }

    pub fn job_id(&self) -> Option<&str> {
        match &self.detail {
            JobDetail::Backup(d) => d.backup_job_id.as_deref(),
            JobDetail::Copy(d) => d.copy_job_id.as_deref(),
            JobDetail::Restore(d) => d.restore_job_id.as_deref(),
        }
    }

    /// The protected resource. Restore events name it only on COMPLETED (`sourceResourceArn`).
    pub fn resource_arn(&self) -> Option<&str> {
        match &self.detail {
            JobDetail::Backup(d) => d.resource_arn.as_deref(),
            JobDetail::Copy(d) => d.resource_arn.as_deref(),
            JobDetail::Restore(d) => d.source_resource_arn.as_deref(),
        }
    }

    pub fn resource_type(&self) -> Option<&str> {
        match &self.detail {
            JobDetail::Backup(d) => d.resource_type.as_deref(),
            JobDetail::Copy(d) => d.resource_type.as_deref(),
            JobDetail::Restore(d) => d.resource_type.as_deref(),
        }
    }

    pub fn status_message(&self) -> Option<&str> {
        let message = match &self.detail {
            JobDetail::Backup(d) => d.status_message.as_deref(),
            JobDetail::Copy(d) => d.status_message.as_deref(),
            JobDetail::Restore(d) => d.status_message.as_deref(),
        };
        message.map(str::trim).filter(|m| !m.is_empty())
    }

    /// The vault the job wrote to or read from (a copy's source vault).
    pub fn vault_arn(&self) -> Option<&str> {
        match &self.detail {
            JobDetail::Backup(d) => d.backup_vault_arn.as_deref(),
            JobDetail::Copy(d) => d.source_backup_vault_arn.as_deref(),
            JobDetail::Restore(d) => d.backup_vault_arn.as_deref(),
        }
    }

    pub fn created_by(&self) -> Option<&CreatedBy> {
        match &self.detail {
            JobDetail::Backup(d) => d.created_by.as_ref(),
            JobDetail::Copy(d) => d.created_by.as_ref(),
            JobDetail::Restore(_) => None,
        }
    }

    /// A job is on-demand when no backup plan started it (no `createdBy.backupPlanArn`).
    pub fn is_on_demand(&self) -> bool {
        !matches!(
            self.created_by(),
            Some(CreatedBy {
                backup_plan_arn: Some(_),
                ..
            })
        )
    }

    pub fn creation_date(&self) -> Option<&str> {
        match &self.detail {
            JobDetail::Backup(d) => d.creation_date.as_deref(),
            JobDetail::Copy(d) => d.creation_date.as_deref(),
            JobDetail::Restore(d) => d.creation_date.as_deref(),
        }
    }

    pub fn completion_date(&self) -> Option<&str> {
        match &self.detail {
            JobDetail::Backup(d) => d.completion_date.as_deref(),
            JobDetail::Copy(d) => d.completion_date.as_deref(),
            JobDetail::Restore(d) => d.completion_date.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(detail_type: &str, detail: Value) -> Value {
        json!({
            "version": "0", "id": "11111111-2222-3333-4444-555555555555",
            "detail-type": detail_type, "source": "aws.backup",
            "account": "111122223333", "time": "2026-11-20T03:12:00Z", "region": "eu-west-1",
            "resources": [], "detail": detail
        })
    }

    #[test]
    fn restore_created_uses_state_and_later_events_use_status() {
        let created = JobEvent::decode(&envelope(
            RESTORE_JOB,
            json!({"restoreJobId": "r-1", "state": "CREATED"}),
        ));
        let failed = JobEvent::decode(&envelope(
            RESTORE_JOB,
            json!({"restoreJobId": "r-1", "status": "FAILED"}),
        ));
        assert_eq!(created.unwrap().state(), &JobState::Created);
        assert_eq!(failed.unwrap().state(), &JobState::Failed);
    }

    #[test]
    fn a_state_or_created_by_of_an_unexpected_type_does_not_fail_the_event() {
        let event = JobEvent::decode(&envelope(
            BACKUP_JOB,
            json!({"backupJobId": "b-1", "state": 7, "createdBy": "plan-1"}),
        ))
        .unwrap();
        assert_eq!(event.state(), &JobState::Unknown("7".into()));
        assert_eq!(event.created_by(), None);
        let copy = JobEvent::decode(&envelope(COPY_JOB, json!({"state": "FAILED", "createdBy": ["x"]}))).unwrap();
        assert_eq!((copy.state(), copy.created_by()), (&JobState::Failed, None));
    }

    #[test]
    fn restore_event_carrying_both_state_and_status_prefers_status() {
        let event = JobEvent::decode(&envelope(RESTORE_JOB, json!({"state": "CREATED", "status": "FAILED"}))).unwrap();
        assert_eq!(event.state(), &JobState::Failed);
    }

    #[test]
    fn copy_job_size_is_a_number_and_backup_job_size_a_string() {
        let copy = JobEvent::decode(&envelope(
            COPY_JOB,
            json!({"state": "COMPLETED", "backupSizeInBytes": 4096}),
        ))
        .unwrap();
        let backup = JobEvent::decode(&envelope(
            BACKUP_JOB,
            json!({"state": "COMPLETED", "backupSizeInBytes": "8192"}),
        ))
        .unwrap();
        let JobDetail::Copy(copy) = copy.detail else {
            panic!("copy detail")
        };
        let JobDetail::Backup(backup) = backup.detail else {
            panic!("backup detail")
        };
        assert_eq!(copy.backup_size_in_bytes, Some(4096));
        assert_eq!(backup.backup_size_in_bytes, Some(8192));
    }

    #[test]
    fn running_copy_with_empty_object_destination_is_accepted() {
        let event = JobEvent::decode(&envelope(
            COPY_JOB,
            json!({"copyJobId": "c-1", "state": "RUNNING", "destinationRecoveryPointArn": {}}),
        ))
        .unwrap();
        let JobDetail::Copy(copy) = event.detail else {
            panic!("copy detail")
        };
        assert_eq!(copy.destination_recovery_point_arn, None);
    }

    #[test]
    fn copy_created_without_job_id_decodes_with_no_id() {
        let event = JobEvent::decode(&envelope(COPY_JOB, json!({"state": "CREATED"}))).unwrap();
        assert_eq!(event.job_id(), None);
        assert_eq!(event.kind(), JobKind::Copy);
    }

    #[test]
    fn unknown_state_is_kept_verbatim() {
        let event = JobEvent::decode(&envelope(BACKUP_JOB, json!({"state": "HIBERNATING"}))).unwrap();
        assert_eq!(event.state(), &JobState::Unknown("HIBERNATING".into()));
        assert_eq!(event.state().as_str(), "HIBERNATING");
    }

    #[test]
    fn other_detail_types_and_sources_are_unhandled() {
        let vault = JobEvent::decode(&envelope("Backup Vault State Change", json!({"state": "CREATED"})));
        assert!(matches!(vault, Err(DecodeError::Unhandled { .. })));
        let mut ec2 = envelope(BACKUP_JOB, json!({"state": "FAILED"}));
        ec2["source"] = json!("aws.ec2");
        assert!(matches!(JobEvent::decode(&ec2), Err(DecodeError::Unhandled { .. })));
    }

    #[test]
    fn event_without_state_or_with_non_object_detail_is_rejected_with_reason() {
        let no_state = JobEvent::decode(&envelope(BACKUP_JOB, json!({"backupJobId": "b-1"})));
        assert_eq!(
            no_state,
            Err(DecodeError::NoState {
                detail_type: BACKUP_JOB.into()
            })
        );
        let bad = JobEvent::decode(&envelope(BACKUP_JOB, json!("not an object")));
        assert!(matches!(bad, Err(DecodeError::BadDetail { .. })), "{bad:?}");
        assert!(matches!(
            JobEvent::decode_str("{not json"),
            Err(DecodeError::NotAnEvent(_))
        ));
    }

    #[test]
    fn plan_rule_id_is_read_from_either_key_and_absence_means_on_demand() {
        let planned = JobEvent::decode(&envelope(
            BACKUP_JOB,
            json!({"state": "FAILED", "createdBy": {"backupPlanArn": "arn:aws:backup:eu-west-1:111122223333:backup-plan:p", "backupRuleId": "r"}}),
        ))
        .unwrap();
        assert!(!planned.is_on_demand());
        assert_eq!(planned.created_by().unwrap().backup_plan_rule_id.as_deref(), Some("r"));
        let on_demand = JobEvent::decode(&envelope(BACKUP_JOB, json!({"state": "FAILED"}))).unwrap();
        assert!(on_demand.is_on_demand());
    }

    #[test]
    fn blank_status_message_counts_as_none() {
        let event = JobEvent::decode(&envelope(
            BACKUP_JOB,
            json!({"state": "COMPLETED", "statusMessage": "  "}),
        ))
        .unwrap();
        assert_eq!(event.status_message(), None);
    }
}

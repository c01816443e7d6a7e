//! `Scan Job State Change` events: AWS Backup's malware scans of recovery points with GuardDuty
//! ("Malware scan job events", AWS Backup Developer Guide). `state` is CREATED, RUNNING,
//! COMPLETED, COMPLETED_WITH_ISSUES, FAILED or CANCELED, and the verdict is a separate field,
//! `scanResult.scanResultStatus` (THREATS_FOUND, NO_THREATS_FOUND): a COMPLETED scan may have
//! found threats. Decoded as leniently as the job events.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::backup_events::{CreatedBy, DecodeError, SOURCE, lenient_created_by};
use crate::lenient::loose_string;

pub const SCAN_JOB: &str = "Scan Job State Change";

/// What a scan says about its recovery point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// Malware was found: the point must not be restored.
    ThreatsFound,
    /// Scanned and clean.
    Clean,
    /// The scan ended without proving the point clean (failed, canceled, or completed with
    /// issues and no threats named).
    Unproven,
    /// Still running.
    InProgress,
    /// A state or verdict this version does not know.
    Unknown,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ScanResult {
    #[serde(deserialize_with = "loose_string")]
    pub scan_result_status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ScanDetail {
    #[serde(deserialize_with = "loose_string")]
    pub scan_job_id: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub state: Option<String>,
    pub scan_result: Option<ScanResult>,
    #[serde(deserialize_with = "loose_string")]
    pub recovery_point_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub resource_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub resource_type: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub backup_vault_name: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub backup_vault_arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub status_message: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub creation_date: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub completion_date: Option<String>,
    #[serde(deserialize_with = "lenient_created_by")]
    pub created_by: Option<CreatedBy>,
}

/// One scan event: the envelope's useful fields and the typed detail.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEvent {
    pub event_id: String,
    pub account: String,
    pub region: String,
    pub time: Option<DateTime<Utc>>,
    pub detail: ScanDetail,
}

impl ScanEvent {
    /// Whether a body is a scan event at all, cheaply, before decoding it.
    pub fn looks_like(body: &str) -> bool {
        body.contains(SCAN_JOB)
    }

    pub fn decode_str(body: &str) -> Result<ScanEvent, DecodeError> {
        let event: EventBridgeEvent<Value> =
            serde_json::from_str(body).map_err(|e| DecodeError::NotAnEvent(e.to_string()))?;
        if event.source != SOURCE || event.detail_type != SCAN_JOB {
            return Err(DecodeError::Unhandled {
                event_source: event.source,
                detail_type: event.detail_type,
            });
        }
        let detail: ScanDetail = serde_json::from_value(event.detail).map_err(|e| DecodeError::BadDetail {
            detail_type: SCAN_JOB.into(),
            reason: e.to_string(),
        })?;
        if detail.state.is_none() {
            return Err(DecodeError::NoState {
                detail_type: SCAN_JOB.into(),
            });
        }
        Ok(ScanEvent {
            event_id: event.id.unwrap_or_default(),
            account: event.account.unwrap_or_default(),
            region: event.region.unwrap_or_default(),
            time: event.time,
            detail,
        })
    }

    pub fn state(&self) -> &str {
        self.detail.state.as_deref().unwrap_or_default()
    }

    pub fn result(&self) -> Option<&str> {
        self.detail.scan_result.as_ref()?.scan_result_status.as_deref()
    }

    /// The verdict comes from `scanResult`, whatever the state says: THREATS_FOUND in a
    /// COMPLETED or COMPLETED_WITH_ISSUES scan is malware.
    pub fn finding(&self) -> Finding {
        match (self.state().to_ascii_uppercase().as_str(), self.result()) {
            ("CREATED" | "RUNNING", _) => Finding::InProgress,
            ("COMPLETED" | "COMPLETED_WITH_ISSUES", Some("THREATS_FOUND")) => Finding::ThreatsFound,
            ("COMPLETED", Some("NO_THREATS_FOUND")) => Finding::Clean,
            ("COMPLETED_WITH_ISSUES" | "FAILED" | "CANCELED", _) => Finding::Unproven,
            _ => Finding::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scan(state: &str, result: Option<&str>) -> ScanEvent {
        let mut detail = json!({"scanJobId": "s-1", "state": state,
            "recoveryPointArn": "arn:aws:backup:eu-west-1:111122223333:recovery-point:p-1"});
        if let Some(result) = result {
            detail["scanResult"] = json!({"scanResultStatus": result});
        }
        let body = json!({"version": "0", "id": "e-1", "detail-type": SCAN_JOB, "source": "aws.backup",
            "account": "111122223333", "time": "2026-11-20T03:12:00Z", "region": "eu-west-1", "resources": [],
            "detail": detail});
        ScanEvent::decode_str(&body.to_string()).unwrap()
    }

    #[test]
    fn the_verdict_is_the_scan_result_not_the_state() {
        assert_eq!(
            scan("COMPLETED", Some("THREATS_FOUND")).finding(),
            Finding::ThreatsFound
        );
        assert_eq!(
            scan("COMPLETED_WITH_ISSUES", Some("THREATS_FOUND")).finding(),
            Finding::ThreatsFound
        );
        assert_eq!(scan("COMPLETED", Some("NO_THREATS_FOUND")).finding(), Finding::Clean);
        assert_eq!(
            scan("COMPLETED_WITH_ISSUES", Some("NO_THREATS_FOUND")).finding(),
            Finding::Unproven
        );
        assert_eq!(scan("FAILED", None).finding(), Finding::Unproven);
        assert_eq!(scan("CANCELED", None).finding(), Finding::Unproven);
        assert_eq!(scan("RUNNING", None).finding(), Finding::InProgress);
        assert_eq!(scan("COMPLETED", None).finding(), Finding::Unknown);
    }

    #[test]
    fn a_scan_without_a_state_or_with_a_detail_that_is_not_an_object_is_refused_with_the_reason() {
        let body = |detail: Value| {
            json!({"detail-type": SCAN_JOB, "source": "aws.backup", "id": "e", "detail": detail}).to_string()
        };
        assert!(matches!(
            ScanEvent::decode_str(&body(json!({"scanJobId": "s-1"}))),
            Err(DecodeError::NoState { .. })
        ));
        assert!(matches!(
            ScanEvent::decode_str(&body(json!(["not", "an", "object"]))),
            Err(DecodeError::BadDetail { .. })
        ));
        assert!(matches!(
            ScanEvent::decode_str("{\"truncated\": "),
            Err(DecodeError::NotAnEvent(_))
        ));
    }

    #[test]
    fn other_events_are_not_scans() {
        let job = json!({"detail-type": "Backup Job State Change", "source": "aws.backup", "detail": {}});
        assert!(matches!(
            ScanEvent::decode_str(&job.to_string()),
            Err(DecodeError::Unhandled { .. })
        ));
    }
}

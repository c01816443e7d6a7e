//! What an EventBridge event tells tamper-guard: a CloudTrail record of a call on AWS Backup or
//! KMS (who, what, where, when), or one of AWS Backup's own state changes (no actor). Pure.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, NaiveDateTime, Utc};
use rearguard::cloudtrail::{API_CALL, ApiCall, SERVICE_EVENT};
use serde_json::Value;

pub const VAULT_STATE: &str = "Backup Vault State Change";
pub const PLAN_STATE: &str = "Backup Plan State Change";
pub const POINT_STATE: &str = "Recovery Point State Change";

/// Who made a call, as CloudTrail names them ("CloudTrail userIdentity element").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actor {
    pub arn: String,
    /// `AssumedRole`, `IAMUser`, `Root`, `AWSService`, ...
    pub kind: String,
    /// The role or user that issued an assumed role's session.
    pub session_issuer: Option<String>,
    pub source_ip: String,
    pub user_agent: String,
    /// `sessionContext.attributes.mfaAuthenticated`, a string in the record.
    pub mfa: Option<bool>,
    /// The AWS service that made the call on someone's behalf.
    pub invoked_by: Option<String>,
}

impl Actor {
    /// The principal a step is grouped and allowlisted by: the role behind an assumed-role
    /// session (one attacker, many sessions), otherwise the caller itself.
    pub fn principal(&self) -> &str {
        self.session_issuer.as_deref().unwrap_or(&self.arn)
    }
}

/// A CloudTrail record of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `AWS API Call via CloudTrail` or `AWS Service Event via CloudTrail`.
    pub service_event: bool,
    pub event_source: String,
    pub event_name: String,
    pub actor: Actor,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub read_only: bool,
    pub request: Value,
    pub response: Value,
    pub resources: Value,
}

/// AWS Backup's own state-change events ("Monitoring AWS Backup events using Amazon
/// EventBridge"). They carry no actor: who did it is only in CloudTrail.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupState {
    /// `state` CREATED, MODIFIED, DELETED; `isLocked` a string on MODIFIED. The vault ARN is
    /// only in `resources[0]`.
    Vault {
        vault_arn: String,
        vault_name: String,
        state: String,
        is_locked: Option<String>,
    },
    Plan {
        plan_arn: String,
        plan_id: String,
        state: String,
    },
    /// `status` (not `state`), and `calculatedLifeCycle.deleteAt` (capital C).
    Point {
        point_arn: String,
        vault_name: String,
        status: String,
        delete_at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Call(Box<Call>),
    State(BackupState),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub event_id: String,
    pub account: String,
    pub region: String,
    pub time: DateTime<Utc>,
    pub what: What,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Malformed {
    #[error("not an EventBridge event: {0}")]
    NotAnEvent(String),
    #[error("not an event tamper-guard handles: source {source_name:?}, detail-type {detail_type:?}")]
    Unhandled { source_name: String, detail_type: String },
    #[error("malformed {detail_type:?} detail: {reason}")]
    BadDetail { detail_type: String, reason: String },
}

pub fn decode(payload: &Value) -> Result<Observation, Malformed> {
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(payload.clone()).map_err(|e| Malformed::NotAnEvent(e.to_string()))?;
    let bad = |reason: &str| Malformed::BadDetail {
        detail_type: event.detail_type.clone(),
        reason: reason.to_string(),
    };
    if !event.detail.is_object() {
        return Err(bad("the detail is not an object"));
    }
    let event_id = event.id.clone().unwrap_or_default();
    let envelope_time = event.time.unwrap_or_else(Utc::now);
    let first_resource = event.resources.as_ref().and_then(|r| r.first().cloned());
    let text = |key: &str| event.detail.get(key).and_then(Value::as_str).map(str::to_string);
    let (account, region, time, what) = match event.detail_type.as_str() {
        API_CALL | SERVICE_EVENT => {
            let call: ApiCall = serde_json::from_value(event.detail.clone()).map_err(|e| bad(&e.to_string()))?;
            let event_name = call.event_name.clone().ok_or_else(|| bad("no eventName"))?;
            let identity = &call.user_identity;
            let issuer = &identity.session_context.session_issuer;
            let actor = Actor {
                arn: identity.arn.clone().unwrap_or_default(),
                kind: identity.kind.clone().unwrap_or_default(),
                session_issuer: issuer.arn.clone(),
                source_ip: call.source_ip_address.clone().unwrap_or_default(),
                user_agent: call.user_agent.clone().unwrap_or_default(),
                mfa: identity
                    .session_context
                    .attributes
                    .mfa_authenticated
                    .as_deref()
                    .map(|v| v == "true"),
                invoked_by: identity.invoked_by.clone(),
            };
            let time = call.event_time.as_deref().and_then(parse_time).unwrap_or(envelope_time);
            let what = What::Call(Box::new(Call {
                service_event: event.detail_type == SERVICE_EVENT,
                event_source: call.event_source.clone().unwrap_or_default(),
                event_name,
                actor,
                error_code: call.error_code.clone(),
                error_message: call.error_message.clone(),
                read_only: call.read_only.as_deref() == Some("true"),
                request: call.request_parameters.clone(),
                response: call.response_elements.clone(),
                resources: call.resources.clone(),
            }));
            let account = call.recipient_account_id.clone().or(event.account.clone());
            let region = call.aws_region.clone().or(event.region.clone());
            (account, region, time, what)
        }
        VAULT_STATE => {
            let state = text("state").ok_or_else(|| bad("no state"))?;
            let what = What::State(BackupState::Vault {
                vault_arn: first_resource.unwrap_or_default(),
                vault_name: text("backupVaultName").unwrap_or_default(),
                state,
                is_locked: text("isLocked"),
            });
            (event.account.clone(), event.region.clone(), envelope_time, what)
        }
        PLAN_STATE => {
            let state = text("state").ok_or_else(|| bad("no state"))?;
            let what = What::State(BackupState::Plan {
                plan_arn: first_resource.unwrap_or_default(),
                plan_id: text("backupPlanId").unwrap_or_default(),
                state,
            });
            (event.account.clone(), event.region.clone(), envelope_time, what)
        }
        POINT_STATE => {
            let status = text("status").ok_or_else(|| bad("no status"))?;
            let delete_at = event
                .detail
                .get("calculatedLifeCycle")
                .and_then(|l| l.get("deleteAt"))
                .and_then(time_value);
            let what = What::State(BackupState::Point {
                point_arn: first_resource.unwrap_or_default(),
                vault_name: text("backupVaultName").unwrap_or_default(),
                status,
                delete_at,
            });
            (event.account.clone(), event.region.clone(), envelope_time, what)
        }
        _ => {
            return Err(Malformed::Unhandled {
                source_name: event.source.clone(),
                detail_type: event.detail_type.clone(),
            });
        }
    };
    Ok(Observation {
        event_id,
        account: account.unwrap_or_default(),
        region: region.unwrap_or_default(),
        time,
        what,
    })
}

/// A time as AWS writes it in events: RFC 3339, epoch seconds (a number or a string), or the
/// Java style CloudTrail uses inside some Backup records (`Apr 22, 2026 2:31:06 PM`).
pub fn time_value(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => DateTime::from_timestamp(n.as_f64()? as i64, 0),
        Value::String(s) => parse_time(s),
        _ => None,
    }
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(secs) = text.parse::<f64>() {
        return DateTime::from_timestamp(secs as i64, 0);
    }
    NaiveDateTime::parse_from_str(text, "%b %d, %Y %I:%M:%S %p")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
        let text = match name {
            "delete" => include_str!("../../../events/cloudtrail-delete-recovery-point.json"),
            "lifecycle" => include_str!("../../../events/cloudtrail-backup-deleted-by-lifecycle.json"),
            "point" => include_str!("../../../events/recovery-point-deleting-early.json"),
            _ => unreachable!(),
        };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn an_assumed_role_deletion_names_the_session_its_role_the_source_ip_and_mfa() {
        let observation = decode(&sample("delete")).unwrap();
        let What::Call(call) = observation.what else { panic!() };
        assert_eq!(call.event_name, "DeleteRecoveryPoint");
        assert_eq!(call.actor.kind, "AssumedRole");
        assert!(
            call.actor.arn.contains(":assumed-role/ops-admin/"),
            "{}",
            call.actor.arn
        );
        assert_eq!(call.actor.principal(), "arn:aws:iam::123456789012:role/ops-admin");
        assert_eq!(call.actor.source_ip, "203.0.113.45");
        assert_eq!(call.actor.mfa, Some(false));
        assert_eq!(observation.account, "123456789012");
        assert_eq!(observation.time.to_rfc3339(), "2026-11-20T03:12:41+00:00");
    }

    #[test]
    fn a_lifecycle_deletion_is_a_service_event() {
        let What::Call(call) = decode(&sample("lifecycle")).unwrap().what else {
            panic!()
        };
        assert!(call.service_event);
    }

    #[test]
    fn a_recovery_point_event_reads_status_and_the_capital_c_lifecycle() {
        let What::State(BackupState::Point { status, delete_at, .. }) = decode(&sample("point")).unwrap().what else {
            panic!()
        };
        assert_eq!(status, "DELETING");
        assert!(delete_at.is_some());
    }

    #[test]
    fn bad_events_are_refused_with_their_reason() {
        let not_an_object = json!({"id": "e", "source": "aws.backup", "detail-type": API_CALL, "detail": "x"});
        assert!(
            decode(&not_an_object)
                .unwrap_err()
                .to_string()
                .contains("not an object")
        );
        let no_name = json!({"id": "e", "source": "aws.backup", "detail-type": API_CALL, "detail": {}});
        assert!(decode(&no_name).unwrap_err().to_string().contains("eventName"));
        let other = json!({"id": "e", "source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}});
        assert!(matches!(decode(&other), Err(Malformed::Unhandled { .. })));
        assert!(matches!(decode(&json!([1, 2])), Err(Malformed::NotAnEvent(_))));
    }

    #[test]
    fn times_in_every_shape_aws_writes() {
        let expected = "2026-04-22T14:31:06+00:00";
        for value in [
            json!("2026-04-22T14:31:06Z"),
            json!("Apr 22, 2026 2:31:06 PM"),
            json!(1776868266),
        ] {
            assert_eq!(time_value(&value).unwrap().to_rfc3339(), expected, "{value}");
        }
    }
}

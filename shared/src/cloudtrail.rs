//! Lenient models of the CloudTrail events the functions consume: `AWS API Call via CloudTrail`
//! (resource creation for tag-enrollment, attacks on backups for tamper-guard), `AWS Service
//! Event via CloudTrail`, and `Tag Change on Resource` (`aws.tag`).
//!
//! `aws_lambda_events`' `AWSAPICall` drops `errorCode` (so failed calls look successful) and
//! requires fields real events omit; `TagChangeOnResource.version` rejects `4.0`. Hence these.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::lenient::{loose_string, number_or_string};

pub const API_CALL: &str = "AWS API Call via CloudTrail";
pub const TAG_CHANGE: &str = "Tag Change on Resource";
/// What AWS services do on their own (e.g. AWS Backup's lifecycle deletions): EventBridge user
/// guide, "AWS service events delivered via AWS CloudTrail".
pub const SERVICE_EVENT: &str = "AWS Service Event via CloudTrail";

/// Who made a call ("CloudTrail userIdentity element"): `arn` is the caller (for an assumed
/// role, the session `arn:aws:sts::…:assumed-role/Role/session`), `sessionContext.sessionIssuer`
/// the role or user that issued the temporary credentials, `invokedBy` the AWS service that
/// made the call on someone's behalf.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct UserIdentity {
    #[serde(rename = "type", deserialize_with = "loose_string")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub invoked_by: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub principal_id: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub account_id: Option<String>,
    pub session_context: SessionContext,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionContext {
    pub session_issuer: SessionIssuer,
    pub attributes: SessionAttributes,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionIssuer {
    #[serde(rename = "type", deserialize_with = "loose_string")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub arn: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionAttributes {
    /// `"true"` / `"false"`: a string in CloudTrail records.
    #[serde(deserialize_with = "loose_string")]
    pub mfa_authenticated: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub creation_date: Option<String>,
}

/// The `detail` of an `AWS API Call via CloudTrail` event.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiCall {
    #[serde(deserialize_with = "loose_string")]
    pub event_source: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub event_name: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub aws_region: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub recipient_account_id: Option<String>,
    #[serde(rename = "eventID", deserialize_with = "loose_string")]
    pub event_id: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub error_code: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub error_message: Option<String>,
    pub user_identity: UserIdentity,
    pub request_parameters: Value,
    pub response_elements: Value,
    #[serde(deserialize_with = "loose_string")]
    pub event_time: Option<String>,
    #[serde(rename = "sourceIPAddress", deserialize_with = "loose_string")]
    pub source_ip_address: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub user_agent: Option<String>,
    /// `AwsApiCall`, `AwsServiceEvent`, ...
    #[serde(deserialize_with = "loose_string")]
    pub event_type: Option<String>,
    /// A boolean in modern records; kept as text (`"true"`) whatever its JSON type.
    #[serde(deserialize_with = "loose_string")]
    pub read_only: Option<String>,
    /// The resources CloudTrail names for the call, e.g. `[{"ARN", "type": "AWS::KMS::Key"}]`.
    pub resources: Value,
}

impl ApiCall {
    /// Calls made by AWS Backup (restores) carry `invokedBy: backup.amazonaws.com`.
    pub fn invoked_by_backup(&self) -> bool {
        self.user_identity.invoked_by.as_deref() == Some("backup.amazonaws.com")
    }
}

/// The `detail` of a `Tag Change on Resource` event. The resource ARN is in `resources[0]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct TagChange {
    pub changed_tag_keys: Vec<String>,
    #[serde(deserialize_with = "loose_string")]
    pub service: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub resource_type: Option<String>,
    /// An integer in the docs, `4.0` in real fixtures.
    #[serde(deserialize_with = "number_or_string")]
    pub version: Option<f64>,
    pub tags: BTreeMap<String, String>,
}

/// An event tag-enrollment handles.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    ApiCall {
        event_id: String,
        account: String,
        region: String,
        call: Box<ApiCall>,
    },
    TagChange {
        event_id: String,
        account: String,
        region: String,
        resource_arn: String,
        change: TagChange,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TriggerError {
    #[error("not an EventBridge event: {0}")]
    NotAnEvent(String),
    #[error("unhandled event: source {event_source:?}, detail-type {detail_type:?}")]
    Unhandled { event_source: String, detail_type: String },
    #[error("malformed {detail_type:?} detail: {reason}")]
    BadDetail { detail_type: String, reason: String },
}

impl Trigger {
    pub fn decode_str(body: &str) -> Result<Trigger, TriggerError> {
        let event: EventBridgeEvent<Value> =
            serde_json::from_str(body).map_err(|e| TriggerError::NotAnEvent(e.to_string()))?;
        let bad = |reason: String| TriggerError::BadDetail {
            detail_type: event.detail_type.clone(),
            reason,
        };
        let event_id = event.id.clone().unwrap_or_default();
        let account = event.account.clone().unwrap_or_default();
        let region = event.region.clone().unwrap_or_default();
        match (event.source.as_str(), event.detail_type.as_str()) {
            (_, API_CALL) => {
                let call: ApiCall = serde_json::from_value(event.detail.clone()).map_err(|e| bad(e.to_string()))?;
                // The envelope's account and region are the detail's; prefer the detail's when set.
                let account = call.recipient_account_id.clone().unwrap_or(account);
                let region = call.aws_region.clone().unwrap_or(region);
                Ok(Trigger::ApiCall {
                    event_id,
                    account,
                    region,
                    call: Box::new(call),
                })
            }
            ("aws.tag", TAG_CHANGE) => {
                let change: TagChange = serde_json::from_value(event.detail.clone()).map_err(|e| bad(e.to_string()))?;
                let resource_arn = event
                    .resources
                    .as_ref()
                    .and_then(|r| r.first().cloned())
                    .ok_or_else(|| bad("no resource ARN in resources[0]".into()))?;
                Ok(Trigger::TagChange {
                    event_id,
                    account,
                    region,
                    resource_arn,
                    change,
                })
            }
            _ => Err(TriggerError::Unhandled {
                event_source: event.source.clone(),
                detail_type: event.detail_type.clone(),
            }),
        }
    }

    pub fn event_id(&self) -> &str {
        match self {
            Trigger::ApiCall { event_id, .. } | Trigger::TagChange { event_id, .. } => event_id,
        }
    }

    pub fn account(&self) -> &str {
        match self {
            Trigger::ApiCall { account, .. } | Trigger::TagChange { account, .. } => account,
        }
    }
}

/// Tags as CloudTrail writes them: `[{key, value}]` or `[{Key, Value}]`, or EC2's
/// `{items: [...]}`. Anything else yields no tags.
pub fn tag_list(value: &Value) -> BTreeMap<String, String> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        Value::Object(map) => map
            .get("items")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        _ => &[],
    };
    items
        .iter()
        .filter_map(|item| {
            let key = item.get("key").or_else(|| item.get("Key"))?.as_str()?;
            let value = item
                .get("value")
                .or_else(|| item.get("Value"))
                .and_then(Value::as_str)
                .unwrap_or("");
            Some((key.to_string(), value.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tag_lists_in_every_casing_and_ec2_items_shape() {
        let lower = tag_list(&json!([{"key": "a", "value": "1"}]));
        let upper = tag_list(&json!([{"Key": "a", "Value": "1"}]));
        let ec2 = tag_list(&json!({"items": [{"key": "a", "value": "1"}]}));
        assert_eq!(lower, upper);
        assert_eq!(lower, ec2);
        assert!(tag_list(&json!({})).is_empty());
        assert!(tag_list(&Value::Null).is_empty());
    }

    #[test]
    fn failed_call_keeps_its_error_code() {
        let body = json!({"id": "e", "detail-type": API_CALL, "source": "aws.ec2", "detail": {
            "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "errorCode": "Client.UnauthorizedOperation",
            "responseElements": null, "awsRegion": "eu-west-1", "recipientAccountId": "111122223333"}});
        let Trigger::ApiCall { call, account, .. } = Trigger::decode_str(&body.to_string()).unwrap() else {
            panic!()
        };
        assert_eq!(call.error_code.as_deref(), Some("Client.UnauthorizedOperation"));
        assert_eq!(account, "111122223333");
    }

    #[test]
    fn tag_change_version_may_be_a_float_and_arn_comes_from_resources() {
        let body = json!({"id": "e", "detail-type": TAG_CHANGE, "source": "aws.tag",
            "resources": ["arn:aws:ec2:eu-west-1:111122223333:instance/i-1"],
            "detail": {"changed-tag-keys": ["backup-plan"], "service": "ec2", "resource-type": "instance", "version": 4.0, "tags": {"a": "b"}}});
        let Trigger::TagChange {
            resource_arn, change, ..
        } = Trigger::decode_str(&body.to_string()).unwrap()
        else {
            panic!()
        };
        assert_eq!(resource_arn, "arn:aws:ec2:eu-west-1:111122223333:instance/i-1");
        assert_eq!(change.version, Some(4.0));
        assert_eq!(change.changed_tag_keys, vec!["backup-plan"]);
    }

    #[test]
    fn tag_change_without_resource_and_other_events_are_rejected() {
        let body = json!({"detail-type": TAG_CHANGE, "source": "aws.tag", "detail": {"tags": {}}});
        assert!(matches!(
            Trigger::decode_str(&body.to_string()),
            Err(TriggerError::BadDetail { .. })
        ));
        let body = json!({"detail-type": "Backup Job State Change", "source": "aws.backup", "detail": {}});
        assert!(matches!(
            Trigger::decode_str(&body.to_string()),
            Err(TriggerError::Unhandled { .. })
        ));
    }
}

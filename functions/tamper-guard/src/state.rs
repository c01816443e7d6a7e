//! What tamper-guard remembers in the state table (the same table as the delivery ledger,
//! partition key `pk`, TTL attribute `expires_at`): each vault's last known access policy and
//! lock and each plan's last known rules, because CloudTrail records only the new value of a
//! change, and each principal's open incident.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use rearguard::dynamo_store::DynamoStore;
use rearguard::store::{StoreError, Versioned, Written};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use crate::incident::Incident;
use crate::lock::Lock;

/// The last known settings of one vault (its access policy and lock), plan (its rules) or
/// recovery point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub policy: Option<String>,
    /// Read from records written before `lock` existed; never written.
    #[serde(default, skip_serializing)]
    pub lock_min_days: Option<i64>,
    /// The vault's lock as last seen (a lock configuration call or AWS Backup's `isLocked`).
    #[serde(default)]
    pub lock: Option<Lock>,
    #[serde(default)]
    pub plan_rules: Option<BTreeMap<String, Value>>,
    /// The last CloudTrail call on it that was alerted, so AWS Backup's own event of the same
    /// change (which names no actor) is not alerted twice.
    #[serde(default)]
    pub alerted_call: Option<AlertedCall>,
    /// The last AWS Backup state change on it that was alerted (without an actor), so the
    /// CloudTrail record of the same change is sent as its follow-up.
    #[serde(default)]
    pub alerted_state: Option<AlertedState>,
}

impl Memory {
    /// The last known lock, also from a record that kept only its minimum retention.
    pub fn known_lock(&self) -> Option<Lock> {
        self.lock.clone().or_else(|| {
            self.lock_min_days.map(|min| Lock {
                locked: true,
                min_days: Some(min),
                max_days: None,
                compliance: false,
                seen_at: DateTime::<Utc>::MIN_UTC,
            })
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertedCall {
    pub event_id: String,
    pub action: String,
    pub principal: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertedState {
    pub event_id: String,
    /// The finding's kind, e.g. `vault_deleted`.
    pub kind: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait TamperState: Send + Sync {
    async fn memory_of(&self, key: &str) -> Result<Memory, StoreError>;
    async fn remember(&self, key: &str, memory: &Memory) -> Result<(), StoreError>;
    async fn open_incident(&self, principal: &str) -> Result<Option<Versioned<Incident>>, StoreError>;
    /// Writes `incident` if the stored one still has version `expected` (`None`: if there is
    /// none); [`Written::Conflict`] when another invocation wrote first.
    async fn write_incident(
        &self,
        incident: &Incident,
        expected: Option<u64>,
        expires_at: DateTime<Utc>,
    ) -> Result<Written, StoreError>;
}

/// tamper-guard's records in the shared state table, beside the delivery ledger.
pub struct DynamoTamperState<'a> {
    pub store: &'a DynamoStore,
}

fn memory_pk(key: &str) -> String {
    format!("tamper-guard#memory#{key}")
}

fn incident_pk(principal: &str) -> String {
    format!("tamper-guard#incident#{principal}")
}

fn read_doc<T: serde::de::DeserializeOwned>(item: &HashMap<String, AttributeValue>) -> Option<T> {
    serde_json::from_str(item.get("doc")?.as_s().ok()?).ok()
}

#[async_trait]
impl TamperState for DynamoTamperState<'_> {
    async fn memory_of(&self, key: &str) -> Result<Memory, StoreError> {
        Ok(self
            .store
            .get(&memory_pk(key))
            .await?
            .and_then(|item| read_doc(&item))
            .unwrap_or_default())
    }

    async fn remember(&self, key: &str, memory: &Memory) -> Result<(), StoreError> {
        let doc = serde_json::to_string(memory).unwrap_or_default();
        self.store
            .client()
            .put_item()
            .table_name(self.store.table())
            .item("pk", AttributeValue::S(memory_pk(key)))
            .item("doc", AttributeValue::S(doc))
            .send()
            .await
            .map_err(|e| self.store.error(e))?;
        Ok(())
    }

    async fn open_incident(&self, principal: &str) -> Result<Option<Versioned<Incident>>, StoreError> {
        let Some(item) = self.store.get(&incident_pk(principal)).await? else {
            return Ok(None);
        };
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(read_doc(&item).map(|value| Versioned { value, version }))
    }

    async fn write_incident(
        &self,
        incident: &Incident,
        expected: Option<u64>,
        expires_at: DateTime<Utc>,
    ) -> Result<Written, StoreError> {
        let version = expected.unwrap_or(0) + 1;
        let put = self
            .store
            .client()
            .put_item()
            .table_name(self.store.table())
            .item("pk", AttributeValue::S(incident_pk(&incident.principal)))
            .item(
                "doc",
                AttributeValue::S(serde_json::to_string(incident).unwrap_or_default()),
            )
            .item("version", AttributeValue::N(version.to_string()))
            .item("expires_at", AttributeValue::N(expires_at.timestamp().to_string()));
        // Two invocations adding steps of one principal at once: only the one that read the
        // current version writes; the other reads again (Amazon DynamoDB Developer Guide,
        // "Optimistic locking with version number").
        let put = match expected {
            Some(expected) => put
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string())),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        self.store.conditional_put(put.send().await, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{mock, mock_client};

    fn incident() -> Incident {
        Incident {
            id: "e1".into(),
            principal: "arn:aws:iam::123456789012:role/ops-admin".into(),
            steps: Vec::new(),
        }
    }

    #[tokio::test]
    async fn an_incident_update_is_conditional_on_the_version_read() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                req.condition_expression() == Some("version = :expected")
                    && req.expression_attribute_values().unwrap()[":expected"].as_n().unwrap() == "2"
                    && req.item().unwrap()["version"].as_n().unwrap() == "3"
                    && req.item().unwrap()["pk"].as_s().unwrap()
                        == "tamper-guard#incident#arn:aws:iam::123456789012:role/ops-admin"
            })
            .then_output(|| PutItemOutput::builder().build());
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "tamper-guard");
        let state = DynamoTamperState { store: &store };

        let written = state.write_incident(&incident(), Some(2), Utc::now()).await.unwrap();

        assert_eq!(written, Written::Done { version: 3 });
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_lost_race_for_a_new_incident_is_a_conflict() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| req.condition_expression() == Some("attribute_not_exists(pk)"))
            .then_error(|| {
                PutItemError::ConditionalCheckFailedException(ConditionalCheckFailedException::builder().build())
            });
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "tamper-guard");
        let state = DynamoTamperState { store: &store };

        assert_eq!(
            state.write_incident(&incident(), None, Utc::now()).await.unwrap(),
            Written::Conflict
        );
    }
}

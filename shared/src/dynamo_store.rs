//! The delivery ledger and open incidents in one DynamoDB table: partition key `pk` (string),
//! TTL attribute `expires_at` (epoch seconds). TTL deletion is lazy, so reads also ignore
//! items whose `expires_at` has passed.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;

use crate::store::{Claim, DeliveryLedger, Incident, IncidentStore, StoreError};

const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// The function whose deliveries the ledger records: the functions share one table and
    /// receive some of the same events (job-alerts and cross-account-copy both take a completed
    /// backup), so one function's "handled" must never read as another's.
    function: String,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, function: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            function: function.into(),
        }
    }

    fn delivery_key(&self, key: &str) -> String {
        format!("delivery#{}#{key}", self.function)
    }

    fn error(&self, e: impl std::error::Error) -> StoreError {
        StoreError {
            table: self.table.clone(),
            message: DisplayErrorContext(e).to_string(),
        }
    }

    async fn get(&self, pk: &str) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(output.item)
    }

    async fn delete(&self, pk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn read_s(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

fn read_n(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

fn read_time(item: &HashMap<String, AttributeValue>, name: &str) -> DateTime<Utc> {
    Utc.timestamp_opt(read_n(item, name), 0).single().unwrap_or_default()
}

fn is_condition_failure(e: &SdkError<PutItemError>) -> bool {
    matches!(
        e.as_service_error(),
        Some(PutItemError::ConditionalCheckFailedException(_))
    )
}

#[async_trait]
impl DeliveryLedger for DynamoStore {
    async fn claim(&self, key: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<Claim, StoreError> {
        let pk = self.delivery_key(key);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("status", s(IN_PROGRESS))
            .item("lease_until", n(lease_until.timestamp()))
            .item("expires_at", n(lease_until.timestamp() + 86_400))
            // Free, or held by an attempt that died, or completed so long ago TTL should have removed it.
            .condition_expression(
                "attribute_not_exists(pk) OR (#status = :in_progress AND lease_until < :now) OR expires_at < :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if is_condition_failure(&e) => {
                let item = self.get(&pk).await?.unwrap_or_default();
                Ok(if read_s(&item, "status") == COMPLETED {
                    Claim::AlreadyDone
                } else {
                    Claim::InProgress
                })
            }
            Err(e) => Err(self.error(e)),
        }
    }

    async fn complete(&self, key: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&self.delivery_key(key)))
            .item("status", s(COMPLETED))
            .item("expires_at", n(expires_at.timestamp()))
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.delete(&self.delivery_key(key)).await
    }
}

#[async_trait]
impl IncidentStore for DynamoStore {
    async fn open_incident(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Incident>, StoreError> {
        let Some(item) = self.get(&format!("incident#{key}")).await? else {
            return Ok(None);
        };
        if read_n(&item, "expires_at") <= now.timestamp() {
            return Ok(None);
        }
        Ok(Some(Incident {
            key: key.to_string(),
            resource_arn: read_s(&item, "resource_arn"),
            job_type: read_s(&item, "job_type"),
            state: read_s(&item, "state"),
            opened_at: read_time(&item, "opened_at"),
            last_alerted_at: read_time(&item, "last_alerted_at"),
            failures: read_n(&item, "failures").try_into().unwrap_or(u32::MAX),
            last_job_id: read_s(&item, "last_job_id"),
        }))
    }

    async fn save_incident(&self, incident: &Incident, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&format!("incident#{}", incident.key)))
            .item("resource_arn", s(&incident.resource_arn))
            .item("job_type", s(&incident.job_type))
            .item("state", s(&incident.state))
            .item("opened_at", n(incident.opened_at.timestamp()))
            .item("last_alerted_at", n(incident.last_alerted_at.timestamp()))
            .item("failures", n(incident.failures.into()))
            .item("last_job_id", s(&incident.last_job_id))
            .item("expires_at", n(expires_at.timestamp()))
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    async fn close_incident(&self, key: &str) -> Result<(), StoreError> {
        self.delete(&format!("incident#{key}")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[tokio::test]
    async fn first_claim_is_a_conditional_put_of_an_in_progress_lease() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                let item = req.item().unwrap();
                req.table_name() == Some("state")
                    && item["pk"].as_s().unwrap() == "delivery#job-alerts#evt-1"
                    && item["status"].as_s().unwrap() == IN_PROGRESS
                    && item["lease_until"].as_n().unwrap() == "1300"
                    && req.condition_expression().unwrap().contains("attribute_not_exists(pk)")
            })
            .then_output(|| PutItemOutput::builder().build());
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "job-alerts");

        assert_eq!(store.claim("evt-1", at(1000), at(1300)).await.unwrap(), Claim::Acquired);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn claim_of_a_completed_event_reports_a_duplicate() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(ConditionalCheckFailedException::builder().build())
        });
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|req| req.consistent_read() == Some(true))
            .then_output(|| GetItemOutput::builder().item("status", s(COMPLETED)).build());
        let store = DynamoStore::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &get]),
            "state",
            "job-alerts",
        );

        assert_eq!(
            store.claim("evt-1", at(1000), at(1300)).await.unwrap(),
            Claim::AlreadyDone
        );
    }

    #[tokio::test]
    async fn functions_sharing_the_table_keep_separate_ledgers() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| req.item().unwrap()["pk"].as_s().unwrap() == "delivery#cross-account-copy#evt-1")
            .then_output(|| PutItemOutput::builder().build());
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "cross-account-copy");

        // job-alerts handling evt-1 wrote delivery#job-alerts#evt-1: this claim is another item.
        assert_eq!(store.claim("evt-1", at(1000), at(1300)).await.unwrap(), Claim::Acquired);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn claim_held_by_a_live_attempt_reports_in_progress() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(ConditionalCheckFailedException::builder().build())
        });
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .then_output(|| GetItemOutput::builder().item("status", s(IN_PROGRESS)).build());
        let store = DynamoStore::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &get]),
            "state",
            "job-alerts",
        );

        assert_eq!(
            store.claim("evt-1", at(1000), at(1300)).await.unwrap(),
            Claim::InProgress
        );
    }

    #[tokio::test]
    async fn expired_incident_not_yet_removed_by_ttl_reads_as_closed() {
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("pk", s("incident#k"))
                .item("expires_at", n(999))
                .build()
        });
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&get]), "state", "job-alerts");

        assert_eq!(store.open_incident("k", at(1000)).await.unwrap(), None);
    }
}

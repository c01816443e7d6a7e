//! The delivery ledger and open incidents in one DynamoDB table: partition key `pk` (string),
//! TTL attribute `expires_at` (epoch seconds). TTL deletion is lazy, so reads also ignore
//! items whose `expires_at` has passed.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use crate::store::{
    Claim, DeliveryLedger, FailedJob, Incident, IncidentStore, IncidentWrite, MAX_WRITES_AT_ONCE, StoreError,
    Versioned, Written,
};

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

    /// The table's client and name, for a function's own records in the same table.
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A conditional `PutItem`'s outcome: stored with `version`, or a lost race
    /// ([`Written::Conflict`]); any other failure is an error.
    pub fn conditional_put<O>(
        &self,
        result: Result<O, SdkError<PutItemError>>,
        version: u64,
    ) -> Result<Written, StoreError> {
        match result {
            Ok(_) => Ok(Written::Done { version }),
            Err(e) if is_condition_failure(&e) => Ok(Written::Conflict),
            Err(e) => Err(self.error(e)),
        }
    }

    fn delivery_key(&self, key: &str) -> String {
        format!("delivery#{}#{key}", self.function)
    }

    pub fn error(&self, e: impl std::error::Error) -> StoreError {
        StoreError {
            table: self.table.clone(),
            message: DisplayErrorContext(e).to_string(),
        }
    }

    /// The item `pk`, read consistently.
    pub async fn get(&self, pk: &str) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
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

fn incident_pk(key: &str) -> String {
    format!("incident#{key}")
}

fn millis(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp_millis())
}

fn read_millis(item: &HashMap<String, AttributeValue>, name: &str) -> Option<DateTime<Utc>> {
    let value = item.get(name)?.as_n().ok()?.parse().ok()?;
    DateTime::from_timestamp_millis(value)
}

fn read_incident(key: &str, item: &HashMap<String, AttributeValue>) -> Versioned<Incident> {
    let failed = item
        .get("failed")
        .and_then(|v| v.as_l().ok())
        .map(|list| {
            list.iter()
                .filter_map(|entry| {
                    let entry = entry.as_m().ok()?;
                    Some(FailedJob {
                        job_id: read_s(entry, "job"),
                        at: read_millis(entry, "at")?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Versioned {
        value: Incident {
            key: key.to_string(),
            resource_arn: read_s(item, "resource_arn"),
            job_type: read_s(item, "job_type"),
            state: read_s(item, "state"),
            failed,
            last_success_at: read_millis(item, "last_success_at"),
            last_alerted_at: read_millis(item, "last_alerted_at"),
        },
        version: read_n(item, "version").try_into().unwrap_or_default(),
    }
}

fn is_live(item: &HashMap<String, AttributeValue>, now: DateTime<Utc>) -> bool {
    read_n(item, "expires_at") > now.timestamp()
}

/// The item and condition of a versioned incident write, the same for `PutItem` and for a
/// transaction's Put.
struct IncidentPut {
    item: HashMap<String, AttributeValue>,
    condition: &'static str,
    values: HashMap<String, AttributeValue>,
    /// The version the item has once written.
    version: u64,
}

impl IncidentPut {
    fn new(incident: &Incident, expected: Option<u64>, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> IncidentPut {
        let version = expected.unwrap_or(0) + 1;
        let failed = incident
            .failed
            .iter()
            .map(|f| {
                AttributeValue::M(HashMap::from([
                    ("job".to_string(), s(&f.job_id)),
                    ("at".to_string(), millis(f.at)),
                ]))
            })
            .collect();
        let mut item = HashMap::from([
            ("pk".to_string(), s(&incident_pk(&incident.key))),
            ("resource_arn".to_string(), s(&incident.resource_arn)),
            ("job_type".to_string(), s(&incident.job_type)),
            ("state".to_string(), s(&incident.state)),
            ("failed".to_string(), AttributeValue::L(failed)),
            ("version".to_string(), n(version as i64)),
            ("expires_at".to_string(), n(expires_at.timestamp())),
        ]);
        if let Some(at) = incident.last_success_at {
            item.insert("last_success_at".to_string(), millis(at));
        }
        if let Some(at) = incident.last_alerted_at {
            item.insert("last_alerted_at".to_string(), millis(at));
        }
        // Two invocations deciding on one resource: only the one that read the current
        // version writes; the other reads again and decides again (Amazon DynamoDB Developer
        // Guide, "Optimistic locking with version number").
        let (condition, values) = match expected {
            Some(expected) => (
                "version = :expected",
                HashMap::from([(":expected".to_string(), n(expected as i64))]),
            ),
            None => (
                "attribute_not_exists(pk) OR expires_at < :now",
                HashMap::from([(":now".to_string(), n(now.timestamp()))]),
            ),
        };
        IncidentPut {
            item,
            condition,
            values,
            version,
        }
    }
}

#[async_trait]
impl IncidentStore for DynamoStore {
    async fn load_incident(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Versioned<Incident>>, StoreError> {
        Ok(self
            .get(&incident_pk(key))
            .await?
            .filter(|item| is_live(item, now))
            .map(|item| read_incident(key, &item)))
    }

    /// `BatchGetItem`, 100 keys a call, strongly consistent like the single read; keys DynamoDB
    /// leaves unprocessed (throughput) are asked again a few times before giving up.
    async fn load_incidents(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, Versioned<Incident>>, StoreError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(100) {
            let mut wanted: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|k| HashMap::from([("pk".to_string(), s(&incident_pk(k)))]))
                .collect();
            for attempt in 0..5 {
                if wanted.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut wanted)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| self.error(e))?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| self.error(e))?;
                for item in output
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    let Some(key) = item
                        .get("pk")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|pk| pk.strip_prefix("incident#"))
                        .map(str::to_string)
                    else {
                        continue;
                    };
                    if is_live(&item, now) {
                        found.insert(key.clone(), read_incident(&key, &item));
                    }
                }
                wanted = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
            if !wanted.is_empty() {
                return Err(StoreError {
                    table: self.table.clone(),
                    message: format!("BatchGetItem left {} keys unprocessed", wanted.len()),
                });
            }
        }
        Ok(found)
    }

    async fn write_incident(
        &self,
        incident: &Incident,
        expected: Option<u64>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Written, StoreError> {
        let put = IncidentPut::new(incident, expected, now, expires_at);
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .condition_expression(put.condition)
            .set_expression_attribute_values(Some(put.values))
            .send()
            .await;
        self.conditional_put(sent, put.version)
    }

    /// One `TransactWriteItems` call: up to 100 actions, all succeed or none (Amazon DynamoDB
    /// API Reference, "TransactWriteItems"), each Put on the condition `write_incident` uses.
    /// A cancelled transaction (`TransactionCanceledException`, one `CancellationReasons` entry
    /// per action: `ConditionalCheckFailed` for a record changed since it was read,
    /// `TransactionConflict` for a write in flight on one of them) stored nothing, so every
    /// record is a conflict. The SDK gives the call a `ClientRequestToken`, so a retry of a call
    /// that did go through is not applied again (10 minutes, same page). A single record is a
    /// plain conditional `PutItem`: a transaction's write costs twice the capacity ("Amazon
    /// DynamoDB Transactions: How it works", capacity management).
    async fn write_incidents(
        &self,
        writes: &[IncidentWrite],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<Written>, StoreError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        if let [write] = writes {
            return Ok(vec![
                self.write_incident(&write.incident, write.expected, now, expires_at)
                    .await?,
            ]);
        }
        if writes.len() > MAX_WRITES_AT_ONCE {
            return Err(StoreError {
                table: self.table.clone(),
                message: format!(
                    "{} records in one transaction (at most {MAX_WRITES_AT_ONCE})",
                    writes.len()
                ),
            });
        }
        let mut versions = Vec::with_capacity(writes.len());
        let mut actions = Vec::with_capacity(writes.len());
        for write in writes {
            let put = IncidentPut::new(&write.incident, write.expected, now, expires_at);
            versions.push(put.version);
            let action = Put::builder()
                .table_name(&self.table)
                .set_item(Some(put.item))
                .condition_expression(put.condition)
                .set_expression_attribute_values(Some(put.values))
                .build()
                .map_err(|e| self.error(e))?;
            actions.push(TransactWriteItem::builder().put(action).build());
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(versions.into_iter().map(|version| Written::Done { version }).collect()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let reasons: Vec<&str> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None"))
                        .collect();
                    tracing::info!(table = %self.table, records = writes.len(), ?reasons, "transaction cancelled: nothing written");
                    Ok(vec![Written::Conflict; writes.len()])
                }
                _ => Err(self.error(e)),
            },
        }
    }

    async fn delete_incident(&self, key: &str, expected: u64) -> Result<Written, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&incident_pk(key)))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(expected as i64))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(Written::Done { version: 0 }),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(Written::Conflict)
            }
            Err(e) => Err(self.error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::{ConditionalCheckFailedException, TransactionCanceledException};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use chrono::TimeZone;

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

        assert_eq!(store.load_incident("k", at(1000)).await.unwrap(), None);
    }

    fn open_incident() -> Incident {
        Incident {
            key: "BACKUP#arn:aws:rds:eu-west-1:1:db:orders".into(),
            resource_arn: "arn:aws:rds:eu-west-1:1:db:orders".into(),
            job_type: "BACKUP".into(),
            state: "FAILED".into(),
            failed: vec![FailedJob {
                job_id: "job-1".into(),
                at: at(1000),
            }],
            last_success_at: Some(at(900)),
            last_alerted_at: Some(at(1000)),
        }
    }

    #[tokio::test]
    async fn incident_write_is_conditional_on_the_version_read_and_bumps_it() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                let item = req.item().unwrap();
                req.condition_expression() == Some("version = :expected")
                    && req.expression_attribute_values().unwrap()[":expected"].as_n().unwrap() == "3"
                    && item["version"].as_n().unwrap() == "4"
                    && item["last_success_at"].as_n().unwrap() == "900000"
                    && item["failed"].as_l().unwrap()[0].as_m().unwrap()["job"].as_s().unwrap() == "job-1"
            })
            .then_output(|| PutItemOutput::builder().build());
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "job-alerts");

        let written = store
            .write_incident(&open_incident(), Some(3), at(2000), at(9000))
            .await
            .unwrap();

        assert_eq!(written, Written::Done { version: 4 });
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_first_incident_write_requires_no_live_item_and_a_lost_race_is_a_conflict() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| req.condition_expression() == Some("attribute_not_exists(pk) OR expires_at < :now"))
            .then_error(|| {
                PutItemError::ConditionalCheckFailedException(ConditionalCheckFailedException::builder().build())
            });
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "job-alerts");

        let written = store
            .write_incident(&open_incident(), None, at(2000), at(9000))
            .await
            .unwrap();

        assert_eq!(written, Written::Conflict);
    }

    fn write(key: &str, expected: Option<u64>) -> IncidentWrite {
        IncidentWrite {
            incident: Incident {
                key: key.into(),
                ..open_incident()
            },
            expected,
        }
    }

    #[tokio::test]
    async fn incident_records_are_written_in_one_transaction_each_on_the_version_it_read() {
        let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .match_requests(|req| {
                let puts: Vec<&Put> = req.transact_items().iter().filter_map(|a| a.put()).collect();
                let [known, new] = puts.as_slice() else { return false };
                known.table_name() == "state"
                    && known.item()["pk"].as_s().unwrap() == "incident#a"
                    && known.condition_expression() == Some("version = :expected")
                    && known.expression_attribute_values().unwrap()[":expected"]
                        .as_n()
                        .unwrap()
                        == "3"
                    && known.item()["version"].as_n().unwrap() == "4"
                    && known.item()["failed"].as_l().unwrap()[0].as_m().unwrap()["job"]
                        .as_s()
                        .unwrap()
                        == "job-1"
                    && new.item()["pk"].as_s().unwrap() == "incident#b"
                    && new.condition_expression() == Some("attribute_not_exists(pk) OR expires_at < :now")
                    && new.expression_attribute_values().unwrap()[":now"].as_n().unwrap() == "2000"
                    && new.item()["version"].as_n().unwrap() == "1"
            })
            .then_output(|| TransactWriteItemsOutput::builder().build());
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "job-alerts");

        let written = store
            .write_incidents(&[write("a", Some(3)), write("b", None)], at(2000), at(9000))
            .await
            .unwrap();

        assert_eq!(
            written,
            vec![Written::Done { version: 4 }, Written::Done { version: 1 }]
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_transaction_stored_nothing_so_every_record_is_a_conflict() {
        let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(CancellationReason::builder().code("None").build())
                    .cancellation_reasons(CancellationReason::builder().code("ConditionalCheckFailed").build())
                    .build(),
            )
        });
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "job-alerts");

        let written = store
            .write_incidents(&[write("a", Some(3)), write("b", None)], at(2000), at(9000))
            .await
            .unwrap();

        assert_eq!(written, vec![Written::Conflict, Written::Conflict]);
    }

    #[tokio::test]
    async fn a_single_record_is_a_plain_conditional_put_not_a_transaction() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| req.condition_expression() == Some("version = :expected"))
            .then_output(|| PutItemOutput::builder().build());
        let transaction = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .then_output(|| TransactWriteItemsOutput::builder().build());
        let store = DynamoStore::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &transaction]),
            "state",
            "job-alerts",
        );

        let written = store
            .write_incidents(&[write("a", Some(3))], at(2000), at(9000))
            .await
            .unwrap();

        assert_eq!(written, vec![Written::Done { version: 4 }]);
        assert_eq!((put.num_calls(), transaction.num_calls()), (1, 0));
    }

    #[tokio::test]
    async fn more_records_than_one_transaction_takes_are_refused_without_a_call() {
        let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .then_output(|| TransactWriteItemsOutput::builder().build());
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "state", "job-alerts");
        let writes: Vec<IncidentWrite> = (0..=MAX_WRITES_AT_ONCE)
            .map(|i| write(&format!("k{i}"), None))
            .collect();

        assert!(store.write_incidents(&writes, at(2000), at(9000)).await.is_err());
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_stored_incident_reads_back_with_its_version_and_failures() {
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("pk", s("incident#k"))
                .item("expires_at", n(5000))
                .item("version", n(7))
                .item("state", s("FAILED"))
                .item(
                    "failed",
                    AttributeValue::L(vec![AttributeValue::M(HashMap::from([
                        ("job".to_string(), s("job-1")),
                        ("at".to_string(), n(1_000_000)),
                    ]))]),
                )
                .build()
        });
        let store = DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&get]), "state", "job-alerts");

        let record = store.load_incident("k", at(1000)).await.unwrap().unwrap();

        assert_eq!(record.version, 7);
        assert_eq!(
            record.value.failed,
            vec![FailedJob {
                job_id: "job-1".into(),
                at: at(1000)
            }]
        );
        assert_eq!(record.value.last_success_at, None);
    }
}

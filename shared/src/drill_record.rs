//! The drill record: restore-drill writes one item per judged restore test, compliance-report
//! reads the newest successful one per plan and resource type.
//!
//! Its own DynamoDB table, not the state table: the state table's items expire (TTL) and are
//! keyed by one string, while a drill record is history kept as long as the table lives, and
//! "newest successful drill of a plan and type" needs a sorted index. Partition key
//! `restore_job_id` (one item per restore job: a conditional put makes a duplicate delivery
//! write nothing). A sparse global secondary index [`SUCCESSFUL_INDEX`], partition key
//! `successful_plan_type` (`<plan>#<type>`, set only on SUCCESSFUL drills of a known plan) and
//! sort key `drilled_at` (RFC 3339 UTC, seconds, so text order is time order), answers the
//! report's question with one `Query` of one item ("Take advantage of sparse indexes": only items
//! that have the index's key attributes appear in a global secondary index).

use async_trait::async_trait;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::HashMap;

use crate::store::StoreError;

/// The index of successful drills by plan and resource type, newest last.
pub const SUCCESSFUL_INDEX: &str = "successful-by-plan-and-type";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DrillResult {
    Successful,
    Failed,
}

impl DrillResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DrillResult::Successful => "SUCCESSFUL",
            DrillResult::Failed => "FAILED",
        }
    }

    fn parse(text: &str) -> Option<DrillResult> {
        match text {
            "SUCCESSFUL" => Some(DrillResult::Successful),
            "FAILED" => Some(DrillResult::Failed),
            _ => None,
        }
    }
}

/// One judged restore test.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillRecord {
    pub restore_job_id: String,
    /// The policy plan of the restored resource's source, when its backup tag names one.
    pub plan: Option<String>,
    pub resource_type: String,
    pub source_resource_arn: Option<String>,
    pub recovery_point_arn: Option<String>,
    pub result: DrillResult,
    /// Why it failed, or the evidence it passed.
    pub reason: String,
    pub rpo_hours: Option<f64>,
    pub rto_minutes: Option<f64>,
    pub rpo_target_hours: Option<i64>,
    pub rto_target_hours: Option<i64>,
    /// When the drill happened: the restore job's completion, else when it was judged.
    pub drilled_at: DateTime<Utc>,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn index_key(plan: &str, resource_type: &str) -> String {
    format!("{plan}#{resource_type}")
}

impl DrillRecord {
    /// The DynamoDB item. Absent values are left out rather than stored empty.
    pub fn to_item(&self) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            ("restore_job_id".to_string(), s(&self.restore_job_id)),
            ("resource_type".to_string(), s(&self.resource_type)),
            ("result".to_string(), s(self.result.as_str())),
            ("reason".to_string(), s(&self.reason)),
            ("drilled_at".to_string(), s(&timestamp(self.drilled_at))),
        ]);
        let mut text = |name: &str, value: Option<&String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                item.insert(name.to_string(), s(v));
            }
        };
        text("plan", self.plan.as_ref());
        text("source_resource_arn", self.source_resource_arn.as_ref());
        text("recovery_point_arn", self.recovery_point_arn.as_ref());
        let mut number = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                item.insert(name.to_string(), AttributeValue::N(v));
            }
        };
        number(
            "rpo_hours",
            self.rpo_hours.filter(|v| v.is_finite()).map(|v| v.to_string()),
        );
        number(
            "rto_minutes",
            self.rto_minutes.filter(|v| v.is_finite()).map(|v| v.to_string()),
        );
        number("rpo_target_hours", self.rpo_target_hours.map(|v| v.to_string()));
        number("rto_target_hours", self.rto_target_hours.map(|v| v.to_string()));
        if let (DrillResult::Successful, Some(plan)) = (self.result, self.plan.as_deref().filter(|p| !p.is_empty())) {
            item.insert(
                "successful_plan_type".to_string(),
                s(&index_key(plan, &self.resource_type)),
            );
        }
        item
    }

    /// The record an item holds; `None` when the item is not one (a missing key, result or date).
    pub fn from_item(item: &HashMap<String, AttributeValue>) -> Option<DrillRecord> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<f64>().ok())
        };
        Some(DrillRecord {
            restore_job_id: text("restore_job_id")?,
            plan: text("plan"),
            resource_type: text("resource_type").unwrap_or_default(),
            source_resource_arn: text("source_resource_arn"),
            recovery_point_arn: text("recovery_point_arn"),
            result: DrillResult::parse(&text("result")?)?,
            reason: text("reason").unwrap_or_default(),
            rpo_hours: number("rpo_hours"),
            rto_minutes: number("rto_minutes"),
            rpo_target_hours: number("rpo_target_hours").map(|v| v as i64),
            rto_target_hours: number("rto_target_hours").map(|v| v as i64),
            drilled_at: DateTime::parse_from_rfc3339(&text("drilled_at")?)
                .ok()?
                .with_timezone(&Utc),
        })
    }
}

/// Whether a record was written or one of the same restore job was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Written,
    AlreadyRecorded,
}

/// restore-drill's write.
#[async_trait]
pub trait DrillLog: Send + Sync {
    async fn record(&self, record: &DrillRecord) -> Result<Recorded, StoreError>;
}

/// compliance-report's read.
#[async_trait]
pub trait DrillHistory: Send + Sync {
    /// The newest SUCCESSFUL drill of the plan's resources of this type.
    async fn last_successful(&self, plan: &str, resource_type: &str) -> Result<Option<DrillRecord>, StoreError>;
}

pub struct DrillTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
    dry_run: bool,
}

impl DrillTable {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, dry_run: bool) -> DrillTable {
        DrillTable {
            client,
            table: table.into(),
            dry_run,
        }
    }

    fn error(&self, e: impl std::error::Error) -> StoreError {
        StoreError {
            table: self.table.clone(),
            message: DisplayErrorContext(e).to_string(),
        }
    }
}

#[async_trait]
impl DrillLog for DrillTable {
    async fn record(&self, record: &DrillRecord) -> Result<Recorded, StoreError> {
        if self.dry_run {
            tracing::info!(
                action = "would_record_drill",
                table = %self.table,
                record = %serde_json::to_string(record).unwrap_or_default(),
                "dry run: not writing the drill record"
            );
            return Ok(Recorded::Written);
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record.to_item()))
            // One record per restore job: a later delivery of the same job writes nothing.
            .condition_expression("attribute_not_exists(restore_job_id)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Recorded::Written),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(Recorded::AlreadyRecorded)
            }
            Err(e) => Err(self.error(e)),
        }
    }
}

#[async_trait]
impl DrillHistory for DrillTable {
    async fn last_successful(&self, plan: &str, resource_type: &str) -> Result<Option<DrillRecord>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(SUCCESSFUL_INDEX)
            .key_condition_expression("successful_plan_type = :key")
            .expression_attribute_values(":key", s(&index_key(plan, resource_type)))
            // Newest first ("Query": ScanIndexForward false reads the sort key descending).
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(|e| self.error(e))?;
        Ok(out.items().iter().find_map(DrillRecord::from_item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{mock, mock_client};

    fn record(result: DrillResult) -> DrillRecord {
        DrillRecord {
            restore_job_id: "r-1".into(),
            plan: Some("production".into()),
            resource_type: "DynamoDB".into(),
            source_resource_arn: Some("arn:aws:dynamodb:eu-west-1:111122223333:table/orders".into()),
            recovery_point_arn: Some("arn:aws:backup:eu-west-1:111122223333:recovery-point:p-1".into()),
            result,
            reason: "table t is ACTIVE".into(),
            rpo_hours: Some(20.5),
            rto_minutes: Some(15.0),
            rpo_target_hours: Some(24),
            rto_target_hours: None,
            drilled_at: "2026-11-21T05:15:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_record_survives_its_item_and_only_a_successful_one_of_a_plan_is_indexed() {
        let ok = record(DrillResult::Successful);
        let item = ok.to_item();
        assert_eq!(DrillRecord::from_item(&item), Some(ok.clone()));
        assert_eq!(item["successful_plan_type"], s("production#DynamoDB"));
        assert_eq!(item["drilled_at"], s("2026-11-21T05:15:00Z"));
        assert!(!item.contains_key("rto_target_hours"));
        let failed = record(DrillResult::Failed).to_item();
        assert!(!failed.contains_key("successful_plan_type"));
        let planless = DrillRecord { plan: None, ..ok }.to_item();
        assert!(!planless.contains_key("successful_plan_type"));
    }

    #[tokio::test]
    async fn a_second_record_of_the_same_restore_job_is_already_recorded_not_an_error() {
        let taken = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|r| r.condition_expression() == Some("attribute_not_exists(restore_job_id)"))
            .then_error(|| {
                PutItemError::ConditionalCheckFailedException(ConditionalCheckFailedException::builder().build())
            });
        let client = mock_client!(aws_sdk_dynamodb, [&taken]);
        let table = DrillTable::new(client, "drills", false);
        assert_eq!(
            table.record(&record(DrillResult::Successful)).await.unwrap(),
            Recorded::AlreadyRecorded
        );
        assert_eq!(taken.num_calls(), 1);
    }

    #[tokio::test]
    async fn dry_run_writes_nothing() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&put]);
        let table = DrillTable::new(client, "drills", true);
        table.record(&record(DrillResult::Failed)).await.unwrap();
        assert_eq!(put.num_calls(), 0);
    }

    #[tokio::test]
    async fn the_newest_successful_drill_is_one_descending_query_of_the_plan_and_type() {
        let item = record(DrillResult::Successful).to_item();
        let query = mock!(aws_sdk_dynamodb::Client::query)
            .match_requests(|r| {
                r.index_name() == Some(SUCCESSFUL_INDEX)
                    && r.scan_index_forward() == Some(false)
                    && r.limit() == Some(1)
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":key"))
                        .is_some_and(|v| v == &s("production#DynamoDB"))
            })
            .then_output(move || QueryOutput::builder().items(item.clone()).build());
        let client = mock_client!(aws_sdk_dynamodb, [&query]);
        let table = DrillTable::new(client, "drills", false);
        let found = table.last_successful("production", "DynamoDB").await.unwrap().unwrap();
        assert_eq!(found.restore_job_id, "r-1");
        assert_eq!(query.num_calls(), 1);
    }
}

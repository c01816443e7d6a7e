//! State that makes at-least-once delivery safe and alerts calm: a delivery ledger (which
//! events were already handled) and open incidents (which resources are currently failing).
//! The DynamoDB adapter is in [`crate::dynamo_store`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
#[error("state table {table}: {message}")]
pub struct StoreError {
    pub table: String,
    pub message: String,
}

/// The answer to "may I handle this event now?", after Powertools' idempotency states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody handled it yet (or a previous attempt died and its lease ran out): go ahead.
    Acquired,
    /// Already handled: a duplicate delivery, skip it.
    AlreadyDone,
    /// Another invocation is handling it right now: try again later.
    InProgress,
}

#[async_trait]
pub trait DeliveryLedger: Send + Sync {
    /// Claims `key` until `lease_until`; an expired lease of a crashed attempt can be taken over.
    async fn claim(&self, key: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<Claim, StoreError>;
    /// Marks `key` done; the record is kept until `expires_at` (DynamoDB TTL).
    async fn complete(&self, key: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Gives a claim back after a failure so the redelivery can handle the event.
    async fn release(&self, key: &str) -> Result<(), StoreError>;
}

/// A resource whose jobs are failing and that was alerted on.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub key: String,
    pub resource_arn: String,
    pub job_type: String,
    pub state: String,
    pub opened_at: DateTime<Utc>,
    pub last_alerted_at: DateTime<Utc>,
    pub failures: u32,
    pub last_job_id: String,
}

#[async_trait]
pub trait IncidentStore: Send + Sync {
    async fn open_incident(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Incident>, StoreError>;
    async fn save_incident(&self, incident: &Incident, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn close_incident(&self, key: &str) -> Result<(), StoreError>;
}

/// What became of a delivery handled through [`exactly_once`].
#[derive(Debug, PartialEq)]
pub enum Delivery<T> {
    /// Handled now; the ledger records it.
    Handled(T),
    /// An earlier delivery already handled it.
    Duplicate,
    /// Another invocation holds the claim: retry later.
    InProgress,
}

impl Delivery<serde_json::Value> {
    /// What the handler answers: its result, `{"status": "duplicate"}` for a delivery already
    /// handled (logged and counted), or `None` when another invocation holds the claim and the
    /// delivery must be retried later.
    pub fn into_answer(self, event_id: &str, metrics: &mut crate::metrics::Metrics) -> Option<serde_json::Value> {
        match self {
            Delivery::Handled(result) => Some(result),
            Delivery::Duplicate => {
                tracing::info!(
                    event_id,
                    decision = "duplicate",
                    "event already handled by an earlier delivery"
                );
                metrics.count("Duplicates", &[]);
                Some(serde_json::json!({"status": "duplicate"}))
            }
            Delivery::InProgress => None,
        }
    }
}

/// Runs `work` for `key` at most once across deliveries: claims the key in the ledger (when
/// there is one), records success, and gives the claim back on failure so a retry proceeds.
pub async fn exactly_once<T, E, Fut>(
    ledger: Option<&dyn DeliveryLedger>,
    key: &str,
    lease: chrono::Duration,
    retention: chrono::Duration,
    work: impl FnOnce() -> Fut,
) -> Result<Delivery<T>, E>
where
    Fut: std::future::Future<Output = Result<T, E>>,
    E: From<StoreError>,
{
    let Some(ledger) = ledger.filter(|_| !key.is_empty()) else {
        return work().await.map(Delivery::Handled);
    };
    let now = Utc::now();
    match ledger.claim(key, now, now + lease).await? {
        Claim::AlreadyDone => return Ok(Delivery::Duplicate),
        Claim::InProgress => return Ok(Delivery::InProgress),
        Claim::Acquired => {}
    }
    match work().await {
        Ok(value) => {
            if let Err(e) = ledger.complete(key, now + retention).await {
                tracing::warn!(key, error = %e, "handled but not recorded; a redelivery may act again");
            }
            Ok(Delivery::Handled(value))
        }
        Err(e) => {
            if let Err(release) = ledger.release(key).await {
                tracing::warn!(key, error = %release, "claim not released; the retry waits for the lease to run out");
            }
            Err(e)
        }
    }
}

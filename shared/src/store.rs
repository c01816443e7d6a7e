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

/// One failed job counted in an incident, at its event time.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedJob {
    pub job_id: String,
    pub at: DateTime<Utc>,
}

/// What is known about the jobs of one resource (and destination vault, for copies), by the
/// events' own times, not their arrival order: the newest success, and the failures newer than
/// it. The incident is open while there are such failures.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub key: String,
    pub resource_arn: String,
    pub job_type: String,
    /// The state of the newest failure (FAILED, ABORTED, EXPIRED, PARTIAL).
    pub state: String,
    /// Failures newer than `last_success_at`, oldest first.
    pub failed: Vec<FailedJob>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Event time of the failure last alerted on.
    pub last_alerted_at: Option<DateTime<Utc>>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        !self.failed.is_empty()
    }

    /// When the open incident began: its oldest failure.
    pub fn opened_at(&self) -> Option<DateTime<Utc>> {
        self.failed.first().map(|f| f.at)
    }

    pub fn failures(&self) -> usize {
        self.failed.len()
    }

    pub fn last_failure(&self) -> Option<&FailedJob> {
        self.failed.last()
    }
}

/// A stored item with the version a conditional write must find.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Stored; the item now has this version.
    Done { version: u64 },
    /// Not stored: someone else changed the item since it was read (or, written together with
    /// others, one of the others could not be written): read again and decide again.
    Conflict,
}

/// The most records [`IncidentStore::write_incidents`] takes at once (DynamoDB's
/// `TransactWriteItems` groups up to 100 actions).
pub const MAX_WRITES_AT_ONCE: usize = 100;

/// One record for [`IncidentStore::write_incidents`]: written if the stored item still has
/// version `expected` (`None`: if there is no live item), as [`IncidentStore::write_incident`].
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentWrite {
    pub incident: Incident,
    pub expected: Option<u64>,
}

#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// The record of `key`, unless absent or expired.
    async fn load_incident(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Versioned<Incident>>, StoreError>;
    /// The live records of several keys at once (absent keys are left out); by default one by one.
    async fn load_incidents(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, Versioned<Incident>>, StoreError> {
        let mut found = std::collections::HashMap::new();
        for key in keys {
            if let Some(record) = self.load_incident(key, now).await? {
                found.insert(key.clone(), record);
            }
        }
        Ok(found)
    }
    /// Writes `incident` if the stored item still has version `expected` (`None`: if there is no
    /// live item).
    async fn write_incident(
        &self,
        incident: &Incident,
        expected: Option<u64>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Written, StoreError>;
    /// Writes up to [`MAX_WRITES_AT_ONCE`] records (distinct keys) all or nothing, each on its own
    /// condition: one answer per record, in order, every one `Done`, or every one `Conflict` when
    /// any condition failed or the store refused the whole write (nothing was stored).
    async fn write_incidents(
        &self,
        writes: &[IncidentWrite],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<Written>, StoreError>;
    /// Deletes the record of `key` if it still has version `expected`.
    async fn delete_incident(&self, key: &str, expected: u64) -> Result<Written, StoreError>;
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

/// The one way every function keeps its delivery ledger: a claim per event key with a lease,
/// the key kept `retention` once handled, the claim given back when handling failed. Without a
/// ledger (stateless) or a key (an event without an id), every claim is granted and nothing is
/// recorded. Failures to record are logged: the work is done, a redelivery may repeat it.
#[derive(Clone, Copy)]
pub struct Deliveries<'a> {
    ledger: Option<&'a dyn DeliveryLedger>,
    retention: chrono::Duration,
}

impl<'a> Deliveries<'a> {
    pub fn new(ledger: Option<&'a dyn DeliveryLedger>, retention: chrono::Duration) -> Deliveries<'a> {
        Deliveries { ledger, retention }
    }

    fn of(&self, key: &str) -> Option<&'a dyn DeliveryLedger> {
        self.ledger.filter(|_| !key.is_empty())
    }

    pub async fn claim(&self, key: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<Claim, StoreError> {
        match self.of(key) {
            Some(ledger) => ledger.claim(key, now, lease_until).await,
            None => Ok(Claim::Acquired),
        }
    }

    pub async fn complete(&self, key: &str, now: DateTime<Utc>) {
        if let Some(ledger) = self.of(key)
            && let Err(e) = ledger.complete(key, now + self.retention).await
        {
            tracing::error!(key, error = %e, "handled but not recorded; a redelivery may act again");
        }
    }

    pub async fn release(&self, key: &str) {
        if let Some(ledger) = self.of(key)
            && let Err(e) = ledger.release(key).await
        {
            tracing::error!(key, error = %e, "claim not released; the retry waits for the lease to run out");
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
    let deliveries = Deliveries::new(ledger, retention);
    let now = Utc::now();
    match deliveries.claim(key, now, now + lease).await? {
        Claim::AlreadyDone => return Ok(Delivery::Duplicate),
        Claim::InProgress => return Ok(Delivery::InProgress),
        Claim::Acquired => {}
    }
    match work().await {
        Ok(value) => {
            deliveries.complete(key, now).await;
            Ok(Delivery::Handled(value))
        }
        Err(e) => {
            deliveries.release(key).await;
            Err(e)
        }
    }
}

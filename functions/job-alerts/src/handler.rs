//! The handler: decode a batch, drop duplicates, decide per job (pure), then carry the plan
//! out: publish single alerts or digests, update incidents, and report the records whose
//! messages could not be published so SQS redelivers them (and finally dead-letters them).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use rearguard::alert::{Alert, Severity};
use rearguard::backup_events::JobEvent;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::sns::PublishAlert;
use rearguard::store::{Claim, DeliveryLedger, Incident, IncidentStore, StoreError};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use tracing::{error, info, warn};

use crate::classify::{Verdict, classify};
use crate::config::Config;
use crate::digest::{self, DigestEntry, GroupKey};
use crate::incidents::{self, Step};
use crate::render;

/// What the handler needs; each capability maps onto one IAM permission in the template.
pub struct Deps<'a> {
    pub config: &'a Config,
    pub publisher: &'a dyn PublishAlert,
    pub forwarder: Option<&'a dyn ForwardAlert>,
    pub ledger: Option<&'a dyn DeliveryLedger>,
    pub incidents: Option<&'a dyn IncidentStore>,
}

/// One input record: an SQS message (id = messageId) or a directly invoked event.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub body: String,
}

/// The records of a batch, from either invocation shape.
pub enum Input {
    Sqs(Vec<Record>),
    Direct(Record),
}

impl Input {
    /// SQS batches carry `Records`; anything else is taken as one EventBridge event.
    pub fn from_payload(payload: Value) -> Input {
        if payload.get("Records").is_some() {
            match serde_json::from_value::<SqsEvent>(payload) {
                Ok(sqs) => Input::Sqs(
                    sqs.records
                        .into_iter()
                        .map(|m| Record {
                            id: m.message_id.unwrap_or_default(),
                            body: m.body.unwrap_or_default(),
                        })
                        .collect(),
                ),
                Err(e) => {
                    warn!(reason = %e, decision = "ignore", "payload has Records but is not an SQS batch");
                    Input::Sqs(Vec::new())
                }
            }
        } else {
            let id = payload
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("direct")
                .to_string();
            Input::Direct(Record {
                id,
                body: payload.to_string(),
            })
        }
    }
}

/// The result of one batch: the records to redeliver.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub failed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0} alert(s) could not be published; the event will be retried")]
pub struct DirectInvocationFailed(usize);

/// Lambda entry point over a decoded payload.
pub async fn handle(
    payload: Value,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    metrics: &mut Metrics,
) -> Result<Value, DirectInvocationFailed> {
    match Input::from_payload(payload) {
        Input::Sqs(records) => {
            let outcome = process(records, deps, now, lease_until, metrics).await;
            let mut response = SqsBatchResponse::default();
            for id in outcome.failed {
                response.add_failure(id);
            }
            Ok(serde_json::to_value(response).expect("batch response serializes"))
        }
        Input::Direct(record) => {
            let outcome = process(vec![record], deps, now, lease_until, metrics).await;
            if outcome.failed.is_empty() {
                Ok(json!({"status": "ok"}))
            } else {
                Err(DirectInvocationFailed(outcome.failed.len()))
            }
        }
    }
}

/// A message the plan wants sent, with what to do once it is out.
struct Outgoing {
    record_id: String,
    event_id: String,
    group: GroupKey,
    alert: Alert,
    entry: DigestEntry,
    after: Effect,
    kind: &'static str,
}

enum Effect {
    Nothing,
    SaveIncident(Incident),
    CloseIncident(String),
}

pub async fn process(
    records: Vec<Record>,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    metrics: &mut Metrics,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut seen = HashSet::new();
    let mut outgoing = Vec::new();
    let mut quiet = Vec::new();

    for record in records {
        let event = match JobEvent::decode_str(&record.body) {
            Ok(event) => event,
            Err(reason) => {
                warn!(record_id = %record.id, event_id = %event_id_of(&record.body), %reason, decision = "ignore", "event not handled");
                metrics.count("EventsIgnored", &[]);
                continue;
            }
        };
        if !event.event_id.is_empty() && !seen.insert(event.event_id.clone()) {
            info!(record_id = %record.id, event_id = %event.event_id, decision = "duplicate", "same event twice in one batch");
            metrics.count("Duplicates", &[]);
            continue;
        }
        metrics.count(
            "JobsSeen",
            &[("jobType", event.kind().as_str()), ("state", event.state().as_str())],
        );
        match claim(deps, &event, now, lease_until).await {
            Ok(Claim::Acquired) => {}
            Ok(Claim::AlreadyDone) => {
                info!(event_id = %event.event_id, decision = "duplicate", "event already handled by an earlier delivery");
                metrics.count("Duplicates", &[]);
                continue;
            }
            Ok(Claim::InProgress) => {
                info!(event_id = %event.event_id, decision = "retry", "event is being handled by another invocation");
                outcome.failed.push(record.id);
                continue;
            }
            Err(e) => {
                error!(event_id = %event.event_id, error = %e, decision = "retry", "could not claim event");
                outcome.failed.push(record.id);
                continue;
            }
        }
        match plan(&event, deps, now, metrics).await {
            Ok(Some(mut message)) => {
                message.record_id = record.id;
                outgoing.push(message);
            }
            Ok(None) => quiet.push(event.event_id.clone()),
            Err(e) => {
                error!(event_id = %event.event_id, error = %e, decision = "retry", "could not read incident state");
                release(deps, &event.event_id).await;
                outcome.failed.push(record.id);
            }
        }
    }

    for event_id in quiet {
        complete(deps, &event_id, now).await;
    }
    deliver(outgoing, deps, now, metrics, &mut outcome).await;
    outcome
}

/// Decides what to say about one job, consulting (and for suppressed repeats, updating) the
/// open incident of its resource.
async fn plan(
    event: &JobEvent,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
    metrics: &mut Metrics,
) -> Result<Option<Outgoing>, StoreError> {
    let verdict = classify(event);
    let key = incidents::incident_key(event);
    let open = match (deps.incidents, &key, verdict) {
        (Some(store), Some(key), Verdict::Failed { .. } | Verdict::Succeeded | Verdict::CompletedWithIssues) => {
            store.open_incident(key, now).await?
        }
        _ => None,
    };
    let label = event.state().as_str().to_string();
    let message = |alert: Alert, label: String, after: Effect, kind: &'static str| Outgoing {
        record_id: String::new(),
        event_id: event.event_id.clone(),
        group: GroupKey {
            account: event.account.clone(),
            region: event.region.clone(),
            kind: event.kind(),
            label,
        },
        entry: DigestEntry::from_event(event),
        alert,
        after,
        kind,
    };
    let log = |decision: &str| {
        info!(
            event_id = %event.event_id,
            job_type = event.kind().as_str(),
            job_id = event.job_id().unwrap_or(""),
            state = event.state().as_str(),
            resource = event.resource_arn().unwrap_or(""),
            decision,
            "job decision"
        );
    };

    Ok(match verdict {
        Verdict::Failed { severity, consequence } => {
            let step = match (&key, deps.incidents) {
                (Some(key), Some(_)) => incidents::on_failure(open, key, event, now, deps.config.realert_after),
                _ => Step::Nothing,
            };
            match step {
                Step::Suppress(incident) => {
                    log("suppress");
                    metrics.count("Suppressed", &[("jobType", event.kind().as_str())]);
                    if let Some(store) = deps.incidents {
                        store.save_incident(&incident, incident_expiry(now)).await?;
                    }
                    None
                }
                Step::Nothing if key.is_some() && deps.incidents.is_some() => {
                    log("already_alerted");
                    None
                }
                Step::Realert(incident) => {
                    log("realert");
                    let alert = render::failure(event, severity, consequence, Some(&incident));
                    Some(message(alert, label, Effect::SaveIncident(incident), "failure"))
                }
                Step::Open(incident) => {
                    log("alert");
                    Some(message(
                        render::failure(event, severity, consequence, None),
                        label,
                        Effect::SaveIncident(incident),
                        "failure",
                    ))
                }
                _ => {
                    log("alert");
                    Some(message(
                        render::failure(event, severity, consequence, None),
                        label,
                        Effect::Nothing,
                        "failure",
                    ))
                }
            }
        }
        Verdict::CompletedWithIssues => {
            log("warn_completed_with_issues");
            let after = match &open {
                Some(incident) => Effect::CloseIncident(incident.key.clone()),
                None => Effect::Nothing,
            };
            Some(message(
                render::completed_with_issues(event, open.as_ref()),
                "COMPLETED_WITH_ISSUES".into(),
                after,
                "warning",
            ))
        }
        Verdict::Succeeded => match incidents::on_success(open) {
            Step::Recover(incident) => {
                log("recovered");
                let alert = render::recovered(event, &incident, now);
                Some(message(
                    alert,
                    "RECOVERED".into(),
                    Effect::CloseIncident(incident.key),
                    "recovery",
                ))
            }
            _ => {
                log("quiet");
                None
            }
        },
        Verdict::Restored if deps.config.notify_restores => {
            log("notify_restore");
            Some(message(
                render::restore_completed(event),
                "RESTORED".into(),
                Effect::Nothing,
                "restore",
            ))
        }
        Verdict::Restored | Verdict::InProgress => {
            log("quiet");
            None
        }
        Verdict::UnknownState => {
            warn!(event_id = %event.event_id, state = event.state().as_str(), decision = "ignore", "unknown job state");
            metrics.count("EventsIgnored", &[]);
            None
        }
    })
}

/// Publishes every planned message: groups above the threshold as digests, others one by one.
async fn deliver(
    outgoing: Vec<Outgoing>,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
    metrics: &mut Metrics,
    outcome: &mut Outcome,
) {
    let mut groups: BTreeMap<GroupKey, Vec<Outgoing>> = BTreeMap::new();
    for message in outgoing {
        groups.entry(message.group.clone()).or_default().push(message);
    }
    for (key, messages) in groups {
        if messages.len() > deps.config.digest_threshold {
            deliver_digest(key, messages, deps, now, metrics, outcome).await;
        } else {
            for message in messages {
                let alert = message.alert.clone();
                send(&alert, vec![message], deps, now, metrics, outcome).await;
            }
        }
    }
}

async fn deliver_digest(
    key: GroupKey,
    messages: Vec<Outgoing>,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
    metrics: &mut Metrics,
    outcome: &mut Outcome,
) {
    let total = messages.len();
    let severity = messages
        .iter()
        .map(|m| m.alert.severity)
        .min()
        .unwrap_or(Severity::Info);
    let parts = digest::split(messages.iter().map(|m| m.entry.clone()).collect());
    let count = parts.len();
    let mut remaining = messages.into_iter();
    for (index, part) in parts.iter().enumerate() {
        let alert = digest::render(&key, severity, total, part, index + 1, count);
        let members: Vec<Outgoing> = remaining.by_ref().take(part.len()).collect();
        info!(job_type = key.kind.as_str(), label = %key.label, jobs = members.len(), part = index + 1, parts = count, decision = "digest", "alert storm digested");
        metrics.count("Digests", &[]);
        send(&alert, members, deps, now, metrics, outcome).await;
    }
}

/// Publishes one message for `members`, then carries out their effects; on failure, every
/// member's record is reported failed and its claim released so the redelivery retries it.
async fn send(
    alert: &Alert,
    members: Vec<Outgoing>,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
    metrics: &mut Metrics,
    outcome: &mut Outcome,
) {
    match deps.publisher.publish(alert).await {
        Ok(message_id) => {
            info!(%message_id, severity = %alert.severity, subject = %alert.subject, jobs = members.len(), "alert published");
            metrics.count("AlertsPublished", &[("severity", alert.severity.as_str())]);
            if let Some(forwarder) = deps.forwarder
                && let Err(e) = forwarder.forward(alert).await
            {
                // The alert reached SNS; retrying the record would publish it twice.
                error!(error = %e, subject = %alert.subject, "alert published but not forwarded to the event bus");
                metrics.count("ForwardFailures", &[]);
            }
            for member in members {
                metrics.count(kind_metric(member.kind), &[]);
                apply(member.after, deps, now).await;
                complete(deps, &member.event_id, now).await;
            }
        }
        Err(e) => {
            error!(error = %e, subject = %alert.subject, jobs = members.len(), decision = "retry", "alert not published");
            metrics.count("PublishFailures", &[]);
            for member in members {
                release(deps, &member.event_id).await;
                outcome.failed.push(member.record_id);
            }
        }
    }
}

fn kind_metric(kind: &str) -> &'static str {
    match kind {
        "failure" => "JobsAlerted",
        "warning" => "JobsWarned",
        "recovery" => "Recoveries",
        _ => "RestoreNotices",
    }
}

async fn apply(effect: Effect, deps: &Deps<'_>, now: DateTime<Utc>) {
    let Some(store) = deps.incidents else { return };
    let result = match &effect {
        Effect::Nothing => Ok(()),
        Effect::SaveIncident(incident) => store.save_incident(incident, incident_expiry(now)).await,
        Effect::CloseIncident(key) => store.close_incident(key).await,
    };
    if let Err(e) = result {
        // The message is out; a stale incident only changes whether the next job re-alerts.
        error!(error = %e, "incident state not updated");
    }
}

/// Incidents nobody touches for 30 days expire (the resource was likely removed from backup).
fn incident_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::days(30)
}

async fn claim(
    deps: &Deps<'_>,
    event: &JobEvent,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Claim, StoreError> {
    match deps.ledger {
        Some(ledger) if !event.event_id.is_empty() => ledger.claim(&event.event_id, now, lease_until).await,
        _ => Ok(Claim::Acquired),
    }
}

async fn complete(deps: &Deps<'_>, event_id: &str, now: DateTime<Utc>) {
    let Some(ledger) = deps.ledger else { return };
    if event_id.is_empty() {
        return;
    }
    let retention = chrono::Duration::from_std(deps.config.dedupe_retention).unwrap_or(chrono::Duration::days(7));
    if let Err(e) = ledger.complete(event_id, now + retention).await {
        error!(event_id, error = %e, "event handled but not recorded; a redelivery may alert again");
    }
}

async fn release(deps: &Deps<'_>, event_id: &str) {
    let Some(ledger) = deps.ledger else { return };
    if let Err(e) = ledger.release(event_id).await {
        error!(event_id, error = %e, "claim not released; the redelivery waits for the lease to run out");
    }
}

/// The EventBridge id of a body that failed to decode, for the log line, if it has one.
fn event_id_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

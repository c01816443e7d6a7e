//! The handler: decode a batch, drop duplicates, group the jobs by incident (resource, and
//! destination for copies) and decide each group in event-time order against its stored record
//! (pure, in `incidents`), store the batch's changed records in one conditional transaction (a
//! group whose record changed meanwhile is read and decided again on its own), then publish
//! single alerts or digests. Records whose messages could not be published go back to SQS (and
//! finally to the dead-letter queue), with their incident record put back as it was.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use rearguard::alert::{Alert, Severity};
use rearguard::backup_events::JobEvent;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::scan_events::ScanEvent;
use rearguard::sns::PublishAlert;
use rearguard::store::{
    Claim, Deliveries, DeliveryLedger, Incident, IncidentStore, IncidentWrite, MAX_WRITES_AT_ONCE, StoreError,
    Versioned, Written,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use tracing::{error, info, warn};

use crate::classify::{self, Verdict, classify};
use crate::composite::{ChildJob, JobLookup, Role, role_of, worth_a_lookup};
use crate::config::Config;
use crate::digest::{self, DigestEntry, GroupKey};
use crate::incidents::{self, Observation, Outcome as JobOutcome, Step};
use crate::render;
use crate::restore_tests::{self, RestoreTestLookup};
use crate::scans;

/// What the handler needs; each capability maps onto one IAM permission in the template.
pub struct Deps<'a> {
    pub config: &'a Config,
    pub publisher: &'a dyn PublishAlert,
    pub forwarder: Option<&'a dyn ForwardAlert>,
    pub ledger: Option<&'a dyn DeliveryLedger>,
    pub incidents: Option<&'a dyn IncidentStore>,
    /// The job APIs, to fold composite jobs' children into their parent.
    pub jobs: Option<&'a dyn JobLookup>,
    /// DescribeRestoreJob, to leave failed restore tests to restore-drill.
    pub restore_tests: Option<&'a dyn RestoreTestLookup>,
}

/// The times an invocation works with.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// When the invocation started (ledger and record expiry).
    pub now: DateTime<Utc>,
    /// How long a claim holds: a little past the invocation's deadline.
    pub lease_until: DateTime<Utc>,
    /// No record is claimed after this (wall clock); the rest go back to the queue.
    pub stop_claiming_at: DateTime<Utc>,
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

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{0} alert(s) could not be published; the event will be retried")]
    DirectInvocationFailed(usize),
    /// Acknowledging a batch we could not read would drop its messages: fail the invocation so
    /// the whole batch is retried (and finally dead-lettered).
    #[error("payload has Records but is not an SQS batch: {0}")]
    NotAnSqsBatch(String),
}

/// What tells the two invocation shapes apart, read from the payload's text without building a
/// tree of the whole event (most invocations are one event, decoded once, by `JobEvent`).
#[derive(Default, Deserialize)]
struct Shape {
    /// Whether the payload has `Records`, whatever its value.
    #[serde(rename = "Records", default, deserialize_with = "present")]
    records: bool,
    #[serde(default)]
    id: Option<Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

impl Input {
    /// SQS batches carry `Records`; anything else is taken as one EventBridge event, its text
    /// kept as it came.
    pub fn from_payload(payload: &RawValue) -> Result<Input, HandlerError> {
        let text = payload.get();
        // Only an object can be a batch (a struct would also read an array, field by field).
        let shape = if text.starts_with('{') {
            serde_json::from_str::<Shape>(text).unwrap_or_default()
        } else {
            Shape::default()
        };
        if shape.records {
            let sqs = serde_json::from_str::<SqsEvent>(text).map_err(|e| HandlerError::NotAnSqsBatch(e.to_string()))?;
            Ok(Input::Sqs(
                sqs.records
                    .into_iter()
                    .map(|m| Record {
                        id: m.message_id.unwrap_or_default(),
                        body: m.body.unwrap_or_default(),
                    })
                    .collect(),
            ))
        } else {
            let id = shape
                .id
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or("direct")
                .to_string();
            Ok(Input::Direct(Record {
                id,
                body: text.to_string(),
            }))
        }
    }
}

/// The result of one batch: the records to redeliver.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub failed: Vec<String>,
}

/// Lambda entry point over the payload as it came.
pub async fn handle(
    payload: &RawValue,
    deps: &Deps<'_>,
    clock: Clock,
    metrics: &mut Metrics,
) -> Result<Value, HandlerError> {
    match Input::from_payload(payload) {
        Ok(Input::Sqs(records)) => {
            let outcome = process(records, deps, clock, metrics).await;
            let mut response = SqsBatchResponse::default();
            for id in outcome.failed {
                response.add_failure(id);
            }
            Ok(serde_json::to_value(response).expect("batch response serializes"))
        }
        Ok(Input::Direct(record)) => {
            let outcome = process(vec![record], deps, clock, metrics).await;
            if outcome.failed.is_empty() {
                Ok(json!({"status": "ok"}))
            } else {
                Err(HandlerError::DirectInvocationFailed(outcome.failed.len()))
            }
        }
        Err(e) => {
            error!(error = %e, decision = "retry", "invocation fails so the whole batch is retried");
            metrics.count("BatchesRejected", &[]);
            Err(e)
        }
    }
}

/// Counters shared by the work on a batch; locked only between awaits.
type Tally<'m> = Mutex<&'m mut Metrics>;

fn count(tally: &Tally<'_>, name: &str, dimensions: &[(&str, &str)]) {
    tally.lock().expect("metrics lock").count(name, dimensions);
}

/// One decoded job of the batch.
struct Job {
    record_id: String,
    event: JobEvent,
    at: DateTime<Utc>,
    verdict: Verdict,
    /// A composite job's children that did not complete (named in its alert).
    failed_children: Vec<ChildJob>,
}

/// The jobs of one incident key (or a job without one), decided together in event-time order.
struct Group {
    key: Option<String>,
    jobs: Vec<Job>,
}

/// A message the plan wants sent.
struct Outgoing {
    group: usize,
    record_id: String,
    key: GroupKey,
    alert: Alert,
    kind: &'static str,
    /// Its job's event, for a digest's entry: built only when the batch has a storm to digest.
    event: JobEvent,
}

/// What to do with a group once its messages are out (or not).
#[derive(Default)]
struct Decided {
    key: Option<String>,
    /// Decided events (record id, ledger key: the event id, or empty when not claimed) to
    /// complete when the group's messages are out, or to redeliver when they are not.
    handled: Vec<(String, String)>,
    /// Records to redeliver whatever happens.
    retry: Vec<String>,
    /// The incident record before this batch's write, and the version written.
    written: Option<(Option<Versioned<Incident>>, u64)>,
}

pub async fn process(records: Vec<Record>, deps: &Deps<'_>, clock: Clock, metrics: &mut Metrics) -> Outcome {
    let tally = Mutex::new(metrics);
    // Malware scans are not jobs of a resource's incident: they take their own, short path.
    let (scan_records, records): (Vec<Record>, Vec<Record>) =
        records.into_iter().partition(|r| ScanEvent::looks_like(&r.body));
    let scans_to_retry = handle_scans(scan_records, deps, clock, &tally).await;
    let groups = decode_and_group(records, &tally, clock.now);
    // Groups are independent (one incident key each), so their claims and lookups run side by
    // side, a bounded number at a time; results keep the batch's order.
    let limit = deps.config.concurrency;
    let prepared: Vec<Prepared> = stream::iter(groups.into_iter().enumerate())
        .map(|(index, group)| prepare_group(index, group, deps, clock, &tally))
        .buffered(limit)
        .collect()
        .await;
    let decisions = store_decisions(&prepared, deps, clock, &tally).await;
    let results: Vec<(Vec<Outgoing>, Decided)> = stream::iter(prepared.into_iter().zip(decisions))
        .map(|(group, decision)| finish_group(group, decision, deps, clock, &tally))
        .buffered(limit)
        .collect()
        .await;
    let mut outgoing = Vec::new();
    let mut decided = Vec::with_capacity(results.len());
    for (messages, done) in results {
        outgoing.extend(messages);
        decided.push(done);
    }
    let undelivered = deliver(outgoing, deps, &tally).await;
    let mut outcome = settle(decided, &undelivered, deps, clock).await;
    outcome.failed.extend(scans_to_retry);
    outcome
}

/// Scan results: infected or unproven points alert (once per event, through the ledger), with
/// the point's age and the resource's last clean point when the job APIs can tell; returns the
/// records to redeliver.
async fn handle_scans(records: Vec<Record>, deps: &Deps<'_>, clock: Clock, tally: &Tally<'_>) -> Vec<String> {
    let mut retry = Vec::new();
    for record in records {
        let event = match ScanEvent::decode_str(&record.body) {
            Ok(event) => event,
            Err(reason) => {
                warn!(record_id = %record.id, event_id = %event_id_of(&record.body), %reason, decision = "ignore", "event not handled");
                count(tally, "EventsIgnored", &[]);
                continue;
            }
        };
        count(tally, "ScansSeen", &[("state", event.state())]);
        let log = |decision: &str| {
            info!(event_id = %event.event_id, scan_job_id = event.detail.scan_job_id.as_deref().unwrap_or(""),
                state = event.state(), result = event.result().unwrap_or(""),
                recovery_point = event.detail.recovery_point_arn.as_deref().unwrap_or(""), decision, "scan decision");
        };
        if scans::alerts(&event).is_none() {
            log("quiet");
            continue;
        }
        let ledger = deliveries(deps);
        let degraded = match ledger.claim(&event.event_id, clock.now, clock.lease_until).await {
            Ok(Claim::Acquired) => false,
            Ok(Claim::AlreadyDone) => {
                log("duplicate");
                count(tally, "Duplicates", &[]);
                continue;
            }
            Ok(Claim::InProgress) => {
                log("retry");
                retry.push(record.id);
                continue;
            }
            Err(e) => {
                error!(event_id = %event.event_id, error = %e, decision = "fail_open", "state table unavailable: handled without dedupe");
                count(tally, "StoreUnavailable", &[]);
                true
            }
        };
        let context = scan_context(&event, deps, tally).await;
        let Some(mut alert) = scans::render(&event, &context) else {
            continue;
        };
        if degraded {
            alert.attributes.insert("dedupe".into(), "unavailable".into());
        }
        log("alert");
        let kind = if alert.severity == Severity::Critical {
            "malware"
        } else {
            "scan_unproven"
        };
        if send(&alert, &[kind], deps, tally).await {
            ledger.complete(&event.event_id, clock.now).await;
        } else {
            ledger.release(&event.event_id).await;
            retry.push(record.id);
        }
    }
    retry
}

/// When the scanned backup was taken and the resource's last clean point, from the job APIs
/// (this account's scans only); what cannot be read is left out of the message.
async fn scan_context(event: &ScanEvent, deps: &Deps<'_>, tally: &Tally<'_>) -> scans::Context {
    let mut context = scans::Context::default();
    let Some(lookup) = deps.jobs.filter(|_| event.account == deps.config.home_account) else {
        return context;
    };
    if let (Some(vault), Some(point)) = (
        event.detail.backup_vault_name.as_deref(),
        event.detail.recovery_point_arn.as_deref(),
    ) {
        match lookup.point_created_at(&event.region, vault, point).await {
            Ok(at) => context.taken_at = at,
            Err(e) => {
                warn!(event_id = %event.event_id, error = %e, "recovery point not described");
                count(tally, "JobLookupFailures", &[]);
            }
        }
    }
    if let Some(resource) = event.detail.resource_arn.as_deref() {
        match lookup.last_clean_point(&event.region, resource).await {
            Ok(clean) => context.last_clean = clean,
            Err(e) => {
                warn!(event_id = %event.event_id, error = %e, "scan jobs not listed");
                count(tally, "JobLookupFailures", &[]);
            }
        }
    }
    context
}

/// Decodes every record (logging and dropping what is not a job event or repeats an event id
/// of the batch) and groups the jobs by incident key, each group in event-time order.
fn decode_and_group(records: Vec<Record>, tally: &Tally<'_>, now: DateTime<Utc>) -> Vec<Group> {
    let mut seen = HashSet::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for record in records {
        let event = match JobEvent::decode_str(&record.body) {
            Ok(event) => event,
            Err(reason) => {
                warn!(record_id = %record.id, event_id = %event_id_of(&record.body), %reason, decision = "ignore", "event not handled");
                count(tally, "EventsIgnored", &[]);
                continue;
            }
        };
        if !event.event_id.is_empty() && !seen.insert(event.event_id.clone()) {
            info!(record_id = %record.id, event_id = %event.event_id, decision = "duplicate", "same event twice in one batch");
            count(tally, "Duplicates", &[]);
            continue;
        }
        count(
            tally,
            "JobsSeen",
            &[("jobType", event.kind().as_str()), ("state", event.state().as_str())],
        );
        let key = incidents::incident_key(&event);
        let job = Job {
            record_id: record.id,
            at: incidents::event_time(&event, now),
            verdict: classify(&event),
            event,
            failed_children: Vec::new(),
        };
        match key {
            Some(key) => match by_key.get(&key) {
                Some(&index) => groups[index].jobs.push(job),
                None => {
                    by_key.insert(key.clone(), groups.len());
                    groups.push(Group {
                        key: Some(key),
                        jobs: vec![job],
                    });
                }
            },
            None => groups.push(Group {
                key: None,
                jobs: vec![job],
            }),
        }
    }
    for group in &mut groups {
        group.jobs.sort_by_key(|job| job.at);
    }
    groups
}

/// How a claim went for one job.
enum Claimed {
    Yes,
    /// Not claimed: the job's incident record (which keeps its job id) makes a redelivery a
    /// repeat, so the ledger is consulted only if the job has a message the record does not
    /// change (a late failure).
    Deferred,
    /// The ledger could not be reached: handled anyway, without cross-delivery dedupe.
    Unavailable,
}

/// A group whose events are claimed (or left to its incident record) and placed in their
/// composite jobs, ready to be decided.
struct Prepared {
    index: usize,
    key: Option<String>,
    jobs: Vec<(Job, Claimed)>,
    /// The ledger could not be reached for one of its jobs.
    degraded: bool,
    done: Decided,
}

impl Prepared {
    /// Decided against an incident record: a key, a store, jobs, and no ledger failure.
    fn tracked_key(&self, deps: &Deps<'_>) -> Option<&str> {
        self.key
            .as_deref()
            .filter(|_| deps.incidents.is_some() && !self.degraded && !self.jobs.is_empty())
    }
}

/// Claims the group's events (unless their incident record dedupes them) and looks composite
/// jobs up; a group reached too close to the deadline is left for the redelivery.
async fn prepare_group(index: usize, group: Group, deps: &Deps<'_>, clock: Clock, tally: &Tally<'_>) -> Prepared {
    let mut prepared = Prepared {
        index,
        key: group.key.clone(),
        jobs: Vec::with_capacity(group.jobs.len()),
        degraded: false,
        done: Decided {
            key: group.key,
            ..Decided::default()
        },
    };
    let done = &mut prepared.done;
    if Utc::now() >= clock.stop_claiming_at {
        for job in group.jobs {
            info!(event_id = %job.event.event_id, decision = "retry", "too little time left in this invocation; left for the redelivery");
            count(tally, "DeferredAtDeadline", &[]);
            done.retry.push(job.record_id);
        }
        return prepared;
    }

    let tracked_by_record = deps.incidents.is_some() && prepared.key.is_some();
    for mut job in group.jobs {
        if is_restore_test(&job, deps, tally).await || !place_in_composite(&mut job, deps, tally).await {
            continue;
        }
        if tracked_by_record {
            prepared.jobs.push((job, Claimed::Deferred));
            continue;
        }
        match claim(deps, &job.event, clock).await {
            Ok(Claim::Acquired) => prepared.jobs.push((job, Claimed::Yes)),
            Ok(Claim::AlreadyDone) => {
                info!(event_id = %job.event.event_id, decision = "duplicate", "event already handled by an earlier delivery");
                count(tally, "Duplicates", &[]);
            }
            Ok(Claim::InProgress) => {
                info!(event_id = %job.event.event_id, decision = "retry", "event is being handled by another invocation");
                prepared.done.retry.push(job.record_id);
            }
            Err(e) => {
                error!(event_id = %job.event.event_id, error = %e, decision = "fail_open", "state table unavailable: handled without dedupe");
                count(tally, "StoreUnavailable", &[]);
                prepared.degraded = true;
                prepared.jobs.push((job, Claimed::Unavailable));
            }
        }
    }
    prepared
}

/// A group's incident steps, one per job (`None` for jobs that do not touch the incident), each
/// with the record as it stood after that job, and what was stored: the record before and the
/// version written.
struct Stored {
    steps: Vec<Option<(Step, Incident)>>,
    written: Option<(Option<Versioned<Incident>>, u64)>,
}

/// How a tracked group's record went: stored, or `Ok(None)` when it kept changing under us.
type Decision = Result<Option<Stored>, StoreError>;

/// A changed record waiting for the batch's transaction.
struct PendingWrite {
    position: usize,
    loaded: Option<Versioned<Incident>>,
    steps: Vec<Option<(Step, Incident)>>,
    record: Incident,
}

/// Decides every tracked group against its incident record: the records read in one call
/// (`BatchGetItem`), the changed ones written in one transaction per [`MAX_WRITES_AT_ONCE`],
/// each conditional on the version read. A group whose write did not go through (its record
/// or another of the transaction changed since it was read, or the call failed) is read,
/// decided and written again on its own, as if it had been alone. `None`: not tracked.
async fn store_decisions(
    groups: &[Prepared],
    deps: &Deps<'_>,
    clock: Clock,
    tally: &Tally<'_>,
) -> Vec<Option<Decision>> {
    let mut decisions: Vec<Option<Decision>> = groups.iter().map(|_| None).collect();
    let Some(store) = deps.incidents else {
        return decisions;
    };
    let tracked: Vec<usize> = (0..groups.len())
        .filter(|&i| groups[i].tracked_key(deps).is_some())
        .collect();
    if tracked.is_empty() {
        return decisions;
    }
    let keys: Vec<String> = tracked
        .iter()
        .filter_map(|&i| groups[i].tracked_key(deps).map(str::to_string))
        .collect();
    let mut on_their_own = Vec::new();
    match store.load_incidents(&keys, clock.now).await {
        Ok(mut found) => {
            let mut pending = Vec::new();
            for &position in &tracked {
                let group = &groups[position];
                let key = group.tracked_key(deps).unwrap_or_default();
                let loaded = found.remove(key);
                let (steps, changed) = decide_jobs(loaded.as_ref().map(|l| l.value.clone()), &group.jobs, key, deps);
                match changed {
                    Some(record) => pending.push(PendingWrite {
                        position,
                        loaded,
                        steps,
                        record,
                    }),
                    None => decisions[position] = Some(Ok(Some(Stored { steps, written: None }))),
                }
            }
            for chunk in pending.chunks_mut(MAX_WRITES_AT_ONCE) {
                let writes: Vec<IncidentWrite> = chunk
                    .iter()
                    .map(|p| IncidentWrite {
                        incident: p.record.clone(),
                        expected: p.loaded.as_ref().map(|l| l.version),
                    })
                    .collect();
                let answers = match store
                    .write_incidents(&writes, clock.now, incident_expiry(clock.now))
                    .await
                {
                    Ok(answers) => {
                        if answers.contains(&Written::Conflict) {
                            info!(
                                records = writes.len(),
                                "incident records changed since they were read, nothing written; deciding each again"
                            );
                            count(tally, "WriteConflicts", &[]);
                        }
                        answers
                    }
                    Err(e) => {
                        warn!(error = %e, records = writes.len(), "incident records not written together; each resource writes its own");
                        vec![Written::Conflict; writes.len()]
                    }
                };
                for (pending, answer) in chunk.iter_mut().zip(answers) {
                    match answer {
                        Written::Done { version } => {
                            decisions[pending.position] = Some(Ok(Some(Stored {
                                steps: std::mem::take(&mut pending.steps),
                                written: Some((pending.loaded.take(), version)),
                            })))
                        }
                        Written::Conflict => on_their_own.push(pending.position),
                    }
                }
            }
        }
        Err(e) => {
            warn!(error = %e, "incident records not read in one batch; each resource reads its own");
            on_their_own = tracked;
        }
    }
    let redone: Vec<(usize, Decision)> = stream::iter(on_their_own)
        .map(|position| async move {
            let group = &groups[position];
            let key = group.tracked_key(deps).unwrap_or_default();
            (
                position,
                decide_with_record(store, key, &group.jobs, deps, clock, tally).await,
            )
        })
        .buffered(deps.config.concurrency)
        .collect()
        .await;
    for (position, decision) in redone {
        decisions[position] = Some(decision);
    }
    decisions
}

/// Renders the messages of a group from its incident steps (`None`: not tracked by a record).
async fn finish_group(
    group: Prepared,
    decision: Option<Decision>,
    deps: &Deps<'_>,
    clock: Clock,
    tally: &Tally<'_>,
) -> (Vec<Outgoing>, Decided) {
    let Prepared {
        index,
        key,
        jobs,
        mut degraded,
        mut done,
    } = group;
    if jobs.is_empty() {
        return (Vec::new(), done);
    }

    let steps = match decision {
        Some(Ok(Some(stored))) => {
            done.written = stored.written;
            Some(stored.steps)
        }
        Some(Ok(None)) => {
            // Lost the race for the record five times over: let the redelivery decide.
            for (job, claimed) in jobs {
                if matches!(claimed, Claimed::Yes) {
                    release(deps, &job.event.event_id).await;
                }
                done.retry.push(job.record_id);
            }
            return (Vec::new(), done);
        }
        Some(Err(e)) => {
            error!(key = key.as_deref().unwrap_or(""), error = %e, decision = "fail_open", "state table unavailable: deciding without incident state");
            count(tally, "StoreUnavailable", &[]);
            degraded = true;
            None
        }
        None => None,
    };

    let mut messages = Vec::new();
    for (position, (job, mut claimed)) in jobs.into_iter().enumerate() {
        let step = steps
            .as_ref()
            .and_then(|s: &Vec<Option<(Step, Incident)>>| s[position].clone());
        let tracked = steps.is_some();
        let planned = plan(&job, step, tracked, deps, tally);
        // A message the record does not change (a late failure) is claimed in the ledger now.
        if let (Planned::Message(_, _, "late"), Claimed::Deferred) = (&planned, &claimed) {
            match claim(deps, &job.event, clock).await {
                Ok(Claim::Acquired) => claimed = Claimed::Yes,
                Ok(Claim::AlreadyDone) => {
                    info!(event_id = %job.event.event_id, decision = "duplicate", "event already handled by an earlier delivery");
                    count(tally, "Duplicates", &[]);
                    continue;
                }
                Ok(Claim::InProgress) => {
                    done.retry.push(job.record_id);
                    continue;
                }
                Err(e) => {
                    error!(event_id = %job.event.event_id, error = %e, decision = "fail_open", "state table unavailable: handled without dedupe");
                    count(tally, "StoreUnavailable", &[]);
                    degraded = true;
                    claimed = Claimed::Unavailable;
                }
            }
        }
        // Every job decided here is settled with its group: a claim to complete or give back,
        // or (no claim: an empty key, which the ledger ignores) just its record to redeliver
        // if its message does not go out.
        let ledger_key = match claimed {
            Claimed::Yes => job.event.event_id.clone(),
            Claimed::Deferred | Claimed::Unavailable => String::new(),
        };
        match planned {
            Planned::Message(alert, label, kind) => {
                let mut alert = alert;
                if !job.failed_children.is_empty() {
                    render::name_failed_children(&mut alert, &job.failed_children);
                }
                if degraded {
                    // Subscribers can tell a message that may repeat from one that cannot.
                    alert.attributes.insert("dedupe".into(), "unavailable".into());
                }
                messages.push(Outgoing {
                    group: index,
                    record_id: job.record_id.clone(),
                    key: GroupKey {
                        account: job.event.account.clone(),
                        region: job.event.region.clone(),
                        kind: job.event.kind(),
                        label,
                        dedupe_unavailable: degraded,
                    },
                    alert,
                    kind,
                    event: job.event,
                });
            }
            Planned::Quiet => {}
            Planned::RetryLater => {
                // A success that could not be recorded: the redelivery records it.
                done.retry.push(job.record_id.clone());
                if matches!(claimed, Claimed::Yes) {
                    release(deps, &job.event.event_id).await;
                }
                continue;
            }
        }
        done.handled.push((job.record_id, ledger_key));
    }
    (messages, done)
}

/// A restore that ended badly and that a restore testing plan started: restore-drill alerts it
/// (ERROR, with the drill's figures), so it is left alone here. A lookup that fails alerts.
async fn is_restore_test(job: &Job, deps: &Deps<'_>, tally: &Tally<'_>) -> bool {
    let Some(lookup) = deps.restore_tests else { return false };
    if !restore_tests::worth_a_lookup(&job.event, &deps.config.home_account) {
        return false;
    }
    let job_id = job.event.job_id().unwrap_or_default();
    match lookup.testing_plan_of(&job.event.region, job_id).await {
        Ok(Some(plan)) => {
            info!(event_id = %job.event.event_id, job_id, testing_plan = %plan, decision = "restore_test",
                "a restore test: restore-drill reports it");
            count(tally, "RestoreTestsLeftToDrill", &[]);
            true
        }
        Ok(None) => false,
        Err(e) => {
            warn!(event_id = %job.event.event_id, job_id, error = %e, decision = "alert",
                "restore job not looked up; alerting it in case it is not a restore test");
            count(tally, "JobLookupFailures", &[]);
            false
        }
    }
}

/// Looks a failed or partial job up in the job APIs: a composite job's child is left to its
/// parent's alert (`false`: nothing more to do for it); a parent learns its failed children.
/// A lookup that fails leaves the job standalone: the alert goes out either way.
async fn place_in_composite(job: &mut Job, deps: &Deps<'_>, tally: &Tally<'_>) -> bool {
    let Some(lookup) = deps.jobs else { return true };
    if !worth_a_lookup(&job.event, &job.verdict, &deps.config.home_account) {
        return true;
    }
    match role_of(lookup, &job.event).await {
        Ok(Role::Child { parent_job_id }) => {
            info!(event_id = %job.event.event_id, job_id = job.event.job_id().unwrap_or(""), %parent_job_id,
                decision = "child_of_composite", "nested job: its composite parent's alert names it");
            count(tally, "ChildJobsFolded", &[]);
            false
        }
        Ok(Role::Parent { failed_children }) => {
            if !failed_children.is_empty()
                && let Verdict::Failed { severity, .. } = job.verdict
            {
                // A nested resource without its backup is as serious as a failed backup of it.
                let child = classify::failed_child(job.event.kind());
                job.verdict = Verdict::Failed {
                    severity: severity.min(child.0),
                    consequence: child.1,
                };
            }
            job.failed_children = failed_children;
            true
        }
        Ok(Role::Standalone) => true,
        Err(e) => {
            warn!(event_id = %job.event.event_id, error = %e, decision = "alert_standalone",
                "job not looked up; alerting it on its own");
            count(tally, "JobLookupFailures", &[]);
            true
        }
    }
}

/// The incident steps of a group's jobs and the record they lead to, if it changed (pure).
fn decide_jobs(
    mut record: Option<Incident>,
    jobs: &[(Job, Claimed)],
    key: &str,
    deps: &Deps<'_>,
) -> (Vec<Option<(Step, Incident)>>, Option<Incident>) {
    let mut changed = false;
    let mut steps = Vec::with_capacity(jobs.len());
    for (job, _) in jobs {
        let Some(observation) = observation(job, key) else {
            steps.push(None);
            continue;
        };
        let decision = incidents::observe(record.take(), &observation, deps.config.realert_after);
        changed |= decision.changed;
        steps.push(Some((decision.step, decision.record.clone())));
        record = Some(decision.record);
    }
    (steps, record.filter(|_| changed))
}

/// One group on its own: reads its record, decides, and writes it back on the version read,
/// reading and deciding again after a lost race (five times at most).
async fn decide_with_record(
    store: &dyn IncidentStore,
    key: &str,
    jobs: &[(Job, Claimed)],
    deps: &Deps<'_>,
    clock: Clock,
    tally: &Tally<'_>,
) -> Decision {
    for _attempt in 0..5 {
        let loaded = store.load_incident(key, clock.now).await?;
        let (steps, changed) = decide_jobs(loaded.as_ref().map(|l| l.value.clone()), jobs, key, deps);
        let Some(record) = changed else {
            return Ok(Some(Stored { steps, written: None }));
        };
        let expected = loaded.as_ref().map(|l| l.version);
        match store
            .write_incident(&record, expected, clock.now, incident_expiry(clock.now))
            .await?
        {
            Written::Done { version } => {
                return Ok(Some(Stored {
                    steps,
                    written: Some((loaded, version)),
                }));
            }
            Written::Conflict => {
                info!(key, "incident record changed since it was read; deciding again");
                count(tally, "WriteConflicts", &[]);
            }
        }
    }
    Ok(None)
}

/// What a job tells its incident, if anything.
fn observation(job: &Job, key: &str) -> Option<Observation> {
    let outcome = match job.verdict {
        Verdict::Failed { .. } => JobOutcome::Failed(job.event.state().as_str().to_string()),
        Verdict::Succeeded | Verdict::CompletedWithIssues => JobOutcome::Succeeded,
        _ => return None,
    };
    Some(Observation {
        key: key.to_string(),
        resource_arn: job.event.resource_arn().unwrap_or_default().to_string(),
        job_type: job.event.kind().as_str().to_string(),
        job_id: job.event.job_id().unwrap_or_default().to_string(),
        at: job.at,
        outcome,
    })
}

enum Planned {
    Message(Alert, String, &'static str),
    Quiet,
    RetryLater,
}

/// What to say about one job, given its incident step (`tracked`: the job's incident record was
/// read and stored; otherwise every failure alerts and no recovery is known).
/// `step` comes with the incident record as it stood after this job.
fn plan(job: &Job, step: Option<(Step, Incident)>, tracked: bool, deps: &Deps<'_>, tally: &Tally<'_>) -> Planned {
    let event = &job.event;
    let log = |decision: &str| {
        info!(
            event_id = %event.event_id,
            job_type = event.kind().as_str(),
            job_id = event.job_id().unwrap_or(""),
            state = event.state().as_str(),
            resource = event.resource_arn().unwrap_or(""),
            event_time = %job.at,
            decision,
            "job decision"
        );
    };
    let label = event.state().as_str().to_string();
    let (step, record) = match step {
        Some((step, record)) => (Some(step), Some(record)),
        None => (None, None),
    };
    match job.verdict {
        Verdict::Failed { severity, consequence } => match step {
            Some(Step::Suppress) => {
                log("suppress");
                count(tally, "Suppressed", &[("jobType", event.kind().as_str())]);
                Planned::Quiet
            }
            Some(Step::Repeat) => {
                log("already_alerted");
                Planned::Quiet
            }
            Some(Step::Late { recovered_at }) => {
                log("late");
                count(tally, "LateFailures", &[]);
                Planned::Message(
                    render::late_failure(event, consequence, recovered_at),
                    format!("LATE_{label}"),
                    "late",
                )
            }
            Some(Step::Realert) => {
                log("realert");
                Planned::Message(
                    render::failure(event, severity, consequence, record.as_ref()),
                    label,
                    "failure",
                )
            }
            _ => {
                log("alert");
                Planned::Message(render::failure(event, severity, consequence, None), label, "failure")
            }
        },
        Verdict::CompletedWithIssues => {
            log("warn_completed_with_issues");
            let closed = match &step {
                Some(Step::Recover(incident)) => Some(incident),
                _ => None,
            };
            Planned::Message(
                render::completed_with_issues(event, closed),
                "COMPLETED_WITH_ISSUES".into(),
                "warning",
            )
        }
        Verdict::Succeeded => match step {
            Some(Step::Recover(incident)) => {
                log("recovered");
                Planned::Message(
                    render::recovered(event, &incident, job.at),
                    "RECOVERED".into(),
                    "recovery",
                )
            }
            _ if !tracked && deps.incidents.is_some() && incidents::incident_key(event).is_some() => {
                log("retry_unrecorded_success");
                Planned::RetryLater
            }
            _ => {
                log("quiet");
                Planned::Quiet
            }
        },
        Verdict::Restored if deps.config.notify_restores => {
            log("notify_restore");
            Planned::Message(render::restore_completed(event), "RESTORED".into(), "restore")
        }
        Verdict::RestoreTest => {
            log("restore_test");
            Planned::Quiet
        }
        Verdict::Restored | Verdict::InProgress => {
            log("quiet");
            Planned::Quiet
        }
        Verdict::UnknownState => {
            warn!(event_id = %event.event_id, state = event.state().as_str(), decision = "ignore", "unknown job state");
            count(tally, "EventsIgnored", &[]);
            Planned::Quiet
        }
    }
}

/// The messages that could not be published: their groups and their records.
#[derive(Default)]
struct Undelivered {
    groups: HashSet<usize>,
    records: HashSet<String>,
}

impl Undelivered {
    fn add(&mut self, message: &Outgoing) {
        self.groups.insert(message.group);
        self.records.insert(message.record_id.clone());
    }
}

/// Publishes the messages, one by one or as digests; returns those that could not be published.
async fn deliver(outgoing: Vec<Outgoing>, deps: &Deps<'_>, tally: &Tally<'_>) -> Undelivered {
    let mut by_group: BTreeMap<GroupKey, Vec<Outgoing>> = BTreeMap::new();
    for message in outgoing {
        by_group.entry(message.key.clone()).or_default().push(message);
    }
    let mut failed = Undelivered::default();
    for (key, members) in by_group {
        if members.len() > deps.config.digest_threshold {
            let severity = members.iter().map(|m| m.alert.severity).min().unwrap_or(Severity::Info);
            let total = members.len();
            info!(jobs = total, label = %key.label, decision = "digest", "storm of one kind becomes a digest");
            count(tally, "Digests", &[]);
            // Parts keep the members' order, so each part speaks for the next members in line.
            let parts = digest::split(members.iter().map(|m| DigestEntry::from_event(&m.event)).collect());
            let part_count = parts.len();
            let mut in_line = members.iter();
            for (i, part) in parts.iter().enumerate() {
                let covered: Vec<&Outgoing> = in_line.by_ref().take(part.len()).collect();
                let mut alert = digest::render(&key, severity, total, part, i + 1, part_count);
                if key.dedupe_unavailable {
                    alert.attributes.insert("dedupe".into(), "unavailable".into());
                }
                let kinds: Vec<&'static str> = covered.iter().map(|m| m.kind).collect();
                if !send(&alert, &kinds, deps, tally).await {
                    covered.iter().for_each(|m| failed.add(m));
                }
            }
        } else {
            for member in members {
                if !send(&member.alert, &[member.kind], deps, tally).await {
                    failed.add(&member);
                }
            }
        }
    }
    failed
}

/// Publishes one message (and forwards it); `kinds` are the jobs it speaks for.
async fn send(alert: &Alert, kinds: &[&'static str], deps: &Deps<'_>, tally: &Tally<'_>) -> bool {
    match deps.publisher.publish(alert).await {
        Ok(message_id) => {
            info!(%message_id, severity = %alert.severity, subject = %alert.subject, jobs = kinds.len(), "alert published");
            count(tally, "AlertsPublished", &[("severity", alert.severity.as_str())]);
            if let Some(forwarder) = deps.forwarder
                && let Err(e) = forwarder.forward(alert).await
            {
                // The alert reached SNS; retrying the record would publish it twice.
                error!(error = %e, subject = %alert.subject, "alert published but not forwarded to the event bus");
                count(tally, "ForwardFailures", &[]);
            }
            for kind in kinds {
                count(tally, kind_metric(kind), &[]);
            }
            true
        }
        Err(e) => {
            error!(error = %e, subject = %alert.subject, jobs = kinds.len(), decision = "retry", "alert not published");
            count(tally, "PublishFailures", &[]);
            false
        }
    }
}

/// Completes the claims of groups whose messages are out. For a group with an unsent message:
/// when its incident record was written, puts it back and hands every job of the group back
/// (their decisions built on each other); otherwise hands back only the unsent jobs.
async fn settle(decided: Vec<Decided>, undelivered: &Undelivered, deps: &Deps<'_>, clock: Clock) -> Outcome {
    let retried: Vec<Vec<String>> = stream::iter(decided.into_iter().enumerate())
        .map(|(index, done)| async move {
            let mut retry = done.retry;
            let group_failed = undelivered.groups.contains(&index);
            let written = done.written.is_some();
            if group_failed
                && let (Some(store), Some(key), Some((before, version))) = (deps.incidents, &done.key, done.written)
            {
                restore(store, key, before, version, clock).await;
            }
            for (record_id, event_id) in done.handled {
                if group_failed && (written || undelivered.records.contains(&record_id)) {
                    release(deps, &event_id).await;
                    retry.push(record_id);
                } else {
                    complete(deps, &event_id, clock.now).await;
                }
            }
            retry
        })
        .buffered(deps.config.concurrency)
        .collect()
        .await;
    Outcome {
        failed: retried.into_iter().flatten().collect(),
    }
}

/// Puts an incident record back as it was before this batch wrote `version`, unless someone
/// wrote it since (then their decision stands).
async fn restore(
    store: &dyn IncidentStore,
    key: &str,
    before: Option<Versioned<Incident>>,
    version: u64,
    clock: Clock,
) {
    let result = match before {
        Some(before) => {
            store
                .write_incident(&before.value, Some(version), clock.now, incident_expiry(clock.now))
                .await
        }
        None => store.delete_incident(key, version).await,
    };
    match result {
        Ok(Written::Done { .. }) => {}
        Ok(Written::Conflict) => warn!("incident record changed since this batch wrote it; not put back"),
        Err(e) => error!(error = %e, "incident record not put back"),
    }
}

fn kind_metric(kind: &str) -> &'static str {
    match kind {
        "failure" => "JobsAlerted",
        "warning" => "JobsWarned",
        "recovery" => "Recoveries",
        "late" => "LateFailuresReported",
        "malware" => "MalwareFound",
        "scan_unproven" => "ScansUnproven",
        _ => "RestoreNotices",
    }
}

/// Incidents nobody touches for 30 days expire (the resource was likely removed from backup).
fn incident_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::days(30)
}

/// The delivery ledger, through the one path every function uses.
fn deliveries<'a>(deps: &Deps<'a>) -> Deliveries<'a> {
    let retention = chrono::Duration::from_std(deps.config.dedupe_retention).unwrap_or(chrono::Duration::days(7));
    Deliveries::new(deps.ledger, retention)
}

async fn claim(deps: &Deps<'_>, event: &JobEvent, clock: Clock) -> Result<Claim, StoreError> {
    deliveries(deps)
        .claim(&event.event_id, clock.now, clock.lease_until)
        .await
}

async fn complete(deps: &Deps<'_>, event_id: &str, now: DateTime<Utc>) {
    deliveries(deps).complete(event_id, now).await
}

async fn release(deps: &Deps<'_>, event_id: &str) {
    deliveries(deps).release(event_id).await
}

/// The EventBridge id of a body that failed to decode, for the log line, if it has one.
fn event_id_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

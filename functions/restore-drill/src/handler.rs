//! One `Restore Job State Change` event: recognise a restore test, validate what it restored,
//! put the result, measure the RPO and RTO, and alert when the drill failed. Each restore job is
//! handled once across deliveries (the shared ledger, keyed by the restore job).

use rearguard::backup_events::JobEvent;
use rearguard::drill_record::{DrillLog, DrillRecord, Recorded};
use rearguard::metrics::Metrics;
use rearguard::policy::Document;
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{DeliveryLedger, StoreError, exactly_once};
use rearguard::tagging::ResourceTagging;
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::checks::{self, Check};
use crate::decide::{self, Decision, Verdict};
use crate::drill::{self, Drill, RestoreJobFacts, Triage};
use crate::figures::{self, Figures, Targets};
use crate::probe::{AwsError, ResourceReads, RestoreJobs};
use crate::record::Drilled;
use crate::render::{self, DrillReport};
use crate::user_check::{self, InvokeCheck};

pub struct Deps<'a> {
    pub policy: &'a Document,
    pub jobs: &'a dyn RestoreJobs,
    pub resources: &'a dyn ResourceReads,
    pub tagging: &'a dyn ResourceTagging,
    pub publisher: &'a dyn PublishAlert,
    pub ledger: Option<&'a dyn DeliveryLedger>,
    /// The drill record, when kept (`DRILL_TABLE_NAME`).
    pub drill_log: Option<&'a dyn DrillLog>,
    /// Lambda's Invoke, for the policy's `restore_tests.user_checks`.
    pub user_checks: Option<&'a dyn InvokeCheck>,
    pub settle: Settle,
}

/// How long a restored resource that is still coming up ([`checks::settling`]) is waited for.
#[derive(Debug, Clone, Copy)]
pub struct Settle {
    /// No new look after this (the invocation's deadline, less the time the rest takes).
    pub until: chrono::DateTime<chrono::Utc>,
    /// Between two looks.
    pub pause: std::time::Duration,
}

impl Settle {
    /// Before the end of an invocation that ends at `deadline`: a look, the alert and the writes
    /// after it fit in the last minute.
    pub fn before(deadline: chrono::DateTime<chrono::Utc>) -> Settle {
        Settle {
            until: deadline - chrono::Duration::seconds(60),
            pause: std::time::Duration::from_secs(15),
        }
    }
}

/// Transient failures: returned so Lambda retries the event and its failure destination keeps it.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    State(#[from] StoreError),
    #[error("restore job {0} is being handled by another invocation; retry later")]
    InProgress(String),
}

/// A claim outlives the longest invocation (15 minutes).
const LEASE_MINUTES: i64 = 16;
/// Longer than restore testing's longest validation window (168 hours, "Restore testing").
const RETENTION_DAYS: i64 = 14;

fn ignored(reason: &str) -> Value {
    json!({"status": "ignored", "reason": reason})
}

pub async fn handle(payload: Value, deps: &Deps<'_>, metrics: &mut Metrics) -> Result<Value, HandleError> {
    let event_id = payload.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let event = match JobEvent::decode(&payload) {
        Ok(event) => event,
        Err(reason) => {
            warn!(event_id, %reason, decision = "ignore", "event not handled");
            metrics.count("EventsIgnored", &[]);
            return Ok(ignored(&reason.to_string()));
        }
    };
    let restore_job_id = match drill::triage(&event) {
        Triage::Describe { restore_job_id } => restore_job_id,
        Triage::Ignore(reason) => {
            info!(
                event_id,
                state = event.state().as_str(),
                reason,
                decision = "ignore",
                "not a restore test to validate"
            );
            metrics.count("EventsIgnored", &[]);
            return Ok(ignored(reason));
        }
    };
    let key = format!("restore-job#{restore_job_id}");
    let outcome = exactly_once(
        deps.ledger,
        &key,
        chrono::Duration::minutes(LEASE_MINUTES),
        chrono::Duration::days(RETENTION_DAYS),
        || drill_once(&event, &restore_job_id, deps, metrics),
    )
    .await?;
    outcome
        .into_answer(&event_id, metrics)
        .ok_or(HandleError::InProgress(restore_job_id))
}

/// The policy plan of the restored resource: its source's backup tag value, when that names a plan.
async fn plan_of(deps: &Deps<'_>, source: Option<&str>) -> Option<String> {
    let source = source?.to_string();
    match deps.tagging.current_tags(std::slice::from_ref(&source)).await {
        Ok(tags) => tags
            .get(&source)
            .and_then(|t| t.get(&deps.policy.tag_key))
            .filter(|plan| deps.policy.is_plan(plan))
            .cloned(),
        Err(e) => {
            // The drill is still judged; only its targets are unknown.
            warn!(source, error = %e, "cannot read the source's backup tag; no RPO/RTO targets");
            None
        }
    }
}

async fn drill_once(
    event: &JobEvent,
    restore_job_id: &str,
    deps: &Deps<'_>,
    metrics: &mut Metrics,
) -> Result<Value, HandleError> {
    let mut facts = match deps.jobs.describe(restore_job_id).await {
        Ok(facts) => facts,
        Err(AwsError::NoSuchJob(_)) => {
            warn!(event_id = %event.event_id, restore_job_id, decision = "ignore", "restore job not found in this account and Region");
            metrics.count("EventsIgnored", &[]);
            return Ok(ignored("restore job not found"));
        }
        Err(e) => return Err(e.into()),
    };
    let restored = match drill::classify(&facts) {
        Drill::NotATest => {
            info!(
                restore_job_id,
                decision = "ignore",
                "no restore testing plan started this restore"
            );
            metrics.count("EventsIgnored", &[]);
            return Ok(ignored("not a restore test"));
        }
        Drill::AlreadyValidated(status) => {
            info!(restore_job_id, validation_status = %status, decision = "already_validated", "the restore test already has a validation result");
            // An earlier attempt may have put the result and failed before recording it.
            if deps.drill_log.is_some() {
                let plan = plan_of(deps, facts.source_resource_arn.as_deref()).await;
                let targets = targets_of(deps, plan.as_deref());
                let figures = figures::measure(&facts);
                let drilled = Drilled::judged_now(&facts, plan.as_deref(), &figures, &targets);
                keep_record(deps, drilled.already_validated(), metrics).await?;
            }
            return Ok(json!({"status": "already_validated", "validation": status}));
        }
        Drill::NotEnded(status) => {
            warn!(restore_job_id, status = %status, decision = "ignore", "the restore job has not ended");
            metrics.count("EventsIgnored", &[]);
            return Ok(ignored("the restore job has not ended"));
        }
        Drill::RestoreFailed { reason, .. } => Err(reason),
        Drill::Restored => Ok(()),
    };
    if facts.point_created.is_none()
        && let (Some(vault), Some(point)) = (facts.vault_arn.clone(), facts.recovery_point_arn.clone())
    {
        facts.point_created = deps.jobs.point_created(&vault, &point).await?;
    }
    let plan = plan_of(deps, facts.source_resource_arn.as_deref()).await;
    let targets = targets_of(deps, plan.as_deref());
    let figures = figures::measure(&facts);
    let (mut decision, check) = match restored {
        Err(reason) => (decide::restore_failed(&reason), None),
        Ok(()) => {
            let created = facts.created_resource_arn.as_deref().unwrap_or("");
            let check = checks::check_for(&facts.resource_type, created, facts.source_resource_arn.as_deref());
            let observed = observe_settled(deps, &check, restore_job_id, metrics).await?;
            let mut outcome = checks::judge(&check, &observed);
            if let (checks::Outcome::Usable(evidence), Some(invoke), Some(function)) = (
                &outcome,
                deps.user_checks,
                deps.policy.restore_tests.user_checks.get(&facts.resource_type),
            ) {
                let answer = invoke
                    .invoke(function, user_check::request(created, &facts.resource_type))
                    .await;
                outcome = user_check::judge(function, evidence, &answer);
                info!(restore_job_id, function = %function, outcome = ?outcome, "user check judged");
            }
            let missed = figures::misses(&figures, &targets);
            (decide::restored(&check, &outcome, &missed), Some(check))
        }
    };
    if let Some(validation) = &decision.validation {
        match deps.jobs.put_validation(restore_job_id, validation).await {
            Ok(()) => {}
            // The validation window closed, or AWS will not take a result for this job: the drill
            // is not proven, which the alert says.
            Err(AwsError::Refused { message, .. }) => {
                warn!(restore_job_id, error = %message, "AWS Backup refused the validation result");
                metrics.count("ValidationsRefused", &[]);
                let refusal = format!("AWS Backup refused the validation result: {message}");
                decision.verdict = match decision.verdict {
                    Verdict::Failed { mut reasons } => {
                        reasons.push(refusal);
                        Verdict::Failed { reasons }
                    }
                    _ => Verdict::Failed { reasons: vec![refusal] },
                };
            }
            Err(e) => return Err(e.into()),
        }
    }
    record(&facts, plan.as_deref(), &figures, &decision, check.as_ref(), metrics);
    if let Verdict::Failed { reasons } = &decision.verdict {
        let report = DrillReport {
            facts: &facts,
            region: &event.region,
            event_id: &event.event_id,
            plan: plan.as_deref(),
            figures: &figures,
        };
        deps.publisher.publish(&render::drill_failed(&report, reasons)).await?;
        metrics.count("Alerts", &[("severity", "ERROR")]);
    }
    // After the alert: should this write fail, the retry finds the validation put and records
    // the drill from it, while the alert is already out.
    let drilled = Drilled::judged_now(&facts, plan.as_deref(), &figures, &targets);
    keep_record(deps, drilled.judged(&decision), metrics).await?;
    Ok(json!({
        "status": "drilled",
        "restoreJobId": restore_job_id,
        "plan": plan,
        "validation": decision.validation.as_ref().map(|v| v.status.as_str()),
        "verdict": match &decision.verdict {
            Verdict::Passed => "passed",
            Verdict::Failed { .. } => "failed",
            Verdict::Unvalidated { .. } => "unvalidated",
        },
        "rpoHours": figures.rpo_hours(),
        "rtoMinutes": figures.rto_minutes(),
    }))
}

/// Looks at the restored resource until it has settled or the invocation's time for it is up;
/// what is still coming up then is judged as it is.
async fn observe_settled(
    deps: &Deps<'_>,
    check: &Check,
    restore_job_id: &str,
    metrics: &mut Metrics,
) -> Result<checks::Observation, AwsError> {
    let started = chrono::Utc::now();
    loop {
        let observed = deps.resources.observe(check).await?;
        let Some(doing) = checks::settling(&observed) else {
            return Ok(observed);
        };
        let next_look = chrono::Utc::now() + deps.settle.pause;
        if next_look > deps.settle.until {
            let waited = (chrono::Utc::now() - started).num_seconds();
            warn!(restore_job_id, %doing, waited_seconds = waited, "the restored resource has not settled in this invocation; judged as it is");
            metrics.count("ResourcesNotSettled", &[]);
            return Ok(observed);
        }
        info!(restore_job_id, %doing, pause_seconds = deps.settle.pause.as_secs(), "the restored resource is still coming up; looking again");
        tokio::time::sleep(deps.settle.pause).await;
    }
}

fn targets_of(deps: &Deps<'_>, plan: Option<&str>) -> Targets {
    plan.and_then(|p| deps.policy.plans.get(p))
        .map(|p| Targets {
            rpo_hours: Some(p.rpo_hours()),
            rto_hours: p.rto_hours,
        })
        .unwrap_or_default()
}

/// Writes the drill's record once per restore job; a store failure is retried with the event.
async fn keep_record(deps: &Deps<'_>, record: Option<DrillRecord>, metrics: &mut Metrics) -> Result<(), HandleError> {
    let (Some(log), Some(record)) = (deps.drill_log, record) else {
        return Ok(());
    };
    match log.record(&record).await? {
        Recorded::Written => {
            info!(restore_job_id = %record.restore_job_id, result = record.result.as_str(), action = "record_drill", "drill recorded");
            metrics.count("DrillsRecorded", &[]);
        }
        Recorded::AlreadyRecorded => {
            info!(restore_job_id = %record.restore_job_id, decision = "already_recorded", "the drill record already has this restore job");
        }
    }
    Ok(())
}

/// One log line and the metrics per drill, by plan and resource type.
fn record(
    facts: &RestoreJobFacts,
    plan: Option<&str>,
    figures: &Figures,
    decision: &Decision,
    check: Option<&Check>,
    metrics: &mut Metrics,
) {
    let dimensions = [
        ("plan", plan.unwrap_or("none")),
        ("resourceType", facts.resource_type.as_str()),
    ];
    // The restore time of a failed restore is not a restore time.
    if facts.status == "COMPLETED" {
        if let Some(hours) = figures.rpo_hours() {
            metrics.figure("DrillRpoHours", &dimensions, hours);
        }
        if let Some(minutes) = figures.rto_minutes() {
            metrics.figure("DrillRtoMinutes", &dimensions, minutes);
        }
    }
    let validation = decision.validation.as_ref();
    let (verdict, reasons) = match &decision.verdict {
        Verdict::Passed => ("passed", String::new()),
        Verdict::Failed { reasons } => ("failed", reasons.join("; ")),
        Verdict::Unvalidated { reason } => ("unvalidated", reason.clone()),
    };
    metrics.count(
        match verdict {
            "passed" => "DrillsPassed",
            "failed" => "DrillsFailed",
            _ => "DrillsUnvalidated",
        },
        &dimensions,
    );
    info!(
        restore_job_id = %facts.restore_job_id,
        resource_type = %facts.resource_type,
        plan = plan.unwrap_or(""),
        check = ?check,
        validation_status = validation.map(|v| v.status.as_str()).unwrap_or(""),
        validation_message = validation.map(|v| v.message.as_str()).unwrap_or(""),
        rpo_hours = figures.rpo_hours(),
        rto_minutes = figures.rto_minutes(),
        decision = verdict,
        reasons = %reasons,
        "restore test judged"
    );
}

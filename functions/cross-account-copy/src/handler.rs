//! One EventBridge event: is it a recovery point arriving? Decide (pure) what to copy where,
//! check the facts the decision needs, start the copies, shorten the source when its copies are
//! all there, then alert, emit events and count.

use rearguard::backup_events::JobEvent;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::scan_events::{SCAN_JOB, ScanEvent};
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{DeliveryLedger, StoreError, exactly_once};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::backup::{ApiError, CopyApi, VaultStatus};
use crate::lifecycle::{Lifecycle, shortened};
use crate::plan::{self, CopyOrder, Inputs, Outcome, Plan, PointFacts, Refusal};
use crate::render;
use crate::routes::Routes;
use crate::trigger::{self, Arrival, Origin, Trigger, Verdict};
use crate::vault_policy::VaultPolicy;

/// Reads the backup tag of a resource in the home account.
#[async_trait::async_trait]
pub trait BackupTag: Send + Sync {
    async fn backup_tag(&self, resource_arn: &str, region: &str, key: &str) -> Result<Option<String>, String>;
}

pub struct Deps<'a> {
    pub routes: &'a Routes,
    pub home_account: &'a str,
    pub api: &'a dyn CopyApi,
    pub tags: &'a dyn BackupTag,
    pub publisher: &'a dyn PublishAlert,
    pub events: Option<&'a dyn ForwardAlert>,
    pub ledger: Option<&'a dyn DeliveryLedger>,
    pub dry_run: bool,
    /// The function's own Region, where the backups it copies are.
    pub region: &'a str,
    /// How long a copy that requires a clean scan waits for one before the sweep alerts.
    pub clean_scan_wait: chrono::Duration,
}

/// Transient failures: returned so Lambda retries the event and its failure destination keeps
/// it. Copies already started are safe to ask for again (same idempotency token).
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("transient AWS error, retry: {0}")]
    Aws(ApiError),
    #[error("reading the backup tag: {0}")]
    Tagging(String),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    State(#[from] StoreError),
    #[error("event {0} is being handled by another invocation; retry later")]
    InProgress(String),
}

const LEASE_MINUTES: i64 = 16;
const DEDUPE_RETENTION_DAYS: i64 = 7;

pub async fn handle(payload: Value, deps: &Deps<'_>, metrics: &mut Metrics) -> Result<Value, HandleError> {
    let event_id = payload.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let detail_type = payload.get("detail-type").and_then(Value::as_str).unwrap_or("");
    let source = payload.get("source").and_then(Value::as_str).unwrap_or("");
    if detail_type == SCAN_JOB {
        return handle_scan(&payload, deps, metrics).await;
    }
    // The hourly schedule (template.yaml) asks for a look at the copies still waiting for a scan.
    if (source, detail_type) == ("aws.events", "Scheduled Event") {
        let now = payload
            .get("time")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or_else(chrono::Utc::now, |t| t.to_utc());
        return crate::sweep::run(now, deps, metrics).await;
    }
    let event = match JobEvent::decode(&payload) {
        Ok(event) => event,
        Err(reason) => {
            warn!(event_id, %reason, decision = "ignore", "event not handled");
            metrics.count("EventsIgnored", &[]);
            return Ok(json!({"status": "ignored", "reason": reason.to_string()}));
        }
    };
    let arrival = match trigger::arrival(&event) {
        Ok(arrival) => arrival,
        Err(reason) => {
            info!(event_id, %reason, decision = "ignore", "no recovery point arrived");
            metrics.count("EventsIgnored", &[]);
            return Ok(json!({"status": "ignored", "reason": reason.to_string()}));
        }
    };
    let outcome = exactly_once(
        deps.ledger,
        &event_id,
        chrono::Duration::minutes(LEASE_MINUTES),
        chrono::Duration::days(DEDUPE_RETENTION_DAYS),
        || handle_arrival(&arrival, deps, metrics),
    )
    .await?;
    outcome
        .into_answer(&event_id, metrics)
        .ok_or(HandleError::InProgress(event_id))
}

pub(crate) fn transient(e: ApiError) -> HandleError {
    HandleError::Aws(e)
}

fn ignored(event_id: &str, reason: &dyn std::fmt::Display, metrics: &mut Metrics) -> Value {
    info!(event_id, %reason, decision = "ignore", "no copy decided by this event");
    metrics.count("EventsIgnored", &[]);
    json!({"status": "ignored", "reason": reason.to_string()})
}

/// A malware scan ended: the copies that wait for a clean scan of this recovery point start,
/// or are refused with one alert. Once per event (the ledger), and the copy token is the
/// backup's, so a redelivered clean scan starts nothing new.
async fn handle_scan(payload: &Value, deps: &Deps<'_>, metrics: &mut Metrics) -> Result<Value, HandleError> {
    let event_id = payload.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let event = match ScanEvent::decode_str(&payload.to_string()) {
        Ok(event) => event,
        Err(reason) => return Ok(ignored(&event_id, &reason, metrics)),
    };
    let verdict = match trigger::scan_verdict(&event) {
        Ok(verdict) => verdict,
        Err(reason) => return Ok(ignored(&event_id, &reason, metrics)),
    };
    let (point, vault_arn, vault_name) = match trigger::scanned_point(&event) {
        Ok(found) => found,
        Err(reason) => return Ok(ignored(&event_id, &reason, metrics)),
    };
    // Copies start from this account's recovery points only (where the policy's vaults resolve).
    let here = rearguard::arn::Arn::parse(&vault_arn).is_some_and(|a| a.account == deps.home_account);
    if !here || !deps.routes.gates_vault(&vault_name) {
        info!(event_id, recovery_point = %point, vault = %vault_arn, decision = "no_route", "no copy from this vault waits for a clean scan");
        metrics.count("NoRoute", &[]);
        return Ok(json!({"status": "no_route"}));
    }
    metrics.count("ScansSeen", &[("verdict", &format!("{verdict:?}"))]);
    let id = event_id.clone();
    let counted = &mut *metrics;
    let outcome = exactly_once(
        deps.ledger,
        &event_id,
        chrono::Duration::minutes(LEASE_MINUTES),
        chrono::Duration::days(DEDUPE_RETENTION_DAYS),
        || async move {
            let region = rearguard::arn::Arn::parse(&vault_arn).map_or("", |a| a.region).to_string();
            let facts = match deps.api.describe_point(&region, &vault_name, &point).await {
                Ok(facts) => facts,
                Err(e) if e.permanent() => {
                    let arrival = trigger::scan_arrival(&event, verdict, &PointFacts::default())
                        .map_err(|reason| ignored(&id, &reason, counted));
                    let arrival = match arrival {
                        Ok(arrival) => arrival,
                        Err(answer) => return Ok(answer),
                    };
                    warn!(event_id = %id, error = %e, decision = "alert", "the scanned recovery point cannot be read");
                    let alert = render::api_failed(
                        &arrival,
                        "read the scanned recovery point to decide its copies",
                        &e,
                        "Check the function's backup:DescribeRecoveryPoint permission and that the recovery point still exists.",
                    );
                    publish_all(deps, &[alert]).await?;
                    counted.count("CopyApiFailures", &[]);
                    return Ok(json!({"status": "failed", "error": e.to_string()}));
                }
                Err(e) => return Err(transient(e)),
            };
            let mut arrival = match trigger::scan_arrival(&event, verdict, &facts) {
                Ok(arrival) => arrival,
                Err(reason) => return Ok(ignored(&id, &reason, counted)),
            };
            if let Some(infected) = earlier_threat(verdict, &region, &point, deps).await? {
                arrival.trigger = Trigger::Scan {
                    scan_job_id: infected.scan_job_id,
                    state: infected.state,
                    verdict: Verdict::ThreatsFound,
                };
            }
            info!(event_id = %id, scan_job_id = event.detail.scan_job_id.as_deref().unwrap_or(""), state = event.state(), verdict = ?arrival.trigger, recovery_point = %point, "scan decides the copies waiting for it");
            handle_arrival(&arrival, deps, counted).await
        },
    )
    .await?;
    outcome
        .into_answer(&event_id, metrics)
        .ok_or(HandleError::InProgress(event_id))
}

/// A clean scan does not clear a point another scan found malware in (a rescan of an infected
/// backup is not a reason to copy it): that scan, which the refusal then names.
async fn earlier_threat(
    verdict: Verdict,
    region: &str,
    point: &str,
    deps: &Deps<'_>,
) -> Result<Option<crate::scan_wait::ScanSummary>, HandleError> {
    if verdict != Verdict::Clean {
        return Ok(None);
    }
    let scans = deps.api.scan_jobs(region, point).await.map_err(transient)?;
    let infected = scans.into_iter().find(|s| s.result.as_deref() == Some("THREATS_FOUND"));
    if let Some(scan) = &infected {
        warn!(recovery_point = %point, scan_job_id = %scan.scan_job_id, decision = "refuse", "an earlier scan of this point found threats");
    }
    Ok(infected)
}

async fn handle_arrival(arrival: &Arrival, deps: &Deps<'_>, metrics: &mut Metrics) -> Result<Value, HandleError> {
    let tag_region = arrival
        .tag_region(deps.home_account)
        .filter(|_| deps.routes.reads_tags());
    let backup_tag = match tag_region {
        Some(region) => deps
            .tags
            .backup_tag(&arrival.resource_arn, region, &deps.routes.backup_tag_key)
            .await
            .map_err(HandleError::Tagging)?,
        None => None,
    };
    let mut inputs = Inputs {
        routes: deps.routes,
        home_account: deps.home_account,
        arrival,
        facts: &PointFacts::default(),
        backup_tag: backup_tag.as_deref(),
        original_lifecycle: None,
    };
    // A first pass without facts says whether any route cares, before any AWS call.
    let sketch = plan::decide(&inputs);
    if sketch.outcomes.is_empty() && sketch.shorten.is_empty() {
        info!(event_id = %arrival.event_id, recovery_point = %arrival.recovery_point_arn, vault = %arrival.vault_name, decision = "no_route", "no route takes this recovery point");
        metrics.count("NoRoute", &[]);
        return Ok(json!({"status": "no_route"}));
    }
    let mut alerts = Vec::new();
    // Facts can only refuse a copy, never add one: without a copy to start, none are read.
    let facts = if !sketch.outcomes.iter().any(|o| matches!(o, Outcome::Copy(_))) {
        PointFacts::default()
    } else {
        match point_facts(arrival, deps).await {
            Ok(facts) => facts,
            Err(e) if e.permanent() => {
                warn!(event_id = %arrival.event_id, error = %e, decision = "alert", "the recovery point cannot be read");
                alerts.push(render::api_failed(
                    arrival,
                    "read the recovery point to copy it",
                    &e,
                    "Check the function's backup:DescribeRecoveryPoint permission and that the recovery point still exists.",
                ));
                publish_all(deps, &alerts).await?;
                metrics.count("CopyApiFailures", &[]);
                return Ok(json!({"status": "failed", "error": e.to_string()}));
            }
            Err(e) => return Err(transient(e)),
        }
    };
    let original = original_lifecycle(arrival, deps).await?;
    inputs.facts = &facts;
    inputs.original_lifecycle = original.as_ref();
    let plan = plan::decide(&inputs);

    let Carried { outcomes, unchecked } = carry_out(arrival, &plan, deps).await?;
    let shortened_points = shorten_sources(arrival, &plan, deps, &mut alerts).await?;

    let refusals: Vec<(&str, &str, &Refusal)> = outcomes
        .iter()
        .filter_map(|(o, _)| match o {
            Outcome::Refused {
                route,
                destination_vault_arn,
                refusal,
            } => Some((route.as_str(), destination_vault_arn.as_str(), refusal)),
            _ => None,
        })
        .collect();
    alerts.extend(render::refused(arrival, &refusals));
    alerts.extend(render::unchecked(arrival, &unchecked));
    publish_all(deps, &alerts).await?;

    let mut requested = Vec::new();
    for (outcome, job_id) in &outcomes {
        let (detail_type, detail) = render::outcome_event(arrival, outcome, job_id.as_deref(), deps.dry_run);
        put_event(deps, detail_type, &detail, metrics).await;
        let route = match outcome {
            Outcome::Copy(o) => &o.route,
            Outcome::Refused { route, .. } | Outcome::Skipped { route, .. } => route,
        };
        let metric = match outcome {
            Outcome::Copy(o) => {
                requested.push(json!({"destination": o.destination_vault_arn, "copyJobId": job_id, "hop": o.hop}));
                "CopiesRequested"
            }
            Outcome::Refused { .. } => "CopiesRefused",
            Outcome::Skipped { .. } => "CopiesSkipped",
        };
        metrics.count(metric, &[("Route", route)]);
    }
    for detail in &shortened_points {
        put_event(deps, render::SOURCE_SHORTENED, detail, metrics).await;
        metrics.count("SourceRetentionShortened", &[]);
    }
    Ok(json!({
        "status": "handled",
        "copies": requested,
        "refused": refusals.len(),
        "skipped": outcomes.iter().filter(|(o, _)| matches!(o, Outcome::Skipped { .. })).count(),
        "sourceShortened": shortened_points,
        "dryRun": deps.dry_run,
    }))
}

/// DescribeRecoveryPoint, plus KMS DescribeKey for the types that keep their resource's key
/// (which can block a cross-account copy), plus RDS DescribeDBClusters for a DB cluster's
/// snapshot (a Multi-AZ DB cluster's cannot be copied).
async fn point_facts(arrival: &Arrival, deps: &Deps<'_>) -> Result<PointFacts, ApiError> {
    let mut facts = deps
        .api
        .describe_point(&arrival.region, &arrival.vault_name, &arrival.recovery_point_arn)
        .await?;
    if plan::keeps_resource_key(&arrival.resource_type)
        && let Some(key) = facts.key_arn.clone()
    {
        facts.key_is_aws_managed = match deps.api.key_is_aws_managed(&key).await {
            Ok(managed) => managed,
            Err(e) if e.permanent() => {
                // Unknown: the copy is tried, and a failed copy job is alerted by job-alerts.
                warn!(key = %key, error = %e, "cannot tell who manages the key; copying anyway");
                false
            }
            Err(e) => return Err(e),
        };
    }
    if plan::rds_cluster_of(&arrival.resource_arn, &arrival.resource_type).is_some() {
        facts.multi_az_db_cluster = match deps.api.db_cluster_engine(&arrival.resource_arn).await {
            Ok(Some(engine)) => plan::is_multi_az_db_cluster_engine(&engine),
            Ok(None) => false,
            Err(e) if e.permanent() => {
                // The cluster may be gone; its snapshot is tried, and a failed copy job is alerted.
                warn!(cluster = %arrival.resource_arn, error = %e, "cannot read the cluster's engine; copying anyway");
                false
            }
            Err(e) => return Err(e),
        };
    }
    Ok(facts)
}

/// A copy that arrived in a re-encrypting vault takes the original's lifecycle onward.
async fn original_lifecycle(arrival: &Arrival, deps: &Deps<'_>) -> Result<Option<Lifecycle>, HandleError> {
    let Origin::Copy {
        source_vault_arn,
        source_recovery_point_arn,
    } = &arrival.origin
    else {
        return Ok(None);
    };
    let is_hop = deps
        .routes
        .routes
        .iter()
        .any(|r| r.reencrypt.as_ref().is_some_and(|h| h.vault == arrival.vault_name));
    let Some(source) = rearguard::arn::Arn::parse(source_vault_arn).filter(|_| is_hop) else {
        return Ok(None);
    };
    match deps
        .api
        .describe_point(
            source.region,
            rearguard::arn::vault_name(source_vault_arn),
            source_recovery_point_arn,
        )
        .await
    {
        Ok(facts) => Ok(Some(facts.lifecycle)),
        Err(e) if e.permanent() => {
            warn!(error = %e, "the original recovery point is gone; the route's lifecycle or the intermediate copy's applies");
            Ok(None)
        }
        Err(e) => Err(transient(e)),
    }
}

/// What carrying out a plan came to: each outcome (with its copy job id), and the destinations
/// copied into without the vault check.
struct Carried {
    outcomes: Vec<(Outcome, Option<String>)>,
    unchecked: Vec<render::Unchecked>,
}

/// Checks each destination vault and starts the copies (or, in dry-run mode, logs them). Each
/// destination stands on its own: a refusal or a transient failure of one never keeps the
/// others from starting. A transient failure is returned after all the others were tried, so the
/// event is retried (the copies already started are asked for again with the same token).
async fn carry_out(arrival: &Arrival, plan: &Plan, deps: &Deps<'_>) -> Result<Carried, HandleError> {
    let mut carried = Carried {
        outcomes: Vec::new(),
        unchecked: Vec::new(),
    };
    let mut retry = None;
    for outcome in &plan.outcomes {
        let Outcome::Copy(order) = outcome else {
            carried.outcomes.push((outcome.clone(), None));
            continue;
        };
        match copy_one(arrival, order, deps, &mut carried.unchecked).await {
            Ok(done) => carried.outcomes.push(done),
            Err(e) => {
                warn!(destination = %order.destination_vault_arn, error = %e, decision = "retry", "transient failure; the other destinations go on");
                retry.get_or_insert(e);
            }
        }
    }
    match retry {
        Some(e) => Err(transient(e)),
        None => Ok(carried),
    }
}

/// One copy: check its destination vault, look for the copy already made, then start it.
async fn copy_one(
    arrival: &Arrival,
    mut order: &CopyOrder,
    deps: &Deps<'_>,
    unchecked: &mut Vec<render::Unchecked>,
) -> Result<(Outcome, Option<String>), ApiError> {
    let clamped_order;
    let route = order.route.clone();
    let destination = order.destination_vault_arn.clone();
    let refuse = |refusal: Refusal| Outcome::Refused {
        route: route.clone(),
        destination_vault_arn: destination.clone(),
        refusal,
    };
    match deps.api.vault_status(&order.destination_vault_arn).await {
        Ok(VaultStatus::Missing(message)) => {
            warn!(destination = %order.destination_vault_arn, %message, decision = "refuse", "destination vault not found");
            return Ok((refuse(Refusal::UnknownVault { message }), None));
        }
        Ok(VaultStatus::Unchecked { role_arn, reason }) => {
            warn!(destination = %order.destination_vault_arn, role = %role_arn, %reason, decision = "copy_unchecked", "the vault-check role cannot be assumed; copying without checking the vault");
            unchecked.push(render::Unchecked {
                destination_vault_arn: order.destination_vault_arn.clone(),
                role_arn,
                reason,
            });
        }
        Ok(VaultStatus::Exists(bounds)) => {
            let clamped = plan::vault_lock_clamp(&order.lifecycle, &bounds).filter(|_| order.clamp_to_vault_lock);
            if let Some(lifecycle) = clamped {
                let days = |d: Option<i64>| d.map_or("forever".to_string(), |d| d.to_string());
                info!(destination = %order.destination_vault_arn, decision = "clamp", retention_days = %days(order.lifecycle.delete_after_days), clamped_retention_days = %days(lifecycle.delete_after_days), min_retention_days = ?bounds.min_days, max_retention_days = ?bounds.max_days, "retention kept within the destination vault's Vault Lock bounds");
                clamped_order = CopyOrder {
                    lifecycle,
                    ..order.clone()
                };
                order = &clamped_order;
            } else if let Some(refusal) = plan::vault_lock_refusal(&order.lifecycle, &bounds) {
                warn!(destination = %order.destination_vault_arn, reason = %refusal.reason(), decision = "refuse", "outside the destination vault's Vault Lock bounds");
                return Ok((refuse(refusal), None));
            }
        }
        Ok(VaultStatus::Unverified) => {}
        Err(e) if e.permanent() => {
            warn!(destination = %order.destination_vault_arn, error = %e, decision = "refuse", "destination vault unreachable");
            return Ok((refuse(Refusal::UnknownVault { message: e.to_string() }), None));
        }
        Err(e) => return Err(e),
    }
    if order.one_step
        && let Some(refusal) = one_step_check(arrival, order, deps).await?
    {
        warn!(destination = %order.destination_vault_arn, reason = %refusal.reason(), decision = "refuse", "a vault access policy does not allow the copy to another Region and account");
        return Ok((refuse(refusal), None));
    }
    // Exactly once beyond the ledger and the token: a copy of this backup already there (or under
    // way) is the answer, and nothing is started.
    if let Some(job_id) = deps
        .api
        .existing_copy(order, &arrival.resource_arn, arrival.job_created)
        .await?
    {
        info!(decision = "copy_exists", copy_job_id = %job_id, route = %order.route, destination_vault = %order.destination_vault_arn, "the copy was already started; starting nothing");
        return Ok((Outcome::Copy(order.clone()), Some(job_id)));
    }
    if deps.dry_run {
        info!(
            action = "would_start_copy_job",
            route = %order.route,
            region = %order.region,
            recovery_point = %order.recovery_point_arn,
            source_vault = %order.source_vault_name,
            destination_vault = %order.destination_vault_arn,
            role = %order.role_arn,
            idempotency_token = %order.idempotency_token,
            lifecycle = ?order.lifecycle,
            "dry run: not starting the copy"
        );
        return Ok((Outcome::Copy(order.clone()), None));
    }
    match deps.api.start_copy(order).await {
        Ok(job_id) => {
            info!(action = "start_copy_job", copy_job_id = %job_id, route = %order.route, destination_vault = %order.destination_vault_arn, hop = order.hop, idempotency_token = %order.idempotency_token, "copy requested");
            Ok((Outcome::Copy(order.clone()), Some(job_id)))
        }
        Err(e) if e.permanent() => {
            warn!(destination = %order.destination_vault_arn, error = %e, decision = "refuse", "AWS Backup rejected the copy");
            Ok((
                refuse(Refusal::CopyRejected {
                    error_code: e.code,
                    message: e.message,
                }),
                None,
            ))
        }
        Err(e) => Err(e),
    }
}

/// Both vaults' access policies, for a copy to another Region and account in one step.
async fn one_step_check(arrival: &Arrival, order: &CopyOrder, deps: &Deps<'_>) -> Result<Option<Refusal>, ApiError> {
    let source = deps.api.vault_access_policy(&arrival.vault_arn).await?;
    let destination = deps.api.vault_access_policy(&order.destination_vault_arn).await?;
    for (vault, policy) in [
        (&arrival.vault_arn, &source),
        (&order.destination_vault_arn, &destination),
    ] {
        if let VaultPolicy::Unreadable(reason) = policy {
            info!(vault = %vault, %reason, decision = "copy", "vault access policy not read; StartCopyJob will tell");
        }
    }
    Ok(plan::one_step_refusal(
        &arrival.vault_arn,
        &source,
        &order.destination_vault_arn,
        &destination,
    ))
}

/// Shortens a source's retention once every destination of the route holds a completed copy.
async fn shorten_sources(
    arrival: &Arrival,
    plan: &Plan,
    deps: &Deps<'_>,
    alerts: &mut Vec<rearguard::alert::Alert>,
) -> Result<Vec<Value>, HandleError> {
    let mut changed = Vec::new();
    for shorten in &plan.shorten {
        let done = deps
            .api
            .completed_copies(&shorten.region, &shorten.resource_arn, &shorten.recovery_point_arn)
            .await
            .map_err(transient)?;
        let missing: Vec<&String> = shorten.destinations.iter().filter(|d| !done.contains(*d)).collect();
        if !missing.is_empty() {
            info!(route = %shorten.route, ?missing, decision = "wait", "source kept until every copy completes");
            continue;
        }
        let current = match deps
            .api
            .describe_point(&shorten.region, &shorten.vault_name, &shorten.recovery_point_arn)
            .await
        {
            Ok(facts) => facts.lifecycle,
            Err(e) if e.permanent() => {
                warn!(error = %e, "the source recovery point is gone; nothing to shorten");
                continue;
            }
            Err(e) => return Err(transient(e)),
        };
        let Some(lifecycle) = shortened(&current, shorten.days) else {
            info!(route = %shorten.route, ?current, decision = "keep", "the source already goes as soon as asked");
            continue;
        };
        if deps.dry_run {
            info!(action = "would_update_recovery_point_lifecycle", recovery_point = %shorten.recovery_point_arn, vault = %shorten.vault_name, region = %shorten.region, ?lifecycle, "dry run: not shortening");
        } else {
            match deps
                .api
                .update_lifecycle(
                    &shorten.region,
                    &shorten.vault_name,
                    &shorten.recovery_point_arn,
                    &lifecycle,
                )
                .await
            {
                Ok(()) => {
                    info!(action = "update_recovery_point_lifecycle", recovery_point = %shorten.recovery_point_arn, ?lifecycle, "source retention shortened")
                }
                Err(e) if e.permanent() => {
                    alerts.push(render::api_failed(
                        arrival,
                        "shorten the source recovery point's retention",
                        &e,
                        "A vault lock's minimum retention or a cold-storage minimum can forbid it; the source keeps its lifecycle.",
                    ));
                    continue;
                }
                Err(e) => return Err(transient(e)),
            }
        }
        let detail = json!({
            "route": shorten.route, "recoveryPointArn": shorten.recovery_point_arn, "vault": shorten.vault_name,
            "region": shorten.region, "lifecycle": lifecycle, "previous": current, "dryRun": deps.dry_run,
        });
        changed.push(detail);
    }
    Ok(changed)
}

async fn publish_all(deps: &Deps<'_>, alerts: &[rearguard::alert::Alert]) -> Result<(), HandleError> {
    for alert in alerts {
        let message_id = deps.publisher.publish(alert).await?;
        info!(subject = %alert.subject, message_id, "alert published");
    }
    Ok(())
}

/// Events are best-effort after the copies: a bus outage must not repeat an alert.
async fn put_event(deps: &Deps<'_>, detail_type: &str, detail: &Value, metrics: &mut Metrics) {
    let Some(events) = deps.events else { return };
    if let Err(e) = events.put(detail_type, detail).await {
        warn!(error = %e, detail_type, "custom event not put");
        metrics.count("EventFailures", &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::Failure;
    use rearguard::alert::{Alert, Severity};
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    const ISOLATED: &str = "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated";
    const DR: &str = "arn:aws:backup:us-west-2:111122223333:backup-vault:dr";
    const CHECK_ROLE: &str = "arn:aws:iam::444455556666:role/rearguard-vault-check";

    /// One ListBackupJobs call: the vault, ByCompleteAfter, ByCompleteBefore.
    type Listing = (
        Option<String>,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    );

    /// AWS as the handler sees it: per destination, what the vault check and StartCopyJob say.
    #[derive(Default)]
    struct FakeAws {
        vaults: BTreeMap<&'static str, Result<VaultStatus, ApiError>>,
        copies: BTreeMap<&'static str, ApiError>,
        existing: BTreeMap<&'static str, &'static str>,
        policies: BTreeMap<&'static str, &'static str>,
        started: Mutex<Vec<String>>,
        lifecycles: Mutex<Vec<Lifecycle>>,
        scans: Vec<crate::scan_wait::ScanSummary>,
        backups: Vec<crate::scan_wait::CompletedBackup>,
        listed: Mutex<Vec<Listing>>,
    }

    fn error(code: &str, failure: Failure) -> ApiError {
        ApiError {
            operation: "StartCopyJob",
            code: code.into(),
            message: "m".into(),
            failure,
        }
    }

    #[async_trait::async_trait]
    impl CopyApi for FakeAws {
        async fn describe_point(&self, _: &str, _: &str, _: &str) -> Result<PointFacts, ApiError> {
            Ok(PointFacts {
                status: "COMPLETED".into(),
                lifecycle: Lifecycle::delete_after(35),
                ..PointFacts::default()
            })
        }
        async fn key_is_aws_managed(&self, _: &str) -> Result<bool, ApiError> {
            Ok(false)
        }
        async fn db_cluster_engine(&self, _: &str) -> Result<Option<String>, ApiError> {
            Ok(None)
        }
        async fn vault_status(&self, vault_arn: &str) -> Result<VaultStatus, ApiError> {
            self.vaults
                .get(vault_arn)
                .cloned()
                .unwrap_or(Ok(VaultStatus::Exists(plan::RetentionBounds::default())))
        }
        async fn vault_access_policy(&self, vault_arn: &str) -> Result<VaultPolicy, ApiError> {
            Ok(self
                .policies
                .get(vault_arn)
                .map_or(VaultPolicy::None, |p| VaultPolicy::Document(p.to_string())))
        }
        async fn existing_copy(
            &self,
            order: &CopyOrder,
            _: &str,
            _: Option<chrono::DateTime<chrono::Utc>>,
        ) -> Result<Option<String>, ApiError> {
            Ok(self
                .existing
                .get(order.destination_vault_arn.as_str())
                .map(|id| id.to_string()))
        }
        async fn start_copy(&self, order: &CopyOrder) -> Result<String, ApiError> {
            if let Some(e) = self.copies.get(order.destination_vault_arn.as_str()) {
                return Err(e.clone());
            }
            self.started.lock().unwrap().push(order.destination_vault_arn.clone());
            self.lifecycles.lock().unwrap().push(order.lifecycle);
            Ok(format!("job-{}", self.started.lock().unwrap().len()))
        }
        async fn completed_copies(&self, _: &str, _: &str, _: &str) -> Result<BTreeSet<String>, ApiError> {
            Ok(BTreeSet::new())
        }
        async fn update_lifecycle(&self, _: &str, _: &str, _: &str, _: &Lifecycle) -> Result<(), ApiError> {
            Ok(())
        }
        async fn scan_jobs(&self, _: &str, _: &str) -> Result<Vec<crate::scan_wait::ScanSummary>, ApiError> {
            Ok(self.scans.clone())
        }
        async fn completed_backups(
            &self,
            _: &str,
            vault: Option<&str>,
            after: chrono::DateTime<chrono::Utc>,
            before: chrono::DateTime<chrono::Utc>,
        ) -> Result<Vec<crate::scan_wait::CompletedBackup>, ApiError> {
            self.listed
                .lock()
                .unwrap()
                .push((vault.map(str::to_string), after, before));
            Ok(self.backups.clone())
        }
    }

    struct NoTags;

    #[async_trait::async_trait]
    impl BackupTag for NoTags {
        async fn backup_tag(&self, _: &str, _: &str, _: &str) -> Result<Option<String>, String> {
            Ok(None)
        }
    }

    #[derive(Default)]
    struct Outbox(Mutex<Vec<Alert>>);

    #[async_trait::async_trait]
    impl PublishAlert for Outbox {
        async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
            self.0.lock().unwrap().push(alert.clone());
            Ok("m-1".into())
        }
    }

    async fn run(aws: &FakeAws, outbox: &Outbox) -> Result<Value, HandleError> {
        let routes = Routes::for_test(
            r#"[{"name": "offsite", "source_vaults": ["rearguard-production"], "destinations": ["isolated", "dr"],
                "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy"}]"#,
        );
        let event: Value = serde_json::from_str(include_str!("../../../events/backup-completed-ebs.json")).unwrap();
        run_with(aws, outbox, &routes, event).await
    }

    async fn run_with(aws: &FakeAws, outbox: &Outbox, routes: &Routes, event: Value) -> Result<Value, HandleError> {
        let deps = Deps {
            routes,
            home_account: "111122223333",
            api: aws,
            tags: &NoTags,
            publisher: outbox,
            events: None,
            ledger: None,
            dry_run: false,
            region: "eu-west-1",
            clean_scan_wait: chrono::Duration::hours(24),
        };
        handle(event, &deps, &mut Metrics::new("Test", "cross-account-copy")).await
    }

    #[tokio::test]
    async fn a_destination_without_its_check_role_is_copied_unchecked_beside_the_others_with_one_warning() {
        let aws = FakeAws {
            vaults: BTreeMap::from([(
                ISOLATED,
                Ok(VaultStatus::Unchecked {
                    role_arn: CHECK_ROLE.into(),
                    reason: "AssumeRole: AccessDenied".into(),
                }),
            )]),
            ..FakeAws::default()
        };
        let outbox = Outbox::default();

        let answer = run(&aws, &outbox).await.unwrap();

        assert_eq!(answer["copies"].as_array().unwrap().len(), 2, "{answer}");
        assert_eq!(*aws.started.lock().unwrap(), [ISOLATED, DR]);
        let alerts = outbox.0.lock().unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].severity, Severity::Warning);
        assert!(alerts[0].text.contains(CHECK_ROLE), "{}", alerts[0].text);
    }

    #[tokio::test]
    async fn a_transient_failure_of_one_destination_still_starts_the_others_then_asks_for_a_retry() {
        let aws = FakeAws {
            copies: BTreeMap::from([(ISOLATED, error("ServiceUnavailableException", Failure::Transient))]),
            ..FakeAws::default()
        };
        let outbox = Outbox::default();

        let result = run(&aws, &outbox).await;

        assert!(
            matches!(result, Err(HandleError::Aws(ref e)) if e.code == "ServiceUnavailableException"),
            "{result:?}"
        );
        assert_eq!(
            *aws.started.lock().unwrap(),
            [DR],
            "the same-account DR copy is started"
        );
        assert!(outbox.0.lock().unwrap().is_empty(), "alerts wait for the retry");
    }

    #[tokio::test]
    async fn a_copy_outside_the_destination_vault_lock_is_refused_before_it_starts() {
        let locked = plan::RetentionBounds {
            min_days: Some(1),
            max_days: Some(30),
        };
        let aws = FakeAws {
            vaults: BTreeMap::from([(ISOLATED, Ok(VaultStatus::Exists(locked)))]),
            ..FakeAws::default()
        };
        let outbox = Outbox::default();

        let answer = run(&aws, &outbox).await.unwrap();

        assert_eq!(answer["refused"], 1, "{answer}");
        assert_eq!(
            *aws.started.lock().unwrap(),
            [DR],
            "35 days inherited, above the 30 allowed"
        );
        let alert = &outbox.0.lock().unwrap()[0];
        assert_eq!(alert.document["detail"]["refused"][0]["refusal"]["code"], "VAULT_LOCK");
        assert_eq!(
            alert.document["detail"]["refused"][0]["refusal"]["bound"],
            "MaxRetentionDays"
        );
    }

    #[tokio::test]
    async fn a_copy_already_made_is_the_answer_and_nothing_is_started_again() {
        let aws = FakeAws {
            existing: BTreeMap::from([(ISOLATED, "copy-job-from-last-week")]),
            ..FakeAws::default()
        };
        let outbox = Outbox::default();

        let answer = run(&aws, &outbox).await.unwrap();

        assert_eq!(*aws.started.lock().unwrap(), [DR], "only the missing copy is started");
        let copies = answer["copies"].as_array().unwrap();
        assert_eq!(copies[0]["copyJobId"], "copy-job-from-last-week", "{answer}");
    }

    #[tokio::test]
    async fn a_permanent_refusal_of_one_destination_is_alerted_and_the_others_are_copied() {
        let aws = FakeAws {
            vaults: BTreeMap::from([(ISOLATED, Err(error("AccessDeniedException", Failure::Permanent)))]),
            ..FakeAws::default()
        };
        let outbox = Outbox::default();

        let answer = run(&aws, &outbox).await.unwrap();

        assert_eq!(
            (answer["copies"].as_array().unwrap().len(), answer["refused"].as_u64()),
            (1, Some(1))
        );
        assert_eq!(*aws.started.lock().unwrap(), [DR]);
        assert_eq!(outbox.0.lock().unwrap()[0].severity, Severity::Error);
    }

    /// An RDS snapshot from the `production` vault routed to a vault in another account and Region.
    async fn one_step(aws: &FakeAws, outbox: &Outbox) -> Result<Value, HandleError> {
        let routes = Routes::for_test(
            r#"[{"name": "offsite", "source_vaults": ["production"], "destinations": ["far"],
                "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy"}]"#,
        );
        let event: Value = serde_json::from_str(include_str!("../../../events/backup-completed-rds.json")).unwrap();
        run_with(aws, outbox, &routes, event).await
    }

    const PRODUCTION: &str = "arn:aws:backup:eu-west-1:111122223333:backup-vault:production";
    const FAR: &str = "arn:aws:backup:us-west-2:444455556666:backup-vault:far";
    const COPY_FROM_TO_FAR: &str = r#"{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": "backup:CopyFromBackupVault", "Resource": "*"}]}"#;
    const COPY_INTO_FROM_HOME: &str = r#"{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
        "Action": "backup:CopyIntoBackupVault", "Resource": "*"}]}"#;

    #[tokio::test]
    async fn an_rds_snapshot_goes_to_another_region_and_account_in_one_copy_when_both_vault_policies_allow_it() {
        let aws = FakeAws {
            policies: BTreeMap::from([(PRODUCTION, COPY_FROM_TO_FAR), (FAR, COPY_INTO_FROM_HOME)]),
            ..FakeAws::default()
        };
        let outbox = Outbox::default();

        let answer = one_step(&aws, &outbox).await.unwrap();

        assert_eq!(*aws.started.lock().unwrap(), [FAR], "{answer}");
        assert!(outbox.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn without_copy_from_in_the_source_vault_policy_the_one_step_copy_is_refused_naming_the_statement() {
        let aws = FakeAws {
            policies: BTreeMap::from([(FAR, COPY_INTO_FROM_HOME)]),
            ..FakeAws::default()
        };
        let outbox = Outbox::default();

        let answer = one_step(&aws, &outbox).await.unwrap();

        assert_eq!(answer["refused"], 1, "{answer}");
        assert!(aws.started.lock().unwrap().is_empty());
        let alert = &outbox.0.lock().unwrap()[0];
        let refusal = &alert.document["detail"]["refused"][0]["refusal"];
        assert_eq!(refusal["code"], "VAULT_POLICY");
        assert_eq!(refusal["side"], "source");
        assert_eq!(refusal["action"], "backup:CopyFromBackupVault");
        assert!(
            refusal["statement"]
                .as_str()
                .unwrap()
                .contains("arn:aws:iam::444455556666:root"),
            "{refusal}"
        );
        assert!(
            alert
                .text
                .contains("backup:CopyFromBackupVault to account 444455556666"),
            "{}",
            alert.text
        );
        assert!(
            alert
                .text
                .contains(r#""Principal": {"AWS": "arn:aws:iam::444455556666:root"}"#),
            "the statement to add: {}",
            alert.text
        );
    }

    #[tokio::test]
    async fn a_route_that_clamps_copies_within_the_vault_lock_instead_of_refusing() {
        let routes = Routes::for_test(
            r#"[{"name": "offsite", "source_vaults": ["rearguard-production"], "destinations": ["isolated", "dr"],
                "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy", "clamp_to_vault_lock": true}]"#,
        );
        let locked = plan::RetentionBounds {
            min_days: Some(1),
            max_days: Some(30),
        };
        let aws = FakeAws {
            vaults: BTreeMap::from([(ISOLATED, Ok(VaultStatus::Exists(locked)))]),
            ..FakeAws::default()
        };
        let outbox = Outbox::default();
        let event: Value = serde_json::from_str(include_str!("../../../events/backup-completed-ebs.json")).unwrap();

        let answer = run_with(&aws, &outbox, &routes, event).await.unwrap();

        assert_eq!(answer["refused"], 0, "{answer}");
        assert_eq!(*aws.started.lock().unwrap(), [ISOLATED, DR]);
        assert_eq!(
            *aws.lifecycles.lock().unwrap(),
            [Lifecycle::delete_after(30), Lifecycle::delete_after(35)],
            "35 days inherited, clamped to the 30 allowed; the unlocked vault keeps 35"
        );
        assert!(outbox.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_continuous_backup_is_not_copied_and_one_alert_says_why() {
        let routes = Routes::for_test(
            r#"[{"name": "offsite", "source_vaults": ["production"], "destinations": ["dr"],
                "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy"}]"#,
        );
        let mut event: Value = serde_json::from_str(include_str!("../../../events/backup-completed-rds.json")).unwrap();
        event["resources"] = json!(["arn:aws:backup:eu-west-1:111122223333:recovery-point:continuous:db-ABC-1a2b"]);
        let aws = FakeAws::default();
        let outbox = Outbox::default();

        let answer = run_with(&aws, &outbox, &routes, event).await.unwrap();

        assert_eq!(answer["refused"], 1, "{answer}");
        assert!(aws.started.lock().unwrap().is_empty());
        let alerts = outbox.0.lock().unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            alerts[0].document["detail"]["refused"][0]["refusal"]["code"],
            "CONTINUOUS_BACKUP"
        );
    }

    /// Copies from `production` to the isolated vault wait for a clean scan; to dr they do not.
    fn gated() -> Routes {
        Routes::for_test(
            r#"[{"name": "clean-only", "source_vaults": ["production"], "destinations": ["isolated"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy", "require_clean_scan": true},
                {"name": "nearby", "source_vaults": ["production"], "destinations": ["dr"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy"}]"#,
        )
    }

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
    }

    #[tokio::test]
    async fn a_completed_backup_starts_only_the_copy_that_does_not_wait_for_a_scan() {
        let aws = FakeAws::default();
        let outbox = Outbox::default();

        let answer = run_with(&aws, &outbox, &gated(), sample("backup-completed-rds"))
            .await
            .unwrap();

        assert_eq!(*aws.started.lock().unwrap(), [DR], "{answer}");
        assert_eq!(answer["skipped"], 1, "the isolated copy is held: {answer}");
        assert!(outbox.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_clean_scan_starts_the_copy_that_waited_for_it_and_nothing_else() {
        let aws = FakeAws::default();
        let outbox = Outbox::default();

        let answer = run_with(&aws, &outbox, &gated(), sample("scan-no-threats-found"))
            .await
            .unwrap();

        assert_eq!(*aws.started.lock().unwrap(), [ISOLATED], "{answer}");
        assert!(outbox.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn threats_found_refuse_the_waiting_copy_with_one_error_naming_point_resource_and_scan() {
        let aws = FakeAws::default();
        let outbox = Outbox::default();

        let answer = run_with(&aws, &outbox, &gated(), sample("scan-threats-found"))
            .await
            .unwrap();

        assert!(aws.started.lock().unwrap().is_empty(), "{answer}");
        let alerts = outbox.0.lock().unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].severity, Severity::Error);
        for named in [
            "arn:aws:backup:eu-west-1:111122223333:recovery-point:9c8b7a6d-1234-4abc-9def-0123456789ab",
            "arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
            "4f3e2d1c-aaaa-4bbb-8ccc-1234567890ab",
        ] {
            assert!(alerts[0].text.contains(named), "{named} in {}", alerts[0].text);
        }
        assert_eq!(
            alerts[0].document["detail"]["refused"][0]["refusal"]["code"],
            "MALWARE_FOUND"
        );
    }

    #[tokio::test]
    async fn a_failed_scan_refuses_the_waiting_copy_as_not_proven_clean() {
        let aws = FakeAws::default();
        let outbox = Outbox::default();

        run_with(&aws, &outbox, &gated(), sample("scan-failed")).await.unwrap();

        assert!(aws.started.lock().unwrap().is_empty());
        let alerts = outbox.0.lock().unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].severity, Severity::Error);
        assert!(
            alerts[0].text.contains("ended FAILED without proving"),
            "{}",
            alerts[0].text
        );
    }

    #[tokio::test]
    async fn a_clean_rescan_of_a_point_found_infected_before_does_not_copy_it() {
        let aws = FakeAws {
            scans: vec![crate::scan_wait::ScanSummary {
                scan_job_id: "first-scan".into(),
                state: "COMPLETED".into(),
                result: Some("THREATS_FOUND".into()),
            }],
            ..FakeAws::default()
        };
        let outbox = Outbox::default();

        run_with(&aws, &outbox, &gated(), sample("scan-no-threats-found"))
            .await
            .unwrap();

        assert!(aws.started.lock().unwrap().is_empty());
        let alerts = outbox.0.lock().unwrap();
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].text.contains("first-scan"), "{}", alerts[0].text);
    }

    #[tokio::test]
    async fn a_scan_of_a_vault_no_waiting_copy_reads_is_ignored_without_aws_calls() {
        let aws = FakeAws::default();
        let outbox = Outbox::default();
        let plain = Routes::for_test(
            r#"[{"name": "nearby", "source_vaults": ["production"], "destinations": ["dr"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy"}]"#,
        );

        let answer = run_with(&aws, &outbox, &plain, sample("scan-threats-found"))
            .await
            .unwrap();

        assert_eq!(answer["status"], "no_route");
        assert!(aws.started.lock().unwrap().is_empty() && outbox.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_scan_of_another_accounts_point_is_not_this_functions_to_copy() {
        let aws = FakeAws::default();
        let outbox = Outbox::default();
        let mut event = sample("scan-no-threats-found");
        event["detail"]["backupVaultArn"] = json!("arn:aws:backup:eu-west-1:999988887777:backup-vault:production");

        let answer = run_with(&aws, &outbox, &gated(), event).await.unwrap();

        assert_eq!(answer["status"], "no_route", "{answer}");
        assert!(aws.started.lock().unwrap().is_empty());
    }

    /// A delivery ledger in memory.
    #[derive(Default)]
    struct Ledger(Mutex<BTreeMap<String, bool>>);

    #[async_trait::async_trait]
    impl DeliveryLedger for Ledger {
        async fn claim(
            &self,
            key: &str,
            _: chrono::DateTime<chrono::Utc>,
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<rearguard::store::Claim, StoreError> {
            let mut keys = self.0.lock().unwrap();
            Ok(match keys.get(key) {
                Some(true) => rearguard::store::Claim::AlreadyDone,
                Some(false) => rearguard::store::Claim::InProgress,
                None => {
                    keys.insert(key.into(), false);
                    rearguard::store::Claim::Acquired
                }
            })
        }
        async fn complete(&self, key: &str, _: chrono::DateTime<chrono::Utc>) -> Result<(), StoreError> {
            self.0.lock().unwrap().insert(key.into(), true);
            Ok(())
        }
        async fn release(&self, key: &str) -> Result<(), StoreError> {
            self.0.lock().unwrap().remove(key);
            Ok(())
        }
    }

    fn completed_backup() -> crate::scan_wait::CompletedBackup {
        crate::scan_wait::CompletedBackup {
            job_id: "job-7".into(),
            recovery_point_arn: "arn:aws:rds:eu-west-1:111122223333:snapshot:awsbackup:job-7".into(),
            vault_arn: PRODUCTION.into(),
            resource_arn: "arn:aws:rds:eu-west-1:111122223333:db:orders".into(),
            resource_type: "RDS".into(),
            on_demand: false,
            created: None,
            completed: "2026-11-20T03:30:00Z".parse().unwrap(),
        }
    }

    async fn sweep(aws: &FakeAws, outbox: &Outbox, ledger: &Ledger, dry_run: bool) -> Value {
        let routes = gated();
        let deps = Deps {
            routes: &routes,
            home_account: "111122223333",
            api: aws,
            tags: &NoTags,
            publisher: outbox,
            events: None,
            ledger: Some(ledger),
            dry_run,
            region: "eu-west-1",
            clean_scan_wait: chrono::Duration::hours(24),
        };
        let event = sample("scheduled-event");
        handle(event, &deps, &mut Metrics::new("Test", "cross-account-copy"))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_sweep_warns_once_about_a_backup_whose_scan_never_came() {
        let aws = FakeAws {
            backups: vec![completed_backup()],
            ..FakeAws::default()
        };
        let outbox = Outbox::default();
        let ledger = Ledger::default();

        let first = sweep(&aws, &outbox, &ledger, false).await;
        let second = sweep(&aws, &outbox, &ledger, false).await;

        assert_eq!(first["held"][0]["heldDestinations"][0], ISOLATED, "{first}");
        assert_eq!(second["held"], first["held"], "still held an hour later");
        let alerts = outbox.0.lock().unwrap();
        assert_eq!(alerts.len(), 1, "once per point: {alerts:#?}");
        assert_eq!(alerts[0].severity, Severity::Warning);
        assert!(
            alerts[0].text.contains("after 24 h: the copy to isolated"),
            "{}",
            alerts[0].text
        );
        // Only the gated route's vault, the backups that completed a day or more before the
        // schedule's own time.
        let event_time: chrono::DateTime<chrono::Utc> =
            sample("scheduled-event")["time"].as_str().unwrap().parse().unwrap();
        let listed = aws.listed.lock().unwrap();
        assert_eq!(listed[0].0.as_deref(), Some("production"));
        assert_eq!(listed[0].2, event_time - chrono::Duration::hours(24));
    }

    #[tokio::test]
    async fn a_backup_with_a_completed_scan_is_not_held_and_dry_run_only_logs() {
        let scanned = FakeAws {
            backups: vec![completed_backup()],
            scans: vec![crate::scan_wait::ScanSummary {
                scan_job_id: "s".into(),
                state: "COMPLETED".into(),
                result: Some("NO_THREATS_FOUND".into()),
            }],
            ..FakeAws::default()
        };
        let outbox = Outbox::default();
        let answer = sweep(&scanned, &outbox, &Ledger::default(), false).await;
        assert_eq!(answer["held"], json!([]), "{answer}");

        let unscanned = FakeAws {
            backups: vec![completed_backup()],
            ..FakeAws::default()
        };
        let ledger = Ledger::default();
        let answer = sweep(&unscanned, &outbox, &ledger, true).await;
        assert_eq!(answer["held"].as_array().unwrap().len(), 1, "{answer}");
        assert!(outbox.0.lock().unwrap().is_empty(), "dry run publishes nothing");
        assert!(ledger.0.lock().unwrap().is_empty(), "and records nothing");
    }
}

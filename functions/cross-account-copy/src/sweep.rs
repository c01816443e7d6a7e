//! The hourly sweep (an EventBridge schedule in template.yaml): copies that require a clean
//! malware scan start on the scan's event, so a scan that never comes would hold them silently.
//! The sweep lists the backups of the gated routes' vaults that completed at least the wait
//! (`CLEAN_SCAN_WAIT_HOURS`) ago and, for each whose recovery point has no COMPLETED scan,
//! warns once that its copies are held.

use rearguard::metrics::Metrics;
use rearguard::store::{Claim, Deliveries};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tracing::{info, warn};

use crate::handler::{Deps, HandleError, transient};
use crate::render;
use crate::scan_wait::{self, CompletedBackup};

pub async fn run(
    now: chrono::DateTime<chrono::Utc>,
    deps: &Deps<'_>,
    metrics: &mut Metrics,
) -> Result<Value, HandleError> {
    if deps.routes.gated().next().is_none() {
        info!(decision = "nothing_to_sweep", "no copy requires a clean malware scan");
        return Ok(json!({"status": "no_gated_routes"}));
    }
    let (after, before) = scan_wait::window(now, deps.clean_scan_wait);
    let vaults: Vec<Option<String>> = match scan_wait::source_vaults(deps.routes) {
        Some(names) => names.into_iter().map(Some).collect(),
        None => vec![None],
    };
    let mut backups: BTreeMap<String, CompletedBackup> = BTreeMap::new();
    for vault in &vaults {
        for backup in deps
            .api
            .completed_backups(deps.region, vault.as_deref(), after, before)
            .await
            .map_err(transient)?
        {
            backups.entry(backup.recovery_point_arn.clone()).or_insert(backup);
        }
    }
    let wait_hours = deps.clean_scan_wait.num_hours();
    let ledger = Deliveries::new(deps.ledger, scan_wait::alert_retention());
    let mut tags: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut held_points = Vec::new();
    for backup in backups.values() {
        let arrival = scan_wait::arrival_of(backup);
        let tag = match arrival
            .tag_region(deps.home_account)
            .filter(|_| deps.routes.reads_tags())
        {
            Some(region) => match tags.get(&backup.resource_arn) {
                Some(tag) => tag.clone(),
                None => {
                    let tag = deps
                        .tags
                        .backup_tag(&backup.resource_arn, region, &deps.routes.backup_tag_key)
                        .await
                        .map_err(HandleError::Tagging)?;
                    tags.insert(backup.resource_arn.clone(), tag.clone());
                    tag
                }
            },
            None => None,
        };
        let held = scan_wait::held_copies(deps.routes, &arrival, tag.as_deref());
        if held.is_empty() {
            continue;
        }
        let scans = deps
            .api
            .scan_jobs(deps.region, &backup.recovery_point_arn)
            .await
            .map_err(transient)?;
        if scan_wait::scanned(&scans) {
            continue;
        }
        let Some(alert) = render::scan_overdue(&arrival, &held, wait_hours, &scans) else {
            continue;
        };
        metrics.count("CopiesHeldForScan", &[]);
        held_points.push(json!({"recoveryPointArn": backup.recovery_point_arn, "heldDestinations": held}));
        if deps.dry_run {
            info!(action = "would_alert", recovery_point = %backup.recovery_point_arn, completed = %backup.completed, ?held, wait_hours, subject = %alert.subject, "dry run: not alerting that the copies wait for a scan");
            continue;
        }
        let key = scan_wait::alert_key(&backup.recovery_point_arn);
        match ledger.claim(&key, now, now + chrono::Duration::minutes(15)).await? {
            Claim::Acquired => {}
            Claim::AlreadyDone | Claim::InProgress => {
                info!(recovery_point = %backup.recovery_point_arn, decision = "already_alerted", "the held copies were already alerted");
                continue;
            }
        }
        match deps.publisher.publish(&alert).await {
            Ok(message_id) => {
                warn!(action = "alert", recovery_point = %backup.recovery_point_arn, ?held, wait_hours, message_id, "no malware scan within the wait: copies held");
                ledger.complete(&key, now).await;
            }
            Err(e) => {
                ledger.release(&key).await;
                return Err(e.into());
            }
        }
    }
    info!(backups = backups.len(), held = held_points.len(), after = %after, before = %before, "sweep of the copies waiting for a clean scan done");
    Ok(json!({"status": "swept", "backups": backups.len(), "held": held_points, "dryRun": deps.dry_run}))
}

//! The copies that wait for a clean malware scan, when the scan never comes: which completed
//! backups to look at, which of their copies are held, and whether a scan has ended. Pure; the
//! hourly sweep (`sweep.rs`) gathers the facts and alerts.

use chrono::{DateTime, Duration, Utc};

use crate::routes::{Candidate, Routes};
use crate::trigger::{Arrival, Origin, Trigger};

/// How far back, beyond the wait, a sweep looks: a point missed by a week of failed sweeps is
/// still found. The wait plus this stays within the 30 days ListBackupJobs and ListScanJobs
/// cover ("ListBackupJobs", "ListScanJobs": "for the last 30 days").
pub const LOOKBACK_DAYS: i64 = 7;

/// The longest wait the setting accepts: with the look-back, inside those 30 days.
pub const MAX_WAIT_HOURS: u64 = 21 * 24;

/// A backup job that completed, as ListBackupJobs reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedBackup {
    pub job_id: String,
    pub recovery_point_arn: String,
    pub vault_arn: String,
    pub resource_arn: String,
    pub resource_type: String,
    /// No backup plan made it (`CreatedBy` names none).
    pub on_demand: bool,
    pub created: Option<DateTime<Utc>>,
    pub completed: DateTime<Utc>,
}

/// One malware scan of a recovery point, as ListScanJobs reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSummary {
    pub scan_job_id: String,
    pub state: String,
    pub result: Option<String>,
}

/// The backups a sweep at `now` looks at: those that completed at least `wait` ago, and at most
/// the look-back before that.
pub fn window(now: DateTime<Utc>, wait: Duration) -> (DateTime<Utc>, DateTime<Utc>) {
    let before = now - wait;
    (before - Duration::days(LOOKBACK_DAYS), before)
}

/// Whether a scan of the point has ended with a verdict (COMPLETED, clean or not). Its
/// `Scan Job State Change` event started or refused the copy; nothing is missing.
pub fn scanned(scans: &[ScanSummary]) -> bool {
    scans.iter().any(|s| s.state == "COMPLETED")
}

/// The completed backup as an arrival in its vault.
pub fn arrival_of(backup: &CompletedBackup) -> Arrival {
    let arn = rearguard::arn::Arn::parse(&backup.vault_arn);
    Arrival {
        event_id: String::new(),
        job_id: backup.job_id.clone(),
        job_created: backup.created,
        recovery_point_arn: backup.recovery_point_arn.clone(),
        vault_name: rearguard::arn::vault_name(&backup.vault_arn).to_string(),
        vault_arn: backup.vault_arn.clone(),
        account: arn.as_ref().map_or("", |a| a.account).to_string(),
        region: arn.as_ref().map_or("", |a| a.region).to_string(),
        resource_arn: backup.resource_arn.clone(),
        resource_type: backup.resource_type.clone(),
        origin: Origin::Backup {
            on_demand: backup.on_demand,
        },
        trigger: Trigger::Completion,
    }
}

/// The destinations whose copies of this backup wait for a clean scan (routes with
/// `require_clean_scan` that take it), each once.
pub fn held_copies(routes: &Routes, arrival: &Arrival, backup_tag: Option<&str>) -> Vec<String> {
    let candidate = Candidate {
        vault_name: &arrival.vault_name,
        resource_type: &arrival.resource_type,
        backup_tag,
        on_demand: arrival.origin.on_demand(),
    };
    let mut held: Vec<String> = Vec::new();
    for route in routes.gated().filter(|r| r.matches(&candidate)) {
        for destination in &route.destinations {
            if *destination != arrival.vault_arn && !held.contains(destination) {
                held.push(destination.clone());
            }
        }
    }
    held
}

/// The vaults a sweep lists: the gated routes' source vaults, or `None` when one takes any vault.
pub fn source_vaults(routes: &Routes) -> Option<Vec<String>> {
    let mut vaults: Vec<String> = Vec::new();
    for route in routes.gated() {
        for vault in &route.source_vaults {
            if vault == "*" {
                return None;
            }
            if !vaults.contains(vault) {
                vaults.push(vault.clone());
            }
        }
    }
    Some(vaults)
}

/// The delivery-ledger key that makes the alert about one point's missing scan go out once.
pub fn alert_key(recovery_point_arn: &str) -> String {
    format!("clean-scan-wait:{recovery_point_arn}")
}

/// How long the ledger keeps that key: as long as a sweep can still list the backup.
pub fn alert_retention() -> Duration {
    Duration::days(LOOKBACK_DAYS + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        Routes::for_test(
            r#"[{"name": "offsite", "source_vaults": ["rearguard-production"], "destinations": ["isolated", "dr"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/c", "require_clean_scan": true, "jobs": "plan"},
                {"name": "also-offsite", "source_vaults": ["rearguard-production"], "destinations": ["isolated"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/c", "require_clean_scan": true},
                {"name": "nearby", "source_vaults": ["production"], "destinations": ["dr"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/c"}]"#,
        )
    }

    fn backup(vault: &str, on_demand: bool) -> CompletedBackup {
        CompletedBackup {
            job_id: "job-1".into(),
            recovery_point_arn: "arn:aws:ec2:eu-west-1::snapshot/snap-1".into(),
            vault_arn: format!("arn:aws:backup:eu-west-1:111122223333:backup-vault:{vault}"),
            resource_arn: "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1".into(),
            resource_type: "EBS".into(),
            on_demand,
            created: None,
            completed: DateTime::parse_from_rfc3339("2026-11-20T03:30:00Z").unwrap().to_utc(),
        }
    }

    fn summary(state: &str, result: Option<&str>) -> ScanSummary {
        ScanSummary {
            scan_job_id: "s".into(),
            state: state.into(),
            result: result.map(str::to_string),
        }
    }

    #[test]
    fn a_sweep_looks_at_backups_that_completed_at_least_the_wait_ago_and_a_week_before() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().to_utc();
        let (after, before) = window(now, Duration::hours(24));
        assert_eq!(before.to_rfc3339(), "2026-11-20T12:00:00+00:00");
        assert_eq!(after.to_rfc3339(), "2026-11-13T12:00:00+00:00");
        assert!(MAX_WAIT_HOURS as i64 + LOOKBACK_DAYS * 24 < 30 * 24);
    }

    #[test]
    fn only_a_completed_scan_ends_the_wait_whatever_its_result() {
        assert!(!scanned(&[]));
        assert!(!scanned(&[summary("FAILED", None), summary("RUNNING", None)]));
        assert!(scanned(&[summary("COMPLETED", Some("THREATS_FOUND"))]));
        assert!(scanned(&[
            summary("FAILED", None),
            summary("COMPLETED", Some("NO_THREATS_FOUND"))
        ]));
    }

    #[test]
    fn the_held_copies_are_the_gated_routes_destinations_that_take_the_backup_each_once() {
        let routes = routes();
        let isolated = "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated";
        let dr = "arn:aws:backup:us-west-2:111122223333:backup-vault:dr";
        let plan_backup = arrival_of(&backup("rearguard-production", false));
        assert_eq!(held_copies(&routes, &plan_backup, None), [isolated, dr]);
        // The plan-only route does not take an on-demand backup; the other gated route does.
        let on_demand = arrival_of(&backup("rearguard-production", true));
        assert_eq!(held_copies(&routes, &on_demand, None), [isolated]);
        // A vault only a plain route reads holds nothing.
        assert!(held_copies(&routes, &arrival_of(&backup("production", false)), None).is_empty());
    }

    #[test]
    fn a_sweep_lists_the_gated_routes_source_vaults_or_every_vault() {
        assert_eq!(source_vaults(&routes()), Some(vec!["rearguard-production".to_string()]));
        let any = Routes::for_test(
            r#"[{"name": "offsite", "source_vaults": ["*"], "destinations": ["isolated"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/c", "require_clean_scan": true}]"#,
        );
        assert_eq!(source_vaults(&any), None);
    }
}

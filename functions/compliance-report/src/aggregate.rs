//! The report as a pure function of the inventory, the policy and the report time: per plan,
//! which resources are protected within their RPO, stale, never backed up or opted out, whether
//! their copies are recent enough and their vault locked; and which resources carry no plan.

use chrono::{DateTime, Utc};
use rearguard::policy::LockMode;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::inventory::{BackupRecord, Inventory, Resource, VaultLock};
use crate::policy::{CopyRule, LockRule, PlanRule, Policy};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub generated_at: DateTime<Utc>,
    pub plans: Vec<PlanReport>,
    /// Resources of in-scope types without the plan tag: the gap tag-based selections cannot see.
    pub untagged: Vec<Resource>,
    /// Resources whose tag names a plan the policy does not know.
    pub unknown_plan: Vec<Flagged>,
    pub opted_out: Vec<Flagged>,
    /// The headline: resources that meet every requirement of their plan, out of every resource
    /// that should be protected (plan members, unknown plans and untagged in-scope resources).
    pub overall: Coverage,
    /// Accounts and regions that could not be read: their resources are missing from the figures.
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub expected: usize,
    pub protected: usize,
    pub percent: f64,
}

impl Coverage {
    pub(crate) fn of(expected: usize, protected: usize) -> Coverage {
        let percent = if expected == 0 {
            100.0
        } else {
            // One decimal, rounded down: 99.95% must not read as 100%.
            ((protected as f64 / expected as f64) * 1000.0).floor() / 10.0
        };
        Coverage {
            expected,
            protected,
            percent,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flagged {
    pub resource: Resource,
    /// The opt-out reason, or the unknown plan's name; `None` for an opt-out without a reason.
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stale {
    pub resource: Resource,
    pub last_backup: DateTime<Utc>,
    pub age_hours: f64,
    /// Why a newer backup does not count (its recovery point expired or was deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newer_lost: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReport {
    pub plan: String,
    pub rpo_hours: i64,
    /// Members whose newest existing backup is within the RPO.
    pub coverage: Coverage,
    /// Members that meet every requirement of the plan: RPO, copies, and the locked vault.
    pub fully_protected: usize,
    pub stale: Vec<Stale>,
    pub never_backed_up: Vec<Resource>,
    pub copy: Option<CopyStatus>,
    pub vault_lock: Option<LockStatus>,
    /// The plan's "clean RPO", when its members' backups are scanned for malware.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean: Option<CleanStatus>,
    /// The last successful restore test per resource type of the members, when restore tests run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drills: Vec<DrillStatus>,
}

/// The newest successful restore test of a plan's members of one resource type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillStatus {
    pub resource_type: String,
    /// When the newest restore test of these members completed and validated SUCCESSFUL.
    pub last_successful_at: Option<DateTime<Utc>>,
    /// Older than the restore tests' schedule and grace allow ([`crate::drill_age`]), or never.
    pub stale: bool,
}

/// How old the newest malware-free recovery point of each member is: the recovery day starts
/// from a point proven clean, so the oldest of them is the plan's clean RPO.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanStatus {
    /// Members with a recovery point a scan found clean.
    pub scanned_clean: usize,
    /// The oldest of those members' newest clean points, in hours.
    pub clean_rpo_hours: f64,
    /// Members with no clean point at all.
    pub never_clean: Vec<Resource>,
}

impl PlanReport {
    /// Every expected resource within its RPO, copies too, and the vault locked where required.
    pub fn compliant(&self) -> bool {
        self.fully_protected == self.coverage.expected && self.vault_lock.as_ref().is_none_or(|l| l.holds)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyStatus {
    pub rpo_hours: i64,
    pub destinations: Vec<String>,
    pub within_rpo: usize,
    /// Resources whose newest copy is older than the copy RPO, or that have none.
    pub missing: Vec<MissingCopy>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingCopy {
    pub resource: Resource,
    /// When the backup behind the newest copy was taken (a copy is as old as its source).
    pub last_copy: Option<DateTime<Utc>>,
}

/// What a vault lock is worth ("AWS Backup Vault Lock": a governance-mode lock can be removed by
/// anyone with the IAM permissions; a compliance-mode lock can be deleted until its lock date,
/// "after the lock date, the vault lock becomes immutable"). Ordered from worst to best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockState {
    Missing,
    NotLocked,
    Governance,
    /// Compliance mode, still inside the grace time before its lock date.
    CoolingOff,
    /// Compliance mode past its lock date: nobody can remove it.
    Compliance,
}

impl LockState {
    pub fn of(vault: &VaultLock, now: DateTime<Utc>) -> LockState {
        match (vault.found, vault.locked, vault.lock_date) {
            (false, _, _) => LockState::Missing,
            (true, false, _) => LockState::NotLocked,
            (true, true, None) => LockState::Governance,
            (true, true, Some(at)) if at > now => LockState::CoolingOff,
            (true, true, Some(_)) => LockState::Compliance,
        }
    }

    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            LockState::Missing => "vault missing",
            LockState::NotLocked => "vault NOT locked",
            LockState::Governance => "governance lock (removable)",
            LockState::CoolingOff => "compliance lock still removable (before its lock date)",
            LockState::Compliance => "vault locked (compliance, immutable)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockStatus {
    pub vault: VaultLock,
    pub state: LockState,
    /// The lock is what the plan requires: mode, lock date past (compliance), retention floor.
    pub holds: bool,
    /// What falls short besides the state, e.g. a `MinRetentionDays` below the plan's promise.
    pub problems: Vec<String>,
    /// Members whose newest backup is in another vault, outside the lock.
    pub outside_vault: Vec<Resource>,
}

impl Report {
    /// Only the requested plans' rows (every row when none is asked for). Resources are
    /// classified against the whole policy first, so a narrowed report does not count another
    /// plan's members as "unknown plan"; the overall figure covers the rows kept.
    pub fn narrowed_to(mut self, plans: &[String]) -> Report {
        if plans.is_empty() {
            return self;
        }
        self.plans.retain(|p| plans.contains(&p.plan));
        let expected = self.plans.iter().map(|p| p.coverage.expected).sum();
        let protected = self.plans.iter().map(|p| p.fully_protected).sum();
        self.overall = Coverage::of(expected, protected);
        self
    }
}

/// Hours from `then` to `now`, to the minute.
fn age_hours(now: DateTime<Utc>, then: DateTime<Utc>) -> f64 {
    ((now - then).num_seconds() as f64 / 3600.0 * 60.0).round() / 60.0
}

pub fn aggregate(inventory: &Inventory, policy: &Policy, now: DateTime<Utc>) -> Report {
    // Newest backup and newest copy per destination, in one pass each.
    let mut last_backup: HashMap<&str, &BackupRecord> = HashMap::with_capacity(inventory.resources.len());
    for backup in &inventory.backups {
        let entry = last_backup.entry(backup.resource_arn.as_str()).or_insert(backup);
        if backup.completed_at > entry.completed_at {
            *entry = backup;
        }
    }
    let mut last_clean: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for clean in &inventory.clean {
        let entry = last_clean
            .entry(clean.resource_arn.as_str())
            .or_insert(clean.point_created_at);
        *entry = (*entry).max(clean.point_created_at);
    }
    let mut last_drill: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for drill in &inventory.drills {
        let entry = last_drill
            .entry(drill.resource_arn.as_str())
            .or_insert(drill.validated_at);
        *entry = (*entry).max(drill.validated_at);
    }
    let mut last_copy: HashMap<(&str, &str), DateTime<Utc>> = HashMap::new();
    for copy in &inventory.copies {
        let key = (copy.resource_arn.as_str(), copy.destination_vault_arn.as_str());
        let entry = last_copy.entry(key).or_insert(copy.source_created_at);
        *entry = (*entry).max(copy.source_created_at);
    }

    let mut by_plan: BTreeMap<&str, Vec<&Resource>> = policy.plans.keys().map(|p| (p.as_str(), Vec::new())).collect();
    let mut untagged = Vec::new();
    let mut unknown_plan = Vec::new();
    let mut opted_out = Vec::new();
    for resource in &inventory.resources {
        let Some(value) = resource.tags.get(&policy.tag_key) else {
            if policy.resource_types.contains(&resource.resource_type) {
                untagged.push(resource.clone());
            }
            continue;
        };
        if let Some(opt_out) = policy.opt_out.as_ref().filter(|o| &o.value == value) {
            let reason = resource
                .tags
                .get(&opt_out.reason_tag_key)
                .filter(|r| !r.trim().is_empty());
            opted_out.push(Flagged {
                resource: resource.clone(),
                value: reason.cloned(),
            });
            continue;
        }
        match by_plan.get_mut(value.as_str()) {
            Some(members) => members.push(resource),
            None => unknown_plan.push(Flagged {
                resource: resource.clone(),
                value: Some(value.clone()),
            }),
        }
    }

    let history = History {
        last_backup: &last_backup,
        last_copy: &last_copy,
        last_clean: &last_clean,
        last_drill: (!last_drill.is_empty()).then_some(&last_drill),
        vaults: &inventory.vaults,
        drill_age: &policy.drill_age,
        now,
    };
    let plans: Vec<PlanReport> = by_plan
        .into_iter()
        .map(|(name, members)| plan_report(name, &policy.plans[name], &members, &history))
        .collect();
    // Every resource that should be protected counts: an untagged one is in no plan's selection.
    let expected = plans.iter().map(|p| p.coverage.expected).sum::<usize>() + unknown_plan.len() + untagged.len();
    let protected = plans.iter().map(|p| p.fully_protected).sum();
    Report {
        generated_at: now,
        plans,
        untagged,
        unknown_plan,
        opted_out,
        overall: Coverage::of(expected, protected),
        unreadable: inventory.unreadable.clone(),
    }
}

/// What the plans are judged against, indexed once.
struct History<'a> {
    last_backup: &'a HashMap<&'a str, &'a BackupRecord>,
    last_copy: &'a HashMap<(&'a str, &'a str), DateTime<Utc>>,
    last_clean: &'a HashMap<&'a str, DateTime<Utc>>,
    /// Each resource's newest successful restore test; `None` where no restore test ran at all.
    last_drill: Option<&'a HashMap<&'a str, DateTime<Utc>>>,
    vaults: &'a [VaultLock],
    drill_age: &'a crate::drill_age::DrillAge,
    now: DateTime<Utc>,
}

fn plan_report(name: &str, rule: &PlanRule, members: &[&Resource], history: &History) -> PlanReport {
    let now = history.now;
    let rpo = chrono::Duration::hours(rule.rpo_hours);
    let mut within: HashSet<&str> = HashSet::new();
    let mut stale = Vec::new();
    let mut never_backed_up = Vec::new();
    for resource in members {
        match history.last_backup.get(resource.arn.as_str()) {
            // Exactly at the RPO is still within it.
            Some(backup) if now - backup.completed_at <= rpo => {
                within.insert(resource.arn.as_str());
            }
            Some(backup) => stale.push(Stale {
                resource: (*resource).clone(),
                last_backup: backup.completed_at,
                age_hours: age_hours(now, backup.completed_at),
                newer_lost: backup.newer_lost.clone(),
            }),
            None => never_backed_up.push((*resource).clone()),
        }
    }
    // The worst offenders first.
    stale.sort_by(|a, b| {
        a.last_backup
            .cmp(&b.last_backup)
            .then_with(|| a.resource.arn.cmp(&b.resource.arn))
    });
    never_backed_up.sort_by(|a, b| a.arn.cmp(&b.arn));

    let copy = rule.copy.as_ref().map(|copy| copy_status(copy, members, history));
    let vault_lock = rule
        .locked_vault
        .as_ref()
        .map(|lock| lock_status(lock, members, history));
    let copy_late: HashSet<&str> = copy
        .iter()
        .flat_map(|c| c.missing.iter().map(|m| m.resource.arn.as_str()))
        .collect();
    let fully_protected = match &vault_lock {
        Some(lock) if !lock.holds => 0,
        _ => members
            .iter()
            .map(|r| r.arn.as_str())
            .filter(|arn| within.contains(arn) && !copy_late.contains(arn))
            .filter(|arn| {
                vault_lock
                    .as_ref()
                    .is_none_or(|l| l.outside_vault.iter().all(|r| r.arn != *arn))
            })
            .count(),
    };
    PlanReport {
        plan: name.to_string(),
        rpo_hours: rule.rpo_hours,
        coverage: Coverage::of(members.len(), within.len()),
        fully_protected,
        stale,
        never_backed_up,
        copy,
        vault_lock,
        clean: clean_status(members, history),
        drills: drill_status(members, history),
    }
}

/// Per resource type of the members, the newest successful restore test of any of them.
fn drill_status(members: &[&Resource], history: &History) -> Vec<DrillStatus> {
    let Some(last_drill) = history.last_drill else {
        return Vec::new();
    };
    let mut by_type: BTreeMap<&str, Option<DateTime<Utc>>> = BTreeMap::new();
    for resource in members {
        let newest = by_type.entry(resource.resource_type.as_str()).or_default();
        if let Some(at) = last_drill.get(resource.arn.as_str()) {
            *newest = Some(newest.map_or(*at, |n| n.max(*at)));
        }
    }
    by_type
        .into_iter()
        .map(|(kind, last)| DrillStatus {
            resource_type: kind.to_string(),
            last_successful_at: last,
            stale: history.drill_age.is_stale(last, history.now),
        })
        .collect()
}

/// `None` when none of the plan's members has a clean point (its backups are not scanned).
fn clean_status(members: &[&Resource], history: &History) -> Option<CleanStatus> {
    let newest: Vec<DateTime<Utc>> = members
        .iter()
        .filter_map(|r| history.last_clean.get(r.arn.as_str()).copied())
        .collect();
    let oldest = newest.iter().min()?;
    let mut never_clean: Vec<Resource> = members
        .iter()
        .filter(|r| !history.last_clean.contains_key(r.arn.as_str()))
        .map(|r| (*r).clone())
        .collect();
    never_clean.sort_by(|a, b| a.arn.cmp(&b.arn));
    Some(CleanStatus {
        scanned_clean: newest.len(),
        clean_rpo_hours: age_hours(history.now, *oldest),
        never_clean,
    })
}

fn copy_status(copy: &CopyRule, members: &[&Resource], history: &History) -> CopyStatus {
    let mut missing = Vec::new();
    for resource in members {
        let partition = rearguard::arn::Arn::parse(&resource.arn).map_or("aws", |a| a.partition);
        // Each required copy, in the vault it names for this resource's account and Region.
        let newest: Vec<Option<DateTime<Utc>>> = copy
            .required
            .iter()
            .map(|(vault, _)| {
                let arn = vault.arn_for(partition, &resource.account, &resource.region);
                history.last_copy.get(&(resource.arn.as_str(), arn.as_str())).copied()
            })
            .collect();
        let late = copy
            .required
            .iter()
            .zip(&newest)
            .any(|((_, rpo_hours), at)| at.is_none_or(|at| history.now - at > chrono::Duration::hours(*rpo_hours)));
        if late {
            missing.push(MissingCopy {
                resource: (*resource).clone(),
                // The oldest of the newest copies: the one that is late.
                last_copy: newest.iter().copied().min().flatten(),
            });
        }
    }
    missing.sort_by(|a, b| {
        a.last_copy
            .cmp(&b.last_copy)
            .then_with(|| a.resource.arn.cmp(&b.resource.arn))
    });
    CopyStatus {
        rpo_hours: copy.rpo_hours(),
        destinations: copy.required.iter().map(|(vault, _)| vault.key.clone()).collect(),
        within_rpo: members.len() - missing.len(),
        missing,
    }
}

fn lock_status(rule: &LockRule, members: &[&Resource], history: &History) -> LockStatus {
    let judged = |vault: &VaultLock| {
        let state = LockState::of(vault, history.now);
        let mut problems = Vec::new();
        if vault.locked {
            match (vault.min_retention_days, rule.promised_days) {
                (Some(min), Some(promised)) if min < promised => problems.push(format!(
                    "MinRetentionDays {min} is below the {promised} days the plan promises"
                )),
                (None, Some(promised)) => problems.push(format!(
                    "no MinRetentionDays: a backup's retention can be cut below the {promised} days the plan promises"
                )),
                _ => {}
            }
        }
        let mode_holds = match rule.lock.mode {
            LockMode::Compliance => state == LockState::Compliance,
            LockMode::Governance => state >= LockState::Governance,
        };
        (state, mode_holds && problems.is_empty(), problems)
    };
    // The plan's vault in every account and Region read; the report is as good as the worst.
    let worst = history
        .vaults
        .iter()
        .filter(|v| rule.vault.is_at(&v.vault_arn))
        .map(|v| (v, judged(v)))
        .min_by_key(|(_, (state, holds, _))| (*holds, *state));
    let (vault, (state, holds, problems)) = match worst {
        Some((vault, judgement)) => (vault.clone(), judgement),
        None => {
            let missing = VaultLock {
                vault_arn: rule.vault.name().to_string(),
                found: false,
                locked: false,
                min_retention_days: None,
                max_retention_days: None,
                lock_date: None,
            };
            let judgement = judged(&missing);
            (missing, judgement)
        }
    };
    // A backup in another vault is not under the lock ("ListProtectedResources":
    // LastBackupVaultArn is the vault of the resource's newest backup).
    let mut outside_vault: Vec<Resource> = members
        .iter()
        .filter(|r| {
            history
                .last_backup
                .get(r.arn.as_str())
                .and_then(|b| b.vault_arn.as_deref())
                .is_some_and(|arn| !rule.vault.is_at(arn))
        })
        .map(|r| (*r).clone())
        .collect();
    outside_vault.sort_by(|a, b| a.arn.cmp(&b.arn));
    LockStatus {
        vault,
        state,
        holds,
        problems,
        outside_vault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{BackupRecord, CopyRecord};
    use chrono::TimeZone;

    const DR: &str = "arn:aws:backup:us-west-2:111122223333:backup-vault:dr";
    const LOCKED: &str = "arn:aws:backup:eu-west-1:111122223333:backup-vault:compliance";

    fn policy() -> Policy {
        Policy::parse(
            r#"{"opt_out": {"value": "none", "reason_tag_key": "backup-opt-out-reason"},
                "vaults": {"dr": {"region": "us-west-2"}, "compliance": {}},
                "plans": {
                  "production": {"rpo_hours": 24, "copies": [{"vault": "dr", "rpo_hours": 48}]},
                  "staging": {"rpo_hours": 168},
                  "compliance": {"rpo_hours": 744, "vault": "compliance", "vault_lock": {"mode": "compliance"}}}}"#,
        )
        .unwrap()
    }

    fn resource(name: &str, tags: &[(&str, &str)]) -> Resource {
        Resource {
            arn: format!("arn:aws:ec2:eu-west-1:111122223333:instance/{name}"),
            resource_type: "EC2".into(),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            stopped: false,
            cannot_back_up: None,
        }
    }

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0).unwrap()
    }

    fn backup(name: &str, when: DateTime<Utc>) -> BackupRecord {
        BackupRecord {
            resource_arn: format!("arn:aws:ec2:eu-west-1:111122223333:instance/{name}"),
            completed_at: when,
            vault_arn: None,
            newer_lost: None,
        }
    }

    fn plan<'r>(report: &'r Report, name: &str) -> &'r PlanReport {
        report.plans.iter().find(|p| p.plan == name).unwrap()
    }

    #[test]
    fn exactly_at_the_rpo_is_protected_one_minute_later_is_stale() {
        let now = at(26, 3, 0);
        let inventory = Inventory {
            resources: vec![
                resource("i-at", &[("backup-plan", "staging")]),
                resource("i-late", &[("backup-plan", "staging")]),
            ],
            backups: vec![backup("i-at", at(19, 3, 0)), backup("i-late", at(19, 2, 59))],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &policy(), now);
        let staging = plan(&report, "staging");
        assert_eq!((staging.coverage.expected, staging.coverage.protected), (2, 1));
        assert_eq!(staging.stale.len(), 1);
        assert!(staging.stale[0].resource.arn.ends_with("i-late"));
        assert!((staging.stale[0].age_hours - (168.0 + 1.0 / 60.0)).abs() < 1e-9);
        assert_eq!(staging.coverage.percent, 50.0);
    }

    #[test]
    fn never_backed_up_and_the_newest_of_many_backups() {
        let now = at(26, 12, 0);
        let inventory = Inventory {
            resources: vec![
                resource("i-never", &[("backup-plan", "production")]),
                resource("i-many", &[("backup-plan", "production")]),
            ],
            backups: vec![
                backup("i-many", at(20, 1, 0)),
                backup("i-many", at(26, 1, 0)),
                backup("i-many", at(22, 1, 0)),
            ],
            ..Inventory::default()
        };
        let production = aggregate(&inventory, &policy(), now)
            .plans
            .into_iter()
            .find(|p| p.plan == "production")
            .unwrap();
        assert_eq!(production.coverage.protected, 1);
        assert_eq!(production.never_backed_up.len(), 1);
        assert!(production.never_backed_up[0].arn.ends_with("i-never"));
        assert!(production.stale.is_empty());
    }

    #[test]
    fn opt_outs_are_listed_with_reasons_and_not_expected() {
        let inventory = Inventory {
            resources: vec![
                resource(
                    "i-scratch",
                    &[("backup-plan", "none"), ("backup-opt-out-reason", "rebuilt nightly")],
                ),
                resource("i-silent", &[("backup-plan", "none")]),
                resource("i-typo", &[("backup-plan", "prodution")]),
                resource("i-bare", &[("Name", "bare")]),
            ],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &policy(), at(26, 0, 0));
        assert_eq!(report.opted_out.len(), 2);
        assert_eq!(report.opted_out[0].value.as_deref(), Some("rebuilt nightly"));
        assert_eq!(report.opted_out[1].value, None, "no reason");
        assert_eq!(report.unknown_plan[0].value.as_deref(), Some("prodution"));
        assert_eq!(report.untagged.len(), 1);
        assert!(report.plans.iter().all(|p| p.coverage.expected == 0));
        assert_eq!(
            (report.overall.expected, report.overall.protected),
            (2, 0),
            "an unknown plan and an untagged resource count as unprotected"
        );
    }

    #[test]
    fn a_stopped_instance_is_still_expected() {
        let mut stopped = resource("i-stopped", &[("backup-plan", "production")]);
        stopped.stopped = true;
        let inventory = Inventory {
            resources: vec![stopped],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &policy(), at(26, 0, 0));
        let production = plan(&report, "production");
        assert_eq!(production.coverage.expected, 1);
        assert!(production.never_backed_up[0].stopped);
    }

    #[test]
    fn the_clock_at_midnight_counts_hours_not_dates() {
        // Backed up at 23:59 on the 25th; the report runs at 00:00 on the 26th, and 24 h later.
        let inventory = Inventory {
            resources: vec![resource("i-1", &[("backup-plan", "production")])],
            backups: vec![backup("i-1", at(25, 23, 59))],
            ..Inventory::default()
        };
        let midnight = aggregate(&inventory, &policy(), at(26, 0, 0));
        assert_eq!(plan(&midnight, "production").coverage.protected, 1);
        let next_midnight = aggregate(&inventory, &policy(), at(27, 0, 0));
        assert_eq!(plan(&next_midnight, "production").coverage.protected, 0);
        let a_minute_before = aggregate(&inventory, &policy(), at(26, 23, 59));
        assert_eq!(plan(&a_minute_before, "production").coverage.protected, 1);
    }

    #[test]
    fn copies_count_per_destination_within_their_own_rpo() {
        let now = at(26, 12, 0);
        let copy = |name: &str, vault: &str, when| CopyRecord {
            resource_arn: format!("arn:aws:ec2:eu-west-1:111122223333:instance/{name}"),
            destination_vault_arn: vault.to_string(),
            source_created_at: when,
        };
        let inventory = Inventory {
            resources: vec![
                resource("i-copied", &[("backup-plan", "production")]),
                resource("i-old-copy", &[("backup-plan", "production")]),
                resource("i-elsewhere", &[("backup-plan", "production")]),
            ],
            backups: vec![backup("i-copied", at(26, 1, 0))],
            copies: vec![
                copy("i-copied", DR, at(25, 12, 0)),
                copy("i-old-copy", DR, at(24, 11, 59)),
                copy(
                    "i-elsewhere",
                    "arn:aws:backup:eu-west-1:111122223333:backup-vault:other",
                    at(26, 0, 0),
                ),
            ],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &policy(), now);
        let copies = plan(&report, "production").copy.as_ref().unwrap();
        assert_eq!(copies.within_rpo, 1);
        assert_eq!(copies.missing.len(), 2);
        assert_eq!(copies.missing[0].last_copy, None, "no copy at all comes first");
        assert!(!plan(&report, "production").compliant());
    }

    fn lock(locked: bool, lock_date: Option<DateTime<Utc>>, min: Option<i64>) -> VaultLock {
        VaultLock {
            vault_arn: LOCKED.into(),
            found: true,
            locked,
            min_retention_days: min,
            max_retention_days: min,
            lock_date,
        }
    }

    fn seven_years() -> Policy {
        Policy::parse(
            r#"{"vaults": {"compliance": {}}, "plans": {"compliance": {"rpo_hours": 744, "retention_days": 2557,
                "vault": "compliance", "vault_lock": {"mode": "compliance", "min_retention_days": 2557}}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_required_lock_is_reported_missing_until_the_vault_is_locked() {
        let report = aggregate(&Inventory::default(), &policy(), at(26, 0, 0));
        let status = plan(&report, "compliance").vault_lock.as_ref().unwrap();
        assert_eq!(status.state, LockState::Missing);
        assert!(!plan(&report, "compliance").compliant());
        let locked = Inventory {
            vaults: vec![lock(true, Some(at(20, 0, 0)), Some(2557))],
            ..Inventory::default()
        };
        let report = aggregate(&locked, &policy(), at(26, 0, 0));
        assert_eq!(
            plan(&report, "compliance").vault_lock.as_ref().unwrap().state,
            LockState::Compliance
        );
        assert!(plan(&report, "compliance").compliant());
        assert_eq!(report.overall.percent, 100.0, "nothing expected: fully covered");
    }

    #[test]
    fn only_a_compliance_lock_past_its_lock_date_is_a_lock_a_compliance_plan_accepts() {
        let now = at(26, 0, 0);
        let judged = |vault: VaultLock| {
            let inventory = Inventory {
                resources: vec![resource("i-ledger", &[("backup-plan", "compliance")])],
                backups: vec![backup("i-ledger", at(25, 0, 0))],
                vaults: vec![vault],
                ..Inventory::default()
            };
            let report = aggregate(&inventory, &seven_years(), now);
            let lock = plan(&report, "compliance").vault_lock.clone().unwrap();
            (lock.state, lock.holds, plan(&report, "compliance").fully_protected)
        };
        assert_eq!(judged(lock(true, None, Some(2557))), (LockState::Governance, false, 0));
        assert_eq!(
            judged(lock(true, Some(at(27, 0, 0)), Some(2557))),
            (LockState::CoolingOff, false, 0),
            "a compliance lock can still be deleted before its lock date"
        );
        assert_eq!(judged(lock(false, None, None)), (LockState::NotLocked, false, 0));
        assert_eq!(
            judged(lock(true, Some(at(25, 0, 0)), Some(2557))),
            (LockState::Compliance, true, 1)
        );
    }

    #[test]
    fn a_lock_whose_minimum_retention_is_below_the_plans_promise_does_not_hold() {
        let inventory = Inventory {
            vaults: vec![lock(true, Some(at(1, 0, 0)), Some(2555))],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &seven_years(), at(26, 0, 0));
        let status = plan(&report, "compliance").vault_lock.clone().unwrap();
        assert_eq!(status.state, LockState::Compliance);
        assert!(!status.holds);
        assert_eq!(
            status.problems,
            ["MinRetentionDays 2555 is below the 2557 days the plan promises"]
        );
    }

    #[test]
    fn a_member_backed_up_into_another_vault_is_outside_the_lock() {
        let mut elsewhere = backup("i-elsewhere", at(25, 0, 0));
        elsewhere.vault_arn = Some("arn:aws:backup:eu-west-1:111122223333:backup-vault:Default".into());
        let mut inside = backup("i-inside", at(25, 0, 0));
        inside.vault_arn = Some(LOCKED.into());
        let inventory = Inventory {
            resources: vec![
                resource("i-elsewhere", &[("backup-plan", "compliance")]),
                resource("i-inside", &[("backup-plan", "compliance")]),
            ],
            backups: vec![elsewhere, inside],
            vaults: vec![lock(true, Some(at(1, 0, 0)), Some(2557))],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &seven_years(), at(26, 0, 0));
        let compliance = plan(&report, "compliance");
        assert_eq!(compliance.coverage.protected, 2, "both are within the RPO");
        assert_eq!(compliance.fully_protected, 1);
        let outside = &compliance.vault_lock.as_ref().unwrap().outside_vault;
        assert_eq!(outside.len(), 1);
        assert!(outside[0].arn.ends_with("i-elsewhere"));
    }

    #[test]
    fn the_headline_counts_untagged_resources_and_missing_copies() {
        let now = at(26, 12, 0);
        let inventory = Inventory {
            resources: vec![
                resource("i-good", &[("backup-plan", "production")]),
                resource("i-no-copy", &[("backup-plan", "production")]),
                resource("i-bare", &[]),
            ],
            backups: vec![backup("i-good", at(26, 1, 0)), backup("i-no-copy", at(26, 1, 0))],
            copies: vec![CopyRecord {
                resource_arn: resource("i-good", &[]).arn,
                destination_vault_arn: DR.into(),
                source_created_at: at(26, 1, 0),
            }],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &policy(), now);
        assert_eq!(plan(&report, "production").coverage.protected, 2, "both within the RPO");
        assert_eq!(
            (report.overall.expected, report.overall.protected),
            (3, 1),
            "one of three meets every requirement"
        );
    }

    #[test]
    fn the_last_successful_drill_per_type_is_stale_after_eight_days_and_absent_without_restore_tests() {
        let now = at(26, 12, 0);
        let mut table = resource("orders", &[("backup-plan", "production")]);
        table.resource_type = "DynamoDB".into();
        let drill = |name: &str, when| crate::inventory::DrillRecord {
            resource_arn: format!("arn:aws:ec2:eu-west-1:111122223333:instance/{name}"),
            validated_at: when,
        };
        let mut inventory = Inventory {
            resources: vec![
                resource("i-drilled", &[("backup-plan", "production")]),
                resource("i-other", &[("backup-plan", "production")]),
                table,
                resource("i-staging", &[("backup-plan", "staging")]),
            ],
            ..Inventory::default()
        };
        assert!(
            plan(&aggregate(&inventory, &policy(), now), "production")
                .drills
                .is_empty(),
            "no restore tests"
        );

        inventory.drills = vec![
            drill("i-drilled", at(20, 5, 0)),
            drill("i-drilled", at(24, 5, 0)),
            drill("i-staging", at(17, 11, 0)),
        ];
        let report = aggregate(&inventory, &policy(), now);

        let production = &plan(&report, "production").drills;
        assert_eq!(production.len(), 2, "{production:?}");
        assert_eq!(production[0].resource_type, "DynamoDB");
        assert_eq!(
            (production[0].last_successful_at, production[0].stale),
            (None, true),
            "never drilled"
        );
        assert_eq!(production[1].resource_type, "EC2");
        assert_eq!(
            (production[1].last_successful_at, production[1].stale),
            (Some(at(24, 5, 0)), false)
        );
        let staging = &plan(&report, "staging").drills[0];
        assert!(staging.stale, "9 days old: {staging:?}");
    }

    #[test]
    fn the_clean_rpo_is_the_oldest_newest_clean_point_and_unscanned_plans_have_none() {
        let now = at(26, 12, 0);
        let clean = |name: &str, when| crate::inventory::CleanRecord {
            resource_arn: resource(name, &[]).arn,
            point_created_at: when,
        };
        let inventory = Inventory {
            resources: vec![
                resource("i-fresh", &[("backup-plan", "production")]),
                resource("i-older", &[("backup-plan", "production")]),
                resource("i-unscanned", &[("backup-plan", "production")]),
                resource("i-stage", &[("backup-plan", "staging")]),
            ],
            clean: vec![
                clean("i-fresh", at(26, 6, 0)),
                clean("i-older", at(20, 12, 0)),
                clean("i-older", at(25, 12, 0)),
            ],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &policy(), now);
        let production = plan(&report, "production").clean.clone().unwrap();
        assert_eq!(production.scanned_clean, 2);
        assert!(
            (production.clean_rpo_hours - 24.0).abs() < 1e-9,
            "the newest clean point of i-older"
        );
        assert!(production.never_clean[0].arn.ends_with("i-unscanned"));
        assert_eq!(plan(&report, "staging").clean, None);
    }

    #[test]
    fn a_copy_is_as_old_as_the_backup_it_copies() {
        // Copied an hour ago, of a backup taken a week ago: stale for a 48 h copy RPO.
        let now = at(26, 12, 0);
        let inventory = Inventory {
            resources: vec![resource("i-1", &[("backup-plan", "production")])],
            backups: vec![backup("i-1", at(26, 1, 0))],
            copies: vec![CopyRecord {
                resource_arn: resource("i-1", &[]).arn,
                destination_vault_arn: DR.into(),
                source_created_at: at(19, 11, 0),
            }],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &policy(), now);
        let copy = plan(&report, "production").copy.clone().unwrap();
        assert_eq!(copy.within_rpo, 0);
        assert_eq!(copy.missing[0].last_copy, Some(at(19, 11, 0)));
    }

    #[test]
    fn coverage_rounds_down_so_almost_is_not_all() {
        assert_eq!(Coverage::of(2000, 1999).percent, 99.9);
        assert_eq!(Coverage::of(3, 1).percent, 33.3);
        assert_eq!(Coverage::of(0, 0).percent, 100.0);
    }

    #[test]
    fn a_narrowed_report_keeps_the_requested_plans_and_counts_no_other_plan_as_unknown() {
        let now = at(26, 6, 0);
        let inventory = Inventory {
            resources: vec![
                resource("i-prod", &[("backup-plan", "production")]),
                resource("i-stage", &[("backup-plan", "staging")]),
                resource("i-comp", &[("backup-plan", "compliance")]),
            ],
            backups: vec![backup("i-prod", at(26, 3, 0))],
            ..Inventory::default()
        };
        let report = aggregate(&inventory, &policy(), now).narrowed_to(&["production".to_string()]);
        assert_eq!(
            report.plans.iter().map(|p| p.plan.as_str()).collect::<Vec<_>>(),
            ["production"]
        );
        assert!(report.unknown_plan.is_empty(), "{:?}", report.unknown_plan);
        assert_eq!(report.plans[0].coverage.protected, 1);
        assert_eq!(
            (report.overall.expected, report.overall.protected),
            (1, 0),
            "within the RPO, but its copy is missing"
        );
    }
}

//! The pure decision: for a recovery point that arrived in a vault, which copies to start, which
//! to refuse (and why), and whether the source's retention can be shortened. No I/O here; the
//! handler gathers the facts and carries the plan out.

use rearguard::arn::{Arn, vault_name};
use serde::Serialize;
use std::collections::BTreeSet;

use crate::lifecycle::{self, Lifecycle, LifecycleSource};
use crate::routes::{Candidate, Route, Routes};
use crate::token::copy_token;
use crate::trigger::{Arrival, Origin, Trigger, Verdict};
use crate::vault_policy::{self, COPY_FROM, COPY_INTO, Grant, VaultPolicy};

/// The database types whose AWS Backup recovery points are snapshots of the database itself,
/// the one list every snapshot rule here uses.
pub const DATABASE_SNAPSHOT_TYPES: &[&str] = &["RDS", "Aurora", "DocumentDB", "Neptune"];

/// Whether a type's recovery points keep the protected resource's KMS key: EBS snapshots, EC2
/// AMIs and the database snapshots do, the others take the vault's ("Encryption for a backup copy
/// to a different account or AWS Region"). Under an AWS managed key such a recovery point cannot
/// be shared with, or copied to, another account.
pub fn keeps_resource_key(resource_type: &str) -> bool {
    matches!(resource_type, "EC2" | "EBS") || DATABASE_SNAPSHOT_TYPES.contains(&resource_type)
}

/// Whether a database snapshot can go to another Region *and* another account in one copy job.
/// RDS, Aurora and Neptune can, since February 2026, when both vaults' access policies allow it
/// (Amazon RDS User Guide, *Copying a DB snapshot for Amazon RDS*; Aurora User Guide, *DB cluster
/// snapshot copying*; Neptune User Guide, *Copying a DB Cluster Snapshot*: "in a single step").
/// DocumentDB still cannot (Amazon DocumentDB Developer Guide, *Copying Amazon DocumentDB cluster
/// snapshots*: "you can't copy a cluster snapshot across AWS Regions and AWS accounts in a single
/// step").
pub fn copies_region_and_account_in_one_step(resource_type: &str) -> bool {
    DATABASE_SNAPSHOT_TYPES.contains(&resource_type) && resource_type != "DocumentDB"
}

/// A DynamoDB backup made without AWS Backup's advanced features (`table/T/backup/…`, a
/// DynamoDB ARN): only advanced backups can be copied to another account or Region ("Advanced
/// DynamoDB backup").
pub fn is_dynamodb_native_backup(recovery_point_arn: &str) -> bool {
    Arn::parse(recovery_point_arn)
        .is_some_and(|a| a.service == "dynamodb" && a.resource.starts_with("table/") && a.resource.contains("/backup/"))
}

/// The DB cluster a backup was taken of, when its resource is an RDS DB cluster of a type that
/// may be a Multi-AZ DB cluster (`arn:…:rds:…:cluster:name`, typed RDS or Aurora).
pub fn rds_cluster_of<'a>(resource_arn: &'a str, resource_type: &str) -> Option<&'a str> {
    let arn = Arn::parse(resource_arn)?;
    (arn.service == "rds" && matches!(resource_type, "RDS" | "Aurora"))
        .then(|| arn.resource.strip_prefix("cluster:"))
        .flatten()
}

/// Whether an RDS DB cluster's engine makes it a Multi-AZ DB cluster: a DB cluster that is not
/// Aurora, DocumentDB or Neptune ("Multi-AZ DB cluster deployments for Amazon RDS").
pub fn is_multi_az_db_cluster_engine(engine: &str) -> bool {
    !(engine.starts_with("aurora") || engine == "docdb" || engine == "neptune")
}

/// What DescribeRecoveryPoint (and KMS DescribeKey) say about the arrived recovery point.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointFacts {
    pub status: String,
    pub in_cold_storage: bool,
    pub lifecycle: Lifecycle,
    pub key_arn: Option<String>,
    pub key_is_aws_managed: bool,
    /// A snapshot of a Multi-AZ DB cluster (RDS DescribeDBClusters says its engine).
    pub multi_az_db_cluster: bool,
    /// When the backup was taken (`CreationDate`).
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    /// No backup plan made it (`CreatedBy` names none).
    pub on_demand: bool,
}

/// Continuous backups (point-in-time recovery) are named `recovery-point:continuous:…`. They
/// cannot be copied on demand: StartCopyJob "does not support continuous backups" (API
/// Reference, *StartCopyJob*), and "AWS Backup does not support on-demand copies of continuous
/// backups" (*Copying continuous backups*); only a backup plan rule's copy action copies them,
/// as a snapshot without point-in-time restore (*Backup and tag copy*).
pub fn is_continuous(recovery_point_arn: &str) -> bool {
    recovery_point_arn.contains(":recovery-point:continuous:")
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyOrder {
    pub route: String,
    pub recovery_point_arn: String,
    pub source_vault_name: String,
    /// StartCopyJob runs in the recovery point's own region.
    pub region: String,
    pub destination_vault_arn: String,
    pub role_arn: String,
    pub lifecycle: Lifecycle,
    pub lifecycle_source: LifecycleSource,
    pub idempotency_token: String,
    /// A copy into the route's re-encrypting vault, to be copied on when it completes.
    pub hop: bool,
    /// A database snapshot going to another Region and account in one copy: both vaults' access
    /// policies must allow it, and are read before the copy starts.
    pub one_step: bool,
    /// Outside the destination vault's Vault Lock bounds, keep the copy within them instead of
    /// refusing it (the route's `clamp_to_vault_lock`).
    pub clamp_to_vault_lock: bool,
}

/// A destination vault's Vault Lock retention bounds (DescribeBackupVault `MinRetentionDays`,
/// `MaxRetentionDays`); `None` where the vault sets none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionBounds {
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
}

/// *AWS Backup Vault Lock*: a copy job whose retention is shorter than the vault's
/// MinRetentionDays, or longer than its MaxRetentionDays, is failed by the vault. A copy kept
/// forever (no DeleteAfterDays, as one inheriting a "never expire" source is) is longer than any
/// maximum. Such a copy is refused before it starts, naming the bound.
pub fn vault_lock_refusal(lifecycle: &Lifecycle, bounds: &RetentionBounds) -> Option<Refusal> {
    let kept = lifecycle.delete_after_days;
    let refuse = |bound: &str, bound_days: i64| Refusal::VaultLock {
        bound: bound.to_string(),
        bound_days,
        retention_days: kept,
    };
    if let (Some(min), Some(days)) = (bounds.min_days, kept)
        && days < min
    {
        return Some(refuse("MinRetentionDays", min));
    }
    match (bounds.max_days, kept) {
        (Some(max), None) => Some(refuse("MaxRetentionDays", max)),
        (Some(max), Some(days)) if days > max => Some(refuse("MaxRetentionDays", max)),
        _ => None,
    }
}

/// A one-step copy (another Region and account) needs the source vault's access policy to allow
/// `backup:CopyFromBackupVault` to the destination account, and the destination vault's to allow
/// `backup:CopyIntoBackupVault` to the source account. A policy that cannot be read, or whose
/// statement hangs on a condition that cannot be judged here, is no reason to refuse.
pub fn one_step_refusal(
    source_vault_arn: &str,
    source_policy: &VaultPolicy,
    destination_vault_arn: &str,
    destination_policy: &VaultPolicy,
) -> Option<Refusal> {
    let (Some(source), Some(destination)) = (Arn::parse(source_vault_arn), Arn::parse(destination_vault_arn)) else {
        return None;
    };
    let sides = [
        (
            "source",
            source_vault_arn,
            source_policy,
            COPY_FROM,
            destination.account,
        ),
        (
            "destination",
            destination_vault_arn,
            destination_policy,
            COPY_INTO,
            source.account,
        ),
    ];
    sides
        .into_iter()
        .find_map(|(side, vault_arn, policy, action, account)| {
            let grant = vault_policy::judge(policy, action, account)?;
            matches!(grant, Grant::Missing | Grant::Denied).then(|| Refusal::VaultPolicy {
                vault_arn: vault_arn.to_string(),
                side: side.to_string(),
                action: action.to_string(),
                account: account.to_string(),
                denied: grant == Grant::Denied,
                statement: vault_policy::missing_statement(action, account, source.partition),
            })
        })
}

/// The lifecycle a copy refused by the vault's Vault Lock gets when its route clamps instead: its
/// retention moved to the nearer bound (a copy kept forever to MaxRetentionDays). `None` when the
/// copy is within the bounds, or when the clamped retention would break the 90 days in cold
/// storage that a move to cold storage needs (then it is refused).
pub fn vault_lock_clamp(lifecycle: &Lifecycle, bounds: &RetentionBounds) -> Option<Lifecycle> {
    let Refusal::VaultLock { bound_days, .. } = vault_lock_refusal(lifecycle, bounds)? else {
        return None;
    };
    let clamped = Lifecycle {
        delete_after_days: Some(bound_days),
        ..*lifecycle
    };
    clamped.validate().ok().map(|()| clamped)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Refusal {
    ColdStorage,
    ContinuousBackup,
    AwsManagedKey {
        key_arn: String,
        destination_account: String,
    },
    Lifecycle {
        message: String,
    },
    NotCopyable {
        status: String,
    },
    MultiAzDbCluster,
    DynamoDbNativeBackup,
    NotInOneStep {
        resource_type: String,
    },
    VaultPolicy {
        vault_arn: String,
        /// `source` or `destination`.
        side: String,
        action: String,
        account: String,
        denied: bool,
        statement: String,
    },
    UnknownVault {
        message: String,
    },
    VaultLock {
        bound: String,
        bound_days: i64,
        retention_days: Option<i64>,
    },
    CopyRejected {
        error_code: String,
        message: String,
    },
    /// The copy waits for a clean scan, and the scan found malware.
    MalwareFound {
        scan_job_id: String,
    },
    /// The copy waits for a clean scan, and the scan ended without proving the point clean.
    ScanNotClean {
        scan_job_id: String,
        state: String,
    },
}

impl Refusal {
    pub fn reason(&self) -> String {
        match self {
            Refusal::ColdStorage => {
                "the recovery point is in cold storage, and AWS Backup cannot copy it from there".into()
            }
            Refusal::ContinuousBackup => {
                "it is a continuous backup (point-in-time recovery), and AWS Backup makes no on-demand copy of one (API StartCopyJob: \"Does not support continuous backups\"; \"Copying continuous backups\")".into()
            }
            Refusal::AwsManagedKey {
                key_arn,
                destination_account,
            } => format!(
                "the snapshot is encrypted with an AWS managed KMS key ({key_arn}), which cannot be shared with account {destination_account}"
            ),
            Refusal::Lifecycle { message } => format!("the copy's lifecycle is invalid: {message}"),
            Refusal::NotCopyable { status } => format!("the recovery point is {status}"),
            Refusal::MultiAzDbCluster => {
                "copying a Multi-AZ DB cluster snapshot is not supported (Amazon RDS, \"Limitations of Multi-AZ DB clusters\")".into()
            }
            Refusal::DynamoDbNativeBackup => {
                "the DynamoDB backup was made without AWS Backup's advanced DynamoDB features, and only advanced backups can be copied to another account or Region".into()
            }
            Refusal::NotInOneStep { resource_type } => format!(
                "{resource_type} snapshots cannot be copied to another Region and another account in one copy (Amazon DocumentDB Developer Guide, \"Copying Amazon DocumentDB cluster snapshots\")"
            ),
            Refusal::VaultPolicy {
                vault_arn,
                side,
                action,
                account,
                denied,
                statement,
            } => {
                let says = if *denied {
                    "denies"
                } else {
                    "has no statement allowing"
                };
                format!(
                    "the {side} vault's access policy ({vault_arn}) {says} {action} to account {account}, which a copy to another Region and account in one step needs; the statement it needs: {statement}"
                )
            }
            Refusal::UnknownVault { message } => format!("the destination vault is unknown or unreachable: {message}"),
            Refusal::VaultLock {
                bound,
                bound_days,
                retention_days,
            } => {
                let kept = retention_days.map_or("forever (it never expires)".to_string(), |d| format!("{d} days"));
                let limit = if bound == "MinRetentionDays" {
                    "at least"
                } else {
                    "at most"
                };
                format!(
                    "the destination vault's Vault Lock keeps copies {limit} {bound_days} days ({bound}), and this copy would be kept {kept}; the vault would fail the copy job"
                )
            }
            Refusal::CopyRejected { error_code, message } => {
                format!("AWS Backup rejected the copy ({error_code}): {message}")
            }
            Refusal::MalwareFound { scan_job_id } => format!(
                "the malware scan {scan_job_id} found threats in the recovery point (THREATS_FOUND), and this copy takes only backups scanned clean"
            ),
            Refusal::ScanNotClean { scan_job_id, state } => format!(
                "the malware scan {scan_job_id} ended {state} without proving the recovery point clean, and this copy takes only backups scanned clean"
            ),
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Refusal::ColdStorage => "Restore it to warm storage first, or copy a newer recovery point.",
            Refusal::ContinuousBackup => {
                "Give the backup plan rule that makes it a copy action (AWS Backup then copies a snapshot of the resource, without point-in-time restore), or route the plan's snapshot backups instead and leave continuous ones out of the route."
            }
            Refusal::AwsManagedKey { .. } => {
                "Give the route a \"reencrypt\" vault with a customer managed key (the copy goes there first, then on), or encrypt the resource with a customer managed key."
            }
            Refusal::Lifecycle { .. } => {
                "Fix the route's lifecycle: delete at least 90 days after the move to cold storage, and every number of days at least 1."
            }
            Refusal::NotCopyable { .. } => "Nothing to copy; the next backup will be copied.",
            Refusal::MultiAzDbCluster => {
                "Protect the cluster another way (a cross-Region read replica, or snapshots exported to S3), or take the copies out of the route."
            }
            Refusal::DynamoDbNativeBackup => {
                "Turn on advanced DynamoDB backup in AWS Backup's settings for this Region (UpdateGlobalSettings / UpdateRegionSettings); later backups can then be copied."
            }
            Refusal::NotInOneStep { .. } => {
                "Copy it to a vault of this account in the other Region and to the other account in this Region (two destinations), or deploy cross-account-copy in the other Region to copy on from there."
            }
            Refusal::VaultPolicy { .. } => {
                "Add that statement to the vault's access policy (and remove any Deny of it); template.yaml (CopyDestinationAccounts) and templates/destination-account.yaml grant it."
            }
            Refusal::UnknownVault { .. } => {
                "Deploy templates/destination-account.yaml in the destination account and region, or fix the destination ARN in COPY_ROUTES."
            }
            Refusal::VaultLock { .. } => {
                "Give the route a lifecycle whose delete_after_days is within the vault's MinRetentionDays and MaxRetentionDays, or copy to another vault."
            }
            Refusal::CopyRejected { .. } => {
                "Check that the copy role may be passed (iam:PassRole) and that the destination vault's access policy lets this account copy in."
            }
            Refusal::MalwareFound { .. } => {
                "Do not restore this recovery point; see GuardDuty's malware findings for the resource. The next backup scanned clean is copied."
            }
            Refusal::ScanNotClean { .. } => {
                "Scan the recovery point again (StartScanJob); a COMPLETED scan with NO_THREATS_FOUND starts the copy."
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome {
    Copy(CopyOrder),
    Refused {
        route: String,
        destination_vault_arn: String,
        refusal: Refusal,
    },
    Skipped {
        route: String,
        destination_vault_arn: String,
        reason: String,
    },
}

/// Shorten the source's retention once every destination of the route holds its copy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shorten {
    pub route: String,
    pub recovery_point_arn: String,
    pub vault_name: String,
    pub region: String,
    pub resource_arn: String,
    pub days: i64,
    pub destinations: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub outcomes: Vec<Outcome>,
    pub shorten: Vec<Shorten>,
}

impl Plan {
    #[cfg(test)]
    pub fn copies(&self) -> impl Iterator<Item = &CopyOrder> {
        self.outcomes.iter().filter_map(|o| match o {
            Outcome::Copy(order) => Some(order),
            _ => None,
        })
    }
}

pub struct Inputs<'a> {
    pub routes: &'a Routes,
    /// Copies go on only from recovery points in the function's own account.
    pub home_account: &'a str,
    pub arrival: &'a Arrival,
    pub facts: &'a PointFacts,
    pub backup_tag: Option<&'a str>,
    /// For a recovery point that arrived in a re-encrypting vault: the original's lifecycle,
    /// which copies inherit (the intermediate copy's own is short on purpose).
    pub original_lifecycle: Option<&'a Lifecycle>,
}

pub fn decide(inputs: &Inputs<'_>) -> Plan {
    let arrival = inputs.arrival;
    let mut planner = Planner {
        inputs,
        plan: Plan::default(),
        seen: BTreeSet::new(),
    };
    let onward = arrival.account == inputs.home_account;
    // A recovery point that arrived in a re-encrypting vault goes on to the other accounts of
    // the routes that sent it there.
    if let (Origin::Copy { source_vault_arn, .. }, Trigger::Completion) = (&arrival.origin, &arrival.trigger) {
        let source = candidate(inputs, vault_name(source_vault_arn));
        for route in inputs.routes.matching(&source).into_iter().filter(|_| onward) {
            if route.reencrypt.as_ref().is_some_and(|r| r.vault == arrival.vault_name) {
                for destination in &route.destinations {
                    if account_of(destination) != arrival.account {
                        planner.consider(route, destination, true);
                    }
                }
            }
        }
        planner.plan.shorten = shorten_after_copy(inputs, source_vault_arn, &source);
    }
    let here = candidate(inputs, &arrival.vault_name);
    for route in inputs.routes.matching(&here).into_iter().filter(|_| onward) {
        for destination in &route.destinations {
            match gate(route.require_clean_scan, &arrival.trigger) {
                Gate::Open => planner.consider(route, destination, false),
                Gate::NotThisEvent => {}
                Gate::Held => planner.skip(
                    route,
                    destination,
                    "held until a malware scan of the recovery point finds no threats",
                ),
                Gate::Refused(refusal) => planner.refuse(route, destination, refusal),
            }
        }
    }
    planner.plan
}

/// What a route's clean-scan requirement makes of an event, for one of its copies.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Copy now (the other checks permitting).
    Open,
    /// Not this event's copy: a copy without the requirement was made when the backup
    /// completed, and a scan event is not about it.
    NotThisEvent,
    /// The backup completed; the copy waits for its scan.
    Held,
    /// The scan ended without a clean verdict: no copy.
    Refused(Refusal),
}

/// | copy                   | backup completed | scan clean | scan found threats | scan failed, canceled, with issues |
/// |------------------------|------------------|------------|--------------------|------------------------------------|
/// | without the requirement| copy             | -          | -                  | -                                  |
/// | `require_clean_scan`   | held             | copy       | refused (malware)  | refused (not proven clean)         |
pub fn gate(require_clean_scan: bool, trigger: &Trigger) -> Gate {
    match (require_clean_scan, trigger) {
        (false, Trigger::Completion) => Gate::Open,
        (false, Trigger::Scan { .. }) => Gate::NotThisEvent,
        (true, Trigger::Completion) => Gate::Held,
        (
            true,
            Trigger::Scan {
                scan_job_id,
                state,
                verdict,
            },
        ) => match verdict {
            Verdict::Clean => Gate::Open,
            Verdict::ThreatsFound => Gate::Refused(Refusal::MalwareFound {
                scan_job_id: scan_job_id.clone(),
            }),
            Verdict::Unproven => Gate::Refused(Refusal::ScanNotClean {
                scan_job_id: scan_job_id.clone(),
                state: state.clone(),
            }),
        },
    }
}

fn candidate<'a>(inputs: &'a Inputs<'_>, vault_name: &'a str) -> Candidate<'a> {
    Candidate {
        vault_name,
        resource_type: &inputs.arrival.resource_type,
        backup_tag: inputs.backup_tag,
        on_demand: inputs.arrival.origin.on_demand(),
    }
}

fn account_of(vault_arn: &str) -> &str {
    Arn::parse(vault_arn).map_or("", |a| a.account)
}

/// A copy arrived in one of a route's destinations: once all of them hold theirs, the route's
/// `shorten_source_to_days` applies to the source.
fn shorten_after_copy(inputs: &Inputs<'_>, source_vault_arn: &str, source: &Candidate<'_>) -> Vec<Shorten> {
    let arrival = inputs.arrival;
    let Origin::Copy {
        source_recovery_point_arn,
        ..
    } = &arrival.origin
    else {
        return Vec::new();
    };
    let Some(source_vault) = Arn::parse(source_vault_arn) else {
        return Vec::new();
    };
    inputs
        .routes
        .matching(source)
        .into_iter()
        .filter(|route| route.destinations.contains(&arrival.vault_arn))
        .filter_map(|route| {
            Some(Shorten {
                route: route.name.clone(),
                recovery_point_arn: source_recovery_point_arn.clone(),
                vault_name: vault_name(source_vault_arn).to_string(),
                region: source_vault.region.to_string(),
                resource_arn: arrival.resource_arn.clone(),
                days: route.shorten_source_to_days?,
                destinations: route.shorten_after.clone(),
            })
        })
        .collect()
}

struct Planner<'a, 'i> {
    inputs: &'a Inputs<'i>,
    plan: Plan,
    /// Destinations already decided for this event: each gets exactly one copy.
    seen: BTreeSet<String>,
}

impl Planner<'_, '_> {
    /// A copy that is not started now, for a reason that is not a problem.
    fn skip(&mut self, route: &Route, destination: &str, reason: &str) {
        self.plan.outcomes.push(Outcome::Skipped {
            route: route.name.clone(),
            destination_vault_arn: destination.to_string(),
            reason: reason.to_string(),
        });
    }

    /// A copy refused before any other check (each destination once).
    fn refuse(&mut self, route: &Route, destination: &str, refusal: Refusal) {
        if destination == self.inputs.arrival.vault_arn || !self.seen.insert(destination.to_string()) {
            return;
        }
        self.plan.outcomes.push(Outcome::Refused {
            route: route.name.clone(),
            destination_vault_arn: destination.to_string(),
            refusal,
        });
    }

    fn consider(&mut self, route: &Route, destination: &str, continuing: bool) {
        let arrival = self.inputs.arrival;
        let facts = self.inputs.facts;
        let skip = |reason: String| Outcome::Skipped {
            route: route.name.clone(),
            destination_vault_arn: destination.to_string(),
            reason,
        };
        let refuse = |refusal: Refusal| Outcome::Refused {
            route: route.name.clone(),
            destination_vault_arn: destination.to_string(),
            refusal,
        };
        if destination == arrival.vault_arn {
            self.plan
                .outcomes
                .push(skip("the recovery point is already in this vault".into()));
            return;
        }
        if !self.seen.insert(destination.to_string()) {
            self.plan
                .outcomes
                .push(skip("an earlier route already copies this recovery point there".into()));
            return;
        }
        if matches!(facts.status.as_str(), "EXPIRED" | "DELETING" | "STOPPED") {
            self.plan.outcomes.push(refuse(Refusal::NotCopyable {
                status: facts.status.clone(),
            }));
            return;
        }
        if is_continuous(&arrival.recovery_point_arn) {
            self.plan.outcomes.push(refuse(Refusal::ContinuousBackup));
            return;
        }
        if facts.in_cold_storage {
            self.plan.outcomes.push(refuse(Refusal::ColdStorage));
            return;
        }
        // "Limitations of Multi-AZ DB clusters for Amazon RDS": copying a snapshot of a Multi-AZ
        // DB cluster is not supported, to any vault.
        if facts.multi_az_db_cluster {
            self.plan.outcomes.push(refuse(Refusal::MultiAzDbCluster));
            return;
        }
        let destination_account = account_of(destination);
        let elsewhere = destination_account != arrival.account
            || Arn::parse(destination).is_some_and(|d| d.region != arrival.region);
        if elsewhere && is_dynamodb_native_backup(&arrival.recovery_point_arn) {
            self.plan.outcomes.push(refuse(Refusal::DynamoDbNativeBackup));
            return;
        }
        let one_step = destination_account != arrival.account
            && Arn::parse(destination).is_some_and(|d| d.region != arrival.region)
            && DATABASE_SNAPSHOT_TYPES.contains(&arrival.resource_type.as_str());
        if one_step && !copies_region_and_account_in_one_step(&arrival.resource_type) {
            self.plan.outcomes.push(refuse(Refusal::NotInOneStep {
                resource_type: arrival.resource_type.clone(),
            }));
            return;
        }
        let shared_key_problem = destination_account != arrival.account
            && keeps_resource_key(&arrival.resource_type)
            && facts.key_is_aws_managed;
        if shared_key_problem {
            match route.reencrypt.as_ref().filter(|_| !continuing) {
                Some(reencrypt) => {
                    // The hop vault is beside the recovery point: same partition, account, Region.
                    let partition = Arn::parse(&arrival.vault_arn).map_or("aws", |a| a.partition);
                    let hop = format!(
                        "arn:{partition}:backup:{}:{}:backup-vault:{}",
                        arrival.region, arrival.account, reencrypt.vault
                    );
                    if self.seen.insert(hop.clone()) {
                        let order = self.order(route, &hop, Lifecycle::delete_after(reencrypt.keep_days), true);
                        self.plan.outcomes.push(Outcome::Copy(order));
                    }
                    self.plan.outcomes.push(skip(format!(
                        "waits for the re-encrypted copy in {}; it is copied on when that copy completes",
                        reencrypt.vault
                    )));
                }
                None => self.plan.outcomes.push(refuse(Refusal::AwsManagedKey {
                    key_arn: facts.key_arn.clone().unwrap_or_default(),
                    destination_account: destination_account.to_string(),
                })),
            }
            return;
        }
        let inherited = self.inputs.original_lifecycle.unwrap_or(&facts.lifecycle);
        match lifecycle::for_copy(route.lifecycle.as_ref(), inherited, &arrival.resource_type) {
            Ok((lifecycle, source)) => {
                let mut order = self.order(route, destination, lifecycle, false);
                order.lifecycle_source = source;
                order.one_step = one_step;
                self.plan.outcomes.push(Outcome::Copy(order));
            }
            Err(e) => self
                .plan
                .outcomes
                .push(refuse(Refusal::Lifecycle { message: e.to_string() })),
        }
    }

    fn order(&self, route: &Route, destination: &str, lifecycle: Lifecycle, hop: bool) -> CopyOrder {
        let arrival = self.inputs.arrival;
        CopyOrder {
            route: route.name.clone(),
            recovery_point_arn: arrival.recovery_point_arn.clone(),
            source_vault_name: arrival.vault_name.clone(),
            region: arrival.region.clone(),
            destination_vault_arn: destination.to_string(),
            role_arn: route.copy_role_arn.clone(),
            lifecycle,
            lifecycle_source: LifecycleSource::Route,
            idempotency_token: copy_token(&arrival.recovery_point_arn, destination, &arrival.job_id),
            hop,
            one_step: false,
            clamp_to_vault_lock: route.clamp_to_vault_lock && !hop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "111122223333";
    const ISOLATED: &str = "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated";
    const DR: &str = "arn:aws:backup:us-west-2:111122223333:backup-vault:dr";
    const PRODUCTION: &str = "arn:aws:backup:eu-west-1:111122223333:backup-vault:rearguard-production";

    fn routes(extra: &str) -> Routes {
        Routes::for_test(&format!(
            r#"[{{"name": "offsite", "source_vaults": ["rearguard-production"],
                "destinations": ["isolated", "dr"],
                "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy" {extra}}}]"#
        ))
    }

    fn backup(resource_type: &str, point: &str) -> Arrival {
        Arrival {
            event_id: "e".into(),
            job_id: "job-1".into(),
            job_created: None,
            recovery_point_arn: point.into(),
            vault_arn: PRODUCTION.into(),
            vault_name: "rearguard-production".into(),
            account: HOME.into(),
            region: "eu-west-1".into(),
            resource_arn: "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1".into(),
            resource_type: resource_type.into(),
            origin: Origin::Backup { on_demand: false },
            trigger: Trigger::Completion,
        }
    }

    fn facts(delete: Option<i64>) -> PointFacts {
        PointFacts {
            status: "COMPLETED".into(),
            lifecycle: Lifecycle {
                delete_after_days: delete,
                ..Lifecycle::default()
            },
            key_arn: Some("arn:aws:kms:eu-west-1:111122223333:key/k".into()),
            ..PointFacts::default()
        }
    }

    fn run(routes: &Routes, arrival: &Arrival, facts: &PointFacts) -> Plan {
        decide(&Inputs {
            routes,
            home_account: HOME,
            arrival,
            facts,
            backup_tag: None,
            original_lifecycle: None,
        })
    }

    const SNAPSHOT: &str = "arn:aws:ec2:eu-west-1::snapshot/snap-1";

    /// `offsite` copies to the isolated vault once a scan finds the backup clean; `nearby` copies
    /// to dr when the backup completes.
    fn gated_and_plain() -> Routes {
        Routes::for_test(
            r#"[{"name": "offsite", "source_vaults": ["rearguard-production"], "destinations": ["isolated"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/c", "require_clean_scan": true},
                {"name": "nearby", "source_vaults": ["rearguard-production"], "destinations": ["dr"],
                 "copy_role_arn": "arn:aws:iam::111122223333:role/c"}]"#,
        )
    }

    fn scanned(verdict: Verdict, state: &str) -> Arrival {
        Arrival {
            trigger: Trigger::Scan {
                scan_job_id: "scan-1".into(),
                state: state.into(),
                verdict,
            },
            ..backup("EBS", SNAPSHOT)
        }
    }

    fn destinations(plan: &Plan) -> Vec<&str> {
        plan.copies().map(|c| c.destination_vault_arn.as_str()).collect()
    }

    #[test]
    fn the_clean_scan_gate_decides_each_copy_by_its_requirement_and_the_event() {
        assert_eq!(gate(false, &Trigger::Completion), Gate::Open);
        assert_eq!(gate(true, &Trigger::Completion), Gate::Held);
        let clean = scanned(Verdict::Clean, "COMPLETED").trigger;
        assert_eq!(gate(true, &clean), Gate::Open);
        assert_eq!(gate(false, &clean), Gate::NotThisEvent, "copied on completion already");
        assert_eq!(
            gate(true, &scanned(Verdict::ThreatsFound, "COMPLETED").trigger),
            Gate::Refused(Refusal::MalwareFound {
                scan_job_id: "scan-1".into()
            })
        );
        for state in ["FAILED", "CANCELED", "COMPLETED_WITH_ISSUES"] {
            assert_eq!(
                gate(true, &scanned(Verdict::Unproven, state).trigger),
                Gate::Refused(Refusal::ScanNotClean {
                    scan_job_id: "scan-1".into(),
                    state: state.into()
                })
            );
        }
    }

    #[test]
    fn a_completed_backup_is_copied_by_the_plain_route_and_held_for_the_gated_one() {
        let plan = run(&gated_and_plain(), &backup("EBS", SNAPSHOT), &facts(Some(35)));

        assert_eq!(destinations(&plan), [DR]);
        assert!(matches!(
            &plan.outcomes[0],
            Outcome::Skipped { route, destination_vault_arn, reason }
                if route == "offsite" && destination_vault_arn == ISOLATED && reason.contains("malware scan")
        ));
    }

    #[test]
    fn a_clean_scan_starts_only_the_gated_copy_with_a_token_of_the_backup() {
        let plan = run(
            &gated_and_plain(),
            &scanned(Verdict::Clean, "COMPLETED"),
            &facts(Some(35)),
        );

        assert_eq!(destinations(&plan), [ISOLATED]);
        assert_eq!(plan.outcomes.len(), 1, "nothing about dr: {plan:?}");
        let order = plan.copies().next().unwrap();
        assert_eq!(order.idempotency_token, copy_token(SNAPSHOT, ISOLATED, "job-1"));
    }

    #[test]
    fn threats_or_an_unproven_scan_refuse_the_gated_copy_naming_the_scan_and_leave_the_plain_one_alone() {
        for (verdict, state, code) in [
            (Verdict::ThreatsFound, "COMPLETED", "MalwareFound"),
            (Verdict::Unproven, "FAILED", "ScanNotClean"),
        ] {
            let plan = run(&gated_and_plain(), &scanned(verdict, state), &facts(Some(35)));

            assert_eq!(plan.copies().count(), 0);
            assert_eq!(plan.outcomes.len(), 1, "{plan:?}");
            let Outcome::Refused {
                route,
                destination_vault_arn,
                refusal,
            } = &plan.outcomes[0]
            else {
                panic!("{:?}", plan.outcomes[0])
            };
            assert_eq!((route.as_str(), destination_vault_arn.as_str()), ("offsite", ISOLATED));
            assert!(format!("{refusal:?}").starts_with(code), "{refusal:?}");
            assert!(refusal.reason().contains("scan-1"), "{}", refusal.reason());
        }
    }

    #[test]
    fn each_destination_gets_one_copy_with_a_stable_token_in_the_source_region() {
        let plan = run(&routes(""), &backup("EBS", SNAPSHOT), &facts(Some(35)));
        let copies: Vec<_> = plan.copies().collect();
        assert_eq!(copies.len(), 2);
        assert_eq!(copies[0].destination_vault_arn, ISOLATED);
        assert_eq!(copies[1].destination_vault_arn, DR);
        assert!(
            copies
                .iter()
                .all(|c| c.region == "eu-west-1" && c.source_vault_name == "rearguard-production")
        );
        assert_eq!(copies[0].idempotency_token, copy_token(SNAPSHOT, ISOLATED, "job-1"));
        assert_ne!(copies[0].idempotency_token, copies[1].idempotency_token);
        assert_eq!(
            copies[0].lifecycle,
            Lifecycle::delete_after(35),
            "inherited from the source"
        );
        assert_eq!(copies[0].lifecycle_source, LifecycleSource::SourceRecoveryPoint);
    }

    #[test]
    fn two_routes_to_one_destination_copy_once() {
        let routes = Routes::for_test(
            r#"[
              {"name": "a", "source_vaults": ["*"], "destinations": ["dr"], "copy_role_arn": "arn:aws:iam::111122223333:role/c",
                "lifecycle": {"delete_after_days": 90}},
              {"name": "b", "source_vaults": ["rearguard-production"], "destinations": ["dr"], "copy_role_arn": "arn:aws:iam::111122223333:role/c"}
            ]"#,
        );
        let plan = run(&routes, &backup("EBS", SNAPSHOT), &facts(None));
        assert_eq!(plan.copies().count(), 1);
        assert_eq!(plan.copies().next().unwrap().route, "a");
        assert!(matches!(&plan.outcomes[1], Outcome::Skipped { route, .. } if route == "b"));
    }

    #[test]
    fn cold_storage_is_refused() {
        let mut cold = facts(Some(365));
        cold.in_cold_storage = true;
        let plan = run(&routes(""), &backup("EBS", SNAPSHOT), &cold);
        assert_eq!(plan.copies().count(), 0);
        assert!(plan.outcomes.iter().all(|o| matches!(
            o,
            Outcome::Refused {
                refusal: Refusal::ColdStorage,
                ..
            }
        )));
    }

    #[test]
    fn an_aws_managed_key_blocks_only_the_cross_account_copy() {
        let mut managed = facts(Some(35));
        managed.key_is_aws_managed = true;
        let plan = run(
            &routes(""),
            &backup("RDS", "arn:aws:rds:eu-west-1:111122223333:snapshot:awsbackup:job-1"),
            &managed,
        );
        assert!(matches!(
            &plan.outcomes[0],
            Outcome::Refused { refusal: Refusal::AwsManagedKey { destination_account, .. }, .. } if destination_account == "444455556666"
        ));
        assert_eq!(
            plan.copies()
                .map(|c| c.destination_vault_arn.as_str())
                .collect::<Vec<_>>(),
            [DR]
        );
        // EFS recovery points are encrypted with the vault's key, not the resource's.
        let plan = run(
            &routes(""),
            &backup("EFS", "arn:aws:backup:eu-west-1:111122223333:recovery-point:1"),
            &managed,
        );
        assert_eq!(plan.copies().count(), 2);
    }

    #[test]
    fn with_a_reencrypt_vault_the_copy_goes_there_first_then_on() {
        let routes = routes(r#", "reencrypt": {"vault": "rearguard-reencrypt", "keep_days": 3}"#);
        let point = "arn:aws:rds:eu-west-1:111122223333:snapshot:awsbackup:job-1";
        let mut managed = facts(Some(35));
        managed.key_is_aws_managed = true;
        let plan = run(&routes, &backup("RDS", point), &managed);
        let hop = "arn:aws:backup:eu-west-1:111122223333:backup-vault:rearguard-reencrypt";
        let copies: Vec<_> = plan.copies().collect();
        assert_eq!(copies.len(), 2);
        assert_eq!((copies[0].destination_vault_arn.as_str(), copies[0].hop), (hop, true));
        assert_eq!(copies[0].lifecycle, Lifecycle::delete_after(3));
        assert_eq!(copies[1].destination_vault_arn, DR);
        assert!(
            matches!(&plan.outcomes[1], Outcome::Skipped { reason, .. } if reason.contains("waits for the re-encrypted copy"))
        );

        // The hop's copy completes: it goes on to the other account, with the original's lifecycle.
        let hop_point = "arn:aws:rds:eu-west-1:111122223333:snapshot:awsbackup:copyjob-2";
        let arrived = Arrival {
            recovery_point_arn: hop_point.into(),
            vault_arn: hop.into(),
            vault_name: "rearguard-reencrypt".into(),
            origin: Origin::Copy {
                source_vault_arn: PRODUCTION.into(),
                source_recovery_point_arn: point.into(),
            },
            ..backup("RDS", point)
        };
        let hop_facts = PointFacts {
            lifecycle: Lifecycle::delete_after(3),
            ..facts(None)
        };
        let original = Lifecycle::delete_after(35);
        let plan = decide(&Inputs {
            routes: &routes,
            home_account: HOME,
            arrival: &arrived,
            facts: &hop_facts,
            backup_tag: None,
            original_lifecycle: Some(&original),
        });
        let copies: Vec<_> = plan.copies().collect();
        assert_eq!(copies.len(), 1);
        assert_eq!(copies[0].destination_vault_arn, ISOLATED);
        assert_eq!(copies[0].recovery_point_arn, hop_point);
        assert_eq!(copies[0].source_vault_name, "rearguard-reencrypt");
        assert_eq!(copies[0].lifecycle, original);
    }

    #[test]
    fn a_completed_copy_to_every_destination_may_shorten_the_source() {
        let routes = routes(r#", "shorten_source_to_days": 7"#);
        let arrived = Arrival {
            recovery_point_arn: "arn:aws:ec2:us-west-2::snapshot/snap-2".into(),
            vault_arn: DR.into(),
            vault_name: "dr".into(),
            region: "us-west-2".into(),
            origin: Origin::Copy {
                source_vault_arn: PRODUCTION.into(),
                source_recovery_point_arn: SNAPSHOT.into(),
            },
            ..backup("EBS", SNAPSHOT)
        };
        let plan = run(&routes, &arrived, &facts(Some(35)));
        assert_eq!(plan.copies().count(), 0, "dr is not a source vault");
        assert_eq!(plan.shorten.len(), 1);
        let shorten = &plan.shorten[0];
        assert_eq!(
            (
                shorten.recovery_point_arn.as_str(),
                shorten.vault_name.as_str(),
                shorten.region.as_str(),
                shorten.days
            ),
            (SNAPSHOT, "rearguard-production", "eu-west-1", 7)
        );
        assert_eq!(shorten.destinations, [ISOLATED, DR]);

        // The copy in the isolated account counts too, though nothing goes on from there.
        let isolated = Arrival {
            vault_arn: ISOLATED.into(),
            vault_name: "isolated".into(),
            account: "444455556666".into(),
            region: "eu-west-1".into(),
            ..arrived
        };
        let plan = run(&routes, &isolated, &facts(None));
        assert_eq!((plan.outcomes.len(), plan.shorten.len()), (0, 1));
    }

    #[test]
    fn nothing_goes_on_from_another_account() {
        let routes = Routes::for_test(
            r#"[{"name": "any", "source_vaults": ["*"], "destinations": ["dr"], "copy_role_arn": "arn:aws:iam::111122223333:role/c"}]"#,
        );
        let elsewhere = Arrival {
            account: "444455556666".into(),
            ..backup("EBS", SNAPSHOT)
        };
        assert_eq!(run(&routes, &elsewhere, &facts(None)), Plan::default());
    }

    #[test]
    fn a_route_lifecycle_with_cold_storage_is_kept_for_a_type_that_has_it() {
        let routes = Routes::for_test(
            r#"[{"name": "cold", "source_vaults": ["*"], "resource_types": ["EBS"], "destinations": ["dr"],
                "copy_role_arn": "arn:aws:iam::111122223333:role/c",
                "lifecycle": {"move_to_cold_storage_after_days": 30, "delete_after_days": 365}}]"#,
        );
        let plan = run(&routes, &backup("EBS", SNAPSHOT), &facts(None));
        assert_eq!(
            plan.copies().next().unwrap().lifecycle.move_to_cold_storage_after_days,
            Some(30)
        );
    }

    #[test]
    fn a_continuous_backup_is_refused_to_every_destination_with_the_reason() {
        let point = "arn:aws:backup:eu-west-1:111122223333:recovery-point:continuous:db-ABC-1a2b";
        let plan = run(&routes(""), &backup("RDS", point), &facts(Some(35)));
        assert_eq!(plan.copies().count(), 0);
        assert_eq!(plan.outcomes.len(), 2);
        for outcome in &plan.outcomes {
            let Outcome::Refused { refusal, .. } = outcome else {
                panic!("{outcome:?}")
            };
            assert_eq!(*refusal, Refusal::ContinuousBackup);
            assert!(
                refusal.reason().contains("Does not support continuous backups"),
                "{}",
                refusal.reason()
            );
        }
        // A snapshot backup of the same resource is copied.
        let snapshot = "arn:aws:rds:eu-west-1:111122223333:snapshot:awsbackup:job-1";
        assert_eq!(
            run(&routes(""), &backup("RDS", snapshot), &facts(Some(35)))
                .copies()
                .count(),
            2
        );
    }

    #[test]
    fn vault_lock_bounds_refuse_a_copy_outside_them_naming_the_bound() {
        let bounds = RetentionBounds {
            min_days: Some(7),
            max_days: Some(35),
        };
        assert_eq!(vault_lock_refusal(&Lifecycle::delete_after(35), &bounds), None);
        assert_eq!(vault_lock_refusal(&Lifecycle::delete_after(7), &bounds), None);
        let never = vault_lock_refusal(&Lifecycle::default(), &bounds).unwrap();
        assert_eq!(
            never,
            Refusal::VaultLock {
                bound: "MaxRetentionDays".into(),
                bound_days: 35,
                retention_days: None
            }
        );
        assert!(
            never.reason().contains("35 days (MaxRetentionDays)"),
            "{}",
            never.reason()
        );
        assert!(never.reason().contains("forever"), "{}", never.reason());
        let long = vault_lock_refusal(&Lifecycle::delete_after(36), &bounds).unwrap();
        assert!(matches!(long, Refusal::VaultLock { ref bound, .. } if bound == "MaxRetentionDays"));
        let short = vault_lock_refusal(&Lifecycle::delete_after(6), &bounds).unwrap();
        assert!(
            short.reason().contains("at least 7 days (MinRetentionDays)"),
            "{}",
            short.reason()
        );
        // A vault without a lock takes anything, kept forever included.
        assert_eq!(
            vault_lock_refusal(&Lifecycle::default(), &RetentionBounds::default()),
            None
        );
        // A minimum alone does not refuse a copy kept forever.
        let min_only = RetentionBounds {
            min_days: Some(7),
            max_days: None,
        };
        assert_eq!(vault_lock_refusal(&Lifecycle::default(), &min_only), None);
    }

    #[test]
    fn every_database_snapshot_type_keeps_its_key_and_goes_through_the_reencrypting_vault() {
        for kind in ["RDS", "Aurora", "DocumentDB", "Neptune", "EBS", "EC2"] {
            assert!(keeps_resource_key(kind), "{kind}");
        }
        assert!(!keeps_resource_key("EFS") && !keeps_resource_key("DynamoDB"));
        let routes = routes(r#", "reencrypt": {"vault": "rearguard-reencrypt", "keep_days": 3}"#);
        let mut managed = facts(Some(35));
        managed.key_is_aws_managed = true;
        for kind in ["DocumentDB", "Neptune"] {
            let point = "arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:awsbackup:job-1";
            let plan = run(&routes, &backup(kind, point), &managed);
            let copies: Vec<_> = plan.copies().collect();
            assert_eq!(copies.len(), 2, "{kind}: the hop and dr");
            assert!(copies[0].hop && copies[0].destination_vault_arn.ends_with(":rearguard-reencrypt"));
        }
    }

    #[test]
    fn a_multi_az_db_cluster_snapshot_is_refused_everywhere() {
        assert!(is_multi_az_db_cluster_engine("postgres") && is_multi_az_db_cluster_engine("mysql"));
        for engine in ["aurora-postgresql", "aurora-mysql", "docdb", "neptune"] {
            assert!(!is_multi_az_db_cluster_engine(engine), "{engine}");
        }
        let mut multi_az = facts(Some(35));
        multi_az.multi_az_db_cluster = true;
        let point = "arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:awsbackup:job-1";
        let plan = run(&routes(""), &backup("RDS", point), &multi_az);
        assert_eq!(plan.copies().count(), 0);
        assert_eq!(plan.outcomes.len(), 2);
        for outcome in &plan.outcomes {
            let Outcome::Refused { refusal, .. } = outcome else {
                panic!("{outcome:?}")
            };
            assert!(
                refusal
                    .reason()
                    .contains("copying a Multi-AZ DB cluster snapshot is not supported")
            );
        }
    }

    #[test]
    fn a_dynamodb_backup_without_advanced_features_stays_in_its_account_and_region() {
        let native = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/backup/01700000000000-abcdef12";
        assert!(is_dynamodb_native_backup(native));
        assert!(!is_dynamodb_native_backup(
            "arn:aws:backup:eu-west-1:111122223333:recovery-point:1"
        ));
        let routes = Routes::for_test(
            r#"[{"name": "r", "source_vaults": ["*"], "destinations": ["isolated", "dr", "rearguard-reencrypt"],
                "copy_role_arn": "arn:aws:iam::111122223333:role/c"}]"#,
        );
        let plan = run(&routes, &backup("DynamoDB", native), &facts(Some(35)));
        // isolated: another account; dr: another Region; the same-account, same-Region vault is fine.
        assert!(matches!(
            &plan.outcomes[0],
            Outcome::Refused {
                refusal: Refusal::DynamoDbNativeBackup,
                ..
            }
        ));
        assert!(matches!(
            &plan.outcomes[1],
            Outcome::Refused {
                refusal: Refusal::DynamoDbNativeBackup,
                ..
            }
        ));
        assert_eq!(plan.copies().count(), 1);
        let Outcome::Refused { refusal, .. } = &plan.outcomes[0] else {
            unreachable!()
        };
        assert!(refusal.reason().contains("advanced DynamoDB"), "{}", refusal.reason());
    }

    #[test]
    fn an_expired_point_is_not_copied() {
        let mut expired = facts(Some(1));
        expired.status = "EXPIRED".into();
        let plan = run(&routes(""), &backup("EBS", SNAPSHOT), &expired);
        assert_eq!(plan.copies().count(), 0);
        assert_eq!(plan.outcomes.len(), 2);
    }

    #[test]
    fn a_database_snapshot_to_another_region_and_account_is_one_step_except_documentdb() {
        let far = "arn:aws:backup:us-west-2:444455556666:backup-vault:far";
        let routes = Routes::for_test(
            r#"[{"name": "r", "source_vaults": ["*"], "destinations": ["far", "isolated", "dr"],
                "copy_role_arn": "arn:aws:iam::111122223333:role/c"}]"#,
        );
        let point = "arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:awsbackup:job-1";
        for kind in ["RDS", "Aurora", "Neptune"] {
            let plan = run(&routes, &backup(kind, point), &facts(Some(35)));
            let copies: Vec<_> = plan.copies().collect();
            assert_eq!(copies.len(), 3, "{kind}");
            assert_eq!(
                copies.iter().map(|c| c.one_step).collect::<Vec<_>>(),
                [true, false, false],
                "{kind}: only the copy to another account and Region"
            );
            assert_eq!(copies[0].destination_vault_arn, far);
        }
        let plan = run(&routes, &backup("DocumentDB", point), &facts(Some(35)));
        assert_eq!(plan.copies().count(), 2);
        let Outcome::Refused { refusal, .. } = &plan.outcomes[0] else {
            panic!("{:?}", plan.outcomes[0])
        };
        assert!(refusal.reason().contains("one copy"), "{}", refusal.reason());
        // Other types are not limited.
        let plan = run(&routes, &backup("EBS", SNAPSHOT), &facts(Some(35)));
        assert!(plan.copies().all(|c| !c.one_step) && plan.copies().count() == 3);
    }

    #[test]
    fn a_one_step_copy_needs_copy_from_at_the_source_and_copy_into_at_the_destination() {
        let far = "arn:aws:backup:us-west-2:444455556666:backup-vault:far";
        let allow = |action: &str, account: &str| {
            VaultPolicy::Document(format!(
                r#"{{"Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "{account}"}}, "Action": "{action}", "Resource": "*"}}]}}"#
            ))
        };
        let source_ok = allow(COPY_FROM, "444455556666");
        let destination_ok = allow(COPY_INTO, HOME);
        assert_eq!(one_step_refusal(PRODUCTION, &source_ok, far, &destination_ok), None);
        let Some(Refusal::VaultPolicy { side, vault_arn, .. }) =
            one_step_refusal(PRODUCTION, &VaultPolicy::None, far, &destination_ok)
        else {
            panic!("refused")
        };
        assert_eq!((side.as_str(), vault_arn.as_str()), ("source", PRODUCTION));
        let Some(Refusal::VaultPolicy { side, account, .. }) =
            one_step_refusal(PRODUCTION, &source_ok, far, &allow(COPY_INTO, "999988887777"))
        else {
            panic!("refused")
        };
        assert_eq!((side.as_str(), account.as_str()), ("destination", HOME));
        // A destination policy that cannot be read (no vault-check role) is not a refusal.
        assert_eq!(
            one_step_refusal(PRODUCTION, &source_ok, far, &VaultPolicy::Unreadable("no role".into())),
            None
        );
    }

    #[test]
    fn a_clamped_copy_takes_the_nearer_vault_lock_bound_unless_cold_storage_forbids_it() {
        let bounds = RetentionBounds {
            min_days: Some(7),
            max_days: Some(35),
        };
        assert_eq!(
            vault_lock_clamp(&Lifecycle::default(), &bounds),
            Some(Lifecycle::delete_after(35)),
            "kept forever becomes the maximum"
        );
        assert_eq!(
            vault_lock_clamp(&Lifecycle::delete_after(400), &bounds),
            Some(Lifecycle::delete_after(35))
        );
        assert_eq!(
            vault_lock_clamp(&Lifecycle::delete_after(3), &bounds),
            Some(Lifecycle::delete_after(7))
        );
        assert_eq!(vault_lock_clamp(&Lifecycle::delete_after(20), &bounds), None, "within");
        let cold = Lifecycle {
            move_to_cold_storage_after_days: Some(30),
            delete_after_days: Some(365),
            ..Lifecycle::default()
        };
        assert_eq!(
            vault_lock_clamp(&cold, &bounds),
            None,
            "35 days leaves no 90 in cold storage"
        );
    }
}

//! The Rearguard policy: one JSON document (`REARGUARD_POLICY`) that every function reads and
//! checks completely at start-up, each then using its part. It says which tag names a
//! resource's backup plan, what each plan promises (schedule and RPO, retention, copies, vault
//! lock), how new resources are enrolled, and which extra copies Rearguard makes.
//!
//! One casing (snake_case), unknown fields refused, and every mistake named by its JSON path
//! (`plans.production.copies[0].vault: ...`). `policy.schema.json` at the repository root is the
//! JSON Schema of this document, generated from these types (a test keeps the two equal).

pub mod lifecycle;
pub mod schedule;

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::arn::Arn;
use crate::config::{ConfigError, Settings};
use lifecycle::Lifecycle;

/// The setting (environment variable) that holds the document.
pub const SETTING: &str = "REARGUARD_POLICY";

/// The AWS Backup resource types Rearguard can enrol, copy and report on.
pub const RESOURCE_TYPES: &[&str] = &[
    "EC2",
    "EBS",
    "RDS",
    "Aurora",
    "DocumentDB",
    "Neptune",
    "DynamoDB",
    "EFS",
    "S3",
];

/// The whole policy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Rearguard policy")]
pub struct Document {
    /// The tag whose value names a resource's backup plan (the plans' keys are its values).
    #[serde(default = "default_tag_key")]
    pub tag_key: String,
    /// Set beside the backup tag when Rearguard applied it.
    #[serde(default = "default_marker_tag_key")]
    pub marker_tag_key: String,
    /// The backup tag value that opts a resource out, and the tag that must say why.
    #[serde(default)]
    pub opt_out: Option<OptOut>,
    /// AWS Backup resource types in scope.
    #[serde(default = "default_resource_types")]
    pub resource_types: Vec<String>,
    /// The backup vaults that plans and copies name, each under a name of your choice.
    #[serde(default)]
    pub vaults: BTreeMap<String, Vault>,
    /// The backup plans, keyed by their value of the backup tag.
    pub plans: BTreeMap<String, Plan>,
    /// How new resources get their plan.
    #[serde(default)]
    pub enrollment: Enrollment,
    /// Copies Rearguard makes beyond the plans' own (on-demand backups, by source vault or type).
    #[serde(default)]
    pub copy_routes: Vec<CopyRoute>,
    /// How often restore tests run: a plan's last successful drill older than that is stale.
    #[serde(default)]
    pub restore_tests: RestoreTests,
}

/// The restore tests (AWS Backup restore testing plans) the plans are drilled by.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreTests {
    /// When the restore tests run (the restore testing plan's `ScheduleExpression`). Unset: the
    /// stack's `RestoreTestSchedule` (compliance-report's `RESTORE_TEST_SCHEDULE`), weekly by default.
    #[serde(default)]
    pub schedule: Option<String>,
    /// How late a drill may be beyond the schedule before it is stale: the restore testing
    /// plan's start window (`StartWindowHours`, 24 in the template) and the restore's own time.
    #[serde(default = "default_drill_grace_hours")]
    pub grace_hours: i64,
    /// Per resource type, a Lambda function (ARN) restore-drill invokes with the restored
    /// resource once its own check passed: `{"restoredResourceArn", "resourceType"}` in,
    /// `{"passed": bool, "reason": "..."}` out, which decides the validation.
    #[serde(default)]
    pub user_checks: BTreeMap<String, String>,
}

impl Default for RestoreTests {
    fn default() -> RestoreTests {
        RestoreTests {
            schedule: None,
            grace_hours: default_drill_grace_hours(),
            user_checks: BTreeMap::new(),
        }
    }
}

fn default_drill_grace_hours() -> i64 {
    24
}

/// The most `restore_tests.grace_hours` may be: a month of lateness is no schedule at all.
pub const MAX_DRILL_GRACE_HOURS: i64 = 720;

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOut {
    /// The backup tag value that opts a resource out, e.g. `none`.
    pub value: String,
    /// The tag that must say why, e.g. `backup-opt-out-reason`.
    pub reason_tag_key: String,
}

/// A backup vault: by name (in the backup's own account and Region unless `account` or `region`
/// say otherwise), or by its ARN.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vault {
    /// The vault's name, where it differs from its key in `vaults`.
    #[serde(default)]
    pub name: Option<String>,
    /// The vault's Region; default: the Region of the backup it belongs to.
    #[serde(default)]
    pub region: Option<String>,
    /// The vault's account; default: the account of the backup it belongs to.
    #[serde(default)]
    pub account: Option<String>,
    /// Or the vault's full ARN (then neither name, region nor account).
    #[serde(default)]
    pub arn: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The vault (a key of `vaults`) the plan's backup rule writes to.
    #[serde(default)]
    pub vault: Option<String>,
    /// When the plan's backup rule runs; the RPO is derived from it unless `rpo_hours` is given.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// The newest backup may be at most this old. Default: the schedule's longest gap plus its
    /// start and completion windows.
    #[serde(default)]
    pub rpo_hours: Option<i64>,
    /// A restore of the plan's backups may take at most this long (restore-drill measures each
    /// restore test against it). Default: no RTO target.
    #[serde(default)]
    pub rto_hours: Option<i64>,
    /// How long the plan keeps its backups (the rule's `DeleteAfterDays`).
    #[serde(default)]
    pub retention_days: Option<i64>,
    /// The copies every backup of the plan must have.
    #[serde(default)]
    pub copies: Vec<Copy>,
    /// The lock the plan's vault must carry.
    #[serde(default)]
    pub vault_lock: Option<VaultLock>,
    /// Once every copy Rearguard makes of a backup exists, shorten the backup's own retention to
    /// this many days (the copies keep the long retention).
    #[serde(default)]
    pub shorten_source_to_days: Option<i64>,
    /// Derived at parse time: `rpo_hours`, or the schedule's.
    #[serde(skip)]
    #[schemars(skip)]
    effective_rpo_hours: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The rule's `ScheduleExpression`: `cron(...)` or `rate(...)`.
    pub expression: String,
    /// The rule's `StartWindowMinutes` (AWS Backup's default: 480).
    #[serde(default = "default_start_window")]
    pub start_window_minutes: i64,
    /// The rule's `CompletionWindowMinutes` (AWS Backup's default: 10080).
    #[serde(default = "default_completion_window")]
    pub completion_window_minutes: i64,
}

/// Who makes a required copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CopyMaker {
    /// cross-account-copy starts it when the backup completes.
    #[default]
    Rearguard,
    /// The plan's own copy rule (`CopyActions`) makes it; Rearguard only checks it.
    BackupPlan,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Copy {
    /// The destination vault (a key of `vaults`).
    pub vault: String,
    /// Every backup must have this copy within this many hours.
    pub rpo_hours: i64,
    #[serde(default)]
    pub made_by: CopyMaker,
    /// The copy's lifecycle; without one, the copy takes its source recovery point's.
    #[serde(default)]
    pub lifecycle: Option<Lifecycle>,
    /// A same-account vault with a customer managed key that snapshots under an AWS managed key
    /// are copied to first.
    #[serde(default)]
    pub reencrypt: Option<Reencrypt>,
    /// The role AWS Backup uses for the copy; default: the deployment's `COPY_ROLE_ARN`.
    #[serde(default)]
    pub copy_role_arn: Option<String>,
    /// Where the destination vault's Vault Lock bounds (MinRetentionDays, MaxRetentionDays)
    /// would fail the copy, keep it within them (the nearer bound) instead of refusing it.
    #[serde(default)]
    pub clamp_to_vault_lock: bool,
    /// Start the copy only once a malware scan of the backup found no threats (a `Scan Job
    /// State Change` COMPLETED with NO_THREATS_FOUND), not when the backup completes.
    #[serde(default)]
    pub require_clean_scan: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reencrypt {
    /// A vault (a key of `vaults`) in the source account and Region.
    pub vault: String,
    /// How long the intermediate copy is kept (long enough to retry the next hop).
    #[serde(default = "default_keep_days")]
    pub keep_days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// Nobody, not even the root user, can remove the lock after its grace time.
    Compliance,
    /// Principals with enough IAM permissions can remove it.
    Governance,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultLock {
    pub mode: LockMode,
    /// The lock's `MinRetentionDays`.
    #[serde(default)]
    pub min_retention_days: Option<i64>,
    /// The lock's `MaxRetentionDays`.
    #[serde(default)]
    pub max_retention_days: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Tag untagged resources with their default plan.
    Enforce,
    /// Only alert.
    #[default]
    Audit,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    #[serde(default)]
    pub mode: Mode,
    /// The first rule whose tags all match gives a new resource its plan.
    #[serde(default)]
    pub defaults: Vec<DefaultRule>,
    /// The plan for a resource no rule matches; none: alert instead.
    #[serde(default)]
    pub fallback_plan: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultRule {
    /// Every tag here must match (exact key and value).
    pub when: BTreeMap<String, String>,
    pub plan: String,
}

/// Which jobs a copy route takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Jobs {
    #[default]
    Any,
    /// Jobs started by a backup plan.
    Plan,
    /// On-demand jobs, which backup-plan copy rules never copy.
    OnDemand,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyRoute {
    pub name: String,
    /// Vaults (keys of `vaults`) where the backups land; `*` for any.
    pub source_vaults: Vec<String>,
    /// AWS Backup resource types; empty for any.
    #[serde(default)]
    pub resource_types: Vec<String>,
    /// Plans (values of the backup tag); empty for any.
    #[serde(default)]
    pub plans: Vec<String>,
    #[serde(default)]
    pub jobs: Jobs,
    /// Destination vaults (keys of `vaults`).
    pub destinations: Vec<String>,
    #[serde(default)]
    pub copy_role_arn: Option<String>,
    #[serde(default)]
    pub lifecycle: Option<Lifecycle>,
    #[serde(default)]
    pub reencrypt: Option<Reencrypt>,
    #[serde(default)]
    pub shorten_source_to_days: Option<i64>,
    /// Where the destination vault's Vault Lock bounds (MinRetentionDays, MaxRetentionDays)
    /// would fail the copy, keep it within them (the nearer bound) instead of refusing it.
    #[serde(default)]
    pub clamp_to_vault_lock: bool,
    /// Start the route's copies only once a malware scan of the backup found no threats, not
    /// when the backup completes.
    #[serde(default)]
    pub require_clean_scan: bool,
}

fn default_tag_key() -> String {
    "backup-plan".into()
}
fn default_marker_tag_key() -> String {
    "rearguard:enrolled-by".into()
}
fn default_resource_types() -> Vec<String> {
    ["EC2", "EBS", "RDS", "Aurora", "DynamoDB", "EFS"]
        .map(String::from)
        .to_vec()
}
// AWS Backup's defaults (*Backup plan options and configuration*): start within 8 hours,
// complete within 7 days.
fn default_start_window() -> i64 {
    480
}
fn default_completion_window() -> i64 {
    10_080
}
fn default_keep_days() -> i64 {
    7
}

/// A mistake in the document: where (a JSON path) and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct PolicyError {
    pub path: String,
    pub problem: String,
}

pub fn error(path: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError {
        path: path.into(),
        problem: problem.into(),
    }
}

/// A vault the document names, resolved against its `vaults` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultRef {
    /// Its key in `vaults`.
    pub key: String,
    pub vault: Vault,
}

impl VaultRef {
    /// The vault's name.
    pub fn name(&self) -> &str {
        match (&self.vault.arn, &self.vault.name) {
            (Some(arn), _) => crate::arn::vault_name(arn),
            (None, Some(name)) => name,
            (None, None) => &self.key,
        }
    }

    /// The vault's ARN for a backup in `account` and `region` of `partition`.
    pub fn arn_for(&self, partition: &str, account: &str, region: &str) -> String {
        if let Some(arn) = &self.vault.arn {
            return arn.clone();
        }
        format!(
            "arn:{partition}:backup:{}:{}:backup-vault:{}",
            self.vault.region.as_deref().unwrap_or(region),
            self.vault.account.as_deref().unwrap_or(account),
            self.name()
        )
    }

    /// Whether `vault_arn` is this vault (by ARN, or by name where account and Region fit).
    pub fn is_at(&self, vault_arn: &str) -> bool {
        if let Some(arn) = &self.vault.arn {
            return arn == vault_arn;
        }
        let Some(parsed) = Arn::parse(vault_arn) else {
            return false;
        };
        crate::arn::vault_name(vault_arn) == self.name()
            && self.vault.region.as_deref().is_none_or(|r| r == parsed.region)
            && self.vault.account.as_deref().is_none_or(|a| a == parsed.account)
    }

    /// Whether the vault is in the backup's own account and Region (wherever that is).
    pub fn is_beside_the_backup(&self) -> bool {
        self.vault.arn.is_none() && self.vault.region.is_none() && self.vault.account.is_none()
    }
}

impl Plan {
    /// The RPO: `rpo_hours`, or derived from the schedule and its windows.
    pub fn rpo_hours(&self) -> i64 {
        self.effective_rpo_hours
    }
}

impl Document {
    /// Reads `REARGUARD_POLICY` and checks the whole document.
    pub fn from_settings(settings: &Settings) -> Result<Document, ConfigError> {
        let raw = settings.required(SETTING)?;
        Document::parse(&raw).map_err(|e| invalid(&raw, e))
    }

    pub fn parse(json: &str) -> Result<Document, PolicyError> {
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let mut document: Document = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let problem = with_casing_hint(e.into_inner().to_string());
            error(if path == "." { "(document)".to_string() } else { path }, problem)
        })?;
        document.check()?;
        Ok(document)
    }

    /// The vault a key names (the document is checked, so every key it uses is there).
    pub fn vault(&self, key: &str) -> VaultRef {
        VaultRef {
            key: key.to_string(),
            vault: self.vaults.get(key).cloned().unwrap_or_default(),
        }
    }

    pub fn is_plan(&self, value: &str) -> bool {
        self.plans.contains_key(value)
    }

    fn check(&mut self) -> Result<(), PolicyError> {
        check_tag_key("tag_key", &self.tag_key)?;
        check_tag_key("marker_tag_key", &self.marker_tag_key)?;
        if self.plans.is_empty() {
            return Err(error("plans", "must name at least one plan"));
        }
        if let Some(opt_out) = &self.opt_out {
            if self.plans.contains_key(&opt_out.value) {
                return Err(error("opt_out.value", format!("{:?} is also a plan", opt_out.value)));
            }
            check_tag_key("opt_out.reason_tag_key", &opt_out.reason_tag_key)?;
        }
        for (i, kind) in self.resource_types.iter().enumerate() {
            check_type(&format!("resource_types[{i}]"), kind)?;
        }
        for (key, vault) in &self.vaults {
            check_vault(&format!("vaults.{key}"), key, vault)?;
        }
        let plan_names: Vec<String> = self.plans.keys().cloned().collect();
        let vault_keys: Vec<String> = self.vaults.keys().cloned().collect();
        let known_vault = |path: &str, key: &str| -> Result<(), PolicyError> {
            if vault_keys.iter().any(|k| k == key) {
                Ok(())
            } else {
                Err(error(path, format!("{key:?} is not one of the vaults {vault_keys:?}")))
            }
        };
        let known_plan = |path: &str, plan: &str| -> Result<(), PolicyError> {
            if plan_names.iter().any(|p| p == plan) {
                Ok(())
            } else {
                Err(error(path, format!("{plan:?} is not one of the plans {plan_names:?}")))
            }
        };
        for (name, plan) in self.plans.iter_mut() {
            let at = format!("plans.{name}");
            if name.trim().is_empty() {
                return Err(error("plans", "a plan's name (its tag value) must not be empty"));
            }
            if let Some(vault) = &plan.vault {
                known_vault(&format!("{at}.vault"), vault)?;
            }
            plan.effective_rpo_hours = effective_rpo(&at, plan)?;
            if let Some(hours) = plan.rto_hours
                && hours < 1
            {
                return Err(error(format!("{at}.rto_hours"), "must be at least 1"));
            }
            if let Some(days) = plan.retention_days
                && days < 1
            {
                return Err(error(format!("{at}.retention_days"), "must be at least 1"));
            }
            for (i, copy) in plan.copies.iter().enumerate() {
                let at = format!("{at}.copies[{i}]");
                known_vault(&format!("{at}.vault"), &copy.vault)?;
                if copy.rpo_hours < 1 {
                    return Err(error(format!("{at}.rpo_hours"), "must be at least 1"));
                }
                let made_by_plan = copy.made_by == CopyMaker::BackupPlan;
                let own_only = [
                    ("reencrypt", copy.reencrypt.is_some()),
                    ("copy_role_arn", copy.copy_role_arn.is_some()),
                    ("clamp_to_vault_lock", copy.clamp_to_vault_lock),
                    ("require_clean_scan", copy.require_clean_scan),
                ];
                if let Some((field, _)) = own_only.iter().find(|(_, set)| made_by_plan && *set) {
                    return Err(error(
                        format!("{at}.{field}"),
                        "only for copies Rearguard makes (made_by: rearguard); the plan's copy rule makes this one",
                    ));
                }
                check_copy_options(
                    &at,
                    copy.lifecycle.as_ref(),
                    copy.reencrypt.as_ref(),
                    plan.shorten_source_to_days,
                    copy.copy_role_arn.as_deref(),
                    &known_vault,
                )?;
            }
            if plan.shorten_source_to_days.is_some() && !plan.copies.iter().any(|c| c.made_by == CopyMaker::Rearguard) {
                return Err(error(
                    format!("{at}.shorten_source_to_days"),
                    "needs a copy that Rearguard makes (made_by: rearguard)",
                ));
            }
            if let Some(lock) = &plan.vault_lock {
                check_lock(&at, plan, lock)?;
            }
        }
        for (i, rule) in self.enrollment.defaults.iter().enumerate() {
            known_plan(&format!("enrollment.defaults[{i}].plan"), &rule.plan)?;
            if rule.when.is_empty() {
                return Err(error(
                    format!("enrollment.defaults[{i}].when"),
                    "must name at least one tag",
                ));
            }
        }
        if let Some(fallback) = &self.enrollment.fallback_plan {
            known_plan("enrollment.fallback_plan", fallback)?;
        }
        if let Some(expression) = &self.restore_tests.schedule {
            schedule::longest_gap_minutes(expression).map_err(|e| error("restore_tests.schedule", e))?;
        }
        for (kind, function) in &self.restore_tests.user_checks {
            let at = format!("restore_tests.user_checks.{kind}");
            check_type(&at, kind)?;
            if !Arn::parse(function).is_some_and(|a| a.service == "lambda" && a.resource.starts_with("function:")) {
                return Err(error(at, format!("{function:?} is not a Lambda function ARN")));
            }
        }
        if !(0..=MAX_DRILL_GRACE_HOURS).contains(&self.restore_tests.grace_hours) {
            return Err(error(
                "restore_tests.grace_hours",
                format!("must be 0 to {MAX_DRILL_GRACE_HOURS}"),
            ));
        }
        let mut route_names = BTreeSet::new();
        for (i, route) in self.copy_routes.iter().enumerate() {
            let at = format!("copy_routes[{i}]");
            if route.name.trim().is_empty() {
                return Err(error(format!("{at}.name"), "must not be empty"));
            }
            if !route_names.insert(route.name.as_str()) {
                return Err(error(
                    format!("{at}.name"),
                    format!("{:?} is used by an earlier route", route.name),
                ));
            }
            if route.source_vaults.is_empty() {
                return Err(error(
                    format!("{at}.source_vaults"),
                    "is empty (use [\"*\"] for any vault)",
                ));
            }
            for (j, vault) in route.source_vaults.iter().enumerate().filter(|(_, v)| *v != "*") {
                known_vault(&format!("{at}.source_vaults[{j}]"), vault)?;
            }
            for (j, kind) in route.resource_types.iter().enumerate() {
                check_type(&format!("{at}.resource_types[{j}]"), kind)?;
            }
            for (j, plan) in route.plans.iter().enumerate() {
                known_plan(&format!("{at}.plans[{j}]"), plan)?;
            }
            if route.destinations.is_empty() {
                return Err(error(format!("{at}.destinations"), "is empty"));
            }
            for (j, vault) in route.destinations.iter().enumerate() {
                known_vault(&format!("{at}.destinations[{j}]"), vault)?;
            }
            check_copy_options(
                &at,
                route.lifecycle.as_ref(),
                route.reencrypt.as_ref(),
                route.shorten_source_to_days,
                route.copy_role_arn.as_deref(),
                &known_vault,
            )?;
        }
        Ok(())
    }
}

/// The setting's error for a document that does not parse or check.
pub fn invalid(raw: &str, e: PolicyError) -> ConfigError {
    ConfigError::Invalid {
        name: SETTING.into(),
        value: format!("{} bytes of JSON", raw.len()),
        reason: format!("policy {e}"),
    }
}

/// serde names an unknown field; a camelCase one gets its snake_case spelling beside it.
fn with_casing_hint(problem: String) -> String {
    let Some(field) = problem
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    else {
        return problem;
    };
    if !field.chars().any(|c| c.is_ascii_uppercase()) {
        return problem;
    }
    let mut snake = String::new();
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    format!("{problem} (the policy is written in snake_case: `{snake}`)")
}

fn check_tag_key(path: &str, key: &str) -> Result<(), PolicyError> {
    if key.trim().is_empty() {
        return Err(error(path, "must not be empty"));
    }
    // *Tagging your AWS resources*: the aws: prefix is reserved for AWS use.
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(error(path, "tag keys starting with aws: are reserved by AWS"));
    }
    Ok(())
}

fn check_type(path: &str, kind: &str) -> Result<(), PolicyError> {
    if RESOURCE_TYPES.contains(&kind) {
        Ok(())
    } else {
        Err(error(path, format!("{kind:?} is not one of {RESOURCE_TYPES:?}")))
    }
}

fn check_vault(path: &str, key: &str, vault: &Vault) -> Result<(), PolicyError> {
    if key.is_empty() || key.contains(':') {
        return Err(error(path, "a vault's key is a plain name (use \"arn\" for an ARN)"));
    }
    if let Some(arn) = &vault.arn {
        if vault.name.is_some() || vault.region.is_some() || vault.account.is_some() {
            return Err(error(path, "give either arn, or name/region/account, not both"));
        }
        if !is_vault_arn(arn) {
            return Err(error(
                format!("{path}.arn"),
                format!("{arn:?} is not a backup vault ARN (arn:PARTITION:backup:REGION:ACCOUNT:backup-vault:NAME)"),
            ));
        }
    }
    if let Some(account) = &vault.account
        && (account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(error(
            format!("{path}.account"),
            format!("{account:?} is not a 12-digit account id"),
        ));
    }
    if let Some(region) = &vault.region
        && (region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(error(
            format!("{path}.region"),
            format!("{region:?} is not a Region code"),
        ));
    }
    Ok(())
}

pub fn is_vault_arn(arn: &str) -> bool {
    Arn::parse(arn).is_some_and(|a| {
        a.service == "backup"
            && !a.region.is_empty()
            && a.account.len() == 12
            && a.resource.strip_prefix("backup-vault:").is_some_and(|n| !n.is_empty())
    })
}

fn check_copy_options(
    at: &str,
    lifecycle: Option<&Lifecycle>,
    reencrypt: Option<&Reencrypt>,
    shorten_source_to_days: Option<i64>,
    copy_role_arn: Option<&str>,
    known_vault: &dyn Fn(&str, &str) -> Result<(), PolicyError>,
) -> Result<(), PolicyError> {
    if let Some(lifecycle) = lifecycle {
        lifecycle
            .validate()
            .map_err(|e| error(format!("{at}.lifecycle"), e.to_string()))?;
    }
    if let Some(reencrypt) = reencrypt {
        known_vault(&format!("{at}.reencrypt.vault"), &reencrypt.vault)?;
        if reencrypt.keep_days < 1 {
            return Err(error(format!("{at}.reencrypt.keep_days"), "must be at least 1"));
        }
        if shorten_source_to_days.is_some() {
            return Err(error(
                format!("{at}.shorten_source_to_days"),
                "cannot be combined with reencrypt: the source would be shortened before the re-encrypted copy reaches the other account",
            ));
        }
    }
    if let Some(days) = shorten_source_to_days
        && days < 1
    {
        return Err(error(format!("{at}.shorten_source_to_days"), "must be at least 1"));
    }
    if let Some(role) = copy_role_arn {
        match Arn::parse(role) {
            Some(arn) if arn.service == "iam" && arn.resource.starts_with("role/") => {}
            _ => {
                return Err(error(
                    format!("{at}.copy_role_arn"),
                    format!("{role:?} is not an IAM role ARN"),
                ));
            }
        }
    }
    Ok(())
}

fn effective_rpo(at: &str, plan: &Plan) -> Result<i64, PolicyError> {
    let derived = match &plan.schedule {
        None => None,
        Some(schedule) => {
            let gap = schedule::longest_gap_minutes(&schedule.expression).map_err(|e| {
                error(
                    format!("{at}.schedule.expression"),
                    format!("{e}; state rpo_hours instead"),
                )
            })?;
            for (field, minutes) in [
                ("start_window_minutes", schedule.start_window_minutes),
                ("completion_window_minutes", schedule.completion_window_minutes),
            ] {
                if minutes < 0 {
                    return Err(error(format!("{at}.schedule.{field}"), "must not be negative"));
                }
            }
            Some((
                gap,
                gap + schedule.start_window_minutes + schedule.completion_window_minutes,
            ))
        }
    };
    match (plan.rpo_hours, derived) {
        (Some(hours), _) if hours < 1 => Err(error(format!("{at}.rpo_hours"), "must be at least 1")),
        (Some(hours), Some((gap, _))) if hours * 60 < gap => Err(error(
            format!("{at}.rpo_hours"),
            format!(
                "{hours} h cannot be met: the schedule runs only every {} h",
                (gap + 59) / 60
            ),
        )),
        (Some(hours), _) => Ok(hours),
        (None, Some((_, effective))) => Ok((effective + 59) / 60),
        (None, None) => Err(error(at, "has no RPO: give rpo_hours, or a schedule to derive it from")),
    }
}

fn check_lock(at: &str, plan: &Plan, lock: &VaultLock) -> Result<(), PolicyError> {
    if plan.vault.is_none() {
        return Err(error(
            format!("{at}.vault_lock"),
            "needs the plan's vault (plans.NAME.vault) to know which vault must be locked",
        ));
    }
    for (field, days) in [
        ("min_retention_days", lock.min_retention_days),
        ("max_retention_days", lock.max_retention_days),
    ] {
        if days.is_some_and(|d| d < 1) {
            return Err(error(format!("{at}.vault_lock.{field}"), "must be at least 1"));
        }
    }
    if let (Some(min), Some(max)) = (lock.min_retention_days, lock.max_retention_days)
        && min > max
    {
        return Err(error(
            format!("{at}.vault_lock.min_retention_days"),
            format!("{min} is above max_retention_days {max}"),
        ));
    }
    // *AWS Backup Vault Lock*: a backup or copy job whose retention is outside the lock's
    // minimum and maximum fails, so the plan's own retention must fit the lock.
    if let Some(days) = plan.retention_days
        && (lock.min_retention_days.is_some_and(|min| days < min)
            || lock.max_retention_days.is_some_and(|max| days > max))
    {
        return Err(error(
            format!("{at}.retention_days"),
            format!(
                "{days} days is outside the vault lock's retention ({}..{} days): AWS Backup would fail every job",
                lock.min_retention_days.map_or("-".into(), |d| d.to_string()),
                lock.max_retention_days.map_or("-".into(), |d| d.to_string()),
            ),
        ));
    }
    Ok(())
}

/// The document's JSON Schema, as checked in at `policy.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Document);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}

#[cfg(test)]
mod tests;

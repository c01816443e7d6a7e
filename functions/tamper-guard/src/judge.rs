//! The judgement: is this event an attack on the backups, and how bad? Pure: the facts it needs
//! (the vault's last known policy and lock, the vaults a key encrypts) are gathered before.

use chrono::{DateTime, Duration, Utc};
use rearguard::alert::Severity;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::config::Allowed;
use crate::lock::Lock;
use crate::observation::{BackupState, Call, Observation, What, time_value};
use crate::state::{AlertedCall, AlertedState};
use crate::vault_policy::{policy_of, protective_denies};

/// What judging needs to know beyond the event.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    pub allowlist: &'a [Allowed],
    /// The vault's access policy before this change, when known.
    pub previous_policy: Option<&'a str>,
    /// The vault's lock before this change, when known.
    pub previous_lock: Option<&'a Lock>,
    /// The plan's rules (by name) before this change, when known.
    pub previous_plan_rules: Option<&'a BTreeMap<String, Value>>,
    /// The last CloudTrail call on the same vault, plan or recovery point that was alerted.
    pub alerted_call: Option<&'a AlertedCall>,
    /// The last AWS Backup state change on it that was alerted (it named no actor).
    pub alerted_state: Option<&'a AlertedState>,
    /// The backup vaults the key of a KMS call encrypts (empty: not a vault key).
    pub key_vaults: &'a [String],
    /// Why the vaults of the key's account are not known (a member account), if they are not.
    pub key_vaults_unknown: Option<&'a str>,
}

/// What judging needs looked up first.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    Nothing,
    /// The last known settings of a vault (`vault#<name>`) or plan (`plan#<id>`).
    Memory {
        key: String,
    },
    /// The vaults the key encrypts.
    VaultsOfKey {
        key_id: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// Machine-readable, e.g. `recovery_point_deleted`; `attempt_…` for a denied call.
    pub kind: String,
    pub headline: String,
    /// What was attacked: a vault, recovery point, key, plan...
    pub target: String,
    /// Before and after, where known.
    pub change: Option<String>,
    pub advice: String,
    /// The event id of AWS Backup's own event of the same change, already alerted without an
    /// actor: this alert is its follow-up naming who made the change.
    pub follow_up_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Alert(Finding),
    /// Not tampering, with the reason (logged).
    Nothing(String),
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The KMS key id a call names: the response's or `resources[]` ARN, else the request's
/// `keyId` (an id, an ARN or an alias).
pub fn key_id(call: &Call) -> String {
    let from_resources = call.resources.as_array().and_then(|list| {
        list.iter()
            .find(|r| text(r, "type") == "AWS::KMS::Key")
            .map(|r| text(r, "ARN").to_string())
    });
    let raw = [
        text(&call.response, "keyId").to_string(),
        from_resources.unwrap_or_default(),
    ]
    .into_iter()
    .find(|k| !k.is_empty())
    .unwrap_or_else(|| text(&call.request, "keyId").to_string());
    crate::keys::key_id_of(&raw)
}

pub fn needs(observation: &Observation) -> Need {
    let key = match &observation.what {
        What::State(BackupState::Vault { vault_name, .. }) => format!("vault#{vault_name}"),
        What::State(BackupState::Plan { plan_id, .. }) => format!("plan#{plan_id}"),
        What::State(BackupState::Point { point_arn, .. }) => format!("point#{point_arn}"),
        What::Call(call) => match (call.event_source.as_str(), call.event_name.as_str()) {
            ("kms.amazonaws.com", _) => return Need::VaultsOfKey { key_id: key_id(call) },
            (
                _,
                "PutBackupVaultAccessPolicy"
                | "PutBackupVaultLockConfiguration"
                | "DeleteBackupVault"
                | "DeleteBackupVaultAccessPolicy"
                | "DeleteBackupVaultLockConfiguration",
            ) => format!("vault#{}", text(&call.request, "backupVaultName")),
            (_, "UpdateBackupPlan" | "DeleteBackupPlan") => format!("plan#{}", text(&call.request, "backupPlanId")),
            (_, "DeleteRecoveryPoint" | "UpdateRecoveryPointLifecycle") => {
                format!("point#{}", text(&call.request, "recoveryPointArn"))
            }
            _ => return Need::Nothing,
        },
    };
    Need::Memory { key }
}

/// A CloudTrail record and AWS Backup's own event of the same change (same vault, plan or
/// recovery point) arrive within this long of each other: AWS Backup emits its events "in a
/// best-effort manner every 5 minutes" ("Monitoring AWS Backup events using Amazon
/// EventBridge") and CloudTrail delivers within minutes.
const SAME_CHANGE_WITHIN: Duration = Duration::hours(1);

/// Whether the call `action` makes the change AWS Backup reports as the state finding `kind`.
pub fn same_change(action: &str, kind: &str) -> bool {
    let actions: &[&str] = match kind {
        "vault_deleted" => &["DeleteBackupVault"],
        "vault_lock_turned_off" => &["DeleteBackupVaultLockConfiguration", "PutBackupVaultLockConfiguration"],
        "plan_deleted" => &["DeleteBackupPlan"],
        "plan_modified" => &["UpdateBackupPlan"],
        "recovery_point_deleted_early" | "recovery_point_expired" => {
            &["DeleteRecoveryPoint", "UpdateRecoveryPointLifecycle"]
        }
        _ => &[],
    };
    actions.contains(&action)
}

fn close_in_time(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).abs() <= SAME_CHANGE_WITHIN
}

/// The two records of one change are one alert plus, at most, its follow-up: AWS Backup's event
/// after the CloudTrail record is not alerted again; the CloudTrail record after AWS Backup's
/// alerted event is sent as that alert's follow-up naming the actor.
pub fn judge(observation: &Observation, facts: &Facts<'_>) -> Verdict {
    match &observation.what {
        What::Call(call) => match judge_call(observation, call, facts) {
            Verdict::Alert(finding) => match facts.alerted_state {
                Some(state)
                    if call.error_code.is_none()
                        && same_change(&call.event_name, &state.kind)
                        && close_in_time(state.at, observation.time) =>
                {
                    Verdict::Alert(Finding {
                        headline: format!("Follow-up: {}", finding.headline),
                        follow_up_of: Some(state.event_id.clone()),
                        ..finding
                    })
                }
                _ => Verdict::Alert(finding),
            },
            nothing => nothing,
        },
        What::State(state) => match (judge_state(observation, state, facts), facts.alerted_call) {
            (Verdict::Alert(finding), Some(call))
                if same_change(&call.action, &finding.kind) && close_in_time(call.at, observation.time) =>
            {
                Verdict::Nothing(format!(
                    "already alerted from the CloudTrail record {} ({} by {} at {})",
                    call.event_id,
                    call.action,
                    call.principal,
                    call.at.to_rfc3339()
                ))
            }
            (verdict, _) => verdict,
        },
    }
}

fn is_read_only(call: &Call) -> bool {
    call.read_only
        || ["Get", "List", "Describe"]
            .iter()
            .any(|p| call.event_name.starts_with(p))
}

/// AWS Backup's own work is not tampering: its lifecycle deletions arrive as `AWS Service Event
/// via CloudTrail`, and calls it makes on someone's behalf carry `invokedBy:
/// backup.amazonaws.com` or an `AWSService` identity ("CloudTrail userIdentity element").
fn made_by_aws_backup(call: &Call) -> bool {
    call.service_event
        || call.actor.kind == "AWSService"
        || call.actor.invoked_by.as_deref() == Some("backup.amazonaws.com")
}

fn allowlisted<'a>(call: &Call, allowlist: &'a [Allowed]) -> Option<&'a Allowed> {
    allowlist.iter().find(|entry| {
        (entry.principal == call.actor.arn || Some(&entry.principal) == call.actor.session_issuer.as_ref())
            && (entry.actions.is_empty() || entry.actions.iter().any(|a| a == &call.event_name))
    })
}

fn finding(severity: Severity, kind: &str, headline: &str, target: String, advice: &str) -> Finding {
    Finding {
        severity,
        kind: kind.to_string(),
        headline: headline.to_string(),
        target,
        change: None,
        advice: advice.to_string(),
        follow_up_of: None,
    }
}

const RESTORE_POINT: &str = "Check whether other recovery points of the same resources are gone, keep a copy in another account, and revoke the principal's sessions (e.g. an inline deny on the role) until the change is explained.";
const REVOKE: &str = "Revoke the principal's sessions (e.g. an inline deny on the role) until the change is explained, and review its other recent calls in CloudTrail.";

fn judge_call(observation: &Observation, call: &Call, facts: &Facts<'_>) -> Verdict {
    if is_read_only(call) {
        return Verdict::Nothing("read-only call".into());
    }
    if made_by_aws_backup(call) {
        return Verdict::Nothing(format!(
            "{} by AWS Backup itself (lifecycle or service work)",
            call.event_name
        ));
    }
    if let Some(entry) = allowlisted(call, facts.allowlist) {
        return Verdict::Nothing(format!("allowlisted principal {}: {}", entry.principal, entry.reason));
    }
    let request = &call.request;
    let vault = || format!("vault {}", text(request, "backupVaultName"));
    let point = || {
        format!(
            "recovery point {} in vault {}",
            text(request, "recoveryPointArn"),
            text(request, "backupVaultName")
        )
    };
    use Severity::{Critical, Error, Warning};
    let base = match call.event_name.as_str() {
        "DeleteRecoveryPoint" => finding(
            Critical,
            "recovery_point_deleted",
            "Recovery point deleted",
            point(),
            RESTORE_POINT,
        ),
        "DisassociateRecoveryPoint" | "DisassociateRecoveryPointFromParent" => finding(
            Critical,
            "recovery_point_disassociated",
            "Recovery point taken out of AWS Backup",
            point(),
            "The recovery point no longer counts as a backup: check it still exists in its service and take a new backup now.",
        ),
        "UpdateRecoveryPointLifecycle" => return lifecycle_change(observation, call, point()),
        "DeleteBackupVault" => finding(Critical, "vault_deleted", "Backup vault deleted", vault(), REVOKE),
        "DeleteBackupVaultAccessPolicy" => finding(
            Critical,
            "vault_policy_deleted",
            "Vault access policy deleted",
            vault(),
            "Put the vault's protective access policy back now (it denied deleting recovery points), then revoke the principal's sessions.",
        ),
        "PutBackupVaultAccessPolicy" => return policy_change(call, facts, vault()),
        "DeleteBackupVaultLockConfiguration" => finding(
            Critical,
            "vault_lock_deleted",
            "Vault lock removed",
            vault(),
            "Apply the vault lock again now (a lock in compliance mode cannot be removed after its grace time), then revoke the principal's sessions.",
        ),
        "PutBackupVaultLockConfiguration" => return lock_change(observation, call, facts, vault()),
        "ScheduleKeyDeletion" | "DisableKey" if let Some(why) = facts.key_vaults_unknown => {
            return member_key(observation, call, why);
        }
        "PutKeyPolicy" | "CreateGrant" | "RevokeGrant" if facts.key_vaults_unknown.is_some() => {
            return Verdict::Nothing(format!(
                "{} on key {} of account {}, whose vault keys are not known: too frequent to alert without knowing",
                call.event_name,
                key_id(call),
                observation.account
            ));
        }
        "ScheduleKeyDeletion" | "DisableKey" | "PutKeyPolicy" | "CreateGrant" | "RevokeGrant"
            if facts.key_vaults.is_empty() =>
        {
            return Verdict::Nothing(format!("key {} encrypts no backup vault", key_id(call)));
        }
        "ScheduleKeyDeletion" => finding(
            Critical,
            "vault_key_deletion_scheduled",
            "Vault key scheduled for deletion",
            key_target(call, facts),
            "Cancel the key deletion and enable the key now (kms:CancelKeyDeletion, kms:EnableKey): once deleted, every recovery point it encrypts is lost.",
        ),
        "DisableKey" => finding(
            Critical,
            "vault_key_disabled",
            "Vault key disabled",
            key_target(call, facts),
            "Enable the key now (kms:EnableKey): while it is disabled, nothing in these vaults can be restored or copied.",
        ),
        "PutKeyPolicy" => finding(
            Error,
            "vault_key_policy_changed",
            "Vault key policy changed",
            key_target(call, facts),
            "Compare the new key policy with the previous one: a policy that shuts AWS Backup out breaks restores.",
        ),
        "CreateGrant" | "RevokeGrant" => finding(
            Warning,
            "vault_key_grant_changed",
            "Vault key grant changed",
            key_target(call, facts),
            "Check who the grant is for: grants let principals use the key outside its key policy.",
        ),
        "DeleteBackupPlan" => finding(
            Error,
            "plan_deleted",
            "Backup plan deleted",
            format!("backup plan {}", text(request, "backupPlanId")),
            "No new backups are taken for its resources: restore the plan from its definition (template) and check who deleted it.",
        ),
        "DeleteBackupSelection" => finding(
            Error,
            "selection_deleted",
            "Backup selection deleted",
            format!(
                "selection {} of backup plan {}",
                text(request, "selectionId"),
                text(request, "backupPlanId")
            ),
            "The plan no longer backs up these resources: restore the selection and check who deleted it.",
        ),
        "UpdateRegionSettings" => return region_settings(call),
        "CancelLegalHold" => finding(
            Error,
            "legal_hold_cancelled",
            "Legal hold cancelled",
            format!("legal hold {}", text(request, "legalHoldId")),
            "The recovery points it held can now be deleted: confirm the cancellation was approved.",
        ),
        "DisassociateBackupVaultMpaApprovalTeam" => finding(
            Error,
            "vault_approval_team_removed",
            "Vault approval team removed",
            vault(),
            "Recovering this vault no longer needs a multi-party approval: confirm the change was approved.",
        ),
        "DeleteBackupVaultNotifications" => finding(
            Warning,
            "vault_notifications_deleted",
            "Vault notifications removed",
            vault(),
            "Nobody is told about this vault's jobs any more: put the notifications back.",
        ),
        "UpdateBackupPlan" => Finding {
            change: Some(plan_diff(facts.previous_plan_rules, &plan_rules(request))),
            ..finding(
                Warning,
                "plan_modified",
                "Backup plan modified",
                format!("backup plan {}", text(request, "backupPlanId")),
                "Check the new rules (schedule, retention, copies) against the plan's definition; every version is in AWS Backup's plan versions.",
            )
        },
        "DeleteRestoreTestingPlan" | "DeleteRestoreTestingSelection" => finding(
            Warning,
            "restore_testing_deleted",
            "Restore testing removed",
            format!("restore testing plan {}", text(request, "restoreTestingPlanName")),
            "Restores are no longer proven: put the restore testing back.",
        ),
        "DeleteFramework" | "DeleteReportPlan" => finding(
            Warning,
            "audit_deleted",
            "Backup audit removed",
            format!(
                "{} {}{}",
                if call.event_name == "DeleteFramework" {
                    "framework"
                } else {
                    "report plan"
                },
                text(request, "frameworkName"),
                text(request, "reportPlanName")
            ),
            "Compliance evidence is no longer collected: put the framework or report plan back.",
        ),
        "UpdateGlobalSettings" => finding(
            Warning,
            "global_settings_changed",
            "AWS Backup global settings changed",
            format!(
                "global settings {}",
                request.get("globalSettings").map(Value::to_string).unwrap_or_default()
            ),
            "Check that cross-account backup and the other organisation settings are still as intended.",
        ),
        "RevokeRestoreAccessBackupVault" => finding(
            Warning,
            "restore_access_revoked",
            "Restore access vault revoked",
            format!("restore access vault {}", text(request, "restoreAccessBackupVaultArn")),
            "Check the revocation was intended: the vault's recovery points can no longer be restored from there.",
        ),
        other => return Verdict::Nothing(format!("{other} is not a tamper action")),
    };
    alert_or_attempt(call, base)
}

/// The finding of a call that went through, or of a denied attempt at it.
fn alert_or_attempt(call: &Call, base: Finding) -> Verdict {
    if call.error_code.is_some() {
        return denied_attempt(call, base);
    }
    Verdict::Alert(base)
}

/// A denied call changed nothing, but someone tried: an attempt at a CRITICAL action is an
/// ERROR; a denied attempt at anything less is not worth a message.
fn denied_attempt(call: &Call, base: Finding) -> Verdict {
    if base.severity != Severity::Critical {
        return Verdict::Nothing(format!(
            "{} failed ({}): nothing changed",
            call.event_name,
            call.error_code.as_deref().unwrap_or("")
        ));
    }
    Verdict::Alert(Finding {
        severity: Severity::Error,
        kind: format!("attempt_{}", base.kind),
        headline: format!("Denied attempt: {}", base.headline),
        change: Some(format!(
            "AWS refused it: {} {}",
            call.error_code.as_deref().unwrap_or(""),
            call.error_message.as_deref().unwrap_or("")
        )),
        advice: format!(
            "Nothing was lost, but this principal tried. {REVOKE} If it should have worked, add it to TAMPER_ALLOWLIST with the reason."
        ),
        ..base
    })
}

/// A key scheduled for deletion or disabled in an account whose vaults the function cannot list
/// (a member account without the member role): it may encrypt a backup vault there, so it is
/// said rather than kept quiet, as a WARNING that states the uncertainty. A scheduled deletion
/// waits 7 to 30 days ("Deleting AWS KMS keys"), time to check.
fn member_key(observation: &Observation, call: &Call, why: &str) -> Verdict {
    let (kind, headline, advice) = if call.event_name == "ScheduleKeyDeletion" {
        (
            "member_key_deletion_scheduled",
            "Key scheduled for deletion in a member account",
            "Check now whether the key encrypts a backup vault in that account (DescribeBackupVault: EncryptionKeyArn); if it does, cancel the deletion and enable the key (kms:CancelKeyDeletion, kms:EnableKey) before the waiting period ends.",
        )
    } else {
        (
            "member_key_disabled",
            "Key disabled in a member account",
            "Check now whether the key encrypts a backup vault in that account (DescribeBackupVault: EncryptionKeyArn); if it does, enable it (kms:EnableKey): while it is disabled nothing in that vault can be restored or copied.",
        )
    };
    let base = finding(
        Severity::Warning,
        kind,
        headline,
        format!(
            "key {} of account {} (whether it encrypts a backup vault is not known: {why})",
            key_id(call),
            observation.account
        ),
        advice,
    );
    alert_or_attempt(call, base)
}

fn key_target(call: &Call, facts: &Facts<'_>) -> String {
    format!("key {} (encrypts vault {})", key_id(call), facts.key_vaults.join(", "))
}

/// CloudTrail records only the new policy: the previous one is the last the function saw.
fn policy_change(call: &Call, facts: &Facts<'_>, vault: String) -> Verdict {
    let new = policy_of(&call.request).unwrap_or_default();
    let kept = protective_denies(&new);
    let Some(previous) = facts.previous_policy else {
        return Verdict::Nothing(format!(
            "first policy seen for this vault; it denies {kept:?} and is remembered"
        ));
    };
    let lost: BTreeSet<String> = protective_denies(previous).difference(&kept).cloned().collect();
    if lost.is_empty() {
        return Verdict::Nothing("the new policy keeps every deny the previous one had".into());
    }
    let lost: Vec<String> = lost.into_iter().collect();
    let base = Finding {
        change: Some(format!(
            "before: denied {}; after: no longer denies {}",
            protective_denies(previous).into_iter().collect::<Vec<_>>().join(", "),
            lost.join(", ")
        )),
        ..finding(
            Severity::Critical,
            "vault_policy_weakened",
            "Vault access policy no longer denies deletion",
            vault,
            "Put the previous access policy back now (it is in this message's JSON document as previousPolicy), then revoke the principal's sessions.",
        )
    };
    alert_or_attempt(call, base)
}

/// A new lock configuration against the last known lock ("AWS Backup Vault Lock"): a lower or
/// removed minimum, or a compliance-mode lock put back into governance mode (AWS allows both
/// only before a compliance lock's lock date), is CRITICAL; a lower or new maximum only fails
/// future backup and copy jobs with a longer retention, like a plan deleted: ERROR. A denied
/// attempt at either (after the lock date AWS refuses) is an attempt.
fn lock_change(observation: &Observation, call: &Call, facts: &Facts<'_>, vault: String) -> Verdict {
    let new = Lock::from_request(&call.request, observation.time);
    let Some(weakening) = facts.previous_lock.and_then(|before| before.weakened_by(&new)) else {
        return Verdict::Nothing("a vault lock applied, kept or hardened".into());
    };
    let before = facts.previous_lock.map(Lock::describe).unwrap_or_default();
    let base = Finding {
        change: Some(format!("{} (lock before: {before})", weakening.changes.join("; "))),
        ..if weakening.protection_lost {
            finding(
                Severity::Critical,
                "vault_lock_weakened",
                "Vault lock weakened",
                vault,
                "Put the previous lock configuration back now (a compliance-mode lock can be changed only before its lock date), then revoke the principal's sessions.",
            )
        } else {
            finding(
                Severity::Error,
                "vault_lock_max_retention_lowered",
                "Vault lock maximum retention lowered",
                vault,
                "Backup and copy jobs whose retention is longer than the new maximum now fail: put the previous maximum back or shorten the plans' retention on purpose.",
            )
        }
    };
    alert_or_attempt(call, base)
}

/// `isLocked: "false"` on a vault last seen locked: the lock was turned off. AWS Backup's event
/// comes batched and may be older than what was learnt since, so an event older than the last
/// known lock is not compared with it.
fn vault_lock_state(observation: &Observation, target: String, is_locked: Option<&str>, facts: &Facts<'_>) -> Verdict {
    match (is_locked, facts.previous_lock) {
        (Some("false"), Some(before)) if before.locked && before.seen_at <= observation.time => {
            Verdict::Alert(Finding {
                change: Some(format!("lock before: {}; now isLocked false", before.describe())),
                ..finding(
                    Severity::Critical,
                    "vault_lock_turned_off",
                    "Vault lock turned off",
                    target,
                    &format!(
                        "Apply the vault lock again now (PutBackupVaultLockConfiguration), then revoke the principal's sessions. {WHO_STATE}"
                    ),
                )
            })
        }
        (Some("false"), Some(before)) if before.locked => Verdict::Nothing(format!(
            "isLocked false at {}, older than the lock last seen at {}",
            observation.time.to_rfc3339(),
            before.seen_at.to_rfc3339()
        )),
        (Some("false"), Some(before)) => Verdict::Nothing(format!(
            "isLocked false: the vault's lock was already known off since {}",
            before.seen_at.to_rfc3339()
        )),
        (Some("false"), None) => Verdict::Nothing("isLocked false on a vault not known to have been locked".into()),
        (Some("true"), _) => Verdict::Nothing("isLocked true: a lock applied or kept (hardening)".into()),
        _ => Verdict::Nothing("vault modified without a lock state".into()),
    }
}

/// Retention shortened so the point is due now (or within a day) is as bad as a deletion.
fn lifecycle_change(observation: &Observation, call: &Call, point: String) -> Verdict {
    let delete_at = call
        .response
        .get("calculatedLifecycle")
        .and_then(|l| l.get("deleteAt"))
        .and_then(time_value);
    let due_now = delete_at.is_some_and(|at| at <= observation.time + Duration::days(1));
    let base = Finding {
        change: Some(format!(
            "new lifecycle {}{}",
            call.request.get("lifecycle").map(Value::to_string).unwrap_or_default(),
            delete_at
                .map(|at| format!(", deleted at {}", at.to_rfc3339()))
                .unwrap_or_default()
        )),
        ..if due_now || call.error_code.is_some() {
            finding(
                Severity::Critical,
                "retention_shortened",
                "Recovery point retention shortened: due now",
                point,
                "Lengthen the retention again now (UpdateRecoveryPointLifecycle), then revoke the principal's sessions.",
            )
        } else {
            finding(
                Severity::Warning,
                "retention_changed",
                "Recovery point retention changed",
                point,
                "Check the new retention against the plan's.",
            )
        }
    };
    alert_or_attempt(call, base)
}

/// A plan's rules by name, from an `UpdateBackupPlan` record's `backupPlan.rules` (the API's
/// `BackupPlan.Rules`; either casing).
pub fn plan_rules(request: &Value) -> BTreeMap<String, Value> {
    let plan = request.get("backupPlan").or_else(|| request.get("BackupPlan"));
    let rules = plan.and_then(|p| p.get("rules").or_else(|| p.get("Rules")));
    rules
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|rule| {
                    let name = rule
                        .get("ruleName")
                        .or_else(|| rule.get("RuleName"))
                        .and_then(Value::as_str);
                    (name.unwrap_or("(unnamed)").to_string(), rule.clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The rules removed, added and changed, or why that cannot be told.
fn plan_diff(before: Option<&BTreeMap<String, Value>>, after: &BTreeMap<String, Value>) -> String {
    let Some(before) = before else {
        return format!(
            "rules now: {}; the previous version is not known to Rearguard yet (first change seen)",
            after.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let mut parts = Vec::new();
    for (name, rule) in before {
        match after.get(name) {
            None => parts.push(format!("rule {name} removed (was {rule})")),
            Some(new) if new != rule => parts.push(format!("rule {name} changed from {rule} to {new}")),
            Some(_) => {}
        }
    }
    parts.extend(
        after
            .iter()
            .filter(|(name, _)| !before.contains_key(*name))
            .map(|(name, rule)| format!("rule {name} added: {rule}")),
    );
    if parts.is_empty() {
        return "rules unchanged".into();
    }
    rearguard::alert::clip(&parts.join("; "), 2000)
}

/// `resourceTypeOptInPreference` maps a resource type to whether AWS Backup protects it.
fn region_settings(call: &Call) -> Verdict {
    let opted_out: Vec<String> = call
        .request
        .get("resourceTypeOptInPreference")
        .and_then(Value::as_object)
        .map(|prefs| {
            prefs
                .iter()
                .filter(|(_, v)| v.as_bool() == Some(false) || v.as_str() == Some("false"))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if opted_out.is_empty() || call.error_code.is_some() {
        return Verdict::Nothing("Region settings opt nothing out".into());
    }
    Verdict::Alert(finding(
        Severity::Error,
        "resource_type_opted_out",
        "Resource types opted out of AWS Backup",
        format!("Region settings: {} opted out", opted_out.join(", ")),
        "Backup plans skip these types from now on: opt them back in unless this was intended.",
    ))
}

/// AWS Backup's own state changes carry no actor ("Monitoring AWS Backup events using Amazon
/// EventBridge"): the message says so and points at CloudTrail.
const WHO_STATE: &str = "AWS Backup's event names no actor: find the call in CloudTrail (event history) to see who.";

fn judge_state(observation: &Observation, state: &BackupState, facts: &Facts<'_>) -> Verdict {
    use Severity::{Critical, Error, Warning};
    const WHO: &str = WHO_STATE;
    let alert = |severity, kind: &str, headline: &str, target: String, advice: &str| {
        Verdict::Alert(finding(severity, kind, headline, target, &format!("{advice} {WHO}")))
    };
    match state {
        BackupState::Vault {
            vault_arn,
            vault_name,
            state,
            ..
        } if state == "DELETED" => alert(
            Critical,
            "vault_deleted",
            "Backup vault deleted",
            format!("vault {vault_name} ({vault_arn})"),
            REVOKE,
        ),
        BackupState::Vault {
            vault_arn,
            vault_name,
            state,
            is_locked,
        } if state == "MODIFIED" => vault_lock_state(
            observation,
            format!("vault {vault_name} ({vault_arn})"),
            is_locked.as_deref(),
            facts,
        ),
        BackupState::Plan {
            plan_arn,
            plan_id,
            state,
        } if state == "DELETED" => alert(
            Error,
            "plan_deleted",
            "Backup plan deleted",
            format!("backup plan {plan_id} ({plan_arn})"),
            "No new backups are taken for its resources: restore the plan from its definition.",
        ),
        BackupState::Plan {
            plan_arn,
            plan_id,
            state,
        } if state == "MODIFIED" => alert(
            Warning,
            "plan_modified",
            "Backup plan modified",
            format!("backup plan {plan_id} ({plan_arn})"),
            "Check the new rules against the plan's definition.",
        ),
        BackupState::Point {
            point_arn,
            vault_name,
            status,
            delete_at,
        } if status == "DELETING" => match delete_at {
            Some(at) if *at > observation.time + Duration::hours(1) => Verdict::Alert(Finding {
                change: Some(format!("scheduled deletion was {}", at.to_rfc3339())),
                ..finding(
                    Critical,
                    "recovery_point_deleted_early",
                    "Recovery point deleted before its scheduled deletion",
                    format!("recovery point {point_arn} in vault {vault_name}"),
                    &format!("{RESTORE_POINT} {WHO}"),
                )
            }),
            _ => Verdict::Nothing("deleting at or after its scheduled time: lifecycle".into()),
        },
        BackupState::Point {
            point_arn,
            vault_name,
            status,
            ..
        } if status == "EXPIRED" => alert(
            Warning,
            "recovery_point_expired",
            "Recovery point EXPIRED and not deleted",
            format!("recovery point {point_arn} in vault {vault_name}"),
            "A deletion (by the lifecycle or by someone without enough permissions) could not complete: check who asked for it.",
        ),
        _ => Verdict::Nothing("not a tamper state change".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::decode;
    use serde_json::json;

    fn event(name: &str) -> Observation {
        let text = match name {
            "delete" => include_str!("../../../events/cloudtrail-delete-recovery-point.json"),
            "denied" => include_str!("../../../events/cloudtrail-delete-recovery-point-denied.json"),
            "lifecycle" => include_str!("../../../events/cloudtrail-backup-deleted-by-lifecycle.json"),
            "protective" => include_str!("../../../events/cloudtrail-put-vault-access-policy-protective.json"),
            "open" => include_str!("../../../events/cloudtrail-put-vault-access-policy-without-deny.json"),
            "key" => include_str!("../../../events/cloudtrail-schedule-key-deletion.json"),
            "vault-deleted" => include_str!("../../../events/vault-deleted.json"),
            "point-early" => include_str!("../../../events/recovery-point-deleting-early.json"),
            "lock-off" => include_str!("../../../events/vault-lock-turned-off.json"),
            "put-lock" => include_str!("../../../events/cloudtrail-put-vault-lock-configuration.json"),
            _ => unreachable!(),
        };
        decode(&serde_json::from_str(text).unwrap()).unwrap()
    }

    fn with_detail(name: &str, change: impl FnOnce(&mut Value)) -> Observation {
        let text = match name {
            "delete" => include_str!("../../../events/cloudtrail-delete-recovery-point.json"),
            _ => unreachable!(),
        };
        let mut payload: Value = serde_json::from_str(text).unwrap();
        change(&mut payload["detail"]);
        decode(&payload).unwrap()
    }

    fn severity(verdict: &Verdict) -> Option<Severity> {
        match verdict {
            Verdict::Alert(f) => Some(f.severity),
            Verdict::Nothing(_) => None,
        }
    }

    #[test]
    fn a_recovery_point_deleted_by_a_principal_is_critical() {
        let Verdict::Alert(finding) = judge(&event("delete"), &Facts::default()) else {
            panic!()
        };
        assert_eq!(finding.severity, Severity::Critical);
        assert_eq!(finding.kind, "recovery_point_deleted");
        assert!(finding.target.contains("recovery-point:8d2c4f1e"), "{}", finding.target);
    }

    #[test]
    fn a_lifecycle_deletion_by_aws_backup_is_nothing() {
        assert_eq!(severity(&judge(&event("lifecycle"), &Facts::default())), None);
    }

    #[test]
    fn a_call_aws_backup_makes_on_someones_behalf_is_nothing() {
        let invoked = with_detail("delete", |d| {
            d["userIdentity"]["invokedBy"] = json!("backup.amazonaws.com");
        });
        let service = with_detail("delete", |d| d["userIdentity"]["type"] = json!("AWSService"));
        assert_eq!(severity(&judge(&invoked, &Facts::default())), None);
        assert_eq!(severity(&judge(&service, &Facts::default())), None);
    }

    #[test]
    fn a_denied_attempt_at_a_critical_action_is_an_error() {
        let Verdict::Alert(finding) = judge(&event("denied"), &Facts::default()) else {
            panic!()
        };
        assert_eq!(finding.severity, Severity::Error);
        assert_eq!(finding.kind, "attempt_recovery_point_deleted");
        assert!(finding.change.unwrap().contains("AccessDeniedException"));
    }

    #[test]
    fn a_denied_attempt_at_a_lesser_action_is_nothing() {
        let denied_plan_update = with_detail("delete", |d| {
            d["eventName"] = json!("UpdateBackupPlan");
            d["errorCode"] = json!("AccessDeniedException");
        });
        assert_eq!(severity(&judge(&denied_plan_update, &Facts::default())), None);
    }

    #[test]
    fn read_only_calls_are_nothing() {
        let read = with_detail("delete", |d| {
            d["eventName"] = json!("ListRecoveryPointsByBackupVault");
            d["readOnly"] = json!(true);
        });
        assert_eq!(severity(&judge(&read, &Facts::default())), None);
    }

    #[test]
    fn an_allowlisted_principal_is_nothing_only_for_its_actions() {
        let allowlist = [Allowed {
            principal: "arn:aws:iam::123456789012:role/ops-admin".into(),
            reason: "the pipeline prunes test backups".into(),
            actions: vec!["DeleteRecoveryPoint".into()],
        }];
        let facts = Facts {
            allowlist: &allowlist,
            ..Facts::default()
        };
        let Verdict::Nothing(reason) = judge(&event("delete"), &facts) else {
            panic!()
        };
        assert!(reason.contains("prunes test backups"), "{reason}");
        let other = with_detail("delete", |d| d["eventName"] = json!("DeleteBackupVault"));
        assert_eq!(severity(&judge(&other, &facts)), Some(Severity::Critical));
    }

    #[test]
    fn a_policy_that_drops_the_deny_the_previous_one_had_is_critical() {
        let previous = crate::vault_policy::policy_of(&match &event("protective").what {
            What::Call(c) => c.request.clone(),
            _ => unreachable!(),
        })
        .unwrap();
        let facts = Facts {
            previous_policy: Some(&previous),
            ..Facts::default()
        };
        let Verdict::Alert(finding) = judge(&event("open"), &facts) else {
            panic!()
        };
        assert_eq!(finding.severity, Severity::Critical);
        assert!(finding.change.unwrap().contains("backup:DeleteRecoveryPoint"));
        // The same protective policy put again keeps every deny.
        assert_eq!(severity(&judge(&event("protective"), &facts)), None);
    }

    #[test]
    fn a_first_policy_seen_is_remembered_not_alerted() {
        assert_eq!(severity(&judge(&event("open"), &Facts::default())), None);
    }

    #[test]
    fn scheduling_the_deletion_of_a_vault_key_is_critical_and_of_another_key_nothing() {
        let vaults = ["production".to_string()];
        let facts = Facts {
            key_vaults: &vaults,
            ..Facts::default()
        };
        let observation = event("key");
        assert_eq!(
            needs(&observation),
            Need::VaultsOfKey {
                key_id: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d".into()
            }
        );
        assert_eq!(severity(&judge(&observation, &facts)), Some(Severity::Critical));
        assert_eq!(severity(&judge(&observation, &Facts::default())), None);
    }

    #[test]
    fn a_lock_with_a_lower_minimum_retention_is_weakened_and_a_new_lock_is_hardening() {
        let put_lock = |min: i64| {
            with_detail("delete", |d| {
                d["eventName"] = json!("PutBackupVaultLockConfiguration");
                d["requestParameters"] = json!({"backupVaultName": "production", "minRetentionDays": min});
            })
        };
        let before = Lock::from_request(&json!({"minRetentionDays": 30}), DateTime::<chrono::Utc>::MIN_UTC);
        let facts = Facts {
            previous_lock: Some(&before),
            ..Facts::default()
        };
        assert_eq!(severity(&judge(&put_lock(1), &facts)), Some(Severity::Critical));
        assert_eq!(severity(&judge(&put_lock(30), &facts)), None);
        assert_eq!(severity(&judge(&put_lock(1), &Facts::default())), None);
    }

    #[test]
    fn retention_shortened_so_the_point_is_due_now_is_critical() {
        let lifecycle = |delete_at: &str| {
            with_detail("delete", |d| {
                d["eventName"] = json!("UpdateRecoveryPointLifecycle");
                d["responseElements"] = json!({"calculatedLifecycle": {"deleteAt": delete_at}});
            })
        };
        assert_eq!(
            severity(&judge(&lifecycle("Nov 20, 2026 3:30:00 AM"), &Facts::default())),
            Some(Severity::Critical)
        );
        assert_eq!(
            severity(&judge(&lifecycle("2027-06-01T00:00:00Z"), &Facts::default())),
            Some(Severity::Warning)
        );
    }

    #[test]
    fn opting_a_resource_type_out_is_an_error_and_opting_in_is_nothing() {
        let settings = |on: bool| {
            with_detail("delete", |d| {
                d["eventName"] = json!("UpdateRegionSettings");
                d["requestParameters"] = json!({"resourceTypeOptInPreference": {"RDS": on, "EBS": true}});
            })
        };
        assert_eq!(
            severity(&judge(&settings(false), &Facts::default())),
            Some(Severity::Error)
        );
        assert_eq!(severity(&judge(&settings(true), &Facts::default())), None);
    }

    #[test]
    fn plan_deletion_is_an_error_and_notifications_removed_a_warning() {
        let named = |name: &str| with_detail("delete", |d| d["eventName"] = json!(name));
        assert_eq!(
            severity(&judge(&named("DeleteBackupPlan"), &Facts::default())),
            Some(Severity::Error)
        );
        assert_eq!(
            severity(&judge(&named("DeleteBackupVaultNotifications"), &Facts::default())),
            Some(Severity::Warning)
        );
        assert_eq!(severity(&judge(&named("StartBackupJob"), &Facts::default())), None);
    }

    #[test]
    fn a_plan_update_names_the_rules_removed_and_changed_against_the_last_known_version() {
        let update = with_detail("delete", |d| {
            d["eventName"] = json!("UpdateBackupPlan");
            d["requestParameters"] = json!({"backupPlanId": "p-1", "backupPlan": {"backupPlanName": "production", "rules": [
                {"ruleName": "daily", "targetBackupVaultName": "production", "lifecycle": {"deleteAfterDays": 1}}
            ]}});
        });
        let before = BTreeMap::from([
            (
                "daily".to_string(),
                json!({"ruleName": "daily", "targetBackupVaultName": "production", "lifecycle": {"deleteAfterDays": 35}}),
            ),
            ("offsite-copy".to_string(), json!({"ruleName": "offsite-copy"})),
        ]);
        let facts = Facts {
            previous_plan_rules: Some(&before),
            ..Facts::default()
        };
        let Verdict::Alert(finding) = judge(&update, &facts) else {
            panic!()
        };
        let change = finding.change.unwrap();
        assert_eq!(finding.severity, Severity::Warning);
        assert!(change.contains("rule offsite-copy removed"), "{change}");
        assert!(
            change.contains("rule daily changed") && change.contains("\"deleteAfterDays\":1"),
            "{change}"
        );
        let Verdict::Alert(first) = judge(&update, &Facts::default()) else {
            panic!()
        };
        assert!(first.change.unwrap().contains("not known to Rearguard yet"));
    }

    #[test]
    fn a_state_change_already_alerted_from_its_cloudtrail_record_is_nothing() {
        let observation = event("vault-deleted");
        assert_eq!(
            needs(&observation),
            Need::Memory {
                key: "vault#staging".into()
            }
        );
        let call = |minutes: i64| AlertedCall {
            event_id: "ct-1".into(),
            action: "DeleteBackupVault".into(),
            principal: "arn:aws:iam::123456789012:role/ops-admin".into(),
            at: observation.time - Duration::minutes(minutes),
        };
        let recent = call(3);
        let facts = Facts {
            alerted_call: Some(&recent),
            ..Facts::default()
        };
        let Verdict::Nothing(reason) = judge(&observation, &facts) else {
            panic!()
        };
        assert!(reason.contains("ct-1") && reason.contains("ops-admin"), "{reason}");
        let old = call(180);
        let facts = Facts {
            alerted_call: Some(&old),
            ..Facts::default()
        };
        assert_eq!(severity(&judge(&observation, &facts)), Some(Severity::Critical));
    }

    #[test]
    fn aws_backup_state_changes_are_judged_without_an_actor() {
        let Verdict::Alert(vault) = judge(&event("vault-deleted"), &Facts::default()) else {
            panic!()
        };
        assert_eq!(vault.severity, Severity::Critical);
        assert!(vault.advice.contains("CloudTrail"));
        assert_eq!(
            severity(&judge(&event("point-early"), &Facts::default())),
            Some(Severity::Critical)
        );
    }

    /// "DeleteRecoveryPoint" (AWS Backup API reference): a caller without enough permissions gets
    /// a 200 and the point goes EXPIRED instead of being deleted.
    #[test]
    fn a_recovery_point_left_expired_is_a_warning_and_one_deleting_on_schedule_nothing() {
        let point = |status: &str, delete_at: &str| {
            let mut payload: Value =
                serde_json::from_str(include_str!("../../../events/recovery-point-deleting-early.json")).unwrap();
            payload["detail"]["status"] = json!(status);
            payload["detail"]["calculatedLifeCycle"]["deleteAt"] = json!(delete_at);
            decode(&payload).unwrap()
        };
        assert_eq!(
            severity(&judge(&point("EXPIRED", "2026-11-20T03:00:00Z"), &Facts::default())),
            Some(Severity::Warning)
        );
        assert_eq!(
            severity(&judge(&point("DELETING", "2026-11-20T03:00:00Z"), &Facts::default())),
            None
        );
    }

    fn lock_seen(request: Value, at: &str) -> Lock {
        Lock::from_request(&request, DateTime::parse_from_rfc3339(at).unwrap().to_utc())
    }

    /// "Monitoring AWS Backup events using Amazon EventBridge": a vault MODIFIED event carries
    /// `isLocked` as a string.
    #[test]
    fn is_locked_false_on_a_vault_last_seen_locked_is_critical() {
        let observation = event("lock-off");
        assert_eq!(
            needs(&observation),
            Need::Memory {
                key: "vault#production".into()
            }
        );
        let before = lock_seen(json!({"minRetentionDays": 30}), "2026-11-20T03:00:05Z");
        let facts = Facts {
            previous_lock: Some(&before),
            ..Facts::default()
        };
        let Verdict::Alert(finding) = judge(&observation, &facts) else {
            panic!()
        };
        assert_eq!(finding.severity, Severity::Critical);
        assert_eq!(finding.kind, "vault_lock_turned_off");
        assert!(
            finding.change.unwrap().contains("minimum retention 30 days"),
            "the message says what the lock was"
        );
        assert!(finding.advice.contains("CloudTrail"));
    }

    #[test]
    fn is_locked_false_on_an_unlocked_or_unknown_vault_or_older_than_the_lock_is_nothing() {
        let observation = event("lock-off");
        assert_eq!(severity(&judge(&observation, &Facts::default())), None);
        let unlocked = Lock::removed(observation.time - Duration::days(1));
        let facts = Facts {
            previous_lock: Some(&unlocked),
            ..Facts::default()
        };
        assert_eq!(severity(&judge(&observation, &facts)), None);
        let newer = lock_seen(json!({"minRetentionDays": 30}), "2026-11-20T03:40:00Z");
        let facts = Facts {
            previous_lock: Some(&newer),
            ..Facts::default()
        };
        let Verdict::Nothing(reason) = judge(&observation, &facts) else {
            panic!()
        };
        assert!(reason.contains("older than the lock"), "{reason}");
    }

    #[test]
    fn is_locked_true_is_hardening() {
        let mut payload: Value =
            serde_json::from_str(include_str!("../../../events/vault-lock-turned-off.json")).unwrap();
        payload["detail"]["isLocked"] = json!("true");
        let before = Lock::removed(DateTime::<chrono::Utc>::MIN_UTC);
        let facts = Facts {
            previous_lock: Some(&before),
            ..Facts::default()
        };
        assert_eq!(severity(&judge(&decode(&payload).unwrap(), &facts)), None);
    }

    fn put_lock(request: Value) -> Observation {
        let mut payload: Value = serde_json::from_str(include_str!(
            "../../../events/cloudtrail-put-vault-lock-configuration.json"
        ))
        .unwrap();
        payload["detail"]["requestParameters"] = request;
        decode(&payload).unwrap()
    }

    #[test]
    fn a_lower_maximum_retention_is_an_error_and_a_higher_one_nothing() {
        let before = lock_seen(
            json!({"minRetentionDays": 30, "maxRetentionDays": 365}),
            "2026-11-19T00:00:00Z",
        );
        let facts = Facts {
            previous_lock: Some(&before),
            ..Facts::default()
        };
        let lowered =
            put_lock(json!({"backupVaultName": "production", "minRetentionDays": 30, "maxRetentionDays": 31}));
        let Verdict::Alert(finding) = judge(&lowered, &facts) else {
            panic!()
        };
        assert_eq!(finding.severity, Severity::Error);
        assert_eq!(finding.kind, "vault_lock_max_retention_lowered");
        let raised =
            put_lock(json!({"backupVaultName": "production", "minRetentionDays": 30, "maxRetentionDays": 400}));
        assert_eq!(severity(&judge(&raised, &facts)), None);
    }

    #[test]
    fn a_compliance_lock_put_back_into_governance_mode_is_critical_and_a_refused_one_an_attempt() {
        let before = lock_seen(
            json!({"minRetentionDays": 30, "changeableForDays": 3}),
            "2026-11-19T00:00:00Z",
        );
        let facts = Facts {
            previous_lock: Some(&before),
            ..Facts::default()
        };
        let governance = put_lock(json!({"backupVaultName": "production", "minRetentionDays": 30}));
        let Verdict::Alert(finding) = judge(&governance, &facts) else {
            panic!()
        };
        assert_eq!(
            (finding.severity, finding.kind.as_str()),
            (Severity::Critical, "vault_lock_weakened")
        );
        assert!(finding.change.unwrap().contains("governance mode"));
        // After the lock date AWS refuses the change ("AWS Backup Vault Lock").
        let mut refused: Value = serde_json::from_str(include_str!(
            "../../../events/cloudtrail-put-vault-lock-configuration.json"
        ))
        .unwrap();
        refused["detail"]["requestParameters"] = json!({"backupVaultName": "production", "minRetentionDays": 1});
        refused["detail"]["errorCode"] = json!("InvalidRequestException");
        let Verdict::Alert(attempt) = judge(&decode(&refused).unwrap(), &facts) else {
            panic!()
        };
        assert_eq!(
            (attempt.severity, attempt.kind.as_str()),
            (Severity::Error, "attempt_vault_lock_weakened")
        );
    }

    #[test]
    fn deleting_a_vault_lock_is_critical_and_a_refused_deletion_an_attempt() {
        let delete = with_detail("delete", |d| {
            d["eventName"] = json!("DeleteBackupVaultLockConfiguration");
            d["requestParameters"] = json!({"backupVaultName": "production"});
        });
        let Verdict::Alert(finding) = judge(&delete, &Facts::default()) else {
            panic!()
        };
        assert_eq!(
            (finding.severity, finding.kind.as_str()),
            (Severity::Critical, "vault_lock_deleted")
        );
        let refused = with_detail("delete", |d| {
            d["eventName"] = json!("DeleteBackupVaultLockConfiguration");
            d["errorCode"] = json!("InvalidRequestException");
        });
        assert_eq!(severity(&judge(&refused, &Facts::default())), Some(Severity::Error));
    }

    fn vault_deleted_call(minutes_after_state: i64) -> Observation {
        let at = event("vault-deleted").time + Duration::minutes(minutes_after_state);
        with_detail("delete", |d| {
            d["eventName"] = json!("DeleteBackupVault");
            d["eventTime"] = json!(at.to_rfc3339());
            d["requestParameters"] = json!({"backupVaultName": "staging"});
        })
    }

    #[test]
    fn the_cloudtrail_record_of_a_change_aws_backup_already_alerted_is_its_follow_up() {
        let state = event("vault-deleted");
        let alerted = AlertedState {
            event_id: state.event_id.clone(),
            kind: "vault_deleted".into(),
            at: state.time,
        };
        let facts = Facts {
            alerted_state: Some(&alerted),
            ..Facts::default()
        };
        let Verdict::Alert(follow_up) = judge(&vault_deleted_call(4), &facts) else {
            panic!()
        };
        assert_eq!(follow_up.follow_up_of.as_deref(), Some(state.event_id.as_str()));
        assert_eq!(follow_up.headline, "Follow-up: Backup vault deleted");
        assert_eq!(follow_up.severity, Severity::Critical);
        let Verdict::Alert(later) = judge(&vault_deleted_call(120), &facts) else {
            panic!()
        };
        assert_eq!(later.follow_up_of, None, "two hours apart: another change");
    }

    #[test]
    fn a_call_making_another_change_or_refused_is_no_follow_up() {
        let state = event("vault-deleted");
        let alerted = AlertedState {
            event_id: state.event_id.clone(),
            kind: "vault_lock_turned_off".into(),
            at: state.time,
        };
        let facts = Facts {
            alerted_state: Some(&alerted),
            ..Facts::default()
        };
        let Verdict::Alert(other) = judge(&vault_deleted_call(1), &facts) else {
            panic!()
        };
        assert_eq!(other.follow_up_of, None);
        let deleted = AlertedState {
            kind: "vault_deleted".into(),
            ..alerted
        };
        let facts = Facts {
            alerted_state: Some(&deleted),
            ..Facts::default()
        };
        let mut refused = vault_deleted_call(1);
        let What::Call(call) = &mut refused.what else { panic!() };
        call.error_code = Some("AccessDeniedException".into());
        let Verdict::Alert(attempt) = judge(&refused, &facts) else {
            panic!()
        };
        assert_eq!(attempt.follow_up_of, None);
    }

    #[test]
    fn a_state_change_after_an_alerted_call_of_another_change_is_still_alerted() {
        let observation = event("vault-deleted");
        let policy_call = AlertedCall {
            event_id: "ct-2".into(),
            action: "DeleteBackupVaultAccessPolicy".into(),
            principal: "arn:aws:iam::123456789012:role/ops-admin".into(),
            at: observation.time - Duration::minutes(2),
        };
        let facts = Facts {
            alerted_call: Some(&policy_call),
            ..Facts::default()
        };
        assert_eq!(severity(&judge(&observation, &facts)), Some(Severity::Critical));
    }

    #[test]
    fn a_lifecycle_change_is_looked_up_under_its_recovery_point() {
        let lifecycle = with_detail("delete", |d| d["eventName"] = json!("UpdateRecoveryPointLifecycle"));
        assert_eq!(
            needs(&lifecycle),
            Need::Memory {
                key: "point#arn:aws:backup:eu-west-1:123456789012:recovery-point:8d2c4f1e-3b7a-4c5d-9e6f-0a1b2c3d4e5f"
                    .into()
            }
        );
    }

    #[test]
    fn a_key_deleted_or_disabled_in_a_member_account_is_a_warning_that_says_the_vaults_are_not_known() {
        let facts = Facts {
            key_vaults_unknown: Some("MEMBER_ROLE_NAME is not set"),
            ..Facts::default()
        };
        let mut payload: Value =
            serde_json::from_str(include_str!("../../../events/cloudtrail-schedule-key-deletion.json")).unwrap();
        payload["account"] = json!("444455556666");
        payload["detail"]["recipientAccountId"] = json!("444455556666");
        let scheduled = decode(&payload).unwrap();
        let Verdict::Alert(finding) = judge(&scheduled, &facts) else {
            panic!()
        };
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.kind, "member_key_deletion_scheduled");
        assert!(
            finding.target.contains("of account 444455556666") && finding.target.contains("not known"),
            "{}",
            finding.target
        );
        payload["detail"]["eventName"] = json!("DisableKey");
        let Verdict::Alert(disabled) = judge(&decode(&payload).unwrap(), &facts) else {
            panic!()
        };
        assert_eq!(disabled.kind, "member_key_disabled");
        payload["detail"]["eventName"] = json!("CreateGrant");
        assert_eq!(severity(&judge(&decode(&payload).unwrap(), &facts)), None);
    }
}

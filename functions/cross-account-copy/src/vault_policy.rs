//! Whether a backup vault's access policy grants an action to an account: the part of policy
//! evaluation the one-step copy pre-flight needs. Pure.
//!
//! Since February 2026 AWS Backup copies an RDS, Aurora or Neptune snapshot to another Region
//! *and* another account in one copy job, provided the source vault's access policy allows
//! `backup:CopyFromBackupVault` to the destination account and the destination vault's allows
//! `backup:CopyIntoBackupVault` to the source account (Amazon RDS User Guide, *Copying a DB
//! snapshot for Amazon RDS*; Amazon Aurora User Guide, *DB cluster snapshot copying*; Neptune
//! User Guide, *Copying a DB Cluster Snapshot*: "copied across regions and accounts in a single
//! step"; AWS Backup Developer Guide, *Vault access policies*).

use rearguard::vault_access_policy::{Effect, one_or_many, statements};
use serde_json::Value;

pub const COPY_FROM: &str = "backup:CopyFromBackupVault";
pub const COPY_INTO: &str = "backup:CopyIntoBackupVault";

/// What the policy says about `action` for `account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Allowed,
    /// An explicit deny (which overrides every allow).
    Denied,
    /// No statement allows it (or the vault has no access policy).
    Missing,
    /// A statement allows it under a condition that cannot be judged here (`aws:PrincipalOrgID`,
    /// for one): the copy is tried, and a failed copy job is alerted by job-alerts.
    Conditional,
}

/// A vault's access policy as GetBackupVaultAccessPolicy returned it.
#[derive(Debug, Clone, PartialEq)]
pub enum VaultPolicy {
    Document(String),
    /// The vault has no access policy (GetBackupVaultAccessPolicy: ResourceNotFoundException).
    None,
    /// It could not be read (another account without a vault-check role): not checked.
    Unreadable(String),
}

/// `Some(true/false)` when every condition is `aws:PrincipalAccount` equality, `None` otherwise.
fn conditions_hold(condition: Option<&Value>, account: &str) -> Option<bool> {
    let Some(Value::Object(operators)) = condition else {
        return Some(true);
    };
    let mut holds = true;
    for (operator, tests) in operators {
        let Value::Object(tests) = tests else { return None };
        for (key, values) in tests {
            if key != "aws:PrincipalAccount" || !matches!(operator.as_str(), "StringEquals" | "StringNotEquals") {
                return None;
            }
            let equal = one_or_many(values).into_iter().any(|v| v.as_str() == Some(account));
            holds &= (operator == "StringEquals") == equal;
        }
    }
    Some(holds)
}

pub fn grant(policy: &str, action: &str, account: &str) -> Grant {
    let Some(statements) = statements(policy) else {
        return Grant::Conditional;
    };
    let mut grant = Grant::Missing;
    for statement in statements {
        if !(statement.names_action(action) && statement.names_account(account)) {
            continue;
        }
        match (statement.effect, conditions_hold(statement.condition.as_ref(), account)) {
            (Some(Effect::Deny), Some(true)) => return Grant::Denied,
            (Some(Effect::Allow), Some(true)) => grant = Grant::Allowed,
            (Some(Effect::Allow), None) if grant == Grant::Missing => grant = Grant::Conditional,
            _ => {}
        }
    }
    grant
}

/// The statement a vault's access policy lacks, as a person would add it.
pub fn missing_statement(action: &str, account: &str, partition: &str) -> String {
    format!(
        r#"{{"Effect": "Allow", "Principal": {{"AWS": "arn:{partition}:iam::{account}:root"}}, "Action": "{action}", "Resource": "*"}}"#
    )
}

/// What a vault's policy says about `action` for `account`; `None` when it cannot be told.
pub fn judge(policy: &VaultPolicy, action: &str, account: &str) -> Option<Grant> {
    match policy {
        VaultPolicy::Document(text) => Some(grant(text, action, account)),
        VaultPolicy::None => Some(Grant::Missing),
        VaultPolicy::Unreadable(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESTINATION: &str = "444455556666";

    #[test]
    fn an_allow_to_the_account_by_root_arn_or_id_grants_it() {
        let by_arn = r#"{"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
            "Action": "backup:CopyFromBackupVault", "Resource": "*"}]}"#;
        assert_eq!(grant(by_arn, COPY_FROM, DESTINATION), Grant::Allowed);
        let by_id = r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "444455556666"},
            "Action": ["backup:CopyFromBackupVault"], "Resource": "*"}}"#;
        assert_eq!(grant(by_id, COPY_FROM, DESTINATION), Grant::Allowed);
        assert_eq!(grant(by_id, COPY_FROM, "999988887777"), Grant::Missing);
        assert_eq!(grant(by_id, COPY_INTO, DESTINATION), Grant::Missing, "another action");
    }

    #[test]
    fn a_deny_overrides_an_allow_and_an_org_condition_cannot_be_judged() {
        let denied = r#"{"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "backup:CopyFromBackupVault", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "backup:CopyFromBackupVault", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalAccount": "444455556666"}}}]}"#;
        assert_eq!(grant(denied, COPY_FROM, DESTINATION), Grant::Denied);
        assert_eq!(grant(denied, COPY_FROM, "999988887777"), Grant::Allowed);
        let org = r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "backup:CopyFromBackupVault",
            "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}]}"#;
        assert_eq!(grant(org, COPY_FROM, DESTINATION), Grant::Conditional);
    }

    #[test]
    fn no_policy_is_missing_and_an_unreadable_one_is_not_judged() {
        assert_eq!(judge(&VaultPolicy::None, COPY_FROM, DESTINATION), Some(Grant::Missing));
        assert_eq!(
            judge(&VaultPolicy::Unreadable("no role".into()), COPY_FROM, DESTINATION),
            None
        );
        assert!(
            missing_statement(COPY_FROM, DESTINATION, "aws-us-gov").contains("arn:aws-us-gov:iam::444455556666:root")
        );
    }
}

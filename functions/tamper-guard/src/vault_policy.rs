//! Which deletions a backup vault's access policy denies. Pure.
//!
//! A vault access policy "can deny access to the API operations that target a backup vault and
//! the ability to delete the stored recovery points", and unlike IAM policies it does not
//! support a wildcard in the `Action` key (AWS Backup Developer Guide, "Vault access policies"),
//! so the protected actions are matched by name (`rearguard::vault_access_policy`).

use rearguard::vault_access_policy::{Effect, statements};
use serde_json::Value;
use std::collections::BTreeSet;

/// The actions whose deny keeps recovery points from being deleted or expired early.
pub const PROTECTIVE: [&str; 2] = ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"];

/// The protective actions a policy denies (to anyone). A policy that is not JSON denies nothing.
pub fn protective_denies(policy: &str) -> BTreeSet<String> {
    statements(policy)
        .unwrap_or_default()
        .iter()
        .filter(|s| s.effect == Some(Effect::Deny))
        .flat_map(|s| PROTECTIVE.iter().filter(|p| s.names_action(p)))
        .map(|p| p.to_string())
        .collect()
}

/// The policy a `PutBackupVaultAccessPolicy` record carries: a JSON string in
/// `requestParameters.policy` (or, leniently, the document itself).
pub fn policy_of(request: &Value) -> Option<String> {
    match request.get("policy")? {
        Value::String(text) => Some(text.clone()),
        document @ Value::Object(_) => Some(document.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deny_statements_name_the_protected_actions() {
        let policy = json!({"Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint", "Resource": "*"},
            {"Effect": "Allow", "Principal": "*", "Action": "backup:UpdateRecoveryPointLifecycle", "Resource": "*"}
        ]});
        assert_eq!(
            protective_denies(&policy.to_string()),
            BTreeSet::from(["backup:DeleteRecoveryPoint".to_string()])
        );
    }

    #[test]
    fn a_single_statement_object_and_an_action_list_count() {
        let policy = json!({"Statement": {"Effect": "Deny", "Principal": {"AWS": "*"},
            "Action": ["backup:deleterecoverypoint", "backup:UpdateRecoveryPointLifecycle", "backup:StartCopyJob"], "Resource": "*"}});
        assert_eq!(protective_denies(&policy.to_string()).len(), 2);
    }

    #[test]
    fn an_unreadable_or_allow_only_policy_denies_nothing() {
        assert!(protective_denies("not json").is_empty());
        let allow = json!({"Statement": [{"Effect": "Allow", "Action": "backup:CopyIntoBackupVault"}]});
        assert!(protective_denies(&allow.to_string()).is_empty());
    }

    #[test]
    fn the_policy_is_read_from_the_string_cloudtrail_records() {
        let request = json!({"backupVaultName": "v", "policy": "{\"Statement\": []}"});
        assert_eq!(policy_of(&request).as_deref(), Some("{\"Statement\": []}"));
        assert_eq!(policy_of(&json!({})), None);
    }
}

//! Remediation hints for AWS Backup status messages that come up again and again. Matching is
//! on lower-cased fragments of AWS's own wording; the first match wins, most specific first.

use rearguard::backup_events::{JobKind, JobState};

struct Rule {
    all_of: &'static [&'static str],
    any_of: &'static [&'static str],
    hint: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        all_of: &["organization"],
        any_of: &["same", "member", "not part"],
        hint: "Cross-account copy needs both accounts in the same AWS Organization, with cross-account backup turned on in the management account (AWS Backup > Settings > Cross-account backup).",
    },
    Rule {
        all_of: &["kms"],
        any_of: &[
            "describekey",
            "access",
            "denied",
            "not authorized",
            "grant",
            "disabled",
            "key",
        ],
        hint: "AWS Backup cannot use the KMS key that encrypts this resource or the vault. Allow the backup role kms:DescribeKey, kms:CreateGrant, kms:Decrypt and kms:GenerateDataKey* in the key policy; for a copy to another account, the destination account must also be allowed to use the source key, and AWS-managed keys cannot be shared at all.",
    },
    Rule {
        all_of: &["role"],
        any_of: &[
            "assume",
            "sts:assumerole",
            "not authorized to perform: iam:passrole",
            "invalid",
        ],
        hint: "AWS Backup could not assume the job's IAM role. Check that the role exists, trusts backup.amazonaws.com, and has the AWSBackupServiceRolePolicyForBackup (and ForRestores) managed policies attached.",
    },
    Rule {
        all_of: &["access policy"],
        any_of: &["vault", "denied", "deny"],
        hint: "The backup vault's access policy denies this action. Review the access policy of the vault named in the job (for copies, the destination vault must allow backup:CopyIntoBackupVault from the source account).",
    },
    Rule {
        all_of: &[],
        any_of: &[
            "resource type is not supported",
            "not supported",
            "does not support",
            "unsupported",
        ],
        hint: "AWS Backup does not support this resource type or configuration for this operation here. Check the feature-availability table for the Region, and turn the resource type on under AWS Backup > Settings > Service opt-in.",
    },
    Rule {
        // Ahead of the generic "not found": a missing vault is not a deleted resource.
        all_of: &["vault"],
        any_of: &["does not exist", "not found", "cannot be found"],
        hint: "The backup vault named in the job does not exist in this account and Region: it was deleted, the plan names it wrongly, or (for a copy) the destination vault was never created. Create the vault or correct the plan's vault name.",
    },
    Rule {
        all_of: &[],
        any_of: &[
            "not found",
            "does not exist",
            "no longer exists",
            "deleted",
            "cannot be found",
        ],
        hint: "The resource was not found: it may have been deleted. If that was intended, remove it from the backup plan's resource assignment; otherwise check the ARN and the Region.",
    },
    Rule {
        all_of: &[],
        any_of: &["access denied", "accessdenied", "not authorized"],
        hint: "A permission is missing for the backup role or a resource policy denies it. AWS's message above names the action; grant it to the job's IAM role.",
    },
];

/// A hint for the job's status message, or for the state itself when AWS gave no message.
pub fn hint_for(kind: JobKind, state: &JobState, status_message: Option<&str>) -> Option<&'static str> {
    if let Some(message) = status_message {
        let message = message.to_lowercase();
        let found = RULES.iter().find(|rule| {
            rule.all_of.iter().all(|needle| message.contains(needle))
                && (rule.any_of.is_empty() || rule.any_of.iter().any(|needle| message.contains(needle)))
        });
        if let Some(rule) = found {
            return Some(rule.hint);
        }
    }
    match (kind, state) {
        (JobKind::Backup, JobState::Expired) => Some(
            "The job could not start inside the rule's start window, often because another job for the same resource was still running. Widen the start window or space out the plan's rules.",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(message: &str) -> &'static str {
        hint_for(JobKind::Backup, &JobState::Failed, Some(message)).unwrap_or("(none)")
    }

    #[test]
    fn well_known_status_messages_get_their_hint() {
        assert!(hint("Unable to perform kms:DescribeKey on key arn:aws:kms:eu-west-1:1:key/k").contains("KMS key"));
        assert!(
            hint("The source and destination accounts are not members of the same organization")
                .contains("same AWS Organization")
        );
        assert!(hint("Resource type is not supported in this Region").contains("Service opt-in"));
        assert!(
            hint("IAM Role arn:aws:iam::1:role/x is invalid or unable to assume role").contains("could not assume")
        );
        assert!(hint("Resource arn:aws:rds:eu-west-1:1:db:x not found").contains("deleted"));
        assert!(
            hint("Backup vault production does not exist in account 111122223333 region eu-west-1")
                .contains("vault named in the job does not exist")
        );
        assert!(hint("Access denied by the backup vault access policy").contains("vault's access policy"));
    }

    #[test]
    fn status_message_with_embedded_quotes_still_matches() {
        assert!(hint("\"Backup job failed because the KMS key is disabled\"").contains("KMS key"));
    }

    #[test]
    fn unknown_message_gets_no_hint_and_expired_gets_a_state_hint() {
        assert_eq!(hint("Something new went wrong"), "(none)");
        assert!(
            hint_for(JobKind::Backup, &JobState::Expired, None)
                .unwrap()
                .contains("start window")
        );
        assert_eq!(hint_for(JobKind::Copy, &JobState::Failed, None), None);
    }
}

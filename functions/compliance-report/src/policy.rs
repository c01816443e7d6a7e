//! What "protected" means, per backup plan: the RPO, and whether a copy elsewhere or a locked
//! vault is required. Parsed and checked at start-up from `COMPLIANCE_POLICY`.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The tag that names a resource's plan (the one tag-enrollment writes).
    #[serde(default = "default_tag_key")]
    pub tag_key: String,
    #[serde(default)]
    pub opt_out: Option<OptOut>,
    /// AWS Backup resource types in scope (resources of these types without the tag are listed).
    #[serde(default = "default_types")]
    pub resource_types: Vec<String>,
    pub plans: BTreeMap<String, PlanRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptOut {
    pub value: String,
    pub reason_tag_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRule {
    /// The newest backup may be at most this old.
    pub rpo_hours: i64,
    #[serde(default)]
    pub copy: Option<CopyRule>,
    /// The vault whose lock the plan requires (its ARN).
    #[serde(default)]
    pub locked_vault: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyRule {
    /// A completed copy to any of these vaults counts.
    pub destination_vault_arns: Vec<String>,
    pub rpo_hours: i64,
}

fn default_tag_key() -> String {
    "backup-plan".into()
}

fn default_types() -> Vec<String> {
    ["EC2", "EBS", "RDS", "Aurora", "DynamoDB", "EFS"]
        .map(String::from)
        .to_vec()
}

/// Resource types this function lists (the untagged ones are found through these). S3 is not
/// among them yet: buckets are global and need their region looked up one by one.
pub const LISTABLE_TYPES: &[&str] = &["EC2", "EBS", "RDS", "Aurora", "DynamoDB", "EFS"];

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PolicyError {
    pub path: String,
    pub message: String,
}

impl Policy {
    pub fn parse(raw: &str) -> Result<Policy, PolicyError> {
        let policy: Policy =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(raw)).map_err(|e| {
                PolicyError {
                    path: e.path().to_string(),
                    message: e.inner().to_string(),
                }
            })?;
        let fail = |path: String, message: &str| PolicyError {
            path,
            message: message.to_string(),
        };
        if policy.plans.is_empty() {
            return Err(fail("plans".into(), "at least one plan is needed"));
        }
        for (name, plan) in &policy.plans {
            if plan.rpo_hours < 1 {
                return Err(fail(format!("plans.{name}.rpo_hours"), "must be at least 1"));
            }
            if let Some(copy) = &plan.copy {
                if copy.rpo_hours < 1 {
                    return Err(fail(format!("plans.{name}.copy.rpo_hours"), "must be at least 1"));
                }
                if copy.destination_vault_arns.is_empty() {
                    return Err(fail(format!("plans.{name}.copy.destination_vault_arns"), "is empty"));
                }
            }
        }
        if let Some(t) = policy
            .resource_types
            .iter()
            .find(|t| !LISTABLE_TYPES.contains(&t.as_str()))
        {
            return Err(fail(
                "resource_types".into(),
                &format!("{t} cannot be listed; use {}", LISTABLE_TYPES.join(", ")),
            ));
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_with_three_plans_parses() {
        let policy = Policy::parse(
            r#"{"plans": {
                "production": {"rpo_hours": 24, "copy": {"destination_vault_arns": ["arn:aws:backup:us-west-2:111122223333:backup-vault:dr"], "rpo_hours": 48}},
                "staging": {"rpo_hours": 168},
                "compliance": {"rpo_hours": 744, "locked_vault": "arn:aws:backup:eu-west-1:111122223333:backup-vault:compliance"}}}"#,
        )
        .unwrap();
        assert_eq!(policy.plans.len(), 3);
        assert_eq!(policy.tag_key, "backup-plan");
        assert!(policy.resource_types.contains(&"RDS".to_string()));
    }

    #[test]
    fn mistakes_name_their_path() {
        let e = Policy::parse(r#"{"plans": {"production": {"rpo_hours": 0}}}"#).unwrap_err();
        assert_eq!(e.path, "plans.production.rpo_hours");
        let e = Policy::parse(r#"{"plans": {"production": {"rpo": 24}}}"#).unwrap_err();
        assert!(e.to_string().contains("rpo"), "{e}");
        let e = Policy::parse(r#"{"plans": {"p": {"rpo_hours": 1}}, "resource_types": ["FSx"]}"#).unwrap_err();
        assert!(e.to_string().contains("FSx"), "{e}");
        let e = Policy::parse(r#"{"plans": {"p": {"rpo_hours": 1}}, "resource_types": ["S3"]}"#).unwrap_err();
        assert!(e.to_string().contains("cannot be listed"), "{e}");
    }
}

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

/// The part of tag-enrollment's policy (`ENROLLMENT_POLICY`) that names plans: the plans a
/// resource can be enrolled in must be exactly the plans this report holds to an RPO.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnrollmentPlans {
    #[serde(default = "default_tag_key")]
    tag_key: String,
    plans: Vec<String>,
    opt_out: Option<EnrollmentOptOut>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnrollmentOptOut {
    value: String,
    reason_tag_key: String,
}

impl Policy {
    /// Fails when tag-enrollment's policy and this one disagree on the tag, the plans or the
    /// opt-out, so the two documents cannot drift apart unnoticed.
    pub fn check_agrees_with_enrollment(&self, raw: &str) -> Result<(), PolicyError> {
        let enrollment: EnrollmentPlans = serde_json::from_str(raw).map_err(|e| PolicyError {
            path: "ENROLLMENT_POLICY".into(),
            message: e.to_string(),
        })?;
        let fail = |path: &str, message: String| PolicyError {
            path: path.into(),
            message,
        };
        if enrollment.tag_key != self.tag_key {
            return Err(fail(
                "tag_key",
                format!("is {:?} but tag-enrollment tags {:?}", self.tag_key, enrollment.tag_key),
            ));
        }
        let enrolled: std::collections::BTreeSet<&str> = enrollment.plans.iter().map(String::as_str).collect();
        let reported: std::collections::BTreeSet<&str> = self.plans.keys().map(String::as_str).collect();
        if enrolled != reported {
            return Err(fail(
                "plans",
                format!(
                    "tag-enrollment enrols in {enrolled:?} but this policy has RPOs for {reported:?}; every plan needs both"
                ),
            ));
        }
        let theirs = enrollment.opt_out.map(|o| (o.value, o.reason_tag_key));
        let ours = self
            .opt_out
            .as_ref()
            .map(|o| (o.value.clone(), o.reason_tag_key.clone()));
        if theirs != ours {
            return Err(fail(
                "opt_out",
                format!("is {ours:?} but tag-enrollment's is {theirs:?}"),
            ));
        }
        Ok(())
    }

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
    fn the_plans_must_be_the_ones_tag_enrollment_enrols_in() {
        let policy = Policy::parse(
            r#"{"opt_out": {"value": "none", "reason_tag_key": "backup-opt-out-reason"},
                "plans": {"production": {"rpo_hours": 24}, "staging": {"rpo_hours": 168}}}"#,
        )
        .unwrap();
        let enrollment = |plans: &str, opt_out: &str| {
            format!(
                r#"{{"plans": {plans}, "optOut": {opt_out}, "fallbackPlan": "staging", "mode": "enforce", "defaults": []}}"#
            )
        };
        let same_opt_out = r#"{"value": "none", "reasonTagKey": "backup-opt-out-reason"}"#;
        assert!(
            policy
                .check_agrees_with_enrollment(&enrollment(r#"["staging", "production"]"#, same_opt_out))
                .is_ok()
        );
        let e = policy
            .check_agrees_with_enrollment(&enrollment(r#"["production", "staging", "compliance"]"#, same_opt_out))
            .unwrap_err();
        assert_eq!(e.path, "plans");
        assert!(e.message.contains("compliance"), "{e}");
        let e = policy
            .check_agrees_with_enrollment(&enrollment(
                r#"["production", "staging"]"#,
                r#"{"value": "skip", "reasonTagKey": "why"}"#,
            ))
            .unwrap_err();
        assert_eq!(e.path, "opt_out");
        let e = policy
            .check_agrees_with_enrollment(r#"{"tagKey": "plan", "plans": ["production", "staging"]}"#)
            .unwrap_err();
        assert_eq!(e.path, "tag_key");
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

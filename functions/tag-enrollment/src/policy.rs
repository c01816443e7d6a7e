//! The enrollment policy: one JSON document, checked completely at start-up. Errors name the
//! path in the document and the problem (`defaults[1].plan: "prod" is not one of the plans`).

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Tag untagged resources with their default plan.
    Enforce,
    /// Only alert.
    Audit,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptOut {
    /// The backup tag value that opts a resource out, e.g. `none`.
    pub value: String,
    /// The tag that must say why, e.g. `backup-opt-out-reason`.
    pub reason_tag_key: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefaultRule {
    /// Every tag here must match (exact key and value).
    pub when: BTreeMap<String, String>,
    pub plan: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    #[serde(default = "default_tag_key")]
    pub tag_key: String,
    pub plans: Vec<String>,
    pub opt_out: Option<OptOut>,
    #[serde(default)]
    pub defaults: Vec<DefaultRule>,
    /// The plan for a resource no default rule matches; none: alert instead.
    pub fallback_plan: Option<String>,
    #[serde(default = "default_resource_types")]
    pub resource_types: Vec<String>,
    pub mode: Mode,
    /// Set beside the backup tag when Rearguard applied it.
    #[serde(default = "default_marker")]
    pub marker_tag_key: String,
}

fn default_tag_key() -> String {
    "backup-plan".into()
}

fn default_marker() -> String {
    "rearguard:enrolled-by".into()
}

pub const SUPPORTED_TYPES: &[&str] = &[
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

fn default_resource_types() -> Vec<String> {
    SUPPORTED_TYPES.iter().map(|t| t.to_string()).collect()
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("enrollment policy: {path}: {problem}")]
pub struct PolicyError {
    pub path: String,
    pub problem: String,
}

fn err(path: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError {
        path: path.into(),
        problem: problem.into(),
    }
}

impl Policy {
    pub fn parse(json: &str) -> Result<Policy, PolicyError> {
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let policy: Policy = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            err(
                if path == "." { "(document)".to_string() } else { path },
                e.into_inner().to_string(),
            )
        })?;
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), PolicyError> {
        if self.tag_key.trim().is_empty() {
            return Err(err("tagKey", "must not be empty"));
        }
        if self.plans.is_empty() {
            return Err(err("plans", "must list at least one plan"));
        }
        let known = |plan: &str| self.plans.iter().any(|p| p == plan);
        for (i, rule) in self.defaults.iter().enumerate() {
            if !known(&rule.plan) {
                return Err(err(
                    format!("defaults[{i}].plan"),
                    format!("{:?} is not one of the plans {:?}", rule.plan, self.plans),
                ));
            }
            if rule.when.is_empty() {
                return Err(err(format!("defaults[{i}].when"), "must name at least one tag"));
            }
        }
        if let Some(fallback) = &self.fallback_plan
            && !known(fallback)
        {
            return Err(err(
                "fallbackPlan",
                format!("{fallback:?} is not one of the plans {:?}", self.plans),
            ));
        }
        if let Some(opt_out) = &self.opt_out
            && known(&opt_out.value)
        {
            return Err(err("optOut.value", format!("{:?} is also a plan", opt_out.value)));
        }
        for (i, kind) in self.resource_types.iter().enumerate() {
            if !SUPPORTED_TYPES.contains(&kind.as_str()) {
                return Err(err(
                    format!("resourceTypes[{i}]"),
                    format!("{kind:?} is not one of {SUPPORTED_TYPES:?}"),
                ));
            }
        }
        if self.marker_tag_key.starts_with("aws:") || self.tag_key.starts_with("aws:") {
            return Err(err("markerTagKey", "tag keys starting with aws: are reserved by AWS"));
        }
        Ok(())
    }

    pub fn is_plan(&self, value: &str) -> bool {
        self.plans.iter().any(|p| p == value)
    }

    /// The default plan for a resource's other tags: the first matching rule, then the fallback.
    pub fn default_plan(&self, tags: &BTreeMap<String, String>) -> Option<&str> {
        self.defaults
            .iter()
            .find(|rule| rule.when.iter().all(|(k, v)| tags.get(k) == Some(v)))
            .map(|rule| rule.plan.as_str())
            .or(self.fallback_plan.as_deref())
    }

    pub fn in_scope(&self, backup_type: &str) -> bool {
        self.resource_types.iter().any(|t| t == backup_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
        "tagKey": "backup-plan",
        "plans": ["production", "staging", "compliance"],
        "optOut": {"value": "none", "reasonTagKey": "backup-opt-out-reason"},
        "defaults": [
            {"when": {"Environment": "Production"}, "plan": "production"},
            {"when": {"Environment": "Staging"}, "plan": "staging"}
        ],
        "fallbackPlan": "staging",
        "mode": "enforce"
    }"#;

    #[test]
    fn the_documented_example_parses_with_defaults() {
        let policy = Policy::parse(EXAMPLE).unwrap();
        assert_eq!(policy.mode, Mode::Enforce);
        assert_eq!(policy.resource_types.len(), SUPPORTED_TYPES.len());
        assert_eq!(policy.marker_tag_key, "rearguard:enrolled-by");
        let prod = BTreeMap::from([("Environment".to_string(), "Production".to_string())]);
        assert_eq!(policy.default_plan(&prod), Some("production"));
        assert_eq!(policy.default_plan(&BTreeMap::new()), Some("staging"));
    }

    #[test]
    fn a_default_rule_naming_an_unknown_plan_is_rejected_with_its_path() {
        let bad = EXAMPLE.replace(r#""plan": "staging"}"#, r#""plan": "stagin"}"#);
        let e = Policy::parse(&bad).unwrap_err();
        assert_eq!(e.path, "defaults[1].plan");
        assert!(e.problem.contains("\"stagin\" is not one of the plans"), "{e}");
    }

    #[test]
    fn unknown_fields_and_bad_modes_name_their_path() {
        let typo = EXAMPLE.replace("\"fallbackPlan\"", "\"fallbackPlam\"");
        let e = Policy::parse(&typo).unwrap_err();
        assert!(e.problem.contains("unknown field `fallbackPlam`"), "{e}");
        let mode = EXAMPLE.replace("\"enforce\"", "\"enforcing\"");
        let e = Policy::parse(&mode).unwrap_err();
        assert_eq!(e.path, "mode");
        let opt = EXAMPLE.replace("\"reasonTagKey\"", "\"reason\"");
        assert!(Policy::parse(&opt).unwrap_err().path.starts_with("optOut"));
    }

    #[test]
    fn semantic_mistakes_are_rejected() {
        assert_eq!(
            Policy::parse(&EXAMPLE.replace(r#""value": "none""#, r#""value": "staging""#))
                .unwrap_err()
                .path,
            "optOut.value"
        );
        let types = EXAMPLE.replace(r#""mode""#, r#""resourceTypes": ["EC2", "Lambda"], "mode""#);
        assert_eq!(Policy::parse(&types).unwrap_err().path, "resourceTypes[1]");
        assert_eq!(
            Policy::parse(r#"{"plans": [], "mode": "audit"}"#).unwrap_err().path,
            "plans"
        );
        assert_eq!(Policy::parse("not json").unwrap_err().path, "(document)");
    }
}

//! tag-enrollment's part of the Rearguard policy (`rearguard::policy`): the backup tag, the
//! plans a resource can be enrolled in, the opt-out, the enrolment defaults and mode. The whole
//! document is checked at start-up; this is the view the decisions read.

use rearguard::policy::{DefaultRule, Document};
use std::collections::BTreeMap;

pub use rearguard::policy::{Mode, OptOut};

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub tag_key: String,
    /// The plans' tag values.
    pub plans: Vec<String>,
    pub opt_out: Option<OptOut>,
    pub defaults: Vec<DefaultRule>,
    /// The plan for a resource no default rule matches; none: alert instead.
    pub fallback_plan: Option<String>,
    pub resource_types: Vec<String>,
    pub mode: Mode,
    /// Set beside the backup tag when Rearguard applied it.
    pub marker_tag_key: String,
}

impl Policy {
    pub fn from_document(document: &Document) -> Policy {
        Policy {
            tag_key: document.tag_key.clone(),
            plans: document.plans.keys().cloned().collect(),
            opt_out: document.opt_out.clone(),
            defaults: document.enrollment.defaults.clone(),
            fallback_plan: document.enrollment.fallback_plan.clone(),
            resource_types: document.resource_types.clone(),
            mode: document.enrollment.mode,
            marker_tag_key: document.marker_tag_key.clone(),
        }
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

    /// A policy from a document's JSON, for tests.
    #[cfg(test)]
    pub fn parse(json: &str) -> Policy {
        Policy::from_document(&Document::parse(json).expect("a valid policy document"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_the_fallback_give_the_plan() {
        let policy = Policy::parse(
            r#"{"plans": {"production": {"rpo_hours": 24}, "staging": {"rpo_hours": 168}},
                "enrollment": {"mode": "enforce", "fallback_plan": "staging",
                  "defaults": [{"when": {"Environment": "Production"}, "plan": "production"}]}}"#,
        );
        assert_eq!(policy.mode, Mode::Enforce);
        assert_eq!(policy.marker_tag_key, "rearguard:enrolled-by");
        let prod = BTreeMap::from([("Environment".to_string(), "Production".to_string())]);
        assert_eq!(policy.default_plan(&prod), Some("production"));
        assert_eq!(policy.default_plan(&BTreeMap::new()), Some("staging"));
        assert!(policy.is_plan("staging") && !policy.is_plan("none"));
    }

    #[test]
    fn without_an_enrollment_section_it_only_audits() {
        let policy = Policy::parse(r#"{"plans": {"production": {"rpo_hours": 24}}}"#);
        assert_eq!(policy.mode, Mode::Audit);
        assert_eq!(policy.default_plan(&BTreeMap::new()), None);
    }
}

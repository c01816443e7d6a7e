//! The decision for one resource: a pure function of the policy, the resource's type and its
//! current tags. It never overwrites a value a person set.

use std::collections::BTreeMap;

use crate::policy::{Mode, Policy};
use crate::resources::Current;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Carries a valid plan.
    Compliant { plan: String },
    /// Opted out with a reason.
    OptedOut { reason: String },
    /// Enforce mode: write `tag_key=plan` and the marker tag.
    Enroll { plan: String },
    /// Something a person must fix; no tag is written.
    Alert(Problem),
    /// A resource type the policy does not cover.
    OutOfScope,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The opt-out value without the reason tag.
    OptOutWithoutReason { value: String },
    /// A value that is not a plan (a typo?).
    UnknownPlan { value: String },
    /// No backup tag; audit mode, or no default plan applies. `suggested` is what enforce would write.
    Untagged { suggested: Option<String> },
    /// An S3 bucket without versioning: AWS Backup cannot back it up, so it is not enrolled.
    Unversioned { plan: Option<String> },
}

/// Whether a decision taken on the event's tags must be confirmed on the resource's current
/// tags before it is acted on: only a write can overwrite what a person set in the meantime.
pub fn must_confirm(decision: &Decision) -> bool {
    matches!(decision, Decision::Enroll { .. })
}

pub fn decide(policy: &Policy, backup_type: &str, tags: &BTreeMap<String, String>) -> Decision {
    if !policy.in_scope(backup_type) {
        return Decision::OutOfScope;
    }
    match tags.get(&policy.tag_key).map(|v| v.trim()) {
        Some(value) if policy.is_plan(value) => Decision::Compliant {
            plan: value.to_string(),
        },
        Some(value) if policy.opt_out.as_ref().is_some_and(|o| o.value == value) => {
            let key = &policy.opt_out.as_ref().expect("checked above").reason_tag_key;
            match tags.get(key).map(|r| r.trim()).filter(|r| !r.is_empty()) {
                Some(reason) => Decision::OptedOut {
                    reason: reason.to_string(),
                },
                None => Decision::Alert(Problem::OptOutWithoutReason {
                    value: value.to_string(),
                }),
            }
        }
        Some(value) if !value.is_empty() => Decision::Alert(Problem::UnknownPlan {
            value: value.to_string(),
        }),
        _ => {
            let suggested = policy.default_plan(tags).map(str::to_string);
            match (policy.mode, suggested) {
                (Mode::Enforce, Some(plan)) => Decision::Enroll { plan },
                (_, suggested) => Decision::Alert(Problem::Untagged { suggested }),
            }
        }
    }
}

/// Audit mode alerts about a resource's tags once a day, not on every tag change of a resource
/// that stays untagged: the ledger key of that alert (per resource and problem). Enforce mode's
/// alerts ask a person to fix something Rearguard will not, and are not held back.
pub fn daily_alert_key(policy: &Policy, arn: &str, problem: &Problem) -> Option<String> {
    let kind = match problem {
        Problem::Untagged { .. } => "untagged",
        Problem::Unversioned { .. } => "unversioned",
        Problem::UnknownPlan { .. } => "unknown_plan",
        Problem::OptOutWithoutReason { .. } => "opt_out_without_reason",
    };
    (policy.mode == Mode::Audit).then(|| format!("audit-alert#{kind}#{arn}"))
}

/// The decision on what the resource's own service shows now. A bucket that would be enrolled
/// (or that audit mode would suggest a plan for) but has no versioning is not: "Amazon S3
/// backups" (AWS Backup Developer Guide) requires versioning enabled on the bucket, so a tag would
/// only select it for backups that fail.
pub fn decide_current(policy: &Policy, backup_type: &str, current: &Current) -> Decision {
    let decision = decide(policy, backup_type, &current.tags);
    if current.versioned != Some(false) {
        return decision;
    }
    match decision {
        Decision::Enroll { plan } => Decision::Alert(Problem::Unversioned { plan: Some(plan) }),
        Decision::Alert(Problem::Untagged { suggested }) => Decision::Alert(Problem::Unversioned { plan: suggested }),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: &str, fallback: bool) -> Policy {
        let fallback = if fallback { r#""fallback_plan": "staging","# } else { "" };
        Policy::parse(&format!(
            r#"{{"plans": {{"production": {{"rpo_hours": 24}}, "staging": {{"rpo_hours": 168}}}},
                "opt_out": {{"value": "none", "reason_tag_key": "backup-opt-out-reason"}},
                "resource_types": ["EC2", "RDS", "S3"],
                "enrollment": {{"defaults": [{{"when": {{"Environment": "Production"}}, "plan": "production"}}], {fallback}
                  "mode": "{mode}"}}}}"#
        ))
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_decision_table() {
        let enforce = policy("enforce", true);
        let cases: Vec<(&[(&str, &str)], Decision)> = vec![
            (
                &[("backup-plan", "production")],
                Decision::Compliant {
                    plan: "production".into(),
                },
            ),
            (
                &[("backup-plan", "none"), ("backup-opt-out-reason", "scratch data")],
                Decision::OptedOut {
                    reason: "scratch data".into(),
                },
            ),
            (
                &[("backup-plan", "none")],
                Decision::Alert(Problem::OptOutWithoutReason { value: "none".into() }),
            ),
            (
                &[("backup-plan", "none"), ("backup-opt-out-reason", " ")],
                Decision::Alert(Problem::OptOutWithoutReason { value: "none".into() }),
            ),
            (
                &[("backup-plan", "prodution")],
                Decision::Alert(Problem::UnknownPlan {
                    value: "prodution".into(),
                }),
            ),
            (
                &[("Environment", "Production")],
                Decision::Enroll {
                    plan: "production".into(),
                },
            ),
            (&[], Decision::Enroll { plan: "staging".into() }),
            (&[("backup-plan", "")], Decision::Enroll { plan: "staging".into() }),
        ];
        for (given, expected) in cases {
            assert_eq!(decide(&enforce, "EC2", &tags(given)), expected, "{given:?}");
        }
    }

    #[test]
    fn audit_mode_alerts_with_the_plan_enforce_would_apply() {
        let audit = policy("audit", true);
        assert_eq!(
            decide(&audit, "RDS", &tags(&[("Environment", "Production")])),
            Decision::Alert(Problem::Untagged {
                suggested: Some("production".into())
            })
        );
    }

    #[test]
    fn enforce_without_a_matching_default_or_fallback_alerts() {
        assert_eq!(
            decide(&policy("enforce", false), "EC2", &tags(&[])),
            Decision::Alert(Problem::Untagged { suggested: None })
        );
    }

    #[test]
    fn only_a_write_waits_for_the_current_tags() {
        let enroll = Decision::Enroll { plan: "staging".into() };
        let alert = Decision::Alert(Problem::Untagged { suggested: None });
        assert!(must_confirm(&enroll));
        assert!(!must_confirm(&alert) && !must_confirm(&Decision::OutOfScope));
    }

    #[test]
    fn a_bucket_without_versioning_is_not_enrolled_but_a_tagged_one_is_left_alone() {
        let enforce = policy("enforce", true);
        let unversioned = |pairs: &[(&str, &str)]| Current {
            tags: tags(pairs),
            versioned: Some(false),
            ..Current::default()
        };
        assert_eq!(
            decide_current(&enforce, "S3", &unversioned(&[])),
            Decision::Alert(Problem::Unversioned {
                plan: Some("staging".into())
            })
        );
        assert_eq!(
            decide_current(&policy("audit", true), "S3", &unversioned(&[])),
            Decision::Alert(Problem::Unversioned {
                plan: Some("staging".into())
            })
        );
        assert_eq!(
            decide_current(&enforce, "S3", &unversioned(&[("backup-plan", "production")])),
            Decision::Compliant {
                plan: "production".into()
            },
            "a person's tag is theirs"
        );
        let versioned = Current {
            versioned: Some(true),
            ..Current::default()
        };
        assert_eq!(
            decide_current(&enforce, "S3", &versioned),
            Decision::Enroll { plan: "staging".into() }
        );
    }

    #[test]
    fn audit_alerts_are_keyed_per_resource_and_problem_and_enforce_alerts_are_not_held_back() {
        let untagged = Problem::Untagged { suggested: None };
        let typo = Problem::UnknownPlan { value: "prod".into() };
        let arn = "arn:aws:ec2:eu-west-1:1:instance/i-1";

        let key = daily_alert_key(&policy("audit", true), arn, &untagged);

        assert_eq!(
            key.as_deref(),
            Some("audit-alert#untagged#arn:aws:ec2:eu-west-1:1:instance/i-1")
        );
        assert_ne!(key, daily_alert_key(&policy("audit", true), arn, &typo));
        assert_eq!(daily_alert_key(&policy("enforce", true), arn, &untagged), None);
    }

    #[test]
    fn types_outside_the_policy_are_out_of_scope() {
        assert_eq!(
            decide(&policy("enforce", true), "DynamoDB", &tags(&[])),
            Decision::OutOfScope
        );
    }
}

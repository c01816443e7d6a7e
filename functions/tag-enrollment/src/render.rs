//! Enrollment notices and alerts, in Rearguard's message style. Pure.

use rearguard::alert::{Alert, DOCUMENT_SCHEMA, Severity};
use rearguard::arn::{resource_noun, short_name};
use serde_json::json;
use std::collections::BTreeMap;

use crate::decide::Problem;
use crate::policy::Policy;

pub const SOURCE: &str = "rearguard.tag-enrollment";

/// What a message is about: one resource in one account and region.
pub struct Target<'a> {
    pub arn: &'a str,
    pub backup_type: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub from_restore: bool,
}

fn build(
    target: &Target,
    severity: Severity,
    kind: &str,
    headline: &str,
    body: &str,
    extra: serde_json::Value,
) -> Alert {
    let name = short_name(target.arn);
    let subject = format!(
        "[{severity}] {headline}: {name} ({}) {} {}",
        target.backup_type, target.account, target.region
    );
    let restore = if target.from_restore {
        "This resource was created by an AWS Backup restore.\n"
    } else {
        ""
    };
    let text = format!(
        "{body}\n{restore}\n  {:<15}{name} ({})\n  {:<15}{}\n  {:<15}{}\n  {:<15}{}\n\n--\nSent by Rearguard tag-enrollment.\n",
        "Resource",
        resource_noun(target.backup_type),
        "ARN",
        target.arn,
        "Account",
        target.account,
        "Region",
        target.region
    );
    let document = json!({
        "schema": DOCUMENT_SCHEMA, "source": SOURCE, "kind": kind, "severity": severity, "summary": subject,
        "accountId": target.account, "region": target.region, "fromRestore": target.from_restore,
        "resource": {"arn": target.arn, "name": name, "type": target.backup_type},
        "detail": extra,
    });
    let attributes = BTreeMap::from([
        ("state".to_string(), kind.to_uppercase()),
        ("resourceType".to_string(), target.backup_type.to_string()),
        ("accountId".to_string(), target.account.to_string()),
        ("region".to_string(), target.region.to_string()),
    ]);
    Alert::new(severity, &subject, text, document, attributes)
}

pub fn enrolled(target: &Target, policy: &Policy, plan: &str) -> Alert {
    let opt_out = match &policy.opt_out {
        Some(o) => format!(
            " To opt out, set {}={} and say why in {}.",
            policy.tag_key, o.value, o.reason_tag_key
        ),
        None => String::new(),
    };
    let body = format!(
        "Rearguard tagged this new resource {}={} (and {}=rearguard), so the {plan} backup plan now protects it.{opt_out}",
        policy.tag_key, plan, policy.marker_tag_key
    );
    build(
        target,
        Severity::Info,
        "enrolled",
        &format!("Enrolled in {plan}"),
        &body,
        json!({"plan": plan, "tagKey": policy.tag_key}),
    )
}

pub fn problem(target: &Target, policy: &Policy, problem: &Problem) -> Alert {
    let (kind, headline, body) = match problem {
        Problem::Untagged { suggested: Some(plan) } => (
            "untagged",
            format!("No {} tag", policy.tag_key),
            format!(
                "This resource has no {} tag, so no backup plan selects it. Audit mode: Rearguard did not tag it; enforce mode would set {}={plan}.",
                policy.tag_key, policy.tag_key
            ),
        ),
        Problem::Untagged { suggested: None } => (
            "untagged",
            format!("No {} tag", policy.tag_key),
            format!(
                "This resource has no {} tag and no default rule of the policy matches its tags, so no backup plan selects it. Tag it with one of: {}.",
                policy.tag_key,
                policy.plans.join(", ")
            ),
        ),
        Problem::UnknownPlan { value } => (
            "unknown_plan",
            format!("Unknown plan {value:?}"),
            format!(
                "{}={value:?} is not a backup plan (one of: {}), so no plan selects this resource. Rearguard never overwrites a value a person set: fix the tag.",
                policy.tag_key,
                policy.plans.join(", ")
            ),
        ),
        Problem::OptOutWithoutReason { value } => (
            "opt_out_without_reason",
            "Opted out without a reason".to_string(),
            format!(
                "{}={value} opts this resource out of backups, but the tag {} saying why is missing. Add the reason, or choose a plan.",
                policy.tag_key,
                policy
                    .opt_out
                    .as_ref()
                    .map(|o| o.reason_tag_key.as_str())
                    .unwrap_or("?")
            ),
        ),
    };
    build(
        target,
        Severity::Warning,
        kind,
        &headline,
        &body,
        json!({"problem": kind, "tagKey": policy.tag_key}),
    )
}

pub fn tagging_failed(target: &Target, plan: &str, reason: &str) -> Alert {
    let body = format!(
        "Rearguard could not tag this resource for the {plan} backup plan, so it is not protected.\n\nAWS says:\n  {reason}"
    );
    build(
        target,
        Severity::Error,
        "tagging_failed",
        "Could not enroll",
        &body,
        json!({"plan": plan, "reason": reason}),
    )
}

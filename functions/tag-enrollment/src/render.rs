//! Enrollment notices and alerts, in Rearguard's message style. Pure.

use rearguard::alert::{Alert, DOCUMENT_SCHEMA, Severity};
use rearguard::arn::{resource_noun, short_name};
use rearguard::digest::{entry_cost, split_by_budget};
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
        Problem::Unversioned { plan } => (
            "unversioned",
            "Versioning is off".to_string(),
            format!(
                "AWS Backup can back up an S3 bucket only when versioning is enabled on it (\"Amazon S3 backups\" in the AWS Backup Developer Guide), so Rearguard did not tag this bucket: a backup plan would select it and every backup would fail.\nFix: enable versioning (aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled), then tag it {}={}.",
                policy.tag_key,
                plan.as_deref().unwrap_or("<plan>"),
                bucket = short_name(target.arn),
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
    let mut detail = json!({"problem": kind, "tagKey": policy.tag_key});
    if let Problem::Unversioned { plan } = problem {
        detail["fix"] = json!("enable versioning on the bucket, then tag it");
        detail["plan"] = json!(plan);
    }
    build(target, Severity::Warning, kind, &headline, &body, detail)
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

/// Many messages from one event (a large launch) become digests that list every resource.
pub fn digests(messages: Vec<Alert>, account: &str, region: &str) -> Vec<Alert> {
    let total = messages.len();
    let severity = messages.iter().map(|m| m.severity).min().unwrap_or(Severity::Info);
    let enrolled = messages.iter().filter(|m| m.document["kind"] == "enrolled").count();
    let parts = split_by_budget(messages, |m| entry_cost(&m.subject, &m.document));
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(index, part)| {
            let part_note = if count > 1 { format!(" (part {}/{count})", index + 1) } else { String::new() };
            let subject = format!(
                "[{severity}] {total} resources checked: {enrolled} enrolled, {} need attention in {account} {region}{part_note}",
                total - enrolled
            );
            let mut text = format!("{total} new resources were checked against the backup policy at once; each is listed below.\n\n");
            for message in &part {
                text.push_str(&format!("- {}\n    {}\n", message.subject, message.document["resource"]["arn"].as_str().unwrap_or("")));
            }
            text.push_str("\n--\nSent by Rearguard tag-enrollment (digest).\n");
            let document = json!({
                "schema": DOCUMENT_SCHEMA, "source": SOURCE, "kind": "digest", "severity": severity, "summary": subject,
                "accountId": account, "region": region, "count": total, "part": index + 1, "parts": count,
                "items": part.iter().map(|m| m.document.clone()).collect::<Vec<_>>(),
            });
            let attributes = BTreeMap::from([
                ("state".to_string(), "DIGEST".to_string()),
                ("accountId".to_string(), account.to_string()),
                ("region".to_string(), region.to_string()),
                ("digest".to_string(), "true".to_string()),
            ]);
            Alert::new(severity, &subject, text, document, attributes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(i: usize) -> String {
        format!("arn:aws:ec2:eu-west-1:111122223333:instance/i-{i}")
    }

    #[test]
    fn an_unversioned_bucket_warning_names_the_fix_and_the_plan() {
        let policy = Policy::parse(r#"{"plans": {"staging": {"rpo_hours": 24}}, "enrollment": {"mode": "enforce"}}"#);
        let target = Target {
            arn: "arn:aws:s3:::invoices",
            backup_type: "S3",
            account: "111122223333",
            region: "eu-west-1",
            from_restore: false,
        };

        let alert = problem(
            &target,
            &policy,
            &Problem::Unversioned {
                plan: Some("staging".into()),
            },
        );

        assert!(
            alert.subject.starts_with("[WARNING] Versioning is off: invoices (S3)"),
            "{}",
            alert.subject
        );
        assert!(
            alert
                .text
                .contains("put-bucket-versioning --bucket invoices --versioning-configuration Status=Enabled")
        );
        assert!(alert.text.contains("backup-plan=staging") && alert.text.contains("Amazon S3 backups"));
        assert_eq!(alert.document["detail"]["problem"], "unversioned");
    }

    #[test]
    fn a_digest_lists_every_resource_and_takes_the_worst_severity() {
        let policy =
            Policy::parse(r#"{"plans": {"production": {"rpo_hours": 24}}, "enrollment": {"mode": "enforce"}}"#);
        let arns: Vec<String> = (0..12).map(target).collect();
        let mut messages: Vec<Alert> = arns
            .iter()
            .map(|arn| {
                enrolled(
                    &Target {
                        arn,
                        backup_type: "EC2",
                        account: "111122223333",
                        region: "eu-west-1",
                        from_restore: false,
                    },
                    &policy,
                    "production",
                )
            })
            .collect();
        let odd = target(99);
        messages.push(problem(
            &Target {
                arn: &odd,
                backup_type: "EC2",
                account: "111122223333",
                region: "eu-west-1",
                from_restore: false,
            },
            &policy,
            &Problem::UnknownPlan { value: "prod".into() },
        ));

        let digests = digests(messages, "111122223333", "eu-west-1");

        assert_eq!(digests.len(), 1);
        let digest = &digests[0];
        assert_eq!(
            digest.subject,
            "[WARNING] 13 resources checked: 12 enrolled, 1 need attention in 111122223333 eu-west-1"
        );
        for arn in arns.iter().chain([&odd]) {
            assert!(digest.text.contains(arn.as_str()), "{arn} listed");
        }
        assert_eq!(digest.document["items"].as_array().unwrap().len(), 13);
    }
}

//! Malware scan results (`Scan Job State Change`): what to tell the people on call. Pure.
//!
//! | scan                                        | message                         | severity |
//! |---------------------------------------------|---------------------------------|----------|
//! | THREATS_FOUND (COMPLETED or WITH_ISSUES)    | malware found: do not restore   | CRITICAL |
//! | FAILED, CANCELED, COMPLETED_WITH_ISSUES     | not proven clean                | WARNING  |
//! | NO_THREATS_FOUND, CREATED, RUNNING          | nothing                         | -        |

use chrono::{DateTime, Utc};
use rearguard::alert::{Alert, DOCUMENT_SCHEMA, Severity};
use rearguard::arn::{resource_noun, short_name};
use rearguard::scan_events::{Finding, ScanEvent};
use serde_json::json;
use std::collections::BTreeMap;

use crate::render::SOURCE;

/// The newest recovery point of a resource that a scan found clean.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanPoint {
    pub recovery_point_arn: String,
    pub scanned_at: Option<DateTime<Utc>>,
}

/// What the lookups found for an infected point, to put in the alert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// When the infected backup was taken (its recovery point's creation date).
    pub taken_at: Option<DateTime<Utc>>,
    pub last_clean: Option<CleanPoint>,
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or("an unknown time".to_string(), |at| {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    })
}

fn names(event: &ScanEvent) -> (String, String, &str) {
    let arn = event.detail.resource_arn.as_deref().unwrap_or("");
    let kind = event.detail.resource_type.as_deref().unwrap_or("");
    let name = if arn.is_empty() {
        "unknown resource".to_string()
    } else {
        short_name(arn).to_string()
    };
    (name, resource_noun(kind), kind)
}

fn attributes(event: &ScanEvent, label: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("state".to_string(), label.to_string()),
        ("jobType".to_string(), "SCAN".to_string()),
        (
            "resourceType".to_string(),
            event.detail.resource_type.clone().unwrap_or_default(),
        ),
        ("accountId".to_string(), event.account.clone()),
        ("region".to_string(), event.region.clone()),
    ])
}

fn document(event: &ScanEvent, kind: &str, severity: Severity, subject: &str, context: &Context) -> serde_json::Value {
    json!({
        "schema": DOCUMENT_SCHEMA, "source": SOURCE, "kind": kind, "severity": severity, "summary": subject,
        "accountId": event.account, "region": event.region, "eventId": event.event_id,
        "resource": {"arn": event.detail.resource_arn, "type": event.detail.resource_type},
        "scan": {"id": event.detail.scan_job_id, "state": event.state(), "result": event.result(),
            "recoveryPointArn": event.detail.recovery_point_arn, "vaultArn": event.detail.backup_vault_arn,
            "statusMessage": event.detail.status_message, "takenAt": context.taken_at},
        "lastCleanRecoveryPoint": context.last_clean.as_ref().map(|c| json!({
            "recoveryPointArn": c.recovery_point_arn, "scannedAt": c.scanned_at})),
    })
}

/// Whether a scan event needs a message; `None` for quiet ones.
pub fn alerts(event: &ScanEvent) -> Option<Severity> {
    match event.finding() {
        Finding::ThreatsFound => Some(Severity::Critical),
        Finding::Unproven => Some(Severity::Warning),
        Finding::Clean | Finding::InProgress | Finding::Unknown => None,
    }
}

/// The message for a scan that needs one (see [`alerts`]).
pub fn render(event: &ScanEvent, context: &Context) -> Option<Alert> {
    let severity = alerts(event)?;
    let (name, noun, kind) = names(event);
    let point = event.detail.recovery_point_arn.as_deref().unwrap_or("unknown");
    let vault = event.detail.backup_vault_name.as_deref().unwrap_or("unknown");
    let place = format!(
        "{name} ({}) {} {}",
        if kind.is_empty() { "?" } else { kind },
        event.account,
        event.region
    );
    let (subject, mut text, label, message_kind) = if severity == Severity::Critical {
        (
            format!("[CRITICAL] Malware found in backup: {place}"),
            format!(
                "The malware scan found threats in the backup of {noun} {name} taken at {}.\n\
                 Do not restore this recovery point, and do not copy it on.\n\n",
                when(context.taken_at)
            ),
            "THREATS_FOUND",
            "malware_found",
        )
    } else {
        (
            format!("[WARNING] Malware scan {}: {place}", event.state()),
            format!(
                "The malware scan of a backup of {noun} {name} ended {}: this recovery point is not proven clean.\n\n",
                event.state()
            ),
            event.state(),
            "scan_unproven",
        )
    };
    match &context.last_clean {
        Some(clean) => text.push_str(&format!(
            "Last clean recovery point of this resource:\n  {} (scanned clean at {})\n\n",
            clean.recovery_point_arn,
            when(clean.scanned_at)
        )),
        None => text.push_str("No recovery point of this resource has been scanned clean.\n\n"),
    }
    text.push_str(&format!(
        "Recovery point  {point}\nVault           {vault}\nScan job        {}\nScan state      {}{}\n\n",
        event.detail.scan_job_id.as_deref().unwrap_or("unknown"),
        event.state(),
        event.result().map_or(String::new(), |r| format!(" ({r})"))
    ));
    if let Some(message) = event.detail.status_message.as_deref().filter(|m| !m.trim().is_empty()) {
        text.push_str(&format!("AWS says:\n  {message}\n\n"));
    }
    text.push_str(&format!(
        "--\nSent by Rearguard job-alerts for EventBridge event {}.\n",
        event.event_id
    ));
    let document = document(event, message_kind, severity, &subject, context);
    Some(Alert::new(severity, &subject, text, document, attributes(event, label)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> ScanEvent {
        let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
        ScanEvent::decode_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn threats_found_is_critical_and_names_the_last_clean_point() {
        let context = Context {
            taken_at: Some(DateTime::parse_from_rfc3339("2026-11-20T03:00:00Z").unwrap().to_utc()),
            last_clean: Some(CleanPoint {
                recovery_point_arn: "arn:aws:backup:eu-west-1:111122223333:recovery-point:clean-1".into(),
                scanned_at: None,
            }),
        };
        let alert = render(&sample("scan-threats-found"), &context).unwrap();
        assert_eq!(
            alert.subject,
            "[CRITICAL] Malware found in backup: orders (DynamoDB) 111122223333 eu-west-1"
        );
        assert!(alert.text.contains("taken at 2026-11-20 03:00 UTC"), "{}", alert.text);
        assert!(alert.text.contains("Do not restore this recovery point"));
        assert!(alert.text.contains("recovery-point:clean-1"));
        assert_eq!(alert.attributes["state"], "THREATS_FOUND");
        assert_eq!(alert.document["kind"], "malware_found");
    }

    #[test]
    fn a_failed_scan_warns_and_a_clean_one_is_quiet() {
        let failed = render(&sample("scan-failed"), &Context::default()).unwrap();
        assert!(
            failed.subject.starts_with("[WARNING] Malware scan FAILED: orders"),
            "{}",
            failed.subject
        );
        assert!(failed.text.contains("not proven clean"));
        assert!(render(&sample("scan-no-threats-found"), &Context::default()).is_none());
    }
}

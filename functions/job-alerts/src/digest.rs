//! Alert storms: when many jobs of the same kind fail together (a KMS key disabled, a role
//! deleted), a person wants one message that lists them all, not fifty. Grouping and splitting
//! are pure; every job lands in exactly one digest part, and each part fits in one SNS message.

use rearguard::alert::{Alert, DOCUMENT_SCHEMA, Severity, clip};
use rearguard::backup_events::{JobEvent, JobKind};
use rearguard::digest::{entry_cost, split_by_budget};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::render::{SOURCE, console_link, subject_of};

/// Messages in one group are similar enough to be listed together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub account: String,
    pub region: String,
    pub kind: JobKind,
    /// The state, or a label such as COMPLETED_WITH_ISSUES or RECOVERED.
    pub label: String,
    /// Decided without the state table: such messages carry `dedupe=unavailable`.
    pub dedupe_unavailable: bool,
}

/// One job as a digest lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestEntry {
    pub line: String,
    pub document: Value,
}

/// AWS status messages are clipped in digests; the full text is in the job's console page.
const STATUS_MESSAGE_MAX: usize = 300;

impl DigestEntry {
    pub fn from_event(event: &JobEvent) -> DigestEntry {
        let who = subject_of(event);
        let message = event.status_message().map(|m| clip(m, STATUS_MESSAGE_MAX));
        let mut line = format!(
            "- {} ({}) job {}",
            who.name,
            if who.type_code.is_empty() { "?" } else { who.type_code },
            event.job_id().unwrap_or("(no id)")
        );
        if let Some(message) = &message {
            line.push_str(&format!(": {message}"));
        }
        line.push_str(&format!("\n    {}\n", console_link(event)));
        let document = json!({
            "jobId": event.job_id(),
            "resourceArn": who.arn,
            "resourceName": who.name,
            "resourceType": who.type_code,
            "statusMessage": message,
            "consoleUrl": console_link(event),
            "eventId": event.event_id,
        });
        DigestEntry { line, document }
    }
}

/// Splits entries into parts that each fit in one SNS message, keeping their order.
pub fn split(entries: Vec<DigestEntry>) -> Vec<Vec<DigestEntry>> {
    split_by_budget(entries, |e| entry_cost(&e.line, &e.document))
}

/// Renders one digest part.
pub fn render(
    key: &GroupKey,
    severity: Severity,
    total: usize,
    entries: &[DigestEntry],
    part: usize,
    parts: usize,
) -> Alert {
    let part_note = if parts > 1 {
        format!(" (part {part}/{parts})")
    } else {
        String::new()
    };
    let label = key.label.replace('_', " ").to_lowercase();
    let subject = format!(
        "[{severity}] {total} {} jobs {} in {} {}{part_note}",
        key.kind.title(),
        label,
        key.account,
        key.region
    );
    let mut text = format!(
        "{total} {} jobs {label} in account {}, {} within one batch. They are listed together so a shared cause \
         (a disabled KMS key, a deleted role, a vault policy) is easy to see.\n",
        key.kind.title(),
        key.account,
        key.region
    );
    if parts > 1 {
        text.push_str(&format!(
            "This is part {part} of {parts}; it lists {} of the {total} jobs.\n",
            entries.len()
        ));
    }
    text.push('\n');
    for entry in entries {
        text.push_str(&entry.line);
    }
    text.push_str("\n--\nSent by Rearguard job-alerts (digest).\n");
    let document = json!({
        "schema": DOCUMENT_SCHEMA,
        "source": SOURCE,
        "kind": "digest",
        "severity": severity,
        "summary": subject,
        "accountId": key.account,
        "region": key.region,
        "jobType": key.kind,
        "state": key.label,
        "count": total,
        "part": part,
        "parts": parts,
        "jobs": entries.iter().map(|e| e.document.clone()).collect::<Vec<_>>(),
    });
    let attributes = BTreeMap::from([
        ("state".to_string(), key.label.clone()),
        ("jobType".to_string(), key.kind.as_str().to_string()),
        ("accountId".to_string(), key.account.clone()),
        ("region".to_string(), key.region.clone()),
        ("digest".to_string(), "true".to_string()),
    ]);
    Alert::new(severity, &subject, text, document, attributes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rearguard::alert::MESSAGE_MAX_BYTES;
    use rearguard::backup_events::BACKUP_JOB;

    fn failed_event(i: usize, message_len: usize) -> JobEvent {
        JobEvent::decode(&json!({
            "id": format!("evt-{i}"), "detail-type": BACKUP_JOB, "source": "aws.backup",
            "account": "111122223333", "region": "eu-west-1",
            "detail": {"backupJobId": format!("job-{i}"), "state": "FAILED", "resourceType": "EBS",
                       "resourceArn": format!("arn:aws:ec2:eu-west-1:111122223333:volume/vol-{i}"),
                       "statusMessage": "x".repeat(message_len)}
        }))
        .unwrap()
    }

    fn key() -> GroupKey {
        GroupKey {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            kind: JobKind::Backup,
            label: "FAILED".into(),
            dedupe_unavailable: false,
        }
    }

    #[test]
    fn a_huge_storm_is_split_into_parts_that_each_fit_and_lose_no_job() {
        let entries: Vec<DigestEntry> = (0..2000)
            .map(|i| DigestEntry::from_event(&failed_event(i, 2000)))
            .collect();
        let parts = split(entries);
        assert!(parts.len() > 1);
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 2000);
        for (i, part) in parts.iter().enumerate() {
            let alert = render(&key(), Severity::Critical, 2000, part, i + 1, parts.len());
            assert!(
                alert.sns_message().len() <= MESSAGE_MAX_BYTES,
                "part {i}: {} bytes",
                alert.sns_message().len()
            );
        }
        let first = render(&key(), Severity::Critical, 2000, &parts[0], 1, parts.len());
        assert!(
            first.subject.ends_with(&format!("(part 1/{})", parts.len())),
            "{}",
            first.subject
        );
    }

    #[test]
    fn small_digest_is_one_part_listing_every_job() {
        let entries: Vec<DigestEntry> = (0..60).map(|i| DigestEntry::from_event(&failed_event(i, 80))).collect();
        let parts = split(entries);
        assert_eq!(parts.len(), 1);
        let alert = render(&key(), Severity::Critical, 60, &parts[0], 1, 1);
        assert_eq!(
            alert.subject,
            "[CRITICAL] 60 Backup jobs failed in 111122223333 eu-west-1"
        );
        for i in 0..60 {
            assert!(alert.text.contains(&format!("job job-{i}")), "job-{i} missing");
        }
        assert_eq!(alert.document["jobs"].as_array().unwrap().len(), 60);
        assert_eq!(alert.attributes["digest"], "true");
    }

    #[test]
    fn long_status_messages_are_clipped_in_digest_lines() {
        let entry = DigestEntry::from_event(&failed_event(1, 5000));
        assert!(entry.line.len() < 600, "{}", entry.line.len());
        assert!(entry.line.contains("..."));
    }
}

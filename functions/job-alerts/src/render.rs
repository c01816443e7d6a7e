//! Turning a job event into words: the subject, the text a person reads, the JSON document a
//! machine reads, and the SNS attributes subscribers filter on. Pure.

use chrono::{DateTime, Utc};
use rearguard::alert::{Alert, DOCUMENT_SCHEMA, Severity};
use rearguard::arn::{resource_noun, short_name, vault_name};
use rearguard::backup_events::{JobDetail, JobEvent, JobKind};
use rearguard::console;
use rearguard::store::Incident;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::hints::hint_for;

pub const SOURCE: &str = "rearguard.job-alerts";

/// What kind of message this is, in the JSON document (`kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    JobFailed,
    JobCompletedWithIssues,
    JobRecovered,
    RestoreCompleted,
    LateFailure,
}

impl MessageKind {
    fn as_str(self) -> &'static str {
        match self {
            MessageKind::JobFailed => "job_failed",
            MessageKind::JobCompletedWithIssues => "job_completed_with_issues",
            MessageKind::JobRecovered => "job_recovered",
            MessageKind::RestoreCompleted => "restore_completed",
            MessageKind::LateFailure => "late_failure",
        }
    }
}

/// The resource a person should think about: name, noun and ARN, or the job id when the event
/// names no resource (restore failures).
pub struct Subject<'a> {
    pub name: String,
    pub noun: String,
    pub arn: Option<&'a str>,
    pub type_code: &'a str,
}

/// The end of every subject line: `orders (RDS) 111122223333 eu-west-1`.
fn where_line(who: &Subject<'_>, event: &JobEvent) -> String {
    let type_code = if who.type_code.is_empty() { "?" } else { who.type_code };
    format!("{} ({type_code}) {} {}", who.name, event.account, event.region)
}

pub fn subject_of(event: &JobEvent) -> Subject<'_> {
    let type_code = event.resource_type().unwrap_or("");
    let arn = event.resource_arn();
    let name = match (arn, event.job_id()) {
        (Some(arn), _) => short_name(arn).to_string(),
        (None, Some(id)) => format!("job {id}"),
        (None, None) => "unknown resource".to_string(),
    };
    Subject {
        name,
        noun: resource_noun(type_code),
        arn,
        type_code,
    }
}

/// The attributes every job message carries, for SNS filter policies.
fn attributes(event: &JobEvent, state_label: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("state".to_string(), state_label.to_string()),
        ("jobType".to_string(), event.kind().as_str().to_string()),
        (
            "resourceType".to_string(),
            event.resource_type().unwrap_or("").to_string(),
        ),
        ("accountId".to_string(), event.account.clone()),
        ("region".to_string(), event.region.clone()),
    ])
}

pub fn console_link(event: &JobEvent) -> String {
    match event.job_id() {
        Some(id) => console::job_link(&event.region, event.kind(), id),
        None => console::jobs_link(&event.region, event.kind()),
    }
}

fn plan_line(event: &JobEvent) -> String {
    match event.created_by() {
        // Failed and aborted events often carry no `createdBy` even for plan jobs: say so.
        None => "unknown (the event does not say)".to_string(),
        Some(by) if !event.is_on_demand() => {
            let plan = by
                .backup_plan_arn
                .as_deref()
                .map(short_name)
                .or(by.backup_plan_id.as_deref())
                .unwrap_or("?");
            match by.backup_plan_rule_id.as_deref() {
                Some(rule) => format!("{plan} (rule {rule})"),
                None => plan.to_string(),
            }
        }
        _ => "on-demand (not started by a backup plan)".to_string(),
    }
}

/// Where a copy was going: "444455556666 / us-west-2, vault isolated".
fn destination_line(event: &JobEvent) -> Option<String> {
    let JobDetail::Copy(copy) = &event.detail else {
        return None;
    };
    let arn = copy.destination_backup_vault_arn.as_deref()?;
    Some(match rearguard::arn::Arn::parse(arn) {
        Some(parsed) => format!("{} / {}, vault {}", parsed.account, parsed.region, vault_name(arn)),
        None => arn.to_string(),
    })
}

/// Aligned "Label   value" lines for the facts of a job.
fn facts(event: &JobEvent) -> String {
    let subject = subject_of(event);
    let mut text = String::with_capacity(640);
    let mut row = |label: &str, value: &dyn fmt::Display| {
        let _ = writeln!(text, "  {label:<15}{value}");
    };
    row("Resource", &format_args!("{} ({})", subject.name, subject.noun));
    if let Some(arn) = subject.arn {
        row("ARN", &arn);
    }
    row("Account", &event.account);
    row("Region", &event.region);
    if let Some(vault) = event.vault_arn() {
        let label = if event.kind() == JobKind::Copy {
            "Source vault"
        } else {
            "Vault"
        };
        row(label, &vault_name(vault));
    }
    if let Some(destination) = destination_line(event) {
        row("Destination", &destination);
    }
    if event.kind() != JobKind::Restore {
        row("Backup plan", &plan_line(event));
    }
    row(
        "Job",
        &format_args!(
            "{} job {}",
            event.kind().title(),
            event.job_id().unwrap_or("(no id yet)")
        ),
    );
    row("State", &event.state().as_str());
    if let Some(created) = event.creation_date() {
        row("Started", &created);
    }
    if let Some(completed) = event.completion_date() {
        row("Ended", &completed);
    }
    if let Some(time) = event.time {
        row("Event time", &time.to_rfc3339());
    }
    text
}

fn footer(event: &JobEvent) -> String {
    format!(
        "--\nSent by Rearguard job-alerts for EventBridge event {}.\n",
        event.event_id
    )
}

fn job_document(event: &JobEvent, kind: MessageKind, severity: Severity, summary: &str) -> Value {
    let subject = subject_of(event);
    let created_by = event.created_by();
    let destination = match &event.detail {
        JobDetail::Copy(copy) => json!({
            "vaultArn": copy.destination_backup_vault_arn,
            "recoveryPointArn": copy.destination_recovery_point_arn,
        }),
        _ => Value::Null,
    };
    let restored = match &event.detail {
        JobDetail::Restore(restore) => json!({
            "createdResourceArn": restore.created_resource_arn,
            "recoveryPointArn": restore.recovery_point_arn,
            "restoreTestingPlanArn": restore.restore_testing_plan_arn,
        }),
        _ => Value::Null,
    };
    json!({
        "schema": DOCUMENT_SCHEMA,
        "source": SOURCE,
        "kind": kind.as_str(),
        "severity": severity,
        "summary": summary,
        "accountId": event.account,
        "region": event.region,
        "eventId": event.event_id,
        "resource": {"arn": subject.arn, "name": subject.name, "type": subject.type_code},
        "job": {
            "type": event.kind(),
            "id": event.job_id(),
            "state": event.state(),
            "statusMessage": event.status_message(),
            "creationDate": event.creation_date(),
            "completionDate": event.completion_date(),
            "vaultArn": event.vault_arn(),
            // Unknown (null) when the event carries no `createdBy`.
            "onDemand": created_by.map(|_| event.is_on_demand()),
            "backupPlanArn": created_by.and_then(|c| c.backup_plan_arn.as_deref()),
            "backupPlanRuleId": created_by.and_then(|c| c.backup_plan_rule_id.as_deref()),
            "consoleUrl": console_link(event),
        },
        "destination": destination,
        "restore": restored,
        "hint": hint_for(event.kind(), event.state(), event.status_message()),
    })
}

fn aws_says(event: &JobEvent) -> String {
    match event.status_message() {
        Some(message) => format!("AWS says:\n  {message}\n\n"),
        None => "AWS gave no status message.\n\n".to_string(),
    }
}

fn what_to_do(event: &JobEvent) -> String {
    match hint_for(event.kind(), event.state(), event.status_message()) {
        Some(hint) => format!("What to do:\n  {hint}\n\n"),
        None => String::new(),
    }
}

/// A job that failed (or was aborted, expired, partial). `repeat` is the open incident when
/// this is a re-alert of a resource that keeps failing.
pub fn failure(event: &JobEvent, severity: Severity, consequence: &str, repeat: Option<&Incident>) -> Alert {
    let who = subject_of(event);
    let again = match repeat {
        Some(incident) => format!(" again ({}x)", incident.failures()),
        None => String::new(),
    };
    let subject = format!(
        "[{severity}] {} {}{again}: {}",
        event.kind().title(),
        event.state(),
        where_line(&who, event)
    );
    let mut text = format!(
        "{} job {} for {} {} in account {}, {}.\n{consequence}\n\n",
        event.kind().title(),
        event.state(),
        who.noun,
        who.name,
        event.account,
        event.region
    );
    if let Some(incident) = repeat {
        text.push_str(&format!(
            "This resource has failed {} times since {}; Rearguard re-alerts while it keeps failing.\n\n",
            incident.failures(),
            rfc3339(incident.opened_at())
        ));
    }
    text.push_str(&facts(event));
    text.push('\n');
    text.push_str(&aws_says(event));
    text.push_str(&what_to_do(event));
    text.push_str(&format!(
        "Open the job in the AWS Backup console:\n  {}\n\n",
        console_link(event)
    ));
    text.push_str(&footer(event));
    let mut document = job_document(event, MessageKind::JobFailed, severity, &subject);
    document["consequence"] = json!(consequence);
    if let Some(incident) = repeat {
        document["incident"] = incident_json(incident);
    }
    Alert::new(
        severity,
        &subject,
        text,
        document,
        attributes(event, event.state().as_str()),
    )
}

/// Names a composite job's failed children in its alert: after the consequence, and in the
/// document as `failedChildren`.
pub fn name_failed_children(alert: &mut Alert, children: &[crate::composite::ChildJob]) {
    let mut block = format!("Nested jobs that did not complete ({}):\n", children.len());
    for child in children {
        block.push_str(&format!(
            "  - {} ({}): {}{}\n",
            short_name(&child.resource_arn),
            child.resource_type,
            child.state,
            child
                .status_message
                .as_ref()
                .map_or(String::new(), |m| format!(" - {m}"))
        ));
    }
    block.push('\n');
    let at = alert.text.find("\n\n").map_or(alert.text.len(), |i| i + 2);
    alert.text.insert_str(at, &block);
    alert.document["failedChildren"] = json!(children);
}

/// A backup that completed with a status message. `closed` is an incident this success ends.
pub fn completed_with_issues(event: &JobEvent, closed: Option<&Incident>) -> Alert {
    let who = subject_of(event);
    let subject = format!(
        "[WARNING] {} completed with issues: {} ({}) {} {}",
        event.kind().title(),
        who.name,
        who.type_code,
        event.account,
        event.region
    );
    let mut text = format!(
        "{} job for {} {} completed, but AWS reported an issue. A recovery point exists; check that it is usable.\n\n",
        event.kind().title(),
        who.noun,
        who.name
    );
    if let Some(incident) = closed {
        text.push_str(&format!("{}\n\n", closed_sentence(incident)));
    }
    text.push_str(&facts(event));
    text.push('\n');
    text.push_str(&aws_says(event));
    text.push_str(&what_to_do(event));
    text.push_str(&format!(
        "Open the job in the AWS Backup console:\n  {}\n\n",
        console_link(event)
    ));
    text.push_str(&footer(event));
    let mut document = job_document(event, MessageKind::JobCompletedWithIssues, Severity::Warning, &subject);
    if let Some(incident) = closed {
        document["closedIncident"] = incident_json(incident);
    }
    Alert::new(
        Severity::Warning,
        &subject,
        text,
        document,
        attributes(event, "COMPLETED_WITH_ISSUES"),
    )
}

/// A job succeeded (at `at`, its event time) for a resource with an open failure.
pub fn recovered(event: &JobEvent, incident: &Incident, at: DateTime<Utc>) -> Alert {
    let who = subject_of(event);
    let subject = format!(
        "[INFO] {} recovered: {} ({}) {} {}",
        event.kind().title(),
        who.name,
        who.type_code,
        event.account,
        event.region
    );
    let outage = at - incident.opened_at().unwrap_or(at);
    let mut text = format!(
        "{} job for {} {} completed. {}\nThe failure lasted {}h {:02}m.\n\n",
        event.kind().title(),
        who.noun,
        who.name,
        closed_sentence(incident),
        outage.num_hours(),
        outage.num_minutes() % 60
    );
    text.push_str(&facts(event));
    text.push_str(&format!(
        "\nOpen the job in the AWS Backup console:\n  {}\n\n",
        console_link(event)
    ));
    text.push_str(&footer(event));
    let mut document = job_document(event, MessageKind::JobRecovered, Severity::Info, &subject);
    document["closedIncident"] = incident_json(incident);
    Alert::new(Severity::Info, &subject, text, document, attributes(event, "RECOVERED"))
}

/// A restore completed: name the new resource, because applications must be pointed at it.
pub fn restore_completed(event: &JobEvent) -> Alert {
    let JobDetail::Restore(restore) = &event.detail else {
        unreachable!("restore_completed is only called for restore events")
    };
    let created = restore
        .created_resource_arn
        .as_deref()
        .unwrap_or("(AWS did not name it)");
    let source = restore.source_resource_arn.as_deref().unwrap_or("(unknown)");
    let type_code = event.resource_type().unwrap_or("");
    let subject = format!(
        "[INFO] Restore completed: new {} {} in {} {}",
        type_code,
        short_name(created),
        event.account,
        event.region
    );
    let testing = match restore.restore_testing_plan_arn.as_deref() {
        Some(plan) => format!("It was started by the restore testing plan {}.\n\n", short_name(plan)),
        None => String::new(),
    };
    let mut text = format!(
        "A restore completed and created a NEW {}: {}.\n\
         The original resource is unchanged. Applications keep using the original until they are re-pointed to the new one.\n\n{testing}",
        resource_noun(type_code),
        short_name(created),
    );
    text.push_str(&format!(
        "  {:<15}{}\n  {:<15}{}\n",
        "New resource", created, "Restored from", source
    ));
    if let Some(point) = restore.recovery_point_arn.as_deref() {
        text.push_str(&format!("  {:<15}{}\n", "Recovery point", point));
    }
    text.push_str(&facts(event));
    text.push_str(&format!(
        "\nOpen the job in the AWS Backup console:\n  {}\n\n",
        console_link(event)
    ));
    text.push_str(&footer(event));
    let document = job_document(event, MessageKind::RestoreCompleted, Severity::Info, &subject);
    Alert::new(Severity::Info, &subject, text, document, attributes(event, "RESTORED"))
}

/// A failure that happened before the resource's last success: for the record, not an
/// incident. `recovered_at` is the time of that success.
pub fn late_failure(event: &JobEvent, consequence: &str, recovered_at: DateTime<Utc>) -> Alert {
    let who = subject_of(event);
    let failed_at = event
        .time
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "(unknown time)".into());
    let subject = format!(
        "[INFO] Late: {} {} earlier: {}",
        event.kind().title(),
        event.state(),
        where_line(&who, event)
    );
    let mut text = format!(
        "Reported late: this {} job for {} {} {} at {failed_at}; the resource has since backed up successfully ({}). \
         Nothing is open for it and no action is needed unless that backup matters on its own.\n{consequence}\n\n",
        event.kind().title().to_lowercase(),
        who.noun,
        who.name,
        event.state().as_str().to_lowercase(),
        recovered_at.to_rfc3339(),
    );
    text.push_str(&facts(event));
    text.push('\n');
    text.push_str(&aws_says(event));
    text.push_str(&format!(
        "Open the job in the AWS Backup console:\n  {}\n\n",
        console_link(event)
    ));
    text.push_str(&footer(event));
    let mut document = job_document(event, MessageKind::LateFailure, Severity::Info, &subject);
    document["consequence"] = json!(consequence);
    document["recoveredAt"] = json!(recovered_at.to_rfc3339());
    let mut attributes = attributes(event, event.state().as_str());
    attributes.insert("late".into(), "true".into());
    Alert::new(Severity::Info, &subject, text, document, attributes)
}

fn rfc3339(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "(unknown)".into())
}

fn closed_sentence(incident: &Incident) -> String {
    format!(
        "This closes the failure open since {} ({} failed job{}).",
        rfc3339(incident.opened_at()),
        incident.failures(),
        if incident.failures() == 1 { "" } else { "s" }
    )
}

fn incident_json(incident: &Incident) -> Value {
    json!({
        "openedAt": incident.opened_at().map(|t| t.to_rfc3339()),
        "lastAlertedAt": incident.last_alerted_at.map(|t| t.to_rfc3339()),
        "failures": incident.failures(),
        "lastJobId": incident.last_failure().map(|f| f.job_id.as_str()),
    })
}

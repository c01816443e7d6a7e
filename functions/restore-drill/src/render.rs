//! The message a failed restore test sends: the shared alert style (subject, text, the
//! `rearguard.alert/v1` document, filterable attributes). Pure.

use rearguard::alert::{Alert, DOCUMENT_SCHEMA, Severity};
use rearguard::arn::short_name;
use rearguard::backup_events::JobKind;
use rearguard::console;
use serde_json::json;
use std::collections::BTreeMap;

use crate::drill::RestoreJobFacts;
use crate::figures::Figures;

pub const SOURCE: &str = "rearguard.restore-drill";

/// One restore test, as the message describes it.
pub struct DrillReport<'a> {
    pub facts: &'a RestoreJobFacts,
    pub region: &'a str,
    pub event_id: &'a str,
    /// The policy plan of the restored resource, when known.
    pub plan: Option<&'a str>,
    pub figures: &'a Figures,
}

pub fn drill_failed(report: &DrillReport<'_>, reasons: &[String]) -> Alert {
    let facts = report.facts;
    let source = facts.source_resource_arn.as_deref().unwrap_or("");
    let name = if source.is_empty() {
        "unknown resource"
    } else {
        short_name(source)
    };
    let subject = format!(
        "[ERROR] Restore test FAILED: {name} ({}) {} {}",
        facts.resource_type, facts.account, report.region
    );
    let link = console::job_link(report.region, JobKind::Restore, &facts.restore_job_id);
    let figure = |value: Option<f64>, unit: &str| value.map_or("unknown".to_string(), |v| format!("{v:.1} {unit}"));
    let text = format!(
        "The restore test of {name} ({}) did not prove that it can be restored.\n\n\
         Why:\n{}\n\n\
         Plan: {}\nRestore testing plan: {}\nRestore job: {}\nRestored resource: {}\n\
         Achieved RPO: {}\nAchieved RTO: {}\n\n\
         Fix the cause before the backup is needed: run the restore by hand from the same recovery point \
         ({}) and check the restored data.\n\nConsole: {link}\n",
        facts.resource_type,
        reasons
            .iter()
            .map(|r| format!("  - {r}"))
            .collect::<Vec<_>>()
            .join("\n"),
        report
            .plan
            .unwrap_or("unknown (the resource's backup tag names no policy plan)"),
        facts.testing_plan_arn.as_deref().unwrap_or("?"),
        facts.restore_job_id,
        facts.created_resource_arn.as_deref().unwrap_or("none"),
        figure(report.figures.rpo_hours(), "h"),
        figure(report.figures.rto_minutes(), "min"),
        facts.recovery_point_arn.as_deref().unwrap_or("?"),
    );
    let document = json!({
        "schema": DOCUMENT_SCHEMA,
        "source": SOURCE,
        "kind": "restore_test_failed",
        "severity": Severity::Error,
        "summary": format!("Restore test of {name} failed: {}", reasons.join("; ")),
        "accountId": facts.account,
        "region": report.region,
        "eventId": report.event_id,
        "resource": {"arn": source, "name": name, "type": facts.resource_type},
        "plan": report.plan,
        "job": {
            "type": JobKind::Restore,
            "id": facts.restore_job_id,
            "state": facts.status,
            "statusMessage": facts.status_message,
            "creationDate": facts.created.map(|d| d.to_rfc3339()),
            "completionDate": facts.completed.map(|d| d.to_rfc3339()),
            "vaultArn": facts.vault_arn,
            "consoleUrl": link,
        },
        "restore": {
            "createdResourceArn": facts.created_resource_arn,
            "recoveryPointArn": facts.recovery_point_arn,
            "restoreTestingPlanArn": facts.testing_plan_arn,
        },
        "reasons": reasons,
        "figures": {"rpoHours": report.figures.rpo_hours(), "rtoMinutes": report.figures.rto_minutes()},
    });
    let attributes = BTreeMap::from([
        ("state".to_string(), "RESTORE_TEST_FAILED".to_string()),
        ("jobType".to_string(), JobKind::Restore.as_str().to_string()),
        ("resourceType".to_string(), facts.resource_type.clone()),
        ("accountId".to_string(), facts.account.clone()),
        ("region".to_string(), report.region.to_string()),
    ]);
    Alert::new(Severity::Error, &subject, text, document, attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_names_the_resource_the_reasons_and_the_figures() {
        let facts = RestoreJobFacts {
            restore_job_id: "r-1".into(),
            account: "111122223333".into(),
            status: "COMPLETED".into(),
            resource_type: "DynamoDB".into(),
            source_resource_arn: Some("arn:aws:dynamodb:eu-west-1:111122223333:table/orders".into()),
            testing_plan_arn: Some("arn:aws:backup:eu-west-1:111122223333:restore-testing-plan:weekly-1".into()),
            ..RestoreJobFacts::default()
        };
        let figures = Figures {
            rpo: Some(chrono::Duration::hours(26)),
            rto: None,
        };
        let report = DrillReport {
            facts: &facts,
            region: "eu-west-1",
            event_id: "e-1",
            plan: Some("production"),
            figures: &figures,
        };

        let alert = drill_failed(&report, &["table orders is ACTIVE but empty".to_string()]);

        assert_eq!(alert.severity, Severity::Error);
        assert_eq!(
            alert.subject,
            "[ERROR] Restore test FAILED: orders (DynamoDB) 111122223333 eu-west-1"
        );
        assert_eq!(alert.document["kind"], "restore_test_failed");
        assert_eq!(alert.document["schema"], DOCUMENT_SCHEMA);
        assert_eq!(alert.document["figures"]["rpoHours"], 26.0);
        assert_eq!(alert.document["plan"], "production");
        assert_eq!(alert.attributes["severity"], "ERROR");
        assert_eq!(alert.attributes["jobType"], "RESTORE");
        assert!(
            alert.text.contains("ACTIVE but empty") && alert.text.contains("26.0 h"),
            "{}",
            alert.text
        );
    }
}

//! tamper-guard's messages, in Rearguard's message style: who, what, where, when, and what to do
//! now; an incident lists every step in order. Pure.

use rearguard::alert::{Alert, DOCUMENT_SCHEMA};
use rearguard::arn::short_name;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::incident::Incident;
use crate::judge::Finding;
use crate::observation::{Actor, Observation, What};
use crate::respond::Response;

pub const SOURCE: &str = "rearguard.tamper-guard";

fn actor_of(observation: &Observation) -> Option<&Actor> {
    match &observation.what {
        What::Call(call) => Some(&call.actor),
        What::State(_) => None,
    }
}

fn action_of(observation: &Observation) -> (String, String, Option<String>) {
    match &observation.what {
        What::Call(call) => (
            call.event_name.clone(),
            call.event_source.clone(),
            call.error_code.clone(),
        ),
        What::State(_) => ("AWS Backup state change".into(), "backup.amazonaws.com".into(), None),
    }
}

fn who(actor: Option<&Actor>) -> String {
    let Some(actor) = actor else {
        return "  (AWS Backup's event names no actor; CloudTrail's record of the call does)\n".into();
    };
    let mfa = match actor.mfa {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    format!(
        "  {:<16}{} ({})\n  {:<16}{}\n  {:<16}{}\n  {:<16}{}\n  {:<16}{mfa}\n",
        "Principal",
        actor.arn,
        actor.kind,
        "Session issuer",
        actor.session_issuer.as_deref().unwrap_or("-"),
        "Source IP",
        actor.source_ip,
        "User agent",
        actor.user_agent,
        "MFA",
    )
}

fn response_text(response: &Response) -> String {
    match response {
        Response::Done(calls) => format!("Rearguard called {}.", calls.join(", then ")),
        Response::WouldCall(calls) => format!("Dry run: Rearguard would call {}.", calls.join(", then ")),
        Response::Failed(e) => format!("Rearguard's response failed: {e}. Do it by hand now."),
    }
}

fn response_json(response: &Response) -> Value {
    match response {
        Response::Done(calls) | Response::WouldCall(calls) => json!({"status": response.status(), "calls": calls}),
        Response::Failed(e) => json!({"status": response.status(), "error": e}),
    }
}

/// The message for one tamper step: on its own, or as the latest step of an incident in
/// progress (then the subject says so and the text lists every step).
pub fn alert(
    observation: &Observation,
    finding: &Finding,
    incident: Option<&Incident>,
    response: Option<&Response>,
    previous_policy: Option<&str>,
) -> Alert {
    let actor = actor_of(observation);
    let principal = actor.map(|a| short_name(a.principal()).to_string());
    let by = principal.as_deref().map(|p| format!(" by {p}")).unwrap_or_default();
    let in_progress = incident.filter(|i| i.in_progress());
    let severity = in_progress.map(|i| i.severity()).unwrap_or(finding.severity);
    let subject = match in_progress {
        Some(i) => format!(
            "[{severity}] Possible attack on backups in progress: {} steps{by} {} {}",
            i.steps.len(),
            observation.account,
            observation.region
        ),
        None => format!(
            "[{severity}] {}{by} {} {}",
            finding.headline, observation.account, observation.region
        ),
    };
    let (action, event_source, error_code) = action_of(observation);
    let mut text = String::new();
    if let Some(first) = &finding.follow_up_of {
        text.push_str(&format!(
            "Follow-up of alert {first}: AWS Backup's own event of this change named no actor; this CloudTrail record of it says who made it.\n\n"
        ));
    }
    text.push_str(&format!(
        "{}: {}.\n\nWho\n{}",
        finding.headline,
        finding.target,
        who(actor)
    ));
    text.push_str(&format!(
        "What\n  {:<16}{action} ({event_source})\n  {:<16}{}\n",
        "Action", "Target", finding.target
    ));
    if let Some(change) = &finding.change {
        text.push_str(&format!("  {:<16}{change}\n", "Change"));
    }
    text.push_str(&format!(
        "Where\n  {:<16}{} {}\nWhen\n  {:<16}{}\n  {:<16}{}\n\nWhat to do now\n  {}\n",
        "Account/Region",
        observation.account,
        observation.region,
        "Time",
        observation.time.to_rfc3339(),
        "Event",
        observation.event_id,
        finding.advice
    ));
    if let Some(response) = response {
        text.push_str(&format!("\nResponse\n  {}\n", response_text(response)));
    }
    if let Some(incident) = in_progress {
        text.push_str(&format!(
            "\nPossible attack on backups in progress: {} steps by {} (incident {}):\n",
            incident.steps.len(),
            incident.principal,
            incident.id
        ));
        for (n, step) in incident.steps.iter().enumerate() {
            text.push_str(&format!(
                "  {}. {} [{}] {}: {}\n",
                n + 1,
                step.at.to_rfc3339(),
                step.severity,
                step.action,
                step.target
            ));
        }
    }
    text.push_str("\n--\nSent by Rearguard tamper-guard.\n");
    let document = json!({
        "schema": DOCUMENT_SCHEMA, "source": SOURCE, "kind": finding.kind, "severity": severity,
        "summary": subject, "accountId": observation.account, "region": observation.region,
        "time": observation.time.to_rfc3339(), "eventId": observation.event_id,
        "action": {"name": action, "eventSource": event_source, "errorCode": error_code},
        "actor": actor.map(|a| json!({
            "arn": a.arn, "type": a.kind, "sessionIssuer": a.session_issuer, "sourceIp": a.source_ip,
            "userAgent": a.user_agent, "mfa": a.mfa,
        })),
        "target": finding.target, "change": finding.change, "previousPolicy": previous_policy,
        "advice": finding.advice, "followUpOf": finding.follow_up_of,
        "response": response.map(response_json),
        "incident": incident.map(|i| json!({
            "id": i.id, "principal": i.principal, "inProgress": i.in_progress(),
            "steps": i.steps.iter().map(|s| json!({
                "at": s.at.to_rfc3339(), "eventId": s.event_id, "severity": s.severity,
                "action": s.action, "headline": s.headline, "target": s.target,
            })).collect::<Vec<_>>(),
        })),
    });
    let mut attributes = BTreeMap::from([
        ("jobType".to_string(), "TAMPER".to_string()),
        ("state".to_string(), finding.kind.to_uppercase()),
        ("accountId".to_string(), observation.account.clone()),
        ("region".to_string(), observation.region.clone()),
        (
            "principalType".to_string(),
            actor.map(|a| a.kind.clone()).unwrap_or_default(),
        ),
    ]);
    // Lets a subscription that pages drop follow-ups (`{"followUp": [{"exists": false}]}`).
    if finding.follow_up_of.is_some() {
        attributes.insert("followUp".to_string(), "true".to_string());
    }
    Alert::new(severity, &subject, text, document, attributes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Step, add_step};
    use crate::judge::{Facts, Verdict, judge};
    use crate::observation::decode;
    use rearguard::alert::Severity;

    fn deletion() -> (Observation, Finding) {
        let payload: Value =
            serde_json::from_str(include_str!("../../../events/cloudtrail-delete-recovery-point.json")).unwrap();
        let observation = decode(&payload).unwrap();
        let Verdict::Alert(finding) = judge(&observation, &Facts::default()) else {
            panic!()
        };
        (observation, finding)
    }

    #[test]
    fn a_deletion_names_who_what_where_when_and_what_to_do() {
        let (observation, finding) = deletion();
        let alert = alert(&observation, &finding, None, None, None);
        assert_eq!(
            alert.subject,
            "[CRITICAL] Recovery point deleted by ops-admin 123456789012 eu-west-1"
        );
        for expected in [
            "arn:aws:sts::123456789012:assumed-role/ops-admin/mallory (AssumedRole)",
            "arn:aws:iam::123456789012:role/ops-admin",
            "203.0.113.45",
            "aws-cli/2.22.4",
            "MFA             no",
            "DeleteRecoveryPoint (backup.amazonaws.com)",
            "2026-11-20T03:12:41+00:00",
            "What to do now",
        ] {
            assert!(
                alert.text.contains(expected),
                "{expected} missing from:\n{}",
                alert.text
            );
        }
        assert_eq!(alert.document["schema"], DOCUMENT_SCHEMA);
        assert_eq!(alert.document["actor"]["sourceIp"], "203.0.113.45");
        assert_eq!(alert.attributes["severity"], "CRITICAL");
        assert_eq!(alert.attributes["jobType"], "TAMPER");
        assert_eq!(alert.attributes["state"], "RECOVERY_POINT_DELETED");
    }

    #[test]
    fn an_incident_in_progress_lists_every_step_in_order() {
        let (observation, finding) = deletion();
        let step = |id: &str, minutes: i64| Step {
            at: observation.time + chrono::Duration::minutes(minutes),
            event_id: id.into(),
            severity: Severity::Error,
            action: "DeleteBackupPlan".into(),
            headline: "Backup plan deleted".into(),
            target: format!("backup plan {id}"),
        };
        let window = chrono::Duration::minutes(15);
        let principal = "arn:aws:iam::123456789012:role/ops-admin";
        let incident = add_step(None, principal, step("p1", 0), window);
        let incident = add_step(Some(incident), principal, step("p2", 3), window);
        let alert = alert(&observation, &finding, Some(&incident), None, None);
        assert!(
            alert
                .subject
                .starts_with("[ERROR] Possible attack on backups in progress: 2 steps by ops-admin"),
            "{}",
            alert.subject
        );
        let first = alert.text.find("backup plan p1").unwrap();
        let second = alert.text.find("backup plan p2").unwrap();
        assert!(first < second);
        assert_eq!(alert.document["incident"]["steps"].as_array().unwrap().len(), 2);
    }
}

//! Alerts and custom events, in Rearguard's message style. Pure.

use rearguard::alert::{Alert, DOCUMENT_SCHEMA, Severity};
use rearguard::arn::{resource_noun, short_name, vault_name};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::backup::ApiError;
use crate::plan::{Outcome, Refusal};
use crate::scan_wait::ScanSummary;
use crate::trigger::Arrival;

pub const SOURCE: &str = "rearguard.cross-account-copy";
pub const COPY_REQUESTED: &str = "Rearguard Copy Requested";
pub const COPY_SKIPPED: &str = "Rearguard Copy Skipped";
pub const SOURCE_SHORTENED: &str = "Rearguard Source Retention Shortened";

/// A destination as a person reads it: `isolated (444455556666, eu-west-1)`.
pub fn destination_label(vault_arn: &str) -> String {
    match rearguard::arn::Arn::parse(vault_arn) {
        Some(arn) => format!("{} ({}, {})", vault_name(vault_arn), arn.account, arn.region),
        None => vault_arn.to_string(),
    }
}

fn build(arrival: &Arrival, severity: Severity, kind: &str, headline: &str, body: &str, detail: Value) -> Alert {
    let name = short_name(&arrival.resource_arn);
    let subject = format!(
        "[{severity}] {headline}: {name} ({}) {} {}",
        arrival.resource_type, arrival.account, arrival.region
    );
    let text = format!(
        "{body}\n\n  {:<16}{name} ({})\n  {:<16}{}\n  {:<16}{}\n  {:<16}{}\n  {:<16}{}\n\n--\nSent by Rearguard cross-account-copy.\n",
        "Resource",
        resource_noun(&arrival.resource_type),
        "ARN",
        arrival.resource_arn,
        "Recovery point",
        arrival.recovery_point_arn,
        "Vault",
        arrival.vault_name,
        "Account/Region",
        format_args!("{} {}", arrival.account, arrival.region),
    );
    let document = json!({
        "schema": DOCUMENT_SCHEMA, "source": SOURCE, "kind": kind, "severity": severity, "summary": subject,
        "accountId": arrival.account, "region": arrival.region,
        "resource": {"arn": arrival.resource_arn, "name": name, "type": arrival.resource_type},
        "recoveryPointArn": arrival.recovery_point_arn, "vaultArn": arrival.vault_arn,
        "detail": detail,
    });
    let attributes = BTreeMap::from([
        ("jobType".to_string(), "COPY".to_string()),
        ("state".to_string(), kind.to_uppercase()),
        ("resourceType".to_string(), arrival.resource_type.clone()),
        ("accountId".to_string(), arrival.account.clone()),
        ("region".to_string(), arrival.region.clone()),
    ]);
    Alert::new(severity, &subject, text, document, attributes)
}

/// One alert for every copy of this recovery point that was not started, with the reasons.
pub fn refused(arrival: &Arrival, refusals: &[(&str, &str, &Refusal)]) -> Option<Alert> {
    let (_, first_destination, _) = refusals.first()?;
    let more = match refusals.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    let headline = format!("Copy refused to {}{more}", vault_name(first_destination));
    let mut body = String::from("Rearguard did not start these copies; each would fail or is not allowed:\n");
    for (route, destination, refusal) in refusals {
        body.push_str(&format!(
            "\n- {} (route {route}): {}.\n  {}",
            destination_label(destination),
            refusal.reason(),
            refusal.hint()
        ));
    }
    let detail: Vec<Value> = refusals
        .iter()
        .map(|(route, destination, refusal)| {
            json!({"route": route, "destinationVaultArn": destination, "refusal": refusal, "reason": refusal.reason(), "hint": refusal.hint()})
        })
        .collect();
    Some(build(
        arrival,
        Severity::Error,
        "copy_refused",
        &headline,
        &body,
        json!({"refused": detail}),
    ))
}

/// A destination copied into without confirming its vault: the vault-check role there could not
/// be assumed.
#[derive(Debug, Clone, PartialEq)]
pub struct Unchecked {
    pub destination_vault_arn: String,
    pub role_arn: String,
    pub reason: String,
}

/// One warning for the destinations whose vault could not be checked: the copies were started,
/// and the role to deploy is named.
pub fn unchecked(arrival: &Arrival, unchecked: &[Unchecked]) -> Option<Alert> {
    let first = unchecked.first()?;
    let more = match unchecked.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    let headline = format!(
        "Copy to {}{more} started unchecked",
        vault_name(&first.destination_vault_arn)
    );
    let mut body = String::from(
        "Rearguard could not assume the vault-check role in these destination accounts, so it started the copies without confirming the vault exists (a copy into a missing vault fails, and job-alerts reports it):\n",
    );
    for u in unchecked {
        body.push_str(&format!(
            "\n- {}: deploy the role {} (templates/destination-account.yaml creates it), or set DestinationRoleName empty to stop checking.\n  AWS said: {}",
            destination_label(&u.destination_vault_arn),
            u.role_arn,
            u.reason
        ));
    }
    let detail: Vec<Value> = unchecked
        .iter()
        .map(|u| json!({"destinationVaultArn": u.destination_vault_arn, "roleArn": u.role_arn, "reason": u.reason}))
        .collect();
    Some(build(
        arrival,
        Severity::Warning,
        "copy_unchecked",
        &headline,
        &body,
        json!({"unchecked": detail}),
    ))
}

/// A backup whose copies wait for a clean malware scan that has not come within the wait: the
/// copies are held, not refused (a clean scan still starts them), so a warning.
pub fn scan_overdue(arrival: &Arrival, held: &[String], wait_hours: i64, scans: &[ScanSummary]) -> Option<Alert> {
    let first = held.first()?;
    let more = match held.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    let vaults: Vec<String> = held.iter().map(|d| destination_label(d)).collect();
    let headline = format!("Copy to {}{more} held: no scan after {wait_hours} h", vault_name(first));
    let seen = if scans.is_empty() {
        "No scan of it was started.".to_string()
    } else {
        let list: Vec<String> = scans.iter().map(|s| format!("{} {}", s.scan_job_id, s.state)).collect();
        format!("Its scans so far: {}.", list.join(", "))
    };
    let body = format!(
        "No malware scan of {} after {wait_hours} h: the copy to {} is held.\n{seen}\n\nCopies that require a clean scan start only when a scan of the backup completes with NO_THREATS_FOUND. Check the backup plan's scan action (or start a scan with StartScanJob); a clean result starts the copy.",
        arrival.recovery_point_arn,
        vaults.join(", "),
    );
    let scans: Vec<Value> = scans
        .iter()
        .map(|s| json!({"scanJobId": s.scan_job_id, "state": s.state, "result": s.result}))
        .collect();
    Some(build(
        arrival,
        Severity::Warning,
        "copy_held_for_scan",
        &headline,
        &body,
        json!({"heldDestinations": held, "waitHours": wait_hours, "scans": scans}),
    ))
}

/// An AWS call that cannot succeed on retry (access denied, invalid parameter): said once.
pub fn api_failed(arrival: &Arrival, action: &str, error: &ApiError, hint: &str) -> Alert {
    let body = format!(
        "Rearguard could not {action}.\n\nAWS said ({}, {}): {}\n\n{hint}",
        error.operation, error.code, error.message
    );
    build(
        arrival,
        Severity::Error,
        "copy_api_failed",
        &format!("Could not {action}"),
        &body,
        json!({"operation": error.operation, "errorCode": error.code, "message": error.message}),
    )
}

/// The custom event for one outcome.
pub fn outcome_event(
    arrival: &Arrival,
    outcome: &Outcome,
    copy_job_id: Option<&str>,
    dry_run: bool,
) -> (&'static str, Value) {
    let base = json!({
        "recoveryPointArn": arrival.recovery_point_arn,
        "sourceVaultArn": arrival.vault_arn,
        "resourceArn": arrival.resource_arn,
        "resourceType": arrival.resource_type,
        "accountId": arrival.account,
        "region": arrival.region,
        "dryRun": dry_run,
    });
    let mut event = base;
    let extra = match outcome {
        Outcome::Copy(order) => json!({
            "route": order.route, "destinationVaultArn": order.destination_vault_arn, "copyJobId": copy_job_id,
            "idempotencyToken": order.idempotency_token, "lifecycle": order.lifecycle,
            "lifecycleSource": order.lifecycle_source, "reencryptingHop": order.hop,
        }),
        Outcome::Refused {
            route,
            destination_vault_arn,
            refusal,
        } => json!({
            "route": route, "destinationVaultArn": destination_vault_arn, "refused": true,
            "refusal": refusal, "reason": refusal.reason(),
        }),
        Outcome::Skipped {
            route,
            destination_vault_arn,
            reason,
        } => json!({"route": route, "destinationVaultArn": destination_vault_arn, "refused": false, "reason": reason}),
    };
    if let (Value::Object(event), Value::Object(extra)) = (&mut event, extra) {
        event.extend(extra);
    }
    let detail_type = match outcome {
        Outcome::Copy(_) => COPY_REQUESTED,
        _ => COPY_SKIPPED,
    };
    (detail_type, event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::Origin;

    fn arrival() -> Arrival {
        Arrival {
            event_id: "e".into(),
            job_id: "job-1".into(),
            job_created: None,
            recovery_point_arn: "arn:aws:rds:eu-west-1:111122223333:snapshot:awsbackup:job-1".into(),
            vault_arn: "arn:aws:backup:eu-west-1:111122223333:backup-vault:rearguard-production".into(),
            vault_name: "rearguard-production".into(),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            resource_arn: "arn:aws:rds:eu-west-1:111122223333:db:prod-orders".into(),
            resource_type: "RDS".into(),
            origin: Origin::Backup { on_demand: false },
            trigger: crate::trigger::Trigger::Completion,
        }
    }

    #[test]
    fn a_refusal_names_the_destination_the_reason_and_the_fix() {
        let refusal = Refusal::AwsManagedKey {
            key_arn: "arn:aws:kms:eu-west-1:111122223333:key/k".into(),
            destination_account: "444455556666".into(),
        };
        let destination = "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated";
        let alert = refused(&arrival(), &[("offsite", destination, &refusal)]).unwrap();

        assert_eq!(
            alert.subject,
            "[ERROR] Copy refused to isolated: prod-orders (RDS) 111122223333 eu-west-1"
        );
        assert!(
            alert
                .text
                .contains("isolated (444455556666, eu-west-1) (route offsite)"),
            "{}",
            alert.text
        );
        assert!(alert.text.contains("AWS managed KMS key"), "{}", alert.text);
        assert!(alert.text.contains("\"reencrypt\""), "{}", alert.text);
        assert_eq!(
            alert.document["detail"]["refused"][0]["refusal"]["code"],
            "AWS_MANAGED_KEY"
        );
        assert_eq!(alert.attributes["jobType"], "COPY");
        assert!(refused(&arrival(), &[]).is_none());
    }

    #[test]
    fn an_unchecked_destination_is_one_warning_naming_the_role_to_deploy() {
        let destination = "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated";
        let role = "arn:aws:iam::444455556666:role/rearguard-vault-check";
        let unchecked_copy = Unchecked {
            destination_vault_arn: destination.into(),
            role_arn: role.into(),
            reason: "DescribeBackupVault: AccessDenied: not authorized to perform: sts:AssumeRole".into(),
        };

        let alert = unchecked(&arrival(), std::slice::from_ref(&unchecked_copy)).unwrap();

        assert_eq!(alert.severity, Severity::Warning);
        assert!(
            alert
                .subject
                .starts_with("[WARNING] Copy to isolated started unchecked"),
            "{}",
            alert.subject
        );
        assert!(
            alert.text.contains(role) && alert.text.contains("destination-account.yaml"),
            "{}",
            alert.text
        );
        assert_eq!(alert.document["detail"]["unchecked"][0]["roleArn"], role);
        assert!(unchecked(&arrival(), &[]).is_none());
    }

    #[test]
    fn a_copy_held_past_the_wait_is_one_warning_naming_the_point_and_the_vault() {
        let isolated = "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated";
        let failed = ScanSummary {
            scan_job_id: "scan-9".into(),
            state: "FAILED".into(),
            result: None,
        };

        let alert = scan_overdue(&arrival(), &[isolated.to_string()], 24, &[failed]).unwrap();

        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(
            alert.subject,
            "[WARNING] Copy to isolated held: no scan after 24 h: prod-orders (RDS) 111122223333 eu-west-1"
        );
        assert!(
            alert.text.contains(&format!(
                "No malware scan of {} after 24 h: the copy to isolated (444455556666, eu-west-1) is held",
                arrival().recovery_point_arn
            )),
            "{}",
            alert.text
        );
        assert!(alert.text.contains("scan-9 FAILED"), "{}", alert.text);
        assert_eq!(alert.document["detail"]["heldDestinations"][0], isolated);
        assert!(scan_overdue(&arrival(), &[], 24, &[]).is_none());
    }

    #[test]
    fn events_say_requested_or_skipped() {
        let skipped = Outcome::Skipped {
            route: "r".into(),
            destination_vault_arn: "arn:v".into(),
            reason: "why".into(),
        };
        let (kind, detail) = outcome_event(&arrival(), &skipped, None, false);
        assert_eq!(kind, COPY_SKIPPED);
        assert_eq!(detail["reason"], "why");
        assert_eq!(detail["recoveryPointArn"], arrival().recovery_point_arn);
    }
}

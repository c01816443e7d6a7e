//! What an event means for copying: a recovery point has arrived in a vault, either from a
//! completed backup job or from a completed copy job (the next hop of a route), or a malware
//! scan of a recovery point has ended (the copies that wait for a clean scan).

use rearguard::arn::{self, Arn};
use rearguard::backup_events::{JobDetail, JobEvent, JobState};
use rearguard::scan_events::{Finding, ScanEvent};

use crate::plan::PointFacts;

#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub event_id: String,
    /// The backup or copy job that made the recovery point arrive (its completion time when the
    /// event has no job id): tells one backup of a continuous recovery point from the next.
    pub job_id: String,
    /// When that job was created: copies of this recovery point made for it come after.
    pub job_created: Option<chrono::DateTime<chrono::Utc>>,
    pub recovery_point_arn: String,
    pub vault_arn: String,
    pub vault_name: String,
    /// Where the recovery point is (the vault's account and region).
    pub account: String,
    pub region: String,
    pub resource_arn: String,
    pub resource_type: String,
    pub origin: Origin,
    /// What the event says happened to the recovery point.
    pub trigger: Trigger,
}

/// Why the recovery point is looked at now.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Its backup or copy job completed: the copies that do not wait for a scan start.
    Completion,
    /// A malware scan of it ended: the copies that wait for a clean scan start, or are refused.
    Scan {
        scan_job_id: String,
        state: String,
        verdict: Verdict,
    },
}

/// What an ended scan proves about its recovery point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// COMPLETED with NO_THREATS_FOUND.
    Clean,
    /// THREATS_FOUND (in a COMPLETED or COMPLETED_WITH_ISSUES scan).
    ThreatsFound,
    /// FAILED, CANCELED, or COMPLETED_WITH_ISSUES without threats: not proven clean.
    Unproven,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Backup {
        on_demand: bool,
    },
    Copy {
        source_vault_arn: String,
        source_recovery_point_arn: String,
    },
}

impl Origin {
    pub fn on_demand(&self) -> Option<bool> {
        match self {
            Origin::Backup { on_demand } => Some(*on_demand),
            Origin::Copy { .. } => None,
        }
    }
}

impl Arrival {
    /// Where the protected resource's backup tag can be read: the resource ARN's Region in the
    /// home account, wherever the recovery point arrived (a copy in another Region or account is
    /// still a copy of a resource here). `None` when the resource is in another account.
    pub fn tag_region<'a>(&'a self, home_account: &str) -> Option<&'a str> {
        let arn = Arn::parse(&self.resource_arn)?;
        // S3 bucket ARNs name neither account nor Region: the recovery point's stand in.
        let account = if arn.account.is_empty() {
            self.account.as_str()
        } else {
            arn.account
        };
        let region = if arn.region.is_empty() {
            self.region.as_str()
        } else {
            arn.region
        };
        (account == home_account).then_some(region)
    }
}

/// Why an event starts nothing. Logged and ignored, never retried.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotAnArrival {
    #[error("{kind} job is {state}; only COMPLETED jobs are copied")]
    NotCompleted { kind: &'static str, state: String },
    #[error("restore jobs create no recovery point")]
    Restore,
    #[error("the COMPLETED event lacks {0}")]
    Missing(&'static str),
    #[error("the scan is {state}{}; only ended scans decide a copy", result.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    ScanNotEnded { state: String, result: Option<String> },
    #[error("the scan event lacks {0}")]
    ScanMissing(&'static str),
}

/// The verdict of a scan event. The verdict is `scanResult.scanResultStatus`, not the state: "a
/// COMPLETED scan may have found threats", and the result "may not be present if the scan was
/// not completed" (AWS Backup Developer Guide, *Malware scan job events*; GuardDuty User Guide,
/// *Monitoring scan statuses and results in Malware Protection for Backup*).
pub fn scan_verdict(event: &ScanEvent) -> Result<Verdict, NotAnArrival> {
    match event.finding() {
        Finding::Clean => Ok(Verdict::Clean),
        Finding::ThreatsFound => Ok(Verdict::ThreatsFound),
        Finding::Unproven => Ok(Verdict::Unproven),
        Finding::InProgress | Finding::Unknown => Err(NotAnArrival::ScanNotEnded {
            state: event.state().to_string(),
            result: event.result().map(str::to_string),
        }),
    }
}

/// Where a scanned recovery point is: its ARN, its vault's ARN and name, from the scan event.
pub fn scanned_point(event: &ScanEvent) -> Result<(String, String, String), NotAnArrival> {
    let point = event
        .detail
        .recovery_point_arn
        .clone()
        .ok_or(NotAnArrival::ScanMissing("recoveryPointArn"))?;
    let vault_arn = event
        .detail
        .backup_vault_arn
        .clone()
        .ok_or(NotAnArrival::ScanMissing("backupVaultArn"))?;
    Arn::parse(&vault_arn).ok_or(NotAnArrival::ScanMissing("a vault ARN"))?;
    let vault_name = arn::vault_name(&vault_arn).to_string();
    Ok((point, vault_arn, vault_name))
}

/// A scanned recovery point as an arrival: the scan event names the point, its vault and its
/// resource; DescribeRecoveryPoint (`facts`) says when the backup was taken and whether a plan
/// made it. A scan event carries no backup job id, so the backup is told apart by the point's
/// creation date, which every delivery of every scan of the point shares (the copy token stays
/// the same, so a clean scan delivered twice starts one copy).
pub fn scan_arrival(event: &ScanEvent, verdict: Verdict, facts: &PointFacts) -> Result<Arrival, NotAnArrival> {
    let (recovery_point_arn, vault_arn, vault_name) = scanned_point(event)?;
    let parsed = Arn::parse(&vault_arn).ok_or(NotAnArrival::ScanMissing("a vault ARN"))?;
    let detail = &event.detail;
    Ok(Arrival {
        event_id: event.event_id.clone(),
        job_id: facts
            .created
            .map(|t| format!("created {}", t.to_rfc3339()))
            .unwrap_or_default(),
        job_created: facts.created,
        account: parsed.account.to_string(),
        region: parsed.region.to_string(),
        vault_name,
        vault_arn,
        recovery_point_arn,
        resource_arn: detail
            .resource_arn
            .clone()
            .ok_or(NotAnArrival::ScanMissing("resourceArn"))?,
        resource_type: detail
            .resource_type
            .clone()
            .ok_or(NotAnArrival::ScanMissing("resourceType"))?,
        origin: Origin::Backup {
            on_demand: facts.on_demand,
        },
        trigger: Trigger::Scan {
            scan_job_id: detail.scan_job_id.clone().unwrap_or_default(),
            state: event.state().to_string(),
            verdict,
        },
    })
}

pub fn arrival(event: &JobEvent) -> Result<Arrival, NotAnArrival> {
    if *event.state() != JobState::Completed {
        return Err(NotAnArrival::NotCompleted {
            kind: event.kind().title(),
            state: event.state().to_string(),
        });
    }
    let resource_arn = event.resource_arn().ok_or(NotAnArrival::Missing("resourceArn"))?;
    let resource_type = event.resource_type().ok_or(NotAnArrival::Missing("resourceType"))?;
    let (recovery_point_arn, vault_arn, origin) = match &event.detail {
        JobDetail::Backup(detail) => {
            // The new recovery point is only in the envelope's `resources`.
            let point = event
                .resources
                .first()
                .ok_or(NotAnArrival::Missing("resources[0] (the recovery point)"))?;
            let vault = detail
                .backup_vault_arn
                .as_deref()
                .ok_or(NotAnArrival::Missing("backupVaultArn"))?;
            let origin = Origin::Backup {
                on_demand: event.is_on_demand(),
            };
            (point.clone(), vault.to_string(), origin)
        }
        JobDetail::Copy(detail) => {
            let point = detail
                .destination_recovery_point_arn
                .as_deref()
                .ok_or(NotAnArrival::Missing("destinationRecoveryPointArn"))?;
            let vault = detail
                .destination_backup_vault_arn
                .as_deref()
                .ok_or(NotAnArrival::Missing("destinationBackupVaultArn"))?;
            let origin = Origin::Copy {
                source_vault_arn: detail
                    .source_backup_vault_arn
                    .clone()
                    .ok_or(NotAnArrival::Missing("sourceBackupVaultArn"))?,
                source_recovery_point_arn: event
                    .resources
                    .first()
                    .cloned()
                    .ok_or(NotAnArrival::Missing("resources[0] (the source recovery point)"))?,
            };
            (point.to_string(), vault.to_string(), origin)
        }
        JobDetail::Restore(_) => return Err(NotAnArrival::Restore),
    };
    let parsed = Arn::parse(&vault_arn).ok_or(NotAnArrival::Missing("a vault ARN"))?;
    let job_id = event
        .job_id()
        .or_else(|| event.completion_date())
        .unwrap_or_default()
        .to_string();
    let job_created = event
        .creation_date()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.with_timezone(&chrono::Utc));
    Ok(Arrival {
        event_id: event.event_id.clone(),
        job_id,
        job_created,
        account: parsed.account.to_string(),
        region: parsed.region.to_string(),
        vault_name: arn::vault_name(&vault_arn).to_string(),
        recovery_point_arn,
        vault_arn,
        resource_arn: resource_arn.to_string(),
        resource_type: resource_type.to_string(),
        origin,
        trigger: Trigger::Completion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> JobEvent {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        JobEvent::decode_str(&std::fs::read_to_string(&path).expect(&path)).expect(name)
    }

    #[test]
    fn a_completed_backup_brings_its_recovery_point_from_resources() {
        let arrival = arrival(&sample("backup-completed-ebs.json")).unwrap();
        assert!(
            arrival
                .recovery_point_arn
                .starts_with("arn:aws:ec2:eu-west-1::snapshot/snap-")
        );
        assert_eq!(arrival.resource_type, "EBS");
        assert_eq!(arrival.account, "111122223333");
        assert_eq!(arrival.job_id, "C0FFEE11-2A3B-4C5D-8E9F-0A1B2C3D4E5F");
        assert_eq!(
            arrival.job_created.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-21T03:00:02.118+00:00")
        );
        assert_eq!(arrival.origin, Origin::Backup { on_demand: false });
    }

    #[test]
    fn an_on_demand_backup_has_no_plan() {
        let arrival = arrival(&sample("backup-completed-on-demand-rds.json")).unwrap();
        assert_eq!(arrival.origin, Origin::Backup { on_demand: true });
        assert!(arrival.recovery_point_arn.contains(":snapshot:awsbackup:job-"));
    }

    #[test]
    fn a_completed_copy_arrives_in_its_destination_vault() {
        let arrival = arrival(&sample("copy-completed-to-hop-vault.json")).unwrap();
        assert_eq!(arrival.vault_name, "rearguard-reencrypt");
        let Origin::Copy {
            source_vault_arn,
            source_recovery_point_arn,
        } = &arrival.origin
        else {
            panic!("a copy")
        };
        assert!(source_vault_arn.ends_with(":backup-vault:rearguard-production"));
        assert_ne!(source_recovery_point_arn, &arrival.recovery_point_arn);
    }

    #[test]
    fn every_sample_in_events_is_an_arrival_exactly_when_it_is_a_completed_backup_or_copy() {
        let dir = format!("{}/../../events", env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let Ok(event) = JobEvent::decode_str(&text) else {
                continue;
            };
            seen += 1;
            let completed =
                *event.state() == JobState::Completed && event.kind() != rearguard::backup_events::JobKind::Restore;
            match arrival(&event) {
                Ok(a) => {
                    assert!(completed, "{}", path.display());
                    assert!(
                        !a.recovery_point_arn.is_empty() && a.vault_arn.contains(":backup-vault:"),
                        "{}",
                        path.display()
                    );
                }
                Err(reason) => assert!(
                    !completed || matches!(reason, NotAnArrival::Missing(_)),
                    "{}: {reason}",
                    path.display()
                ),
            }
        }
        assert!(seen >= 15, "only {seen} job samples decoded");
    }

    #[test]
    fn the_backup_tag_is_read_where_the_resource_is_not_where_its_copy_arrived() {
        let mut copy = arrival(&sample("copy-completed-to-hop-vault.json")).unwrap();
        copy.region = "us-west-2".into();
        copy.account = "444455556666".into();
        copy.resource_arn = "arn:aws:rds:eu-west-1:111122223333:db:prod-orders".into();
        assert_eq!(copy.tag_region("111122223333"), Some("eu-west-1"));
        assert_eq!(copy.tag_region("999988887777"), None, "not a resource of this account");
        copy.resource_arn = "arn:aws:s3:::invoices".into();
        assert_eq!(copy.tag_region("444455556666"), Some("us-west-2"));
    }

    fn scan(name: &str) -> ScanEvent {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        ScanEvent::decode_str(&std::fs::read_to_string(&path).expect(&path)).expect(name)
    }

    #[test]
    fn a_scan_verdict_is_its_result_not_its_state() {
        assert_eq!(scan_verdict(&scan("scan-no-threats-found.json")), Ok(Verdict::Clean));
        assert_eq!(
            scan_verdict(&scan("scan-threats-found.json")),
            Ok(Verdict::ThreatsFound),
            "COMPLETED, yet infected"
        );
        assert_eq!(scan_verdict(&scan("scan-failed.json")), Ok(Verdict::Unproven));
        let mut running = scan("scan-no-threats-found.json");
        running.detail.state = Some("RUNNING".into());
        running.detail.scan_result = None;
        assert!(matches!(
            scan_verdict(&running),
            Err(NotAnArrival::ScanNotEnded { ref state, .. }) if state == "RUNNING"
        ));
    }

    #[test]
    fn a_scanned_point_arrives_with_its_creation_date_as_the_backup_and_its_plan_from_the_point() {
        let created = chrono::DateTime::parse_from_rfc3339("2026-11-20T03:00:02Z")
            .unwrap()
            .to_utc();
        let facts = PointFacts {
            created: Some(created),
            on_demand: true,
            ..PointFacts::default()
        };
        let event = scan("scan-no-threats-found.json");

        let arrival = scan_arrival(&event, Verdict::Clean, &facts).unwrap();

        assert_eq!(
            arrival.recovery_point_arn,
            "arn:aws:backup:eu-west-1:111122223333:recovery-point:9c8b7a6d-1234-4abc-9def-0123456789ab"
        );
        assert_eq!(
            (arrival.vault_name.as_str(), arrival.resource_type.as_str()),
            ("production", "DynamoDB")
        );
        assert_eq!(arrival.job_created, Some(created));
        assert_eq!(arrival.job_id, "created 2026-11-20T03:00:02+00:00");
        // The scan was started by a plan; the backup was not, and the point says so.
        assert_eq!(arrival.origin, Origin::Backup { on_demand: true });
        assert_eq!(
            arrival.trigger,
            Trigger::Scan {
                scan_job_id: "4f3e2d1c-aaaa-4bbb-8ccc-1234567890ab".into(),
                state: "COMPLETED".into(),
                verdict: Verdict::Clean
            }
        );
        // Another delivery, even of another scan of the same point, is the same backup.
        let mut again = event.clone();
        again.event_id = "another".into();
        again.detail.scan_job_id = Some("rescan".into());
        assert_eq!(
            scan_arrival(&again, Verdict::Clean, &facts).unwrap().job_id,
            arrival.job_id
        );
        let mut nameless = event;
        nameless.detail.backup_vault_arn = None;
        assert_eq!(
            scan_arrival(&nameless, Verdict::Clean, &facts),
            Err(NotAnArrival::ScanMissing("backupVaultArn"))
        );
    }

    #[test]
    fn other_states_and_restores_are_not_arrivals() {
        assert!(matches!(
            arrival(&sample("backup-failed-rds.json")),
            Err(NotAnArrival::NotCompleted { .. })
        ));
        assert!(matches!(
            arrival(&sample("copy-failed-ebs.json")),
            Err(NotAnArrival::NotCompleted { .. })
        ));
        assert_eq!(
            arrival(&sample("restore-completed-rds.json")),
            Err(NotAnArrival::Restore)
        );
    }
}

//! Keeping alerts calm: a resource that keeps failing is alerted once, re-alerted only after
//! the configured interval, and announced "recovered" once when a job for it succeeds again.
//! Pure: the handler loads the open incident, asks here, and carries out the step.

use chrono::{DateTime, Utc};
use rearguard::backup_events::{JobDetail, JobEvent};
use rearguard::store::Incident;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// First failure: alert and open the incident.
    Open(Incident),
    /// Still failing and the interval has passed: alert again and save the incident.
    Realert(Incident),
    /// Still failing within the interval: no alert; the incident counts the failure.
    Suppress(Incident),
    /// A job for the resource succeeded: announce the recovery and close the incident.
    Recover(Incident),
    /// Nothing to do.
    Nothing,
}

/// Which incident a job belongs to: backups by resource, copies by resource and destination
/// vault (a copy to one account can fail while another succeeds). Restore failures name no
/// resource, so they are not tracked.
pub fn incident_key(event: &JobEvent) -> Option<String> {
    let resource = event.resource_arn()?;
    match &event.detail {
        JobDetail::Backup(_) => Some(format!("BACKUP#{resource}")),
        JobDetail::Copy(copy) => Some(format!(
            "COPY#{resource}#{}",
            copy.destination_backup_vault_arn.as_deref()?
        )),
        JobDetail::Restore(_) => None,
    }
}

pub fn on_failure(
    existing: Option<Incident>,
    key: &str,
    event: &JobEvent,
    now: DateTime<Utc>,
    realert_after: Duration,
) -> Step {
    let job_id = event.job_id().unwrap_or_default().to_string();
    match existing {
        None => Step::Open(Incident {
            key: key.to_string(),
            resource_arn: event.resource_arn().unwrap_or_default().to_string(),
            job_type: event.kind().as_str().to_string(),
            state: event.state().as_str().to_string(),
            opened_at: now,
            last_alerted_at: now,
            failures: 1,
            last_job_id: job_id,
        }),
        Some(mut incident) => {
            // The same job reported twice (a redelivered event under another id) is not a new failure.
            if incident.last_job_id == job_id && !job_id.is_empty() {
                return Step::Nothing;
            }
            incident.failures += 1;
            incident.state = event.state().as_str().to_string();
            incident.last_job_id = job_id;
            let since_alert = (now - incident.last_alerted_at).to_std().unwrap_or_default();
            if since_alert >= realert_after {
                incident.last_alerted_at = now;
                Step::Realert(incident)
            } else {
                Step::Suppress(incident)
            }
        }
    }
}

pub fn on_success(existing: Option<Incident>) -> Step {
    existing.map_or(Step::Nothing, Step::Recover)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rearguard::backup_events::{BACKUP_JOB, COPY_JOB, RESTORE_JOB};
    use serde_json::json;

    const HOUR: Duration = Duration::from_secs(3600);

    fn failure(detail_type: &str, job_id: &str) -> JobEvent {
        JobEvent::decode(&json!({
            "id": "e", "detail-type": detail_type, "source": "aws.backup", "account": "111122223333", "region": "eu-west-1",
            "detail": {"backupJobId": job_id, "copyJobId": job_id, "state": "FAILED", "status": "FAILED",
                       "resourceArn": "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1",
                       "destinationBackupVaultArn": "arn:aws:backup:us-west-2:444455556666:backup-vault:isolated"}
        }))
        .unwrap()
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, hour, 0, 0).unwrap()
    }

    #[test]
    fn first_failure_opens_an_incident() {
        let event = failure(BACKUP_JOB, "job-1");
        let Step::Open(incident) = on_failure(None, "k", &event, at(1), 12 * HOUR) else {
            panic!("expected open")
        };
        assert_eq!(
            (incident.failures, incident.last_alerted_at, incident.job_type.as_str()),
            (1, at(1), "BACKUP")
        );
    }

    #[test]
    fn repeated_failure_is_suppressed_within_the_interval_and_realerted_after_it() {
        let Step::Open(open) = on_failure(None, "k", &failure(BACKUP_JOB, "job-1"), at(1), 12 * HOUR) else {
            panic!()
        };

        let Step::Suppress(suppressed) =
            on_failure(Some(open.clone()), "k", &failure(BACKUP_JOB, "job-2"), at(5), 12 * HOUR)
        else {
            panic!("expected suppress")
        };
        assert_eq!((suppressed.failures, suppressed.last_alerted_at), (2, at(1)));

        let Step::Realert(realerted) =
            on_failure(Some(suppressed), "k", &failure(BACKUP_JOB, "job-3"), at(13), 12 * HOUR)
        else {
            panic!("expected realert")
        };
        assert_eq!((realerted.failures, realerted.last_alerted_at), (3, at(13)));
    }

    #[test]
    fn the_same_job_reported_again_is_not_counted_twice() {
        let Step::Open(open) = on_failure(None, "k", &failure(BACKUP_JOB, "job-1"), at(1), HOUR) else {
            panic!()
        };
        assert_eq!(
            on_failure(Some(open), "k", &failure(BACKUP_JOB, "job-1"), at(9), HOUR),
            Step::Nothing
        );
    }

    #[test]
    fn success_recovers_only_an_open_incident() {
        let Step::Open(open) = on_failure(None, "k", &failure(BACKUP_JOB, "job-1"), at(1), HOUR) else {
            panic!()
        };
        assert_eq!(on_success(Some(open.clone())), Step::Recover(open));
        assert_eq!(on_success(None), Step::Nothing);
    }

    #[test]
    fn copies_are_tracked_per_destination_and_restores_not_at_all() {
        assert_eq!(
            incident_key(&failure(COPY_JOB, "c")).as_deref(),
            Some(
                "COPY#arn:aws:ec2:eu-west-1:111122223333:volume/vol-1#arn:aws:backup:us-west-2:444455556666:backup-vault:isolated"
            )
        );
        assert_eq!(
            incident_key(&failure(BACKUP_JOB, "b")).as_deref(),
            Some("BACKUP#arn:aws:ec2:eu-west-1:111122223333:volume/vol-1")
        );
        assert_eq!(incident_key(&failure(RESTORE_JOB, "r")), None);
    }
}

//! Keeping alerts calm and right when events arrive late, out of order or twice: a resource that
//! keeps failing is alerted once, re-alerted only after the configured interval, and announced
//! "recovered" once when a job for it succeeds again.
//!
//! AWS Backup emits its events "in a best-effort manner" (AWS Backup Developer Guide, "Monitoring
//! AWS Backup events using Amazon EventBridge") and a standard SQS queue does not keep order
//! (Amazon SQS Developer Guide, "Amazon SQS standard queues"), so every decision compares the
//! event's own time with what the resource's record has seen: the newest success, and the
//! failures newer than it. The record is then a function of the set of events, whatever order
//! they came in. Pure: the handler loads the record, asks here, and stores the result.

use chrono::{DateTime, Utc};
use rearguard::backup_events::{JobDetail, JobEvent};
use rearguard::store::{FailedJob, Incident};
use std::time::Duration;

/// At most this many failures are kept per open incident (30 days of hourly backups would be
/// 720; the count and the first failure stay right up to here).
const MAX_FAILURES_KEPT: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// First failure since the last success: alert; the incident opens.
    Open,
    /// Still failing and the interval since the last alert has passed: alert again.
    Realert,
    /// Still failing within the interval, or a failure older than the incident's newest one:
    /// counted, no alert.
    Suppress,
    /// A failure older than the resource's last success: reported as late, opens nothing.
    Late { recovered_at: DateTime<Utc> },
    /// A success that closes the open incident (carried as it was): announce the recovery.
    Recover(Incident),
    /// A success with nothing to close, or older than the open incident's newest failure.
    Quiet,
    /// The same job already counted (a redelivery under another event id): nothing.
    Repeat,
}

/// What one job says about its resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The job failed, with this state (FAILED, ABORTED, EXPIRED, PARTIAL).
    Failed(String),
    /// The job produced its recovery point or copy.
    Succeeded,
}

/// One job event as the incident logic sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub key: String,
    pub resource_arn: String,
    pub job_type: String,
    pub job_id: String,
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
}

/// The step for one observation and the record after it; `changed` says whether to store it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub step: Step,
    pub record: Incident,
    pub changed: bool,
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

/// When the job's state changed: the event's `time`, else its completion or creation date,
/// else `arrived` (the moment it was handled).
pub fn event_time(event: &JobEvent, arrived: DateTime<Utc>) -> DateTime<Utc> {
    let parse = |text: Option<&str>| text.and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    event
        .time
        .or_else(|| parse(event.completion_date()).map(|t| t.with_timezone(&Utc)))
        .or_else(|| parse(event.creation_date()).map(|t| t.with_timezone(&Utc)))
        .unwrap_or(arrived)
}

fn empty_record(observation: &Observation) -> Incident {
    Incident {
        key: observation.key.clone(),
        resource_arn: observation.resource_arn.clone(),
        job_type: observation.job_type.clone(),
        state: String::new(),
        failed: Vec::new(),
        last_success_at: None,
        last_alerted_at: None,
    }
}

/// Applies one observation to the resource's record (`None`: nothing recorded yet).
pub fn observe(existing: Option<Incident>, observation: &Observation, realert_after: Duration) -> Decision {
    let unchanged = |record: Incident, step: Step| Decision {
        step,
        record,
        changed: false,
    };
    let mut record = existing.unwrap_or_else(|| empty_record(observation));
    let at = observation.at;
    match &observation.outcome {
        Outcome::Failed(state) => {
            // The same job reported twice (a redelivered event under another id) is not a new failure.
            if !observation.job_id.is_empty() && record.failed.iter().any(|f| f.job_id == observation.job_id) {
                return unchanged(record, Step::Repeat);
            }
            if let Some(recovered_at) = record.last_success_at.filter(|success| at <= *success) {
                return unchanged(record, Step::Late { recovered_at });
            }
            let was_open = record.is_open();
            let newest = record.last_failure().map(|f| f.at);
            let position = record.failed.partition_point(|f| f.at <= at);
            record.failed.insert(
                position,
                FailedJob {
                    job_id: observation.job_id.clone(),
                    at,
                },
            );
            if record.failed.len() > MAX_FAILURES_KEPT {
                record.failed.remove(1);
            }
            if newest.is_none_or(|newest| at >= newest) {
                record.state = state.clone();
                record.resource_arn = observation.resource_arn.clone();
            }
            let step = if !was_open {
                record.last_alerted_at = Some(at);
                Step::Open
            } else if newest.is_some_and(|newest| at < newest) {
                Step::Suppress
            } else if record
                .last_alerted_at
                .is_none_or(|alerted| (at - alerted).to_std().unwrap_or_default() >= realert_after)
            {
                record.last_alerted_at = Some(at);
                Step::Realert
            } else {
                Step::Suppress
            };
            Decision {
                step,
                record,
                changed: true,
            }
        }
        Outcome::Succeeded => {
            if record.last_success_at.is_some_and(|success| at <= success) {
                return unchanged(record, Step::Quiet);
            }
            let before = record.clone();
            record.last_success_at = Some(at);
            // Failures older than this success are over; newer ones keep the incident open.
            record.failed.retain(|f| f.at > at);
            let step = if before.is_open() && !record.is_open() {
                Step::Recover(before)
            } else {
                Step::Quiet
            };
            Decision {
                step,
                record,
                changed: true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rearguard::backup_events::{BACKUP_JOB, COPY_JOB, RESTORE_JOB};
    use serde_json::json;

    const HOUR: Duration = Duration::from_secs(3600);

    fn day(n: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, n, 3, 0, 0).unwrap()
    }

    fn failure(job: &str, at: DateTime<Utc>) -> Observation {
        Observation {
            key: "BACKUP#arn:aws:rds:eu-west-1:111122223333:db:orders-db".into(),
            resource_arn: "arn:aws:rds:eu-west-1:111122223333:db:orders-db".into(),
            job_type: "BACKUP".into(),
            job_id: job.into(),
            at,
            outcome: Outcome::Failed("FAILED".into()),
        }
    }

    fn success(job: &str, at: DateTime<Utc>) -> Observation {
        Observation {
            outcome: Outcome::Succeeded,
            ..failure(job, at)
        }
    }

    fn run(observations: &[Observation]) -> (Option<Incident>, Vec<Step>) {
        let mut record = None;
        let mut steps = Vec::new();
        for observation in observations {
            let decision = observe(record.take(), observation, 12 * HOUR);
            steps.push(decision.step);
            record = Some(decision.record);
        }
        (record, steps)
    }

    /// The record without the alert bookkeeping, which depends on what was alerted when.
    fn state(record: Option<Incident>) -> Option<(Vec<FailedJob>, Option<DateTime<Utc>>, String)> {
        record.map(|r| (r.failed, r.last_success_at, r.state))
    }

    #[test]
    fn first_failure_opens_an_incident() {
        let decision = observe(None, &failure("job-1", day(1)), 12 * HOUR);
        assert_eq!(decision.step, Step::Open);
        assert_eq!(
            (
                decision.record.failures(),
                decision.record.opened_at(),
                decision.changed
            ),
            (1, Some(day(1)), true)
        );
    }

    #[test]
    fn repeated_failure_is_suppressed_within_the_interval_and_realerted_after_it() {
        let (record, steps) = run(&[
            failure("job-1", day(1)),
            failure("job-2", day(1) + chrono::Duration::hours(4)),
            failure("job-3", day(1) + chrono::Duration::hours(13)),
        ]);
        assert_eq!(steps, vec![Step::Open, Step::Suppress, Step::Realert]);
        let record = record.unwrap();
        assert_eq!(
            (record.failures(), record.last_alerted_at),
            (3, Some(day(1) + chrono::Duration::hours(13)))
        );
    }

    #[test]
    fn the_same_job_reported_again_is_not_counted_twice() {
        let (record, steps) = run(&[failure("job-1", day(1)), failure("job-1", day(2))]);
        assert_eq!(steps, vec![Step::Open, Step::Repeat]);
        assert_eq!(record.unwrap().failures(), 1);
    }

    #[test]
    fn success_recovers_only_an_open_incident() {
        let (_, steps) = run(&[
            failure("job-1", day(1)),
            success("job-2", day(2)),
            success("job-3", day(3)),
        ]);
        assert!(matches!(steps[1], Step::Recover(ref was) if was.opened_at() == Some(day(1))));
        assert_eq!(steps[2], Step::Quiet);
    }

    #[test]
    fn a_failure_after_a_recovery_alerts_even_when_the_success_arrived_first() {
        // Day 2's success arrives first, day 1's failure late, then day 3's failure.
        let (record, steps) = run(&[success("s2", day(2)), failure("f1", day(1)), failure("f3", day(3))]);
        assert_eq!(
            steps,
            vec![Step::Quiet, Step::Late { recovered_at: day(2) }, Step::Open]
        );
        assert_eq!(record.unwrap().opened_at(), Some(day(3)));
    }

    #[test]
    fn every_order_of_three_events_leaves_the_same_record() {
        let events = [failure("f1", day(1)), success("s2", day(2)), failure("f3", day(3))];
        let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        let finals: Vec<_> = orders
            .iter()
            .map(|order| state(run(&order.map(|i| events[i].clone())).0))
            .collect();
        for (order, state) in orders.iter().zip(&finals) {
            assert_eq!(state, &finals[0], "order {order:?}");
        }
        let (failed, last_success, _) = finals[0].clone().unwrap();
        assert_eq!(failed.iter().map(|f| f.job_id.as_str()).collect::<Vec<_>>(), vec!["f3"]);
        assert_eq!(last_success, Some(day(2)));
    }

    #[test]
    fn an_old_success_does_not_close_a_newer_failure_and_an_old_failure_does_not_realert() {
        let (record, steps) = run(&[
            failure("f3", day(3)),
            success("s2", day(2)),
            failure("f1", day(1)),
            failure("f4", day(4)),
        ]);
        assert_eq!(
            steps,
            vec![
                Step::Open,
                Step::Quiet,
                Step::Late { recovered_at: day(2) },
                Step::Realert
            ]
        );
        assert_eq!(record.unwrap().failures(), 2);
        // An older failure of an open incident is counted but cannot re-alert.
        let (_, steps) = run(&[failure("f3", day(3)), failure("f2", day(2))]);
        assert_eq!(steps, vec![Step::Open, Step::Suppress]);
    }

    #[test]
    fn an_older_success_than_the_last_one_changes_nothing() {
        let (_, steps) = run(&[success("s3", day(3)), success("s2", day(2))]);
        let decision = observe(
            Some(observe(None, &success("s3", day(3)), HOUR).record),
            &success("s2", day(2)),
            HOUR,
        );
        assert_eq!(steps, vec![Step::Quiet, Step::Quiet]);
        assert!(!decision.changed);
    }

    fn job_event(detail_type: &str, job_id: &str) -> JobEvent {
        JobEvent::decode(&json!({
            "id": "e", "detail-type": detail_type, "source": "aws.backup", "account": "111122223333", "region": "eu-west-1",
            "detail": {"backupJobId": job_id, "copyJobId": job_id, "state": "FAILED", "status": "FAILED",
                       "resourceArn": "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1",
                       "completionDate": "2026-11-20T06:02:11.000Z",
                       "destinationBackupVaultArn": "arn:aws:backup:us-west-2:444455556666:backup-vault:isolated"}
        }))
        .unwrap()
    }

    #[test]
    fn copies_are_tracked_per_destination_and_restores_not_at_all() {
        assert_eq!(
            incident_key(&job_event(COPY_JOB, "c")).as_deref(),
            Some(
                "COPY#arn:aws:ec2:eu-west-1:111122223333:volume/vol-1#arn:aws:backup:us-west-2:444455556666:backup-vault:isolated"
            )
        );
        assert_eq!(
            incident_key(&job_event(BACKUP_JOB, "b")).as_deref(),
            Some("BACKUP#arn:aws:ec2:eu-west-1:111122223333:volume/vol-1")
        );
        assert_eq!(incident_key(&job_event(RESTORE_JOB, "r")), None);
    }

    #[test]
    fn event_time_is_the_envelope_time_else_the_completion_date_else_the_arrival() {
        let without_time = job_event(BACKUP_JOB, "b");
        assert_eq!(
            event_time(&without_time, day(9)),
            Utc.with_ymd_and_hms(2026, 11, 20, 6, 2, 11).unwrap()
        );
        let mut with_time = without_time.clone();
        with_time.time = Some(day(1));
        assert_eq!(event_time(&with_time, day(9)), day(1));
        let bare = JobEvent::decode(&json!({
            "id": "e", "detail-type": BACKUP_JOB, "source": "aws.backup", "detail": {"state": "FAILED"}
        }))
        .unwrap();
        assert_eq!(event_time(&bare, day(9)), day(9));
    }
}

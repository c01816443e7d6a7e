//! Behaviour of the whole handler over the sample events in `events/`, with in-memory
//! stand-ins for the three capabilities (publish, ledger, incidents). No network.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rearguard::alert::{Alert, SUBJECT_MAX_CHARS};
use rearguard::metrics::Metrics;
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{Claim, DeliveryLedger, Incident, IncidentStore, IncidentWrite, StoreError, Versioned, Written};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::composite::KnownJobs;
use crate::config::Config;
use crate::handler::{Clock, Deps, Input, Record, handle, process};

macro_rules! sample {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/", $name, ".json"))
    };
}

#[derive(Default)]
struct Outbox {
    sent: Mutex<Vec<Alert>>,
    fail_subjects_containing: Option<&'static str>,
}

impl Outbox {
    fn failing_on(fragment: &'static str) -> Outbox {
        Outbox {
            fail_subjects_containing: Some(fragment),
            ..Outbox::default()
        }
    }
    fn sent(&self) -> Vec<Alert> {
        self.sent.lock().unwrap().clone()
    }
    fn subjects(&self) -> Vec<String> {
        self.sent().into_iter().map(|a| a.subject).collect()
    }
}

#[async_trait]
impl PublishAlert for Outbox {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        if self.fail_subjects_containing.is_some_and(|f| alert.subject.contains(f)) {
            return Err(PublishError {
                topic_arn: "t".into(),
                message: "Throttling: rate exceeded (after retries)".into(),
            });
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(alert.clone());
        Ok(format!("m-{}", sent.len()))
    }
}

#[derive(Default)]
struct MemoryStore {
    deliveries: Mutex<HashMap<String, &'static str>>,
    incidents: Mutex<HashMap<String, Versioned<Incident>>>,
    /// Every call fails, as when the table or its KMS key is unreachable.
    down: bool,
    /// Another invocation's record, written just before this one's first write (a race).
    racer: Mutex<Option<Incident>>,
    /// Records written together: (records, all written).
    transactions: Mutex<Vec<(usize, bool)>>,
}

impl MemoryStore {
    fn unreachable() -> MemoryStore {
        MemoryStore {
            down: true,
            ..MemoryStore::default()
        }
    }
    fn check(&self) -> Result<(), StoreError> {
        if self.down {
            return Err(StoreError {
                table: "state".into(),
                message: "KMS key is disabled".into(),
            });
        }
        Ok(())
    }
    fn open_incidents(&self) -> usize {
        self.incidents
            .lock()
            .unwrap()
            .values()
            .filter(|r| r.value.is_open())
            .count()
    }
    fn record(&self, key: &str) -> Option<Incident> {
        self.incidents.lock().unwrap().get(key).map(|r| r.value.clone())
    }
    /// Lets the racing invocation's record in, once, over whatever is stored.
    fn race(&self, incidents: &mut HashMap<String, Versioned<Incident>>) {
        if let Some(racer) = self.racer.lock().unwrap().take() {
            let version = incidents.get(&racer.key).map_or(0, |r| r.version) + 1;
            incidents.insert(racer.key.clone(), Versioned { value: racer, version });
        }
    }
}

#[async_trait]
impl DeliveryLedger for MemoryStore {
    async fn claim(&self, key: &str, _now: DateTime<Utc>, _lease: DateTime<Utc>) -> Result<Claim, StoreError> {
        self.check()?;
        let mut deliveries = self.deliveries.lock().unwrap();
        Ok(match deliveries.get(key) {
            Some(&"done") => Claim::AlreadyDone,
            Some(_) => Claim::InProgress,
            None => {
                deliveries.insert(key.into(), "claimed");
                Claim::Acquired
            }
        })
    }
    async fn complete(&self, key: &str, _expires: DateTime<Utc>) -> Result<(), StoreError> {
        self.check()?;
        self.deliveries.lock().unwrap().insert(key.into(), "done");
        Ok(())
    }
    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.deliveries.lock().unwrap().remove(key);
        Ok(())
    }
}

#[async_trait]
impl IncidentStore for MemoryStore {
    async fn load_incident(&self, key: &str, _now: DateTime<Utc>) -> Result<Option<Versioned<Incident>>, StoreError> {
        self.check()?;
        Ok(self.incidents.lock().unwrap().get(key).cloned())
    }
    async fn write_incident(
        &self,
        incident: &Incident,
        expected: Option<u64>,
        _now: DateTime<Utc>,
        _expires: DateTime<Utc>,
    ) -> Result<Written, StoreError> {
        self.check()?;
        let mut incidents = self.incidents.lock().unwrap();
        self.race(&mut incidents);
        if incidents.get(&incident.key).map(|r| r.version) != expected {
            return Ok(Written::Conflict);
        }
        let version = expected.unwrap_or(0) + 1;
        incidents.insert(
            incident.key.clone(),
            Versioned {
                value: incident.clone(),
                version,
            },
        );
        Ok(Written::Done { version })
    }
    async fn write_incidents(
        &self,
        writes: &[IncidentWrite],
        _now: DateTime<Utc>,
        _expires: DateTime<Utc>,
    ) -> Result<Vec<Written>, StoreError> {
        self.check()?;
        let mut incidents = self.incidents.lock().unwrap();
        self.race(&mut incidents);
        let all_hold = writes
            .iter()
            .all(|w| incidents.get(&w.incident.key).map(|r| r.version) == w.expected);
        self.transactions.lock().unwrap().push((writes.len(), all_hold));
        if !all_hold {
            return Ok(vec![Written::Conflict; writes.len()]);
        }
        Ok(writes
            .iter()
            .map(|w| {
                let version = w.expected.unwrap_or(0) + 1;
                incidents.insert(
                    w.incident.key.clone(),
                    Versioned {
                        value: w.incident.clone(),
                        version,
                    },
                );
                Written::Done { version }
            })
            .collect())
    }
    async fn delete_incident(&self, key: &str, expected: u64) -> Result<Written, StoreError> {
        self.check()?;
        let mut incidents = self.incidents.lock().unwrap();
        if incidents.get(key).map(|r| r.version) != Some(expected) {
            return Ok(Written::Conflict);
        }
        incidents.remove(key);
        Ok(Written::Done { version: 0 })
    }
}

fn config() -> Config {
    Config {
        notify_restores: true,
        digest_threshold: 5,
        realert_after: Duration::from_secs(12 * 3600),
        dedupe_retention: Duration::from_secs(7 * 86_400),
        concurrency: 4,
        home_account: "111122223333".into(),
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 3, 15, 0).unwrap()
}

/// An invocation at `at` with all the time in the world.
fn clock(at: DateTime<Utc>) -> Clock {
    Clock {
        now: at,
        lease_until: at,
        stop_claiming_at: DateTime::<Utc>::MAX_UTC,
    }
}

fn records(bodies: &[&str]) -> Vec<Record> {
    bodies
        .iter()
        .enumerate()
        .map(|(i, b)| Record {
            id: format!("msg-{i}"),
            body: b.to_string(),
        })
        .collect()
}

struct World {
    config: Config,
    outbox: Outbox,
    store: MemoryStore,
    stateful: bool,
}

impl World {
    fn new() -> World {
        World {
            config: config(),
            outbox: Outbox::default(),
            store: MemoryStore::default(),
            stateful: true,
        }
    }
    fn stateless() -> World {
        World {
            stateful: false,
            ..World::new()
        }
    }
    fn deps(&self) -> Deps<'_> {
        Deps {
            config: &self.config,
            publisher: &self.outbox,
            forwarder: None,
            ledger: self.stateful.then_some(&self.store as &dyn DeliveryLedger),
            incidents: self.stateful.then_some(&self.store as &dyn IncidentStore),
            jobs: None,
            restore_tests: None,
        }
    }
    async fn run_at(&self, bodies: &[&str], at: DateTime<Utc>) -> Vec<String> {
        let mut metrics = Metrics::new("Rearguard", "job-alerts");
        process(records(bodies), &self.deps(), clock(at), &mut metrics)
            .await
            .failed
    }
    async fn run(&self, bodies: &[&str]) -> Vec<String> {
        self.run_at(bodies, now()).await
    }
}

/// A copy of a sample with a new event id and job id, as a different job for the same resource,
/// `hours` after the sample's own time.
fn another_job(body: &str, n: usize, hours: i64) -> String {
    let mut event: Value = serde_json::from_str(body).unwrap();
    event["id"] = json!(format!("evt-{n}"));
    let time = DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).unwrap() + chrono::Duration::hours(hours);
    event["time"] = json!(time.with_timezone(&Utc).to_rfc3339());
    for key in ["backupJobId", "copyJobId"] {
        if event["detail"].get(key).is_some() {
            event["detail"][key] = json!(format!("job-{n}"));
        }
    }
    event.to_string()
}

/// `count` failures of distinct resources, as in a storm after a KMS key was disabled.
fn storm(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let mut event: Value = serde_json::from_str(sample!("backup-failed-rds")).unwrap();
            event["id"] = json!(format!("storm-{i}"));
            event["detail"]["backupJobId"] = json!(format!("job-{i}"));
            event["detail"]["resourceArn"] = json!(format!("arn:aws:rds:eu-west-1:111122223333:db:db-{i}"));
            event.to_string()
        })
        .collect()
}

#[tokio::test]
async fn failed_rds_backup_alerts_once_with_console_link_and_kms_hint() {
    let world = World::new();

    let failed = world.run(&[sample!("backup-failed-rds")]).await;

    assert!(failed.is_empty());
    let sent = world.outbox.sent();
    assert_eq!(sent.len(), 1);
    let alert = &sent[0];
    assert_eq!(
        alert.subject,
        "[CRITICAL] Backup FAILED: prod-orders (RDS) 111122223333 eu-west-1"
    );
    assert!(alert.text.contains("https://eu-west-1.console.aws.amazon.com/backup/home?region=eu-west-1#/jobs/backup/details/8ad1f6b4-2c3d-4e5f-a6b7-c8d9e0f1a2b3"));
    assert!(alert.text.contains("KMS key"));
    assert!(
        alert.text.contains("Unable to perform kms:DescribeKey"),
        "AWS's message verbatim"
    );
    for (name, value) in [
        ("severity", "CRITICAL"),
        ("state", "FAILED"),
        ("jobType", "BACKUP"),
        ("resourceType", "RDS"),
        ("accountId", "111122223333"),
        ("region", "eu-west-1"),
    ] {
        assert_eq!(
            alert.attributes.get(name).map(String::as_str),
            Some(value),
            "attribute {name}"
        );
    }
}

#[tokio::test]
async fn every_sample_renders_to_its_golden_message() {
    let samples = [
        ("backup-failed-rds", sample!("backup-failed-rds")),
        (
            "backup-completed-with-issues-ec2",
            sample!("backup-completed-with-issues-ec2"),
        ),
        ("backup-expired-efs", sample!("backup-expired-efs")),
        (
            "backup-aborted-dynamodb-on-demand",
            sample!("backup-aborted-dynamodb-on-demand"),
        ),
        (
            "backup-partial-cloudformation",
            sample!("backup-partial-cloudformation"),
        ),
        ("copy-failed-ebs", sample!("copy-failed-ebs")),
        ("restore-failed-rds", sample!("restore-failed-rds")),
        ("restore-completed-rds", sample!("restore-completed-rds")),
    ];
    for (name, body) in samples {
        let world = World::stateless();
        world.run(&[body]).await;
        let sent = world.outbox.sent();
        assert_eq!(sent.len(), 1, "{name} sends one message");
        let alert = &sent[0];
        assert!(
            alert.subject.len() <= SUBJECT_MAX_CHARS,
            "{name}: subject of {} chars",
            alert.subject.len()
        );
        insta::assert_snapshot!(
            format!("{name}.txt"),
            format!("Subject: {}\n\n{}", alert.subject, alert.text)
        );
        insta::assert_json_snapshot!(format!("{name}.json"), alert.document);
    }
}

#[tokio::test]
async fn in_progress_and_plain_completed_jobs_send_nothing() {
    let world = World::stateless();

    world
        .run(&[
            sample!("backup-created"),
            sample!("backup-running"),
            sample!("backup-completed-rds"),
            sample!("copy-created"),
            sample!("copy-running"),
            sample!("copy-completed-ebs"),
            sample!("restore-created"),
        ])
        .await;

    assert_eq!(world.outbox.subjects(), Vec::<String>::new());
}

#[tokio::test]
async fn restore_notice_can_be_switched_off() {
    let mut world = World::stateless();
    world.config.notify_restores = false;

    world.run(&[sample!("restore-completed-rds")]).await;

    assert!(world.outbox.sent().is_empty());
}

#[tokio::test]
async fn a_completed_restore_test_sends_no_restore_notice() {
    let world = World::stateless();

    world.run(&[sample!("restore-test-completed-dynamodb")]).await;

    assert!(world.outbox.sent().is_empty(), "{:?}", world.outbox.subjects());
}

#[tokio::test]
async fn restore_notice_names_the_new_resource_and_its_source() {
    let world = World::stateless();

    world.run(&[sample!("restore-completed-rds")]).await;

    let alert = &world.outbox.sent()[0];
    assert!(
        alert.subject.contains("prod-orders-restored-20261122"),
        "{}",
        alert.subject
    );
    assert!(
        alert
            .text
            .contains("arn:aws:rds:eu-west-1:111122223333:db:prod-orders-restored-20261122")
    );
    assert!(
        alert
            .text
            .contains("Restored from  arn:aws:rds:eu-west-1:111122223333:db:prod-orders\n")
    );
}

#[tokio::test]
async fn the_same_event_twice_in_one_batch_alerts_once() {
    let world = World::stateless();

    let failed = world
        .run(&[sample!("copy-failed-ebs"), sample!("copy-failed-ebs")])
        .await;

    assert!(failed.is_empty());
    assert_eq!(world.outbox.sent().len(), 1);
}

#[tokio::test]
async fn the_same_event_in_a_later_delivery_alerts_once_with_the_table() {
    let world = World::new();

    world.run(&[sample!("copy-failed-ebs")]).await;
    world.run(&[sample!("copy-failed-ebs")]).await;

    assert_eq!(world.outbox.sent().len(), 1);
}

#[tokio::test]
async fn malformed_and_unknown_events_are_ignored_without_retry() {
    let world = World::new();

    let failed = world
        .run(&[
            sample!("malformed-detail"),
            sample!("unknown-vault-state-change"),
            "{\"truncated\": ",
            "[]",
            "null",
        ])
        .await;

    assert!(failed.is_empty(), "no retry storm for events that can never succeed");
    assert!(world.outbox.sent().is_empty());
}

#[tokio::test]
async fn a_success_after_a_failure_sends_one_recovered_message_and_closes_the_incident() {
    let world = World::new();
    world.run(&[sample!("backup-failed-rds")]).await;

    world
        .run_at(&[sample!("backup-completed-rds")], now() + chrono::Duration::hours(24))
        .await;
    world
        .run_at(
            &[&another_job(sample!("backup-completed-rds"), 9, 24)],
            now() + chrono::Duration::hours(48),
        )
        .await;

    let subjects = world.outbox.subjects();
    assert_eq!(
        subjects,
        vec![
            "[CRITICAL] Backup FAILED: prod-orders (RDS) 111122223333 eu-west-1",
            "[INFO] Backup recovered: prod-orders (RDS) 111122223333 eu-west-1",
        ]
    );
    // From the failure's event time to the success's.
    assert!(world.outbox.sent()[1].text.contains("The failure lasted 24h 29m"));
    assert_eq!(world.store.open_incidents(), 0);
}

#[tokio::test]
async fn repeated_failures_realert_only_after_the_interval() {
    let world = World::new();
    let failure = sample!("copy-failed-ebs");

    world.run_at(&[failure], now()).await;
    world
        .run_at(&[&another_job(failure, 2, 1)], now() + chrono::Duration::hours(1))
        .await;
    world
        .run_at(&[&another_job(failure, 3, 13)], now() + chrono::Duration::hours(13))
        .await;

    let subjects = world.outbox.subjects();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects[1].contains("FAILED again (3x)"), "{}", subjects[1]);
}

#[tokio::test]
async fn without_a_table_every_failure_alerts_and_no_recovery_is_sent() {
    let world = World::stateless();
    let failure = sample!("copy-failed-ebs");

    world.run(&[failure]).await;
    world.run(&[&another_job(failure, 2, 1)]).await;
    world.run(&[sample!("copy-completed-ebs")]).await;

    assert_eq!(world.outbox.sent().len(), 2);
}

#[tokio::test]
async fn a_storm_of_failures_of_one_kind_becomes_one_digest_listing_every_job() {
    let world = World::new();
    let bodies = storm(57);
    let bodies: Vec<&str> = bodies
        .iter()
        .map(String::as_str)
        .chain([sample!("copy-failed-ebs")])
        .collect();

    let failed = world.run(&bodies).await;

    assert!(failed.is_empty());
    let subjects = world.outbox.subjects();
    assert_eq!(
        subjects,
        vec![
            "[CRITICAL] 57 Backup jobs failed in 111122223333 eu-west-1".to_string(),
            "[ERROR] Copy FAILED: vol-0aa11bb22cc33dd44 (EBS) 111122223333 eu-west-1".to_string(),
        ]
    );
    let digest = &world.outbox.sent()[0];
    for i in 0..57 {
        assert!(
            digest.text.contains(&format!("db-{i} (RDS) job job-{i}")),
            "job {i} listed"
        );
    }
    assert_eq!(
        world.store.open_incidents(),
        58,
        "each digested failure opens its incident"
    );
}

#[tokio::test]
async fn groups_at_the_threshold_are_sent_one_by_one() {
    let world = World::stateless();
    let bodies = storm(5);
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();

    world.run(&bodies).await;

    assert_eq!(world.outbox.sent().len(), 5);
}

#[tokio::test]
async fn a_message_that_cannot_be_published_fails_only_its_record_and_is_retried_later() {
    let world = World {
        outbox: Outbox::failing_on("Copy"),
        ..World::new()
    };

    let failed = world
        .run(&[sample!("backup-failed-rds"), sample!("copy-failed-ebs")])
        .await;

    assert_eq!(failed, vec!["msg-1".to_string()]);
    assert_eq!(world.outbox.sent().len(), 1);
    // The claim was released, so the redelivery is handled rather than dropped as a duplicate.
    let retried = World {
        outbox: Outbox::default(),
        store: world.store,
        ..World::new()
    };
    assert!(retried.run(&[sample!("copy-failed-ebs")]).await.is_empty());
    assert_eq!(
        retried.outbox.subjects(),
        vec!["[ERROR] Copy FAILED: vol-0aa11bb22cc33dd44 (EBS) 111122223333 eu-west-1"]
    );
}

#[tokio::test]
async fn sqs_batch_reports_only_failed_records_and_direct_invocation_returns_an_error() {
    let world = World {
        outbox: Outbox::failing_on("Copy"),
        ..World::stateless()
    };
    let mut metrics = Metrics::new("Rearguard", "job-alerts");
    let batch: &RawValue = serde_json::from_str(sample!("sqs-batch-duplicate-and-garbage")).unwrap();

    let response = handle(batch, &world.deps(), clock(now()), &mut metrics).await.unwrap();
    let direct = handle(
        serde_json::from_str(sample!("copy-failed-ebs")).unwrap(),
        &world.deps(),
        clock(now()),
        &mut metrics,
    )
    .await;

    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "0f7a9a1e-1111-4c9e-8d1a-000000000001"}]})
    );
    assert!(direct.is_err());
}

#[tokio::test]
async fn metrics_count_jobs_seen_by_type_and_state_and_alerts_by_severity() {
    let world = World::stateless();
    let mut metrics = Metrics::new("Rearguard", "job-alerts");

    process(
        records(&[sample!("backup-failed-rds"), sample!("backup-running")]),
        &world.deps(),
        clock(now()),
        &mut metrics,
    )
    .await;
    let lines: Vec<Value> = metrics
        .render(0)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let find = |metric: &str, dim: &str, value: &str| lines.iter().any(|l| l.get(metric).is_some() && l[dim] == value);
    assert!(find("JobsSeen", "state", "FAILED"));
    assert!(find("JobsSeen", "state", "RUNNING"));
    assert!(find("AlertsPublished", "severity", "CRITICAL"));
}

/// A sample failure or success of `orders-db` on a day of November 2026, as its own job.
fn orders_db(sample: &str, job: &str, day: u32) -> String {
    let mut event: Value = serde_json::from_str(sample).unwrap();
    event["id"] = json!(format!("evt-{job}"));
    event["time"] = json!(format!("2026-11-{day:02}T03:30:00Z"));
    event["detail"]["backupJobId"] = json!(job);
    event["detail"]["resourceArn"] = json!("arn:aws:rds:eu-west-1:111122223333:db:orders-db");
    event.to_string()
}

const ORDERS_DB: &str = "BACKUP#arn:aws:rds:eu-west-1:111122223333:db:orders-db";

#[tokio::test]
async fn a_failure_after_a_recovery_alerts_even_when_the_recovery_arrived_first() {
    let world = World::new();
    let day1_failed = orders_db(sample!("backup-failed-rds"), "f1", 1);
    let day2_completed = orders_db(sample!("backup-completed-rds"), "s2", 2);
    let day3_failed = orders_db(sample!("backup-failed-rds"), "f3", 3);

    world.run(&[&day2_completed]).await;
    world.run(&[&day1_failed]).await;
    world.run(&[&day3_failed]).await;

    let subjects = world.outbox.subjects();
    assert_eq!(
        subjects,
        vec![
            "[INFO] Late: Backup FAILED earlier: orders-db (RDS) 111122223333 eu-west-1",
            "[CRITICAL] Backup FAILED: orders-db (RDS) 111122223333 eu-west-1",
        ]
    );
    let late = &world.outbox.sent()[0];
    assert_eq!(late.attributes.get("late").map(String::as_str), Some("true"));
    assert!(
        late.text.contains("the resource has since backed up successfully"),
        "{}",
        late.text
    );
    let record = world.store.record(ORDERS_DB).unwrap();
    assert_eq!(
        record.failed.iter().map(|f| f.job_id.as_str()).collect::<Vec<_>>(),
        vec!["f3"]
    );
}

#[tokio::test]
async fn the_same_three_events_in_every_order_leave_the_same_record() {
    let events = [
        orders_db(sample!("backup-failed-rds"), "f1", 1),
        orders_db(sample!("backup-completed-rds"), "s2", 2),
        orders_db(sample!("backup-failed-rds"), "f3", 3),
    ];
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    let mut finals = Vec::new();
    for order in orders {
        let world = World::new();
        for i in order {
            world.run(&[&events[i]]).await;
        }
        let record = world.store.record(ORDERS_DB).unwrap();
        finals.push((record.failed, record.last_success_at, record.state));
    }
    for (order, state) in orders.iter().zip(&finals) {
        assert_eq!(state, &finals[0], "order {order:?}");
    }
    assert_eq!(finals[0].0.len(), 1, "open on day 3's failure only");
}

#[tokio::test]
async fn two_failures_of_one_resource_in_one_batch_alert_once() {
    let world = World::new();
    let first = orders_db(sample!("backup-failed-rds"), "f1", 1);
    let second = orders_db(sample!("backup-failed-rds"), "f2", 1);

    let failed = world.run(&[&second, &first]).await;

    assert!(failed.is_empty());
    assert_eq!(
        world.outbox.subjects(),
        vec!["[CRITICAL] Backup FAILED: orders-db (RDS) 111122223333 eu-west-1"]
    );
    assert_eq!(world.store.record(ORDERS_DB).unwrap().failures(), 2);
}

#[tokio::test]
async fn a_record_written_by_a_racing_invocation_is_read_again_and_its_alert_not_repeated() {
    let world = World::new();
    let theirs = orders_db(sample!("backup-failed-rds"), "f1", 1);
    let ours = orders_db(sample!("backup-failed-rds"), "f2", 1);
    let racer = World::new();
    racer.run(&[&theirs]).await;
    *world.store.racer.lock().unwrap() = racer.store.record(ORDERS_DB);

    let failed = world.run(&[&ours]).await;

    assert!(failed.is_empty());
    assert!(world.outbox.sent().is_empty(), "{:?}", world.outbox.subjects());
    let record = world.store.record(ORDERS_DB).unwrap();
    assert_eq!(
        record.failed.iter().map(|f| f.job_id.as_str()).collect::<Vec<_>>(),
        vec!["f1", "f2"]
    );
}

/// A failure of another resource than orders-db, as its own job.
fn payments_db(job: &str) -> String {
    let mut event: Value = serde_json::from_str(&orders_db(sample!("backup-failed-rds"), job, 1)).unwrap();
    event["detail"]["resourceArn"] = json!("arn:aws:rds:eu-west-1:111122223333:db:payments-db");
    event.to_string()
}

#[tokio::test]
async fn a_batchs_changed_records_are_written_together_in_one_transaction() {
    let world = World::new();

    let failed = world
        .run(&[&orders_db(sample!("backup-failed-rds"), "f1", 1), &payments_db("p1")])
        .await;

    assert!(failed.is_empty());
    assert_eq!(*world.store.transactions.lock().unwrap(), vec![(2, true)]);
    assert_eq!(world.outbox.sent().len(), 2);
    assert!(world.store.record(ORDERS_DB).unwrap().is_open());
}

#[tokio::test]
async fn a_race_lost_in_the_transaction_decides_each_resource_again_on_its_own() {
    let world = World::new();
    let theirs = orders_db(sample!("backup-failed-rds"), "f1", 1);
    let racer = World::new();
    racer.run(&[&theirs]).await;
    *world.store.racer.lock().unwrap() = racer.store.record(ORDERS_DB);

    let failed = world
        .run(&[&orders_db(sample!("backup-failed-rds"), "f2", 1), &payments_db("p1")])
        .await;

    assert!(failed.is_empty());
    assert_eq!(
        *world.store.transactions.lock().unwrap(),
        vec![(2, false)],
        "cancelled, nothing written"
    );
    // orders-db was alerted by the racer; payments-db, written on its own afterwards, alerts.
    assert_eq!(
        world.outbox.subjects(),
        vec!["[CRITICAL] Backup FAILED: payments-db (RDS) 111122223333 eu-west-1"]
    );
    let orders = world.store.record(ORDERS_DB).unwrap();
    assert_eq!(
        orders.failed.iter().map(|f| f.job_id.as_str()).collect::<Vec<_>>(),
        vec!["f1", "f2"]
    );
}

#[tokio::test]
async fn an_alert_that_cannot_be_published_puts_the_incident_record_back() {
    let world = World {
        outbox: Outbox::failing_on("FAILED"),
        ..World::new()
    };
    let failure = orders_db(sample!("backup-failed-rds"), "f1", 1);

    let failed = world.run(&[&failure]).await;

    assert_eq!(failed, vec!["msg-0".to_string()]);
    assert_eq!(
        world.store.record(ORDERS_DB),
        None,
        "no incident opened for an unsent alert"
    );
    // The redelivery opens it and alerts.
    let retried = World {
        store: world.store,
        ..World::new()
    };
    assert!(retried.run(&[&failure]).await.is_empty());
    assert_eq!(retried.outbox.sent().len(), 1);
}

#[tokio::test]
async fn with_the_state_table_down_alerts_still_go_out_marked_and_counted() {
    let world = World {
        store: MemoryStore::unreachable(),
        ..World::new()
    };
    let mut metrics = Metrics::new("Rearguard", "job-alerts");

    let outcome = process(
        records(&[sample!("backup-failed-rds"), sample!("backup-completed-ebs")]),
        &world.deps(),
        clock(now()),
        &mut metrics,
    )
    .await;

    let sent = world.outbox.sent();
    assert_eq!(
        world.outbox.subjects(),
        vec!["[CRITICAL] Backup FAILED: prod-orders (RDS) 111122223333 eu-west-1"]
    );
    assert_eq!(
        sent[0].attributes.get("dedupe").map(String::as_str),
        Some("unavailable")
    );
    // The alert is out; the success, which only the table can record, comes back later.
    assert_eq!(outcome.failed, vec!["msg-1".to_string()]);
    let lines = metrics.render(0).join("\n");
    assert!(lines.contains("\"StoreUnavailable\""), "{lines}");
}

#[tokio::test]
async fn a_payload_with_records_that_is_not_an_sqs_batch_fails_the_invocation() {
    let world = World::new();
    let mut metrics = Metrics::new("Rearguard", "job-alerts");

    for payload in [r#"{"Records": "not a list"}"#, r#"{"Records": null}"#] {
        let payload: &RawValue = serde_json::from_str(payload).unwrap();
        let result = handle(payload, &world.deps(), clock(now()), &mut metrics).await;

        let error = result.expect_err("the whole batch must be retried");
        assert!(error.to_string().contains("not an SQS batch"), "{payload}: {error}");
    }
    assert!(world.outbox.sent().is_empty());
}

#[tokio::test]
async fn a_payload_that_is_not_an_object_is_one_unknown_event_ignored() {
    let world = World::new();
    let mut metrics = Metrics::new("Rearguard", "job-alerts");

    for payload in [r#"[true, "id"]"#, r#""Records""#, "42"] {
        let payload: &RawValue = serde_json::from_str(payload).unwrap();
        let result = handle(payload, &world.deps(), clock(now()), &mut metrics).await;

        assert_eq!(result.unwrap(), json!({"status": "ok"}), "{payload}");
    }
    assert!(world.outbox.sent().is_empty());
}

#[test]
fn a_direct_event_keeps_its_text_and_id() {
    let text = r#"{"id": "6a1f", "detail-type": "Backup Job State Change"}"#;
    let Input::Direct(record) = Input::from_payload(serde_json::from_str(text).unwrap()).unwrap() else {
        panic!("one event is not a batch");
    };
    assert_eq!((record.id.as_str(), record.body.as_str()), ("6a1f", text));
    let Input::Direct(record) = Input::from_payload(serde_json::from_str(r#"{"id": 7}"#).unwrap()).unwrap() else {
        panic!("one event is not a batch");
    };
    assert_eq!(record.id, "direct");
}

#[tokio::test]
async fn records_not_started_before_the_deadline_margin_go_back_to_the_queue_unclaimed() {
    let world = World::new();
    let mut metrics = Metrics::new("Rearguard", "job-alerts");
    let late = Clock {
        stop_claiming_at: Utc::now() - chrono::Duration::seconds(1),
        ..clock(now())
    };

    let outcome = process(
        records(&[sample!("backup-failed-rds"), sample!("copy-failed-ebs")]),
        &world.deps(),
        late,
        &mut metrics,
    )
    .await;

    assert_eq!(outcome.failed, vec!["msg-0".to_string(), "msg-1".to_string()]);
    assert!(world.outbox.sent().is_empty());
    assert!(world.store.deliveries.lock().unwrap().is_empty(), "nothing claimed");
}

/// The backup job of `events/backup-failed-rds.json`.
const RDS_JOB_ID: &str = "8ad1f6b4-2c3d-4e5f-a6b7-c8d9e0f1a2b3";

#[tokio::test]
async fn a_composite_jobs_child_is_left_to_its_parent_and_a_failed_lookup_still_alerts() {
    let child = crate::composite::JobFacts {
        is_parent: false,
        parent_job_id: Some("parent-1".into()),
    };
    let a_child = KnownJobs(HashMap::from([(RDS_JOB_ID.to_string(), child)]), Vec::new());
    let unreachable = KnownJobs(HashMap::new(), Vec::new());
    for (jobs, alerts) in [(a_child, 0), (unreachable, 1)] {
        let world = World::new();
        let mut deps = world.deps();
        deps.jobs = Some(&jobs);
        let mut metrics = Metrics::new("Rearguard", "job-alerts");

        let failed = process(
            records(&[sample!("backup-failed-rds")]),
            &deps,
            clock(now()),
            &mut metrics,
        )
        .await
        .failed;

        assert!(failed.is_empty());
        assert_eq!(world.outbox.sent().len(), alerts);
    }
}

#[tokio::test]
async fn a_tracked_failure_is_deduplicated_by_its_record_and_a_late_one_by_the_ledger() {
    let world = World::new();
    let day1_failed = orders_db(sample!("backup-failed-rds"), "f1", 1);
    let day2_completed = orders_db(sample!("backup-completed-rds"), "s2", 2);
    let day3_failed = orders_db(sample!("backup-failed-rds"), "f3", 3);

    world.run(&[&day3_failed]).await;
    world.run(&[&day3_failed]).await;
    world.run(&[&day2_completed]).await;
    world.run(&[&day1_failed]).await;
    world.run(&[&day1_failed]).await;

    assert_eq!(
        world.outbox.subjects(),
        vec![
            "[CRITICAL] Backup FAILED: orders-db (RDS) 111122223333 eu-west-1",
            "[INFO] Late: Backup FAILED earlier: orders-db (RDS) 111122223333 eu-west-1",
        ]
    );
    // The open incident's record (which keeps job f3) made the redelivery a repeat: the ledger
    // holds only the late failure, whose message changed no record.
    let ledger = world.store.deliveries.lock().unwrap();
    assert_eq!(ledger.keys().collect::<Vec<_>>(), vec!["evt-f1"]);
}

#[tokio::test]
async fn a_malformed_scan_event_is_ignored_without_retry_and_a_clean_one_is_quiet() {
    let world = World::new();
    let no_state = json!({"id": "s-bad", "detail-type": "Scan Job State Change", "source": "aws.backup",
        "detail": {"scanJobId": "s-1"}})
    .to_string();

    let failed = world
        .run(&[
            &no_state,
            sample!("scan-no-threats-found"),
            "{\"detail-type\": \"Scan Job State Change\"",
        ])
        .await;

    assert!(failed.is_empty(), "{failed:?}");
    assert!(world.outbox.sent().is_empty());
}

/// The DynamoDB adapter under the handler: a transaction cancelled by a racing invocation is
/// followed, per resource, by a fresh read and a conditional `PutItem` on the version found.
#[tokio::test]
async fn a_cancelled_dynamodb_transaction_falls_back_to_a_conditional_put_per_resource() {
    use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use rearguard::dynamo_store::DynamoStore;

    const ORDERS_PK: &str = "incident#BACKUP#arn:aws:rds:eu-west-1:111122223333:db:orders-db";
    const PAYMENTS_PK: &str = "incident#BACKUP#arn:aws:rds:eu-west-1:111122223333:db:payments-db";
    let day1 = || AttributeValue::N("1793503800000".into()); // 2026-11-01T03:30:00Z
    let pk_of = |item: &HashMap<String, AttributeValue>| item["pk"].as_s().unwrap().clone();
    // GIVEN both records read as absent, then a racing invocation opens orders-db's incident
    // (version 1, job f1, alerted) before this batch's transaction.
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item).then_output(|| BatchGetItemOutput::builder().build());
    let transaction = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .match_requests(|req| req.transact_items().len() == 2)
        .then_error(|| {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(CancellationReason::builder().code("ConditionalCheckFailed").build())
                    .cancellation_reasons(CancellationReason::builder().code("None").build())
                    .build(),
            )
        });
    let theirs = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(move |req| req.key().unwrap()["pk"].as_s().unwrap() == ORDERS_PK)
        .then_output(move || {
            GetItemOutput::builder()
                .item("pk", AttributeValue::S(ORDERS_PK.into()))
                .item("version", AttributeValue::N("1".into()))
                .item("expires_at", AttributeValue::N("4102444800".into()))
                .item("state", AttributeValue::S("FAILED".into()))
                .item("job_type", AttributeValue::S("BACKUP".into()))
                .item(
                    "resource_arn",
                    AttributeValue::S("arn:aws:rds:eu-west-1:111122223333:db:orders-db".into()),
                )
                .item(
                    "failed",
                    AttributeValue::L(vec![AttributeValue::M(HashMap::from([
                        ("job".to_string(), AttributeValue::S("f1".into())),
                        ("at".to_string(), day1()),
                    ]))]),
                )
                .item("last_alerted_at", day1())
                .build()
        });
    let absent = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
    let put_orders = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(move |req| {
            pk_of(req.item().unwrap()) == ORDERS_PK
                && req.condition_expression() == Some("version = :expected")
                && req.expression_attribute_values().unwrap()[":expected"].as_n().unwrap() == "1"
                && req.item().unwrap()["failed"].as_l().unwrap().len() == 2
        })
        .then_output(|| PutItemOutput::builder().build());
    let put_payments = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(move |req| {
            pk_of(req.item().unwrap()) == PAYMENTS_PK
                && req.condition_expression() == Some("attribute_not_exists(pk) OR expires_at < :now")
        })
        .then_output(|| PutItemOutput::builder().build());
    let store = DynamoStore::new(
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&read, &transaction, &theirs, &absent, &put_orders, &put_payments]
        ),
        "state",
        "job-alerts",
    );
    let config = config();
    let outbox = Outbox::default();
    let deps = Deps {
        config: &config,
        publisher: &outbox,
        forwarder: None,
        ledger: Some(&store),
        incidents: Some(&store),
        jobs: None,
        restore_tests: None,
    };
    let mut metrics = Metrics::new("Rearguard", "job-alerts");

    // WHEN this batch holds another failure of orders-db and one of payments-db
    let outcome = process(
        records(&[&orders_db(sample!("backup-failed-rds"), "f2", 1), &payments_db("p1")]),
        &deps,
        clock(now()),
        &mut metrics,
    )
    .await;

    // THEN one transaction, cancelled; each resource read and written on its own; only
    // payments-db alerts (orders-db was alerted by the racer)
    assert!(outcome.failed.is_empty());
    assert_eq!(transaction.num_calls(), 1);
    assert_eq!((theirs.num_calls(), absent.num_calls()), (1, 1));
    assert_eq!((put_orders.num_calls(), put_payments.num_calls()), (1, 1));
    assert_eq!(
        outbox.subjects(),
        vec!["[CRITICAL] Backup FAILED: payments-db (RDS) 111122223333 eu-west-1"]
    );
}

/// DescribeRestoreJob as a test wants it: a restore test, an ordinary restore, or unreachable.
enum FakeRestoreJobs {
    Test,
    Ordinary,
    Unreachable,
}

#[async_trait::async_trait]
impl crate::restore_tests::RestoreTestLookup for FakeRestoreJobs {
    async fn testing_plan_of(&self, _region: &str, _restore_job_id: &str) -> Result<Option<String>, String> {
        match self {
            FakeRestoreJobs::Test => Ok(Some(
                "arn:aws:backup:eu-west-1:111122223333:restore-testing-plan:weekly-1".into(),
            )),
            FakeRestoreJobs::Ordinary => Ok(None),
            FakeRestoreJobs::Unreachable => Err("dispatch failure: connection refused".into()),
        }
    }
}

#[tokio::test]
async fn a_failed_restore_test_is_left_to_restore_drill_and_a_failed_lookup_still_alerts() {
    for (restore_jobs, alerts) in [
        (FakeRestoreJobs::Test, 0),
        (FakeRestoreJobs::Ordinary, 1),
        (FakeRestoreJobs::Unreachable, 1),
    ] {
        // GIVEN a FAILED restore of this account, which DescribeRestoreJob says is (or is not) a
        // restore test, or cannot say
        let world = World::new();
        let mut deps = world.deps();
        deps.restore_tests = Some(&restore_jobs);
        let mut metrics = Metrics::new("Rearguard", "job-alerts");

        // WHEN its event arrives
        let failed = process(
            records(&[sample!("restore-failed-rds")]),
            &deps,
            clock(now()),
            &mut metrics,
        )
        .await
        .failed;

        // THEN only a restore that is not known to be a restore test is alerted
        assert!(failed.is_empty());
        let subjects = world.outbox.subjects();
        assert_eq!(subjects.len(), alerts, "{subjects:?}");
        assert!(subjects.iter().all(|s| s.contains("Restore FAILED")), "{subjects:?}");
    }
}

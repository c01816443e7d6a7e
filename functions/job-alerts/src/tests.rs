//! Behaviour of the whole handler over the sample events in `events/`, with in-memory
//! stand-ins for the three capabilities (publish, ledger, incidents). No network.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rearguard::alert::{Alert, SUBJECT_MAX_CHARS};
use rearguard::metrics::Metrics;
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{Claim, DeliveryLedger, Incident, IncidentStore, StoreError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::Config;
use crate::handler::{Deps, Record, handle, process};

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
    incidents: Mutex<HashMap<String, Incident>>,
}

#[async_trait]
impl DeliveryLedger for MemoryStore {
    async fn claim(&self, key: &str, _now: DateTime<Utc>, _lease: DateTime<Utc>) -> Result<Claim, StoreError> {
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
        self.deliveries.lock().unwrap().insert(key.into(), "done");
        Ok(())
    }
    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.deliveries.lock().unwrap().remove(key);
        Ok(())
    }
}

#[async_trait]
impl IncidentStore for MemoryStore {
    async fn open_incident(&self, key: &str, _now: DateTime<Utc>) -> Result<Option<Incident>, StoreError> {
        Ok(self.incidents.lock().unwrap().get(key).cloned())
    }
    async fn save_incident(&self, incident: &Incident, _expires: DateTime<Utc>) -> Result<(), StoreError> {
        self.incidents
            .lock()
            .unwrap()
            .insert(incident.key.clone(), incident.clone());
        Ok(())
    }
    async fn close_incident(&self, key: &str) -> Result<(), StoreError> {
        self.incidents.lock().unwrap().remove(key);
        Ok(())
    }
}

fn config() -> Config {
    Config {
        topic_arn: "arn:aws:sns:eu-west-1:111122223333:rearguard-alerts".into(),
        state_table: Some("state".into()),
        event_bus: None,
        dry_run: false,
        notify_restores: true,
        digest_threshold: 5,
        realert_after: Duration::from_secs(12 * 3600),
        dedupe_retention: Duration::from_secs(7 * 86_400),
        metrics_namespace: "Rearguard".into(),
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 3, 15, 0).unwrap()
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
        }
    }
    async fn run_at(&self, bodies: &[&str], at: DateTime<Utc>) -> Vec<String> {
        let mut metrics = Metrics::new("Rearguard", "job-alerts");
        process(records(bodies), &self.deps(), at, at, &mut metrics)
            .await
            .failed
    }
    async fn run(&self, bodies: &[&str]) -> Vec<String> {
        self.run_at(bodies, now()).await
    }
}

/// A copy of a sample with a new event id and job id, as a different job for the same resource.
fn another_job(body: &str, n: usize) -> String {
    let mut event: Value = serde_json::from_str(body).unwrap();
    event["id"] = json!(format!("evt-{n}"));
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
            &[&another_job(sample!("backup-completed-rds"), 9)],
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
    assert!(world.outbox.sent()[1].text.contains("The failure lasted 24h 00m"));
    assert!(world.store.incidents.lock().unwrap().is_empty());
}

#[tokio::test]
async fn repeated_failures_realert_only_after_the_interval() {
    let world = World::new();
    let failure = sample!("copy-failed-ebs");

    world.run_at(&[failure], now()).await;
    world
        .run_at(&[&another_job(failure, 2)], now() + chrono::Duration::hours(1))
        .await;
    world
        .run_at(&[&another_job(failure, 3)], now() + chrono::Duration::hours(13))
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
    world.run(&[&another_job(failure, 2)]).await;
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
        world.store.incidents.lock().unwrap().len(),
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
    let batch: Value = serde_json::from_str(sample!("sqs-batch-duplicate-and-garbage")).unwrap();

    let response = handle(batch, &world.deps(), now(), now(), &mut metrics).await.unwrap();
    let direct = handle(
        serde_json::from_str(sample!("copy-failed-ebs")).unwrap(),
        &world.deps(),
        now(),
        now(),
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
        now(),
        now(),
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

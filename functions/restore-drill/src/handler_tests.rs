//! The handler over in-memory stand-ins for AWS: what is put, published and counted.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rearguard::alert::Alert;
use rearguard::drill_record::{DrillLog, DrillRecord, DrillResult, Recorded};
use rearguard::metrics::Metrics;
use rearguard::policy::Document;
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{Claim, DeliveryLedger, StoreError};
use rearguard::tagging::{ResourceTagging, TaggingError, Tags};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::checks::{Check, Observation};
use crate::decide::{Validation, ValidationStatus};
use crate::drill::RestoreJobFacts;
use crate::handler::{Deps, Settle, handle};
use crate::probe::{AwsError, ResourceReads, RestoreJobs};

const SOURCE: &str = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders";
const RESTORED: &str = "arn:aws:dynamodb:eu-west-1:111122223333:table/awsbackup-restore-test-1";
const TEST_PLAN: &str = "arn:aws:backup:eu-west-1:111122223333:restore-testing-plan:weekly-1";

#[derive(Default)]
struct World {
    jobs: HashMap<String, RestoreJobFacts>,
    observation: Option<Observation>,
    refuse_validation: bool,
    put: Mutex<Vec<(String, Validation)>>,
    sent: Mutex<Vec<Alert>>,
    observed: Mutex<Vec<Check>>,
    ledger: Mutex<HashMap<String, &'static str>>,
    records: Mutex<HashMap<String, DrillRecord>>,
    /// The user check's answer, and the requests it got.
    user_answer: Option<crate::user_check::Answer>,
    user_requests: Mutex<Vec<(String, Value)>>,
    /// The drill record's table refuses this many writes first.
    record_failures: Mutex<usize>,
    /// Looks at the restored resource before `observation`, in order (a resource coming up).
    first_observations: Mutex<Vec<Observation>>,
    /// The invocation has time to wait for a resource that is coming up.
    time_to_settle: bool,
}

#[async_trait]
impl crate::user_check::InvokeCheck for World {
    async fn invoke(&self, function_arn: &str, payload: Vec<u8>) -> crate::user_check::Answer {
        self.user_requests
            .lock()
            .unwrap()
            .push((function_arn.into(), serde_json::from_slice(&payload).unwrap()));
        self.user_answer.clone().expect("no user check expected")
    }
}

#[async_trait]
impl DrillLog for World {
    async fn record(&self, record: &DrillRecord) -> Result<Recorded, StoreError> {
        let mut failures = self.record_failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(StoreError {
                table: "drills".into(),
                message: "throttled".into(),
            });
        }
        let mut records = self.records.lock().unwrap();
        if records.contains_key(&record.restore_job_id) {
            return Ok(Recorded::AlreadyRecorded);
        }
        records.insert(record.restore_job_id.clone(), record.clone());
        Ok(Recorded::Written)
    }
}

#[async_trait]
impl RestoreJobs for World {
    async fn describe(&self, restore_job_id: &str) -> Result<RestoreJobFacts, AwsError> {
        let mut facts = self
            .jobs
            .get(restore_job_id)
            .cloned()
            .ok_or_else(|| AwsError::NoSuchJob(restore_job_id.into()))?;
        // What AWS Backup shows once a result was put.
        if let Some((_, v)) = self.put.lock().unwrap().iter().find(|(id, _)| id == restore_job_id) {
            facts.validation_status = Some(v.status.as_str().into());
            facts.validation_message = Some(v.message.clone());
        }
        Ok(facts)
    }
    async fn point_created(&self, _vault: &str, _point: &str) -> Result<Option<DateTime<Utc>>, AwsError> {
        Ok(Some("2026-11-21T03:00:00Z".parse().unwrap()))
    }
    async fn put_validation(&self, restore_job_id: &str, validation: &Validation) -> Result<(), AwsError> {
        if self.refuse_validation {
            return Err(AwsError::Refused {
                operation: "PutRestoreValidationResult",
                message: "The validation window has closed".into(),
            });
        }
        self.put
            .lock()
            .unwrap()
            .push((restore_job_id.into(), validation.clone()));
        Ok(())
    }
}

#[async_trait]
impl ResourceReads for World {
    async fn observe(&self, check: &Check) -> Result<Observation, AwsError> {
        self.observed.lock().unwrap().push(check.clone());
        let mut first = self.first_observations.lock().unwrap();
        if !first.is_empty() {
            return Ok(first.remove(0));
        }
        Ok(self.observation.clone().unwrap_or(Observation::Missing))
    }
}

#[async_trait]
impl ResourceTagging for World {
    async fn current_tags(&self, arns: &[String]) -> Result<HashMap<String, Tags>, TaggingError> {
        Ok(arns
            .iter()
            .map(|a| {
                (
                    a.clone(),
                    BTreeMap::from([("backup-plan".to_string(), "production".to_string())]),
                )
            })
            .collect())
    }
    async fn add_tags(&self, _arns: &[String], _tags: &Tags) -> Result<BTreeMap<String, String>, TaggingError> {
        unreachable!("restore-drill never tags")
    }
}

#[async_trait]
impl PublishAlert for World {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        self.sent.lock().unwrap().push(alert.clone());
        Ok("m-1".into())
    }
}

#[async_trait]
impl DeliveryLedger for World {
    async fn claim(&self, key: &str, _now: DateTime<Utc>, _lease: DateTime<Utc>) -> Result<Claim, StoreError> {
        let mut ledger = self.ledger.lock().unwrap();
        Ok(match ledger.get(key) {
            Some(&"done") => Claim::AlreadyDone,
            Some(_) => Claim::InProgress,
            None => {
                ledger.insert(key.into(), "claimed");
                Claim::Acquired
            }
        })
    }
    async fn complete(&self, key: &str, _expires: DateTime<Utc>) -> Result<(), StoreError> {
        self.ledger.lock().unwrap().insert(key.into(), "done");
        Ok(())
    }
    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.ledger.lock().unwrap().remove(key);
        Ok(())
    }
}

const USER_CHECK: &str = "arn:aws:lambda:eu-west-1:111122223333:function:orders-check";

fn policy(rto_hours: i64) -> Document {
    Document::parse(&format!(
        r#"{{"tag_key": "backup-plan", "plans": {{"production": {{"rpo_hours": 24, "rto_hours": {rto_hours}}}}},
            "restore_tests": {{"user_checks": {{"DynamoDB": "{USER_CHECK}"}}}}}}"#
    ))
    .unwrap()
}

fn job(status: &str) -> RestoreJobFacts {
    RestoreJobFacts {
        restore_job_id: "r-1".into(),
        account: "111122223333".into(),
        status: status.into(),
        testing_plan_arn: Some(TEST_PLAN.into()),
        resource_type: "DynamoDB".into(),
        source_resource_arn: Some(SOURCE.into()),
        created_resource_arn: (status == "COMPLETED").then(|| RESTORED.into()),
        recovery_point_arn: Some("arn:aws:backup:eu-west-1:111122223333:recovery-point:rp-1".into()),
        vault_arn: Some("arn:aws:backup:eu-west-1:111122223333:backup-vault:isolated".into()),
        created: Some("2026-11-22T01:00:00Z".parse().unwrap()),
        completed: Some("2026-11-22T01:30:00Z".parse().unwrap()),
        point_created: Some("2026-11-21T03:00:00Z".parse().unwrap()),
        ..RestoreJobFacts::default()
    }
}

fn world(facts: RestoreJobFacts, observation: Observation) -> World {
    World {
        jobs: HashMap::from([(facts.restore_job_id.clone(), facts)]),
        observation: Some(observation),
        user_answer: Some(Ok(br#"{"passed": true}"#.to_vec())),
        ..World::default()
    }
}

fn event(status: &str, with_plan: bool) -> Value {
    let mut detail = json!({"restoreJobId": "r-1", "status": status, "resourceType": "DynamoDB"});
    if with_plan {
        detail["restoreTestingPlanArn"] = json!(TEST_PLAN);
    }
    json!({"id": "e-1", "detail-type": "Restore Job State Change", "source": "aws.backup",
           "account": "111122223333", "region": "eu-west-1", "detail": detail})
}

async fn run(world: &World, payload: Value, rto_hours: i64) -> (Value, Vec<Value>) {
    let (answer, lines) = try_run(world, payload, rto_hours).await;
    (answer.expect("handled"), lines)
}

async fn try_run(world: &World, payload: Value, rto_hours: i64) -> (Result<Value, String>, Vec<Value>) {
    let policy = policy(rto_hours);
    let deps = Deps {
        policy: &policy,
        jobs: world,
        resources: world,
        tagging: world,
        publisher: world,
        ledger: Some(world),
        drill_log: Some(world),
        user_checks: Some(world),
        settle: Settle {
            until: if world.time_to_settle {
                Utc::now() + chrono::Duration::hours(1)
            } else {
                Utc::now()
            },
            pause: std::time::Duration::ZERO,
        },
    };
    let mut metrics = Metrics::new("Rearguard", "restore-drill");
    let answer = handle(payload, &deps, &mut metrics).await.map_err(|e| e.to_string());
    let lines = metrics
        .render(0)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (answer, lines)
}

fn metric(lines: &[Value], name: &str) -> Option<Value> {
    lines.iter().find_map(|l| l.get(name).cloned())
}

fn items(n: usize) -> Observation {
    Observation::Table {
        status: "ACTIVE".into(),
        items_in_first_page: n,
    }
}

#[tokio::test]
async fn a_restored_table_with_items_validates_successful_and_records_the_figures() {
    let world = world(job("COMPLETED"), items(3));

    let (answer, lines) = run(&world, event("COMPLETED", true), 4).await;

    let put = world.put.lock().unwrap().clone();
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].1.status, ValidationStatus::Successful);
    assert_eq!(answer["verdict"], "passed");
    assert_eq!(answer["plan"], "production");
    assert!(world.sent.lock().unwrap().is_empty());
    assert_eq!(metric(&lines, "DrillRpoHours"), Some(json!(22.0)));
    assert_eq!(metric(&lines, "DrillRtoMinutes"), Some(json!(30.0)));
    assert_eq!(metric(&lines, "DrillsPassed"), Some(json!(1.0)));
    let drill_line = lines.iter().find(|l| l.get("DrillsPassed").is_some()).unwrap();
    assert_eq!(drill_line["plan"], "production");
    assert_eq!(drill_line["resourceType"], "DynamoDB");
}

#[tokio::test]
async fn an_empty_restored_table_validates_failed_with_the_reason_and_alerts_once() {
    let world = world(job("COMPLETED"), items(0));

    let (answer, lines) = run(&world, event("COMPLETED", true), 4).await;

    let put = world.put.lock().unwrap().clone();
    assert_eq!(put[0].1.status, ValidationStatus::Failed);
    assert!(put[0].1.message.contains("empty"), "{}", put[0].1.message);
    assert_eq!(answer["verdict"], "failed");
    let sent = world.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .subject
            .starts_with("[ERROR] Restore test FAILED: orders (DynamoDB)")
    );
    assert_eq!(metric(&lines, "DrillsFailed"), Some(json!(1.0)));
}

#[tokio::test]
async fn the_same_event_twice_validates_once() {
    let world = world(job("COMPLETED"), items(0));

    run(&world, event("COMPLETED", true), 4).await;
    let (again, _) = run(&world, event("COMPLETED", true), 4).await;

    assert_eq!(again, json!({"status": "duplicate"}));
    assert_eq!(world.put.lock().unwrap().len(), 1);
    assert_eq!(world.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_job_validated_earlier_is_not_validated_again_even_without_the_ledger_record() {
    let world = world(job("COMPLETED"), items(3));
    run(&world, event("COMPLETED", true), 4).await;
    world.ledger.lock().unwrap().clear();

    let (again, _) = run(&world, event("COMPLETED", true), 4).await;

    assert_eq!(again["status"], "already_validated");
    assert_eq!(world.put.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_restore_over_its_rto_target_validates_successful_but_fails_the_drill() {
    let mut slow = job("COMPLETED");
    slow.completed = Some("2026-11-22T03:00:00Z".parse().unwrap());
    let world = world(slow, items(3));

    let (answer, _) = run(&world, event("COMPLETED", true), 1).await;

    assert_eq!(world.put.lock().unwrap()[0].1.status, ValidationStatus::Successful);
    assert_eq!(answer["verdict"], "failed");
    let sent = world.sent.lock().unwrap().clone();
    assert!(
        sent[0].text.contains("RTO 120 min is over the plan's 1 h"),
        "{}",
        sent[0].text
    );
}

#[tokio::test]
async fn a_failed_restore_test_is_recognised_by_describe_and_alerts_without_a_validation() {
    let mut failed = job("FAILED");
    failed.status_message = Some("Access denied to the KMS key".into());
    let world = world(failed, items(3));

    let (answer, lines) = run(&world, event("FAILED", false), 4).await;

    assert_eq!(answer["verdict"], "failed");
    assert!(world.put.lock().unwrap().is_empty());
    assert!(
        world.observed.lock().unwrap().is_empty(),
        "nothing restored, nothing read"
    );
    let sent = world.sent.lock().unwrap().clone();
    assert!(sent[0].text.contains("Access denied to the KMS key"));
    assert_eq!(
        metric(&lines, "DrillRtoMinutes"),
        None,
        "a failed restore has no restore time"
    );
}

#[tokio::test]
async fn a_failed_ordinary_restore_is_left_to_job_alerts() {
    let mut ordinary = job("FAILED");
    ordinary.testing_plan_arn = None;
    let world = world(ordinary, items(3));

    let (answer, _) = run(&world, event("FAILED", false), 4).await;

    assert_eq!(answer["status"], "ignored");
    assert!(world.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_closed_validation_window_fails_the_drill_with_awss_words() {
    let mut world = world(job("COMPLETED"), items(3));
    world.refuse_validation = true;

    let (answer, lines) = run(&world, event("COMPLETED", true), 4).await;

    assert_eq!(answer["verdict"], "failed");
    let sent = world.sent.lock().unwrap().clone();
    assert!(
        sent[0].text.contains("validation window has closed"),
        "{}",
        sent[0].text
    );
    assert_eq!(metric(&lines, "ValidationsRefused"), Some(json!(1.0)));
}

#[tokio::test]
async fn a_type_without_a_validation_puts_nothing_and_is_counted() {
    let mut fsx = job("COMPLETED");
    fsx.resource_type = "FSx".into();
    let world = world(fsx, items(3));

    let (answer, lines) = run(&world, event("COMPLETED", true), 4).await;

    assert_eq!(answer["verdict"], "unvalidated");
    assert!(world.put.lock().unwrap().is_empty());
    assert!(world.sent.lock().unwrap().is_empty());
    assert_eq!(metric(&lines, "DrillsUnvalidated"), Some(json!(1.0)));
}

#[tokio::test]
async fn malformed_and_unrelated_events_are_ignored_without_aws_calls() {
    let world = World::default();

    let (garbage, _) = run(&world, json!({"hello": "world"}), 4).await;
    let (ordinary, _) = run(&world, event("COMPLETED", false), 4).await;

    assert_eq!(garbage["status"], "ignored");
    assert_eq!(ordinary["status"], "ignored");
    assert!(world.put.lock().unwrap().is_empty() && world.observed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_passed_drill_is_recorded_once_with_its_figures_even_when_the_ledger_forgot_it() {
    // GIVEN a restore test that restored a table with items
    let world = world(job("COMPLETED"), items(3));

    // WHEN its event comes, and again after the ledger's record is gone
    run(&world, event("COMPLETED", true), 4).await;
    world.ledger.lock().unwrap().clear();
    run(&world, event("COMPLETED", true), 4).await;

    // THEN the drill record holds one SUCCESSFUL drill of the production plan
    let records = world.records.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    let record = &records["r-1"];
    assert_eq!(record.result, DrillResult::Successful);
    assert_eq!(record.plan.as_deref(), Some("production"));
    assert_eq!((record.rpo_hours, record.rto_minutes), (Some(22.0), Some(30.0)));
    assert_eq!((record.rpo_target_hours, record.rto_target_hours), (Some(24), Some(4)));
    assert!(record.reason.contains("3 item"), "{}", record.reason);
}

#[tokio::test]
async fn a_failed_drill_is_recorded_failed_with_its_reason() {
    let mut failed = job("FAILED");
    failed.status_message = Some("Access denied to the KMS key".into());
    let world = world(failed, items(3));

    run(&world, event("FAILED", false), 4).await;

    let record = world.records.lock().unwrap()["r-1"].clone();
    assert_eq!(record.result, DrillResult::Failed);
    assert!(
        record.reason.contains("Access denied to the KMS key"),
        "{}",
        record.reason
    );
}

#[tokio::test]
async fn a_record_that_could_not_be_written_is_written_by_the_retry_and_the_alert_is_sent_once() {
    // GIVEN a failing drill and a drill record table that refuses the first write
    let world = world(job("COMPLETED"), items(0));
    *world.record_failures.lock().unwrap() = 1;

    // WHEN the event fails, and Lambda retries it
    let (first, _) = try_run(&world, event("COMPLETED", true), 4).await;
    let (retry, _) = try_run(&world, event("COMPLETED", true), 4).await;

    // THEN the first attempt is an error (retried), and the retry records the drill as AWS
    // Backup holds its validation, without a second validation or alert
    assert!(first.unwrap_err().contains("throttled"));
    assert_eq!(retry.unwrap()["status"], "already_validated");
    let record = world.records.lock().unwrap()["r-1"].clone();
    assert_eq!(record.result, DrillResult::Failed);
    assert!(record.reason.contains("empty"), "{}", record.reason);
    assert_eq!(world.put.lock().unwrap().len(), 1);
    assert_eq!(world.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_restore_of_a_type_without_a_validation_is_not_recorded() {
    let mut efs = job("COMPLETED");
    efs.resource_type = "EFS".into();
    let world = world(efs, items(3));

    run(&world, event("COMPLETED", true), 4).await;

    assert!(world.records.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_user_check_gets_the_restored_table_and_its_no_fails_the_validation_with_its_reason() {
    // GIVEN a restored table with items, and the policy's user check for DynamoDB that says no
    let mut world = world(job("COMPLETED"), items(3));
    world.user_answer = Some(Ok(
        br#"{"passed": false, "reason": "no order of the last day"}"#.to_vec()
    ));

    // WHEN the restore test's event comes
    let (answer, _) = run(&world, event("COMPLETED", true), 4).await;

    // THEN the user check was asked about the restored table, and its answer decided
    let requests = world.user_requests.lock().unwrap().clone();
    assert_eq!(
        requests,
        vec![(
            USER_CHECK.to_string(),
            json!({"restoredResourceArn": RESTORED, "resourceType": "DynamoDB"})
        )]
    );
    assert_eq!(answer["verdict"], "failed");
    let put = world.put.lock().unwrap().clone();
    assert_eq!(put[0].1.status, ValidationStatus::Failed);
    assert!(
        put[0].1.message.contains("no order of the last day"),
        "{}",
        put[0].1.message
    );
    assert_eq!(world.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_user_check_that_errs_or_times_out_fails_the_drill_with_the_reason() {
    let mut world = world(job("COMPLETED"), items(3));
    world.user_answer = Some(Err("function error Unhandled: Task timed out after 3.00 seconds".into()));

    let (answer, _) = run(&world, event("COMPLETED", true), 4).await;

    assert_eq!(answer["verdict"], "failed");
    let put = world.put.lock().unwrap().clone();
    assert_eq!(put[0].1.status, ValidationStatus::Failed);
    assert!(put[0].1.message.contains("timed out"), "{}", put[0].1.message);
}

#[tokio::test]
async fn a_passing_user_check_adds_its_word_and_a_failed_built_in_check_is_not_sent_to_it() {
    let passing = world(job("COMPLETED"), items(3));
    let (answer, _) = run(&passing, event("COMPLETED", true), 4).await;
    assert_eq!(answer["verdict"], "passed");
    let message = passing.put.lock().unwrap()[0].1.message.clone();
    assert!(
        message.contains("Scan read 3 item") && message.contains("user check orders-check passed"),
        "{message}"
    );

    let empty = world(job("COMPLETED"), items(0));
    run(&empty, event("COMPLETED", true), 4).await;
    assert!(
        empty.user_requests.lock().unwrap().is_empty(),
        "the built-in check failed first"
    );
}

fn creating() -> Observation {
    Observation::Table {
        status: "CREATING".into(),
        items_in_first_page: 0,
    }
}

#[tokio::test]
async fn a_restored_resource_still_coming_up_is_looked_at_again_until_it_serves() {
    let world = World {
        first_observations: Mutex::new(vec![creating(), creating()]),
        time_to_settle: true,
        ..world(job("COMPLETED"), items(3))
    };

    let (answer, lines) = run(&world, event("COMPLETED", true), 4).await;

    assert_eq!(world.observed.lock().unwrap().len(), 3);
    assert_eq!(answer["verdict"], "passed");
    assert_eq!(world.put.lock().unwrap()[0].1.status, ValidationStatus::Successful);
    assert_eq!(metric(&lines, "ResourcesNotSettled"), None);
}

#[tokio::test]
async fn a_restored_resource_that_has_not_settled_when_time_is_up_is_judged_as_it_is() {
    let world = World {
        first_observations: Mutex::new(vec![creating()]),
        time_to_settle: false,
        ..world(job("COMPLETED"), items(3))
    };

    let (answer, lines) = run(&world, event("COMPLETED", true), 4).await;

    assert_eq!(world.observed.lock().unwrap().len(), 1);
    assert_eq!(answer["verdict"], "failed");
    let put = world.put.lock().unwrap().clone();
    assert!(
        put[0].1.message.contains("CREATING, not ACTIVE"),
        "{}",
        put[0].1.message
    );
    assert_eq!(metric(&lines, "ResourcesNotSettled"), Some(json!(1.0)));
}

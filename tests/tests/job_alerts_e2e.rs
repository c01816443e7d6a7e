//! job-alerts end to end: the built binary, driven through the Lambda Runtime API, publishing to
//! SNS in the local AWS emulator; alerts are read back from an SQS subscription of the topic.

use aws_sdk_dynamodb::types::AttributeValue;
use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, Received, create_state_table, unique};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::sample;
use rearguard_e2e::template_roles::function_env_as_configured;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// The function's role as the stack names it (template.yaml's JobAlertsFunctionRole).
const ROLE: &str = "rearguard-JobAlertsFunctionRole";

struct Harness {
    api: RuntimeApi,
    function: FunctionProcess,
    topic: AlertsTopic,
    table: Option<String>,
}

impl Harness {
    /// A topic, optionally the state table, and the function running against them.
    async fn start(stateful: bool, extra_env: &[(&str, &str)]) -> Harness {
        let sdk = local_aws::sdk_config().await;
        let topic = AlertsTopic::create(&sdk, &unique("alerts")).await;
        let table = stateful.then(|| unique("state"));
        if let Some(table) = &table {
            create_state_table(&sdk, table).await;
        }
        Harness::run(topic, table, extra_env).await
    }

    /// The function running against an existing topic and table.
    async fn run(topic: AlertsTopic, table: Option<String>, extra_env: &[(&str, &str)]) -> Harness {
        let api = RuntimeApi::start().await;
        // The function runs as its own role, with template.yaml's policies for a stack with
        // these settings.
        let sdk = local_aws::sdk_config().await;
        let mut resources = vec![("AlertTopic", topic.topic_arn.as_str())];
        if let Some(table) = &table {
            resources.push(("StateTable", table.as_str()));
        }
        let mut env: Vec<(&str, String)> = function_env_as_configured(&sdk, ROLE, extra_env, &resources).await;
        env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
        if let Some(table) = &table {
            env.push(("STATE_TABLE_NAME", table.clone()));
        }
        env.extend(extra_env.iter().map(|(k, v)| (*k, v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = FunctionProcess::spawn(binary("job-alerts"), &api.address(), &env);
        Harness {
            api,
            function,
            topic,
            table,
        }
    }

    /// A second function process (another execution environment) on the same topic and table.
    async fn another_process(&self) -> Harness {
        Harness::run(self.topic.clone(), self.table.clone(), &[]).await
    }

    /// The incident record of `key` in the state table: its failed jobs and last success.
    async fn record(&self, key: &str) -> Option<(Vec<String>, Option<String>)> {
        let sdk = local_aws::sdk_config().await;
        let item = aws_sdk_dynamodb::Client::new(&sdk)
            .get_item()
            .table_name(self.table.as_deref().expect("stateful harness"))
            .key("pk", AttributeValue::S(format!("incident#{key}")))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item?;
        let failed = item
            .get("failed")
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|e| e.as_m().ok()?.get("job")?.as_s().ok().cloned())
                    .collect()
            })
            .unwrap_or_default();
        let last_success = item.get("last_success_at").and_then(|v| v.as_n().ok()).cloned();
        Some((failed, last_success))
    }

    async fn invoke(&self, payload: &Value) -> Answer {
        self.api
            .invoke(payload, WAIT)
            .await
            .unwrap_or_else(|e| panic!("{e}\nlogs:\n{}", self.function.logs().join("\n")))
    }

    async fn alerts(&self, expected: usize) -> Vec<Received> {
        self.topic.receive(expected, WAIT).await
    }
}

/// An SQS batch as Lambda's event source mapping delivers it.
fn sqs_batch(bodies: &[Value]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            json!({
                "messageId": format!("msg-{i}"), "receiptHandle": format!("rh-{i}"),
                "body": if body.is_string() { body.as_str().unwrap().to_string() } else { body.to_string() },
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:111122223333:rearguard-job-events",
                "awsRegion": "eu-west-1"
            })
        })
        .collect();
    json!({"Records": records})
}

fn storm(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let mut event = sample("backup-failed-rds");
            event["id"] = json!(format!("storm-event-{i}"));
            event["detail"]["backupJobId"] = json!(format!("storm-job-{i}"));
            event["detail"]["resourceArn"] = json!(format!("arn:aws:rds:eu-west-1:111122223333:db:orders-{i}"));
            event
        })
        .collect()
}

#[tokio::test]
async fn failed_backup_arrives_on_the_topic_as_an_actionable_alert() {
    let harness = Harness::start(false, &[]).await;

    let answer = harness.invoke(&sample("backup-failed-rds")).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(answer, Answer::Response(json!({"status": "ok"})));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(
        alert.subject,
        "[CRITICAL] Backup FAILED: prod-orders (RDS) 111122223333 eu-west-1"
    );
    assert_eq!(alert.document["schema"], "rearguard.alert/v1");
    assert_eq!(alert.document["kind"], "job_failed");
    assert_eq!(
        alert.document["resource"]["arn"],
        "arn:aws:rds:eu-west-1:111122223333:db:prod-orders"
    );
    assert!(alert.document["hint"].as_str().unwrap().contains("KMS key"));
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
async fn the_same_event_delivered_twice_alerts_once() {
    let harness = Harness::start(true, &[]).await;
    let event = sample("copy-failed-ebs");

    harness.invoke(&sqs_batch(&[event.clone(), event.clone()])).await;
    harness.invoke(&sqs_batch(std::slice::from_ref(&event))).await;
    harness.invoke(&event).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(
        alerts.len(),
        1,
        "{:?}",
        alerts.iter().map(|a| &a.subject).collect::<Vec<_>>()
    );
    assert_eq!(
        alerts[0].subject,
        "[ERROR] Copy FAILED: vol-0aa11bb22cc33dd44 (EBS) 111122223333 eu-west-1"
    );
}

#[tokio::test]
async fn a_storm_of_sixty_failures_in_one_batch_is_one_digest_listing_every_job() {
    let harness = Harness::start(true, &[]).await;

    let answer = harness.invoke(&sqs_batch(&storm(60))).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(answer, Answer::Response(json!({"batchItemFailures": []})));
    assert_eq!(
        alerts.len(),
        1,
        "{:?}",
        alerts.iter().map(|a| &a.subject).collect::<Vec<_>>()
    );
    let digest = &alerts[0];
    assert_eq!(
        digest.subject,
        "[CRITICAL] 60 Backup jobs failed in 111122223333 eu-west-1"
    );
    assert_eq!(digest.attributes.get("digest").map(String::as_str), Some("true"));
    let jobs = digest.document["jobs"].as_array().expect("jobs listed");
    assert_eq!(jobs.len(), 60);
    for i in 0..60 {
        assert!(
            jobs.iter().any(|j| j["jobId"] == format!("storm-job-{i}")),
            "storm-job-{i} listed"
        );
    }
}

#[tokio::test]
async fn a_backup_that_succeeds_after_failing_sends_one_recovered_message() {
    let harness = Harness::start(true, &[]).await;

    harness.invoke(&sample("backup-failed-rds")).await;
    harness.invoke(&sample("backup-running")).await;
    harness.invoke(&sample("backup-completed-rds")).await;
    let mut later_success = sample("backup-completed-rds");
    later_success["id"] = json!("a-later-day");
    later_success["detail"]["backupJobId"] = json!("a-later-job");
    harness.invoke(&later_success).await;
    let alerts = harness.alerts(2).await;

    let subjects: Vec<&str> = alerts.iter().map(|a| a.subject.as_str()).collect();
    assert_eq!(
        subjects,
        vec![
            "[CRITICAL] Backup FAILED: prod-orders (RDS) 111122223333 eu-west-1",
            "[INFO] Backup recovered: prod-orders (RDS) 111122223333 eu-west-1"
        ]
    );
    assert_eq!(alerts[1].document["kind"], "job_recovered");
    assert_eq!(alerts[1].attributes.get("state").map(String::as_str), Some("RECOVERED"));
}

#[tokio::test]
async fn malformed_input_is_logged_and_ignored_and_the_function_keeps_serving() {
    let harness = Harness::start(true, &[]).await;

    let garbage = harness
        .invoke(&sqs_batch(&[
            json!("{\"truncated\": "),
            sample("malformed-detail"),
            sample("unknown-vault-state-change"),
        ]))
        .await;
    let not_an_event = harness.invoke(&json!({"hello": "world"})).await;
    harness.invoke(&sample("restore-failed-rds")).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(
        garbage,
        Answer::Response(json!({"batchItemFailures": []})),
        "no retry for what can never succeed"
    );
    assert_eq!(not_an_event, Answer::Response(json!({"status": "ok"})));
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].subject.starts_with("[CRITICAL] Restore FAILED"),
        "{}",
        alerts[0].subject
    );
    let logs = harness.function.logs().join("\n");
    assert!(logs.contains("not an EventBridge event"), "reason logged");
    assert!(
        logs.contains("unhandled event") && logs.contains("Backup Vault State Change"),
        "unknown detail-type logged"
    );
    assert!(
        logs.contains("6a1f4c2e-0b1d-4c8e-9f10-1a2b3c4d5e17"),
        "event id of the malformed event logged"
    );
}

#[tokio::test]
async fn a_record_whose_alert_cannot_be_published_goes_back_to_the_queue() {
    let harness = Harness::start(
        false,
        &[("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:no-such-topic")],
    )
    .await;

    let batch = harness
        .invoke(&sqs_batch(&[sample("backup-failed-rds"), sample("backup-running")]))
        .await;
    let direct = harness.invoke(&sample("backup-failed-rds")).await;

    assert_eq!(
        batch,
        Answer::Response(json!({"batchItemFailures": [{"itemIdentifier": "msg-0"}]}))
    );
    assert!(
        matches!(direct, Answer::Error(_)),
        "a direct invocation fails so Lambda retries it: {direct:?}"
    );
    assert!(harness.function.logs().join("\n").contains("no-such-topic"));
}

#[tokio::test]
async fn dry_run_logs_the_exact_message_and_publishes_nothing() {
    let harness = Harness::start(false, &[("DRY_RUN", "true")]).await;

    harness.invoke(&sample("copy-failed-ebs")).await;
    let alerts = harness.topic.receive(0, Duration::from_secs(2)).await;

    assert!(alerts.is_empty(), "dry run published {alerts:?}");
    let logs = harness.function.logs().join("\n");
    assert!(logs.contains("would_publish"), "{logs}");
    assert!(logs.contains("[ERROR] Copy FAILED: vol-0aa11bb22cc33dd44 (EBS) 111122223333 eu-west-1"));
}

#[tokio::test]
async fn a_bad_setting_fails_at_start_up_naming_the_setting() {
    let harness = Harness::start(false, &[("DIGEST_THRESHOLD", "many")]).await;

    let status = tokio::time::timeout(WAIT, harness_exit(harness.function))
        .await
        .expect("function exits");

    let (code, logs) = status;
    assert_ne!(code, Some(0));
    assert!(
        logs.contains("DIGEST_THRESHOLD") && logs.contains("whole number"),
        "{logs}"
    );
}

async fn harness_exit(mut function: FunctionProcess) -> (Option<i32>, String) {
    let status = function.child.wait().await.expect("wait for function");
    tokio::time::sleep(Duration::from_millis(200)).await;
    (status.code(), function.logs().join("\n"))
}

#[tokio::test]
async fn each_alert_is_also_put_on_the_configured_event_bus() {
    let sdk = local_aws::sdk_config().await;
    let (bus, inbox) = local_aws::bus_with_inbox(&sdk, &unique("central"), "rearguard.job-alerts").await;
    let harness = Harness::start(false, &[("ALERT_EVENT_BUS", bus.as_str())]).await;

    harness.invoke(&sample("copy-failed-ebs")).await;
    let alerts = harness.alerts(1).await;
    let events = local_aws::drain_queue(&sdk, &inbox, WAIT).await;

    assert_eq!(alerts.len(), 1);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "Rearguard Alert");
    assert_eq!(events[0]["source"], "rearguard.job-alerts");
    assert_eq!(events[0]["detail"]["summary"], alerts[0].subject.as_str());
    assert_eq!(events[0]["detail"]["job"]["type"], "COPY");
}

#[tokio::test]
async fn emf_metrics_are_printed_for_jobs_seen_and_alerts() {
    let harness = Harness::start(false, &[]).await;

    harness.invoke(&sample("backup-failed-rds")).await;
    harness.alerts(1).await;

    let logs = harness.function.logs();
    let metrics: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert!(
        metrics
            .iter()
            .any(|m| m["JobsSeen"] == 1.0 && m["jobType"] == "BACKUP" && m["state"] == "FAILED"),
        "{metrics:?}"
    );
    assert!(
        metrics
            .iter()
            .any(|m| m["AlertsPublished"] == 1.0 && m["severity"] == "CRITICAL")
    );
    assert!(metrics.iter().any(|m| m["ColdStart"] == 1.0));
}

/// A backup event of `resource` (an RDS database) for job `job`, at 03:30 on `day` of November 2026.
fn job_of(sample_name: &str, resource: &str, job: &str, day: u32) -> Value {
    let mut event = sample(sample_name);
    event["id"] = json!(format!("{resource}-{job}"));
    event["time"] = json!(format!("2026-11-{day:02}T03:30:00Z"));
    event["detail"]["backupJobId"] = json!(job);
    event["detail"]["resourceArn"] = json!(format!("arn:aws:rds:eu-west-1:111122223333:db:{resource}"));
    event
}

fn key_of(resource: &str) -> String {
    format!("BACKUP#arn:aws:rds:eu-west-1:111122223333:db:{resource}")
}

#[tokio::test]
async fn a_failure_after_a_recovery_alerts_even_when_events_arrive_out_of_order() {
    let harness = Harness::start(true, &[]).await;
    let day2_completed = job_of("backup-completed-rds", "orders-db", "s2", 2);
    let day1_failed = job_of("backup-failed-rds", "orders-db", "f1", 1);
    let day3_failed = job_of("backup-failed-rds", "orders-db", "f3", 3);

    harness.invoke(&day2_completed).await;
    harness.invoke(&day1_failed).await;
    harness.invoke(&day3_failed).await;
    let alerts = harness.alerts(2).await;

    let subjects: Vec<&str> = alerts.iter().map(|a| a.subject.as_str()).collect();
    assert_eq!(
        subjects,
        vec![
            "[INFO] Late: Backup FAILED earlier: orders-db (RDS) 111122223333 eu-west-1",
            "[CRITICAL] Backup FAILED: orders-db (RDS) 111122223333 eu-west-1",
        ]
    );
    assert_eq!(alerts[0].attributes.get("late").map(String::as_str), Some("true"));
    assert_eq!(alerts[0].document["kind"], "late_failure");
    let (failed, _) = harness.record(&key_of("orders-db")).await.expect("record");
    assert_eq!(failed, vec!["f3"]);
}

#[tokio::test]
async fn the_same_three_events_in_every_order_leave_the_same_incident_record() {
    let harness = Harness::start(true, &[]).await;
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

    let mut records = Vec::new();
    for (n, order) in orders.iter().enumerate() {
        let resource = format!("orders-db-{n}");
        let events = [
            job_of("backup-failed-rds", &resource, "f1", 1),
            job_of("backup-completed-rds", &resource, "s2", 2),
            job_of("backup-failed-rds", &resource, "f3", 3),
        ];
        for &i in order {
            harness.invoke(&events[i]).await;
        }
        records.push(harness.record(&key_of(&resource)).await.expect("record"));
    }

    for (order, record) in orders.iter().zip(&records) {
        assert_eq!(record, &records[0], "order {order:?}");
    }
    let (failed, last_success) = &records[0];
    assert_eq!(failed, &vec!["f3".to_string()], "open on day 3's failure");
    assert_eq!(last_success.as_deref(), Some("1793590200000"), "day 2, 03:30 UTC in ms");
}

#[tokio::test]
async fn two_processes_racing_on_one_resource_alert_once() {
    let first = Harness::start(true, &[]).await;
    let second = first.another_process().await;

    for round in 0..5 {
        let resource = format!("race-db-{round}");
        let a = job_of("backup-failed-rds", &resource, "a", 1);
        let b = job_of("backup-failed-rds", &resource, "b", 1);
        tokio::join!(first.invoke(&a), second.invoke(&b));
    }
    let alerts = first.alerts(5).await;

    let mut subjects: Vec<&str> = alerts.iter().map(|a| a.subject.as_str()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        (0..5)
            .map(|round| format!("[CRITICAL] Backup FAILED: race-db-{round} (RDS) 111122223333 eu-west-1"))
            .collect::<Vec<_>>()
    );
    for round in 0..5 {
        let (failed, _) = first
            .record(&key_of(&format!("race-db-{round}")))
            .await
            .expect("record");
        assert_eq!(failed.len(), 2, "both failures counted: {failed:?}");
    }
}

#[tokio::test]
async fn two_processes_racing_on_the_same_batch_of_resources_alert_once_per_resource() {
    let first = Harness::start(true, &[]).await;
    let second = first.another_process().await;

    // Each round, both processes get a batch failing the same three resources (their own jobs):
    // each writes its three records in one transaction, and the one whose records changed
    // since it read them has its transaction cancelled and decides each resource again. Whether
    // a round's reads interleave is up to the scheduler, so this asserts the outcome, which must
    // hold either way; the cancellation path itself is pinned by the handler's mock tests.
    let rounds = 5;
    for round in 0..rounds {
        let resources: Vec<String> = (0..3).map(|i| format!("batch-race-{round}-{i}")).collect();
        let batch = |job: &str| {
            sqs_batch(
                &resources
                    .iter()
                    .map(|r| job_of("backup-failed-rds", r, job, 1))
                    .collect::<Vec<_>>(),
            )
        };
        let (a, b) = (batch("a"), batch("b"));
        tokio::join!(first.invoke(&a), second.invoke(&b));
    }
    let alerts = first.alerts(3 * rounds).await;

    let mut subjects: Vec<&str> = alerts.iter().map(|a| a.subject.as_str()).collect();
    subjects.sort();
    let mut expected: Vec<String> = (0..rounds)
        .flat_map(|round| {
            (0..3)
                .map(move |i| format!("[CRITICAL] Backup FAILED: batch-race-{round}-{i} (RDS) 111122223333 eu-west-1"))
        })
        .collect();
    expected.sort();
    assert_eq!(subjects, expected, "one alert per resource");
    for round in 0..rounds {
        for i in 0..3 {
            let (failed, _) = first
                .record(&key_of(&format!("batch-race-{round}-{i}")))
                .await
                .expect("record");
            assert_eq!(failed.len(), 2, "both failures counted: {failed:?}");
        }
    }
}

#[tokio::test]
async fn two_failures_of_one_resource_in_one_batch_alert_once() {
    let harness = Harness::start(true, &[]).await;

    harness
        .invoke(&sqs_batch(&[
            job_of("backup-failed-rds", "orders-db", "f2", 1),
            job_of("backup-failed-rds", "orders-db", "f1", 1),
        ]))
        .await;
    let alerts = harness.alerts(1).await;

    assert_eq!(
        alerts.iter().map(|a| a.subject.as_str()).collect::<Vec<_>>(),
        vec!["[CRITICAL] Backup FAILED: orders-db (RDS) 111122223333 eu-west-1"]
    );
}

#[tokio::test]
async fn with_the_state_table_unreachable_the_alert_still_goes_out_marked() {
    let harness = Harness::start(false, &[("STATE_TABLE_NAME", "no-such-table")]).await;

    let answer = harness
        .invoke(&sqs_batch(&[
            sample("backup-failed-rds"),
            sample("backup-completed-ebs"),
        ]))
        .await;
    let alerts = harness.alerts(1).await;

    assert_eq!(
        alerts.iter().map(|a| a.subject.as_str()).collect::<Vec<_>>(),
        vec!["[CRITICAL] Backup FAILED: prod-orders (RDS) 111122223333 eu-west-1"]
    );
    assert_eq!(
        alerts[0].attributes.get("dedupe").map(String::as_str),
        Some("unavailable")
    );
    // The success only the table can record goes back to the queue.
    assert_eq!(
        answer,
        Answer::Response(json!({"batchItemFailures": [{"itemIdentifier": "msg-1"}]}))
    );
    let logs = harness.function.logs().join("\n");
    assert!(logs.contains("\"StoreUnavailable\""), "metric printed");
}

#[tokio::test]
async fn a_batch_that_is_not_sqs_json_is_an_invocation_error() {
    let harness = Harness::start(true, &[]).await;

    let answer = harness
        .invoke(&json!({"Records": [{"messageId": 7, "body": {"not": "a string"}}]}))
        .await;

    assert!(
        matches!(&answer, Answer::Error(e) if e.to_string().contains("not an SQS batch")),
        "{answer:?}"
    );
    assert!(harness.topic.receive(0, Duration::from_secs(2)).await.is_empty());
}

#[tokio::test]
async fn a_stack_backup_with_two_failed_children_alerts_once_naming_both() {
    let sdk = local_aws::sdk_config().await;
    // A CloudFormation stack of two tables, backed up as one composite job ("AWS CloudFormation
    // stack backups") whose two nested table backups fail.
    let tables: Vec<String> = ["orders", "payments"].iter().map(|t| unique(t)).collect();
    let resources: serde_json::Map<String, Value> = tables
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                format!("Table{i}"),
                json!({"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}),
            )
        })
        .collect();
    let stack = aws_sdk_cloudformation::Client::new(&sdk)
        .create_stack()
        .stack_name(unique("shop"))
        .template_body(json!({"Resources": resources}).to_string())
        .send()
        .await
        .expect("create stack")
        .stack_id()
        .expect("stack id")
        .to_string();
    let table_arns: Vec<String> = tables
        .iter()
        .map(|t| format!("arn:aws:dynamodb:{}:123456789012:table/{t}", local_aws::REGION))
        .collect();
    let inbox = local_aws::rule_to_queue(
        &sdk,
        None,
        &unique("composite"),
        &json!({"source": ["aws.backup"], "detail": {"resourceArn": [&stack, &table_arns[0], &table_arns[1]],
            "state": ["COMPLETED", "FAILED", "PARTIAL"]}}),
    )
    .await;
    let vault_name = unique("stack-vault");
    rearguard_e2e::backup_world::vault(&sdk, &vault_name, None).await;
    rearguard_e2e::backup_world::backup_with(
        &sdk,
        &vault_name,
        &stack,
        &[(
            "x-emulator-fail-children",
            "DynamoDB:Table is being updated".to_string(),
        )],
    )
    .await;
    let events = local_aws::drain_queue(&sdk, &inbox, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 3, "how a parent and two children end: {events:?}");
    let h = Harness::start(true, &[]).await;

    let answer = h.invoke(&sqs_batch(&events)).await;

    assert!(matches!(answer, Answer::Response(_)), "{answer:?}");
    let alerts = h.topic.receive(2, Duration::from_secs(5)).await;
    assert_eq!(alerts.len(), 1, "one alert for the stack: {alerts:?}");
    let alert = &alerts[0];
    assert!(
        alert.subject.starts_with("[CRITICAL] Backup PARTIAL"),
        "{}",
        alert.subject
    );
    assert!(alert.subject.contains("shop"), "{}", alert.subject);
    let children: Vec<&str> = alert.document["failedChildren"]
        .as_array()
        .expect("failedChildren")
        .iter()
        .filter_map(|c| c["resourceArn"].as_str())
        .collect();
    assert_eq!(children.len(), 2);
    assert!(
        table_arns.iter().all(|t| children.contains(&t.as_str())),
        "{children:?}"
    );
    let logs = h.function.logs().join("\n");
    assert_eq!(logs.matches("child_of_composite").count(), 2, "{logs}");
}

#[tokio::test]
async fn malware_in_a_backup_is_one_critical_alert_naming_the_last_clean_point() {
    let sdk = local_aws::sdk_config().await;
    let table = format!(
        "arn:aws:dynamodb:{}:123456789012:table/{}",
        local_aws::REGION,
        unique("ledger")
    );
    let vault_name = unique("scanned");
    rearguard_e2e::backup_world::vault(&sdk, &vault_name, None).await;
    let inbox = local_aws::rule_to_queue(
        &sdk,
        None,
        &unique("scans"),
        &json!({"source": ["aws.backup"], "detail-type": ["Scan Job State Change"], "detail": {"resourceArn": [&table]}}),
    )
    .await;
    let clean = rearguard_e2e::backup_world::backup(&sdk, &vault_name, &table, None).await;
    let infected = rearguard_e2e::backup_world::backup(&sdk, &vault_name, &table, None).await;
    let unreadable = rearguard_e2e::backup_world::backup(&sdk, &vault_name, &table, None).await;
    rearguard_e2e::backup_world::scan(
        &sdk,
        &vault_name,
        &clean,
        ("x-emulator-scan-result", "NO_THREATS_FOUND"),
    )
    .await;
    rearguard_e2e::backup_world::scan(
        &sdk,
        &vault_name,
        &infected,
        ("x-emulator-scan-result", "THREATS_FOUND"),
    )
    .await;
    rearguard_e2e::backup_world::scan(&sdk, &vault_name, &unreadable, ("x-emulator-scan-state", "FAILED")).await;
    let mut events = local_aws::drain_queue(&sdk, &inbox, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 9, "CREATED, RUNNING and an outcome for each scan");
    // The infected point's event delivered twice.
    let again = events
        .iter()
        .find(|e| e["detail"]["scanResult"]["scanResultStatus"] == "THREATS_FOUND")
        .cloned()
        .unwrap();
    events.push(again);
    let h = Harness::start(true, &[]).await;

    let answer = h.invoke(&sqs_batch(&events)).await;

    assert!(matches!(answer, Answer::Response(_)), "{answer:?}");
    let alerts = h.topic.receive(3, Duration::from_secs(5)).await;
    let subjects: Vec<&str> = alerts.iter().map(|a| a.subject.as_str()).collect();
    assert_eq!(alerts.len(), 2, "{subjects:?}");
    let critical = alerts
        .iter()
        .find(|a| a.subject.starts_with("[CRITICAL]"))
        .expect("malware alert");
    assert!(
        critical.subject.starts_with("[CRITICAL] Malware found in backup:"),
        "{}",
        critical.subject
    );
    assert_eq!(critical.document["scan"]["recoveryPointArn"], infected.as_str());
    assert_eq!(
        critical.document["lastCleanRecoveryPoint"]["recoveryPointArn"],
        clean.as_str()
    );
    assert!(
        critical.document["scan"]["takenAt"].is_string(),
        "{}",
        critical.document
    );
    assert!(
        subjects.iter().any(|s| s.starts_with("[WARNING] Malware scan FAILED:")),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn a_completed_restore_test_sends_no_restore_notice_while_an_ordinary_restore_does() {
    let harness = Harness::start(false, &[]).await;

    let test = harness
        .invoke(&sqs_batch(&[sample("restore-test-completed-dynamodb")]))
        .await;
    let quiet = harness.alerts(0).await;
    harness.invoke(&sample("restore-completed-rds")).await;
    let notices = harness.alerts(1).await;

    assert_eq!(test, Answer::Response(json!({"batchItemFailures": []})));
    assert!(quiet.is_empty(), "restore-drill reports on restore tests: {quiet:?}");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].document["kind"], "restore_completed");
    let logs = harness.function.logs().join("\n");
    assert!(logs.contains("restore_test"), "the decision is logged");
}

#[tokio::test]
async fn a_failed_restore_test_is_left_to_restore_drill_while_a_failed_ordinary_restore_alerts() {
    // GIVEN a restore job that a restore testing plan started in the local AWS (DescribeRestoreJob
    // gives its CreatedBy.RestoreTestingPlanArn), announced as FAILED the way AWS announces a
    // failed restore test: `status` FAILED with a reason and no `restoreTestingPlanArn`
    let sdk = local_aws::sdk_config().await;
    let table = rearguard_e2e::restore_world::production_table(&sdk, 1).await;
    let mut failed_test = rearguard_e2e::restore_world::scheduled_restore_test(&sdk, &table, 2, 0).await;
    let detail = failed_test["detail"].as_object_mut().unwrap();
    detail.remove("restoreTestingPlanArn");
    detail.remove("createdResourceArn");
    detail.insert("status".into(), json!("FAILED"));
    detail.insert("statusMessage".into(), json!("Access denied to the KMS key"));
    let harness = Harness::start(false, &[]).await;

    // WHEN job-alerts gets it, then the sample FAILED restore of another account's database
    let answer = harness.invoke(&sqs_batch(&[failed_test])).await;
    let quiet = harness.alerts(0).await;
    harness.invoke(&sample("restore-failed-rds")).await;
    let alerts = harness.alerts(1).await;

    // THEN the restore test alerts nobody here (restore-drill sends its ERROR), as
    // DescribeRestoreJob names its plan; the ordinary failed restore is still CRITICAL
    assert_eq!(answer, Answer::Response(json!({"batchItemFailures": []})));
    assert!(quiet.is_empty(), "{quiet:?}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].subject.starts_with("[CRITICAL] Restore FAILED"),
        "{}",
        alerts[0].subject
    );
    let logs = harness.function.logs().join("\n");
    assert!(logs.contains("\"decision\":\"restore_test\""), "{logs}");
}

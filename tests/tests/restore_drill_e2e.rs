//! restore-drill end to end: a restore testing plan in the local AWS runs when the emulator's
//! clock reaches its schedule, its restore job restores a real DynamoDB table, and the built
//! restore-drill binary, driven through the Lambda Runtime API with that job's event, validates
//! it, reports the result to AWS Backup and alerts on the topic when the drill fails.

use aws_sdk_backup::types::{
    RestoreTestingPlanForCreate, RestoreTestingRecoveryPointSelection, RestoreTestingRecoveryPointSelectionAlgorithm,
    RestoreTestingRecoveryPointType, RestoreTestingSelectionForCreate,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
};
use chrono::{Datelike, Timelike};
use rearguard_e2e::backup_world::{BACKUP_ROLE, backup_with, next_events, vault};
use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, Received, create_state_table, rule_to_queue, unique};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const POLICY: &str = r#"{"tag_key": "backup-plan", "plans": {"production": {"rpo_hours": 24, "rto_hours": 4}}}"#;
/// The recovery point is this old when the restore test starts (plus the minutes to the schedule).
const BACKUP_AGE_HOURS: i64 = 20;
/// How long the first test's restore takes in the emulator (`x-emulator-duration`).
const RESTORE_MINUTES: i64 = 15;

/// A function binary running against a topic of its own.
struct Harness {
    api: RuntimeApi,
    function: FunctionProcess,
    topic: AlertsTopic,
}

impl Harness {
    async fn start(binary_name: &str, env: &[(&str, String)]) -> Harness {
        let sdk = local_aws::sdk_config().await;
        let topic = AlertsTopic::create(&sdk, &unique("alerts")).await;
        let api = RuntimeApi::start().await;
        let mut all: Vec<(&str, String)> = local_aws::function_env();
        all.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
        all.extend(env.iter().cloned());
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = FunctionProcess::spawn(binary(binary_name), &api.address(), &all);
        Harness { api, function, topic }
    }

    async fn restore_drill() -> Harness {
        let sdk = local_aws::sdk_config().await;
        let table = unique("drill-state");
        create_state_table(&sdk, &table).await;
        Harness::start(
            "restore-drill",
            &[("REARGUARD_POLICY", POLICY.to_string()), ("STATE_TABLE_NAME", table)],
        )
        .await
    }

    async fn invoke(&self, event: &Value) -> Value {
        match self.api.invoke(event, WAIT).await {
            Ok(Answer::Response(v)) => v,
            other => panic!("{other:?}\nlogs:\n{}", self.function.logs().join("\n")),
        }
    }

    async fn alerts(&self, expected: usize) -> Vec<Received> {
        let wait = if expected == 0 { Duration::from_secs(2) } else { WAIT };
        self.topic.receive(expected, wait).await
    }

    /// The EMF documents the function printed that carry `metric`.
    fn metric_lines(&self, metric: &str) -> Vec<Value> {
        self.function
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|doc| doc.get("_aws").is_some() && doc.get(metric).is_some())
            .collect()
    }
}

/// The emulator's control endpoint (`/_emulator/clock`), through curl.
async fn clock(method: &str, body: &str) -> f64 {
    let url = format!("{}/_emulator/clock", local_aws::endpoint());
    let out = tokio::process::Command::new("curl")
        .args([
            "-fsS",
            "-X",
            method,
            "-H",
            "content-type: application/json",
            "-d",
            body,
            &url,
        ])
        .output()
        .await
        .expect("curl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("clock answer");
    answer["now"].as_f64().expect("now")
}

/// A DynamoDB table in the production plan (backup tag) holding `items` items.
async fn production_table(sdk: &aws_config::SdkConfig, items: usize) -> String {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let name = unique("orders");
    let arn = dynamodb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("backup-plan").value("production").build().unwrap())
        .send()
        .await
        .expect("create table")
        .table_description()
        .and_then(|t| t.table_arn())
        .expect("table arn")
        .to_string();
    for i in 0..items {
        dynamodb
            .put_item()
            .table_name(&name)
            .item("pk", AttributeValue::S(format!("order-{i}")))
            .send()
            .await
            .expect("put item");
    }
    arn
}

/// Backs the table up into an isolated vault `BACKUP_AGE_HOURS` ago, schedules a restore testing
/// plan of that vault at the next whole minute of the emulator's clock, moves the clock past it,
/// and past the restore's `restore_minutes`, and returns the restore test's COMPLETED event as the
/// default bus delivered it.
async fn scheduled_restore_test(sdk: &aws_config::SdkConfig, table_arn: &str, restore_minutes: i64) -> Value {
    let backup = aws_sdk_backup::Client::new(sdk);
    let vault_name = unique("isolated");
    let vault_arn = vault(sdk, &vault_name, None).await;
    let now = clock("GET", "").await;
    let taken = (now as i64 - BACKUP_AGE_HOURS * 3600).to_string();
    backup_with(sdk, &vault_name, table_arn, &[("x-emulator-time", taken)])
        .await
        .expect("a recovery point");
    let inbox = rule_to_queue(
        sdk,
        None,
        &unique("restore-tests"),
        &json!({"source": ["aws.backup"], "detail-type": ["Restore Job State Change"],
                "detail": {"sourceResourceArn": [table_arn], "status": ["COMPLETED"]}}),
    )
    .await;
    // One run only: a cron expression of one minute of one day of one year.
    let run_at = ((now + 60.0) / 60.0).ceil() * 60.0;
    let at = chrono::DateTime::from_timestamp(run_at as i64, 0).unwrap();
    let schedule = format!(
        "cron({} {} {} {} ? {})",
        at.minute(),
        at.hour(),
        at.day(),
        at.month(),
        at.year()
    );
    let plan = unique("drill").replace('-', "_");
    backup
        .create_restore_testing_plan()
        .restore_testing_plan(
            RestoreTestingPlanForCreate::builder()
                .restore_testing_plan_name(&plan)
                .schedule_expression(schedule)
                .recovery_point_selection(
                    RestoreTestingRecoveryPointSelection::builder()
                        .algorithm(RestoreTestingRecoveryPointSelectionAlgorithm::LatestWithinWindow)
                        .include_vaults(&vault_arn)
                        .recovery_point_types(RestoreTestingRecoveryPointType::Snapshot)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create restore testing plan");
    backup
        .create_restore_testing_selection()
        .restore_testing_plan_name(&plan)
        .restore_testing_selection(
            RestoreTestingSelectionForCreate::builder()
                .restore_testing_selection_name("dynamodb")
                .iam_role_arn(BACKUP_ROLE)
                .protected_resource_type("DynamoDB")
                .protected_resource_arns(table_arn)
                .validation_window_hours(24)
                .build()
                .unwrap(),
        )
        .customize()
        .mutate_request(move |req| {
            req.headers_mut()
                .insert("x-emulator-duration", (restore_minutes * 60).to_string());
        })
        .send()
        .await
        .expect("create restore testing selection");
    let restore_seconds = (restore_minutes * 60) as f64;
    clock(
        "POST",
        &json!({"advance_seconds": run_at - now + restore_seconds + 1.0}).to_string(),
    )
    .await;
    let mut events = next_events(sdk, &inbox, "Restore Job State Change").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    events.remove(0)
}

async fn describe(
    sdk: &aws_config::SdkConfig,
    job_id: &str,
) -> aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput {
    aws_sdk_backup::Client::new(sdk)
        .describe_restore_job()
        .restore_job_id(job_id)
        .send()
        .await
        .expect("describe restore job")
}

fn epoch(t: Option<&aws_smithy_types::DateTime>) -> f64 {
    t.expect("date").as_secs_f64()
}

#[tokio::test]
async fn a_restored_table_with_its_items_validates_successful_once_with_the_achieved_rpo_and_rto() {
    // GIVEN a production table with items, backed up 20 h ago into the isolated vault, and the
    // restore test AWS Backup runs of it on schedule, which takes 15 minutes
    let sdk = local_aws::sdk_config().await;
    let table = production_table(&sdk, 3).await;
    let event = scheduled_restore_test(&sdk, &table, RESTORE_MINUTES).await;
    let job_id = event["detail"]["restoreJobId"].as_str().unwrap().to_string();
    assert!(event["detail"]["restoreTestingPlanArn"].is_string(), "{event:#}");
    let before = describe(&sdk, &job_id).await;
    let drill = Harness::restore_drill().await;

    // WHEN restore-drill gets the event, and the same event again
    let first = drill.invoke(&event).await;
    let second = drill.invoke(&event).await;

    // THEN AWS Backup records one SUCCESSFUL validation, saying what was checked
    assert_eq!(first["verdict"], "passed", "{first}");
    assert_eq!(first["validation"], "SUCCESSFUL");
    assert_eq!(first["plan"], "production");
    assert_eq!(second, json!({"status": "duplicate"}));
    let after = describe(&sdk, &job_id).await;
    assert_eq!(after.validation_status().map(|s| s.as_str()), Some("SUCCESSFUL"));
    assert!(
        after
            .validation_status_message()
            .unwrap_or("")
            .contains("ACTIVE and a Scan read 3 item"),
        "{:?}",
        after.validation_status_message()
    );
    assert!(drill.alerts(0).await.is_empty(), "a passed drill alerts nobody");
    // AND the EMF line carries the RPO and RTO of the emulator's own timestamps, by plan and type
    let expected_rpo = (epoch(before.creation_date()) - epoch(before.recovery_point_creation_date())) / 3600.0;
    let expected_rto = (epoch(before.completion_date()) - epoch(before.creation_date())) / 60.0;
    let lines = drill.metric_lines("DrillRpoHours");
    assert_eq!(lines.len(), 1, "one drill measured: {lines:#?}");
    let line = &lines[0];
    assert!(
        (line["DrillRpoHours"].as_f64().unwrap() - expected_rpo).abs() < 0.001,
        "{line} vs {expected_rpo}"
    );
    assert!(expected_rpo > BACKUP_AGE_HOURS as f64 && expected_rpo < BACKUP_AGE_HOURS as f64 + 0.1);
    assert!(
        (line["DrillRtoMinutes"].as_f64().unwrap() - expected_rto).abs() < 0.001,
        "{line} vs {expected_rto}"
    );
    assert_eq!(expected_rto, RESTORE_MINUTES as f64, "the restore's own duration");
    assert_eq!(line["DrillsPassed"], 1.0);
    assert_eq!(
        (line["plan"].as_str(), line["resourceType"].as_str()),
        (Some("production"), Some("DynamoDB"))
    );
    assert_eq!(drill.metric_lines("DrillsPassed").len(), 1, "validated once");

    // AND job-alerts, which hears the same restore events, sends no "restore completed" notice
    let job_alerts = Harness::start("job-alerts", &[]).await;
    let answer = job_alerts.invoke(&event).await;
    assert_eq!(answer, json!({"status": "ok"}));
    assert!(job_alerts.alerts(0).await.is_empty());
}

#[tokio::test]
async fn a_restored_empty_table_validates_failed_with_the_reason_and_one_error_alert() {
    // GIVEN a production table that was empty when it was backed up, and its scheduled restore test
    let sdk = local_aws::sdk_config().await;
    let table = production_table(&sdk, 0).await;
    let event = scheduled_restore_test(&sdk, &table, 0).await;
    let job_id = event["detail"]["restoreJobId"].as_str().unwrap().to_string();
    let drill = Harness::restore_drill().await;

    // WHEN restore-drill gets the event twice
    let first = drill.invoke(&event).await;
    let second = drill.invoke(&event).await;

    // THEN the validation is FAILED with the reason, recorded once in AWS Backup
    assert_eq!(first["verdict"], "failed", "{first}");
    assert_eq!(second, json!({"status": "duplicate"}));
    let after = describe(&sdk, &job_id).await;
    assert_eq!(after.validation_status().map(|s| s.as_str()), Some("FAILED"));
    let reason = after.validation_status_message().unwrap_or("");
    assert!(reason.contains("ACTIVE but empty: a Scan found no items"), "{reason}");
    // AND one ERROR alert names the table, the reason and the restore test
    let alerts = drill.alerts(1).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    let name = table.rsplit('/').next().unwrap();
    assert_eq!(
        alert.subject,
        format!("[ERROR] Restore test FAILED: {name} (DynamoDB) 123456789012 eu-west-1")
    );
    assert_eq!(alert.attributes.get("severity").map(String::as_str), Some("ERROR"));
    assert_eq!(alert.document["kind"], "restore_test_failed");
    assert_eq!(alert.document["job"]["id"], job_id.as_str());
    assert!(
        alert.document["reasons"][0].as_str().unwrap().contains("empty"),
        "{:#}",
        alert.document
    );
    assert_eq!(drill.metric_lines("DrillsFailed").len(), 1);
}

#[tokio::test]
async fn in_dry_run_the_validation_it_would_put_is_logged_and_nothing_is_put_or_sent() {
    // GIVEN a restore test of an empty table, and restore-drill in dry run without a state table
    let sdk = local_aws::sdk_config().await;
    let table = production_table(&sdk, 0).await;
    let event = scheduled_restore_test(&sdk, &table, 0).await;
    let job_id = event["detail"]["restoreJobId"].as_str().unwrap().to_string();
    let drill = Harness::start(
        "restore-drill",
        &[
            ("REARGUARD_POLICY", POLICY.to_string()),
            ("DRY_RUN", "true".to_string()),
        ],
    )
    .await;

    // WHEN it gets a malformed event, then the restore test's event
    let malformed = drill.invoke(&rearguard_e2e::sample("malformed-detail")).await;
    let answer = drill.invoke(&event).await;

    // THEN the malformed event is ignored, the drill judged failed, and the exact validation
    // result and alert are only logged: AWS Backup records nothing and the topic stays empty
    assert_eq!(malformed["status"], "ignored", "{malformed}");
    assert_eq!(answer["verdict"], "failed", "{answer}");
    assert!(describe(&sdk, &job_id).await.validation_status().is_none());
    assert!(drill.alerts(0).await.is_empty());
    let logs = drill.function.logs();
    let would_put = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["action"] == "would_put_validation")
        .unwrap_or_else(|| panic!("no would_put_validation line:\n{}", logs.join("\n")));
    assert_eq!(would_put["fields"]["restore_job_id"], job_id.as_str());
    assert_eq!(would_put["fields"]["validation_status"], "FAILED");
    assert!(
        would_put["fields"]["validation_status_message"]
            .as_str()
            .unwrap_or("")
            .contains("ACTIVE but empty"),
        "{would_put}"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("would_publish") && l.contains("Restore test FAILED"))
    );
}

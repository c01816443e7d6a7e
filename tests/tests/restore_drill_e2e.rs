//! restore-drill end to end: a restore testing plan in the local AWS runs when the emulator's
//! clock reaches its schedule, its restore job restores a real DynamoDB table, and the built
//! restore-drill binary, driven through the Lambda Runtime API with that job's event, validates
//! it, reports the result to AWS Backup and alerts on the topic when the drill fails.

use rearguard::drill_record::DrillResult;
use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, Received, create_state_table, unique};
use rearguard_e2e::restore_world::{
    backed_up_in_isolated_vault, create_drill_table, drill_record, orders_database, production_bucket,
    production_table, restore_test_of_type, scheduled_restore_test,
};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::template_roles::{function_env_as_configured, function_role_name};
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
    /// The drill record's table the function writes, when it keeps one.
    drill_table: Option<String>,
}

impl Harness {
    async fn start(binary_name: &str, env: &[(&str, String)]) -> Harness {
        let sdk = local_aws::sdk_config().await;
        let topic = AlertsTopic::create(&sdk, &unique("alerts")).await;
        let api = RuntimeApi::start().await;
        // The function runs as its own role, with template.yaml's policies for these settings.
        let settings: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let role = function_role_name(binary_name);
        let resources = [("AlertTopic", topic.topic_arn.as_str())];
        let mut all: Vec<(&str, String)> = function_env_as_configured(&sdk, &role, &settings, &resources).await;
        all.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
        all.extend(env.iter().cloned());
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = FunctionProcess::spawn(binary(binary_name), &api.address(), &all);
        let drill_table = env
            .iter()
            .find(|(k, _)| *k == "DRILL_TABLE_NAME")
            .map(|(_, v)| v.clone());
        Harness {
            api,
            function,
            topic,
            drill_table,
        }
    }

    async fn restore_drill() -> Harness {
        let sdk = local_aws::sdk_config().await;
        let table = unique("drill-state");
        create_state_table(&sdk, &table).await;
        let drills = unique("drill-record");
        create_drill_table(&sdk, &drills).await;
        Harness::start(
            "restore-drill",
            &[
                ("REARGUARD_POLICY", POLICY.to_string()),
                ("STATE_TABLE_NAME", table),
                ("DRILL_TABLE_NAME", drills),
            ],
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
async fn a_restored_table_with_its_items_validates_successful_once_with_the_achieved_rpo_and_rto_and_is_reported() {
    // GIVEN a production table with items, backed up 20 h ago into the isolated vault, and the
    // restore test AWS Backup runs of it on schedule, which takes 15 minutes
    let sdk = local_aws::sdk_config().await;
    let table = production_table(&sdk, 3).await;
    let event = scheduled_restore_test(&sdk, &table, BACKUP_AGE_HOURS, RESTORE_MINUTES).await;
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
    // AND the drill record holds it once: SUCCESSFUL, the plan, the source, the figures and targets
    let drills = drill.drill_table.clone().expect("a drill table");
    let record = drill_record(&sdk, &drills, &job_id).await.expect("a drill record");
    assert_eq!(record.result, DrillResult::Successful);
    assert_eq!(record.plan.as_deref(), Some("production"));
    assert_eq!(record.resource_type, "DynamoDB");
    assert_eq!(record.source_resource_arn.as_deref(), Some(table.as_str()));
    assert_eq!(record.recovery_point_arn.as_deref(), before.recovery_point_arn());
    assert!((record.rpo_hours.unwrap() - expected_rpo).abs() < 0.001, "{record:?}");
    assert_eq!(record.rto_minutes, Some(expected_rto));
    assert_eq!((record.rpo_target_hours, record.rto_target_hours), (Some(24), Some(4)));
    assert!(record.reason.contains("3 item"), "{record:?}");
    assert_eq!(drill.metric_lines("DrillsRecorded").len(), 1, "recorded once");

    // AND job-alerts, which hears the same restore events, sends no "restore completed" notice
    let job_alerts = Harness::start("job-alerts", &[]).await;
    let answer = job_alerts.invoke(&event).await;
    assert_eq!(answer, json!({"status": "ok"}));
    assert!(job_alerts.alerts(0).await.is_empty());

    // AND compliance-report's daily summary, reading restore-drill's drill record, shows it as
    // the production plan's last successful DynamoDB restore test, not stale
    let bucket = unique("drill-reports");
    local_aws::create_bucket(&sdk, &bucket).await;
    let report = Harness::start(
        "compliance-report",
        &[
            ("REARGUARD_POLICY", POLICY.to_string()),
            ("REPORT_BUCKET", bucket),
            ("DRILL_TABLE_NAME", drills),
        ],
    )
    .await;
    report
        .invoke(
            &json!({"version": "0", "id": unique("tick"), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-27T06:00:00Z",
            "region": "eu-west-1", "resources": [], "detail": {}}),
        )
        .await;
    let summaries = report.alerts(1).await;
    let production = summaries
        .iter()
        .flat_map(|m| m.document["plans"].as_array().cloned().unwrap_or_default())
        .find(|p| p["plan"] == "production")
        .unwrap_or_else(|| panic!("no production plan in {summaries:#?}"));
    let dynamodb = production["drills"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["resourceType"] == "DynamoDB"))
        .unwrap_or_else(|| panic!("no DynamoDB drill in {production:#}"));
    assert_eq!(dynamodb["stale"], false, "{dynamodb}");
    let last: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(dynamodb["lastSuccessfulAt"].clone()).expect("a date");
    assert!(
        (last.timestamp() as f64 - epoch(after.completion_date())).abs() < 1.0,
        "{dynamodb}"
    );
}

#[tokio::test]
async fn a_restored_empty_table_validates_failed_with_the_reason_and_one_error_alert() {
    // GIVEN a production table that was empty when it was backed up, and its scheduled restore test
    let sdk = local_aws::sdk_config().await;
    let table = production_table(&sdk, 0).await;
    let event = scheduled_restore_test(&sdk, &table, BACKUP_AGE_HOURS, 0).await;
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
    // AND the drill record holds it once as FAILED with the reason
    let drills = drill.drill_table.clone().expect("a drill table");
    let record = drill_record(&sdk, &drills, &job_id).await.expect("a drill record");
    assert_eq!(record.result, DrillResult::Failed);
    assert!(record.reason.contains("empty"), "{record:?}");
    assert_eq!(drill.metric_lines("DrillsRecorded").len(), 1, "recorded once");
}

#[tokio::test]
async fn in_dry_run_the_validation_it_would_put_is_logged_and_nothing_is_put_or_sent() {
    // GIVEN a restore test of an empty table, and restore-drill in dry run without a state table
    // but with a drill record
    let sdk = local_aws::sdk_config().await;
    let table = production_table(&sdk, 0).await;
    let event = scheduled_restore_test(&sdk, &table, BACKUP_AGE_HOURS, 0).await;
    let job_id = event["detail"]["restoreJobId"].as_str().unwrap().to_string();
    let drills = unique("drill-record");
    create_drill_table(&sdk, &drills).await;
    let drill = Harness::start(
        "restore-drill",
        &[
            ("REARGUARD_POLICY", POLICY.to_string()),
            ("DRY_RUN", "true".to_string()),
            ("DRILL_TABLE_NAME", drills.clone()),
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
    // AND the drill record it would write is logged, and the table stays empty
    let would_record = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["action"] == "would_record_drill")
        .unwrap_or_else(|| panic!("no would_record_drill line:\n{}", logs.join("\n")));
    let record: Value = serde_json::from_str(would_record["fields"]["record"].as_str().unwrap()).unwrap();
    assert_eq!(record["restoreJobId"], job_id.as_str());
    assert_eq!(record["result"], "FAILED");
    assert!(drill_record(&sdk, &drills, &job_id).await.is_none());
}

#[tokio::test]
async fn a_restored_bucket_with_its_objects_validates_successful_and_an_empty_one_failed_with_the_reason() {
    // GIVEN a production bucket with objects and one that was empty when backed up, each backed up
    // 20 h ago and restored by its scheduled restore test into a new bucket
    let sdk = local_aws::sdk_config().await;
    let full = production_bucket(&sdk, 2).await;
    let empty = production_bucket(&sdk, 0).await;
    let full_vault = backed_up_in_isolated_vault(&sdk, &full, BACKUP_AGE_HOURS).await;
    let full_event = restore_test_of_type(&sdk, &full_vault, &full, "S3", 0).await;
    let empty_vault = backed_up_in_isolated_vault(&sdk, &empty, BACKUP_AGE_HOURS).await;
    let empty_event = restore_test_of_type(&sdk, &empty_vault, &empty, "S3", 0).await;
    let restored = full_event["detail"]["createdResourceArn"].as_str().unwrap().to_string();
    assert!(
        restored.starts_with("arn:aws:s3:::awsbackup-restore-test-"),
        "{full_event:#}"
    );
    let drill = Harness::restore_drill().await;

    // WHEN restore-drill gets both restore tests' events
    let passed = drill.invoke(&full_event).await;
    let failed = drill.invoke(&empty_event).await;

    // THEN the bucket with objects validates SUCCESSFUL, saying what was read
    assert_eq!(passed["verdict"], "passed", "{passed}");
    let job_id = |e: &Value| e["detail"]["restoreJobId"].as_str().unwrap().to_string();
    let after = describe(&sdk, &job_id(&full_event)).await;
    assert_eq!(after.validation_status().map(|s| s.as_str()), Some("SUCCESSFUL"));
    let bucket = restored.trim_start_matches("arn:aws:s3:::");
    assert_eq!(
        after.validation_status_message(),
        Some(format!("bucket {bucket} holds the restored objects (ListObjectsV2 read a key)").as_str())
    );
    // AND the empty one FAILED with the reason, and one ERROR alert names the S3 source
    assert_eq!(failed["verdict"], "failed", "{failed}");
    let after = describe(&sdk, &job_id(&empty_event)).await;
    assert_eq!(after.validation_status().map(|s| s.as_str()), Some("FAILED"));
    let reason = after.validation_status_message().unwrap_or("");
    assert!(reason.ends_with("is empty: ListObjectsV2 found no object"), "{reason}");
    let alerts = drill.alerts(1).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let name = empty.trim_start_matches("arn:aws:s3:::");
    assert_eq!(
        alerts[0].subject,
        format!("[ERROR] Restore test FAILED: {name} (S3) 123456789012 eu-west-1")
    );
}

/// A source resource of each type restore-drill reads through its own service, and the message its
/// validation should put.
async fn sources_of_each_database_file_system_and_instance_type(
    sdk: &aws_config::SdkConfig,
) -> Vec<(String, &'static str)> {
    let rds = aws_sdk_rds::Client::new(sdk);
    let db = orders_database(sdk, Vec::new()).await;
    let cluster = rds
        .create_db_cluster()
        .db_cluster_identifier(unique("orders-cluster"))
        .engine("aurora-postgresql")
        .master_username("app")
        .master_user_password("not-a-real-secret-1")
        .send()
        .await
        .expect("db cluster");
    let file_system = aws_sdk_efs::Client::new(sdk)
        .create_file_system()
        .creation_token(unique("shared"))
        .send()
        .await
        .expect("file system");
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let images = ec2.describe_images().owners("amazon").send().await.expect("images");
    let image = images.images()[0].image_id().unwrap().to_string();
    let launched = ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Small)
        .send()
        .await
        .expect("instance");
    let instance = launched.instances()[0].instance_id().unwrap();
    vec![
        (db, "RDS"),
        (
            cluster.db_cluster().unwrap().db_cluster_arn().unwrap().to_string(),
            "Aurora",
        ),
        (file_system.file_system_arn().unwrap().to_string(), "EFS"),
        (format!("arn:aws:ec2:eu-west-1:123456789012:instance/{instance}"), "EC2"),
    ]
}

#[tokio::test]
async fn restored_databases_clusters_file_systems_and_instances_validate_successful_with_what_was_checked() {
    // GIVEN a Postgres instance (20 GiB gp3), an Aurora PostgreSQL cluster, a file system and an
    // instance, each backed up 20 h ago and restored by its scheduled restore test
    let sdk = local_aws::sdk_config().await;
    let mut events = Vec::new();
    for (source, resource_type) in sources_of_each_database_file_system_and_instance_type(&sdk).await {
        let vault = backed_up_in_isolated_vault(&sdk, &source, BACKUP_AGE_HOURS).await;
        events.push((
            resource_type,
            restore_test_of_type(&sdk, &vault, &source, resource_type, 0).await,
        ));
    }
    let drill = Harness::restore_drill().await;

    for (resource_type, event) in &events {
        // WHEN restore-drill gets the restore test's event
        let answer = drill.invoke(event).await;

        // THEN AWS Backup records a SUCCESSFUL validation saying what was checked
        assert_eq!(answer["verdict"], "passed", "{resource_type}: {answer}");
        let job = describe(&sdk, event["detail"]["restoreJobId"].as_str().unwrap()).await;
        assert_eq!(job.validation_status().map(|s| s.as_str()), Some("SUCCESSFUL"));
        let created = event["detail"]["createdResourceArn"].as_str().unwrap();
        let name = created.rsplit(['/', ':']).next().unwrap();
        let expected = match *resource_type {
            "RDS" => {
                format!("DB instance {name} is available with its source's engine postgres and storage (20 GiB gp3)")
            }
            "Aurora" => format!("DB cluster {name} is available with its source's engine aurora-postgresql"),
            "EFS" => format!("file system {name} is available"),
            _ => format!("instance {name} is running and passed its status checks"),
        };
        assert_eq!(
            job.validation_status_message(),
            Some(expected.as_str()),
            "{resource_type}"
        );
    }
    assert!(drill.alerts(0).await.is_empty(), "passed drills alert nobody");
}

//! Restore testing in the local AWS: a production table, its backup in an isolated vault, and a
//! restore testing plan that the emulator runs when its clock reaches the plan's schedule
//! ("Restore testing": "When the scheduled time in your plan arrives, AWS Backup starts restore
//! jobs based on your plan"). Used by restore-drill's end-to-end tests and the demo.

use aws_sdk_backup::types::{
    RestoreTestingPlanForCreate, RestoreTestingRecoveryPointSelection, RestoreTestingRecoveryPointSelectionAlgorithm,
    RestoreTestingRecoveryPointType, RestoreTestingSelectionForCreate,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
};
use chrono::{Datelike, Timelike};
use serde_json::{Value, json};

use crate::backup_world::{BACKUP_ROLE, backup_with, next_events, vault};
use crate::local_aws::{self, rule_to_queue, unique};

/// The emulator's control endpoint (`/_emulator/clock`), through curl.
pub async fn clock(method: &str, body: &str) -> f64 {
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

/// The orders database (Postgres, 20 GiB gp3), with `tags`; returns its ARN.
pub async fn orders_database(sdk: &aws_config::SdkConfig, tags: Vec<aws_sdk_rds::types::Tag>) -> String {
    aws_sdk_rds::Client::new(sdk)
        .create_db_instance()
        .db_instance_identifier(unique("orders-db"))
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .storage_type("gp3")
        .master_username("app")
        .master_user_password("not-a-real-secret-1")
        .set_tags(Some(tags))
        .send()
        .await
        .expect("db instance")
        .db_instance()
        .and_then(|db| db.db_instance_arn())
        .expect("db instance arn")
        .to_string()
}

/// A DynamoDB table in the production plan (backup tag) holding `items` paid orders.
pub async fn production_table(sdk: &aws_config::SdkConfig, items: usize) -> String {
    orders_table(sdk, "production", items).await
}

/// A DynamoDB table in backup plan `plan` (its `backup-plan` tag) holding `items` paid orders;
/// returns its ARN.
pub async fn orders_table(sdk: &aws_config::SdkConfig, plan: &str, items: usize) -> String {
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
        .tags(Tag::builder().key("backup-plan").value(plan).build().unwrap())
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
            .item("status", AttributeValue::S("paid".into()))
            .send()
            .await
            .expect("put item");
    }
    arn
}

/// Backs the table up into an isolated vault `backup_age_hours` ago, schedules a restore testing
/// plan of that vault at the next whole minute of the emulator's clock, moves the clock past it,
/// and past the restore's `restore_minutes`, and returns the restore test's COMPLETED event as the
/// default bus delivered it.
pub async fn scheduled_restore_test(
    sdk: &aws_config::SdkConfig,
    table_arn: &str,
    backup_age_hours: i64,
    restore_minutes: i64,
) -> Value {
    let vault_arn = backed_up_in_isolated_vault(sdk, table_arn, backup_age_hours).await;
    restore_test_of(sdk, &vault_arn, table_arn, restore_minutes).await
}

/// Backs the table up into a new isolated vault `backup_age_hours` ago; returns the vault's ARN.
pub async fn backed_up_in_isolated_vault(
    sdk: &aws_config::SdkConfig,
    table_arn: &str,
    backup_age_hours: i64,
) -> String {
    let vault_name = unique("isolated");
    let vault_arn = vault(sdk, &vault_name, None).await;
    let now = clock("GET", "").await;
    let taken = (now as i64 - backup_age_hours * 3600).to_string();
    backup_with(sdk, &vault_name, table_arn, &[("x-emulator-time", taken)])
        .await
        .expect("a recovery point");
    vault_arn
}

/// Schedules a restore testing plan of the vault's latest point of the table at the next whole
/// minute of the emulator's clock, moves the clock past it and past the restore's
/// `restore_minutes`, and returns the restore test's COMPLETED event as the default bus delivered it.
pub async fn restore_test_of(
    sdk: &aws_config::SdkConfig,
    vault_arn: &str,
    table_arn: &str,
    restore_minutes: i64,
) -> Value {
    restore_test_of_type(sdk, vault_arn, table_arn, "DynamoDB", restore_minutes).await
}

/// An S3 bucket in the production plan (backup tag) holding `objects` order files.
pub async fn production_bucket(sdk: &aws_config::SdkConfig, objects: usize) -> String {
    let s3 = aws_sdk_s3::Client::new(sdk);
    let name = unique("orders");
    crate::local_aws::create_bucket(sdk, &name).await;
    let tag = aws_sdk_s3::types::Tag::builder()
        .key("backup-plan")
        .value("production")
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket(&name)
        .tagging(aws_sdk_s3::types::Tagging::builder().tag_set(tag).build().unwrap())
        .send()
        .await
        .expect("tag bucket");
    for i in 0..objects {
        s3.put_object()
            .bucket(&name)
            .key(format!("orders/{i}.json"))
            .body(aws_sdk_s3::primitives::ByteStream::from_static(
                br#"{"status": "paid"}"#,
            ))
            .send()
            .await
            .expect("put object");
    }
    format!("arn:aws:s3:::{name}")
}

/// Held from reading the emulator's clock to moving it past a restore testing plan's run.
static CLOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Like [`restore_test_of`], for a protected resource of any AWS Backup resource type.
pub async fn restore_test_of_type(
    sdk: &aws_config::SdkConfig,
    vault_arn: &str,
    resource_arn: &str,
    resource_type: &str,
    restore_minutes: i64,
) -> Value {
    let backup = aws_sdk_backup::Client::new(sdk);
    // The emulator has one clock, and the tests of a file run at once: another test moving it
    // past this plan's minute before the plan exists would leave the plan nothing to run.
    let _clock = CLOCK.lock().await;
    let now = clock("GET", "").await;
    let inbox = rule_to_queue(
        sdk,
        None,
        &unique("restore-tests"),
        &json!({"source": ["aws.backup"], "detail-type": ["Restore Job State Change"],
                "detail": {"sourceResourceArn": [resource_arn], "status": ["COMPLETED"]}}),
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
                        .include_vaults(vault_arn)
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
                .restore_testing_selection_name(resource_type.to_lowercase())
                .iam_role_arn(BACKUP_ROLE)
                .protected_resource_type(resource_type)
                .protected_resource_arns(resource_arn)
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

/// The drill record's table as the template defines it (`DrillRecordTable`): key
/// `restore_job_id`, and the sparse index of successful drills by plan and type.
pub async fn create_drill_table(sdk: &aws_config::SdkConfig, name: &str) {
    use aws_sdk_dynamodb::types::{GlobalSecondaryIndex, Projection, ProjectionType};
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("restore_job_id"))
        .attribute_definitions(attribute("successful_plan_type"))
        .attribute_definitions(attribute("drilled_at"))
        .key_schema(key("restore_job_id", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(rearguard::drill_record::SUCCESSFUL_INDEX)
                .key_schema(key("successful_plan_type", KeyType::Hash))
                .key_schema(key("drilled_at", KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create drill table");
}

/// The drill record's item of one restore job, if any.
pub async fn drill_record(
    sdk: &aws_config::SdkConfig,
    table: &str,
    restore_job_id: &str,
) -> Option<rearguard::drill_record::DrillRecord> {
    let out = aws_sdk_dynamodb::Client::new(sdk)
        .get_item()
        .table_name(table)
        .key("restore_job_id", AttributeValue::S(restore_job_id.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get drill record");
    rearguard::drill_record::DrillRecord::from_item(out.item()?)
}

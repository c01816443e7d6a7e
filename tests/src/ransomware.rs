//! The demo's last scene, the seed's ransomware story to its end: ransomware encrypts a production
//! table's items and marks the production database; yesterday's recovery points in the isolated
//! vault are restored (as AWS Backup's restore testing restores them), restore-drill validates each
//! restored resource, and the achieved RPO and RTO of each are printed.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use std::time::Duration;

use crate::function::{FunctionProcess, binary};
use crate::local_aws::{self, AlertsTopic, create_state_table, unique};
use crate::restore_world::{
    backed_up_in_isolated_vault, orders_database, production_table, restore_test_of, restore_test_of_type,
};
use crate::runtime_api::{Answer, RuntimeApi};

const WAIT: Duration = Duration::from_secs(30);
const POLICY: &str = r#"{"tag_key": "backup-plan", "plans": {"production": {"rpo_hours": 24, "rto_hours": 4}}}"#;
/// Last night's backup, this many hours before the restore starts.
const BACKUP_AGE_HOURS: i64 = 22;
/// How long the restore of the table takes.
const RESTORE_MINUTES: i64 = 38;
/// How long the restore of the database takes.
const DB_RESTORE_MINUTES: i64 = 71;
const RANSOM_MARK: &str = "ENCRYPTED-BY-RANSOMWARE";
const ORDERS: usize = 25;

async fn statuses(sdk: &SdkConfig, table: &str) -> Vec<String> {
    let items = aws_sdk_dynamodb::Client::new(sdk)
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    items
        .iter()
        .map(|item| {
            item.get("status")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn name_of(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// The production orders database (Postgres, 20 GiB gp3), in the backup plan by its tag.
async fn production_database(sdk: &SdkConfig) -> String {
    let plan_tag = aws_sdk_rds::types::Tag::builder()
        .key("backup-plan")
        .value("production")
        .build();
    orders_database(sdk, vec![plan_tag]).await
}

/// restore-drill's answer for one restore test, and what AWS Backup recorded of its validation.
async fn validate(sdk: &SdkConfig, api: &RuntimeApi, drill: &FunctionProcess, event: &Value) {
    let answer: Value = match api.invoke(event, WAIT).await {
        Ok(Answer::Response(v)) => v,
        other => panic!("{other:?}\n{}", drill.logs().join("\n")),
    };
    let job = aws_sdk_backup::Client::new(sdk)
        .describe_restore_job()
        .restore_job_id(event["detail"]["restoreJobId"].as_str().unwrap_or(""))
        .send()
        .await
        .expect("describe restore job");
    let restored = event["detail"]["createdResourceArn"].as_str().unwrap_or("");
    println!(
        "validated    {} {} by restore-drill: {}",
        name_of(restored),
        job.validation_status().map(|s| s.as_str()).unwrap_or("none"),
        job.validation_status_message().unwrap_or("")
    );
    let rpo = answer["rpoHours"].as_f64().unwrap_or(f64::NAN);
    let rto = answer["rtoMinutes"].as_f64().unwrap_or(f64::NAN);
    println!(
        "achieved     {}: RPO {rpo:.1} h ({} the plan's 24 h), RTO {rto:.0} min ({} the plan's 4 h)",
        event["detail"]["resourceType"].as_str().unwrap_or(""),
        if rpo <= 24.0 { "within" } else { "over" },
        if rto <= 240.0 { "within" } else { "over" }
    );
    println!(
        "cleaned up   AWS Backup deletes the restored copy once validated (DeletionStatus {})",
        job.deletion_status().map(|s| s.as_str()).unwrap_or("pending")
    );
}

pub async fn run(sdk: &SdkConfig) {
    println!("\n=== the end of the story: ransomware, and the restore from the isolated vault ===\n");
    let table = production_table(sdk, ORDERS).await;
    let name = name_of(&table).to_string();
    // Last night's backup went to the isolated vault.
    let vault = backed_up_in_isolated_vault(sdk, &table, BACKUP_AGE_HOURS).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    for i in 0..ORDERS {
        dynamodb
            .put_item()
            .table_name(&name)
            .item("pk", AttributeValue::S(format!("order-{i}")))
            .item("status", AttributeValue::S(RANSOM_MARK.into()))
            .send()
            .await
            .expect("overwrite");
    }
    let database = production_database(sdk).await;
    let database_vault = backed_up_in_isolated_vault(sdk, &database, BACKUP_AGE_HOURS).await;
    aws_sdk_rds::Client::new(sdk)
        .add_tags_to_resource()
        .resource_name(&database)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("ransom-note")
                .value(RANSOM_MARK)
                .build(),
        )
        .send()
        .await
        .expect("mark the database");
    let encrypted = statuses(sdk, &name).await;
    println!(
        "ransomware   {name}: {} of {ORDERS} orders now read {:?}",
        encrypted.iter().filter(|s| *s == RANSOM_MARK).count(),
        encrypted.first().map(String::as_str).unwrap_or("")
    );
    println!("ransomware   {}: marked {RANSOM_MARK}", name_of(&database));
    // The restore of that point, as AWS Backup's restore testing runs it, takes its time.
    let event = restore_test_of(sdk, &vault, &table, RESTORE_MINUTES).await;
    let restored = event["detail"]["createdResourceArn"].as_str().unwrap_or("").to_string();
    println!(
        "restore      from {} (isolated vault) into {}",
        event["detail"]["recoveryPointArn"].as_str().unwrap_or(""),
        name_of(&restored)
    );

    let back = statuses(sdk, name_of(&restored)).await;
    println!(
        "restored     {}: {} orders, {} of them {:?} as before the attack",
        name_of(&restored),
        back.len(),
        back.iter().filter(|s| *s == "paid").count(),
        "paid"
    );

    let db_event = restore_test_of_type(sdk, &database_vault, &database, "RDS", DB_RESTORE_MINUTES).await;
    println!(
        "restore      from {} (isolated vault) into {}",
        db_event["detail"]["recoveryPointArn"].as_str().unwrap_or(""),
        name_of(db_event["detail"]["createdResourceArn"].as_str().unwrap_or(""))
    );

    let topic = AlertsTopic::create(sdk, &unique("ransomware-alerts")).await;
    let state = unique("ransomware-state");
    create_state_table(sdk, &state).await;
    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.extend([
        ("ALERT_TOPIC_ARN", topic.topic_arn.clone()),
        ("REARGUARD_POLICY", POLICY.to_string()),
        ("STATE_TABLE_NAME", state),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let drill = FunctionProcess::spawn(binary("restore-drill"), &api.address(), &env);
    validate(sdk, &api, &drill, &event).await;
    validate(sdk, &api, &drill, &db_event).await;
    let alerts = topic.receive(0, Duration::from_secs(2)).await;
    println!(
        "alerts       {}",
        if alerts.is_empty() {
            "none: both drills passed".to_string()
        } else {
            json!(alerts.len()).to_string()
        }
    );
}

//! The run command's last act: the seed scenario end to end against the local AWS. Three
//! accounts (platform, workloads, isolated); 50 EC2 instances, 10 RDS databases, 5 EFS file
//! systems and 20 DynamoDB tables; creation events enrolled by tag-enrollment; the nightly backups
//! (one fails, and recovers) alerted by job-alerts; completed backups copied to us-west-2 and the
//! isolated account by cross-account-copy in each workload account; and compliance-report's daily
//! summary over both workload accounts.

use aws_config::SdkConfig;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::backup_world::{
    acting_in, allow_copies_from, backup_events_inbox_all, backup_with, create_role, customer_key, lock_vault,
    share_key_with, vault,
};
use crate::function::{FunctionProcess, binary};
use crate::local_aws::{self, AlertsTopic, create_state_table, drain_queue};
use crate::runtime_api::{Answer, RuntimeApi};
use crate::sample;

const WAIT: Duration = Duration::from_secs(30);
pub const PLATFORM: &str = "123456789012";
pub const WORKLOADS: &str = "222233334444";
pub const ISOLATED: &str = "444455556666";
/// The story plays in a region of its own, so the earlier scenes' resources stay out of it.
pub const REGION: &str = "eu-central-1";
const MEMBER_ROLE: &str = "rearguard-member";

/// A function under its own Runtime API, acting with the given credentials.
struct Running {
    api: RuntimeApi,
    process: FunctionProcess,
}

impl Running {
    async fn start(name: &str, env: Vec<(&'static str, String)>) -> Running {
        let api = RuntimeApi::start().await;
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let process = FunctionProcess::spawn(binary(name), &api.address(), &env);
        Running { api, process }
    }

    async fn invoke(&self, event: &Value) -> Value {
        match self.api.invoke(event, WAIT).await {
            Ok(Answer::Response(v)) => v,
            other => panic!("{other:?}\n{}", self.process.logs().join("\n")),
        }
    }
}

/// The environment of a function deployed in `account` (credentials of a role there).
async fn env_in(sdk: &SdkConfig, account: &str) -> Vec<(&'static str, String)> {
    let mut env = local_aws::function_env();
    env.retain(|(k, _)| *k != "AWS_REGION");
    env.push(("AWS_REGION", REGION.to_string()));
    if account != PLATFORM {
        create_role(sdk, account, "rearguard-deploy").await;
        let credentials = aws_sdk_sts::Client::new(sdk)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/rearguard-deploy"))
            .role_session_name("story")
            .send()
            .await
            .expect("assume role")
            .credentials
            .expect("credentials");
        env.retain(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"));
        env.push(("AWS_ACCESS_KEY_ID", credentials.access_key_id));
        env.push(("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key));
        env.push(("AWS_SESSION_TOKEN", credentials.session_token));
    }
    env
}

fn cloudtrail(sample_name: &str, account: &str, patch: impl FnOnce(&mut Value)) -> Value {
    let mut event = sample(sample_name);
    event["id"] = json!(crate::local_aws::unique("ct"));
    event["account"] = json!(account);
    event["region"] = json!(REGION);
    event["detail"]["recipientAccountId"] = json!(account);
    event["detail"]["awsRegion"] = json!(REGION);
    patch(&mut event["detail"]);
    event
}

fn tag_items(tags: &[(&str, &str)]) -> Vec<Value> {
    tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect()
}

/// One workload account's resources: their ARNs and the creation events CloudTrail sent.
struct Created {
    arns: Vec<(String, &'static str)>,
    events: Vec<Value>,
}

async fn create_workloads(sdk: &SdkConfig, account: &str, scale: usize) -> Created {
    let config = acting_in(sdk, (account != PLATFORM).then_some(account), REGION).await;
    let key = customer_key(&config).await;
    // Snapshots under this key are copied to the isolated account, which needs the key shared.
    share_key_with(&config, &key, ISOLATED).await;
    let mut created = Created {
        arns: Vec::new(),
        events: Vec::new(),
    };
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let image = ec2.describe_images().send().await.expect("images").images()[0]
        .image_id()
        .expect("ami")
        .to_string();
    let (instances, dbs, filesystems, tables) = (5 * scale, scale, scale / 2, 2 * scale);
    for (environment, count) in [("Production", instances - 2), ("Staging", 2)] {
        let tags = [("Environment", environment)];
        let spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("Environment")
                    .value(environment)
                    .build(),
            )
            .build();
        let output = ec2
            .run_instances()
            .image_id(&image)
            .min_count(count as i32)
            .max_count(count as i32)
            .tag_specifications(spec)
            .send()
            .await
            .expect("run instances");
        let ids: Vec<String> = output
            .instances()
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        for id in &ids {
            created
                .arns
                .push((format!("arn:aws:ec2:{REGION}:{account}:instance/{id}"), "EC2"));
        }
        created
            .events
            .push(cloudtrail("cloudtrail-run-instances-three", account, |d| {
                d["requestParameters"]["tagSpecificationSet"]["items"][0]["tags"] = json!(tag_items(&tags));
                d["responseElements"]["instancesSet"]["items"] = json!(
                    ids.iter()
                        .map(|id| json!({"instanceId": id, "tagSet": {"items": tag_items(&tags)}}))
                        .collect::<Vec<_>>()
                );
            }));
    }
    let rds = aws_sdk_rds::Client::new(&config);
    for i in 0..dbs {
        let name = format!("orders-{i}");
        let mut request = rds
            .create_db_instance()
            .db_instance_identifier(&name)
            .db_instance_class("db.t4g.micro")
            .engine("postgres")
            .allocated_storage(20)
            .master_username("app")
            .master_user_password("not-a-real-secret-1")
            .storage_encrypted(true)
            .tags(
                aws_sdk_rds::types::Tag::builder()
                    .key("Environment")
                    .value("Production")
                    .build(),
            );
        // One database still uses the AWS managed key: its copy to the isolated account is refused.
        if i > 0 {
            request = request.kms_key_id(&key);
        }
        request.send().await.expect("create db");
        let arn = format!("arn:aws:rds:{REGION}:{account}:db:{name}");
        created.arns.push((arn.clone(), "RDS"));
        created
            .events
            .push(cloudtrail("cloudtrail-create-db-instance", account, |d| {
                d["requestParameters"]["dBInstanceIdentifier"] = json!(name);
                d["requestParameters"]["tags"] = json!(tag_items(&[("Environment", "Production")]));
                d["responseElements"]["dBInstanceIdentifier"] = json!(name);
                d["responseElements"]["dBInstanceArn"] = json!(arn);
                d["responseElements"]["tagList"] = json!(tag_items(&[("Environment", "Production")]));
            }));
    }
    let efs = aws_sdk_efs::Client::new(&config);
    for i in 0..=filesystems {
        let legacy = i == filesystems;
        let mut request = efs
            .create_file_system()
            .creation_token(format!("share-{account}-{i}"))
            .encrypted(true);
        if !legacy {
            request = request.tags(
                aws_sdk_efs::types::Tag::builder()
                    .key("Environment")
                    .value("Production")
                    .build()
                    .unwrap(),
            );
        }
        let fs = request.send().await.expect("create file system");
        let arn = fs.file_system_arn().map(str::to_string).unwrap_or_else(|| {
            format!(
                "arn:aws:elasticfilesystem:{REGION}:{account}:file-system/{}",
                fs.file_system_id()
            )
        });
        // Created before Rearguard was deployed: no event, so no tag.
        if legacy {
            continue;
        }
        created.arns.push((arn.clone(), "EFS"));
        let id = fs.file_system_id().to_string();
        created
            .events
            .push(cloudtrail("cloudtrail-create-file-system", account, |d| {
                d["requestParameters"]["tags"] = json!(tag_items(&[("Environment", "Production")]));
                d["responseElements"]["fileSystemId"] = json!(id);
                d["responseElements"]["fileSystemArn"] = json!(arn);
                d["responseElements"]["tags"] = json!(tag_items(&[("Environment", "Production")]));
            }));
    }
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    for i in 0..tables {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        // The first two tables hold the ledger, kept seven years in a locked vault.
        let mut tags = vec![("Environment", "Production")];
        let name = if i < 2 {
            tags.push(("DataClass", "Compliance"));
            format!("ledger-{i}")
        } else {
            format!("events-{i}")
        };
        let mut request = dynamodb
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
            );
        for (key, value) in &tags {
            request = request.tags(
                aws_sdk_dynamodb::types::Tag::builder()
                    .key(*key)
                    .value(*value)
                    .build()
                    .unwrap(),
            );
        }
        request.send().await.expect("create table");
        let arn = format!("arn:aws:dynamodb:{REGION}:{account}:table/{name}");
        created.arns.push((arn.clone(), "DynamoDB"));
        created.events.push(cloudtrail("cloudtrail-create-table", account, |d| {
            d["requestParameters"]["tableName"] = json!(name);
            d["requestParameters"]["tags"] = json!(tag_items(&tags));
            d["responseElements"]["tableDescription"]["tableName"] = json!(name);
            d["responseElements"]["tableDescription"]["tableArn"] = json!(arn);
        }));
    }
    created
}

async fn plan_tag(config: &SdkConfig, arn: &str) -> Option<String> {
    aws_sdk_resourcegroupstagging::Client::new(config)
        .get_resources()
        .resource_arn_list(arn)
        .send()
        .await
        .expect("tags")
        .resource_tag_mapping_list()
        .iter()
        .flat_map(|m| m.tags())
        .find(|t| t.key() == "backup-plan")
        .map(|t| t.value().to_string())
}

pub async fn run(sdk: &SdkConfig) {
    println!("\n=== the whole story: three accounts, one deploy, one night ===\n");
    println!(
        "accounts  {PLATFORM} (platform: Rearguard runs here, and its workloads), {WORKLOADS} (workloads), {ISOLATED} (isolated vault)"
    );
    let platform = acting_in(sdk, None, REGION).await;
    let workloads = acting_in(sdk, Some(WORKLOADS), REGION).await;
    // templates/member-account.yaml's role, which tag-enrollment and compliance-report assume.
    create_role(sdk, WORKLOADS, MEMBER_ROLE).await;
    let isolated_vault = vault(
        &acting_in(sdk, Some(ISOLATED), REGION).await,
        "rearguard-isolated",
        Some(&customer_key(&acting_in(sdk, Some(ISOLATED), REGION).await).await),
    )
    .await;
    // The isolated vault takes copies from both accounts (its access policy, as
    // templates/destination-account.yaml writes it).
    allow_copies_from(
        &acting_in(sdk, Some(ISOLATED), REGION).await,
        "rearguard-isolated",
        &[PLATFORM, WORKLOADS],
    )
    .await;
    for (config, account) in [(&platform, None), (&workloads, Some(WORKLOADS))] {
        vault(config, "rearguard-production", None).await;
        vault(config, "rearguard-staging", None).await;
        // The compliance plan's vault: a compliance-mode lock set up ten days ago with three
        // days' grace, so it is immutable now ("AWS Backup Vault Lock").
        vault(config, "rearguard-compliance", None).await;
        lock_vault(config, "rearguard-compliance", 2557, Some(3), 10).await;
        let west = acting_in(sdk, account, "us-west-2").await;
        vault(&west, "rearguard-story-dr", Some(&customer_key(&west).await)).await;
    }

    // The resources: 6/4 split of 50 EC2, 10 RDS, 5 EFS (one of them legacy) and 20 DynamoDB.
    let a = create_workloads(sdk, PLATFORM, 6).await;
    let b = create_workloads(sdk, WORKLOADS, 4).await;
    let count = |kind: &str| a.arns.iter().chain(&b.arns).filter(|(_, k)| *k == kind).count();
    println!(
        "create    {} EC2 instances, {} RDS databases, {} EFS file systems (+2 legacy ones from before Rearguard), {} DynamoDB tables",
        count("EC2"),
        count("RDS"),
        count("EFS"),
        count("DynamoDB")
    );

    // Each account's stack has its own topic and state table; the platform's is the one people read.
    let topic = AlertsTopic::create(&platform, "rearguard-alerts").await;
    let topic_b = AlertsTopic::create(&workloads, "rearguard-alerts").await;
    create_state_table(&platform, "rearguard-state").await;
    create_state_table(&workloads, "rearguard-state").await;
    let home = env_in(sdk, PLATFORM).await;
    let with = |topic: &AlertsTopic, mut env: Vec<(&'static str, String)>, extra: &[(&'static str, String)]| {
        env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
        env.push(("STATE_TABLE_NAME", "rearguard-state".to_string()));
        env.extend(extra.iter().cloned());
        env
    };

    // One policy for the whole stack, read by every function: the plans, the copies production
    // needs (to the isolated account, and to the DR vault in us-west-2 of each backup's own
    // account), and how new resources are enrolled.
    let policy = json!({
        "opt_out": {"value": "none", "reason_tag_key": "backup-opt-out-reason"},
        "resource_types": ["EC2", "RDS", "DynamoDB", "EFS"],
        "vaults": {
            "rearguard-production": {},
            "rearguard-compliance": {},
            "rearguard-story-dr": {"region": "us-west-2"},
            "rearguard-isolated": {"arn": isolated_vault}
        },
        "plans": {
            "production": {"vault": "rearguard-production", "rpo_hours": 24, "copies": [
                {"vault": "rearguard-isolated", "rpo_hours": 48, "lifecycle": {"delete_after_days": 35}},
                {"vault": "rearguard-story-dr", "rpo_hours": 48, "lifecycle": {"delete_after_days": 35}}
            ]},
            "staging": {"rpo_hours": 168},
            "compliance": {"vault": "rearguard-compliance", "rpo_hours": 744, "retention_days": 2557,
                "vault_lock": {"mode": "compliance", "min_retention_days": 2557}}
        },
        "enrollment": {
            "mode": "enforce",
            "defaults": [{"when": {"DataClass": "Compliance"}, "plan": "compliance"},
                {"when": {"Environment": "Production"}, "plan": "production"}, {"when": {"Environment": "Staging"}, "plan": "staging"}],
            "fallback_plan": "staging"
        }
    })
    .to_string();
    let copy_role = (
        "COPY_ROLE_ARN",
        "arn:aws:iam::123456789012:role/rearguard-backup-copy".to_string(),
    );

    // tag-enrollment, in the platform account; the workload account's events arrive forwarded.
    let enrollment = Running::start(
        "tag-enrollment",
        with(
            &topic,
            home.clone(),
            &[
                ("REARGUARD_POLICY", policy.clone()),
                ("MEMBER_ROLE_NAME", MEMBER_ROLE.into()),
            ],
        ),
    )
    .await;
    for event in a.events.iter().chain(&b.events) {
        enrollment.invoke(event).await;
    }
    let mut plans: BTreeMap<String, usize> = BTreeMap::new();
    let mut planned: Vec<(String, &'static str, String, bool)> = Vec::new();
    for (created, config, account) in [(&a, &platform, PLATFORM), (&b, &workloads, WORKLOADS)] {
        for (arn, kind) in &created.arns {
            let plan = plan_tag(config, arn).await.unwrap_or_default();
            *plans.entry(plan.clone()).or_default() += 1;
            planned.push((arn.clone(), kind, plan, account == PLATFORM));
        }
    }
    let enrolment_messages = topic.receive(2, WAIT).await;
    println!(
        "enroll    {} creation events through tag-enrollment -> {} resources tagged: {}; {} notice message(s) (digests)",
        a.events.len() + b.events.len(),
        planned.len(),
        plans
            .iter()
            .map(|(p, n)| format!("{n}x backup-plan={p}"))
            .collect::<Vec<_>>()
            .join(", "),
        enrolment_messages.len()
    );

    // cross-account-copy in each workload account; job-alerts in the platform account.
    let copies_a = Running::start(
        "cross-account-copy",
        with(
            &topic,
            home.clone(),
            &[("REARGUARD_POLICY", policy.clone()), copy_role.clone()],
        ),
    )
    .await;
    let copies_b = Running::start(
        "cross-account-copy",
        with(
            &topic_b,
            env_in(sdk, WORKLOADS).await,
            &[("REARGUARD_POLICY", policy.clone()), copy_role.clone()],
        ),
    )
    .await;
    let alerts = Running::start("job-alerts", with(&topic, home.clone(), &[])).await;
    let inbox_a = backup_events_inbox_all(&platform, "story-backup-events").await;
    let inbox_b = backup_events_inbox_all(&workloads, "story-backup-events").await;

    // The nightly plans: production backs up every production resource, staging ran 3 days ago,
    // the monthly compliance backup 10 days ago.
    let now = chrono::Utc::now().timestamp();
    // orders-1 (orders-0 is the one under the AWS managed key).
    let failing = a
        .arns
        .iter()
        .filter(|(_, k)| *k == "RDS")
        .nth(1)
        .map(|(arn, _)| arn.clone())
        .unwrap_or_default();
    let mut jobs = 0;
    for (arn, _, plan, in_platform) in &planned {
        let config = if *in_platform { &platform } else { &workloads };
        let (vault_name, hours) = match plan.as_str() {
            "production" => ("rearguard-production", 3),
            "compliance" => ("rearguard-compliance", 240),
            _ => ("rearguard-staging", 72),
        };
        let mut headers = vec![
            ("x-emulator-plan", format!("rearguard-{plan}")),
            ("x-emulator-time", (now - hours * 3600).to_string()),
        ];
        if *arn == failing {
            headers.push((
                "x-emulator-fail",
                "Unable to perform kms:DescribeKey on key. Access denied.".to_string(),
            ));
        }
        backup_with(config, vault_name, arn, &headers).await;
        jobs += 1;
    }
    let events_a = drain_queue(&platform, &inbox_a, Duration::from_secs(5)).await;
    let events_b = drain_queue(&workloads, &inbox_b, Duration::from_secs(5)).await;
    let (mut requested, mut refused) = (0, 0);
    let mut alerted = 0;
    for (events, copier) in [(&events_a, &copies_a), (&events_b, &copies_b)] {
        for event in events {
            if event["detail"]["state"] == "FAILED" {
                alerts.invoke(event).await;
                alerted += 1;
                continue;
            }
            let answer = copier.invoke(event).await;
            requested += answer["copies"].as_array().map_or(0, Vec::len);
            refused += answer["refused"].as_u64().unwrap_or(0);
        }
    }
    println!(
        "backup    {jobs} backup jobs from the nightly plans: {} completed, {alerted} failed (alerted by job-alerts)",
        jobs - alerted
    );
    println!(
        "copy      Backup Job COMPLETED events through cross-account-copy -> {requested} copies requested (us-west-2 and {ISOLATED}), {refused} refused"
    );

    // The failed backup's retry succeeds: job-alerts says it recovered, and it is copied too.
    backup_with(
        &platform,
        "rearguard-production",
        &failing,
        &[("x-emulator-plan", "rearguard-production".into())],
    )
    .await;
    for event in drain_queue(&platform, &inbox_a, Duration::from_secs(5)).await {
        if event["detail-type"] == "Backup Job State Change" {
            alerts.invoke(&event).await;
        }
        let answer = copies_a.invoke(&event).await;
        requested += answer["copies"].as_array().map_or(0, Vec::len);
    }
    println!(
        "recover   the failed backup of {} is retried and completes -> recovered, and copied ({requested} copies in all)",
        failing.rsplit(':').next().unwrap_or("")
    );

    // The daily report over both workload accounts.
    let s3 = aws_sdk_s3::Client::new(sdk);
    crate::local_aws::create_bucket(sdk, "rearguard-story-reports").await;
    let report = Running::start(
        "compliance-report",
        with(
            &topic,
            home.clone(),
            &[
                ("REARGUARD_POLICY", policy.clone()),
                ("REPORT_BUCKET", "rearguard-story-reports".into()),
                ("REPORT_ACCOUNTS", format!("{PLATFORM},{WORKLOADS}")),
                ("REPORT_REGIONS", REGION.into()),
                ("MEMBER_ROLE_NAME", MEMBER_ROLE.into()),
            ],
        ),
    )
    .await;
    let answer = report
        .invoke(
            &json!({"version": "0", "id": "story-daily", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": PLATFORM, "time": "2026-11-26T06:00:00Z", "region": REGION, "resources": [], "detail": {}}),
        )
        .await;
    let messages = topic.receive(4, WAIT).await;
    println!("\nmessages on the platform account's topic since the enrolment notices:");
    for message in &messages {
        println!("  {}", message.subject);
    }
    println!("messages on the workload account's topic:");
    for message in topic_b.receive(1, WAIT).await {
        println!("  {}", message.subject);
    }
    let Some(summary) = messages.iter().find(|m| m.document["kind"] == "compliance_report") else {
        panic!("no compliance summary\n{}", report.process.logs().join("\n"))
    };
    println!(
        "\nreport    s3://rearguard-story-reports/{}.json and .html",
        answer["reportKey"].as_str().unwrap_or("")
    );
    println!("\n  {}", summary.subject);
    let doc = &summary.document;
    for plan in doc["plans"].as_array().into_iter().flatten() {
        let copies = plan["copiesMissing"]
            .as_u64()
            .map(|m| format!(", {m} without their copies within 48h"))
            .unwrap_or_default();
        let lock = plan["lockState"]
            .as_str()
            .map(|state| format!(", vault lock: {state}"))
            .unwrap_or_default();
        if plan["expected"] == 0 {
            println!("      {:<11} no members{lock}", plan["plan"].as_str().unwrap_or(""));
            continue;
        }
        println!(
            "      {:<11} {:>5.1}%  {}/{} within RPO, {} stale, {} never backed up{copies}{lock}",
            plan["plan"].as_str().unwrap_or(""),
            plan["coveragePercent"].as_f64().unwrap_or(0.0),
            plan["protected"],
            plan["expected"],
            plan["stale"],
            plan["neverBackedUp"]
        );
    }
    println!(
        "      untagged {}   unknown plan {}   opted out {}",
        doc["untagged"], doc["unknownPlan"], doc["optedOut"]
    );
    let object = s3
        .get_object()
        .bucket("rearguard-story-reports")
        .key(format!("{}.json", answer["reportKey"].as_str().unwrap_or("")))
        .send()
        .await
        .expect("report");
    let full: Value =
        serde_json::from_slice(&object.body.collect().await.expect("body").into_bytes()).expect("report JSON");
    println!("\n  resources without a backup tag (from the report in S3: nothing selects them):");
    for resource in full["untagged"].as_array().into_iter().flatten() {
        println!(
            "      {} ({}, {})",
            resource["arn"]
                .as_str()
                .unwrap_or("")
                .rsplit([':', '/'])
                .next()
                .unwrap_or(""),
            resource["resourceType"].as_str().unwrap_or(""),
            resource["account"].as_str().unwrap_or("")
        );
    }
}

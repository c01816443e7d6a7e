//! compliance-report end to end: an account of its own in the local AWS emulator (reached through
//! AssumeRole, in a region no other test uses), tagged and untagged resources, backup and copy
//! history from the emulator's job extension, a locked vault; the built binary under the Lambda
//! Runtime API; then the report in S3, the summary on the topic, the event on the bus, and the
//! HTML page rendered by headless Chromium.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use rearguard_e2e::backup_world::{acting_in, backup_with, create_role, vault};
use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, unique};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const ACCOUNT: &str = "777788889999";
const REGION: &str = "ap-southeast-2";

async fn instance(sdk: &SdkConfig, plan: Option<&str>, extra: &[(&str, &str)]) -> String {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let image = ec2.describe_images().send().await.expect("images").images()[0]
        .image_id()
        .expect("ami")
        .to_string();
    let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
    for (k, v) in plan
        .map(|p| ("backup-plan", p))
        .into_iter()
        .chain(extra.iter().copied())
    {
        spec = spec.tags(Tag::builder().key(k).value(v).build());
    }
    let output = ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .tag_specifications(spec.build())
        .send()
        .await
        .expect("run instances");
    let id = output.instances()[0].instance_id().unwrap().to_string();
    format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{id}")
}

async fn table(sdk: &SdkConfig, plan: Option<&str>) -> String {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let name = unique("orders");
    let mut request = aws_sdk_dynamodb::Client::new(sdk)
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
    if let Some(plan) = plan {
        request = request.tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("backup-plan")
                .value(plan)
                .build()
                .unwrap(),
        );
    }
    request.send().await.expect("create table");
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
}

fn hours_ago(hours: i64) -> (&'static str, String) {
    (
        "x-emulator-time",
        (chrono::Utc::now().timestamp() - hours * 3600).to_string(),
    )
}

/// Runs Debian's Chromium headless on the page: returns the DOM it rendered and writes a screenshot.
fn render_in_chromium(page: &std::path::Path, screenshot: &std::path::Path) -> String {
    let chromium = ["chromium", "/usr/bin/chromium"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is not installed: `make test` installs it (Debian package chromium)");
    let profile = std::env::temp_dir().join(unique("chromium-profile"));
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ];
    let url = format!("file://{}", page.display());
    let dom = Command::new(chromium)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let shot = Command::new(chromium)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let _ = std::fs::remove_dir_all(profile);
    String::from_utf8(dom.stdout).expect("utf-8 DOM")
}

#[tokio::test]
async fn a_report_on_another_account_lands_in_s3_on_the_topic_and_renders_in_chromium() {
    let sdk = local_aws::sdk_config().await;
    let there = acting_in(&sdk, Some(ACCOUNT), REGION).await;
    let west = acting_in(&sdk, Some(ACCOUNT), "us-west-2").await;
    let production = vault(&there, "production", None).await;
    let dr = vault(&west, "dr", None).await;
    let compliance = vault(&there, "compliance", None).await;
    aws_sdk_backup::Client::new(&there)
        .put_backup_vault_lock_configuration()
        .backup_vault_name("compliance")
        .min_retention_days(2555)
        .max_retention_days(2555)
        .send()
        .await
        .expect("lock");

    let fresh = instance(&there, Some("production"), &[]).await;
    let stale = instance(&there, Some("production"), &[]).await;
    let stopped = instance(&there, Some("production"), &[]).await;
    aws_sdk_ec2::Client::new(&there)
        .stop_instances()
        .instance_ids(stopped.rsplit('/').next().unwrap())
        .send()
        .await
        .expect("stop");
    instance(
        &there,
        Some("none"),
        &[("backup-opt-out-reason", "scratch, rebuilt nightly")],
    )
    .await;
    let staging_table = table(&there, Some("staging")).await;
    let untagged_table = table(&there, None).await;
    let point = backup_with(&there, "production", &fresh, &[hours_ago(2)])
        .await
        .unwrap();
    backup_with(&there, "production", &stale, &[hours_ago(30)])
        .await
        .unwrap();
    backup_with(&there, "production", &staging_table, &[hours_ago(72)])
        .await
        .unwrap();
    aws_sdk_backup::Client::new(&there)
        .start_copy_job()
        .recovery_point_arn(&point)
        .source_backup_vault_name("production")
        .destination_backup_vault_arn(&dr)
        .iam_role_arn(rearguard_e2e::backup_world::BACKUP_ROLE)
        .send()
        .await
        .expect("copy");
    assert!(production.ends_with(":production"));

    let bucket = unique("rearguard-reports");
    aws_sdk_s3::Client::new(&sdk)
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("bucket");
    let topic = AlertsTopic::create(&sdk, &unique("compliance")).await;
    let (bus, inbox) =
        local_aws::bus_with_inbox(&sdk, &unique("compliance-events"), "rearguard.compliance-report").await;
    // The compliance vault is named, so it is looked up in the account and Region reported on.
    assert!(compliance.ends_with(":backup-vault:compliance"));
    let policy = json!({
        "opt_out": {"value": "none", "reason_tag_key": "backup-opt-out-reason"},
        "resource_types": ["EC2", "DynamoDB"],
        "vaults": {"dr": {"arn": dr}, "compliance": {}},
        "plans": {
            "production": {"rpo_hours": 24, "copies": [{"vault": "dr", "rpo_hours": 48}]},
            "staging": {"rpo_hours": 168},
            "compliance": {"rpo_hours": 744, "vault": "compliance", "vault_lock": {"mode": "compliance"}}
        }
    });
    create_role(&sdk, ACCOUNT, "rearguard-compliance-reader").await;
    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.extend([
        ("ALERT_TOPIC_ARN", topic.topic_arn.clone()),
        ("REARGUARD_POLICY", policy.to_string()),
        ("REPORT_BUCKET", bucket.clone()),
        ("REPORT_ACCOUNTS", ACCOUNT.to_string()),
        ("REPORT_REGIONS", REGION.to_string()),
        ("MEMBER_ROLE_NAME", "rearguard-compliance-reader".to_string()),
        ("EVENT_BUS_NAME", bus),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = FunctionProcess::spawn(binary("compliance-report"), &api.address(), &env);
    let tick = json!({"version": "0", "id": unique("tick"), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-26T06:00:00Z", "region": "eu-west-1", "resources": [], "detail": {}});

    let answer = match api.invoke(&tick, WAIT).await {
        Ok(Answer::Response(v)) => v,
        other => panic!("{other:?}\n{}", function.logs().join("\n")),
    };

    assert_eq!(answer["status"], "reported", "{answer}");
    assert_eq!(answer["overall"]["expected"], 4, "{answer}");
    assert_eq!(answer["overall"]["protected"], 2);
    assert_eq!(answer["overall"]["percent"], 50.0);
    assert_eq!(answer["untagged"], 1);
    let key = answer["reportKey"].as_str().unwrap();
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let read = |suffix: &'static str| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        let key = format!("{key}{suffix}");
        async move {
            let object = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("report object");
            object.body.collect().await.expect("body").into_bytes().to_vec()
        }
    };
    let report: Value = serde_json::from_slice(&read(".json").await).expect("report JSON");
    let plan = |name: &str| {
        report["plans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["plan"] == name)
            .unwrap()
            .clone()
    };
    let production_plan = plan("production");
    assert_eq!(production_plan["coverage"]["protected"], 1);
    assert_eq!(production_plan["stale"][0]["resource"]["arn"], stale.as_str());
    assert_eq!(production_plan["neverBackedUp"][0]["arn"], stopped.as_str());
    assert_eq!(production_plan["neverBackedUp"][0]["stopped"], true);
    assert_eq!(production_plan["copy"]["withinRpo"], 1);
    assert_eq!(plan("staging")["coverage"]["percent"], 100.0);
    assert_eq!(plan("compliance")["vaultLock"]["vault"]["locked"], true);
    assert_eq!(report["untagged"][0]["arn"], untagged_table.as_str());
    assert_eq!(report["optedOut"][0]["value"], "scratch, rebuilt nightly");

    let summary = topic.receive(1, WAIT).await;
    assert_eq!(summary.len(), 1);
    assert_eq!(
        summary[0].subject,
        format!("[ERROR] Backup compliance 50.0%: 2/4 within RPO, 2 without a copy ({ACCOUNT} in {REGION})")
    );
    let events = local_aws::drain_queue(&sdk, &inbox, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "Compliance Report");
    assert_eq!(events[0]["detail"]["overall"]["percent"], 50.0);

    // The HTML page, as a browser renders it: no external assets, the coverage figures on screen.
    let html = read(".html").await;
    let dir = rearguard_e2e::workspace_root()
        .join("target")
        .join("compliance-report-check");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    let screenshot = dir.join("report.png");
    std::fs::write(&page, &html).unwrap();
    let dom = render_in_chromium(&page, &screenshot);
    assert!(dom.contains("<span id=\"overall\" class=\"pct\">50.0%</span>"), "{dom}");
    assert!(
        dom.contains("<tr data-plan=\"production\">") && dom.contains(">33.3%</span>"),
        "{dom}"
    );
    assert!(dom.contains("never backed up (stopped)"), "{dom}");
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 20_000,
        "a rendered page, not a blank one: {} bytes",
        png.len()
    );
}

//! compliance-report end to end: an account of its own in the local AWS emulator (reached through
//! AssumeRole, in a region no other test uses), tagged and untagged resources, backup and copy
//! history from the emulator's job extension, a locked vault; the built binary under the Lambda
//! Runtime API; then the report in S3, the summary on the topic, the event on the bus, and the
//! HTML page rendered by headless Chromium.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use rearguard_e2e::backup_world::{acting_in, backup_with, lock_vault, vault};
use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, unique};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::template_roles::{PLATFORM, deploy_template_role, function_env_as, function_role_arn};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const ACCOUNT: &str = "777788889999";
const REGION: &str = "ap-southeast-2";
/// The function's own role in the platform account (SAM names it after `ComplianceReportFunction`).
const FUNCTION_ROLE: &str = "rearguard-ComplianceReportFunctionRole";

/// templates/member-account.yaml's read-only role in `account`, trusting the function's role, as
/// a member stack with the central stack's ComplianceReportRoleArn creates it; returns its name.
async fn deploy_reader_role(sdk: &SdkConfig, account: &str) -> String {
    let report_role = function_role_arn(FUNCTION_ROLE);
    deploy_template_role(
        sdk,
        "member-account.yaml",
        "ComplianceReaderRole",
        account,
        &[
            ("CentralAccountId", PLATFORM),
            (
                "CentralRoleArn",
                "arn:aws:iam::123456789012:role/rearguard-TagEnrollmentFunctionRole",
            ),
            ("ReportRoleArn", &report_role),
        ],
    )
    .await
}

/// An instance in the config's account (`account`) and the test Region.
async fn instance_in(sdk: &SdkConfig, account: &str, plan: Option<&str>, extra: &[(&str, &str)]) -> String {
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
    let tagged = plan.is_some() || !extra.is_empty();
    let output = ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .set_tag_specifications(tagged.then(|| vec![spec.build()]))
        .send()
        .await
        .expect("run instances");
    let id = output.instances()[0].instance_id().unwrap().to_string();
    format!("arn:aws:ec2:{REGION}:{account}:instance/{id}")
}

async fn instance(sdk: &SdkConfig, plan: Option<&str>, extra: &[(&str, &str)]) -> String {
    instance_in(sdk, ACCOUNT, plan, extra).await
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
    // A compliance-mode lock configured ten days ago with three days' grace: immutable now.
    lock_vault(&there, "compliance", 2557, Some(3), 10).await;

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
    local_aws::create_bucket(&sdk, &bucket).await;
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
            "compliance": {"rpo_hours": 744, "retention_days": 2557, "vault": "compliance",
                "vault_lock": {"mode": "compliance", "min_retention_days": 2557}}
        }
    });
    let reader = deploy_reader_role(&sdk, ACCOUNT).await;
    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = function_env_as(&sdk, FUNCTION_ROLE).await;
    env.extend([
        ("ALERT_TOPIC_ARN", topic.topic_arn.clone()),
        ("REARGUARD_POLICY", policy.to_string()),
        ("REPORT_BUCKET", bucket.clone()),
        ("REPORT_ACCOUNTS", ACCOUNT.to_string()),
        ("REPORT_REGIONS", REGION.to_string()),
        ("MEMBER_ROLE_NAME", reader),
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
    // The headline: resources meeting every requirement of their plan (the fresh instance with
    // its copy, the staging table) out of all that should be protected, the untagged table too.
    assert_eq!(answer["overall"]["expected"], 5, "{answer}");
    assert_eq!(answer["overall"]["protected"], 2);
    assert_eq!(answer["overall"]["percent"], 40.0);
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
    assert_eq!(plan("compliance")["vaultLock"]["state"], "compliance");
    assert_eq!(plan("compliance")["vaultLock"]["holds"], true);
    assert_eq!(report["untagged"][0]["arn"], untagged_table.as_str());
    assert_eq!(report["optedOut"][0]["value"], "scratch, rebuilt nightly");

    let summary = topic.receive(1, WAIT).await;
    assert_eq!(summary.len(), 1);
    assert_eq!(
        summary[0].subject,
        format!("[ERROR] Backup compliance 40.0% (2/5): 1 untagged, 2 not copied ({ACCOUNT} in {REGION})")
    );
    let events = local_aws::drain_queue(&sdk, &inbox, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "Compliance Report");
    assert_eq!(events[0]["detail"]["overall"]["percent"], 40.0);

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
    assert!(dom.contains("<span id=\"overall\" class=\"pct\">40.0%</span>"), "{dom}");
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

/// The built function reporting on one account, writing to its own bucket.
struct Reporter {
    sdk: SdkConfig,
    api: RuntimeApi,
    function: FunctionProcess,
    bucket: String,
}

impl Reporter {
    async fn start(sdk: &SdkConfig, account: &str, regions: &[&str], policy: &Value) -> Reporter {
        // The member account's read-only role, as templates/member-account.yaml creates it.
        let reader = deploy_reader_role(sdk, account).await;
        let bucket = unique("rearguard-reports");
        local_aws::create_bucket(sdk, &bucket).await;
        let topic = AlertsTopic::create(sdk, &unique("compliance")).await;
        let api = RuntimeApi::start().await;
        let mut env: Vec<(&str, String)> = function_env_as(sdk, FUNCTION_ROLE).await;
        env.extend([
            ("ALERT_TOPIC_ARN", topic.topic_arn.clone()),
            ("REARGUARD_POLICY", policy.to_string()),
            ("REPORT_BUCKET", bucket.clone()),
            ("REPORT_ACCOUNTS", account.to_string()),
            ("REPORT_REGIONS", regions.join(",")),
            ("MEMBER_ROLE_NAME", reader),
        ]);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = FunctionProcess::spawn(binary("compliance-report"), &api.address(), &env);
        Reporter {
            sdk: sdk.clone(),
            api,
            function,
            bucket,
        }
    }

    async fn invoke(&self, payload: &Value) -> Value {
        match self.api.invoke(payload, WAIT).await {
            Ok(Answer::Response(v)) => v,
            other => panic!("{other:?}\n{}", self.function.logs().join("\n")),
        }
    }

    /// A scheduled run: the whole report, as written to S3.
    async fn report(&self) -> Value {
        let tick = json!({"version": "0", "id": unique("tick"), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-26T06:00:00Z", "region": "eu-west-1", "resources": [], "detail": {}});
        let answer = self.invoke(&tick).await;
        assert_eq!(answer["status"], "reported", "{answer}");
        let key = format!("{}.json", answer["reportKey"].as_str().unwrap());
        let object = aws_sdk_s3::Client::new(&self.sdk)
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .expect("report object");
        serde_json::from_slice(&object.body.collect().await.expect("body").into_bytes()).expect("report JSON")
    }

    async fn keys(&self) -> Vec<String> {
        aws_sdk_s3::Client::new(&self.sdk)
            .list_objects_v2()
            .bucket(&self.bucket)
            .send()
            .await
            .expect("list reports")
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }
}

fn plan_row<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plan"] == name)
        .unwrap_or_else(|| panic!("no plan {name} in {report}"))
}

#[tokio::test]
async fn only_a_compliance_lock_past_its_lock_date_with_the_promised_retention_holds() {
    const HERE: &str = "777788880001";
    let sdk = local_aws::sdk_config().await;
    let there = acting_in(&sdk, Some(HERE), REGION).await;
    for name in ["governance", "cooling", "immutable", "short"] {
        vault(&there, name, None).await;
    }
    vault(&there, "Default", None).await;
    // "AWS Backup Vault Lock": without ChangeableForDays a lock is in governance mode; with it,
    // it can be deleted until its lock date.
    lock_vault(&there, "governance", 2557, None, 10).await;
    lock_vault(&there, "cooling", 2557, Some(3), 0).await;
    lock_vault(&there, "immutable", 2557, Some(3), 10).await;
    lock_vault(&there, "short", 2555, Some(3), 10).await;
    let inside = instance_in(&there, HERE, Some("immutable"), &[]).await;
    let outside = instance_in(&there, HERE, Some("immutable"), &[]).await;
    backup_with(&there, "immutable", &inside, &[hours_ago(2)])
        .await
        .unwrap();
    backup_with(&there, "Default", &outside, &[hours_ago(2)]).await.unwrap();
    let locked_plan = |vault: &str| {
        json!({"rpo_hours": 744, "retention_days": 2557, "vault": vault,
            "vault_lock": {"mode": "compliance", "min_retention_days": 2557}})
    };
    let policy = json!({
        "resource_types": ["EC2"],
        "vaults": {"governance": {}, "cooling": {}, "immutable": {}, "short": {}},
        "plans": {"governance": locked_plan("governance"), "cooling": locked_plan("cooling"),
            "immutable": locked_plan("immutable"), "short": locked_plan("short")}
    });
    let reporter = Reporter::start(&sdk, HERE, &[REGION], &policy).await;

    let report = reporter.report().await;

    let lock = |plan: &str| plan_row(&report, plan)["vaultLock"].clone();
    assert_eq!(
        (
            lock("governance")["state"].as_str(),
            lock("governance")["holds"].as_bool()
        ),
        (Some("governance"), Some(false))
    );
    assert_eq!(
        (lock("cooling")["state"].as_str(), lock("cooling")["holds"].as_bool()),
        (Some("cooling_off"), Some(false))
    );
    assert_eq!(
        (
            lock("immutable")["state"].as_str(),
            lock("immutable")["holds"].as_bool()
        ),
        (Some("compliance"), Some(true))
    );
    assert_eq!(
        (lock("short")["state"].as_str(), lock("short")["holds"].as_bool()),
        (Some("compliance"), Some(false))
    );
    assert_eq!(
        lock("short")["problems"][0],
        "MinRetentionDays 2555 is below the 2557 days the plan promises"
    );
    // Both members are within the RPO; only the one backed up into the locked vault is protected.
    let immutable = plan_row(&report, "immutable");
    assert_eq!(immutable["coverage"]["protected"], 2, "{immutable}");
    assert_eq!(immutable["fullyProtected"], 1);
    assert_eq!(lock("immutable")["outsideVault"][0]["arn"], outside.as_str());
}

#[tokio::test]
async fn a_copy_made_today_of_a_week_old_backup_is_stale_for_a_48h_copy_rpo() {
    const HERE: &str = "777788880002";
    let sdk = local_aws::sdk_config().await;
    let there = acting_in(&sdk, Some(HERE), REGION).await;
    vault(&there, "production", None).await;
    let dr = vault(&there, "dr", None).await;
    let old_copy = instance_in(&there, HERE, Some("production"), &[]).await;
    let fresh_copy = instance_in(&there, HERE, Some("production"), &[]).await;
    // Both backed up two hours ago; one's copy is made today from its week-old backup.
    let week_old = backup_with(&there, "production", &old_copy, &[hours_ago(7 * 24)])
        .await
        .unwrap();
    backup_with(&there, "production", &old_copy, &[hours_ago(2)])
        .await
        .unwrap();
    let fresh = backup_with(&there, "production", &fresh_copy, &[hours_ago(2)])
        .await
        .unwrap();
    for point in [week_old, fresh] {
        aws_sdk_backup::Client::new(&there)
            .start_copy_job()
            .recovery_point_arn(point)
            .source_backup_vault_name("production")
            .destination_backup_vault_arn(&dr)
            .iam_role_arn(rearguard_e2e::backup_world::BACKUP_ROLE)
            .send()
            .await
            .expect("copy");
    }
    let policy = json!({
        "resource_types": ["EC2"],
        "vaults": {"dr": {"arn": dr}},
        "plans": {"production": {"rpo_hours": 24, "copies": [{"vault": "dr", "rpo_hours": 48}]}}
    });
    let reporter = Reporter::start(&sdk, HERE, &[REGION], &policy).await;

    let report = reporter.report().await;

    let production = plan_row(&report, "production");
    assert_eq!(production["coverage"]["protected"], 2, "{production}");
    assert_eq!(production["copy"]["withinRpo"], 1, "{production}");
    assert_eq!(production["copy"]["missing"][0]["resource"]["arn"], old_copy.as_str());
    // Its only copy is of a backup older than the copy RPO's window: no copy counts.
    assert_eq!(production["copy"]["missing"][0]["lastCopy"], Value::Null);
}

#[tokio::test]
async fn a_deleted_newest_recovery_point_no_longer_protects_its_resource() {
    const HERE: &str = "777788880003";
    let sdk = local_aws::sdk_config().await;
    let there = acting_in(&sdk, Some(HERE), REGION).await;
    vault(&there, "production", None).await;
    let older_left = instance_in(&there, HERE, Some("production"), &[]).await;
    let nothing_left = instance_in(&there, HERE, Some("production"), &[]).await;
    backup_with(&there, "production", &older_left, &[hours_ago(40)])
        .await
        .unwrap();
    let newest = backup_with(&there, "production", &older_left, &[hours_ago(2)])
        .await
        .unwrap();
    let only = backup_with(&there, "production", &nothing_left, &[hours_ago(2)])
        .await
        .unwrap();
    for point in [newest, only] {
        aws_sdk_backup::Client::new(&there)
            .delete_recovery_point()
            .backup_vault_name("production")
            .recovery_point_arn(point)
            .send()
            .await
            .expect("delete recovery point");
    }
    let policy = json!({"resource_types": ["EC2"], "plans": {"production": {"rpo_hours": 24}}});
    let reporter = Reporter::start(&sdk, HERE, &[REGION], &policy).await;

    let report = reporter.report().await;

    let production = plan_row(&report, "production");
    assert_eq!(production["coverage"]["protected"], 0, "{production}");
    assert_eq!(production["stale"][0]["resource"]["arn"], older_left.as_str());
    assert_eq!(
        production["stale"][0]["newerLost"],
        "its newest recovery point was deleted"
    );
    assert!((production["stale"][0]["ageHours"].as_f64().unwrap() - 40.0).abs() < 0.1);
    assert_eq!(production["neverBackedUp"][0]["arn"], nothing_left.as_str());
}

#[tokio::test]
async fn five_fan_out_requests_at_once_give_five_reports_and_another_accounts_request_is_refused() {
    const HERE: &str = "777788880004";
    let sdk = local_aws::sdk_config().await;
    let regions = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1"];
    let policy = json!({"resource_types": ["EC2"], "plans": {"production": {"rpo_hours": 24}}});
    let reporter = Reporter::start(&sdk, HERE, &regions, &policy).await;
    // One SQS batch of five requests, one per Region, all answered in the same second.
    let records: Vec<Value> = regions
        .iter()
        .map(|region| json!({"messageId": unique("m"), "body": json!({"accounts": [HERE], "regions": [region]}).to_string()}))
        .collect();

    let answer = reporter.invoke(&json!({"Records": records})).await;

    assert_eq!(answer["reports"].as_array().map(Vec::len), Some(5), "{answer}");
    let keys = reporter.keys().await;
    assert_eq!(keys.iter().filter(|k| k.ends_with(".json")).count(), 5, "{keys:?}");
    assert_eq!(keys.iter().filter(|k| k.ends_with(".html")).count(), 5, "{keys:?}");

    // A request put on the bus by another account is refused and writes nothing.
    let foreign = json!({"version": "0", "id": unique("req"), "detail-type": "Rearguard Compliance Report Requested",
        "source": "rearguard.ops", "account": "999988887777", "time": "2026-11-26T06:00:00Z", "region": "eu-west-1",
        "resources": [], "detail": {"accounts": [HERE]}});
    let answer = reporter.invoke(&foreign).await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert_eq!(
        reporter.keys().await.len(),
        10,
        "nothing written for the refused request"
    );
    let logs = reporter.function.logs().join("\n");
    assert!(
        logs.contains("report request refused") && logs.contains("a report request from account 999988887777"),
        "{logs}"
    );
}

#[tokio::test]
async fn clusters_are_typed_by_engine_and_attached_volumes_count_with_their_instance() {
    const HERE: &str = "777788880005";
    let sdk = local_aws::sdk_config().await;
    let there = acting_in(&sdk, Some(HERE), REGION).await;
    let server = instance_in(&there, HERE, None, &[]).await;
    let ec2 = aws_sdk_ec2::Client::new(&there);
    let loose = ec2
        .create_volume()
        .availability_zone(format!("{REGION}a"))
        .size(8)
        .send()
        .await
        .expect("volume")
        .volume_id()
        .unwrap()
        .to_string();
    let rds = aws_sdk_rds::Client::new(&there);
    for (id, engine) in [("graph", "neptune"), ("ledger", "aurora-postgresql")] {
        rds.create_db_cluster()
            .db_cluster_identifier(id)
            .engine(engine)
            .master_username("admin")
            .master_user_password("not-a-secret-1")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{engine} cluster: {}", aws_sdk_rds::error::DisplayErrorContext(e)));
    }
    let policy =
        json!({"resource_types": ["EC2", "EBS", "Aurora", "Neptune"], "plans": {"production": {"rpo_hours": 24}}});
    let reporter = Reporter::start(&sdk, HERE, &[REGION], &policy).await;

    let report = reporter.report().await;

    let mut untagged: Vec<(String, String)> = report["untagged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resourceType"].as_str().unwrap().to_string(),
                short(r["arn"].as_str().unwrap()),
            )
        })
        .collect();
    untagged.sort();
    let mut expected = vec![
        ("Aurora".to_string(), "ledger".to_string()),
        ("EBS".to_string(), loose),
        ("EC2".to_string(), short(&server)),
        ("Neptune".to_string(), "graph".to_string()),
    ];
    expected.sort();
    assert_eq!(untagged, expected, "the instance's root volume is backed up with it");
}

fn short(arn: &str) -> String {
    arn.rsplit(['/', ':']).next().unwrap().to_string()
}

#[tokio::test]
async fn buckets_are_listed_in_their_region_and_an_unversioned_one_cannot_be_backed_up() {
    const HERE: &str = "777788880006";
    let sdk = local_aws::sdk_config().await;
    let there = acting_in(&sdk, Some(HERE), REGION).await;
    let s3 = aws_sdk_s3::Client::new(&there);
    let bucket = |region: &'static str| {
        let sdk = sdk.clone();
        let name = unique("data");
        async move {
            // Each Region's endpoint creates its own buckets.
            let s3 = aws_sdk_s3::Client::new(&acting_in(&sdk, Some(HERE), region).await);
            s3.create_bucket()
                .bucket(&name)
                .create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                        .build(),
                )
                .send()
                .await
                .expect("create bucket");
            s3.put_bucket_tagging()
                .bucket(&name)
                .tagging(
                    aws_sdk_s3::types::Tagging::builder()
                        .tag_set(
                            aws_sdk_s3::types::Tag::builder()
                                .key("backup-plan")
                                .value("production")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("tag bucket");
            name
        }
    };
    let versioned = bucket(REGION).await;
    let unversioned = bucket(REGION).await;
    let elsewhere = bucket("eu-west-2").await;
    s3.put_bucket_versioning()
        .bucket(&versioned)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    let policy = json!({"resource_types": ["S3"], "plans": {"production": {"rpo_hours": 24}}});
    let reporter = Reporter::start(&sdk, HERE, &[REGION], &policy).await;

    let report = reporter.report().await;

    let never: Vec<&Value> = plan_row(&report, "production")["neverBackedUp"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let names: Vec<String> = never.iter().map(|r| short(r["arn"].as_str().unwrap())).collect();
    assert!(
        names.contains(&versioned) && names.contains(&unversioned),
        "{names:?} {report}"
    );
    assert!(
        !names.contains(&elsewhere),
        "a bucket of another Region is reported there"
    );
    for resource in never {
        assert_eq!(resource["resourceType"], "S3");
        let unversioned_one = short(resource["arn"].as_str().unwrap()) == unversioned;
        assert_eq!(resource["cannotBackUp"].is_string(), unversioned_one, "{resource}");
    }
}

#[tokio::test]
async fn a_backup_still_running_at_report_time_neither_counts_nor_raises_a_false_alarm() {
    const HERE: &str = "777788880007";
    let sdk = local_aws::sdk_config().await;
    let there = acting_in(&sdk, Some(HERE), REGION).await;
    vault(&there, "production", None).await;
    let yesterdays = instance_in(&there, HERE, Some("production"), &[]).await;
    let first_ever = instance_in(&there, HERE, Some("production"), &[]).await;
    // Yesterday's backup ended 26 hours ago; today's backups of both are still running.
    backup_with(&there, "production", &yesterdays, &[hours_ago(26)])
        .await
        .unwrap();
    for resource in [&yesterdays, &first_ever] {
        let running = backup_with(
            &there,
            "production",
            resource,
            &[("x-emulator-duration", "7200".to_string())],
        )
        .await;
        assert_eq!(running, None, "no recovery point while the job runs");
    }
    // A daily rule with a 1 h start window and a 4 h completion window: 29 h RPO.
    let policy = json!({"resource_types": ["EC2"], "plans": {"production": {"schedule": {
        "expression": "cron(0 5 * * ? *)", "start_window_minutes": 60, "completion_window_minutes": 240}}}});
    let reporter = Reporter::start(&sdk, HERE, &[REGION], &policy).await;

    let report = reporter.report().await;

    let production = plan_row(&report, "production");
    assert_eq!(production["rpoHours"], 29, "{production}");
    assert_eq!(production["coverage"]["protected"], 1, "{production}");
    assert!(production["stale"].as_array().unwrap().is_empty(), "{production}");
    assert_eq!(production["neverBackedUp"][0]["arn"], first_ever.as_str());
}

#[tokio::test]
async fn the_report_gives_each_scanned_plan_its_clean_rpo() {
    const HERE: &str = "777788880008";
    let sdk = local_aws::sdk_config().await;
    let there = acting_in(&sdk, Some(HERE), REGION).await;
    vault(&there, "production", None).await;
    let scanned = instance_in(&there, HERE, Some("production"), &[]).await;
    let unscanned = instance_in(&there, HERE, Some("production"), &[]).await;
    let clean = backup_with(&there, "production", &scanned, &[hours_ago(30)])
        .await
        .unwrap();
    let infected = backup_with(&there, "production", &scanned, &[hours_ago(2)])
        .await
        .unwrap();
    backup_with(&there, "production", &unscanned, &[hours_ago(2)])
        .await
        .unwrap();
    for (point, result) in [(&clean, "NO_THREATS_FOUND"), (&infected, "THREATS_FOUND")] {
        rearguard_e2e::backup_world::scan(&there, "production", point, ("x-emulator-scan-result", result)).await;
    }
    let policy = json!({"resource_types": ["EC2"], "plans": {"production": {"rpo_hours": 24}}});
    let reporter = Reporter::start(&sdk, HERE, &[REGION], &policy).await;

    let report = reporter.report().await;

    // The 2-hour-old backup holds malware: the newest clean one is 30 hours old.
    let clean_status = &plan_row(&report, "production")["clean"];
    assert_eq!(clean_status["scannedClean"], 1, "{clean_status}");
    assert!(
        (clean_status["cleanRpoHours"].as_f64().unwrap() - 30.0).abs() < 0.1,
        "{clean_status}"
    );
    assert_eq!(clean_status["neverClean"][0]["arn"], unscanned.as_str());
}

/// compliance-report in the emulator's default account and Region (where restore-drill runs),
/// with the drill record and the stack's restore test schedule; the first report's JSON and HTML.
async fn report_with_drill_record(sdk: &SdkConfig, policy: &Value, drills: &str, schedule: &str) -> (Value, String) {
    let bucket = unique("drill-reports");
    local_aws::create_bucket(sdk, &bucket).await;
    let topic = AlertsTopic::create(sdk, &unique("drill-summary")).await;
    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.extend([
        ("ALERT_TOPIC_ARN", topic.topic_arn.clone()),
        ("REARGUARD_POLICY", policy.to_string()),
        ("REPORT_BUCKET", bucket.clone()),
        ("DRILL_TABLE_NAME", drills.to_string()),
        ("RESTORE_TEST_SCHEDULE", schedule.to_string()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = FunctionProcess::spawn(binary("compliance-report"), &api.address(), &env);
    let tick = json!({"version": "0", "id": unique("tick"), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-26T06:00:00Z", "region": "eu-west-1", "resources": [], "detail": {}});
    let answer = match api.invoke(&tick, WAIT).await {
        Ok(Answer::Response(v)) => v,
        other => panic!("{other:?}\n{}", function.logs().join("\n")),
    };
    let key = answer["reportKey"].as_str().unwrap_or_else(|| panic!("{answer}"));
    let read = |suffix: &str| {
        let s3 = aws_sdk_s3::Client::new(sdk);
        let (bucket, key) = (bucket.clone(), format!("{key}{suffix}"));
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
    let report = serde_json::from_slice(&read(".json").await).expect("report JSON");
    let html = String::from_utf8(read(".html").await).expect("utf-8 page");
    (report, html)
}

#[tokio::test]
async fn the_last_successful_drill_comes_from_the_drill_record_and_is_stale_by_the_restore_test_schedule() {
    use chrono::Timelike;
    use rearguard::drill_record::{DrillRecord, DrillResult};
    // GIVEN a table of a plan of its own in the Region restore-drill runs in, no restore job in
    // AWS Backup, and restore-drill's record of three of its drills: successful 10 and 3 days ago,
    // failed yesterday
    let sdk = local_aws::sdk_config().await;
    let plan = unique("drilled");
    let table_arn = rearguard_e2e::restore_world::orders_table(&sdk, &plan, 0).await;
    let drills = unique("drill-record");
    rearguard_e2e::restore_world::create_drill_table(&sdk, &drills).await;
    let now = chrono::Utc::now().with_nanosecond(0).unwrap();
    let days_ago = |days: i64| now - chrono::Duration::days(days);
    for (id, days, result) in [
        ("r-old", 10, DrillResult::Successful),
        ("r-last", 3, DrillResult::Successful),
        ("r-failed", 1, DrillResult::Failed),
    ] {
        let record = DrillRecord {
            restore_job_id: unique(id),
            plan: Some(plan.clone()),
            resource_type: "DynamoDB".into(),
            source_resource_arn: Some(table_arn.clone()),
            recovery_point_arn: None,
            result,
            reason: "as restore-drill judged it".into(),
            rpo_hours: Some(20.0),
            rto_minutes: Some(15.0),
            rpo_target_hours: Some(24),
            rto_target_hours: None,
            drilled_at: days_ago(days),
        };
        aws_sdk_dynamodb::Client::new(&sdk)
            .put_item()
            .table_name(&drills)
            .set_item(Some(record.to_item()))
            .send()
            .await
            .expect("put drill record");
    }
    let policy = json!({"resource_types": ["DynamoDB"], "plans": {plan.as_str(): {"rpo_hours": 24}}});
    let drill_of = |report: &Value| {
        report["plans"]
            .as_array()
            .and_then(|plans| plans.iter().find(|p| p["plan"] == plan.as_str()))
            .and_then(|p| p["drills"].as_array())
            .and_then(|d| d.iter().find(|d| d["resourceType"] == "DynamoDB"))
            .cloned()
            .unwrap_or_else(|| panic!("no DynamoDB drill of {plan} in {report:#}"))
    };

    // WHEN compliance-report reports with the template's weekly restore test schedule
    let (weekly, html) = report_with_drill_record(&sdk, &policy, &drills, "cron(0 5 ? * SAT *)").await;

    // THEN the plan's last successful DynamoDB drill is the record's newest successful one, fresh
    let drill = drill_of(&weekly);
    let last: chrono::DateTime<chrono::Utc> = serde_json::from_value(drill["lastSuccessfulAt"].clone()).unwrap();
    assert_eq!(last, days_ago(3), "{drill}");
    assert_eq!(drill["stale"], false, "{drill}");
    // AND the HTML page, as Chromium renders it, shows it in the plan's drill column
    let dir = rearguard_e2e::workspace_root()
        .join("target")
        .join("compliance-report-drills");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join(format!("{plan}.html"));
    std::fs::write(&page, &html).unwrap();
    let dom = render_in_chromium(&page, &dir.join(format!("{plan}.png")));
    let row = dom
        .split(&format!("<tr data-plan=\"{plan}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row of {plan} in {dom}"));
    assert!(
        row.contains(&format!(
            "<td class=\"drills\">DynamoDB {}</td>",
            days_ago(3).format("%Y-%m-%d")
        )),
        "{row}"
    );

    // WHEN the restore tests run daily instead
    let (daily, html) = report_with_drill_record(&sdk, &policy, &drills, "cron(0 5 * * ? *)").await;

    // THEN the same drill, three days old, is stale (a day's schedule and a day's grace)
    let drill = drill_of(&daily);
    assert_eq!(drill["stale"], true, "{drill}");
    assert!(html.contains("(stale)</span>"), "{html}");
}

//! tag-enrollment end to end: real resources in the local AWS emulator, the creation events
//! CloudTrail would send for them, the built binary under the Lambda Runtime API, and the tags
//! the emulator holds afterwards.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use rearguard_e2e::backup_world::acting_in;
use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, Received, unique};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::sample;
use rearguard_e2e::template_roles::{deploy_template_role, function_env_as, function_role_arn};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const HOME: &str = "123456789012";
const MEMBER: &str = "444455556666";
const ROLE: &str = "rearguard-tag-enrollment";
/// The function's own role in the platform account (SAM names it after `TagEnrollmentFunction`).
const FUNCTION_ROLE: &str = "rearguard-TagEnrollmentFunctionRole";

fn policy(mode: &str) -> String {
    json!({
        "plans": {"production": {"rpo_hours": 24}, "staging": {"rpo_hours": 168}},
        "opt_out": {"value": "none", "reason_tag_key": "backup-opt-out-reason"},
        "resource_types": ["EC2", "EBS", "RDS", "Aurora", "DocumentDB", "Neptune", "DynamoDB", "EFS", "S3"],
        "enrollment": {
            "defaults": [{"when": {"Environment": "Production"}, "plan": "production"},
                         {"when": {"Environment": "Staging"}, "plan": "staging"}],
            "fallback_plan": "staging",
            "mode": mode
        }
    })
    .to_string()
}

struct Harness {
    api: RuntimeApi,
    function: FunctionProcess,
    topic: AlertsTopic,
    sdk: SdkConfig,
}

impl Harness {
    async fn start(mode: &str) -> Harness {
        Harness::start_with(&policy(mode), &[]).await
    }

    async fn start_with(policy: &str, extra_env: &[(&str, &str)]) -> Harness {
        let sdk = local_aws::sdk_config().await;
        // The member template's role, which the function (running as its own role) assumes in
        // member accounts.
        let central = function_role_arn(FUNCTION_ROLE);
        let role = deploy_template_role(
            &sdk,
            "member-account.yaml",
            "TagEnrollmentMemberRole",
            MEMBER,
            &[
                ("CentralAccountId", HOME),
                ("CentralRoleArn", &central),
                ("MemberRoleName", ROLE),
            ],
        )
        .await;
        let topic = AlertsTopic::create(&sdk, &unique("enroll")).await;
        let api = RuntimeApi::start().await;
        let mut env: Vec<(&str, String)> = function_env_as(&sdk, FUNCTION_ROLE).await;
        env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
        env.push(("REARGUARD_POLICY", policy.to_string()));
        env.push(("MEMBER_ROLE_NAME", role));
        env.extend(extra_env.iter().map(|(k, v)| (*k, v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = FunctionProcess::spawn(binary("tag-enrollment"), &api.address(), &env);
        Harness {
            api,
            function,
            topic,
            sdk,
        }
    }

    async fn invoke(&self, event: &Value) -> Value {
        match self.api.invoke(event, WAIT).await {
            Ok(Answer::Response(v)) => v,
            other => panic!("{other:?}\nlogs:\n{}", self.function.logs().join("\n")),
        }
    }

    async fn messages(&self, expected: usize) -> Vec<Received> {
        self.topic.receive(expected, WAIT).await
    }
}

/// The tags the emulator holds for `arn`, read through the Resource Groups Tagging API.
async fn tags_of(sdk: &SdkConfig, arn: &str) -> BTreeMap<String, String> {
    let client = aws_sdk_resourcegroupstagging::Client::new(sdk);
    let output = client
        .get_resources()
        .resource_arn_list(arn)
        .send()
        .await
        .expect("get resources");
    output
        .resource_tag_mapping_list()
        .iter()
        .flat_map(|m| m.tags())
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// An SDK config acting in another account, as the member account's administrators would
/// (through its organization access role: the member role trusts only the function's role).
async fn member_account(sdk: &SdkConfig) -> SdkConfig {
    acting_in(sdk, Some(MEMBER), local_aws::REGION).await
}

async fn run_instances(sdk: &SdkConfig, count: i32, tags: &[(&str, &str)]) -> Vec<String> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let image = ec2.describe_images().send().await.expect("images").images()[0]
        .image_id()
        .expect("ami")
        .to_string();
    let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
    for (k, v) in tags {
        spec = spec.tags(Tag::builder().key(*k).value(*v).build());
    }
    let output = ec2
        .run_instances()
        .image_id(image)
        .min_count(count)
        .max_count(count)
        .set_tag_specifications((!tags.is_empty()).then(|| vec![spec.build()]))
        .send()
        .await
        .expect("run instances");
    output
        .instances()
        .iter()
        .map(|i| i.instance_id().unwrap().to_string())
        .collect()
}

/// The RunInstances sample, rewritten for these instances in `account`.
fn run_instances_event(account: &str, ids: &[String], tags: &[(&str, &str)]) -> Value {
    let mut event = sample("cloudtrail-run-instances-three");
    event["account"] = json!(account);
    event["id"] = json!(unique("evt"));
    event["detail"]["recipientAccountId"] = json!(account);
    let tag_items: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    event["detail"]["requestParameters"]["tagSpecificationSet"]["items"][0]["tags"] = json!(tag_items);
    let items: Vec<Value> = ids
        .iter()
        .map(|id| json!({"instanceId": id, "tagSet": {"items": tag_items}}))
        .collect();
    event["detail"]["responseElements"]["instancesSet"]["items"] = json!(items);
    event
}

fn instance_arn(account: &str, id: &str) -> String {
    format!("arn:aws:ec2:eu-west-1:{account}:instance/{id}")
}

#[tokio::test]
async fn a_three_instance_launch_enrolls_every_instance_in_its_default_plan() {
    let harness = Harness::start("enforce").await;
    let ids = run_instances(&harness.sdk, 3, &[("Environment", "Production")]).await;

    harness
        .invoke(&run_instances_event(HOME, &ids, &[("Environment", "Production")]))
        .await;
    let messages = harness.messages(3).await;

    for id in &ids {
        let tags = tags_of(&harness.sdk, &instance_arn(HOME, id)).await;
        assert_eq!(
            tags.get("backup-plan").map(String::as_str),
            Some("production"),
            "{id}: {tags:?}"
        );
        assert_eq!(tags.get("rearguard:enrolled-by").map(String::as_str), Some("rearguard"));
        assert_eq!(
            tags.get("Environment").map(String::as_str),
            Some("Production"),
            "existing tags kept"
        );
    }
    assert_eq!(messages.len(), 3);
    assert!(
        messages
            .iter()
            .all(|m| m.subject.starts_with("[INFO] Enrolled in production:")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn audit_mode_alerts_and_writes_no_tag() {
    let harness = Harness::start("audit").await;
    let ids = run_instances(&harness.sdk, 1, &[("Environment", "Staging")]).await;

    harness
        .invoke(&run_instances_event(HOME, &ids, &[("Environment", "Staging")]))
        .await;
    let messages = harness.messages(1).await;

    let tags = tags_of(&harness.sdk, &instance_arn(HOME, &ids[0])).await;
    assert!(!tags.contains_key("backup-plan"), "{tags:?}");
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].subject.starts_with("[WARNING] No backup-plan tag:"),
        "{}",
        messages[0].subject
    );
    assert_eq!(
        messages[0].document["resource"]["arn"],
        instance_arn(HOME, &ids[0]).as_str()
    );
}

#[tokio::test]
async fn a_bucket_tagged_after_creation_is_looked_up_and_enrolled_by_its_tags() {
    let harness = Harness::start("enforce").await;
    let bucket = unique("invoices");
    let s3 = aws_sdk_s3::Client::new(&harness.sdk);
    local_aws::create_bucket(&harness.sdk, &bucket).await;
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key("Environment")
                .value("Staging")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(tagging)
        .send()
        .await
        .expect("tag bucket");
    enable_versioning(&harness.sdk, &bucket).await;
    let mut event = sample("cloudtrail-create-bucket");
    event["account"] = json!(HOME);
    event["detail"]["recipientAccountId"] = json!(HOME);
    event["detail"]["requestParameters"]["bucketName"] = json!(bucket);

    harness.invoke(&event).await;

    let tags = tags_of(&harness.sdk, &format!("arn:aws:s3:::{bucket}")).await;
    assert_eq!(tags.get("backup-plan").map(String::as_str), Some("staging"), "{tags:?}");
    assert_eq!(
        tags.get("Environment").map(String::as_str),
        Some("Staging"),
        "TagResources merged, removed nothing"
    );
}

#[tokio::test]
async fn opt_outs_and_typos_are_never_overwritten_and_only_problems_alert() {
    let harness = Harness::start("enforce").await;
    let with_reason = run_instances(
        &harness.sdk,
        1,
        &[("backup-plan", "none"), ("backup-opt-out-reason", "scratch")],
    )
    .await;
    let without_reason = run_instances(&harness.sdk, 1, &[("backup-plan", "none")]).await;
    let typo = run_instances(&harness.sdk, 1, &[("backup-plan", "prodution")]).await;

    harness
        .invoke(&run_instances_event(
            HOME,
            &with_reason,
            &[("backup-plan", "none"), ("backup-opt-out-reason", "scratch")],
        ))
        .await;
    harness
        .invoke(&run_instances_event(HOME, &without_reason, &[("backup-plan", "none")]))
        .await;
    harness
        .invoke(&run_instances_event(HOME, &typo, &[("backup-plan", "prodution")]))
        .await;
    let messages = harness.messages(2).await;

    let subjects: Vec<&str> = messages.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects[0].starts_with("[WARNING] Opted out without a reason:"),
        "{subjects:?}"
    );
    assert!(
        subjects[1].starts_with("[WARNING] Unknown plan \"prodution\":"),
        "{subjects:?}"
    );
    assert_eq!(
        tags_of(&harness.sdk, &instance_arn(HOME, &without_reason[0])).await["backup-plan"],
        "none"
    );
    assert_eq!(
        tags_of(&harness.sdk, &instance_arn(HOME, &typo[0])).await["backup-plan"],
        "prodution"
    );
}

#[tokio::test]
async fn a_removed_backup_tag_is_seen_and_the_resource_re_enrolled_without_ping_pong() {
    let harness = Harness::start("enforce").await;
    let ids = run_instances(&harness.sdk, 1, &[("Environment", "Production")]).await;
    let arn = instance_arn(HOME, &ids[0]);
    let mut removed = sample("tag-change-backup-tag-removed");
    removed["account"] = json!(HOME);
    removed["resources"] = json!([arn]);

    let first = harness.invoke(&removed).await;
    let mut echo = removed.clone();
    echo["id"] = json!("our-own-write-coming-back");
    echo["detail"]["tags"]["backup-plan"] = json!("production");
    echo["detail"]["tags"]["rearguard:enrolled-by"] = json!("rearguard");
    let second = harness.invoke(&echo).await;
    let messages = harness.messages(1).await;

    assert_eq!(first["resources"][0]["decision"], "enroll");
    assert_eq!(
        second["resources"][0]["decision"], "compliant",
        "its own write changes nothing"
    );
    assert_eq!(tags_of(&harness.sdk, &arn).await["backup-plan"], "production");
    assert_eq!(messages.len(), 1);
}

#[tokio::test]
async fn an_event_from_a_member_account_is_handled_there_through_assume_role() {
    let harness = Harness::start("enforce").await;
    let member = member_account(&harness.sdk).await;
    let ids = run_instances(&member, 1, &[("Environment", "Production")]).await;

    harness
        .invoke(&run_instances_event(MEMBER, &ids, &[("Environment", "Production")]))
        .await;

    let tags = tags_of(&member, &instance_arn(MEMBER, &ids[0])).await;
    assert_eq!(
        tags.get("backup-plan").map(String::as_str),
        Some("production"),
        "{tags:?}"
    );
    assert!(
        tags_of(&harness.sdk, &instance_arn(MEMBER, &ids[0])).await.is_empty(),
        "nothing written in the home account"
    );
}

#[tokio::test]
async fn failed_calls_cluster_members_and_malformed_events_change_nothing() {
    let harness = Harness::start("enforce").await;

    let failed = harness.invoke(&sample("cloudtrail-run-instances-failed")).await;
    let member = harness
        .invoke(&sample("cloudtrail-create-db-instance-aurora-member"))
        .await;
    let garbage = harness
        .invoke(&json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "detail": "oops"}))
        .await;
    let messages = harness.topic.receive(0, Duration::from_secs(2)).await;

    assert_eq!(failed["status"], "skipped");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("Client.UnauthorizedOperation")
    );
    assert!(member["reason"].as_str().unwrap().contains("cluster main"));
    assert_eq!(garbage["status"], "ignored");
    assert!(messages.is_empty(), "{messages:?}");
}

/// A CloudTrail sample rewritten for the home account.
fn home_event(name: &str) -> Value {
    let mut event = sample(name);
    event["id"] = json!(unique("evt"));
    event["account"] = json!(HOME);
    event["detail"]["recipientAccountId"] = json!(HOME);
    event
}

#[tokio::test]
async fn volumes_databases_clusters_tables_and_file_systems_are_enrolled_and_keep_their_tags() {
    let harness = Harness::start("enforce").await;
    let sdk = &harness.sdk;
    let env_tag = |value: &str| vec![json!({"key": "Environment", "value": value})];

    // EBS volume, tagged at creation but not in the event: its tags are looked up.
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let volume = ec2
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(10)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Volume)
                .tags(Tag::builder().key("Environment").value("Production").build())
                .build(),
        )
        .send()
        .await
        .expect("create volume");
    let volume_id = volume.volume_id().unwrap().to_string();
    let mut volume_event = home_event("cloudtrail-create-volume");
    volume_event["detail"]["responseElements"]["volumeId"] = json!(volume_id);

    // RDS instance and Aurora cluster.
    let rds = aws_sdk_rds::Client::new(sdk);
    let db_name = unique("orders");
    let db = rds
        .create_db_instance()
        .db_instance_identifier(&db_name)
        .db_instance_class("db.t4g.micro")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("not-a-real-secret-1")
        .allocated_storage(20)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("Environment")
                .value("Staging")
                .build(),
        )
        .send()
        .await
        .expect("create db instance");
    let db_arn = db.db_instance().unwrap().db_instance_arn().unwrap().to_string();
    let mut db_event = home_event("cloudtrail-create-db-instance");
    db_event["detail"]["responseElements"]["dBInstanceArn"] = json!(db_arn);
    db_event["detail"]["requestParameters"]["tags"] = json!(env_tag("Staging"));

    let cluster_name = unique("main");
    let cluster = rds
        .create_db_cluster()
        .db_cluster_identifier(&cluster_name)
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("not-a-real-secret-1")
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("Environment")
                .value("Production")
                .build(),
        )
        .send()
        .await
        .expect("create db cluster");
    let cluster_arn = cluster.db_cluster().unwrap().db_cluster_arn().unwrap().to_string();
    let mut cluster_event = home_event("cloudtrail-create-db-cluster-aurora");
    cluster_event["detail"]["responseElements"]["dBClusterArn"] = json!(cluster_arn);

    // DynamoDB table and EFS file system.
    let table_name = unique("orders");
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let table = dynamodb
        .create_table()
        .table_name(&table_name)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("Environment")
                .value("Staging")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    let table_arn = table.table_description().unwrap().table_arn().unwrap().to_string();
    let mut table_event = home_event("cloudtrail-create-table");
    table_event["detail"]["requestParameters"]["tableName"] = json!(table_name);
    table_event["detail"]["requestParameters"]["tags"] = json!(env_tag("Staging"));
    table_event["detail"]["responseElements"]["tableDescription"]["tableArn"] = json!(table_arn);

    let efs = aws_sdk_efs::Client::new(sdk);
    let file_system = efs
        .create_file_system()
        .creation_token(unique("home"))
        .tags(
            aws_sdk_efs::types::Tag::builder()
                .key("Environment")
                .value("Production")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create file system");
    let fs_arn = file_system.file_system_arn().unwrap().to_string();
    let mut fs_event = home_event("cloudtrail-create-file-system");
    fs_event["detail"]["responseElements"]["fileSystemArn"] = json!(fs_arn);
    fs_event["detail"]["responseElements"]["tags"] = json!(env_tag("Production"));
    fs_event["detail"]["requestParameters"]["tags"] = json!(env_tag("Production"));

    let volume_arn = format!("arn:aws:ec2:eu-west-1:{HOME}:volume/{volume_id}");
    let expected = [
        (&volume_event, volume_arn.as_str(), "EBS", "production", "Production"),
        (&db_event, db_arn.as_str(), "RDS", "staging", "Staging"),
        (
            &cluster_event,
            cluster_arn.as_str(),
            "Aurora",
            "production",
            "Production",
        ),
        (&table_event, table_arn.as_str(), "DynamoDB", "staging", "Staging"),
        (&fs_event, fs_arn.as_str(), "EFS", "production", "Production"),
    ];
    for (event, arn, kind, plan, environment) in expected {
        let answer = harness.invoke(event).await;
        assert_eq!(answer["resources"][0]["decision"], "enroll", "{kind}: {answer}");
        let tags = tags_of(sdk, arn).await;
        assert_eq!(
            tags.get("backup-plan").map(String::as_str),
            Some(plan),
            "{kind} {arn}: {tags:?}"
        );
        assert_eq!(
            tags.get("Environment").map(String::as_str),
            Some(environment),
            "{kind}: existing tags kept"
        );
    }
    let messages = harness.messages(5).await;
    let kinds: Vec<&str> = messages
        .iter()
        .map(|m| m.document["resource"]["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, vec!["EBS", "RDS", "Aurora", "DynamoDB", "EFS"]);
}

#[tokio::test]
async fn a_twelve_instance_launch_is_one_digest_and_every_instance_is_enrolled() {
    let harness = Harness::start("enforce").await;
    let ids = run_instances(&harness.sdk, 12, &[("Environment", "Staging")]).await;

    harness
        .invoke(&run_instances_event(HOME, &ids, &[("Environment", "Staging")]))
        .await;
    let messages = harness.messages(1).await;

    assert_eq!(
        messages.len(),
        1,
        "{:?}",
        messages.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert_eq!(
        messages[0].subject,
        format!("[INFO] 12 resources checked: 12 enrolled, 0 need attention in {HOME} eu-west-1")
    );
    assert_eq!(messages[0].document["items"].as_array().unwrap().len(), 12);
    for id in &ids {
        assert_eq!(
            tags_of(&harness.sdk, &instance_arn(HOME, id)).await["backup-plan"],
            "staging"
        );
    }
}

#[tokio::test]
async fn dry_run_logs_the_exact_tags_it_would_write_and_writes_none() {
    let harness = Harness::start_with(&policy("enforce"), &[("DRY_RUN", "true")]).await;
    let ids = run_instances(&harness.sdk, 1, &[("Environment", "Production")]).await;

    harness
        .invoke(&run_instances_event(HOME, &ids, &[("Environment", "Production")]))
        .await;
    let messages = harness.topic.receive(0, Duration::from_secs(2)).await;

    let tags = tags_of(&harness.sdk, &instance_arn(HOME, &ids[0])).await;
    assert!(!tags.contains_key("backup-plan"), "dry run wrote {tags:?}");
    assert!(messages.is_empty(), "dry run published {messages:?}");
    let logs = harness.function.logs().join("\n");
    assert!(
        logs.contains("would_tag") && logs.contains(&ids[0]) && logs.contains("production"),
        "{logs}"
    );
    assert!(logs.contains("would_publish"));
}

#[tokio::test]
async fn a_bad_policy_stops_start_up_naming_the_setting_and_the_path() {
    let bad = policy("enforce").replace("\"plan\":\"staging\"", "\"plan\":\"stagin\"");
    assert_ne!(bad, policy("enforce"), "the policy was changed");
    let mut harness = Harness::start_with(&bad, &[]).await;

    let status = tokio::time::timeout(WAIT, harness.function.child.wait())
        .await
        .expect("exits")
        .expect("status");
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_ne!(status.code(), Some(0));
    let logs = harness.function.logs().join("\n");
    assert!(
        logs.contains("REARGUARD_POLICY") && logs.contains("enrollment.defaults[1].plan") && logs.contains("stagin"),
        "{logs}"
    );
}

#[tokio::test]
async fn the_same_event_delivered_twice_alerts_once_with_the_state_table() {
    let sdk = local_aws::sdk_config().await;
    let table = unique("enroll-state");
    local_aws::create_state_table(&sdk, &table).await;
    let harness = Harness::start_with(&policy("enforce"), &[("STATE_TABLE_NAME", table.as_str())]).await;
    let ids = run_instances(&harness.sdk, 1, &[("backup-plan", "prodution")]).await;
    let event = run_instances_event(HOME, &ids, &[("backup-plan", "prodution")]);

    let first = harness.invoke(&event).await;
    let second = harness.invoke(&event).await;
    let messages = harness.messages(1).await;

    assert_eq!(first["status"], "ok");
    assert_eq!(second["status"], "duplicate");
    assert_eq!(
        messages.len(),
        1,
        "{:?}",
        messages.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_backup_tag_a_person_set_after_the_event_survives_and_nothing_is_written() {
    // GIVEN an instance whose launch event shows only Environment=Production,
    let harness = Harness::start("enforce").await;
    let ids = run_instances(&harness.sdk, 1, &[("Environment", "Production")]).await;
    let event = run_instances_event(HOME, &ids, &[("Environment", "Production")]);
    // and a person who tags it for staging before the event arrives.
    aws_sdk_ec2::Client::new(&harness.sdk)
        .create_tags()
        .resources(&ids[0])
        .tags(Tag::builder().key("backup-plan").value("staging").build())
        .send()
        .await
        .expect("a person's tag");

    // WHEN the event is handled
    let answer = harness.invoke(&event).await;
    let messages = harness.topic.receive(0, Duration::from_secs(2)).await;

    // THEN the current tags decide: compliant, nothing written, nobody notified.
    assert_eq!(answer["resources"][0]["decision"], "compliant", "{answer}");
    let tags = tags_of(&harness.sdk, &instance_arn(HOME, &ids[0])).await;
    assert_eq!(tags.get("backup-plan").map(String::as_str), Some("staging"), "{tags:?}");
    assert!(!tags.contains_key("rearguard:enrolled-by"), "{tags:?}");
    assert!(messages.is_empty(), "{messages:?}");
}

#[tokio::test]
async fn a_resource_its_service_does_not_show_yet_fails_the_event_and_nothing_is_written() {
    // GIVEN a launch event for an instance EC2 does not show (yet).
    let harness = Harness::start("enforce").await;
    let ghost = "i-0123456789abcdef0".to_string();
    let event = run_instances_event(HOME, std::slice::from_ref(&ghost), &[("Environment", "Production")]);

    // WHEN it is handled
    let answer = harness.api.invoke(&event, WAIT).await;
    let messages = harness.topic.receive(0, Duration::from_secs(2)).await;

    // THEN the invocation fails (Lambda retries it), naming the read, and nothing is sent.
    match answer {
        Ok(Answer::Error(error)) => assert!(error.to_string().contains("ec2:DescribeInstances"), "{error}"),
        other => panic!("expected a failed invocation, got {other:?}"),
    }
    assert!(messages.is_empty(), "{messages:?}");
}

#[tokio::test]
async fn a_bucket_created_opted_out_in_its_create_bucket_tags_is_left_alone() {
    // GIVEN a bucket created with backup-plan=none and a reason in CreateBucketConfiguration's Tags,
    let harness = Harness::start("enforce").await;
    let bucket = unique("scratch");
    let tag = |k: &str, v: &str| aws_sdk_s3::types::Tag::builder().key(k).value(v).build().unwrap();
    aws_sdk_s3::Client::new(&harness.sdk)
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .tags(tag("backup-plan", "none"))
                .tags(tag("backup-opt-out-reason", "rebuilt nightly"))
                .build(),
        )
        .send()
        .await
        .expect("create bucket");
    // and the event CloudTrail records for it (the same tags in its request).
    let mut event = home_event("cloudtrail-create-bucket-tagged");
    event["detail"]["requestParameters"]["bucketName"] = json!(bucket);

    // WHEN it is handled
    let answer = harness.invoke(&event).await;

    // THEN the event's tags show the opt-out: nothing is written.
    assert_eq!(answer["resources"][0]["decision"], "opted_out", "{answer}");
    let tags = tags_of(&harness.sdk, &format!("arn:aws:s3:::{bucket}")).await;
    assert!(!tags.contains_key("rearguard:enrolled-by"), "{tags:?}");
}

/// Versioning on, as AWS Backup for S3 needs ("Amazon S3 backups").
async fn enable_versioning(sdk: &SdkConfig, bucket: &str) {
    aws_sdk_s3::Client::new(sdk)
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("enable versioning");
}

#[tokio::test]
async fn an_unversioned_bucket_gets_a_warning_naming_the_fix_and_no_tag() {
    // GIVEN a new bucket without versioning (the policy's fallback plan would apply).
    let harness = Harness::start("enforce").await;
    let bucket = unique("exports");
    local_aws::create_bucket(&harness.sdk, &bucket).await;
    let mut event = home_event("cloudtrail-create-bucket");
    event["detail"]["requestParameters"]["bucketName"] = json!(bucket);

    // WHEN its creation event is handled
    let answer = harness.invoke(&event).await;
    let messages = harness.messages(1).await;

    // THEN it gets a WARNING naming the fix, and no tag.
    assert_eq!(answer["resources"][0]["decision"], "alert", "{answer}");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].subject.starts_with("[WARNING] Versioning is off:"),
        "{}",
        messages[0].subject
    );
    assert_eq!(messages[0].document["detail"]["problem"], "unversioned");
    assert_eq!(messages[0].document["detail"]["plan"], "staging");
    let tags = tags_of(&harness.sdk, &format!("arn:aws:s3:::{bucket}")).await;
    assert!(!tags.contains_key("backup-plan"), "{tags:?}");
}

/// A Tag Change event in the home account: `changed` keys on `arn` (of `service`/`kind`), now carrying `tags`.
fn tag_change(arn: &str, service: &str, kind: &str, changed: &[&str], tags: &[(&str, &str)]) -> Value {
    let mut event = sample("tag-change-backup-tag-removed");
    event["id"] = json!(unique("evt"));
    event["account"] = json!(HOME);
    event["resources"] = json!([arn]);
    event["detail"]["service"] = json!(service);
    event["detail"]["resource-type"] = json!(kind);
    event["detail"]["changed-tag-keys"] = json!(changed);
    event["detail"]["tags"] = json!(tags.iter().cloned().collect::<BTreeMap<_, _>>());
    event
}

fn rds_tag(key: &str, value: &str) -> aws_sdk_rds::types::Tag {
    aws_sdk_rds::types::Tag::builder().key(key).value(value).build()
}

#[tokio::test]
async fn a_tag_change_on_a_neptune_cluster_enrols_it_typed_neptune() {
    // GIVEN a Neptune cluster (its ARN has Aurora's form) whose backup tag was just removed.
    let harness = Harness::start("enforce").await;
    let rds = aws_sdk_rds::Client::new(&harness.sdk);
    let cluster = rds
        .create_db_cluster()
        .db_cluster_identifier(unique("graph"))
        .engine("neptune")
        .tags(rds_tag("Environment", "Production"))
        .send()
        .await
        .expect("create neptune cluster");
    let arn = cluster.db_cluster().unwrap().db_cluster_arn().unwrap().to_string();

    // WHEN the Tag Change event is handled
    let answer = harness
        .invoke(&tag_change(
            &arn,
            "rds",
            "cluster",
            &["backup-plan"],
            &[("Environment", "Production")],
        ))
        .await;
    let messages = harness.messages(1).await;

    // THEN DescribeDBClusters' engine types it Neptune, and it is enrolled.
    assert_eq!(answer["resources"][0]["decision"], "enroll", "{answer}");
    assert_eq!(
        messages[0].document["resource"]["type"], "Neptune",
        "{:?}",
        messages[0].subject
    );
    assert_eq!(tags_of(&harness.sdk, &arn).await["backup-plan"], "production");
}

#[tokio::test]
async fn a_tag_change_on_an_attached_volume_or_an_aurora_member_enrols_nothing() {
    // GIVEN a volume attached to an instance, and a member instance of an Aurora cluster,
    let harness = Harness::start("enforce").await;
    let ec2 = aws_sdk_ec2::Client::new(&harness.sdk);
    let ids = run_instances(&harness.sdk, 1, &[("backup-plan", "production")]).await;
    let volume = ec2
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(10)
        .send()
        .await
        .expect("create volume");
    let volume_id = volume.volume_id().unwrap().to_string();
    ec2.attach_volume()
        .volume_id(&volume_id)
        .instance_id(&ids[0])
        .device("/dev/sdf")
        .send()
        .await
        .expect("attach volume");
    let volume_arn = format!("arn:aws:ec2:eu-west-1:{HOME}:volume/{volume_id}");
    let rds = aws_sdk_rds::Client::new(&harness.sdk);
    let cluster_name = unique("main");
    rds.create_db_cluster()
        .db_cluster_identifier(&cluster_name)
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("not-a-real-secret-1")
        .send()
        .await
        .expect("create aurora cluster");
    let member = rds
        .create_db_instance()
        .db_instance_identifier(unique("member"))
        .db_cluster_identifier(&cluster_name)
        .db_instance_class("db.r6g.large")
        .engine("aurora-postgresql")
        .send()
        .await
        .expect("create member instance");
    let member_arn = member.db_instance().unwrap().db_instance_arn().unwrap().to_string();

    // WHEN Tag Change events without a backup tag arrive for both
    let on_volume = harness
        .invoke(&tag_change(
            &volume_arn,
            "ec2",
            "volume",
            &["Owner"],
            &[("Owner", "ana")],
        ))
        .await;
    let on_member = harness
        .invoke(&tag_change(&member_arn, "rds", "db", &["Owner"], &[("Owner", "ana")]))
        .await;
    let messages = harness.topic.receive(0, Duration::from_secs(2)).await;

    // THEN both are skipped: nothing written, nobody notified.
    assert_eq!(on_volume["resources"][0]["decision"], "skip", "{on_volume}");
    assert!(on_volume["resources"][0]["reason"].as_str().unwrap().contains(&ids[0]));
    assert_eq!(on_member["resources"][0]["decision"], "skip", "{on_member}");
    assert!(
        on_member["resources"][0]["reason"]
            .as_str()
            .unwrap()
            .contains(&cluster_name)
    );
    assert!(!tags_of(&harness.sdk, &volume_arn).await.contains_key("backup-plan"));
    assert!(!tags_of(&harness.sdk, &member_arn).await.contains_key("backup-plan"));
    assert!(messages.is_empty(), "{messages:?}");
}

#[tokio::test]
async fn restored_databases_read_replicas_restored_tables_and_instant_fleets_are_enrolled() {
    let harness = Harness::start("enforce").await;
    let sdk = &harness.sdk;

    // GIVEN an RDS instance restored from a snapshot (its tags copied, not in the request),
    let rds = aws_sdk_rds::Client::new(sdk);
    let source = unique("orders");
    rds.create_db_instance()
        .db_instance_identifier(&source)
        .db_instance_class("db.t4g.micro")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("not-a-real-secret-1")
        .allocated_storage(20)
        .send()
        .await
        .expect("create db instance");
    let snapshot = unique("orders-snap");
    rds.create_db_snapshot()
        .db_instance_identifier(&source)
        .db_snapshot_identifier(&snapshot)
        .send()
        .await
        .expect("snapshot");
    let restored = rds
        .restore_db_instance_from_db_snapshot()
        .db_instance_identifier(unique("orders-restored"))
        .db_snapshot_identifier(&snapshot)
        .tags(rds_tag("Environment", "Production"))
        .send()
        .await
        .expect("restore db instance");
    let restored_arn = restored.db_instance().unwrap().db_instance_arn().unwrap().to_string();
    let mut restored_event = home_event("cloudtrail-restore-db-instance-from-db-snapshot");
    restored_event["detail"]["responseElements"]["dBInstanceArn"] = json!(restored_arn);

    // a read replica of it,
    let replica = rds
        .create_db_instance_read_replica()
        .db_instance_identifier(unique("orders-replica"))
        .source_db_instance_identifier(&source)
        .tags(rds_tag("Environment", "Staging"))
        .send()
        .await
        .expect("read replica");
    let replica_arn = replica.db_instance().unwrap().db_instance_arn().unwrap().to_string();
    let mut replica_event = home_event("cloudtrail-create-db-instance-read-replica");
    replica_event["detail"]["responseElements"]["dBInstanceArn"] = json!(replica_arn);

    // a DynamoDB table restored from a backup,
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let table = unique("orders");
    dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    let backup = dynamodb
        .create_backup()
        .table_name(&table)
        .backup_name("nightly")
        .send()
        .await
        .expect("backup");
    let target = unique("orders-restored");
    let restored_table = dynamodb
        .restore_table_from_backup()
        .target_table_name(&target)
        .backup_arn(backup.backup_details().unwrap().backup_arn())
        .send()
        .await
        .expect("restore table");
    let table_arn = restored_table
        .table_description()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_string();
    let mut table_event = home_event("cloudtrail-restore-table-from-backup");
    table_event["detail"]["requestParameters"]["targetTableName"] = json!(target);
    table_event["detail"]["responseElements"]["tableDescription"]["tableArn"] = json!(table_arn);

    // and an instant fleet of two instances tagged Environment=Production at launch.
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let image = ec2.describe_images().send().await.expect("images").images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let template = ec2
        .create_launch_template()
        .launch_template_name(unique("web"))
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .image_id(image)
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .expect("launch template");
    let template_id = template.launch_template().unwrap().launch_template_id().unwrap();
    let fleet = ec2
        .create_fleet()
        .r#type(aws_sdk_ec2::types::FleetType::Instant)
        .launch_template_configs(
            aws_sdk_ec2::types::FleetLaunchTemplateConfigRequest::builder()
                .launch_template_specification(
                    aws_sdk_ec2::types::FleetLaunchTemplateSpecificationRequest::builder()
                        .launch_template_id(template_id)
                        .version("$Latest")
                        .build(),
                )
                .build(),
        )
        .target_capacity_specification(
            aws_sdk_ec2::types::TargetCapacitySpecificationRequest::builder()
                .total_target_capacity(2)
                .default_target_capacity_type(aws_sdk_ec2::types::DefaultTargetCapacityType::OnDemand)
                .build(),
        )
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Environment").value("Production").build())
                .build(),
        )
        .send()
        .await
        .expect("create fleet");
    let fleet_ids: Vec<String> = fleet
        .instances()
        .iter()
        .flat_map(|i| i.instance_ids())
        .cloned()
        .collect();
    assert_eq!(fleet_ids.len(), 2, "{fleet:?}");
    let mut fleet_event = home_event("cloudtrail-create-fleet-instant");
    fleet_event["detail"]["responseElements"]["CreateFleetResponse"]["fleetInstanceSet"]["item"]["instanceIds"]["item"] =
        json!(fleet_ids);

    // WHEN their creation events are handled
    let mut answers = Vec::new();
    for event in [&restored_event, &replica_event, &table_event, &fleet_event] {
        answers.push(harness.invoke(event).await);
    }
    let messages = harness.messages(5).await;

    // THEN each is enrolled by the tags it carries (read from its service), the restore says so.
    for answer in &answers {
        assert!(
            answer["resources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["decision"] == "enroll"),
            "{answer}"
        );
    }
    assert_eq!(tags_of(sdk, &restored_arn).await["backup-plan"], "production");
    assert_eq!(tags_of(sdk, &replica_arn).await["backup-plan"], "staging");
    assert_eq!(tags_of(sdk, &table_arn).await["backup-plan"], "staging", "fallback");
    for id in &fleet_ids {
        assert_eq!(tags_of(sdk, &instance_arn(HOME, id)).await["backup-plan"], "production");
    }
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[0].document["fromRestore"], true, "{:?}", messages[0].subject);
    assert_eq!(messages[1].document["fromRestore"], false);
}

#[test]
fn the_member_template_deploys_in_a_second_region_with_create_roles_false() {
    // GIVEN the member template. IAM role names are unique in an account across Regions
    // ("IAM object quotas and identifiers": IAM is global), so a named role must not be
    // created again by a second Region's stack.
    let root = rearguard_e2e::workspace_root();
    let path = root.join("templates/member-account.yaml");
    let template: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&path).expect("member template")).expect("YAML");
    let conditions = &template["Conditions"];

    // WHEN its named roles are listed
    let named: Vec<(String, String)> = template["Resources"]
        .as_mapping()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role" && !r["Properties"]["RoleName"].is_null())
        .map(|(name, r)| {
            let condition = r["Condition"].as_str().unwrap_or("").to_string();
            (name.as_str().unwrap().to_string(), condition)
        })
        .collect();

    // THEN each is created only under CreateRoles, and cfn-lint passes with CreateRoles=false.
    assert!(named.len() >= 2, "{named:?}");
    for (role, condition) in &named {
        let definition = serde_yaml_ng::to_string(&conditions[condition.as_str()]).unwrap_or_default();
        assert!(
            condition == "CreateRoles" || definition.contains("CreateRoles"),
            "{role} is created whatever CreateRoles says (condition {condition:?})"
        );
    }
    let lint = std::process::Command::new(root.join(".venv/bin/cfn-lint"))
        .args([
            "--parameters",
            "CreateRoles=false",
            "CentralAccountId=111122223333",
            "CentralRoleArn=arn:aws:iam::111122223333:role/central",
            "CentralRegion=eu-central-1",
            "--",
        ])
        .arg(&path)
        .output()
        .expect("cfn-lint from .venv (make setup installs it)");
    assert!(
        lint.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

#[tokio::test]
async fn audit_mode_alerts_once_a_day_about_a_resource_however_often_its_tags_change() {
    // GIVEN audit mode with the state table, and an untagged instance,
    let sdk = local_aws::sdk_config().await;
    let table = unique("enroll-state");
    local_aws::create_state_table(&sdk, &table).await;
    let harness = Harness::start_with(&policy("audit"), &[("STATE_TABLE_NAME", table.as_str())]).await;
    let ids = run_instances(&harness.sdk, 1, &[("Owner", "ana")]).await;
    let arn = instance_arn(HOME, &ids[0]);

    // WHEN its launch and then three tag changes that leave it untagged arrive
    harness
        .invoke(&run_instances_event(HOME, &ids, &[("Owner", "ana")]))
        .await;
    for owner in ["bo", "cy", "di"] {
        let answer = harness
            .invoke(&tag_change(&arn, "ec2", "instance", &["Owner"], &[("Owner", owner)]))
            .await;
        assert_eq!(answer["resources"][0]["decision"], "alert", "{answer}");
    }
    let messages = harness.topic.receive(2, Duration::from_secs(3)).await;

    // THEN one WARNING was sent, and the others were held back.
    assert_eq!(
        messages.len(),
        1,
        "{:?}",
        messages.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(messages[0].subject.starts_with("[WARNING] No backup-plan tag:"));
    let logs = harness.function.logs().join("\n");
    assert_eq!(logs.matches("already_alerted").count(), 3, "{logs}");
}

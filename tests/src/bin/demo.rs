//! `make demo`: plays a night of AWS Backup events through job-alerts (the real binary, through
//! the Lambda Runtime API) against the local AWS emulator, and prints the alerts that arrived on
//! the SNS topic, read back from its SQS subscription; then new resources through tag-enrollment,
//! completed backups through cross-account-copy; an attack on the backups through tamper-guard;
//! and finally the seed scenario end to end, ending in compliance-report's summary
//! (`rearguard_e2e::story`).

use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, Received, create_state_table};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::sample;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn sqs_batch(bodies: Vec<Value>) -> Value {
    let records: Vec<Value> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let body = match body {
                Value::String(raw) => raw,
                other => other.to_string(),
            };
            json!({"messageId": format!("demo-msg-{i}"), "body": body, "eventSource": "aws:sqs", "awsRegion": "eu-west-1"})
        })
        .collect();
    json!({"Records": records})
}

fn storm(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let mut event = sample("copy-failed-ebs");
            event["id"] = json!(format!("demo-storm-{i}"));
            event["detail"]["copyJobId"] = json!(format!("COPY-JOB-{i:03}"));
            event["detail"]["resourceArn"] =
                json!(format!("arn:aws:ec2:eu-west-1:111122223333:volume/vol-storm{i:03}"));
            event["detail"]["statusMessage"] = json!("Access denied by the destination backup vault access policy.");
            event
        })
        .collect()
}

fn print_alert(n: usize, alert: &Received) {
    let doc = &alert.document;
    println!("  [{n}] {}", alert.subject);
    let attributes: Vec<String> = alert.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("      attributes  {}", attributes.join(" "));
    if doc["kind"] == "digest" {
        let jobs = doc["jobs"].as_array().cloned().unwrap_or_default();
        println!(
            "      digest      {} jobs listed (part {} of {})",
            jobs.len(),
            doc["part"],
            doc["parts"]
        );
        for job in jobs.iter().take(3) {
            println!(
                "        - {} job {}: {}",
                job["resourceName"].as_str().unwrap_or(""),
                job["jobId"].as_str().unwrap_or(""),
                job["statusMessage"].as_str().unwrap_or("")
            );
        }
        if jobs.len() > 3 {
            println!("        ... and {} more, every one in the message", jobs.len() - 3);
        }
    } else {
        if let Some(arn) = doc["resource"]["arn"].as_str() {
            println!("      resource    {arn}");
        }
        if let Some(created) = doc["restore"]["createdResourceArn"].as_str() {
            println!("      new         {created}");
        }
        if let Some(message) = doc["job"]["statusMessage"].as_str() {
            println!("      AWS says    {message}");
        }
        if let Some(hint) = doc["hint"].as_str() {
            println!("      what to do  {hint}");
        }
        if let Some(url) = doc["job"]["consoleUrl"].as_str() {
            println!("      console     {url}");
        }
    }
    println!();
}

#[tokio::main]
async fn main() {
    let sdk = local_aws::sdk_config().await;
    let topic = AlertsTopic::create(&sdk, "rearguard-alerts").await;
    create_state_table(&sdk, "rearguard-state").await;
    println!(
        "Local AWS at {}: topic {}, state table rearguard-state",
        local_aws::endpoint(),
        topic.topic_arn
    );

    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
    env.push(("STATE_TABLE_NAME", "rearguard-state".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = FunctionProcess::spawn(binary("job-alerts"), &api.address(), &env);
    println!("job-alerts running under the Lambda Runtime API at {}\n", api.address());

    let steps: Vec<(&str, Value)> = vec![
        (
            "03:00  A nightly RDS backup fails: the KMS key cannot be used",
            sample("backup-failed-rds"),
        ),
        (
            "03:05  EventBridge delivers the same event again (at-least-once)",
            sample("backup-failed-rds"),
        ),
        (
            "03:10  The RDS backup is still running on another rule (no alert)",
            sample("backup-running"),
        ),
        (
            "03:25  An EC2 backup completes with issues",
            sample("backup-completed-with-issues-ec2"),
        ),
        (
            "04:00  A copy is queued (CREATED: AWS may retry it for hours; no alert)",
            sample("copy-created"),
        ),
        (
            "06:02  The copy to the isolated account fails (batch with a duplicate and a garbled record)",
            serde_json::from_str(
                &std::fs::read_to_string(
                    rearguard_e2e::workspace_root().join("events/sqs-batch-duplicate-and-garbage.json"),
                )
                .unwrap(),
            )
            .unwrap(),
        ),
        (
            "06:30  A vault policy change breaks 40 copies at once (one SQS batch)",
            sqs_batch(storm(40)),
        ),
        (
            "11:00  An EFS backup never started inside its window",
            sample("backup-expired-efs"),
        ),
        (
            "11:48  A restore completes: applications must be re-pointed",
            sample("restore-completed-rds"),
        ),
        (
            "12:00  Something that is not a job event arrives",
            sample("unknown-vault-state-change"),
        ),
        ("+1 day The RDS backup succeeds again", sample("backup-completed-rds")),
    ];
    for (what, payload) in &steps {
        let answer = api.invoke(payload, WAIT).await.unwrap_or_else(|e| panic!("{e}"));
        let outcome = match &answer {
            Answer::Response(v) if v.get("batchItemFailures").is_some() => {
                format!(
                    "batch handled, {} record(s) to retry",
                    v["batchItemFailures"].as_array().map_or(0, Vec::len)
                )
            }
            Answer::Response(_) => "handled".to_string(),
            Answer::Error(e) => format!("error: {e}"),
        };
        println!("event  {what}\n       -> {outcome}");
    }

    let alerts = topic.receive(7, WAIT).await;
    println!("\n{} alerts arrived on {}:\n", alerts.len(), topic.topic_arn);
    for (i, alert) in alerts.iter().enumerate() {
        print_alert(i + 1, alert);
    }
    let seen = steps.len();
    println!(
        "{seen} deliveries in, {} alerts out: duplicates dropped, progress events quiet, 40 copy failures digested.",
        alerts.len()
    );
    drop(function);

    enrollment_scene(&sdk, &topic).await;
    copy_scene(&sdk, &topic).await;
    attack_scene(&sdk, &topic).await;
    rearguard_e2e::story::run(&sdk).await;
    // restore-drill
    rearguard_e2e::ransomware::run(&sdk).await;
}

/// A CloudTrail record of the attacker's session (role ops-admin, from 203.0.113.45).
fn attack_step(name: &str, id: &str, time: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut event = sample(name);
    event["id"] = json!(id);
    event["time"] = json!(time);
    event["detail"]["eventTime"] = json!(time);
    change(&mut event["detail"]);
    event
}

/// tamper-guard with its response on: a vault encrypted with its own key and protected by a
/// policy that denies deletions, then an attacker who weakens the policy, deletes a recovery
/// point and schedules the key's deletion, between AWS Backup's own lifecycle work.
async fn attack_scene(sdk: &aws_config::SdkConfig, topic: &AlertsTopic) {
    println!("\n=== tamper-guard: someone attacks the backups ===\n");
    let kms = aws_sdk_kms::Client::new(sdk);
    let backup = aws_sdk_backup::Client::new(sdk);
    let key = kms
        .create_key()
        .description("demo vault key")
        .send()
        .await
        .expect("create key")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("key arn")
        .to_string();
    let vault = "demo-guarded-vault";
    rearguard_e2e::backup_world::vault(sdk, vault, Some(&key)).await;
    let protective = attack_step(
        "cloudtrail-put-vault-access-policy-protective",
        "attack-0",
        "2026-11-20T02:00:00Z",
        |d| {
            d["requestParameters"]["backupVaultName"] = json!(vault);
        },
    );
    let weakened = attack_step(
        "cloudtrail-put-vault-access-policy-without-deny",
        "attack-1",
        "2026-11-20T03:05:10Z",
        |d| {
            d["requestParameters"]["backupVaultName"] = json!(vault);
        },
    );
    for (step, label) in [(&protective, "protective"), (&weakened, "weakened")] {
        let policy = step["detail"]["requestParameters"]["policy"].as_str().expect("policy");
        backup
            .put_backup_vault_access_policy()
            .backup_vault_name(vault)
            .policy(policy)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{label} policy: {e}"));
    }
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("schedule key deletion");
    let deletion = attack_step(
        "cloudtrail-delete-recovery-point",
        "attack-2",
        "2026-11-20T03:08:00Z",
        |_| {},
    );
    let key_id = key.rsplit_once("key/").map(|(_, id)| id).unwrap_or(&key).to_string();
    let key_step = attack_step(
        "cloudtrail-schedule-key-deletion",
        "attack-3",
        "2026-11-20T03:10:00Z",
        |d| {
            d["requestParameters"]["keyId"] = json!(key_id);
            d["responseElements"]["keyId"] = json!(key);
            d["resources"][0]["ARN"] = json!(key);
        },
    );
    let denied = attack_step(
        "cloudtrail-delete-recovery-point-denied",
        "attack-4",
        "2026-11-20T03:11:30Z",
        |_| {},
    );

    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
    env.push(("STATE_TABLE_NAME", "rearguard-state".into()));
    env.push(("RESPOND", "true".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = FunctionProcess::spawn(binary("tamper-guard"), &api.address(), &env);
    let steps: Vec<(&str, Value)> = vec![
        (
            "02:00  The vault's protective access policy is put (remembered)",
            protective,
        ),
        (
            "03:02  AWS Backup's lifecycle deletes an expired backup",
            sample("cloudtrail-backup-deleted-by-lifecycle"),
        ),
        ("03:05  ops-admin puts a policy without the denies", weakened),
        ("03:08  ops-admin deletes a recovery point", deletion.clone()),
        ("03:08  EventBridge delivers the same record again", deletion),
        ("03:10  ops-admin schedules the vault key's deletion", key_step),
        ("03:11  ops-admin tries another deletion and is denied", denied),
    ];
    for (what, payload) in &steps {
        let outcome = match api.invoke(payload, WAIT).await {
            Ok(Answer::Response(v)) => {
                let response = v["response"]
                    .as_str()
                    .map(|r| format!(", response {r}"))
                    .unwrap_or_default();
                format!("{}{response}", v["status"].as_str().unwrap_or(""))
            }
            other => format!("{other:?}"),
        };
        println!("event  {what}\n       -> {outcome}");
    }
    let alerts = topic.receive(4, WAIT).await;
    println!("\n{} alert(s) arrived on the topic:\n", alerts.len());
    for (i, alert) in alerts.iter().enumerate() {
        let doc = &alert.document;
        println!("  [{}] {}", i + 1, alert.subject);
        println!(
            "      who         {} from {}",
            doc["actor"]["arn"].as_str().unwrap_or(""),
            doc["actor"]["sourceIp"].as_str().unwrap_or("")
        );
        println!("      what        {}", doc["target"].as_str().unwrap_or(""));
        if let Some(status) = doc["response"]["status"].as_str() {
            println!("      response    {status}: {}", doc["response"]["calls"]);
        }
        for step in doc["incident"]["steps"].as_array().into_iter().flatten() {
            println!(
                "      step        {} {} {}",
                step["at"].as_str().unwrap_or(""),
                step["severity"].as_str().unwrap_or(""),
                step["action"].as_str().unwrap_or("")
            );
        }
        println!();
    }
    let state = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .ok()
        .and_then(|k| {
            k.key_metadata()
                .and_then(|m| m.key_state())
                .map(|s| s.as_str().to_string())
        })
        .unwrap_or_default();
    let policy = backup
        .get_backup_vault_access_policy()
        .backup_vault_name(vault)
        .send()
        .await
        .ok()
        .and_then(|p| p.policy().map(str::to_string))
        .unwrap_or_default();
    println!(
        "The vault key is {state} again; the vault's policy denies deletions again: {}.",
        policy.contains("backup:DeleteRecoveryPoint")
    );
    drop(function);
}

/// The policy of the enrolment scene (the copy scene adds its vaults and copies).
const POLICY: &str = r#"{"plans": {"production": {"rpo_hours": 24}, "staging": {"rpo_hours": 168}},
  "opt_out": {"value": "none", "reason_tag_key": "backup-opt-out-reason"},
  "enrollment": {"mode": "enforce", "fallback_plan": "staging",
    "defaults": [{"when": {"Environment": "Production"}, "plan": "production"}]}}"#;

/// What happens, the instances' tags, how many.
type Launch = (&'static str, Vec<(&'static str, &'static str)>, i32);

fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// tag-enrollment: new resources in the local AWS, the creation events CloudTrail would send,
/// and the tags the resources carry afterwards.
async fn enrollment_scene(sdk: &aws_config::SdkConfig, topic: &AlertsTopic) {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    println!("\n=== tag-enrollment: new resources are enrolled in a backup plan by tag ===\n");
    let account = "123456789012";
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let image = ec2.describe_images().send().await.expect("images").images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let scenes: Vec<Launch> = vec![
        (
            "three production web servers are launched",
            vec![("Environment", "Production"), ("Name", "web")],
            3,
        ),
        ("a build box without any tags", vec![("Name", "build")], 1),
        (
            "a scratch instance opted out, with a reason",
            vec![
                ("backup-plan", "none"),
                ("backup-opt-out-reason", "scratch, rebuilt nightly"),
            ],
            1,
        ),
        (
            "an instance opted out without a reason",
            vec![("backup-plan", "none")],
            1,
        ),
        (
            "an instance with a typo in its plan",
            vec![("backup-plan", "prodution")],
            1,
        ),
    ];

    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
    env.push(("REARGUARD_POLICY", POLICY.to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = FunctionProcess::spawn(binary("tag-enrollment"), &api.address(), &env);
    let tagging = aws_sdk_resourcegroupstagging::Client::new(sdk);

    for (what, tags, count) in &scenes {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        let launched = ec2
            .run_instances()
            .image_id(&image)
            .min_count(*count)
            .max_count(*count)
            .tag_specifications(spec.build())
            .send()
            .await
            .expect("run instances");
        let ids: Vec<String> = launched
            .instances()
            .iter()
            .map(|i| i.instance_id().unwrap().to_string())
            .collect();
        let mut event = sample("cloudtrail-run-instances-three");
        event["account"] = json!(account);
        event["detail"]["recipientAccountId"] = json!(account);
        let items: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        event["detail"]["requestParameters"]["tagSpecificationSet"]["items"][0]["tags"] = json!(items);
        event["detail"]["responseElements"]["instancesSet"]["items"] = json!(
            ids.iter()
                .map(|id| json!({"instanceId": id, "tagSet": {"items": items}}))
                .collect::<Vec<_>>()
        );
        println!("event  RunInstances: {what}");
        if let Answer::Response(v) = api.invoke(&event, WAIT).await.unwrap_or_else(|e| panic!("{e}")) {
            for resource in v["resources"].as_array().cloned().unwrap_or_default() {
                let arn = resource["arn"].as_str().unwrap_or("");
                let now = tagging
                    .get_resources()
                    .resource_arn_list(arn)
                    .send()
                    .await
                    .expect("tags");
                let shown: Vec<String> = now
                    .resource_tag_mapping_list()
                    .iter()
                    .flat_map(|m| m.tags())
                    .filter(|t| t.key().starts_with("backup") || t.key().starts_with("rearguard"))
                    .map(|t| format!("{}={}", t.key(), t.value()))
                    .collect();
                let decision = resource["decision"].as_str().unwrap_or("");
                println!(
                    "       {:<20} {decision:<10} tags now: {}",
                    short_id(arn),
                    shown.join(" ")
                );
            }
        }
    }
    if let Answer::Response(v) = api
        .invoke(&sample("cloudtrail-run-instances-failed"), WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    {
        println!(
            "event  RunInstances that failed: {}",
            v["reason"].as_str().unwrap_or("")
        );
    }

    let messages = topic.receive(6, WAIT).await;
    println!("\n{} messages arrived on the topic:\n", messages.len());
    for (i, message) in messages.iter().enumerate() {
        println!("  [{}] {}", i + 1, message.subject);
        if let Some(arn) = message.document["resource"]["arn"].as_str() {
            println!("      resource    {arn}");
        }
    }
    drop(function);
}

/// cross-account-copy: vaults in three places, backups from the emulator's job extension, their
/// completion events through the function, and the copies the emulator then holds.
async fn copy_scene(sdk: &aws_config::SdkConfig, topic: &AlertsTopic) {
    use rearguard_e2e::backup_world::{
        acting_in, allow_copies_from, backup, backup_events_inbox, copy_jobs, create_role, customer_key, next_events,
        points_in, share_key_with, vault,
    };
    const ISOLATED_ACCOUNT: &str = "444455556666";

    println!("\n=== cross-account-copy: completed backups are copied to an isolated account and region ===\n");
    let west = acting_in(sdk, None, "us-west-2").await;
    let isolated = acting_in(sdk, Some(ISOLATED_ACCOUNT), "eu-west-1").await;
    vault(sdk, "rearguard-production", None).await;
    let dr = vault(&west, "rearguard-dr", Some(&customer_key(&west).await)).await;
    let vault_in_isolated = vault(&isolated, "rearguard-isolated", Some(&customer_key(&isolated).await)).await;
    allow_copies_from(&isolated, "rearguard-isolated", &["123456789012"]).await;
    create_role(sdk, ISOLATED_ACCOUNT, "rearguard-vault-check").await;
    println!("vaults  rearguard-production (123456789012 eu-west-1), {dr}, {vault_in_isolated}");
    let mut policy: serde_json::Value = serde_json::from_str(POLICY).expect("the demo's policy");
    policy["vaults"] = json!({"rearguard-production": {}, "isolated": {"arn": vault_in_isolated}, "dr": {"arn": dr}});
    policy["copy_routes"] = json!([
        {"name": "offsite", "source_vaults": ["rearguard-production"], "resource_types": ["EBS", "EFS", "DynamoDB"],
         "destinations": ["isolated", "dr"], "copy_role_arn": "arn:aws:iam::123456789012:role/rearguard-copy",
         "lifecycle": {"delete_after_days": 35}},
        {"name": "databases", "source_vaults": ["rearguard-production"], "resource_types": ["RDS"],
         "destinations": ["isolated"], "copy_role_arn": "arn:aws:iam::123456789012:role/rearguard-copy"}
    ]);
    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
    env.push(("REARGUARD_POLICY", policy.to_string()));
    env.push(("DESTINATION_ROLE_NAME", "rearguard-vault-check".into()));
    env.push(("STATE_TABLE_NAME", "rearguard-state".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = FunctionProcess::spawn(binary("cross-account-copy"), &api.address(), &env);
    println!(
        "cross-account-copy running under the Lambda Runtime API at {}\n",
        api.address()
    );

    let key = customer_key(sdk).await;
    share_key_with(sdk, &key, ISOLATED_ACCOUNT).await;
    let volume = aws_sdk_ec2::Client::new(sdk)
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(500)
        .encrypted(true)
        .kms_key_id(&key)
        .send()
        .await
        .expect("volume");
    let volume = format!(
        "arn:aws:ec2:eu-west-1:123456789012:volume/{}",
        volume.volume_id().unwrap()
    );
    aws_sdk_rds::Client::new(sdk)
        .create_db_instance()
        .db_instance_identifier("prod-orders")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("app")
        .master_user_password("not-a-real-secret-1")
        .storage_encrypted(true)
        .send()
        .await
        .expect("db");
    let database = "arn:aws:rds:eu-west-1:123456789012:db:prod-orders";

    for (what, resource) in [
        (
            "an EBS volume (customer managed key) is backed up by the daily plan",
            volume.as_str(),
        ),
        (
            "the prod-orders RDS database (AWS managed key aws/rds) is backed up",
            database,
        ),
    ] {
        let inbox = backup_events_inbox(sdk, &format!("demo-{}", short_id(resource).replace(':', "-")), resource).await;
        let point = backup(
            sdk,
            "rearguard-production",
            resource,
            Some("rearguard-production-daily"),
        )
        .await;
        let completed = next_events(sdk, &inbox, "Backup Job State Change").await.remove(0);
        println!("event  Backup Job COMPLETED: {what}\n       recovery point {point}");
        for delivery in ["", " (delivered again)"] {
            let answer = match api.invoke(&completed, WAIT).await {
                Ok(Answer::Response(v)) => v,
                other => panic!("{other:?}\n{}", function.logs().join("\n")),
            };
            let copies: Vec<String> = answer["copies"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|c| {
                            format!(
                                "copy job {} -> {}",
                                c["copyJobId"].as_str().unwrap_or(""),
                                c["destination"].as_str().unwrap_or("")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if answer["status"] == "duplicate" {
                println!("       -> duplicate{delivery}: already handled, nothing started or sent again");
                continue;
            }
            println!(
                "       -> {}{delivery}: {} cop{} requested, {} refused",
                answer["status"].as_str().unwrap_or(""),
                copies.len(),
                if copies.len() == 1 { "y" } else { "ies" },
                answer["refused"]
            );
            for copy in copies {
                println!("          {copy}");
            }
        }
        let jobs = copy_jobs(sdk, resource).await;
        println!("       copy jobs in AWS Backup for this resource: {}\n", jobs.len());
    }

    let dr_points = points_in(&west, "rearguard-dr").await;
    let isolated_points = points_in(&isolated, "rearguard-isolated").await;
    println!("recovery points now in rearguard-dr (us-west-2): {}", dr_points.len());
    println!(
        "recovery points now in rearguard-isolated (444455556666): {}",
        isolated_points.len()
    );
    for point in dr_points.iter().chain(&isolated_points) {
        println!(
            "  {}  delete after {} days",
            point.recovery_point_arn().unwrap_or(""),
            point
                .lifecycle()
                .and_then(|l| l.delete_after_days())
                .map_or("never".into(), |d| d.to_string())
        );
    }

    let messages = topic.receive(1, WAIT).await;
    println!("\n{} message(s) arrived on the topic:\n", messages.len());
    for (i, message) in messages.iter().enumerate() {
        println!("  [{}] {}", i + 1, message.subject);
        for refusal in message.document["detail"]["refused"].as_array().into_iter().flatten() {
            println!(
                "      refused     {}",
                refusal["destinationVaultArn"].as_str().unwrap_or("")
            );
            println!("      reason      {}", refusal["reason"].as_str().unwrap_or(""));
            println!("      what to do  {}", refusal["hint"].as_str().unwrap_or(""));
        }
    }
    drop(function);
}

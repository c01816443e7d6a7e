//! tamper-guard end to end: the built binary under the Lambda Runtime API, CloudTrail and AWS
//! Backup events as EventBridge delivers them, alerts read back from the topic, the ledger and
//! incidents in a real state table, vault keys in the local KMS.

use rearguard_e2e::backup_world::{acting_in, customer_key, vault};
use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, Received, create_state_table, unique};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::sample;
use rearguard_e2e::template_roles::{PLATFORM, deploy_template_role, function_env_as_configured, function_role_arn};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// The function's own role in the platform account (SAM names it after `TamperGuardFunction`).
const FUNCTION_ROLE: &str = "rearguard-TamperGuardFunctionRole";
/// Long enough for a message the function should not send to have arrived.
const QUIET: Duration = Duration::from_secs(3);

struct Harness {
    api: RuntimeApi,
    function: FunctionProcess,
    topic: AlertsTopic,
}

impl Harness {
    async fn start(extra_env: &[(&str, &str)]) -> Harness {
        let sdk = local_aws::sdk_config().await;
        let topic = AlertsTopic::create(&sdk, &unique("tamper")).await;
        let table = unique("state");
        create_state_table(&sdk, &table).await;
        let api = RuntimeApi::start().await;
        let mut env: Vec<(&str, String)> = function_env_as_configured(&sdk, FUNCTION_ROLE, extra_env, &[]).await;
        env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
        env.push(("STATE_TABLE_NAME", table));
        env.extend(extra_env.iter().map(|(k, v)| (*k, v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = FunctionProcess::spawn(binary("tamper-guard"), &api.address(), &env);
        Harness { api, function, topic }
    }

    async fn invoke(&self, payload: &Value) -> Value {
        match self.api.invoke(payload, WAIT).await {
            Ok(Answer::Response(v)) => v,
            other => panic!("{other:?}\nlogs:\n{}", self.function.logs().join("\n")),
        }
    }

    async fn alerts(&self, expected: usize) -> Vec<Received> {
        let wait = if expected == 0 { QUIET } else { WAIT };
        self.topic.receive(expected, wait).await
    }
}

/// A sample event with its own id and CloudTrail time.
fn event(name: &str, id: &str, time: &str) -> Value {
    let mut event = sample(name);
    event["id"] = json!(id);
    event["time"] = json!(time);
    event["detail"]["eventTime"] = json!(time);
    event
}

#[tokio::test]
async fn a_recovery_point_deleted_by_an_assumed_role_is_one_critical_alert_naming_the_role_and_source_ip() {
    let harness = Harness::start(&[]).await;

    let answer = harness.invoke(&sample("cloudtrail-delete-recovery-point")).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(answer["status"], "alerted", "{answer}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(
        alert.subject,
        "[CRITICAL] Recovery point deleted by ops-admin 123456789012 eu-west-1"
    );
    assert_eq!(alert.attributes["severity"], "CRITICAL");
    assert_eq!(alert.document["kind"], "recovery_point_deleted");
    assert_eq!(
        alert.document["actor"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/ops-admin/mallory"
    );
    assert_eq!(
        alert.document["actor"]["sessionIssuer"],
        "arn:aws:iam::123456789012:role/ops-admin"
    );
    assert_eq!(alert.document["actor"]["sourceIp"], "203.0.113.45");
}

#[tokio::test]
async fn every_alert_also_reaches_the_security_accounts_topic() {
    let sdk = local_aws::sdk_config().await;
    let security_account = acting_in(&sdk, Some("999988887777"), local_aws::REGION).await;
    let security = AlertsTopic::create(&security_account, &unique("security")).await;
    let harness = Harness::start(&[("SECURITY_TOPIC_ARN", &security.topic_arn)]).await;

    let answer = harness.invoke(&sample("cloudtrail-delete-recovery-point")).await;
    let again = harness.invoke(&sample("cloudtrail-delete-recovery-point")).await;
    let here = harness.alerts(1).await;
    let there = security.receive(1, WAIT).await;

    assert!(security.topic_arn.contains(":999988887777:"), "{}", security.topic_arn);
    assert_eq!(
        (&answer["status"], &again["status"]),
        (&json!("alerted"), &json!("duplicate"))
    );
    assert_eq!(here.len(), 1, "{here:?}");
    assert_eq!(there.len(), 1, "{there:?}");
    assert_eq!(there[0].subject, here[0].subject);
}

#[tokio::test]
async fn the_same_event_delivered_three_times_is_one_alert() {
    let harness = Harness::start(&[]).await;
    let deletion = sample("cloudtrail-delete-recovery-point");

    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(harness.invoke(&deletion).await["status"].clone());
    }
    let alerts = harness.alerts(1).await;

    assert_eq!(answers, [json!("alerted"), json!("duplicate"), json!("duplicate")]);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
}

#[tokio::test]
async fn aws_backups_own_event_of_a_change_cloudtrail_already_named_is_not_alerted_twice() {
    let harness = Harness::start(&[]).await;
    let mut deletion = event("cloudtrail-delete-recovery-point", "vault-call", "2026-11-20T03:24:10Z");
    deletion["detail"]["eventName"] = json!("DeleteBackupVault");
    deletion["detail"]["requestParameters"] = json!({"backupVaultName": "staging"});

    let call = harness.invoke(&deletion).await;
    let state = harness.invoke(&sample("vault-deleted")).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(call["status"], "alerted", "{call}");
    assert_eq!(state["status"], "nothing", "{state}");
    assert!(state["reason"].as_str().unwrap().contains("vault-call"), "{state}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].document["kind"], "vault_deleted");
    assert_eq!(alerts[0].document["actor"]["sourceIp"], "203.0.113.45");
}

#[tokio::test]
async fn a_lifecycle_expiry_by_aws_backup_is_no_alert() {
    let harness = Harness::start(&[]).await;

    let answer = harness.invoke(&sample("cloudtrail-backup-deleted-by-lifecycle")).await;
    let alerts = harness.alerts(0).await;

    assert_eq!(answer["status"], "nothing", "{answer}");
    assert!(
        answer["reason"].as_str().unwrap().contains("AWS Backup itself"),
        "{answer}"
    );
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[tokio::test]
async fn a_policy_change_that_removes_the_deny_is_critical_and_one_that_keeps_it_is_nothing() {
    let harness = Harness::start(&[]).await;
    let protective = |id: &str, time: &str| event("cloudtrail-put-vault-access-policy-protective", id, time);

    // GIVEN the vault's protective policy, seen once (remembered, nothing to say).
    let first = harness.invoke(&protective("policy-1", "2026-11-20T02:00:00Z")).await;
    // WHEN the same denies are put again, THEN nothing.
    let kept = harness.invoke(&protective("policy-2", "2026-11-20T02:30:00Z")).await;
    let quiet = harness.alerts(0).await;
    // WHEN a policy without the denies is put, THEN CRITICAL with what was lost.
    let removed = harness
        .invoke(&event(
            "cloudtrail-put-vault-access-policy-without-deny",
            "policy-3",
            "2026-11-20T03:05:10Z",
        ))
        .await;
    let alerts = harness.alerts(1).await;

    assert_eq!(
        (&first["status"], &kept["status"]),
        (&json!("nothing"), &json!("nothing"))
    );
    assert!(kept["reason"].as_str().unwrap().contains("keeps every deny"), "{kept}");
    assert!(quiet.is_empty(), "{quiet:?}");
    assert_eq!(removed["status"], "alerted", "{removed}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].attributes["severity"], "CRITICAL");
    assert_eq!(alerts[0].document["kind"], "vault_policy_weakened");
    let change = alerts[0].document["change"].as_str().unwrap();
    assert!(
        change.contains("backup:DeleteRecoveryPoint") && change.contains("backup:UpdateRecoveryPointLifecycle"),
        "{change}"
    );
    assert!(
        alerts[0].document["previousPolicy"]
            .as_str()
            .unwrap()
            .contains("NoDeletes")
    );
}

#[tokio::test]
async fn with_the_response_on_a_weakened_vault_policy_is_put_back() {
    let sdk = local_aws::sdk_config().await;
    let backup = aws_sdk_backup::Client::new(&sdk);
    let harness = Harness::start(&[("RESPOND", "true")]).await;
    let name = unique("vault");
    vault(&sdk, &name, None).await;
    let mut protective = event(
        "cloudtrail-put-vault-access-policy-protective",
        "restore-1",
        "2026-11-20T02:00:00Z",
    );
    let mut open = event(
        "cloudtrail-put-vault-access-policy-without-deny",
        "restore-2",
        "2026-11-20T03:05:10Z",
    );
    protective["detail"]["requestParameters"]["backupVaultName"] = json!(name);
    open["detail"]["requestParameters"]["backupVaultName"] = json!(name);
    let put = |event: &Value| {
        backup
            .put_backup_vault_access_policy()
            .backup_vault_name(&name)
            .policy(event["detail"]["requestParameters"]["policy"].as_str().unwrap())
            .send()
    };
    // GIVEN the vault's protective policy, seen by the function.
    put(&protective).await.expect("protective policy");
    harness.invoke(&protective).await;

    // WHEN someone puts a policy without the denies.
    put(&open).await.expect("weakened policy");
    let answer = harness.invoke(&open).await;
    let alerts = harness.alerts(1).await;

    // THEN CRITICAL, and the vault has its protective policy again.
    assert_eq!(answer["response"], "done", "{answer}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].document["response"]["status"], "done");
    let now = backup
        .get_backup_vault_access_policy()
        .backup_vault_name(&name)
        .send()
        .await
        .expect("read policy");
    assert!(now.policy().unwrap_or_default().contains("NoDeletes"), "{now:?}");
}

async fn key_state(kms: &aws_sdk_kms::Client, key_arn: &str) -> String {
    kms.describe_key()
        .key_id(key_arn)
        .send()
        .await
        .expect("describe key")
        .key_metadata()
        .and_then(|m| m.key_state())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// A key in the local KMS, scheduled for deletion there, and the CloudTrail record of that call.
async fn scheduled_key(kms: &aws_sdk_kms::Client, id: &str) -> (String, Value) {
    let key_arn = kms
        .create_key()
        .description("vault key")
        .send()
        .await
        .expect("create key")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("key arn")
        .to_string();
    kms.schedule_key_deletion()
        .key_id(&key_arn)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("schedule key deletion");
    let mut record = event("cloudtrail-schedule-key-deletion", id, "2026-11-20T03:20:00Z");
    let key_id = key_arn.rsplit_once("key/").unwrap().1.to_string();
    record["detail"]["requestParameters"]["keyId"] = json!(key_id);
    record["detail"]["responseElements"]["keyId"] = json!(key_arn);
    record["detail"]["resources"][0]["ARN"] = json!(key_arn);
    (key_arn, record)
}

#[tokio::test]
async fn a_vault_key_scheduled_for_deletion_is_critical_and_the_response_rescues_it() {
    let sdk = local_aws::sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let harness = Harness::start(&[("RESPOND", "true")]).await;
    // GIVEN a vault encrypted with a key, and another key that encrypts no vault.
    let (vault_key, vault_key_record) = scheduled_key(&kms, "key-1").await;
    vault(&sdk, &unique("vault"), Some(&vault_key)).await;
    let (other_key, other_key_record) = scheduled_key(&kms, "key-2").await;
    assert_eq!(key_state(&kms, &vault_key).await, "PendingDeletion");

    // WHEN both deletions arrive from CloudTrail.
    let answer = harness.invoke(&vault_key_record).await;
    let other = harness.invoke(&other_key_record).await;
    let alerts = harness.alerts(1).await;

    // THEN only the vault key is alerted and rescued.
    assert_eq!(answer["status"], "alerted", "{answer}");
    assert_eq!(answer["response"], "done", "{answer}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].attributes["severity"], "CRITICAL");
    assert_eq!(alerts[0].document["kind"], "vault_key_deletion_scheduled");
    assert_eq!(alerts[0].document["response"]["status"], "done");
    assert_eq!(key_state(&kms, &vault_key).await, "Enabled");
    assert_eq!(other["status"], "nothing", "{other}");
    assert_eq!(key_state(&kms, &other_key).await, "PendingDeletion");
}

#[tokio::test]
async fn with_the_response_off_a_vault_key_is_alerted_and_left_alone() {
    let sdk = local_aws::sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let harness = Harness::start(&[]).await;
    let (vault_key, record) = scheduled_key(&kms, "key-3").await;
    vault(&sdk, &unique("vault"), Some(&vault_key)).await;

    let answer = harness.invoke(&record).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(answer["status"], "alerted", "{answer}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].document["response"], Value::Null);
    assert_eq!(key_state(&kms, &vault_key).await, "PendingDeletion");
}

#[tokio::test]
async fn five_steps_of_one_attack_in_ten_minutes_are_one_incident_listing_five_steps() {
    let harness = Harness::start(&[]).await;
    let steps = [
        ("attack-1", "2026-11-20T03:00:00Z", "DeleteBackupVaultNotifications"),
        ("attack-2", "2026-11-20T03:02:30Z", "DeleteBackupPlan"),
        ("attack-3", "2026-11-20T03:05:00Z", "DeleteBackupVaultLockConfiguration"),
        ("attack-4", "2026-11-20T03:07:30Z", "DeleteRecoveryPoint"),
        ("attack-5", "2026-11-20T03:10:00Z", "DeleteBackupVault"),
    ];

    for (id, time, action) in steps {
        let mut step = event("cloudtrail-delete-recovery-point", id, time);
        step["detail"]["eventName"] = json!(action);
        step["detail"]["requestParameters"]["backupPlanId"] = json!("plan-1");
        let answer = harness.invoke(&step).await;
        assert_eq!(answer["status"], "alerted", "{action}: {answer}");
    }
    let alerts = harness.alerts(5).await;

    assert_eq!(alerts.len(), 5, "{alerts:?}");
    let incidents: Vec<&Value> = alerts.iter().map(|a| &a.document["incident"]["id"]).collect();
    assert!(incidents.iter().all(|id| **id == json!("attack-1")), "{incidents:?}");
    let last = alerts
        .iter()
        .find(|a| a.document["incident"]["steps"].as_array().map(Vec::len) == Some(5))
        .expect("an alert listing five steps");
    assert!(
        last.subject
            .starts_with("[CRITICAL] Possible attack on backups in progress: 5 steps by ops-admin"),
        "{}",
        last.subject
    );
    let listed: Vec<&str> = last.document["incident"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(listed, steps.map(|(_, _, action)| action));
}

#[tokio::test]
async fn a_malformed_event_is_no_alert_and_the_function_keeps_running() {
    let harness = Harness::start(&[]).await;
    let mut not_an_object = sample("cloudtrail-delete-recovery-point");
    not_an_object["detail"] = json!("truncated");

    let malformed = harness.invoke(&not_an_object).await;
    let other = harness.invoke(&sample("malformed-detail")).await;
    let quiet = harness.alerts(0).await;
    let after = harness.invoke(&sample("cloudtrail-delete-recovery-point")).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(malformed["status"], "ignored", "{malformed}");
    assert!(
        malformed["reason"].as_str().unwrap().contains("not an object"),
        "{malformed}"
    );
    assert_eq!(other["status"], "ignored", "{other}");
    assert!(quiet.is_empty(), "{quiet:?}");
    assert_eq!(after["status"], "alerted", "{after}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
}

#[tokio::test]
async fn a_vault_lock_applied_and_then_reported_off_by_aws_backup_is_one_critical_alert() {
    let harness = Harness::start(&[]).await;

    let applied = harness.invoke(&sample("cloudtrail-put-vault-lock-configuration")).await;
    let off = harness.invoke(&sample("vault-lock-turned-off")).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(applied["status"], "nothing", "a lock applied is hardening: {applied}");
    assert_eq!(off["status"], "alerted", "{off}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].attributes["severity"], "CRITICAL");
    assert_eq!(alerts[0].document["kind"], "vault_lock_turned_off");
    assert!(
        alerts[0].document["change"]
            .as_str()
            .unwrap()
            .contains("governance mode, minimum retention 30 days"),
        "{}",
        alerts[0].document["change"]
    );
}

#[tokio::test]
async fn the_cloudtrail_record_after_aws_backups_own_alert_is_sent_as_its_follow_up_naming_the_actor() {
    let harness = Harness::start(&[]).await;
    let state = sample("vault-deleted");
    let mut deletion = event("cloudtrail-delete-recovery-point", "vault-call", "2026-11-20T03:29:00Z");
    deletion["detail"]["eventName"] = json!("DeleteBackupVault");
    deletion["detail"]["requestParameters"] = json!({"backupVaultName": "staging"});

    let first = harness.invoke(&state).await;
    let second = harness.invoke(&deletion).await;
    let alerts = harness.alerts(2).await;

    assert_eq!(
        (&first["status"], &second["status"]),
        (&json!("alerted"), &json!("alerted"))
    );
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let (by_aws_backup, follow_up) = if alerts[0].document["followUpOf"].is_null() {
        (&alerts[0], &alerts[1])
    } else {
        (&alerts[1], &alerts[0])
    };
    assert!(by_aws_backup.document["actor"].is_null());
    assert_eq!(follow_up.document["followUpOf"], state["id"]);
    assert_eq!(follow_up.document["incident"]["id"], state["id"]);
    assert_eq!(follow_up.document["actor"]["sourceIp"], "203.0.113.45");
    assert_eq!(follow_up.attributes["followUp"], "true");
    assert!(
        follow_up.subject.contains("Follow-up: Backup vault deleted"),
        "{}",
        follow_up.subject
    );
}

#[tokio::test]
async fn a_key_scheduled_for_deletion_in_a_member_account_is_a_warning_stating_its_vaults_are_not_known() {
    let harness = Harness::start(&[]).await;
    let mut deletion = sample("cloudtrail-schedule-key-deletion");
    deletion["account"] = json!("444455556666");
    deletion["detail"]["recipientAccountId"] = json!("444455556666");

    let answer = harness.invoke(&deletion).await;
    let alerts = harness.alerts(1).await;

    assert_eq!(answer["status"], "alerted", "{answer}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].attributes["severity"], "WARNING");
    assert_eq!(alerts[0].document["kind"], "member_key_deletion_scheduled");
    assert_eq!(alerts[0].document["accountId"], "444455556666");
    assert!(
        alerts[0].document["target"].as_str().unwrap().contains("not known"),
        "{}",
        alerts[0].document["target"]
    );
}

/// The CloudTrail record, forwarded from `account`, of a ScheduleKeyDeletion of `key_arn` there.
fn member_key_deletion(account: &str, key_arn: &str) -> Value {
    let mut record = event(
        "cloudtrail-schedule-key-deletion",
        &unique("member-key"),
        "2026-11-20T03:20:00Z",
    );
    record["account"] = json!(account);
    record["detail"]["recipientAccountId"] = json!(account);
    // Made by that account's own role: one incident per principal.
    record["detail"]["userIdentity"]["arn"] = json!(format!("arn:aws:sts::{account}:assumed-role/ops-admin/mallory"));
    record["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        json!(format!("arn:aws:iam::{account}:role/ops-admin"));
    record["detail"]["requestParameters"]["keyId"] = json!(key_arn.rsplit_once("key/").unwrap().1);
    record["detail"]["responseElements"]["keyId"] = json!(key_arn);
    record["detail"]["resources"][0]["ARN"] = json!(key_arn);
    record
}

#[tokio::test]
async fn a_member_accounts_vault_key_is_critical_through_the_member_role_and_not_known_where_the_role_is_missing() {
    // GIVEN a member account with the member role and a vault encrypted with its own key, and
    // another member account without the role.
    let sdk = local_aws::sdk_config().await;
    // templates/member-account.yaml's list-only role, trusting the function's own role.
    let tamper_guard_role = function_role_arn(FUNCTION_ROLE);
    let role = deploy_template_role(
        &sdk,
        "member-account.yaml",
        "TamperGuardReaderRole",
        "444455556666",
        &[
            ("CentralAccountId", PLATFORM),
            (
                "CentralRoleArn",
                "arn:aws:iam::123456789012:role/rearguard-TagEnrollmentFunctionRole",
            ),
            ("TamperGuardRoleArn", &tamper_guard_role),
        ],
    )
    .await;
    let role = role.as_str();
    let member = acting_in(&sdk, Some("444455556666"), local_aws::REGION).await;
    let key_arn = customer_key(&member).await;
    let vault_name = unique("member-vault");
    vault(&member, &vault_name, Some(&key_arn)).await;
    let without_role = acting_in(&sdk, Some("777788889999"), local_aws::REGION).await;
    let other_key = customer_key(&without_role).await;
    let harness = Harness::start(&[("MEMBER_ROLE_NAME", role), ("RESPOND", "true")]).await;

    // WHEN each account's key deletion is forwarded to the central account.
    let vault_key = harness.invoke(&member_key_deletion("444455556666", &key_arn)).await;
    let unknown = harness.invoke(&member_key_deletion("777788889999", &other_key)).await;
    let mut alerts = harness.alerts(2).await;
    alerts.sort_by_key(|a| a.document["severity"].as_str().unwrap_or("").to_string());

    // THEN the vault key is CRITICAL and names its vault (no response outside the own account);
    // the other is a WARNING saying the role could not be assumed.
    assert_eq!(vault_key["kind"], "vault_key_deletion_scheduled", "{vault_key}");
    assert!(vault_key["response"].is_null(), "{vault_key}");
    assert_eq!(unknown["kind"], "member_key_deletion_scheduled", "{unknown}");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(alerts[0].document["severity"], "CRITICAL");
    assert!(
        alerts[0].document["target"].as_str().unwrap().contains(&vault_name),
        "{}",
        alerts[0].document["target"]
    );
    assert_eq!(alerts[1].document["severity"], "WARNING");
    assert!(
        alerts[1].document["target"]
            .as_str()
            .unwrap()
            .contains("could not be assumed"),
        "{}",
        alerts[1].document["target"]
    );
}

//! The handler over an in-memory state table, publisher, vault keys and responder: what is
//! remembered, sent and called for one event. No I/O.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rearguard::alert::Alert;
use rearguard::metrics::Metrics;
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{StoreError, Versioned, Written};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::Config;
use crate::handler::{Deps, handle};
use crate::incident::Incident;
use crate::keys::{VaultKeys, VaultsOfKey};
use crate::respond::DryRunResponder;
use crate::state::{Memory, TamperState};

#[derive(Default)]
struct World {
    vaults: Mutex<HashMap<String, Memory>>,
    incidents: Mutex<HashMap<String, Versioned<Incident>>>,
    /// Conflicts still to answer on incident writes (another invocation writing first).
    conflicts: Mutex<u32>,
    sent: Mutex<Vec<Alert>>,
    /// Publish failures still to answer.
    failures: Mutex<u32>,
    key_vaults: HashMap<String, Vec<String>>,
}

#[async_trait]
impl TamperState for World {
    async fn memory_of(&self, vault: &str) -> Result<Memory, StoreError> {
        Ok(self.vaults.lock().unwrap().get(vault).cloned().unwrap_or_default())
    }
    async fn remember(&self, vault: &str, memory: &Memory) -> Result<(), StoreError> {
        self.vaults.lock().unwrap().insert(vault.into(), memory.clone());
        Ok(())
    }
    async fn open_incident(&self, principal: &str) -> Result<Option<Versioned<Incident>>, StoreError> {
        Ok(self.incidents.lock().unwrap().get(principal).cloned())
    }
    async fn write_incident(
        &self,
        incident: &Incident,
        expected: Option<u64>,
        _expires_at: DateTime<Utc>,
    ) -> Result<Written, StoreError> {
        let mut conflicts = self.conflicts.lock().unwrap();
        if *conflicts > 0 {
            *conflicts -= 1;
            return Ok(Written::Conflict);
        }
        let mut incidents = self.incidents.lock().unwrap();
        if incidents.get(&incident.principal).map(|v| v.version) != expected {
            return Ok(Written::Conflict);
        }
        let version = expected.unwrap_or(0) + 1;
        incidents.insert(
            incident.principal.clone(),
            Versioned {
                value: incident.clone(),
                version,
            },
        );
        Ok(Written::Done { version })
    }
}

#[async_trait]
impl PublishAlert for World {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(PublishError {
                topic_arn: "t".into(),
                message: "throttled".into(),
            });
        }
        self.sent.lock().unwrap().push(alert.clone());
        Ok("m".into())
    }
}

#[async_trait]
impl VaultKeys for World {
    async fn vaults_of(&self, account: &str, _region: &str, key_id: &str) -> Result<VaultsOfKey, String> {
        if account != "123456789012" {
            return Ok(VaultsOfKey::Unknown("MEMBER_ROLE_NAME is not set".into()));
        }
        Ok(VaultsOfKey::Known(
            self.key_vaults.get(key_id).cloned().unwrap_or_default(),
        ))
    }
}

fn config() -> Config {
    Config {
        allowlist: Vec::new(),
        incident_window: Duration::from_secs(15 * 60),
        respond: false,
        security_topic_arn: None,
        member_role_name: None,
    }
}

async fn run(world: &World, config: &Config, respond: bool, event: &Value) -> Result<Value, String> {
    let dry_run = DryRunResponder;
    let deps = Deps {
        config,
        publisher: world,
        security: None,
        forwarder: None,
        ledger: None,
        state: Some(world),
        vault_keys: world,
        responder: respond.then_some(&dry_run as _),
    };
    handle(event.clone(), &deps, &mut Metrics::new("Rearguard", "tamper-guard"))
        .await
        .map_err(|e| e.to_string())
}

fn sample(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn a_weakened_policy_is_still_alerted_when_its_first_publish_failed() {
    // GIVEN the vault's protective policy was seen, and the topic fails once.
    let world = World::default();
    let protective = sample(include_str!(
        "../../../events/cloudtrail-put-vault-access-policy-protective.json"
    ));
    let open = sample(include_str!(
        "../../../events/cloudtrail-put-vault-access-policy-without-deny.json"
    ));
    run(&world, &config(), false, &protective).await.unwrap();
    *world.failures.lock().unwrap() = 1;

    // WHEN the weakening arrives, fails to publish, and is retried.
    let first = run(&world, &config(), false, &open).await;
    let retry = run(&world, &config(), false, &open).await.unwrap();

    // THEN the retry still compares with the protective policy and alerts.
    assert!(first.unwrap_err().contains("throttled"));
    assert_eq!(retry["status"], "alerted", "{retry}");
    assert_eq!(world.sent.lock().unwrap().len(), 1);
    let remembered = world.vaults.lock().unwrap().values().next().cloned().unwrap();
    assert!(
        !remembered.policy.unwrap().contains("NoDeletes"),
        "the new policy is remembered after the alert"
    );
}

#[tokio::test]
async fn a_step_that_loses_the_incident_race_reads_again_and_joins_the_incident() {
    let world = World::default();
    let first = sample(include_str!("../../../events/cloudtrail-delete-recovery-point.json"));
    let mut second = first.clone();
    second["id"] = json!("second-step");
    second["detail"]["eventTime"] = json!("2026-11-20T03:14:00Z");
    run(&world, &config(), false, &first).await.unwrap();
    *world.conflicts.lock().unwrap() = 2;

    let answer = run(&world, &config(), false, &second).await.unwrap();

    assert_eq!(answer["incident"]["steps"], 2, "{answer}");
    let sent = world.sent.lock().unwrap();
    assert!(
        sent[1]
            .subject
            .contains("Possible attack on backups in progress: 2 steps"),
        "{}",
        sent[1].subject
    );
}

#[tokio::test]
async fn a_dry_run_response_names_the_exact_calls_in_the_alert() {
    let key_id = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    let world = World {
        key_vaults: HashMap::from([(key_id.to_string(), vec!["production".to_string()])]),
        ..World::default()
    };
    let event = sample(include_str!("../../../events/cloudtrail-schedule-key-deletion.json"));

    let answer = run(&world, &config(), true, &event).await.unwrap();

    assert_eq!(answer["response"], "dry_run", "{answer}");
    let sent = world.sent.lock().unwrap();
    assert!(
        sent[0].text.contains("Dry run: Rearguard would call kms:CancelKeyDeletion KeyId=arn:aws:kms:eu-west-1:123456789012:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d, then kms:EnableKey"),
        "{}",
        sent[0].text
    );
}

#[tokio::test]
async fn a_malformed_event_is_ignored_without_a_message() {
    let world = World::default();
    let event = sample(include_str!("../../../events/malformed-detail.json"));

    let answer = run(&world, &config(), false, &event).await.unwrap();

    assert_eq!(answer["status"], "ignored");
    assert!(world.sent.lock().unwrap().is_empty());
}

/// A responder whose calls go through.
struct Obliging;

#[async_trait]
impl crate::respond::Responder for Obliging {
    async fn rescue_key(&self, key_arn: &str) -> crate::respond::Response {
        crate::respond::Response::Done(vec![key_arn.to_string()])
    }
    async fn restore_policy(&self, vault: &str, _policy: &str) -> crate::respond::Response {
        crate::respond::Response::Done(vec![vault.to_string()])
    }
}

#[tokio::test]
async fn a_policy_put_back_stays_the_vaults_last_known_policy() {
    let world = World::default();
    let protective = sample(include_str!(
        "../../../events/cloudtrail-put-vault-access-policy-protective.json"
    ));
    let open = sample(include_str!(
        "../../../events/cloudtrail-put-vault-access-policy-without-deny.json"
    ));
    let deps = Deps {
        config: &config(),
        publisher: &world,
        security: None,
        forwarder: None,
        ledger: None,
        state: Some(&world),
        vault_keys: &world,
        responder: Some(&Obliging),
    };
    let mut metrics = Metrics::new("Rearguard", "tamper-guard");
    handle(protective, &deps, &mut metrics).await.unwrap();

    let answer = handle(open, &deps, &mut metrics).await.unwrap();

    assert_eq!(answer["response"], "done", "{answer}");
    let remembered = world.vaults.lock().unwrap().values().next().cloned().unwrap();
    assert!(remembered.policy.unwrap().contains("NoDeletes"));
}

/// The security account's topic.
#[derive(Default)]
struct Topic {
    sent: Mutex<u32>,
    failures: Mutex<u32>,
}

#[async_trait]
impl PublishAlert for Topic {
    async fn publish(&self, _alert: &Alert) -> Result<String, PublishError> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(PublishError {
                topic_arn: "security".into(),
                message: "unreachable".into(),
            });
        }
        *self.sent.lock().unwrap() += 1;
        Ok("s".into())
    }
}

#[derive(Default)]
struct Ledger(Mutex<HashMap<String, bool>>);

#[async_trait]
impl rearguard::store::DeliveryLedger for Ledger {
    async fn claim(
        &self,
        key: &str,
        _now: DateTime<Utc>,
        _lease_until: DateTime<Utc>,
    ) -> Result<rearguard::store::Claim, StoreError> {
        let mut keys = self.0.lock().unwrap();
        Ok(match keys.get(key) {
            Some(true) => rearguard::store::Claim::AlreadyDone,
            Some(false) => rearguard::store::Claim::InProgress,
            None => {
                keys.insert(key.into(), false);
                rearguard::store::Claim::Acquired
            }
        })
    }
    async fn complete(&self, key: &str, _expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.0.lock().unwrap().insert(key.into(), true);
        Ok(())
    }
    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
}

#[tokio::test]
async fn a_retry_after_the_security_topic_failed_does_not_repeat_the_stack_topic() {
    let world = World::default();
    let security = Topic::default();
    *security.failures.lock().unwrap() = 1;
    let ledger = Ledger::default();
    let deps = Deps {
        config: &config(),
        publisher: &world,
        security: Some(&security),
        forwarder: None,
        ledger: Some(&ledger),
        state: Some(&world),
        vault_keys: &world,
        responder: None,
    };
    let deletion = sample(include_str!("../../../events/cloudtrail-delete-recovery-point.json"));
    let mut metrics = Metrics::new("Rearguard", "tamper-guard");

    let first = handle(deletion.clone(), &deps, &mut metrics).await;
    let retry = handle(deletion.clone(), &deps, &mut metrics).await.unwrap();
    let third = handle(deletion, &deps, &mut metrics).await.unwrap();

    assert!(first.unwrap_err().to_string().contains("unreachable"));
    assert_eq!(retry["status"], "alerted", "{retry}");
    assert_eq!(third["status"], "duplicate", "{third}");
    assert_eq!(
        world.sent.lock().unwrap().len(),
        1,
        "the stack's topic got the alert once"
    );
    assert_eq!(*security.sent.lock().unwrap(), 1, "the security topic got it once");
}

#[tokio::test]
async fn a_second_plan_update_is_compared_with_the_rules_the_first_one_left() {
    let world = World::default();
    let update = |id: &str, days: u32| {
        let mut event = sample(include_str!("../../../events/cloudtrail-delete-recovery-point.json"));
        event["id"] = json!(id);
        event["detail"]["eventName"] = json!("UpdateBackupPlan");
        event["detail"]["requestParameters"] = json!({"backupPlanId": "p-1", "backupPlan": {"rules": [
            {"ruleName": "daily", "lifecycle": {"deleteAfterDays": days}}]}});
        event
    };

    run(&world, &config(), false, &update("u-1", 35)).await.unwrap();
    run(&world, &config(), false, &update("u-2", 1)).await.unwrap();

    let sent = world.sent.lock().unwrap();
    let change = |n: usize| sent[n].document["change"].as_str().unwrap().to_string();
    assert!(change(0).contains("not known to Rearguard yet"), "{}", change(0));
    assert!(change(1).contains("rule daily changed"), "{}", change(1));
}

#[tokio::test]
async fn a_lock_seen_applied_then_reported_off_by_aws_backup_is_one_critical_alert() {
    // GIVEN a lock applied to the vault (CloudTrail), which is hardening: no message.
    let world = World::default();
    let put = sample(include_str!(
        "../../../events/cloudtrail-put-vault-lock-configuration.json"
    ));
    let applied = run(&world, &config(), false, &put).await.unwrap();

    // WHEN AWS Backup later reports the vault with isLocked "false".
    let off = sample(include_str!("../../../events/vault-lock-turned-off.json"));
    let answer = run(&world, &config(), false, &off).await.unwrap();

    // THEN one CRITICAL names the lock it had, and the vault is now known unlocked.
    assert_eq!(applied["status"], "nothing", "{applied}");
    assert_eq!(answer["kind"], "vault_lock_turned_off", "{answer}");
    let sent = world.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].subject.starts_with("[CRITICAL] Vault lock turned off"),
        "{}",
        sent[0].subject
    );
    assert!(sent[0].text.contains("minimum retention 30 days"), "{}", sent[0].text);
    let remembered = world.vaults.lock().unwrap().values().next().cloned().unwrap();
    assert!(!remembered.lock.unwrap().locked);
}

#[tokio::test]
async fn the_cloudtrail_record_after_aws_backups_alert_is_a_labelled_follow_up_of_the_same_incident() {
    // GIVEN AWS Backup's event of a vault deletion arrived first and was alerted without an actor.
    let world = World::default();
    let state = sample(include_str!("../../../events/vault-deleted.json"));
    let first = run(&world, &config(), false, &state).await.unwrap();

    // WHEN the CloudTrail record of the same deletion arrives four minutes later.
    let mut call = sample(include_str!("../../../events/cloudtrail-delete-recovery-point.json"));
    call["detail"]["eventName"] = json!("DeleteBackupVault");
    call["detail"]["eventTime"] = json!("2026-11-20T03:29:00Z");
    call["detail"]["requestParameters"] = json!({"backupVaultName": "staging"});
    let second = run(&world, &config(), false, &call).await.unwrap();

    // THEN the second message is that alert's follow-up, naming the actor, under its incident id.
    let state_id = state["id"].as_str().unwrap();
    assert_eq!(first["kind"], "vault_deleted", "{first}");
    assert_eq!(second["followUpOf"], state_id, "{second}");
    assert_eq!(second["incident"]["id"], state_id, "{second}");
    let sent = world.sent.lock().unwrap();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1]
            .subject
            .starts_with("[CRITICAL] Follow-up: Backup vault deleted by ops-admin"),
        "{}",
        sent[1].subject
    );
    assert!(
        sent[1].text.starts_with(&format!("Follow-up of alert {state_id}")),
        "{}",
        sent[1].text
    );
    assert_eq!(sent[1].attributes["followUp"], "true");
    assert!(!sent[0].attributes.contains_key("followUp"));
}

#[tokio::test]
async fn a_key_scheduled_for_deletion_in_a_member_account_is_a_warning_and_not_rescued() {
    // GIVEN the central account knows this key id as a vault key, and the response is on.
    let key_id = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    let world = World {
        key_vaults: HashMap::from([(key_id.to_string(), vec!["production".to_string()])]),
        ..World::default()
    };
    // WHEN the deletion is forwarded from a member account.
    let mut event = sample(include_str!("../../../events/cloudtrail-schedule-key-deletion.json"));
    event["account"] = json!("444455556666");
    event["detail"]["recipientAccountId"] = json!("444455556666");
    let answer = run(&world, &config(), true, &event).await.unwrap();

    // THEN it is not judged against the central vaults: a WARNING stating the uncertainty.
    assert_eq!(answer["kind"], "member_key_deletion_scheduled", "{answer}");
    assert_eq!(answer["severity"], "WARNING", "{answer}");
    assert!(answer["response"].is_null(), "{answer}");
    let sent = world.sent.lock().unwrap();
    assert!(sent[0].text.contains("not known"), "{}", sent[0].text);
}

//! What an event teaches about a vault or plan, kept for judging the next change: CloudTrail
//! records only the new value of a change. Pure.

use crate::lock::Lock;
use crate::observation::{BackupState, Observation, What};
use crate::state::{AlertedCall, AlertedState, Memory};
use crate::vault_policy::policy_of;

/// Updates `memory` with what `observation` shows; false when there is nothing to keep. A call
/// teaches only when it went through; `alerted` is the kind of the observation's alert, if any.
pub fn learn(observation: &Observation, memory: &mut Memory, alerted: Option<&str>) -> bool {
    match &observation.what {
        What::Call(call) if call.error_code.is_none() => {
            match call.event_name.as_str() {
                "PutBackupVaultAccessPolicy" => memory.policy = policy_of(&call.request),
                "PutBackupVaultLockConfiguration" => {
                    memory.lock = Some(Lock::from_request(&call.request, observation.time));
                    memory.lock_min_days = None;
                }
                "DeleteBackupVaultLockConfiguration" => {
                    memory.lock = Some(Lock::removed(observation.time));
                    memory.lock_min_days = None;
                }
                "UpdateBackupPlan" => memory.plan_rules = Some(crate::judge::plan_rules(&call.request)),
                _ if alerted.is_some() => {}
                _ => return false,
            }
            if alerted.is_some() {
                memory.alerted_call = Some(AlertedCall {
                    event_id: observation.event_id.clone(),
                    action: call.event_name.clone(),
                    principal: call.actor.principal().to_string(),
                    at: observation.time,
                });
            }
            true
        }
        What::State(state) => {
            let lock_learnt = match state {
                BackupState::Vault {
                    is_locked: Some(is_locked),
                    ..
                } => learn_lock_state(observation, memory, is_locked),
                _ => false,
            };
            if let Some(kind) = alerted {
                memory.alerted_state = Some(AlertedState {
                    event_id: observation.event_id.clone(),
                    kind: kind.to_string(),
                    at: observation.time,
                });
            }
            lock_learnt || alerted.is_some()
        }
        What::Call(_) => false,
    }
}

/// AWS Backup's `isLocked` (a string) on a vault event, unless what is known is newer.
fn learn_lock_state(observation: &Observation, memory: &mut Memory, is_locked: &str) -> bool {
    let known = memory.known_lock();
    if known.as_ref().is_some_and(|lock| lock.seen_at > observation.time) {
        return false;
    }
    let lock = match (is_locked, known) {
        ("true", Some(lock)) if lock.locked => Lock {
            seen_at: observation.time,
            ..lock
        },
        ("true", _) => Lock {
            locked: true,
            ..Lock::removed(observation.time)
        },
        ("false", _) => Lock::removed(observation.time),
        _ => return false,
    };
    memory.lock = Some(lock);
    memory.lock_min_days = None;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::decode;
    use serde_json::{Value, json};

    fn put_lock() -> Observation {
        let payload: Value = serde_json::from_str(include_str!(
            "../../../events/cloudtrail-put-vault-lock-configuration.json"
        ))
        .unwrap();
        decode(&payload).unwrap()
    }

    fn lock_state(is_locked: &str, time: &str) -> Observation {
        let mut payload: Value =
            serde_json::from_str(include_str!("../../../events/vault-lock-turned-off.json")).unwrap();
        payload["detail"]["isLocked"] = json!(is_locked);
        payload["time"] = json!(time);
        decode(&payload).unwrap()
    }

    #[test]
    fn a_lock_configuration_is_kept_with_its_time() {
        let mut memory = Memory::default();
        assert!(learn(&put_lock(), &mut memory, None));
        let lock = memory.lock.unwrap();
        assert!(lock.locked);
        assert_eq!((lock.min_days, lock.max_days), (Some(30), Some(365)));
        assert_eq!(lock.seen_at.to_rfc3339(), "2026-11-20T03:00:05+00:00");
    }

    #[test]
    fn a_deleted_lock_is_kept_as_no_lock() {
        let mut delete = put_lock();
        let What::Call(call) = &mut delete.what else { panic!() };
        call.event_name = "DeleteBackupVaultLockConfiguration".into();
        let mut memory = Memory::default();
        learn(&put_lock(), &mut memory, None);
        assert!(learn(&delete, &mut memory, Some("vault_lock_deleted")));
        assert!(!memory.lock.unwrap().locked);
        assert_eq!(
            memory.alerted_call.unwrap().action,
            "DeleteBackupVaultLockConfiguration"
        );
    }

    #[test]
    fn a_refused_lock_change_teaches_nothing() {
        let mut refused = put_lock();
        let What::Call(call) = &mut refused.what else { panic!() };
        call.error_code = Some("InvalidRequestException".into());
        let mut memory = Memory::default();
        assert!(!learn(&refused, &mut memory, None));
        assert_eq!(memory, Memory::default());
    }

    #[test]
    fn aws_backups_is_locked_is_kept_unless_what_is_known_is_newer() {
        let mut memory = Memory::default();
        learn(&put_lock(), &mut memory, None);
        assert!(!learn(&lock_state("false", "2026-11-20T02:55:00Z"), &mut memory, None));
        assert!(
            memory.lock.as_ref().unwrap().locked,
            "an older event does not overwrite"
        );
        assert!(learn(&lock_state("true", "2026-11-20T03:05:00Z"), &mut memory, None));
        assert_eq!(
            memory.lock.as_ref().unwrap().min_days,
            Some(30),
            "a lock still on keeps its configuration"
        );
        assert!(learn(&lock_state("false", "2026-11-20T03:30:00Z"), &mut memory, None));
        assert!(!memory.lock.unwrap().locked);
    }

    #[test]
    fn a_record_from_before_the_lock_field_still_gives_the_minimum() {
        let old: Memory = serde_json::from_str(r#"{"policy": null, "lock_min_days": 30}"#).unwrap();
        let lock = old.known_lock().unwrap();
        assert!(lock.locked);
        assert_eq!(lock.min_days, Some(30));
    }

    #[test]
    fn an_alerted_state_change_is_kept_for_the_cloudtrail_record_of_it() {
        let mut memory = Memory::default();
        assert!(learn(
            &lock_state("false", "2026-11-20T03:30:00Z"),
            &mut memory,
            Some("vault_lock_turned_off")
        ));
        let state = memory.alerted_state.unwrap();
        assert_eq!(state.kind, "vault_lock_turned_off");
        assert_eq!(state.event_id, "9b1c2d3e-0000-4000-8000-00000000a011");
    }
}

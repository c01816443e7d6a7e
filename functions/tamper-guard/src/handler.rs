//! One EventBridge event: decode it, gather the facts the judgement needs, judge, respond,
//! group into an incident, alert, then remember the vault's new policy or lock. Exactly once per
//! event through the delivery ledger.

use chrono::Duration;
use chrono::Utc;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{Claim, Deliveries, DeliveryLedger, StoreError, Written, exactly_once};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::config::Config;
use crate::incident::{Incident, Step, add_step};
use crate::judge::{Facts, Finding, Need, Verdict, judge, needs};
use crate::keys::{VaultKeys, VaultsOfKey};
use crate::learn::learn;
use crate::observation::{Call, Observation, What, decode};
use crate::render;
use crate::respond::{Responder, Response};
use crate::state::{Memory, TamperState};

pub struct Deps<'a> {
    pub config: &'a Config,
    pub publisher: &'a dyn PublishAlert,
    /// The security account's topic, when set: every alert goes there too.
    pub security: Option<&'a dyn PublishAlert>,
    pub forwarder: Option<&'a dyn ForwardAlert>,
    pub ledger: Option<&'a dyn DeliveryLedger>,
    /// Without a state table: no policy memory and no incidents.
    pub state: Option<&'a dyn TamperState>,
    pub vault_keys: &'a dyn VaultKeys,
    /// Set when `RESPOND` is on (the dry-run stand-in under `DRY_RUN`).
    pub responder: Option<&'a dyn Responder>,
}

/// Transient failures, returned so Lambda retries the event and its failure destination keeps
/// it; the ledger's claim is given back first.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    State(#[from] StoreError),
    #[error("listing the backup vaults to match the key: {0}")]
    VaultKeys(String),
    #[error("event {0} is being handled by another invocation; retry later")]
    InProgress(String),
}

const LEASE_MINUTES: i64 = 5;
const DEDUPE_RETENTION_DAYS: i64 = 7;

pub async fn handle(payload: Value, deps: &Deps<'_>, metrics: &mut Metrics) -> Result<Value, HandleError> {
    let event_id = payload.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let observation = match decode(&payload) {
        Ok(observation) => observation,
        Err(reason) => {
            warn!(event_id, %reason, decision = "ignore", "event not handled");
            metrics.count("EventsIgnored", &[]);
            return Ok(json!({"status": "ignored", "reason": reason.to_string()}));
        }
    };
    let outcome = exactly_once(
        deps.ledger,
        &observation.event_id,
        Duration::minutes(LEASE_MINUTES),
        Duration::days(DEDUPE_RETENTION_DAYS),
        || handle_observation(&observation, deps, metrics),
    )
    .await?;
    outcome
        .into_answer(&observation.event_id, metrics)
        .ok_or(HandleError::InProgress(observation.event_id.clone()))
}

/// The state table's key of a vault or plan: account, Region, then `vault#<name>` or `plan#<id>`.
fn memory_key(observation: &Observation, key: &str) -> String {
    format!("{}#{}#{key}", observation.account, observation.region)
}

async fn handle_observation(
    observation: &Observation,
    deps: &Deps<'_>,
    metrics: &mut Metrics,
) -> Result<Value, HandleError> {
    let mut memory = Memory::default();
    let mut key_vaults = Vec::new();
    let mut key_vaults_unknown = None;
    let mut key_in_member_account = false;
    let need = needs(observation);
    match &need {
        Need::Memory { key } => {
            if let Some(state) = deps.state {
                memory = state.memory_of(&memory_key(observation, key)).await?;
            }
        }
        Need::VaultsOfKey { key_id } => {
            match deps
                .vault_keys
                .vaults_of(&observation.account, &observation.region, key_id)
                .await
                .map_err(HandleError::VaultKeys)?
            {
                VaultsOfKey::Known(vaults) => key_vaults = vaults,
                VaultsOfKey::InMember(vaults) => {
                    key_vaults = vaults;
                    key_in_member_account = true;
                }
                VaultsOfKey::Unknown(reason) => key_vaults_unknown = Some(reason),
            }
        }
        Need::Nothing => {}
    }
    let previous_lock = memory.known_lock();
    let facts = Facts {
        allowlist: &deps.config.allowlist,
        previous_policy: memory.policy.as_deref(),
        previous_lock: previous_lock.as_ref(),
        previous_plan_rules: memory.plan_rules.as_ref(),
        alerted_call: memory.alerted_call.as_ref(),
        alerted_state: memory.alerted_state.as_ref(),
        key_vaults: &key_vaults,
        key_vaults_unknown: key_vaults_unknown.as_deref(),
    };
    let verdict = judge(observation, &facts);
    let mut restored = false;
    let mut alerted: Option<String> = None;
    let answer = match verdict {
        Verdict::Nothing(reason) => {
            info!(event_id = %observation.event_id, %reason, decision = "nothing", "not tampering");
            metrics.count("NotTampering", &[]);
            json!({"status": "nothing", "reason": reason})
        }
        Verdict::Alert(finding) => {
            // The responder acts in the function's own account only.
            let response = if key_in_member_account {
                None
            } else {
                respond(observation, &finding, memory.policy.as_deref(), deps).await
            };
            let incident = record_step(observation, &finding, deps).await?;
            let alert = render::alert(
                observation,
                &finding,
                incident.as_ref(),
                response.as_ref(),
                memory.policy.as_deref(),
            );
            publish(observation, &alert, deps).await?;
            info!(event_id = %observation.event_id, severity = %finding.severity, kind = %finding.kind, decision = "alert", "tamper alert published");
            if let Some(forwarder) = deps.forwarder
                && let Err(e) = forwarder.forward(&alert).await
            {
                warn!(error = %e, "alert not put on the event bus");
                metrics.count("EventFailures", &[]);
            }
            metrics.count("TamperAlerts", &[("severity", finding.severity.as_str())]);
            alerted = Some(finding.kind.clone());
            restored = matches!(response, Some(Response::Done(_))) && finding.kind == "vault_policy_weakened";
            if let Some(response) = &response {
                metrics.count("Responses", &[("kind", &finding.kind), ("outcome", response.status())]);
            }
            json!({
                "status": "alerted", "severity": finding.severity, "kind": finding.kind,
                "incident": incident.as_ref().map(|i| json!({"id": i.id, "steps": i.steps.len()})),
                "followUpOf": finding.follow_up_of,
                "response": response.as_ref().map(Response::status),
            })
        }
    };
    // Remembered after the alert: a retry after a failed publish still sees the old policy.
    // A policy put back is the vault's policy again, whatever the attacker's call said.
    if !restored {
        remember(observation, &need, memory, alerted.as_deref(), deps).await?;
    }
    Ok(answer)
}

/// The alert on the stack's topic and, when set, the security account's. With two topics each
/// is published once through its own ledger key, so a retry after one of them failed does not
/// repeat the other.
async fn publish(
    observation: &Observation,
    alert: &rearguard::alert::Alert,
    deps: &Deps<'_>,
) -> Result<(), HandleError> {
    let Some(security) = deps.security else {
        deps.publisher.publish(alert).await?;
        return Ok(());
    };
    let deliveries = Deliveries::new(deps.ledger, Duration::days(DEDUPE_RETENTION_DAYS));
    for (destination, publisher) in [("topic", deps.publisher), ("security-topic", security)] {
        let key = format!("{}#{destination}", observation.event_id);
        let now = Utc::now();
        match deliveries
            .claim(&key, now, now + Duration::minutes(LEASE_MINUTES))
            .await?
        {
            Claim::AlreadyDone => continue,
            Claim::InProgress => return Err(HandleError::InProgress(key)),
            Claim::Acquired => {}
        }
        match publisher.publish(alert).await {
            Ok(message_id) => {
                info!(destination, message_id, "alert published");
                deliveries.complete(&key, now).await;
            }
            Err(e) => {
                deliveries.release(&key).await;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

fn successful_call(observation: &Observation) -> Option<&Call> {
    match &observation.what {
        What::Call(call) if call.error_code.is_none() => Some(call),
        _ => None,
    }
}

/// With the response on: a vault key scheduled for deletion is cancelled and enabled again; a
/// vault policy that lost its denies gets the previous one back. Only for calls that went
/// through.
async fn respond(
    observation: &Observation,
    finding: &Finding,
    previous_policy: Option<&str>,
    deps: &Deps<'_>,
) -> Option<Response> {
    let responder = deps.responder?;
    let call = successful_call(observation)?;
    let response = match finding.kind.as_str() {
        "vault_key_deletion_scheduled" => {
            let key = call
                .response
                .get("keyId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| crate::judge::key_id(call));
            responder.rescue_key(&key).await
        }
        "vault_policy_weakened" => {
            let vault = call.request.get("backupVaultName").and_then(Value::as_str)?;
            responder.restore_policy(vault, previous_policy?).await
        }
        _ => return None,
    };
    info!(kind = %finding.kind, outcome = response.status(), action = "respond", "response to the attack");
    Some(response)
}

/// Adds the step to its principal's incident in the state table (optimistic locking: a
/// conflicting writer makes this read and add again).
async fn record_step(
    observation: &Observation,
    finding: &Finding,
    deps: &Deps<'_>,
) -> Result<Option<Incident>, HandleError> {
    let (Some(state), Some(call)) = (deps.state, successful_or_denied_call(observation)) else {
        return Ok(None);
    };
    let principal = call.actor.principal().to_string();
    if principal.is_empty() {
        return Ok(None);
    }
    let window = Duration::from_std(deps.config.incident_window).unwrap_or(Duration::minutes(15));
    for _ in 0..5 {
        let open = state.open_incident(&principal).await?;
        let version = open.as_ref().map(|o| o.version);
        let step = Step {
            at: observation.time,
            event_id: observation.event_id.clone(),
            severity: finding.severity,
            action: call.event_name.clone(),
            headline: finding.headline.clone(),
            target: finding.target.clone(),
        };
        let mut incident = add_step(open.map(|o| o.value), &principal, step, window);
        // A follow-up that opens the principal's incident takes the id of the alert it follows,
        // so both messages of one change carry one incident id.
        if let Some(first) = &finding.follow_up_of
            && incident.steps.len() == 1
        {
            incident.id = first.clone();
        }
        let expires_at = incident.last_at().unwrap_or(observation.time) + window + Duration::days(1);
        match state.write_incident(&incident, version, expires_at).await? {
            Written::Done { .. } => return Ok(Some(incident)),
            Written::Conflict => continue,
        }
    }
    Err(HandleError::State(StoreError {
        table: "state".into(),
        message: format!("incident of {principal} kept changing under five attempts"),
    }))
}

fn successful_or_denied_call(observation: &Observation) -> Option<&Call> {
    match &observation.what {
        What::Call(call) => Some(call),
        What::State(_) => None,
    }
}

/// Keeps what the event shows about the vault or plan (its new access policy, lock or rules;
/// who made an alerted change): the next change is judged against it.
async fn remember(
    observation: &Observation,
    need: &Need,
    mut memory: Memory,
    alerted: Option<&str>,
    deps: &Deps<'_>,
) -> Result<(), HandleError> {
    let (Some(state), Need::Memory { key }) = (deps.state, need) else {
        return Ok(());
    };
    if learn(observation, &mut memory, alerted) {
        state.remember(&memory_key(observation, key), &memory).await?;
    }
    Ok(())
}

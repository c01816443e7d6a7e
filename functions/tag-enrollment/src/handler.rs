//! One EventBridge event: find the resources it is about, read their tags where the event does
//! not show them, decide per resource (pure), then tag, notify and alert.

use rearguard::alert::Alert;
use rearguard::cloudtrail::{TagChange, Trigger};
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{Claim, DeliveryLedger, StoreError, exactly_once};
use rearguard::tagging::{ResourceTagging, TaggingError, Tags};

use crate::service_reads::{ReadError, ReadersFor};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tracing::{info, warn};

use crate::decide::{Decision, daily_alert_key, decide, decide_current, must_confirm};
use crate::policy::Policy;
use crate::render::{self, Target};
use crate::resources::{self, NewResource};

/// Tagging clients for an account and region (the home account's own, or an assumed role's).
#[async_trait::async_trait]
pub trait TaggingFor: Send + Sync {
    async fn tagging(&self, account: &str, region: &str) -> Result<std::sync::Arc<dyn ResourceTagging>, TaggingError>;
}

pub struct Deps<'a> {
    pub policy: &'a Policy,
    pub tagging: &'a dyn TaggingFor,
    pub readers: &'a dyn ReadersFor,
    pub publisher: &'a dyn PublishAlert,
    pub forwarder: Option<&'a dyn ForwardAlert>,
    pub dry_run: bool,
    pub digest_threshold: usize,
    pub ledger: Option<&'a dyn DeliveryLedger>,
}

/// Transient failures: returned so Lambda retries the event and its failure destination keeps it.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Tagging(#[from] TaggingError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    State(#[from] StoreError),
    #[error("event {0} is being handled by another invocation; retry later")]
    InProgress(String),
}

/// How long handled event ids are remembered.
const DEDUPE_RETENTION_DAYS: i64 = 7;

/// Handles the event once across deliveries (when there is a ledger): a duplicate delivery
/// returns at once; a failure gives the claim back so the retry proceeds.
pub async fn handle(payload: Value, deps: &Deps<'_>, metrics: &mut Metrics) -> Result<Value, HandleError> {
    let event_id = payload.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let outcome = exactly_once(
        deps.ledger,
        &event_id,
        chrono::Duration::minutes(16),
        chrono::Duration::days(DEDUPE_RETENTION_DAYS),
        || handle_once(payload, deps, metrics),
    )
    .await?;
    outcome
        .into_answer(&event_id, metrics)
        .ok_or(HandleError::InProgress(event_id))
}

/// The AWS Backup type of a resource named by a Tag Change event's ARN.
fn backup_type_of(arn: &str) -> Option<&'static str> {
    let parsed = rearguard::arn::Arn::parse(arn)?;
    let kind = parsed.resource.split(['/', ':']).next().unwrap_or("");
    Some(match (parsed.service, kind) {
        ("ec2", "instance") => "EC2",
        ("ec2", "volume") => "EBS",
        ("rds", "db") => "RDS",
        ("rds", "cluster") => "Aurora",
        ("dynamodb", "table") => "DynamoDB",
        ("elasticfilesystem", "file-system") => "EFS",
        ("s3", _) if !parsed.resource.contains('/') => "S3",
        _ => return None,
    })
}

/// Tag Change ARNs that do not tell the AWS Backup type or whether the resource is backed up on
/// its own: `rds:cluster` (Aurora, DocumentDB, Neptune and Multi-AZ DB clusters share it),
/// `rds:db` (cluster members included) and `ec2:volume` (attached ones included).
fn needs_reading_first(arn: &str) -> bool {
    let Some(parsed) = rearguard::arn::Arn::parse(arn) else {
        return false;
    };
    let kind = parsed.resource.split(['/', ':']).next().unwrap_or("");
    matches!(
        (parsed.service, kind),
        ("rds", "cluster") | ("rds", "db") | ("ec2", "volume")
    )
}

/// Only changes that touch the keys the policy reads can change a decision; others are ignored
/// (including Rearguard's own writes coming back, once they are compliant).
fn relevant(policy: &Policy, change: &TagChange) -> bool {
    let reason_key = policy.opt_out.as_ref().map(|o| o.reason_tag_key.as_str());
    change
        .changed_tag_keys
        .iter()
        .any(|k| *k == policy.tag_key || Some(k.as_str()) == reason_key)
        || !change.tags.contains_key(&policy.tag_key)
}

async fn handle_once(payload: Value, deps: &Deps<'_>, metrics: &mut Metrics) -> Result<Value, HandleError> {
    let trigger = match Trigger::decode_str(&payload.to_string()) {
        Ok(trigger) => trigger,
        Err(reason) => {
            let event_id = payload.get("id").and_then(Value::as_str).unwrap_or("");
            warn!(event_id, %reason, decision = "ignore", "event not handled");
            metrics.count("EventsIgnored", &[]);
            return Ok(json!({"status": "ignored"}));
        }
    };
    let (account, region, found) = match &trigger {
        Trigger::ApiCall {
            event_id,
            account,
            region,
            call,
        } => match resources::derive(call, account, region) {
            Ok(found) => (account.clone(), region.clone(), found),
            Err(skip) => {
                info!(event_id, event_name = call.event_name.as_deref().unwrap_or(""), reason = %skip, decision = "skip", "no resource to check");
                metrics.count("EventsIgnored", &[]);
                return Ok(json!({"status": "skipped", "reason": skip.to_string()}));
            }
        },
        Trigger::TagChange {
            event_id,
            account,
            region,
            resource_arn,
            change,
        } => {
            let Some(backup_type) = backup_type_of(resource_arn) else {
                info!(event_id, resource = %resource_arn, decision = "skip", "tag change on a resource type Rearguard does not back up");
                return Ok(json!({"status": "skipped"}));
            };
            if !relevant(deps.policy, change) {
                info!(event_id, resource = %resource_arn, decision = "skip", "tag change does not touch the backup tags");
                return Ok(json!({"status": "skipped"}));
            }
            let found = vec![NewResource {
                arn: resource_arn.clone(),
                backup_type,
                tags: Some(change.tags.clone()),
                from_restore: false,
                read_first: needs_reading_first(resource_arn),
            }];
            (account.clone(), region.clone(), found)
        }
    };
    let tagging = deps.tagging.tagging(&account, &region).await?;
    let reader = deps.readers.reader(&account, &region).await?;
    // Every read comes before any write: a resource that cannot be read yet fails the event
    // (Lambda retries it) with nothing written.
    let mut checked: Vec<(NewResource, Decision)> = Vec::with_capacity(found.len());
    let mut skipped = Vec::new();
    for mut resource in found {
        let from_event = resource
            .tags
            .as_ref()
            .filter(|_| !resource.read_first)
            .map(|tags| decide(deps.policy, resource.backup_type, tags));
        let decision = match from_event {
            Some(decision) if !must_confirm(&decision) => decision,
            _ if !resource.read_first && !deps.policy.in_scope(resource.backup_type) => Decision::OutOfScope,
            _ => {
                let current = reader.read(&resource.arn).await?;
                match resources::settle(resource.backup_type, &current, deps.policy.in_scope("EC2")) {
                    Ok(backup_type) => resource.backup_type = backup_type,
                    Err(skip) => {
                        info!(event_id = trigger.event_id(), resource = %resource.arn, reason = %skip, decision = "skip", "not enrolled on its own");
                        skipped.push(json!({"arn": resource.arn, "decision": "skip", "reason": skip.to_string()}));
                        continue;
                    }
                }
                decide_current(deps.policy, resource.backup_type, &current)
            }
        };
        checked.push((resource, decision));
    }

    let mut enroll: BTreeMap<String, Vec<&NewResource>> = BTreeMap::new();
    let mut messages: Vec<Alert> = Vec::new();
    // Audit mode's alerts, by the key that lets each through once a day.
    let mut daily: Vec<(Alert, String)> = Vec::new();
    let mut summary = skipped;
    for (resource, decision) in &checked {
        let decision = decision.clone();
        let target = Target {
            arn: &resource.arn,
            backup_type: resource.backup_type,
            account: &account,
            region: &region,
            from_restore: resource.from_restore,
        };
        metrics.count("ResourcesSeen", &[("resourceType", resource.backup_type)]);
        let label = match &decision {
            Decision::Compliant { .. } => "compliant",
            Decision::OptedOut { .. } => "opted_out",
            Decision::Enroll { .. } => "enroll",
            Decision::Alert(_) => "alert",
            Decision::OutOfScope => "out_of_scope",
        };
        info!(event_id = trigger.event_id(), resource = %resource.arn, resource_type = resource.backup_type, decision = label, detail = ?decision, "resource decision");
        summary.push(json!({"arn": resource.arn, "decision": label}));
        match decision {
            Decision::Compliant { .. } => metrics.count("Compliant", &[]),
            Decision::OptedOut { .. } => metrics.count("OptedOut", &[]),
            Decision::OutOfScope => {}
            Decision::Enroll { plan } => enroll.entry(plan).or_default().push(resource),
            Decision::Alert(problem) => {
                metrics.count("NonCompliant", &[]);
                let message = render::problem(&target, deps.policy, &problem);
                match daily_alert_key(deps.policy, &resource.arn, &problem).filter(|_| deps.ledger.is_some()) {
                    Some(key) => daily.push((message, key)),
                    None => messages.push(message),
                }
            }
        }
    }

    for (plan, resources) in &enroll {
        let arns: Vec<String> = resources.iter().map(|r| r.arn.clone()).collect();
        let tags = Tags::from([
            (deps.policy.tag_key.clone(), plan.clone()),
            (deps.policy.marker_tag_key.clone(), "rearguard".to_string()),
        ]);
        let failures = if deps.dry_run {
            info!(action = "would_tag", arns = ?arns, tags = ?tags, account = %account, region = %region, "dry run: not tagging");
            BTreeMap::new()
        } else {
            tagging.add_tags(&arns, &tags).await?
        };
        for resource in resources {
            let target = Target {
                arn: &resource.arn,
                backup_type: resource.backup_type,
                account: &account,
                region: &region,
                from_restore: resource.from_restore,
            };
            match failures.get(&resource.arn) {
                Some(reason) => {
                    metrics.count("EnrollmentFailures", &[]);
                    messages.push(render::tagging_failed(&target, plan, reason));
                }
                None => {
                    metrics.count("Enrolled", &[("resourceType", resource.backup_type)]);
                    messages.push(render::enrolled(&target, deps.policy, plan));
                }
            }
        }
    }

    let claimed = match deps.ledger {
        Some(ledger) => claim_daily(ledger, daily, &mut messages, metrics).await?,
        None => Vec::new(),
    };
    if messages.len() > deps.digest_threshold {
        metrics.count("Digests", &[]);
        messages = render::digests(messages, &account, &region);
    }
    let published = publish(deps, &messages).await;
    if let Some(ledger) = deps.ledger {
        settle_daily(ledger, &claimed, published.is_ok()).await;
    }
    published?;
    Ok(json!({"status": "ok", "resources": summary}))
}

async fn publish(deps: &Deps<'_>, messages: &[Alert]) -> Result<(), PublishError> {
    for message in messages {
        deps.publisher.publish(message).await?;
        if let Some(forwarder) = deps.forwarder
            && let Err(e) = forwarder.forward(message).await
        {
            warn!(error = %e, "message published but not forwarded to the event bus");
        }
    }
    Ok(())
}

/// How long an audit alert about a resource silences the next ones about the same problem.
const DAILY: chrono::TimeDelta = chrono::TimeDelta::days(1);
/// How long a claimed alert may take to publish before another invocation may send it.
const ALERT_LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(16);

/// Claims each audit alert's key in the ledger: the first in a day goes out, later ones (every
/// tag change of a still-untagged resource) are counted and dropped. A failed claim gives back
/// the ones taken, so the retry sends them.
async fn claim_daily(
    ledger: &dyn DeliveryLedger,
    daily: Vec<(Alert, String)>,
    messages: &mut Vec<Alert>,
    metrics: &mut Metrics,
) -> Result<Vec<String>, HandleError> {
    let mut claimed = Vec::new();
    for (message, key) in daily {
        let now = chrono::Utc::now();
        match ledger.claim(&key, now, now + ALERT_LEASE).await {
            Ok(Claim::Acquired) => {
                claimed.push(key);
                messages.push(message);
            }
            Ok(_) => {
                info!(key = %key, decision = "already_alerted", "audit mode: this resource's problem was alerted within the last day");
                metrics.count("AlertsSuppressed", &[]);
            }
            Err(e) => {
                settle_daily(ledger, &claimed, false).await;
                return Err(e.into());
            }
        }
    }
    Ok(claimed)
}

/// Marks the claimed alerts sent for a day, or gives them back when publishing failed.
async fn settle_daily(ledger: &dyn DeliveryLedger, claimed: &[String], sent: bool) {
    for key in claimed {
        let result = if sent {
            ledger.complete(key, chrono::Utc::now() + DAILY).await
        } else {
            ledger.release(key).await
        };
        if let Err(e) = result {
            warn!(key = %key, error = %e, "audit alert ledger not updated");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_change_arns_map_to_backup_types() {
        assert_eq!(backup_type_of("arn:aws:ec2:eu-west-1:1:instance/i-1"), Some("EC2"));
        assert_eq!(backup_type_of("arn:aws:ec2:eu-west-1:1:volume/vol-1"), Some("EBS"));
        assert_eq!(backup_type_of("arn:aws:rds:eu-west-1:1:db:x"), Some("RDS"));
        assert_eq!(backup_type_of("arn:aws:s3:::bucket"), Some("S3"));
        assert_eq!(backup_type_of("arn:aws:ec2:eu-west-1:1:subnet/subnet-1"), None);
    }

    #[test]
    fn clusters_databases_and_volumes_are_read_before_the_tag_change_is_decided() {
        assert!(needs_reading_first("arn:aws:rds:eu-west-1:1:cluster:graph"));
        assert!(needs_reading_first("arn:aws:rds:eu-west-1:1:db:member-1"));
        assert!(needs_reading_first("arn:aws:ec2:eu-west-1:1:volume/vol-1"));
        assert!(!needs_reading_first("arn:aws:ec2:eu-west-1:1:instance/i-1"));
        assert!(!needs_reading_first("arn:aws:s3:::bucket"));
    }

    #[test]
    fn only_changes_touching_the_backup_tags_matter() {
        let policy = Policy::parse(
            r#"{"plans": {"p": {"rpo_hours": 24}}, "opt_out": {"value": "none", "reason_tag_key": "why"}, "enrollment": {"mode": "enforce"}}"#,
        );
        let change = |keys: &[&str], tags: &[(&str, &str)]| TagChange {
            changed_tag_keys: keys.iter().map(|k| k.to_string()).collect(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..TagChange::default()
        };
        assert!(!relevant(&policy, &change(&["Owner"], &[("backup-plan", "p")])));
        assert!(relevant(&policy, &change(&["backup-plan"], &[])), "removed backup tag");
        assert!(relevant(&policy, &change(&["why"], &[("backup-plan", "none")])));
        assert!(
            relevant(&policy, &change(&["Owner"], &[])),
            "a replace-all that dropped the tag"
        );
    }
}

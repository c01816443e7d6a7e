//! One report: which accounts, regions and plans (the schedule means all; an on-demand request
//! can narrow them), read each account and region with bounded concurrency, aggregate (pure),
//! then write the JSON and HTML to S3, publish the summary, put the event and count.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use rearguard::accounts::AccountConfigs;
use rearguard::drill_record::DrillHistory;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::sns::{PublishAlert, PublishError};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::aggregate::{Report, aggregate};
use crate::gather::Reader;
use crate::inventory::{DrillRecord, Inventory};
use crate::policy::Policy;
use crate::render;

/// An on-demand request; empty lists mean "as configured".
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub plans: Vec<String>,
    /// The account an EventBridge request came from (its envelope's `account`).
    #[serde(skip)]
    pub sent_from: Option<String>,
}

/// The requests in a payload: a schedule tick, a direct invocation, an EventBridge event whose
/// detail is a request, or an SQS batch of them (the fan-out of a large organisation).
pub fn requests(payload: &Value) -> Result<Vec<Request>, String> {
    if let Some(records) = payload.get("Records").and_then(Value::as_array) {
        return records
            .iter()
            .map(|r| {
                let body = r.get("body").and_then(Value::as_str).unwrap_or("");
                let parsed: Value = serde_json::from_str(body).map_err(|e| format!("SQS body is not JSON: {e}"))?;
                one_request(&parsed)
            })
            .collect();
    }
    one_request(payload).map(|r| vec![r])
}

fn one_request(payload: &Value) -> Result<Request, String> {
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        return Ok(Request::default());
    }
    let body = payload
        .get("detail")
        .filter(|_| payload.get("detail-type").is_some())
        .unwrap_or(payload);
    let mut request: Request =
        serde_json::from_value(body.clone()).map_err(|e| format!("not a report request: {e}"))?;
    if !std::ptr::eq(body, payload) {
        request.sent_from = payload.get("account").and_then(Value::as_str).map(str::to_string);
    }
    Ok(request)
}

/// Who may ask: a request put on the bus by another account (any account the bus's policy lets
/// in can put an event with our detail-type) or naming accounts outside `REPORT_ACCOUNTS` is
/// refused, so the reader role is never used on behalf of someone else.
pub fn admissible(request: &Request, home_account: &str, allowed_accounts: &[String]) -> Result<(), String> {
    if let Some(sender) = request.sent_from.as_deref().filter(|a| *a != home_account) {
        return Err(format!(
            "a report request from account {sender}, not this one ({home_account})"
        ));
    }
    if let Some(outside) = request.accounts.iter().find(|a| !allowed_accounts.contains(a)) {
        return Err(format!(
            "account {outside} is not one this function reports on (REPORT_ACCOUNTS: {})",
            allowed_accounts.join(", ")
        ));
    }
    Ok(())
}

/// Where the report files go (S3, or the dry-run log).
#[async_trait]
pub trait ReportStore: Send + Sync {
    async fn put(&self, key: &str, content_type: &str, body: Vec<u8>) -> Result<(), String>;
}

pub struct S3Store {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

#[async_trait]
impl ReportStore for S3Store {
    async fn put(&self, key: &str, content_type: &str, body: Vec<u8>) -> Result<(), String> {
        // The bucket's default encryption (the stack's KMS key) applies.
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "s3://{}/{key}: {}",
                    self.bucket,
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
        Ok(())
    }
}

pub struct DryRunStore;

#[async_trait]
impl ReportStore for DryRunStore {
    async fn put(&self, key: &str, content_type: &str, body: Vec<u8>) -> Result<(), String> {
        info!(
            action = "would_put_object",
            key,
            content_type,
            bytes = body.len(),
            "dry run: not writing the report"
        );
        Ok(())
    }
}

pub struct Deps<'a> {
    pub policy: &'a Policy,
    /// The function's own account: requests are taken only from it.
    pub home_account: &'a str,
    /// The function's own Region: with its account, where restore-drill keeps its drill record.
    pub home_region: &'a str,
    /// restore-drill's drill record, when the stack keeps one.
    pub drills: Option<&'a dyn DrillHistory>,
    pub accounts: &'a AccountConfigs,
    pub default_accounts: &'a [String],
    pub default_regions: &'a [String],
    pub concurrency: usize,
    pub store: &'a dyn ReportStore,
    pub publisher: &'a dyn PublishAlert,
    pub events: Option<&'a dyn ForwardAlert>,
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("writing the report: {0}")]
    Store(String),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

pub async fn handle(payload: Value, deps: &Deps<'_>, metrics: &mut Metrics) -> Result<Value, HandleError> {
    let requests = match requests(&payload) {
        Ok(requests) => requests,
        Err(reason) => {
            warn!(%reason, decision = "ignore", "event not handled");
            metrics.count("EventsIgnored", &[]);
            return Ok(json!({"status": "ignored", "reason": reason}));
        }
    };
    let mut results = Vec::new();
    for request in requests {
        if let Err(reason) = admissible(&request, deps.home_account, deps.default_accounts) {
            warn!(%reason, decision = "ignore", "report request refused");
            metrics.count("EventsIgnored", &[]);
            results.push(json!({"status": "ignored", "reason": reason}));
            continue;
        }
        results.push(report_once(&request, deps, Utc::now(), metrics).await?);
    }
    Ok(if results.len() == 1 {
        results.remove(0)
    } else {
        json!({"reports": results})
    })
}

/// Requested plans the policy does not have are logged (and report nothing).
fn warn_unknown_plans(policy: &Policy, plans: &[String]) {
    for unknown in plans.iter().filter(|p| !policy.plans.contains_key(*p)) {
        warn!(plan = %unknown, "requested plan is not in the policy");
    }
}

async fn report_once(
    request: &Request,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
    metrics: &mut Metrics,
) -> Result<Value, HandleError> {
    let pick = |asked: &[String], configured: &[String]| -> Vec<String> {
        if asked.is_empty() {
            configured.to_vec()
        } else {
            asked.to_vec()
        }
    };
    let accounts = pick(&request.accounts, deps.default_accounts);
    let regions = pick(&request.regions, deps.default_regions);
    warn_unknown_plans(deps.policy, &request.plans);
    let policy = deps.policy;
    let pairs: Vec<(String, String)> = accounts
        .iter()
        .flat_map(|a| regions.iter().map(move |r| (a.clone(), r.clone())))
        .collect();
    let started = std::time::Instant::now();
    let home = |account: &str, region: &str| account == deps.home_account && region == deps.home_region;
    let recorded = match deps.drills {
        Some(history) if pairs.iter().any(|(a, r)| home(a, r)) => recorded_drills(history, policy).await,
        _ => None,
    };
    let recorded_here = recorded.is_some();
    let inventories: Vec<Inventory> = futures::stream::iter(pairs)
        .map(|(account, region)| async move {
            let config = match deps.accounts.config(&account, &region).await {
                Ok(config) => config,
                Err(e) => {
                    return Inventory {
                        unreadable: vec![e.to_string()],
                        ..Inventory::default()
                    };
                }
            };
            let reader = Reader {
                config: &config,
                account: &account,
                region: &region,
                list_restore_jobs: !(recorded_here && home(&account, &region)),
            };
            reader.inventory(policy, now).await.unwrap_or_else(|e| {
                warn!(error = %e, "account and region not read");
                Inventory {
                    unreadable: vec![e.to_string()],
                    ..Inventory::default()
                }
            })
        })
        .buffer_unordered(deps.concurrency)
        .collect()
        .await;
    let mut inventory = Inventory::default();
    for part in inventories {
        inventory.extend(part);
    }
    inventory.drills.extend(recorded.unwrap_or_default());
    info!(
        resources = inventory.resources.len(),
        backups = inventory.backups.len(),
        copies = inventory.copies.len(),
        read_ms = started.elapsed().as_millis() as u64,
        "inventory read"
    );
    let report = aggregate(&inventory, policy, now).narrowed_to(&request.plans);
    let scope = match accounts.as_slice() {
        [one] => format!("{one} in {}", regions.join(", ")),
        many => format!("{} accounts in {}", many.len(), regions.join(", ")),
    };
    let key = report_key(now, &accounts, &regions, &request.plans);
    deliver(&report, &scope, &key, request.plans.is_empty(), deps, metrics).await
}

/// The newest successful drill of each plan and resource type in scope, from restore-drill's
/// drill record: one Query each. Where restore-drill runs (this account and Region) the record is
/// read instead of `ListRestoreJobs`, because its result is the drill's own verdict: a restore
/// test that validated SUCCESSFUL in AWS Backup but missed the plan's RPO or RTO target is a
/// FAILED drill there, and counts for nothing here. `ListRestoreJobs` still covers the accounts
/// and Regions the record does not, and this one when the record cannot be read (`None`).
async fn recorded_drills(history: &dyn DrillHistory, policy: &Policy) -> Option<Vec<DrillRecord>> {
    let mut drills = Vec::new();
    for plan in policy.plans.keys() {
        for resource_type in &policy.resource_types {
            match history.last_successful(plan, resource_type).await {
                Ok(Some(record)) => drills.extend(record.source_resource_arn.map(|arn| DrillRecord {
                    resource_arn: arn,
                    validated_at: record.drilled_at,
                })),
                Ok(None) => {}
                Err(e) => {
                    warn!(error = %e, "drill record not read; restore jobs are listed instead");
                    return None;
                }
            }
        }
    }
    info!(drills = drills.len(), "drill record read");
    Some(drills)
}

/// Where a report goes: its time, and a short id of its scope, so reports of one fan-out that
/// run in the same second (one per account) do not overwrite each other.
pub fn report_key(now: DateTime<Utc>, accounts: &[String], regions: &[String], plans: &[String]) -> String {
    let scope = format!("{}|{}|{}", accounts.join(","), regions.join(","), plans.join(","));
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, scope.as_bytes())
        .simple()
        .to_string();
    format!(
        "reports/{}/compliance-{}-{}",
        now.format("%Y/%m/%d"),
        now.format("%H%M%SZ"),
        &id[..8]
    )
}

/// The report's figures as EMF metrics; coverage in `Percent`.
fn record_metrics(report: &Report, whole_policy: bool, metrics: &mut Metrics) {
    for plan in &report.plans {
        let dims = [("Plan", plan.plan.as_str())];
        metrics.percent("CoveragePercent", &dims, plan.coverage.percent);
        metrics.add("Stale", &dims, plan.stale.len() as f64);
        metrics.add("NeverBackedUp", &dims, plan.never_backed_up.len() as f64);
        if let Some(copy) = &plan.copy {
            metrics.add("CopiesMissing", &dims, copy.missing.len() as f64);
        }
    }
    // Plan=ALL is the whole policy's figure: a report narrowed to some plans does not emit it.
    if whole_policy {
        metrics.percent("CoveragePercent", &[("Plan", "ALL")], report.overall.percent);
    }
    metrics.add("Untagged", &[], report.untagged.len() as f64);
    metrics.add("Unreadable", &[], report.unreadable.len() as f64);
}

async fn deliver(
    report: &Report,
    scope: &str,
    key: &str,
    whole_policy: bool,
    deps: &Deps<'_>,
    metrics: &mut Metrics,
) -> Result<Value, HandleError> {
    let json_body = serde_json::to_vec_pretty(report).expect("a report serialises");
    deps.store
        .put(&format!("{key}.json"), "application/json", json_body)
        .await
        .map_err(HandleError::Store)?;
    deps.store
        .put(
            &format!("{key}.html"),
            "text/html; charset=utf-8",
            render::html(report, scope).into_bytes(),
        )
        .await
        .map_err(HandleError::Store)?;
    let summary = render::summary(report, scope, Some(key));
    let message_id = deps.publisher.publish(&summary).await?;
    info!(subject = %summary.subject, message_id, report = %key, "compliance summary published");
    if let Some(events) = deps.events
        && let Err(e) = events.put(render::REPORT_EVENT, &summary.document).await
    {
        warn!(error = %e, "Compliance Report event not put");
        metrics.count("EventFailures", &[]);
    }
    record_metrics(report, whole_policy, metrics);
    Ok(json!({
        "status": "reported",
        "reportKey": key,
        "overall": report.overall,
        "plans": summary.document["plans"],
        "untagged": report.untagged.len(),
        "unreadable": report.unreadable,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(name)
    }

    #[test]
    fn the_samples_in_events_are_a_tick_a_request_and_a_mistake() {
        assert_eq!(
            requests(&sample("scheduled-event.json")).unwrap(),
            vec![Request::default()]
        );
        let request = &requests(&sample("compliance-report-requested.json")).unwrap()[0];
        assert_eq!(request.accounts, ["444455556666"]);
        assert_eq!(request.regions, ["eu-west-1", "us-west-2"]);
        assert_eq!(request.plans, ["production"]);
        let mistake = requests(&sample("compliance-report-request-misspelt.json")).unwrap_err();
        assert!(mistake.contains("acounts"), "{mistake}");
    }

    #[test]
    fn a_schedule_tick_means_everything() {
        let tick = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "111122223333", "time": "2026-11-26T06:00:00Z", "region": "eu-west-1", "resources": [], "detail": {}});
        assert_eq!(requests(&tick).unwrap(), vec![Request::default()]);
    }

    #[test]
    fn on_demand_requests_come_direct_by_event_or_by_queue() {
        let direct = json!({"accounts": ["444455556666"], "plans": ["production"]});
        assert_eq!(requests(&direct).unwrap()[0].accounts, ["444455556666"]);
        let event = json!({"detail-type": "Rearguard Compliance Report Requested", "source": "ops", "detail": {"regions": ["us-west-2"]}});
        assert_eq!(requests(&event).unwrap()[0].regions, ["us-west-2"]);
        let batch = json!({"Records": [{"body": "{\"accounts\": [\"111122223333\"]}"}, {"body": "{\"accounts\": [\"444455556666\"]}"}]});
        assert_eq!(requests(&batch).unwrap().len(), 2);
        assert!(requests(&json!({"acounts": []})).unwrap_err().contains("acounts"));
    }

    #[test]
    fn reports_of_different_scopes_at_the_same_second_get_their_own_keys() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 26, 6, 0, 0).unwrap();
        let regions = ["eu-west-1".to_string()];
        let keys: std::collections::BTreeSet<String> = (0..5)
            .map(|i| report_key(now, &[format!("11112222333{i}")], &regions, &[]))
            .collect();
        assert_eq!(keys.len(), 5, "{keys:?}");
        let key = report_key(now, &["111122223330".to_string()], &regions, &[]);
        assert!(key.starts_with("reports/2026/11/26/compliance-060000Z-"), "{key}");
        assert_eq!(
            key,
            report_key(now, &["111122223330".to_string()], &regions, &[]),
            "stable"
        );
    }

    #[test]
    fn coverage_is_a_percentage_and_a_narrowed_report_claims_no_overall_figure() {
        let report = Report {
            generated_at: Utc::now(),
            plans: Vec::new(),
            untagged: Vec::new(),
            unknown_plan: Vec::new(),
            opted_out: Vec::new(),
            overall: crate::aggregate::Coverage::of(4, 3),
            unreadable: Vec::new(),
        };
        let all = |whole: bool| {
            let mut metrics = Metrics::new("Rearguard", "compliance-report");
            record_metrics(&report, whole, &mut metrics);
            metrics.render(0).join("\n")
        };
        let whole = all(true);
        assert!(
            whole.contains(r#""Plan":"ALL""#) && whole.contains(r#""Unit":"Percent""#),
            "{whole}"
        );
        assert!(!all(false).contains(r#""Plan":"ALL""#));
    }

    #[test]
    fn requests_from_another_account_or_for_accounts_not_reported_on_are_refused() {
        let allowed = ["111122223333".to_string(), "444455556666".to_string()];
        let event = |account: &str, accounts: &[&str]| {
            requests(
                &json!({"version": "0", "id": "1", "detail-type": "Compliance Report Requested",
                "source": "rearguard.request", "account": account, "time": "2026-11-26T06:00:00Z",
                "region": "eu-west-1", "resources": [], "detail": {"accounts": accounts}}),
            )
            .unwrap()
            .remove(0)
        };
        assert_eq!(
            admissible(&event("111122223333", &["444455556666"]), "111122223333", &allowed),
            Ok(())
        );
        let e = admissible(&event("999988887777", &[]), "111122223333", &allowed).unwrap_err();
        assert!(e.contains("from account 999988887777"), "{e}");
        let e = admissible(&event("111122223333", &["222233334444"]), "111122223333", &allowed).unwrap_err();
        assert!(e.contains("222233334444") && e.contains("REPORT_ACCOUNTS"), "{e}");
        // A direct invocation (no envelope) is the caller's own: only the accounts are checked.
        let direct = requests(&json!({"accounts": ["444455556666"]})).unwrap().remove(0);
        assert_eq!(admissible(&direct, "111122223333", &allowed), Ok(()));
    }
}

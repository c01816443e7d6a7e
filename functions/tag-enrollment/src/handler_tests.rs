//! The handler over in-memory tagging, reads, publishing and ledger: what is written, read and
//! sent for one event. No I/O.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rearguard::alert::Alert;
use rearguard::metrics::Metrics;
use rearguard::sns::{PublishAlert, PublishError};
use rearguard::store::{Claim, DeliveryLedger, StoreError};
use rearguard::tagging::{ResourceTagging, TaggingError, Tags};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::handler::{Deps, HandleError, TaggingFor, handle};
use crate::policy::Policy;
use crate::resources::Current;
use crate::service_reads::{ReadCurrent, ReadError, ReadersFor};

#[derive(Default)]
struct World {
    /// What each resource's service shows now; a missing ARN cannot be read yet.
    current: Mutex<HashMap<String, Current>>,
    written: Mutex<Vec<(String, Tags)>>,
    reads: Mutex<Vec<String>>,
    sent: Mutex<Vec<Alert>>,
    ledger: Mutex<HashMap<String, &'static str>>,
}

impl World {
    fn shows(&self, arn: &str, current: Current) {
        self.current.lock().unwrap().insert(arn.into(), current);
    }
    fn written(&self) -> Vec<(String, Tags)> {
        self.written.lock().unwrap().clone()
    }
    fn subjects(&self) -> Vec<String> {
        self.sent.lock().unwrap().iter().map(|a| a.subject.clone()).collect()
    }
}

#[async_trait]
impl ResourceTagging for World {
    async fn current_tags(&self, _arns: &[String]) -> Result<HashMap<String, Tags>, TaggingError> {
        panic!("tags are read through each resource's own service")
    }
    async fn add_tags(&self, arns: &[String], tags: &Tags) -> Result<BTreeMap<String, String>, TaggingError> {
        let mut written = self.written.lock().unwrap();
        written.extend(arns.iter().map(|a| (a.clone(), tags.clone())));
        Ok(BTreeMap::new())
    }
}

struct Shared(Arc<World>);

#[async_trait]
impl TaggingFor for Shared {
    async fn tagging(&self, _account: &str, _region: &str) -> Result<Arc<dyn ResourceTagging>, TaggingError> {
        Ok(self.0.clone())
    }
}

#[async_trait]
impl ReadCurrent for World {
    async fn read(&self, arn: &str) -> Result<Current, ReadError> {
        self.reads.lock().unwrap().push(arn.into());
        self.current.lock().unwrap().get(arn).cloned().ok_or_else(|| ReadError {
            arn: arn.into(),
            operation: "test:Read",
            message: "not shown yet".into(),
        })
    }
}

#[async_trait]
impl ReadersFor for Shared {
    async fn reader(&self, _account: &str, _region: &str) -> Result<Arc<dyn ReadCurrent>, ReadError> {
        Ok(self.0.clone())
    }
}

#[async_trait]
impl PublishAlert for World {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        self.sent.lock().unwrap().push(alert.clone());
        Ok("m-1".into())
    }
}

#[async_trait]
impl DeliveryLedger for World {
    async fn claim(&self, key: &str, _now: DateTime<Utc>, _lease: DateTime<Utc>) -> Result<Claim, StoreError> {
        let mut ledger = self.ledger.lock().unwrap();
        Ok(match ledger.get(key) {
            Some(&"done") => Claim::AlreadyDone,
            Some(_) => Claim::InProgress,
            None => {
                ledger.insert(key.into(), "claimed");
                Claim::Acquired
            }
        })
    }
    async fn complete(&self, key: &str, _expires: DateTime<Utc>) -> Result<(), StoreError> {
        self.ledger.lock().unwrap().insert(key.into(), "done");
        Ok(())
    }
    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.ledger.lock().unwrap().remove(key);
        Ok(())
    }
}

fn policy(mode: &str) -> Policy {
    Policy::parse(&format!(
        r#"{{"plans": {{"production": {{"rpo_hours": 24}}, "staging": {{"rpo_hours": 168}}}},
            "resource_types": ["EC2", "EBS", "RDS", "Aurora", "Neptune", "S3"],
            "enrollment": {{"mode": "{mode}", "fallback_plan": "staging",
              "defaults": [{{"when": {{"Environment": "Production"}}, "plan": "production"}}]}}}}"#
    ))
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const INSTANCE: &str = "arn:aws:ec2:eu-west-1:111122223333:instance/i-1";

fn launch(tags: &[(&str, &str)]) -> Value {
    let items: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    json!({"id": "evt-1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
        "account": "111122223333", "region": "eu-west-1", "detail": {
        "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
        "awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
        "requestParameters": {"tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": items}]}},
        "responseElements": {"instancesSet": {"items": [{"instanceId": "i-1"}]}}}})
}

fn tag_change(arn: &str, id: &str, tags: &[(&str, &str)]) -> Value {
    json!({"id": id, "detail-type": "Tag Change on Resource", "source": "aws.tag",
        "account": "111122223333", "region": "eu-west-1", "resources": [arn],
        "detail": {"changed-tag-keys": ["Owner"], "tags": self::tags(tags)}})
}

async fn run(world: &Arc<World>, policy: &Policy, event: Value, ledger: bool) -> Result<Value, HandleError> {
    let shared = Shared(world.clone());
    let deps = Deps {
        policy,
        tagging: &shared,
        readers: &shared,
        publisher: world.as_ref(),
        forwarder: None,
        dry_run: false,
        digest_threshold: 5,
        ledger: ledger.then_some(world.as_ref() as &dyn DeliveryLedger),
    };
    handle(event, &deps, &mut Metrics::new("Test", "tag-enrollment")).await
}

#[tokio::test]
async fn the_current_tags_decide_before_a_write_and_a_persons_plan_wins() {
    let world = Arc::new(World::default());
    world.shows(
        INSTANCE,
        Current {
            tags: tags(&[("Environment", "Production"), ("backup-plan", "staging")]),
            ..Current::default()
        },
    );

    let answer = run(
        &world,
        &policy("enforce"),
        launch(&[("Environment", "Production")]),
        false,
    )
    .await
    .unwrap();

    assert_eq!(answer["resources"][0]["decision"], "compliant");
    assert_eq!(*world.reads.lock().unwrap(), [INSTANCE]);
    assert!(world.written().is_empty());
    assert!(world.subjects().is_empty());
}

#[tokio::test]
async fn a_decision_that_writes_nothing_needs_no_read() {
    let world = Arc::new(World::default());

    let answer = run(
        &world,
        &policy("enforce"),
        launch(&[("backup-plan", "production")]),
        false,
    )
    .await
    .unwrap();

    assert_eq!(answer["resources"][0]["decision"], "compliant");
    assert!(world.reads.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_resource_that_cannot_be_read_fails_the_event_with_nothing_written_or_sent() {
    let world = Arc::new(World::default());

    let error = run(&world, &policy("enforce"), launch(&[]), false).await.unwrap_err();

    assert!(error.to_string().contains("not shown yet"), "{error}");
    assert!(world.written().is_empty() && world.subjects().is_empty());
}

#[tokio::test]
async fn the_read_plan_is_written_with_the_marker() {
    let world = Arc::new(World::default());
    world.shows(INSTANCE, Current::default());

    run(
        &world,
        &policy("enforce"),
        launch(&[("Environment", "Production")]),
        false,
    )
    .await
    .unwrap();

    assert_eq!(
        world.written(),
        [(
            INSTANCE.to_string(),
            tags(&[("backup-plan", "staging"), ("rearguard:enrolled-by", "rearguard")])
        )],
        "the plan comes from what the service shows now, not the event"
    );
}

#[tokio::test]
async fn a_tag_change_on_a_cluster_is_typed_by_engine_and_a_member_is_skipped() {
    let world = Arc::new(World::default());
    let cluster = "arn:aws:rds:eu-west-1:111122223333:cluster:graph";
    let member = "arn:aws:rds:eu-west-1:111122223333:db:main-1";
    world.shows(
        cluster,
        Current {
            engine: Some("neptune".into()),
            ..Current::default()
        },
    );
    world.shows(
        member,
        Current {
            member_of: Some("main".into()),
            ..Current::default()
        },
    );

    run(&world, &policy("enforce"), tag_change(cluster, "e-1", &[]), false)
        .await
        .unwrap();
    let skipped = run(&world, &policy("enforce"), tag_change(member, "e-2", &[]), false)
        .await
        .unwrap();

    let sent = world.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].document["resource"]["type"], "Neptune");
    assert_eq!(skipped["resources"][0]["decision"], "skip");
    assert_eq!(world.written().len(), 1, "the member is not tagged");
}

#[tokio::test]
async fn an_unversioned_bucket_is_warned_about_and_not_tagged() {
    let world = Arc::new(World::default());
    let bucket = "arn:aws:s3:::exports";
    world.shows(
        bucket,
        Current {
            versioned: Some(false),
            ..Current::default()
        },
    );
    let event = json!({"id": "e-3", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "account": "111122223333", "region": "eu-west-1", "detail": {
        "eventSource": "s3.amazonaws.com", "eventName": "CreateBucket", "awsRegion": "eu-west-1",
        "recipientAccountId": "111122223333", "requestParameters": {"bucketName": "exports"}, "responseElements": null}});

    run(&world, &policy("enforce"), event, false).await.unwrap();

    assert!(world.written().is_empty());
    assert_eq!(world.subjects().len(), 1);
    assert!(world.subjects()[0].starts_with("[WARNING] Versioning is off: exports"));
}

#[tokio::test]
async fn audit_mode_alerts_once_per_resource_while_the_ledger_remembers_it() {
    let world = Arc::new(World::default());
    world.shows(INSTANCE, Current::default());

    for id in ["e-1", "e-2", "e-3"] {
        run(
            &world,
            &policy("audit"),
            tag_change(INSTANCE, id, &[("Owner", id)]),
            true,
        )
        .await
        .unwrap();
    }
    run(&world, &policy("audit"), tag_change(INSTANCE, "e-4", &[]), false)
        .await
        .unwrap();

    assert_eq!(world.subjects().len(), 2, "once with the ledger, and once without it");
    assert!(world.written().is_empty());
}

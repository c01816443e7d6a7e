//! cross-account-copy end to end: resources and vaults in the local AWS emulator (three
//! accounts' worth, two regions), backup jobs from the emulator's job extension, their events as
//! EventBridge delivers them, the built binary under the Lambda Runtime API, and the copy jobs and
//! recovery points the emulator holds afterwards.

use aws_config::SdkConfig;
use rearguard_e2e::backup_world::{
    BACKUP_ROLE, acting_in, allow_copies_from, allow_copies_out_to, backup, backup_events_inbox, backup_with,
    copy_jobs, customer_key, next_events, points_in, scan, share_key_with, vault,
};
use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws::{self, AlertsTopic, Received, unique};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::sample;
use rearguard_e2e::template_roles::{deploy_template_role, function_env_as};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const HOME: &str = "123456789012";
const ISOLATED_ACCOUNT: &str = "444455556666";
const COPY_ROLE: &str = "arn:aws:iam::123456789012:role/rearguard-copy";
/// The vault-check role templates/destination-account.yaml creates in the isolated account.
const CHECK_ROLE: &str = "rearguard-vault-check";
/// The function's own role (SAM names it after `CrossAccountCopyFunction`, which the vault-check
/// role's trust matches).
const FUNCTION_ROLE: &str = "rearguard-CrossAccountCopyFunctionRole";
const BACKUP_JOB: &str = "Backup Job State Change";
const COPY_JOB: &str = "Copy Job State Change";
const SCAN_JOB: &str = "Scan Job State Change";
const CLEAN: (&str, &str) = ("x-emulator-scan-result", "NO_THREATS_FOUND");
const INFECTED: (&str, &str) = ("x-emulator-scan-result", "THREATS_FOUND");

/// One test's vaults: production and a re-encrypting vault here, `dr` in us-west-2, `isolated`
/// in the isolated account, each with a customer managed key; all names unique to the test. The
/// isolated vault accepts copies from this account and the re-encrypting vault's key is shared
/// with the isolated account, as cross-account copies need; the isolated account has the
/// vault-check role.
struct Vaults {
    production: String,
    reencrypt: String,
    dr: String,
    isolated: String,
}

impl Vaults {
    async fn create(sdk: &SdkConfig) -> Vaults {
        let west = acting_in(sdk, None, "us-west-2").await;
        let isolated = acting_in(sdk, Some(ISOLATED_ACCOUNT), "eu-west-1").await;
        let production = unique("production");
        let reencrypt = unique("reencrypt");
        let (home_key, west_key, isolated_key) = (
            customer_key(sdk).await,
            customer_key(&west).await,
            customer_key(&isolated).await,
        );
        vault(sdk, &production, None).await;
        vault(sdk, &reencrypt, Some(&home_key)).await;
        share_key_with(sdk, &home_key, ISOLATED_ACCOUNT).await;
        let isolated_name = unique("isolated");
        let isolated_vault = vault(&isolated, &isolated_name, Some(&isolated_key)).await;
        allow_copies_from(&isolated, &isolated_name, &[HOME]).await;
        // A destination stack that takes copies from this account (SourceAccountIds).
        deploy_template_role(
            sdk,
            "destination-account.yaml",
            "VaultCheckRole",
            ISOLATED_ACCOUNT,
            &[("SourceAccountIds", HOME), ("VaultCheckRoleName", CHECK_ROLE)],
        )
        .await;
        Vaults {
            dr: vault(&west, &unique("dr"), Some(&west_key)).await,
            isolated: isolated_vault,
            production,
            reencrypt,
        }
    }

    fn name(arn: &str) -> &str {
        arn.rsplit(':').next().unwrap()
    }
}

struct Harness {
    api: RuntimeApi,
    function: FunctionProcess,
    topic: AlertsTopic,
    sdk: SdkConfig,
    /// Where the function's custom events land.
    events_inbox: String,
}

impl Harness {
    async fn start(routes: Value, extra_env: &[(&str, &str)]) -> Harness {
        let sdk = local_aws::sdk_config().await;
        let topic = AlertsTopic::create(&sdk, &unique("copy")).await;
        let (bus, events_inbox) =
            local_aws::bus_with_inbox(&sdk, &unique("copy-events"), "rearguard.cross-account-copy").await;
        let api = RuntimeApi::start().await;
        let mut env: Vec<(&str, String)> = function_env_as(&sdk, FUNCTION_ROLE).await;
        env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
        env.push(("REARGUARD_POLICY", routes.to_string()));
        env.push(("DESTINATION_ROLE_NAME", CHECK_ROLE.into()));
        env.push(("EVENT_BUS_NAME", bus));
        env.extend(extra_env.iter().map(|(k, v)| (*k, v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = FunctionProcess::spawn(binary("cross-account-copy"), &api.address(), &env);
        Harness {
            api,
            function,
            topic,
            sdk,
            events_inbox,
        }
    }

    async fn invoke(&self, event: &Value) -> Value {
        match self.api.invoke(event, WAIT).await {
            Ok(Answer::Response(v)) => v,
            other => panic!("{other:?}\nlogs:\n{}", self.function.logs().join("\n")),
        }
    }

    async fn alerts(&self, expected: usize) -> Vec<Received> {
        let wait = if expected == 0 { Duration::from_secs(2) } else { WAIT };
        self.topic.receive(expected, wait).await
    }

    async fn custom_events(&self) -> Vec<Value> {
        local_aws::drain_queue(&self.sdk, &self.events_inbox, Duration::from_secs(3)).await
    }

    fn logs(&self) -> String {
        self.function.logs().join("\n")
    }
}

/// A policy document whose `copy_routes` are `routes`, in which vaults may be written inline (a
/// destination by ARN, a source or re-encrypting vault by name): each becomes an entry of the
/// document's `vaults` and the route names it by its key.
fn policy(routes: Value) -> Value {
    let mut vaults = serde_json::Map::new();
    let mut key_of = |vault: &str| -> String {
        if vault == "*" {
            return vault.to_string();
        }
        let key = vault.replace(':', "-");
        let entry = if vault.starts_with("arn:") {
            json!({"arn": vault})
        } else {
            json!({"name": vault})
        };
        vaults.insert(key.clone(), entry);
        key
    };
    let mut routes = routes;
    for route in routes.as_array_mut().unwrap() {
        for field in ["source_vaults", "destinations"] {
            if let Some(list) = route.get_mut(field).and_then(Value::as_array_mut) {
                for vault in list.iter_mut() {
                    *vault = json!(key_of(vault.as_str().unwrap()));
                }
            }
        }
        if let Some(vault) = route.pointer_mut("/reencrypt/vault") {
            *vault = json!(key_of(vault.as_str().unwrap()));
        }
    }
    json!({"plans": {"production": {"rpo_hours": 24}}, "vaults": vaults, "copy_routes": routes})
}

fn route(name: &str, source_vault: &str, destinations: &[&str], extra: Value) -> Value {
    let mut route = json!({
        "name": name,
        "source_vaults": [source_vault],
        "destinations": destinations,
        "copy_role_arn": COPY_ROLE,
    });
    route
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    route
}

/// An encrypted volume; a customer managed `key` is shared with the isolated account, so its
/// snapshots can be copied there.
async fn encrypted_volume(sdk: &SdkConfig, key: Option<&str>) -> String {
    if let Some(key) = key {
        share_key_with(sdk, key, ISOLATED_ACCOUNT).await;
    }
    let volume = aws_sdk_ec2::Client::new(sdk)
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(100)
        .encrypted(true)
        .set_kms_key_id(key.map(str::to_string))
        .send()
        .await
        .expect("create volume");
    format!("arn:aws:ec2:eu-west-1:{HOME}:volume/{}", volume.volume_id().unwrap())
}

/// An RDS database encrypted with the AWS managed key (`aws/rds`), as most are.
async fn database_with_aws_managed_key(sdk: &SdkConfig) -> String {
    let name = unique("orders");
    aws_sdk_rds::Client::new(sdk)
        .create_db_instance()
        .db_instance_identifier(&name)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("app")
        .master_user_password("not-a-real-secret-1")
        .storage_encrypted(true)
        .send()
        .await
        .expect("create db");
    format!("arn:aws:rds:eu-west-1:{HOME}:db:{name}")
}

/// An RDS-API DB cluster of `engine` (`neptune`; `postgres` is a Multi-AZ DB cluster), encrypted
/// with the AWS managed key (`aws/rds`).
async fn db_cluster(sdk: &SdkConfig, engine: &str) -> String {
    let name = unique(engine);
    let mut request = aws_sdk_rds::Client::new(sdk)
        .create_db_cluster()
        .db_cluster_identifier(&name)
        .engine(engine)
        .master_username("app")
        .master_user_password("not-a-real-secret-1")
        .storage_encrypted(true);
    if engine == "postgres" {
        request = request
            .db_cluster_instance_class("db.m6gd.large")
            .allocated_storage(100)
            .storage_type("io1")
            .iops(1000);
    }
    request.send().await.expect("create db cluster");
    format!("arn:aws:rds:eu-west-1:{HOME}:cluster:{name}")
}

/// An Aurora DB cluster encrypted with a customer managed key shared with the isolated account.
async fn aurora_cluster(sdk: &SdkConfig) -> String {
    let key = customer_key(sdk).await;
    share_key_with(sdk, &key, ISOLATED_ACCOUNT).await;
    let name = unique("aurora");
    aws_sdk_rds::Client::new(sdk)
        .create_db_cluster()
        .db_cluster_identifier(&name)
        .engine("aurora-postgresql")
        .master_username("app")
        .master_user_password("not-a-real-secret-1")
        .storage_encrypted(true)
        .kms_key_id(key)
        .send()
        .await
        .expect("create aurora cluster");
    format!("arn:aws:rds:eu-west-1:{HOME}:cluster:{name}")
}

/// A vault in the isolated account in us-west-2 (another account *and* another Region) that
/// accepts copies from this account.
async fn far_vault(sdk: &SdkConfig) -> String {
    let far = acting_in(sdk, Some(ISOLATED_ACCOUNT), "us-west-2").await;
    let name = unique("far");
    let arn = vault(&far, &name, Some(&customer_key(&far).await)).await;
    allow_copies_from(&far, &name, &[HOME]).await;
    arn
}

/// The one event of `detail_type` in the inbox.
async fn the_event(sdk: &SdkConfig, inbox: &str, detail_type: &str) -> Value {
    let mut events = next_events(sdk, inbox, detail_type).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    events.remove(0)
}

#[tokio::test]
async fn a_completed_ebs_backup_is_copied_to_another_account_and_region_once_each() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated, &vaults.dr],
        json!({"lifecycle": {"delete_after_days": 35}})
    )]));
    let harness = Harness::start(routes, &[]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("ebs-events"), &volume).await;
    let point = backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;
    assert_eq!(
        completed["resources"][0],
        point.as_str(),
        "the recovery point is resources[0]"
    );

    // EventBridge delivers at least once: the same event three times.
    let first = harness.invoke(&completed).await;
    let second = harness.invoke(&completed).await;
    let third = harness.invoke(&completed).await;

    assert_eq!(first["status"], "handled", "{first}");
    assert_eq!(first["copies"].as_array().unwrap().len(), 2, "{first}");
    assert_eq!(second["copies"], first["copies"], "same copy job ids again: {second}");
    assert_eq!(third["copies"], first["copies"]);
    let jobs = copy_jobs(&sdk, &volume).await;
    assert_eq!(jobs.len(), 2, "one copy job per destination: {jobs:#?}");
    assert!(jobs.iter().all(|j| j.state().map(|s| s.as_str()) == Some("COMPLETED")));
    let west = acting_in(&sdk, None, "us-west-2").await;
    let isolated = acting_in(&sdk, Some(ISOLATED_ACCOUNT), "eu-west-1").await;
    let in_dr = points_in(&west, Vaults::name(&vaults.dr)).await;
    let in_isolated = points_in(&isolated, Vaults::name(&vaults.isolated)).await;
    assert_eq!((in_dr.len(), in_isolated.len()), (1, 1));
    assert_eq!(in_isolated[0].lifecycle().and_then(|l| l.delete_after_days()), Some(35));
    assert!(
        in_dr[0]
            .recovery_point_arn()
            .unwrap()
            .starts_with("arn:aws:ec2:us-west-2::snapshot/")
    );
    assert!(harness.alerts(0).await.is_empty(), "nothing to alert");
    let requested: Vec<_> = harness
        .custom_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "Rearguard Copy Requested")
        .collect();
    assert_eq!(requested.len(), 6, "one event per copy per delivery");
    assert_eq!(requested[0]["detail"]["route"], "offsite");
}

#[tokio::test]
async fn a_destination_account_without_the_check_role_still_gets_its_copies_and_one_warning() {
    // GIVEN a route to the isolated account and to the same-account DR vault, and a vault-check
    // role name that was never deployed in the isolated account (AssumeRole is AccessDenied)
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated, &vaults.dr],
        json!({"lifecycle": {"delete_after_days": 35}})
    )]));
    let not_deployed = unique("not-deployed");
    let harness = Harness::start(routes, &[("DESTINATION_ROLE_NAME", &not_deployed)]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("unchecked-events"), &volume).await;
    backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;

    // WHEN the backup's completion arrives
    let answer = harness.invoke(&completed).await;

    // THEN both copies start, the DR copy included, and one WARNING names the role to deploy
    assert_eq!(answer["status"], "handled", "{answer}");
    assert_eq!(answer["copies"].as_array().unwrap().len(), 2, "{answer}");
    let west = acting_in(&sdk, None, "us-west-2").await;
    let isolated = acting_in(&sdk, Some(ISOLATED_ACCOUNT), "eu-west-1").await;
    assert_eq!(points_in(&west, Vaults::name(&vaults.dr)).await.len(), 1);
    assert_eq!(points_in(&isolated, Vaults::name(&vaults.isolated)).await.len(), 1);
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0].subject.starts_with("[WARNING] "), "{}", alerts[0].subject);
    let role = format!("arn:aws:iam::{ISOLATED_ACCOUNT}:role/{not_deployed}");
    assert_eq!(alerts[0].document["detail"]["unchecked"][0]["roleArn"], role.as_str());
    assert!(
        alerts[0].document["detail"]["unchecked"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("AccessDenied")),
        "{:#?}",
        alerts[0].document
    );
    assert!(harness.logs().contains("copy_unchecked"));
}

#[tokio::test]
async fn an_rds_snapshot_under_an_aws_managed_key_goes_through_the_reencrypting_vault() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated, &vaults.dr],
        json!({"reencrypt": {"vault": vaults.reencrypt, "keep_days": 3}, "lifecycle": {"delete_after_days": 90}})
    )]));
    let harness = Harness::start(routes, &[]).await;
    let database = database_with_aws_managed_key(&sdk).await;
    let inbox = backup_events_inbox(&sdk, &unique("rds-events"), &database).await;
    backup(&sdk, &vaults.production, &database, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;

    let answer = harness.invoke(&completed).await;

    // dr is in the same account: copied directly. isolated waits for the re-encrypted copy.
    let copies = answer["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 2, "{answer}");
    assert_eq!(copies.iter().filter(|c| c["hop"] == true).count(), 1);
    assert_eq!(answer["skipped"], 1);
    assert_eq!(copy_jobs(&sdk, &database).await.len(), 2);
    let copy_events = next_events(&sdk, &inbox, COPY_JOB).await;
    assert_eq!(copy_events.len(), 2, "{copy_events:#?}");
    let hop_copy = copy_events
        .into_iter()
        .find(|e| {
            e["detail"]["destinationBackupVaultArn"]
                .as_str()
                .unwrap()
                .ends_with(&vaults.reencrypt)
        })
        .expect("the copy into the re-encrypting vault");

    // The hop's copy completes: from the customer-managed-key vault on to the isolated account.
    let onward = harness.invoke(&hop_copy).await;

    assert_eq!(onward["copies"].as_array().unwrap().len(), 1, "{onward}");
    let isolated = acting_in(&sdk, Some(ISOLATED_ACCOUNT), "eu-west-1").await;
    let arrived = points_in(&isolated, Vaults::name(&vaults.isolated)).await;
    assert_eq!(arrived.len(), 1);
    assert_eq!(
        arrived[0].lifecycle().and_then(|l| l.delete_after_days()),
        Some(90),
        "the route's lifecycle, not the hop's 3 days"
    );
    assert!(harness.alerts(0).await.is_empty());
}

#[tokio::test]
async fn a_neptune_snapshot_under_an_aws_managed_key_goes_through_the_reencrypting_vault() {
    // GIVEN a Neptune cluster under aws/rds, routed to the isolated account with a re-encrypting vault
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated],
        json!({"reencrypt": {"vault": vaults.reencrypt, "keep_days": 3}, "lifecycle": {"delete_after_days": 90}})
    )]));
    let harness = Harness::start(routes, &[]).await;
    let cluster = db_cluster(&sdk, "neptune").await;
    let inbox = backup_events_inbox(&sdk, &unique("neptune-events"), &cluster).await;
    backup(&sdk, &vaults.production, &cluster, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;
    assert_eq!(completed["detail"]["resourceType"], "Neptune");

    // WHEN it completes, and then the hop's copy completes
    let answer = harness.invoke(&completed).await;
    let copies = answer["copies"].as_array().unwrap();
    assert_eq!((copies.len(), copies[0]["hop"].as_bool()), (1, Some(true)), "{answer}");
    let hop_copy = next_events(&sdk, &inbox, COPY_JOB).await.remove(0);
    let onward = harness.invoke(&hop_copy).await;

    // THEN the re-encrypted copy lands in the isolated account, and nothing is refused
    assert_eq!(onward["copies"].as_array().unwrap().len(), 1, "{onward}");
    let isolated = acting_in(&sdk, Some(ISOLATED_ACCOUNT), "eu-west-1").await;
    assert_eq!(points_in(&isolated, Vaults::name(&vaults.isolated)).await.len(), 1);
    assert!(harness.alerts(0).await.is_empty());
}

#[tokio::test]
async fn an_aurora_snapshot_goes_to_another_account_in_another_region_in_one_copy_when_both_vault_policies_allow_it() {
    // GIVEN an Aurora cluster routed to a vault in the isolated account in us-west-2, whose
    // access policy lets this account copy in, and a source vault that lets that account copy out
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let far = far_vault(&sdk).await;
    allow_copies_out_to(&sdk, &vaults.production, &[ISOLATED_ACCOUNT]).await;
    let routes = policy(json!([route("offsite", &vaults.production, &[&far], json!({}))]));
    let harness = Harness::start(routes, &[]).await;
    let cluster = aurora_cluster(&sdk).await;
    let inbox = backup_events_inbox(&sdk, &unique("aurora-events"), &cluster).await;
    backup(&sdk, &vaults.production, &cluster, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;
    assert_eq!(completed["detail"]["resourceType"], "Aurora");

    // WHEN its backup completes
    let answer = harness.invoke(&completed).await;

    // THEN one copy job takes it there directly, and it completes
    assert_eq!(answer["copies"].as_array().unwrap().len(), 1, "{answer}");
    let jobs = copy_jobs(&sdk, &cluster).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state().map(|s| s.as_str()), Some("COMPLETED"), "{jobs:#?}");
    let far_account = acting_in(&sdk, Some(ISOLATED_ACCOUNT), "us-west-2").await;
    assert_eq!(points_in(&far_account, Vaults::name(&far)).await.len(), 1);
    assert!(harness.alerts(0).await.is_empty());
}

#[tokio::test]
async fn an_aurora_snapshot_to_another_account_and_region_is_refused_naming_the_statement_the_source_vault_lacks() {
    // GIVEN the same route, but a source vault whose access policy does not let the isolated
    // account copy out
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let far = far_vault(&sdk).await;
    let routes = policy(json!([route("offsite", &vaults.production, &[&far], json!({}))]));
    let harness = Harness::start(routes, &[]).await;
    let cluster = aurora_cluster(&sdk).await;
    let inbox = backup_events_inbox(&sdk, &unique("aurora-events"), &cluster).await;
    backup(&sdk, &vaults.production, &cluster, Some("plan-daily")).await;

    // WHEN its backup completes
    let answer = harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    // THEN no copy job is started, and one alert names the statement to add
    assert_eq!(answer["refused"], 1, "{answer}");
    assert!(copy_jobs(&sdk, &cluster).await.is_empty());
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let refused = &alerts[0].document["detail"]["refused"][0];
    assert_eq!(refused["refusal"]["code"], "VAULT_POLICY", "{refused:#}");
    assert_eq!(refused["refusal"]["side"], "source");
    let statement = refused["refusal"]["statement"].as_str().unwrap_or_default();
    assert!(
        statement.contains("backup:CopyFromBackupVault") && statement.contains(ISOLATED_ACCOUNT),
        "{statement}"
    );
}

#[tokio::test]
async fn a_multi_az_db_cluster_snapshot_is_refused_with_the_reason() {
    // GIVEN a Multi-AZ DB cluster (RDS engine postgres) routed to another Region
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route("offsite", &vaults.production, &[&vaults.dr], json!({}))]));
    let harness = Harness::start(routes, &[]).await;
    let cluster = db_cluster(&sdk, "postgres").await;
    let inbox = backup_events_inbox(&sdk, &unique("multi-az-events"), &cluster).await;
    backup(&sdk, &vaults.production, &cluster, Some("plan-daily")).await;

    // WHEN its backup completes
    let answer = harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    // THEN no copy is started, and one alert says why
    assert_eq!(answer["refused"], 1, "{answer}");
    assert!(copy_jobs(&sdk, &cluster).await.is_empty());
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let reason = alerts[0].document["detail"]["refused"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("copying a Multi-AZ DB cluster snapshot is not supported"),
        "{reason}"
    );
}

#[tokio::test]
async fn without_a_reencrypting_vault_an_aws_managed_key_is_refused_with_one_alert() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated],
        json!({})
    )]));
    let state_table = unique("copy-state");
    local_aws::create_state_table(&sdk, &state_table).await;
    let harness = Harness::start(routes, &[("STATE_TABLE_NAME", &state_table)]).await;
    let database = database_with_aws_managed_key(&sdk).await;
    let inbox = backup_events_inbox(&sdk, &unique("refused-events"), &database).await;
    backup(&sdk, &vaults.production, &database, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;

    let answer = harness.invoke(&completed).await;
    let again = harness.invoke(&completed).await;

    assert_eq!(answer["refused"], 1, "{answer}");
    assert_eq!(again["status"], "duplicate");
    assert!(copy_jobs(&sdk, &database).await.is_empty(), "no copy that would fail");
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0].subject.starts_with("[ERROR] Copy refused to "),
        "{}",
        alerts[0].subject
    );
    assert_eq!(
        alerts[0].document["detail"]["refused"][0]["refusal"]["code"],
        "AWS_MANAGED_KEY"
    );
    let skipped: Vec<_> = harness
        .custom_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "Rearguard Copy Skipped")
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["detail"]["refused"], true);
}

#[tokio::test]
async fn a_copy_redelivered_after_its_ledger_entry_expired_starts_nothing() {
    // GIVEN a backup copied once, with the state table remembering the event
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated, &vaults.dr],
        json!({"lifecycle": {"delete_after_days": 35}})
    )]));
    let state_table = unique("copy-state");
    local_aws::create_state_table(&sdk, &state_table).await;
    let harness = Harness::start(routes, &[("STATE_TABLE_NAME", &state_table)]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("redrive-events"), &volume).await;
    backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;
    let first = harness.invoke(&completed).await;
    assert_eq!(first["copies"].as_array().unwrap().len(), 2, "{first}");

    // WHEN the ledger entry has expired (7 days) and the event comes back from the failure queue
    let event_id = completed["id"].as_str().unwrap();
    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_item()
        .table_name(&state_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("delivery#cross-account-copy#{event_id}")),
        )
        .send()
        .await
        .expect("the ledger entry expires");
    let redriven = harness.invoke(&completed).await;

    // THEN it is handled again, finds both copies and starts nothing
    assert_eq!(redriven["status"], "handled", "{redriven}");
    assert_eq!(redriven["copies"], first["copies"], "the same copy jobs");
    assert_eq!(copy_jobs(&sdk, &volume).await.len(), 2);
    let logs = harness.logs();
    assert_eq!(
        logs.matches("start_copy_job").count(),
        2,
        "StartCopyJob only for the first delivery:\n{logs}"
    );
    assert_eq!(logs.matches("copy_exists").count(), 2, "{logs}");
}

#[tokio::test]
async fn on_demand_and_plan_jobs_take_their_own_routes() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([
        route("plans", &vaults.production, &[&vaults.dr], json!({"jobs": "plan"})),
        route(
            "on-demand",
            &vaults.production,
            &[&vaults.isolated],
            json!({"jobs": "on_demand", "lifecycle": {"delete_after_days": 14}})
        ),
    ]));
    let harness = Harness::start(routes, &[]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("on-demand-events"), &volume).await;
    backup(&sdk, &vaults.production, &volume, None).await;
    let on_demand = the_event(&sdk, &inbox, BACKUP_JOB).await;
    assert!(
        on_demand["detail"].get("createdBy").is_none(),
        "on-demand jobs have no createdBy"
    );

    let answer = harness.invoke(&on_demand).await;

    let copies = answer["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 1, "{answer}");
    assert_eq!(copies[0]["destination"], vaults.isolated.as_str());
    let jobs = copy_jobs(&sdk, &volume).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].destination_backup_vault_arn(), Some(vaults.isolated.as_str()));
}

#[tokio::test]
async fn an_unknown_destination_vault_is_refused_before_copying() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let missing = format!(
        "arn:aws:backup:eu-west-1:{ISOLATED_ACCOUNT}:backup-vault:{}",
        unique("missing")
    );
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&missing, &vaults.dr],
        json!({})
    )]));
    let harness = Harness::start(routes, &[]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("missing-events"), &volume).await;
    backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;

    let answer = harness.invoke(&completed).await;

    assert_eq!(
        (answer["copies"].as_array().unwrap().len(), answer["refused"].as_u64()),
        (1, Some(1)),
        "{answer}"
    );
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1);
    let reason = alerts[0].document["detail"]["refused"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("unknown or unreachable"), "{:#?}", alerts[0].document);
    assert_eq!(copy_jobs(&sdk, &volume).await.len(), 1, "only dr");
}

#[tokio::test]
async fn a_vault_locked_to_35_days_refuses_a_copy_kept_forever_naming_the_bound() {
    // GIVEN the isolated vault under a Vault Lock of at most 35 days, and a source backup kept
    // forever that a route without a lifecycle copies there (the copy would inherit "never")
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let isolated = acting_in(&sdk, Some(ISOLATED_ACCOUNT), "eu-west-1").await;
    aws_sdk_backup::Client::new(&isolated)
        .put_backup_vault_lock_configuration()
        .backup_vault_name(Vaults::name(&vaults.isolated))
        .min_retention_days(1)
        .max_retention_days(35)
        .send()
        .await
        .expect("lock the vault");
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated, &vaults.dr],
        json!({})
    )]));
    let harness = Harness::start(routes, &[]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("locked-events"), &volume).await;
    backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;

    // WHEN its completion arrives
    let answer = harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    // THEN the isolated copy is refused up front, naming the bound; the DR copy is made
    assert_eq!(
        (answer["copies"].as_array().unwrap().len(), answer["refused"].as_u64()),
        (1, Some(1)),
        "{answer}"
    );
    let jobs = copy_jobs(&sdk, &volume).await;
    assert_eq!(jobs.len(), 1, "no copy job the vault would fail: {jobs:#?}");
    assert_eq!(jobs[0].destination_backup_vault_arn(), Some(vaults.dr.as_str()));
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let refused = &alerts[0].document["detail"]["refused"][0];
    assert_eq!(refused["refusal"]["code"], "VAULT_LOCK");
    let reason = refused["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("at most 35 days (MaxRetentionDays)"), "{reason}");
}

#[tokio::test]
async fn a_route_that_clamps_copies_a_backup_kept_forever_into_a_35_day_vault_for_35_days() {
    // GIVEN the isolated vault under a Vault Lock of at most 35 days, a source backup kept
    // forever, and a route that clamps copies to the destination's Vault Lock
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let isolated = acting_in(&sdk, Some(ISOLATED_ACCOUNT), "eu-west-1").await;
    aws_sdk_backup::Client::new(&isolated)
        .put_backup_vault_lock_configuration()
        .backup_vault_name(Vaults::name(&vaults.isolated))
        .min_retention_days(1)
        .max_retention_days(35)
        .send()
        .await
        .expect("lock the vault");
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated],
        json!({"clamp_to_vault_lock": true})
    )]));
    let harness = Harness::start(routes, &[]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("clamped-events"), &volume).await;
    backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;

    // WHEN its completion arrives
    let answer = harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    // THEN the copy is made for 35 days, the vault takes it, and the log names both values
    assert_eq!(answer["copies"].as_array().unwrap().len(), 1, "{answer}");
    let jobs = copy_jobs(&sdk, &volume).await;
    assert_eq!(jobs[0].state().map(|s| s.as_str()), Some("COMPLETED"), "{jobs:#?}");
    let arrived = points_in(&isolated, Vaults::name(&vaults.isolated)).await;
    assert_eq!(arrived.len(), 1);
    assert_eq!(arrived[0].lifecycle().and_then(|l| l.delete_after_days()), Some(35));
    let logs = harness.logs();
    let clamp = logs
        .lines()
        .find(|l| l.contains(r#""decision":"clamp""#))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(clamp.contains(r#""clamped_retention_days":"35""#), "{clamp}");
    assert!(clamp.contains(r#""retention_days":"forever""#), "{clamp}");
    assert!(harness.alerts(0).await.is_empty());
}

#[tokio::test]
async fn a_copy_inheriting_its_sources_lifecycle_keeps_the_opt_in_to_archive() {
    // GIVEN a backup whose lifecycle opts in to the archive tier, and a route without a lifecycle
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route("offsite", &vaults.production, &[&vaults.dr], json!({}))]));
    let harness = Harness::start(routes, &[]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("archive-events"), &volume).await;
    aws_sdk_backup::Client::new(&sdk)
        .start_backup_job()
        .backup_vault_name(&vaults.production)
        .resource_arn(&volume)
        .iam_role_arn(BACKUP_ROLE)
        .lifecycle(
            aws_sdk_backup::types::Lifecycle::builder()
                .delete_after_days(35)
                .opt_in_to_archive_for_supported_resources(true)
                .build(),
        )
        .send()
        .await
        .expect("start backup job");

    // WHEN its completion arrives
    let answer = harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    // THEN the copy is asked for with the source's lifecycle, the opt-in included
    assert_eq!(answer["copies"].as_array().unwrap().len(), 1, "{answer}");
    let west = acting_in(&sdk, None, "us-west-2").await;
    let arrived = points_in(&west, Vaults::name(&vaults.dr)).await;
    assert_eq!(arrived.len(), 1);
    let lifecycle = arrived[0].lifecycle().expect("a lifecycle");
    assert_eq!(
        (
            lifecycle.delete_after_days(),
            lifecycle.opt_in_to_archive_for_supported_resources()
        ),
        (Some(35), Some(true))
    );
}

#[tokio::test]
async fn the_source_is_shortened_once_every_copy_completed() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.isolated, &vaults.dr],
        json!({"lifecycle": {"delete_after_days": 35}, "shorten_source_to_days": 7})
    )]));
    let harness = Harness::start(routes, &[]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("shorten-events"), &volume).await;
    let point = backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;
    let copies = next_events(&sdk, &inbox, COPY_JOB).await;
    assert_eq!(copies.len(), 2);
    let source_lifecycle = || async {
        aws_sdk_backup::Client::new(&sdk)
            .describe_recovery_point()
            .backup_vault_name(&vaults.production)
            .recovery_point_arn(&point)
            .send()
            .await
            .expect("describe")
            .lifecycle()
            .and_then(|l| l.delete_after_days())
    };
    assert_eq!(source_lifecycle().await, None, "kept forever until now");

    for copy in &copies {
        let answer = harness.invoke(copy).await;
        assert_eq!(answer["status"], "handled", "{answer}");
    }

    assert_eq!(source_lifecycle().await, Some(7));
    assert!(harness.logs().contains("update_recovery_point_lifecycle"));
}

#[tokio::test]
async fn the_source_is_shortened_on_a_tag_filtered_route_whose_copy_is_in_another_region() {
    // GIVEN a route for the resources tagged backup-plan=production, copying to us-west-2 and
    // shortening the source to 7 days, and a volume so tagged in eu-west-1
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route(
        "offsite",
        &vaults.production,
        &[&vaults.dr],
        json!({"plans": ["production"], "lifecycle": {"delete_after_days": 35}, "shorten_source_to_days": 7})
    )]));
    let harness = Harness::start(routes, &[]).await;
    let volume_id = aws_sdk_ec2::Client::new(&sdk)
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(10)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Volume)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("backup-plan")
                        .value("production")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create volume")
        .volume_id()
        .unwrap()
        .to_string();
    let volume = format!("arn:aws:ec2:eu-west-1:{HOME}:volume/{volume_id}");
    let inbox = backup_events_inbox(&sdk, &unique("tagged-shorten-events"), &volume).await;
    let point = backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    let first = harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;
    assert_eq!(first["copies"].as_array().unwrap().len(), 1, "{first}");
    let copied = the_event(&sdk, &inbox, COPY_JOB).await;
    assert_eq!(
        copied["detail"]["destinationBackupVaultArn"],
        vaults.dr.as_str(),
        "the recovery point arrives in us-west-2"
    );

    // WHEN the copy's completion arrives
    let answer = harness.invoke(&copied).await;

    // THEN the tag is read where the volume is, the route matches, and the source is shortened
    assert_eq!(answer["sourceShortened"].as_array().unwrap().len(), 1, "{answer}");
    let lifecycle = aws_sdk_backup::Client::new(&sdk)
        .describe_recovery_point()
        .backup_vault_name(&vaults.production)
        .recovery_point_arn(&point)
        .send()
        .await
        .expect("describe")
        .lifecycle()
        .and_then(|l| l.delete_after_days());
    assert_eq!(lifecycle, Some(7));
}

#[tokio::test]
async fn dry_run_logs_the_exact_copy_and_starts_none() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route("offsite", &vaults.production, &[&vaults.dr], json!({}))]));
    let harness = Harness::start(routes, &[("DRY_RUN", "true")]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("dry-events"), &volume).await;
    let point = backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;

    let answer = harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    assert_eq!(answer["dryRun"], true);
    assert!(copy_jobs(&sdk, &volume).await.is_empty());
    let logs = harness.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("would_start_copy_job"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(
        line.contains(&point) && line.contains(&vaults.dr) && line.contains("idempotency_token"),
        "{line}"
    );
}

#[tokio::test]
async fn malformed_and_unrelated_events_change_nothing() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let routes = policy(json!([route("offsite", "*", &[&vaults.dr], json!({}))]));
    let harness = Harness::start(routes, &[]).await;

    for (event, status) in [
        (sample("malformed-detail"), "ignored"),
        (sample("backup-failed-rds"), "ignored"),
        (sample("copy-running"), "ignored"),
        (json!({"hello": "world"}), "ignored"),
    ] {
        let answer = harness.invoke(&event).await;
        assert_eq!(answer["status"], status, "{event} -> {answer}");
    }
    assert!(harness.alerts(0).await.is_empty());
    let logs = harness.logs();
    assert!(
        logs.contains("decision=\"ignore\"") || logs.contains("\"decision\":\"ignore\""),
        "{logs}"
    );
}

#[tokio::test]
async fn a_bad_route_stops_the_function_at_start_naming_it() {
    let routes = json!({"plans": {"p": {"rpo_hours": 24}},
        "copy_routes": [{"name": "x", "source_vaults": ["*"], "destinations": ["nope"], "copy_role_arn": COPY_ROLE}]});
    let mut harness = Harness::start(routes, &[]).await;

    let status = tokio::time::timeout(WAIT, harness.function.child.wait())
        .await
        .expect("exits")
        .expect("status");
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_ne!(status.code(), Some(0));
    let logs = harness.logs();
    assert!(
        logs.contains("REARGUARD_POLICY")
            && logs.contains("copy_routes[0].destinations[0]")
            && logs.contains("nope")
            && logs.contains("is not one of the vaults"),
        "{logs}"
    );
}

#[tokio::test]
async fn the_emulator_answers_an_unknown_vault_in_aws_own_error_shape() {
    let sdk = local_aws::sdk_config().await;
    let error = aws_sdk_backup::Client::new(&sdk)
        .describe_recovery_point()
        .backup_vault_name(unique("no-such-vault"))
        .recovery_point_arn("arn:aws:ec2:eu-west-1::snapshot/snap-0123456789abcdef0")
        .send()
        .await
        .expect_err("unknown vault");

    let service_error = error.into_service_error();
    assert!(service_error.is_resource_not_found_exception(), "{service_error:?}");
    assert!(
        aws_sdk_backup::error::ProvideErrorMetadata::message(&service_error)
            .is_some_and(|m| m.contains("no-such-vault"))
    );
}

#[tokio::test]
async fn job_alerts_seeing_the_same_event_first_does_not_stop_the_copy() {
    // Both functions take a completed backup and share the stack's state table: each keeps its
    // own ledger of handled events.
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let table = unique("shared-state");
    local_aws::create_state_table(&sdk, &table).await;
    let routes = policy(json!([route("offsite", &vaults.production, &[&vaults.dr], json!({}))]));
    let harness = Harness::start(routes, &[("STATE_TABLE_NAME", &table)]).await;
    let job_alerts_api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.push(("ALERT_TOPIC_ARN", harness.topic.topic_arn.clone()));
    env.push(("STATE_TABLE_NAME", table.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _job_alerts = FunctionProcess::spawn(binary("job-alerts"), &job_alerts_api.address(), &env);
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("shared-events"), &volume).await;
    backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    let completed = the_event(&sdk, &inbox, BACKUP_JOB).await;

    let alerts_answer = job_alerts_api.invoke(&completed, WAIT).await;
    let answer = harness.invoke(&completed).await;

    assert!(matches!(alerts_answer, Ok(Answer::Response(_))), "{alerts_answer:?}");
    assert_eq!(answer["status"], "handled", "{answer}");
    assert_eq!(copy_jobs(&sdk, &volume).await.len(), 1);
}

/// A policy where copies from production to the isolated vault wait for a clean malware scan,
/// and copies to dr do not.
fn gated_policy(vaults: &Vaults) -> Value {
    policy(json!([
        route(
            "clean-only",
            &vaults.production,
            &[&vaults.isolated],
            json!({"require_clean_scan": true})
        ),
        route("nearby", &vaults.production, &[&vaults.dr], json!({})),
    ]))
}

fn destinations(jobs: &[aws_sdk_backup::types::CopyJob]) -> Vec<String> {
    let mut vaults: Vec<String> = jobs
        .iter()
        .map(|j| j.destination_backup_vault_arn().unwrap_or_default().to_string())
        .collect();
    vaults.sort();
    vaults
}

#[tokio::test]
async fn a_copy_that_requires_a_clean_scan_starts_once_on_the_clean_scan_and_the_other_on_completion() {
    // GIVEN a gated route to the isolated vault and a plain one to dr, with the state table
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let state_table = unique("copy-state");
    local_aws::create_state_table(&sdk, &state_table).await;
    let harness = Harness::start(gated_policy(&vaults), &[("STATE_TABLE_NAME", &state_table)]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("gated-events"), &volume).await;
    let point = backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;

    // WHEN the backup completes
    let completed = harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    // THEN only the copy without the requirement starts; the isolated one is held
    assert_eq!(completed["copies"].as_array().unwrap().len(), 1, "{completed}");
    assert_eq!(
        destinations(&copy_jobs(&sdk, &volume).await),
        std::slice::from_ref(&vaults.dr)
    );
    let held: Vec<_> = harness
        .custom_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "Rearguard Copy Skipped")
        .collect();
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0]["detail"]["destinationVaultArn"], vaults.isolated.as_str());
    assert!(held[0]["detail"]["reason"].as_str().unwrap().contains("malware scan"));

    // WHEN a scan finds the point clean, and EventBridge delivers that event twice
    scan(&sdk, &vaults.production, &point, CLEAN).await;
    let clean = the_event(&sdk, &inbox, SCAN_JOB).await;
    assert_eq!(clean["detail"]["scanResult"]["scanResultStatus"], "NO_THREATS_FOUND");
    let first = harness.invoke(&clean).await;
    let second = harness.invoke(&clean).await;

    // THEN exactly one copy to the isolated vault, beside the one to dr
    assert_eq!(first["copies"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["copies"][0]["destination"], vaults.isolated.as_str());
    assert_eq!(second["status"], "duplicate", "{second}");
    let mut both = vec![vaults.dr.clone(), vaults.isolated.clone()];
    both.sort();
    assert_eq!(destinations(&copy_jobs(&sdk, &volume).await), both);
    assert!(harness.alerts(0).await.is_empty(), "nothing to alert");

    // AND a deployment without the ledger, given the same scan, still starts nothing new (the
    // copy token is the backup's, and the copy is found)
    let stateless = Harness::start(gated_policy(&vaults), &[]).await;
    let third = stateless.invoke(&clean).await;
    assert_eq!(third["copies"], first["copies"], "the same copy job: {third}");
    assert_eq!(copy_jobs(&sdk, &volume).await.len(), 2);
}

#[tokio::test]
async fn threats_found_refuse_the_waiting_copy_with_one_error_naming_the_point_the_resource_and_the_scan() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let state_table = unique("copy-state");
    local_aws::create_state_table(&sdk, &state_table).await;
    let harness = Harness::start(gated_policy(&vaults), &[("STATE_TABLE_NAME", &state_table)]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("infected-events"), &volume).await;
    let point = backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    scan(&sdk, &vaults.production, &point, INFECTED).await;
    let infected = the_event(&sdk, &inbox, SCAN_JOB).await;
    let scan_job_id = infected["detail"]["scanJobId"].as_str().unwrap().to_string();
    let first = harness.invoke(&infected).await;
    let second = harness.invoke(&infected).await;

    assert_eq!(first["refused"], 1, "{first}");
    assert_eq!(second["status"], "duplicate", "{second}");
    assert_eq!(
        destinations(&copy_jobs(&sdk, &volume).await),
        std::slice::from_ref(&vaults.dr),
        "only the copy made on completion, none to the isolated vault"
    );
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1, "once, though delivered twice: {alerts:#?}");
    let alert = &alerts[0];
    assert!(
        alert.subject.starts_with("[ERROR] Copy refused to "),
        "{}",
        alert.subject
    );
    assert_eq!(alert.document["recoveryPointArn"], point.as_str());
    assert_eq!(alert.document["resource"]["arn"], volume.as_str());
    let refusal = &alert.document["detail"]["refused"][0];
    assert_eq!(refusal["refusal"]["code"], "MALWARE_FOUND");
    assert_eq!(refusal["refusal"]["scan_job_id"], scan_job_id.as_str());
    assert_eq!(refusal["destinationVaultArn"], vaults.isolated.as_str());
}

#[tokio::test]
async fn a_failed_scan_refuses_the_waiting_copy_as_not_proven_clean_and_a_later_clean_scan_copies_it() {
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let state_table = unique("copy-state");
    local_aws::create_state_table(&sdk, &state_table).await;
    let harness = Harness::start(gated_policy(&vaults), &[("STATE_TABLE_NAME", &state_table)]).await;
    let volume = encrypted_volume(&sdk, Some(&customer_key(&sdk).await)).await;
    let inbox = backup_events_inbox(&sdk, &unique("unproven-events"), &volume).await;
    let point = backup(&sdk, &vaults.production, &volume, Some("plan-daily")).await;
    harness.invoke(&the_event(&sdk, &inbox, BACKUP_JOB).await).await;

    scan(&sdk, &vaults.production, &point, ("x-emulator-scan-state", "FAILED")).await;
    let failed = harness.invoke(&the_event(&sdk, &inbox, SCAN_JOB).await).await;

    assert_eq!(failed["refused"], 1, "{failed}");
    assert_eq!(
        destinations(&copy_jobs(&sdk, &volume).await),
        std::slice::from_ref(&vaults.dr)
    );
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0].subject.starts_with("[ERROR] Copy refused to "),
        "{}",
        alerts[0].subject
    );
    let refusal = &alerts[0].document["detail"]["refused"][0]["refusal"];
    assert_eq!(
        (refusal["code"].as_str(), refusal["state"].as_str()),
        (Some("SCAN_NOT_CLEAN"), Some("FAILED"))
    );

    // A scan that completes clean afterwards releases the copy.
    scan(&sdk, &vaults.production, &point, CLEAN).await;
    let clean = harness.invoke(&the_event(&sdk, &inbox, SCAN_JOB).await).await;
    assert_eq!(clean["copies"][0]["destination"], vaults.isolated.as_str(), "{clean}");
    assert_eq!(copy_jobs(&sdk, &volume).await.len(), 2);
}

#[tokio::test]
async fn the_sweep_warns_once_about_a_backup_whose_scan_never_came_and_dry_run_only_logs_it() {
    // GIVEN three backups in the gated route's vault: one 30 h old never scanned, one 30 h old
    // scanned clean, one just taken
    let sdk = local_aws::sdk_config().await;
    let vaults = Vaults::create(&sdk).await;
    let state_table = unique("copy-state");
    local_aws::create_state_table(&sdk, &state_table).await;
    let harness = Harness::start(gated_policy(&vaults), &[("STATE_TABLE_NAME", &state_table)]).await;
    let key = customer_key(&sdk).await;
    let long_ago = (chrono::Utc::now() - chrono::Duration::hours(30))
        .timestamp()
        .to_string();
    let old = |volume: String| {
        let (sdk, vault, at) = (sdk.clone(), vaults.production.clone(), long_ago.clone());
        async move {
            let headers = [("x-emulator-time", at), ("x-emulator-plan", "plan-daily".to_string())];
            backup_with(&sdk, &vault, &volume, &headers)
                .await
                .expect("a recovery point")
        }
    };
    let unscanned = old(encrypted_volume(&sdk, Some(&key)).await).await;
    let scanned = old(encrypted_volume(&sdk, Some(&key)).await).await;
    scan(&sdk, &vaults.production, &scanned, CLEAN).await;
    let fresh = backup(
        &sdk,
        &vaults.production,
        &encrypted_volume(&sdk, Some(&key)).await,
        Some("plan-daily"),
    )
    .await;
    let schedule = json!({"version": "0", "id": unique("sweep"), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": HOME, "region": "eu-west-1", "resources": [], "detail": {},
        "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()});

    // WHEN the hourly sweep runs, and again an hour later (another event)
    let first = harness.invoke(&schedule).await;
    let mut later = schedule.clone();
    later["id"] = json!(unique("sweep"));
    later["time"] = json!(
        (chrono::Utc::now() + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
    let second = harness.invoke(&later).await;

    // THEN one warning, about the old point no scan reached, naming the held copy
    let held: Vec<&str> = first["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["recoveryPointArn"].as_str().unwrap())
        .collect();
    assert_eq!(
        held,
        [unscanned.as_str()],
        "not {scanned} (scanned) nor {fresh} (within the wait): {first}"
    );
    assert_eq!(second["held"], first["held"], "{second}");
    let alerts = harness.alerts(1).await;
    assert_eq!(alerts.len(), 1, "once per point: {alerts:#?}");
    assert!(
        alerts[0].subject.starts_with("[WARNING] Copy to "),
        "{}",
        alerts[0].subject
    );
    assert_eq!(alerts[0].document["recoveryPointArn"], unscanned.as_str());
    assert_eq!(
        alerts[0].document["detail"]["heldDestinations"],
        json!([vaults.isolated])
    );
    assert_eq!(alerts[0].document["detail"]["waitHours"], 24);
    assert!(
        copy_jobs(&sdk, &unscanned_resource(&sdk, &vaults.production, &unscanned).await)
            .await
            .is_empty()
    );

    // AND in dry run the sweep logs the alert it would send, and sends none
    let dry = Harness::start(gated_policy(&vaults), &[("DRY_RUN", "true")]).await;
    let answer = dry.invoke(&schedule).await;
    assert_eq!(answer["dryRun"], true);
    assert!(dry.alerts(0).await.is_empty());
    let logs = dry.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("would_alert"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(line.contains(&unscanned) && line.contains(&vaults.isolated), "{line}");
}

/// The resource a recovery point in `vault` was taken of.
async fn unscanned_resource(sdk: &SdkConfig, vault: &str, point: &str) -> String {
    aws_sdk_backup::Client::new(sdk)
        .describe_recovery_point()
        .backup_vault_name(vault)
        .recovery_point_arn(point)
        .send()
        .await
        .expect("describe recovery point")
        .resource_arn()
        .expect("resource")
        .to_string()
}

//! AWS Backup fixtures in the local emulator: vaults in any account and region, KMS keys,
//! backup jobs (served by the emulator's job extension, which puts their events on the default
//! bus like AWS Backup does) and an inbox for those events.

use aws_config::{Region, SdkConfig};
use aws_sdk_backup::types::{CopyJob, RecoveryPointByBackupVault};
use serde_json::{Value, json};
use std::time::Duration;

use crate::local_aws::drain_queue;

pub const BACKUP_ROLE: &str = "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole";

/// The role AWS Organizations creates in each member account it creates, which lets the
/// management account administer it (Organizations API `CreateAccount`, `RoleName`). The local
/// AWS refuses AssumeRole into a role IAM did not create in the account, as AWS does; this one
/// is there from the start.
pub const ORGANIZATION_ROLE: &str = "OrganizationAccountAccessRole";

/// The SDK config acting in `account` (through its organization access role, as the account's
/// administrators would) and `region`.
pub async fn acting_in(sdk: &SdkConfig, account: Option<&str>, region: &str) -> SdkConfig {
    let mut builder = sdk.to_builder().region(Region::new(region.to_string()));
    if let Some(account) = account {
        let provider =
            aws_config::sts::AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/{ORGANIZATION_ROLE}"))
                .session_name("test")
                .configure(sdk)
                .build()
                .await;
        builder = builder.credentials_provider(aws_sdk_backup::config::SharedCredentialsProvider::new(provider));
    }
    builder.build()
}

/// Creates role `name` in `account` (`None`: the caller's own) with the trust policy `trust`, or
/// gives an existing one that trust policy.
pub async fn put_role(sdk: &SdkConfig, account: Option<&str>, name: &str, trust: &Value) {
    let admin = acting_in(sdk, account, crate::local_aws::REGION).await;
    let iam = aws_sdk_iam::Client::new(&admin);
    let created = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await;
    if let Err(e) = created {
        let exists = e
            .as_service_error()
            .is_some_and(|e| e.is_entity_already_exists_exception());
        assert!(exists, "create role {name} in {account:?}: {e:?}");
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(trust.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("update the trust of {name} in {account:?}: {e:?}"));
    }
}

/// Creates the role `name` in `account`, an administrator's role trusting every principal of the
/// platform account (its root), allowed every action as AWS's AdministratorAccess policy allows
/// it (the local AWS enforces a role session's identity policies); a role already there is
/// given the same again. Until then the local AWS refuses AssumeRole into it, as AWS does. The
/// roles of `templates/*.yaml` are created with their own trust and permission policies by
/// `template_roles::deploy_template_role` instead.
pub async fn create_role(sdk: &SdkConfig, account: &str, name: &str) {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]
    });
    put_role(sdk, Some(account), name, &trust).await;
    let admin = acting_in(sdk, Some(account), crate::local_aws::REGION).await;
    let iam = aws_sdk_iam::Client::new(&admin);
    let administrator = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    });
    iam.put_role_policy()
        .role_name(name)
        .policy_name("administrator")
        .policy_document(administrator.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put the administrator policy on {name} in {account}: {e:?}"));
}

/// A customer managed KMS key in the config's account and region; returns its ARN.
pub async fn customer_key(sdk: &SdkConfig) -> String {
    aws_sdk_kms::Client::new(sdk)
        .create_key()
        .description("rearguard test key")
        .send()
        .await
        .expect("create key")
        .key_metadata()
        .expect("metadata")
        .arn()
        .expect("arn")
        .to_string()
}

/// Shares a customer managed key of the config's account with `account`, as a cross-account copy
/// of a snapshot encrypted with it needs ("Encryption for a backup copy to a different account
/// or AWS Region"): the key policy keeps its own account's administrators and lets `account` use it.
pub async fn share_key_with(sdk: &SdkConfig, key_arn: &str, account: &str) {
    let owner = key_arn.split(':').nth(4).expect("key ARN");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{owner}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "CopyDestination", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
             "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
             "Resource": "*"}
        ]
    });
    aws_sdk_kms::Client::new(sdk)
        .put_key_policy()
        .key_id(key_arn)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("put key policy");
}

/// Lets the source accounts copy into the vault, as templates/destination-account.yaml's vault
/// access policy does for its SourceAccountIds.
pub async fn allow_copies_from(sdk: &SdkConfig, vault_name: &str, source_accounts: &[&str]) {
    let principals: Vec<String> = source_accounts
        .iter()
        .map(|account| format!("arn:aws:iam::{account}:root"))
        .collect();
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "SourceAccountsCopyIn", "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": "backup:CopyIntoBackupVault", "Resource": "*"}]
    });
    aws_sdk_backup::Client::new(sdk)
        .put_backup_vault_access_policy()
        .backup_vault_name(vault_name)
        .policy(policy.to_string())
        .send()
        .await
        .expect("put vault access policy");
}

/// Lets the destination accounts copy out of the vault, as template.yaml's source vault access
/// policy does for its CopyDestinationAccounts: a copy to another Region and another account in
/// one step needs it ("DB cluster snapshot copying", Aurora User Guide).
pub async fn allow_copies_out_to(sdk: &SdkConfig, vault_name: &str, destination_accounts: &[&str]) {
    let principals: Vec<String> = destination_accounts
        .iter()
        .map(|account| format!("arn:aws:iam::{account}:root"))
        .collect();
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DestinationAccountsCopyOut", "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": "backup:CopyFromBackupVault", "Resource": "*"}]
    });
    aws_sdk_backup::Client::new(sdk)
        .put_backup_vault_access_policy()
        .backup_vault_name(vault_name)
        .policy(policy.to_string())
        .send()
        .await
        .expect("put vault access policy");
}

/// Creates a vault (encrypted with `key` when given) and returns its ARN.
pub async fn vault(sdk: &SdkConfig, name: &str, key: Option<&str>) -> String {
    aws_sdk_backup::Client::new(sdk)
        .create_backup_vault()
        .backup_vault_name(name)
        .set_encryption_key_arn(key.map(str::to_string))
        .send()
        .await
        .expect("create vault")
        .backup_vault_arn()
        .expect("vault arn")
        .to_string()
}

/// Starts an on-demand backup job (or one "started by" `plan`); returns the recovery point ARN.
pub async fn backup(sdk: &SdkConfig, vault: &str, resource_arn: &str, plan: Option<&str>) -> String {
    let headers: Vec<(&'static str, String)> = plan.map(|p| ("x-emulator-plan", p.to_string())).into_iter().collect();
    backup_with(sdk, vault, resource_arn, &headers)
        .await
        .expect("a completed backup has a recovery point")
}

/// A backup job steered by the emulator's headers (`x-emulator-time`, `x-emulator-plan`,
/// `x-emulator-fail`); returns the recovery point, or `None` when the job failed.
pub async fn backup_with(
    sdk: &SdkConfig,
    vault: &str,
    resource_arn: &str,
    headers: &[(&'static str, String)],
) -> Option<String> {
    let headers = headers.to_vec();
    aws_sdk_backup::Client::new(sdk)
        .start_backup_job()
        .backup_vault_name(vault)
        .resource_arn(resource_arn)
        .iam_role_arn(BACKUP_ROLE)
        .customize()
        .mutate_request(move |req| {
            for (name, value) in &headers {
                req.headers_mut().insert(*name, value.clone());
            }
        })
        .send()
        .await
        .expect("start backup job")
        .recovery_point_arn()
        .map(str::to_string)
}

/// A queue receiving every AWS Backup job event from the config's account and region.
pub async fn backup_events_inbox_all(sdk: &SdkConfig, name: &str) -> String {
    inbox_for(sdk, name, json!({"source": ["aws.backup"], "detail": {"state": ENDED}})).await
}

/// The job states that end a job: like the stack's rules, the inboxes leave out the progress
/// events (CREATED, PENDING, RUNNING) every job also sends.
const ENDED: [&str; 6] = [
    "COMPLETED",
    "FAILED",
    "ABORTED",
    "EXPIRED",
    "PARTIAL",
    "COMPLETED_WITH_ISSUES",
];

/// A queue receiving the AWS Backup events about one resource from the default bus.
pub async fn backup_events_inbox(sdk: &SdkConfig, name: &str, resource_arn: &str) -> String {
    inbox_for(
        sdk,
        name,
        json!({"source": ["aws.backup"], "detail": {"resourceArn": [resource_arn], "state": ENDED}}),
    )
    .await
}

async fn inbox_for(sdk: &SdkConfig, name: &str, pattern: Value) -> String {
    crate::local_aws::rule_to_queue(sdk, None, name, &pattern).await
}

/// The next events in an inbox of the given detail-type.
pub async fn next_events(sdk: &SdkConfig, inbox: &str, detail_type: &str) -> Vec<Value> {
    drain_queue(sdk, inbox, Duration::from_secs(5))
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == detail_type)
        .collect()
}

pub async fn copy_jobs(sdk: &SdkConfig, resource_arn: &str) -> Vec<CopyJob> {
    aws_sdk_backup::Client::new(sdk)
        .list_copy_jobs()
        .by_resource_arn(resource_arn)
        .send()
        .await
        .expect("list copy jobs")
        .copy_jobs()
        .to_vec()
}

pub async fn points_in(sdk: &SdkConfig, vault: &str) -> Vec<RecoveryPointByBackupVault> {
    aws_sdk_backup::Client::new(sdk)
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .send()
        .await
        .expect("list recovery points")
        .recovery_points()
        .to_vec()
}

/// Locks a vault with Vault Lock. `changeable` days make it a compliance-mode lock (none: a
/// governance-mode lock); `configured_days_ago` tells the emulator when it was configured, so
/// its LockDate (configuration + ChangeableForDays) can already be past.
pub async fn lock_vault(
    sdk: &SdkConfig,
    name: &str,
    min_retention_days: i64,
    changeable: Option<i64>,
    configured_days_ago: i64,
) {
    lock_vault_between(sdk, name, min_retention_days, None, changeable, configured_days_ago).await
}

/// [`lock_vault`] with a `MaxRetentionDays` too.
pub async fn lock_vault_between(
    sdk: &SdkConfig,
    name: &str,
    min_retention_days: i64,
    max_retention_days: Option<i64>,
    changeable: Option<i64>,
    configured_days_ago: i64,
) {
    let configured = (chrono::Utc::now().timestamp() - configured_days_ago * 86_400).to_string();
    aws_sdk_backup::Client::new(sdk)
        .put_backup_vault_lock_configuration()
        .backup_vault_name(name)
        .min_retention_days(min_retention_days)
        .set_max_retention_days(max_retention_days)
        .set_changeable_for_days(changeable)
        .customize()
        .mutate_request(move |req| {
            req.headers_mut().insert("x-emulator-time", configured.clone());
        })
        .send()
        .await
        .expect("put vault lock configuration");
}

/// Starts a malware scan of a recovery point in the config's account; the emulator's header
/// (`x-emulator-scan-result` or `x-emulator-scan-state`) decides the outcome.
pub async fn scan(sdk: &SdkConfig, vault: &str, point: &str, outcome: (&'static str, &'static str)) {
    let (header, value) = outcome;
    aws_sdk_backup::Client::new(sdk)
        .start_scan_job()
        .backup_vault_name(vault)
        .recovery_point_arn(point)
        .malware_scanner(aws_sdk_backup::types::MalwareScanner::Guardduty)
        .iam_role_arn(BACKUP_ROLE)
        .scanner_role_arn("arn:aws:iam::123456789012:role/rearguard-malware-scanner")
        .scan_mode(aws_sdk_backup::types::ScanMode::FullScan)
        .customize()
        .mutate_request(move |req| {
            req.headers_mut().insert(header, value);
        })
        .send()
        .await
        .expect("start scan job");
}

"""What a copy needs before AWS Backup makes it: the destination vault's access policy, a key
the destination can use, a source vault that lets copies out, a copyable snapshot."""

from __future__ import annotations

import json

from conftest import Aws, unique

ISOLATED = "444455556666"
DENIED = "Access Denied trying to call AWS Backup service"


def copy_into(source: Aws, vault: str, point: str, destination_arn: str) -> dict:
    job_id = source.backup.start_copy_job(RecoveryPointArn=point, SourceBackupVaultName=vault,
                                          DestinationBackupVaultArn=destination_arn,
                                          IamRoleArn=f"arn:aws:iam::{source.account}:role/copy")["CopyJobId"]
    return source.backup.describe_copy_job(CopyJobId=job_id)["CopyJob"]


def allow_copies_from(destination: Aws, vault: str, account: str) -> None:
    destination.backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                       "Action": "backup:CopyIntoBackupVault", "Resource": "*"}],
    }))


def points_in(aws: Aws, vault: str) -> list:
    return aws.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]


def test_a_cross_account_copy_needs_the_destination_vault_to_allow_the_source_account(home, aws):
    isolated = aws(ISOLATED)
    source, _ = home.vault()
    target, target_arn = isolated.vault()
    point = home.backup_job(source, home.table_arn())["RecoveryPointArn"]

    refused = copy_into(home, source, point, target_arn)
    assert (refused["State"], refused["StatusMessage"]) == ("FAILED", DENIED)
    allow_copies_from(isolated, target, "111122223333")
    assert copy_into(home, source, point, target_arn)["StatusMessage"] == DENIED, "another account is allowed"
    assert points_in(isolated, target) == []

    allow_copies_from(isolated, target, home.account)
    assert copy_into(home, source, point, target_arn)["State"] == "COMPLETED"
    assert len(points_in(isolated, target)) == 1


def test_a_snapshot_under_a_customer_managed_key_needs_the_key_shared_with_the_destination(home, aws):
    isolated = aws(ISOLATED)
    source, _ = home.vault()
    target, target_arn = isolated.vault()
    allow_copies_from(isolated, target, home.account)
    kms = home.client("kms")
    key = kms.create_key(Description="volume key")["KeyMetadata"]["Arn"]
    volume = home.client("ec2").create_volume(AvailabilityZone="eu-west-1a", Size=10, Encrypted=True,
                                              KmsKeyId=key)["VolumeId"]
    point = home.backup_job(source, f"arn:aws:ec2:eu-west-1:{home.account}:volume/{volume}")["RecoveryPointArn"]

    refused = copy_into(home, source, point, target_arn)
    assert refused["State"] == "FAILED"
    assert "not shared with destination account" in refused["StatusMessage"]

    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{home.account}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ISOLATED}:root"},
             "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"], "Resource": "*"},
        ],
    }))
    assert copy_into(home, source, point, target_arn)["State"] == "COMPLETED"


def test_a_snapshot_under_an_aws_managed_key_cannot_go_to_another_account(home, aws):
    isolated = aws(ISOLATED)
    source, _ = home.vault()
    target, target_arn = isolated.vault()
    allow_copies_from(isolated, target, home.account)
    volume = home.client("ec2").create_volume(AvailabilityZone="eu-west-1a", Size=10, Encrypted=True)["VolumeId"]
    point = home.backup_job(source, f"arn:aws:ec2:eu-west-1:{home.account}:volume/{volume}")["RecoveryPointArn"]
    refused = copy_into(home, source, point, target_arn)
    assert refused["State"] == "FAILED" and "AWS managed key" in refused["StatusMessage"]


def test_a_source_vault_denying_copy_from_stops_copies_even_in_the_same_account(home):
    source, _ = home.vault()
    _, target_arn = home.vault()
    point = home.backup_job(source, home.table_arn())["RecoveryPointArn"]
    home.backup.put_backup_vault_access_policy(BackupVaultName=source, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "backup:CopyFromBackupVault", "Resource": "*"}],
    }))
    refused = copy_into(home, source, point, target_arn)
    assert (refused["State"], refused["StatusMessage"]) == ("FAILED", DENIED)


def test_a_multi_az_db_cluster_snapshot_cannot_be_copied(home):
    source, _ = home.vault()
    _, target_arn = home.vault()
    name = unique("cluster")
    home.client("rds").create_db_cluster(DBClusterIdentifier=name, Engine="postgres", DBClusterInstanceClass="db.m6gd.large",
                                         AllocatedStorage=100, StorageType="io1", Iops=1000,
                                         MasterUsername="app", MasterUserPassword="not-a-real-secret-1")
    point = home.backup_job(source, f"arn:aws:rds:eu-west-1:{home.account}:cluster:{name}")["RecoveryPointArn"]
    refused = copy_into(home, source, point, target_arn)
    assert refused["State"] == "FAILED" and "Multi-AZ DB cluster" in refused["StatusMessage"]
    aurora = unique("aurora")
    home.client("rds").create_db_cluster(DBClusterIdentifier=aurora, Engine="aurora-postgresql",
                                         MasterUsername="app", MasterUserPassword="not-a-real-secret-1")
    point = home.backup_job(source, f"arn:aws:rds:eu-west-1:{home.account}:cluster:{aurora}")["RecoveryPointArn"]
    assert copy_into(home, source, point, target_arn)["State"] == "COMPLETED"


def test_neptune_backups_are_typed_by_engine_and_keep_the_clusters_key(home, aws):
    # "ListBackupJobs" (ByResourceType: Neptune) and "Encryption for a backup copy to
    # a different account or AWS Region": cluster snapshots keep the cluster's key, so the AWS
    # managed aws/rds key keeps them out of other accounts.
    isolated = aws(ISOLATED)
    source, _ = home.vault()
    target, target_arn = isolated.vault()
    allow_copies_from(isolated, target, home.account)
    for engine, kind in (("neptune", "Neptune"),):
        name = unique(engine)
        home.client("rds").create_db_cluster(DBClusterIdentifier=name, Engine=engine, StorageEncrypted=True,
                                             MasterUsername="app", MasterUserPassword="not-a-real-secret-1")
        job = home.backup_job(source, f"arn:aws:rds:eu-west-1:{home.account}:cluster:{name}")
        assert job["ResourceType"] == kind
        assert ":cluster-snapshot:awsbackup:" in job["RecoveryPointArn"]
        point = home.backup.describe_recovery_point(BackupVaultName=source, RecoveryPointArn=job["RecoveryPointArn"])
        key = home.client("kms").describe_key(KeyId=point["EncryptionKeyArn"])["KeyMetadata"]
        assert key["KeyManager"] == "AWS", "the cluster's aws/rds key, not the vault's"
        refused = copy_into(home, source, job["RecoveryPointArn"], target_arn)
        assert refused["State"] == "FAILED" and "AWS managed key" in refused["StatusMessage"]


def test_an_aurora_snapshot_goes_to_another_region_and_account_in_one_copy_when_the_source_vault_allows_it(home, aws):
    # "DB cluster snapshot copying" (Aurora User Guide): copied to another Region and account in a
    # single step; the source vault's access policy must allow backup:CopyFromBackupVault to the
    # destination account, the destination vault's backup:CopyIntoBackupVault to the source.
    far = aws(ISOLATED, "us-west-2")
    source, _ = home.vault()
    target, target_arn = far.vault()
    allow_copies_from(far, target, home.account)
    kms = home.client("kms")
    key = kms.create_key(Description="cluster key")["KeyMetadata"]["Arn"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{home.account}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ISOLATED}:root"},
             "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"], "Resource": "*"},
        ],
    }))
    name = unique("aurora")
    home.client("rds").create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", StorageEncrypted=True,
                                         KmsKeyId=key, MasterUsername="app", MasterUserPassword="not-a-real-secret-1")
    point = home.backup_job(source, f"arn:aws:rds:eu-west-1:{home.account}:cluster:{name}")["RecoveryPointArn"]

    refused = copy_into(home, source, point, target_arn)
    assert (refused["State"], refused["StatusMessage"]) == ("FAILED", DENIED)
    assert points_in(far, target) == []

    home.backup.put_backup_vault_access_policy(BackupVaultName=source, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ISOLATED}:root"},
                       "Action": "backup:CopyFromBackupVault", "Resource": "*"}],
    }))
    assert copy_into(home, source, point, target_arn)["State"] == "COMPLETED"
    assert len(points_in(far, target)) == 1
    # The same snapshot to the other account in its own Region needs no CopyFromBackupVault grant.
    near, near_arn = aws(ISOLATED).vault()
    allow_copies_from(aws(ISOLATED), near, home.account)
    home.backup.delete_backup_vault_access_policy(BackupVaultName=source)
    assert copy_into(home, source, point, near_arn)["State"] == "COMPLETED"


def test_a_documentdb_snapshot_cannot_go_to_another_region_and_account_in_one_copy():
    # "Copying Amazon DocumentDB cluster snapshots": not across Regions and accounts in a single
    # step. moto's RDS has no docdb engine, so the rule is exercised on the emulator's state directly.
    import sys
    from pathlib import Path
    from types import SimpleNamespace
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from backup_jobs import BackupJobs, RecoveryPoint

    jobs = BackupJobs()
    point = RecoveryPoint(arn="arn:aws:rds:eu-west-1:123456789012:cluster-snapshot:awsbackup:job-1",
                          account="123456789012", region="eu-west-1", vault_name="source",
                          resource_arn="arn:aws:rds:eu-west-1:123456789012:cluster:docs",
                          resource_type="DocumentDB", created=0.0, encryption_key_arn=None, iam_role_arn="r")
    jobs.access_policies[("123456789012", "eu-west-1", "source")] = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ISOLATED}, "Action": "backup:CopyFromBackupVault", "Resource": "*"}]})
    jobs.access_policies[(ISOLATED, "us-west-2", "far")] = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "backup:CopyIntoBackupVault",
         "Resource": "*"}]})
    far = SimpleNamespace(backup_vault_name="far")
    refusal = jobs.copy_refusal("123456789012", "eu-west-1", point, ISOLATED, "us-west-2", far)
    assert refusal and "another Region and another account in one copy" in refusal
    jobs.access_policies[(ISOLATED, "eu-west-1", "far")] = jobs.access_policies[(ISOLATED, "us-west-2", "far")]
    assert jobs.copy_refusal("123456789012", "eu-west-1", point, ISOLATED, "eu-west-1", far) is None

"""Recovery points: copies keep their source's creation date, lifecycles run against the
emulator's clock, DeleteRecoveryPoint and what refuses it."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from conftest import Aws, advance_clock, emulator_now

DAY = 86_400


def copy(aws: Aws, vault: str, point: str, destination: str, lifecycle: dict | None = None) -> dict:
    args = {"RecoveryPointArn": point, "SourceBackupVaultName": vault, "DestinationBackupVaultArn": destination,
            "IamRoleArn": f"arn:aws:iam::{aws.account}:role/copy"}
    if lifecycle:
        args["Lifecycle"] = lifecycle
    job_id = aws.backup.start_copy_job(**args)["CopyJobId"]
    return aws.backup.describe_copy_job(CopyJobId=job_id)["CopyJob"]


def test_a_copy_keeps_its_sources_creation_date_and_its_job_has_its_own(home):
    source, _ = home.vault()
    target, target_arn = home.vault()
    week_ago = str(int(emulator_now(home.endpoint) - 7 * DAY))
    job = home.backup_job(source, home.table_arn(), headers={"x-emulator-time": week_ago})
    copied = copy(home, source, job["RecoveryPointArn"], target_arn)
    assert copied["State"] == "COMPLETED"
    point = home.backup.describe_recovery_point(BackupVaultName=target,
                                                RecoveryPointArn=copied["DestinationRecoveryPointArn"])
    assert point["CreationDate"] == job["CreationDate"], "the copy's creation date is the source's"
    assert copied["CreationDate"].timestamp() > job["CreationDate"].timestamp() + 6 * DAY, "the job is today"
    assert point["SourceBackupVaultArn"].endswith(f":backup-vault:{source}")


def test_a_copy_without_a_lifecycle_keeps_the_sources_retention_counted_from_the_source(home):
    source, _ = home.vault()
    target, target_arn = home.vault()
    job = home.backup_job(source, home.table_arn(), lifecycle={"DeleteAfterDays": 35})
    copied = copy(home, source, job["RecoveryPointArn"], target_arn)
    point = home.backup.describe_recovery_point(BackupVaultName=target,
                                                RecoveryPointArn=copied["DestinationRecoveryPointArn"])
    assert point["Lifecycle"]["DeleteAfterDays"] == 35
    delete_at = point["CalculatedLifecycle"]["DeleteAt"].timestamp()
    assert delete_at == pytest.approx(job["CreationDate"].timestamp() + 35 * DAY, abs=1)


def test_points_expire_by_their_lifecycle_and_leave_listings_but_not_protected_resources(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    short, kept = aws.table_arn(), aws.table_arn()
    expiring = aws.backup_job(vault, short, lifecycle={"DeleteAfterDays": 1})["RecoveryPointArn"]
    staying = aws.backup_job(vault, kept, lifecycle={"DeleteAfterDays": 10})["RecoveryPointArn"]
    listed = {p["RecoveryPointArn"] for p in aws.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]}
    assert listed == {expiring, staying}

    advance_clock(own_endpoint, 2 * DAY)

    listed = [p["RecoveryPointArn"] for p in aws.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]]
    assert listed == [staying]
    # "ListProtectedResources": resources with recovery points created by AWS Backup
    # "regardless of the recovery point's status": the expired one is still its last backup.
    protected = {r["ResourceArn"]: r for r in aws.backup.list_protected_resources()["Results"]}
    assert protected[short]["LastRecoveryPointArn"] == expiring
    assert protected[kept]["LastRecoveryPointArn"] == staying
    with pytest.raises(ClientError) as e:
        aws.backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=expiring)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    counts = {v["BackupVaultName"]: v["NumberOfRecoveryPoints"] for v in aws.backup.list_backup_vaults()["BackupVaultList"]}
    assert counts[vault] == 1


def test_points_move_to_cold_storage_where_the_type_supports_it(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    volume = aws.client("ec2").create_volume(AvailabilityZone="eu-west-1a", Size=10)["VolumeId"]
    ebs = aws.backup_job(vault, f"arn:aws:ec2:eu-west-1:{aws.account}:volume/{volume}",
                         lifecycle={"MoveToColdStorageAfterDays": 1, "DeleteAfterDays": 91})["RecoveryPointArn"]
    # RDS has no cold storage: AWS Backup ignores the setting rather than refusing it.
    rds = aws.backup_job(vault, f"arn:aws:rds:eu-west-1:{aws.account}:db:orders",
                         lifecycle={"MoveToColdStorageAfterDays": 1, "DeleteAfterDays": 5})["RecoveryPointArn"]

    advance_clock(own_endpoint, 2 * DAY)

    def storage(arn):
        return aws.backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)["StorageClass"]
    assert (storage(ebs), storage(rds)) == ("COLD", "WARM")
    other, other_arn = aws.vault()
    with pytest.raises(ClientError) as e:
        copy(aws, vault, ebs, other_arn)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_delete_recovery_point_removes_it(home):
    vault, _ = home.vault()
    resource = home.table_arn()
    point = home.backup_job(vault, resource)["RecoveryPointArn"]
    home.backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=point)
    assert home.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"] == []
    assert home.backup.list_recovery_points_by_resource(ResourceArn=resource)["RecoveryPoints"] == []
    protected = {r["ResourceArn"]: r for r in home.backup.list_protected_resources()["Results"]}
    assert protected[resource]["LastRecoveryPointArn"] == point, "the listing still names the deleted point"


def test_a_vault_access_policy_denying_deletion_refuses_it(home):
    vault, _ = home.vault()
    point = home.backup_job(vault, home.table_arn())["RecoveryPointArn"]
    home.backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}],
    }))
    with pytest.raises(ClientError) as e:
        home.backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=point)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "explicit deny" in e.value.response["Error"]["Message"]
    assert len(home.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]) == 1
    # A deny that only covers other accounts leaves this account's administrators free to delete.
    home.backup.put_backup_vault_access_policy(BackupVaultName=vault, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": ["backup:DeleteRecoveryPoint"], "Resource": "*",
                       "Condition": {"StringNotEquals": {"aws:PrincipalAccount": home.account}}}],
    }))
    home.backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=point)
    assert home.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"] == []


def test_a_compliance_mode_vault_lock_refuses_deletion(home):
    vault, _ = home.vault()
    point = home.backup_job(vault, home.table_arn(), lifecycle={"DeleteAfterDays": 10})["RecoveryPointArn"]
    home.backup.put_backup_vault_lock_configuration(BackupVaultName=vault, MinRetentionDays=1, ChangeableForDays=3)
    with pytest.raises(ClientError) as e:
        home.backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=point)
    assert e.value.response["Error"]["Code"] == "InvalidRequestException"
    assert len(home.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]) == 1

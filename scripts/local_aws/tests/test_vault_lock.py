"""Vault Lock's retention bounds fail backup and copy jobs outside them."""

from __future__ import annotations

from conftest import Aws


def locked_vault(aws: Aws, minimum: int | None, maximum: int | None) -> tuple[str, str]:
    name, arn = aws.vault()
    args = {"BackupVaultName": name}
    if minimum is not None:
        args["MinRetentionDays"] = minimum
    if maximum is not None:
        args["MaxRetentionDays"] = maximum
    aws.backup.put_backup_vault_lock_configuration(**args)
    return name, arn


def test_a_backup_shorter_than_the_minimum_retention_fails_without_a_recovery_point(home):
    vault, _ = locked_vault(home, 30, None)
    job = home.backup_job(vault, home.table_arn(), lifecycle={"DeleteAfterDays": 7})
    assert job["State"] == "FAILED"
    assert "minimum retention period (30 days)" in job["StatusMessage"]
    assert "RecoveryPointArn" not in job
    assert home.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"] == []
    assert home.backup_job(vault, home.table_arn(), lifecycle={"DeleteAfterDays": 30})["State"] == "COMPLETED"


def test_a_backup_kept_forever_breaks_a_maximum_retention(home):
    vault, _ = locked_vault(home, 1, 365)
    job = home.backup_job(vault, home.table_arn())
    assert job["State"] == "FAILED"
    assert "maximum retention period (365 days)" in job["StatusMessage"]
    assert home.backup_job(vault, home.table_arn(), lifecycle={"DeleteAfterDays": 365})["State"] == "COMPLETED"


def test_a_copy_into_a_locked_vault_outside_its_bounds_fails(home):
    source, _ = home.vault()
    target, target_arn = locked_vault(home, 30, 100)
    point = home.backup_job(source, home.table_arn(), lifecycle={"DeleteAfterDays": 7})["RecoveryPointArn"]

    def copy(lifecycle):
        args = {"RecoveryPointArn": point, "SourceBackupVaultName": source, "DestinationBackupVaultArn": target_arn,
                "IamRoleArn": f"arn:aws:iam::{home.account}:role/copy"}
        if lifecycle:
            args["Lifecycle"] = lifecycle
        job_id = home.backup.start_copy_job(**args)["CopyJobId"]
        return home.backup.describe_copy_job(CopyJobId=job_id)["CopyJob"]

    kept_like_source = copy(None)
    assert kept_like_source["State"] == "FAILED", "the source's 7 days are below the vault's 30"
    assert "Vault Lock" in kept_like_source["StatusMessage"]
    assert "DestinationRecoveryPointArn" not in kept_like_source
    assert copy({"DeleteAfterDays": 60})["State"] == "COMPLETED"
    assert len(home.backup.list_recovery_points_by_backup_vault(BackupVaultName=target)["RecoveryPoints"]) == 1

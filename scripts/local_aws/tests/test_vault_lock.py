"""Vault Lock's retention bounds fail backup and copy jobs outside them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from conftest import Aws, emulator_now

DAY = 86_400


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


def test_a_governance_lock_has_no_lock_date_and_a_compliance_lock_ends_its_grace_time_at_one(home):
    """"AWS Backup Vault Lock": ChangeableForDays makes a compliance-mode lock, immutable from
    its LockDate; without it the lock is in governance mode."""
    governance, _ = locked_vault(home, 7, None)
    assert "LockDate" not in home.backup.describe_backup_vault(BackupVaultName=governance)
    compliance, _ = home.vault()
    now = emulator_now(home.endpoint)
    home.backup.put_backup_vault_lock_configuration(BackupVaultName=compliance, MinRetentionDays=7, ChangeableForDays=3)
    lock_date = home.backup.describe_backup_vault(BackupVaultName=compliance)["LockDate"].timestamp()
    assert lock_date == pytest.approx(now + 3 * DAY, abs=5)


def test_a_lock_configured_in_the_past_is_immutable_once_its_lock_date_has_passed(home):
    vault, _ = home.vault()
    client = home.backup
    ten_days_ago = str(int(emulator_now(home.endpoint) - 10 * DAY))

    def configured_then(request, **_):
        request.headers["x-emulator-time"] = ten_days_ago
    client.meta.events.register("before-sign.backup.PutBackupVaultLockConfiguration", configured_then)
    client.put_backup_vault_lock_configuration(BackupVaultName=vault, MinRetentionDays=7, ChangeableForDays=3)
    described = client.describe_backup_vault(BackupVaultName=vault)
    assert described["Locked"] is True
    assert described["LockDate"].timestamp() == pytest.approx(int(ten_days_ago) + 3 * DAY, abs=1)
    with pytest.raises(ClientError) as e:
        client.delete_backup_vault_lock_configuration(BackupVaultName=vault)
    assert e.value.response["Error"]["Code"] == "InvalidRequestException"

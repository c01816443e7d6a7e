"""ListBackupJobs / ListCopyJobs honour their filters and reject what AWS rejects."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from conftest import HOME, Aws, emulator_now

DAY = 86_400


def start_copy(aws: Aws, vault: str, point: str, destination: str) -> str:
    return aws.backup.start_copy_job(RecoveryPointArn=point, SourceBackupVaultName=vault,
                                     DestinationBackupVaultArn=destination,
                                     IamRoleArn=f"arn:aws:iam::{aws.account}:role/copy")["CopyJobId"]


def copy_ids(aws: Aws, **filters) -> set[str]:
    return {j["CopyJobId"] for j in aws.backup.list_copy_jobs(**filters)["CopyJobs"]}


def test_list_copy_jobs_filters_by_destination_resource_account_state_and_times(home):
    source, _ = home.vault()
    _, first_arn = home.vault()
    _, second_arn = home.vault()
    resource, other = home.table_arn(), home.table_arn()
    point = home.backup_job(source, resource)["RecoveryPointArn"]
    other_point = home.backup_job(source, other)["RecoveryPointArn"]
    to_first = start_copy(home, source, point, first_arn)
    to_second = start_copy(home, source, point, second_arn)
    other_copy = start_copy(home, source, other_point, first_arn)
    mine = {to_first, to_second, other_copy}

    assert copy_ids(home, ByResourceArn=resource) == {to_first, to_second}
    assert copy_ids(home, ByDestinationVaultArn=first_arn) == {to_first, other_copy}
    assert copy_ids(home, ByResourceArn=resource, ByDestinationVaultArn=second_arn) == {to_second}
    assert mine <= copy_ids(home, ByAccountId=HOME)
    assert copy_ids(home, ByAccountId="111122223333") & mine == set()
    assert mine <= copy_ids(home, ByState="COMPLETED")
    assert copy_ids(home, ByState="FAILED") & mine == set()
    now = datetime.fromtimestamp(emulator_now(home.endpoint), timezone.utc)
    assert mine <= copy_ids(home, ByCreatedAfter=now - timedelta(minutes=5))
    assert copy_ids(home, ByCreatedAfter=now + timedelta(minutes=5)) & mine == set()
    assert copy_ids(home, ByCreatedBefore=now - timedelta(minutes=5)) & mine == set()
    assert mine <= copy_ids(home, ByCompleteAfter=now - timedelta(minutes=5))
    assert copy_ids(home, ByCompleteBefore=now - timedelta(minutes=5)) & mine == set()


@pytest.mark.parametrize("filters, member", [
    ({"ByState": "DONE"}, "byState"),
    ({"ByAccountId": "12345"}, "byAccountId"),
])
def test_list_copy_jobs_rejects_invalid_filter_values(home, filters, member):
    with pytest.raises(ClientError) as e:
        home.backup.list_copy_jobs(**filters)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert member in e.value.response["Error"]["Message"]


def test_list_backup_jobs_filters_and_rejects_a_state_copy_jobs_have_not(home):
    vault, _ = home.vault()
    other_vault, _ = home.vault()
    resource = home.table_arn()
    job = home.backup_job(vault, resource)["BackupJobId"]
    home.backup_job(other_vault, resource)
    listed = [j["BackupJobId"] for j in home.backup.list_backup_jobs(ByBackupVaultName=vault)["BackupJobs"]]
    assert listed == [job]
    assert [j["BackupJobId"] for j in home.backup.list_backup_jobs(ByResourceArn=resource, ByBackupVaultName=vault,
                                                                     ByResourceType="DynamoDB")["BackupJobs"]] == [job]
    assert home.backup.list_backup_jobs(ByBackupVaultName=vault, ByResourceType="EBS")["BackupJobs"] == []
    # PENDING is a backup job state, not a copy job state.
    assert home.backup.list_backup_jobs(ByState="PENDING", ByBackupVaultName=vault)["BackupJobs"] == []
    with pytest.raises(ClientError) as e:
        home.backup.list_copy_jobs(ByState="PENDING")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_list_backup_jobs_covers_the_last_30_days_only(home):
    vault, _ = home.vault()
    now = emulator_now(home.endpoint)
    old = home.backup_job(vault, home.table_arn(), headers={"x-emulator-time": str(int(now - 31 * DAY))})
    recent = home.backup_job(vault, home.table_arn(), headers={"x-emulator-time": str(int(now - 29 * DAY))})
    listed = {j["BackupJobId"] for j in home.backup.list_backup_jobs(ByBackupVaultName=vault)["BackupJobs"]}
    assert listed == {recent["BackupJobId"]}
    # The job itself is still there to describe.
    assert home.backup.describe_backup_job(BackupJobId=old["BackupJobId"])["State"] == "COMPLETED"

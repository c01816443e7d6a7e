"""ListBackupJobs, ListCopyJobs, ListRestoreJobs and ListScanJobs honour their filters and their
windows and reject what AWS rejects."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import HOME, Aws, advance_clock, emulator_now, unique

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


# --- the 30-day windows and the listings' validation -------------------------------------------

def unvalidated(aws: Aws):
    """A Backup client that sends what it is given (botocore checks ranges itself otherwise)."""
    return boto3.client("backup", config=Config(parameter_validation=False), **aws.kwargs)


def refusal(call) -> dict:
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return e.value.response["Error"]


def scan(aws: Aws, vault: str, point: str) -> str:
    return aws.backup.start_scan_job(BackupVaultName=vault, RecoveryPointArn=point, MalwareScanner="GUARDDUTY",
                                     IamRoleArn=f"arn:aws:iam::{aws.account}:role/backup",
                                     ScannerRoleArn=f"arn:aws:iam::{aws.account}:role/scanner",
                                     ScanMode="FULL_SCAN")["ScanJobId"]


def test_backup_and_scan_jobs_leave_their_listings_after_30_days_by_the_emulators_clock(own_endpoint):
    # GIVEN a backup job and a scan job made now
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    job = aws.backup_job(vault, aws.table_arn())
    scan_id = scan(aws, vault, job["RecoveryPointArn"])
    # WHEN 29 days pass, THEN both are listed; WHEN two more pass, THEN neither is
    advance_clock(own_endpoint, 29 * DAY)
    assert [j["BackupJobId"] for j in aws.backup.list_backup_jobs(ByBackupVaultName=vault)["BackupJobs"]] == [
        job["BackupJobId"]]
    assert [j["ScanJobId"] for j in aws.backup.list_scan_jobs(ByBackupVaultName=vault)["ScanJobs"]] == [scan_id]
    advance_clock(own_endpoint, 2 * DAY)
    assert aws.backup.list_backup_jobs(ByBackupVaultName=vault)["BackupJobs"] == []
    assert aws.backup.list_scan_jobs(ByBackupVaultName=vault)["ScanJobs"] == []
    # and each is still there to describe.
    assert aws.backup.describe_scan_job(ScanJobId=scan_id)["State"] == "COMPLETED"
    assert aws.backup.describe_backup_job(BackupJobId=job["BackupJobId"])["State"] == "COMPLETED"


def test_copy_and_restore_listings_state_no_window_and_keep_older_jobs(own_endpoint):
    # GIVEN a copy job and a restore job made now
    aws = Aws(own_endpoint)
    source, _ = aws.vault()
    _, destination = aws.vault()
    point = aws.backup_job(source, aws.table_arn())["RecoveryPointArn"]
    copy_id = start_copy(aws, source, point, destination)
    restore_id = aws.backup.start_restore_job(
        RecoveryPointArn=point, Metadata={"targetTableName": unique("restored")},
        IamRoleArn=f"arn:aws:iam::{aws.account}:role/backup")["RestoreJobId"]
    # WHEN 31 days pass
    advance_clock(own_endpoint, 31 * DAY)
    # THEN ListCopyJobs and ListRestoreJobs, whose references state no window, still list them.
    assert copy_id in copy_ids(aws)
    assert restore_id in {j["RestoreJobId"] for j in aws.backup.list_restore_jobs()["RestoreJobs"]}


@pytest.mark.parametrize("operation, filters, member", [
    ("list_backup_jobs", {"ByResourceType": "not a type!"}, "byResourceType"),
    ("list_backup_jobs", {"ByBackupVaultName": "x"}, "byBackupVaultName"),
    ("list_copy_jobs", {"ByResourceType": "a" * 51}, "byResourceType"),
    ("list_restore_jobs", {"ByStatus": "DONE"}, "byStatus"),
    ("list_restore_jobs", {"ByStatus": "CREATED"}, "byStatus"),
    ("list_restore_jobs", {"ByAccountId": "*"}, "byAccountId"),
    ("list_restore_jobs", {"ByResourceType": "not a type!"}, "byResourceType"),
    ("list_scan_jobs", {"ByState": "DONE"}, "byState"),
    ("list_scan_jobs", {"ByResourceType": "RDS"}, "byResourceType"),
    ("list_scan_jobs", {"ByScanResultStatus": "MAYBE"}, "byScanResultStatus"),
    ("list_scan_jobs", {"ByMalwareScanner": "OTHER"}, "byMalwareScanner"),
    ("list_scan_jobs", {"ByAccountId": "12345"}, "byAccountId"),
    ("list_scan_jobs", {"ByBackupVaultName": "x"}, "byBackupVaultName"),
    ("list_backup_jobs", {"MaxResults": 0}, "maxResults"),
    ("list_copy_jobs", {"MaxResults": 1001}, "maxResults"),
    ("list_restore_jobs", {"MaxResults": 0}, "maxResults"),
    ("list_scan_jobs", {"MaxResults": 1001}, "MaxResults"),
])
def test_listing_filters_outside_their_enum_pattern_or_range_are_refused(home, operation, filters, member):
    error = refusal(lambda: getattr(unvalidated(home), operation)(**filters))
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("1 validation error detected: Value ")
    assert f"at '{member}' failed to satisfy constraint" in error["Message"]


@pytest.mark.parametrize("operation, name", [
    ("list_backup_jobs", "createdAfter"),
    ("list_copy_jobs", "completeBefore"),
    ("list_restore_jobs", "createdBefore"),
    ("list_scan_jobs", "ByCompleteAfter"),
])
def test_a_date_that_does_not_parse_is_a_serialization_error(home, operation, name):
    client = home.backup
    parameter = "By" + name.removeprefix("By")[0].upper() + name.removeprefix("By")[1:]

    def garble(request, **_):
        prefix = f"{name}="
        query = "&".join(f"{prefix}yesterday" if p.startswith(prefix) else p
                         for p in request.url.split("?", 1)[1].split("&"))
        request.url = request.url.split("?", 1)[0] + "?" + query

    client.meta.events.register("before-sign.backup.*", garble)
    error = refusal(lambda: getattr(client, operation)(**{parameter: datetime.now(timezone.utc)}))
    assert error["Code"] == "SerializationException"


def test_valid_values_are_listed_and_arn_filters_take_any_string(home):
    # The scan states CREATED and RUNNING, the restore status ABORTED and "*" as the account of
    # ListScanJobs are valid; ARN filters have no pattern in the API model, so a malformed one
    # is no error and matches nothing.
    assert home.backup.list_scan_jobs(ByState="CREATED", ByAccountId="*", ByResourceType="S3")["ScanJobs"] == []
    assert home.backup.list_restore_jobs(ByStatus="ABORTED", ByAccountId=HOME)["RestoreJobs"] == []
    assert home.backup.list_backup_jobs(ByResourceArn="not-an-arn")["BackupJobs"] == []
    assert home.backup.list_copy_jobs(ByDestinationVaultArn="not-an-arn")["CopyJobs"] == []


def test_restore_jobs_are_filtered_by_their_dates(home):
    vault, _ = home.vault()
    point = home.backup_job(vault, home.table_arn())["RecoveryPointArn"]
    job_id = home.backup.start_restore_job(RecoveryPointArn=point, Metadata={"targetTableName": unique("r")},
                                           IamRoleArn=f"arn:aws:iam::{home.account}:role/backup")["RestoreJobId"]
    now = datetime.fromtimestamp(emulator_now(home.endpoint), timezone.utc)

    def listed(**filters) -> bool:
        return job_id in {j["RestoreJobId"] for j in home.backup.list_restore_jobs(**filters)["RestoreJobs"]}

    assert listed(ByCreatedAfter=now - timedelta(minutes=5), ByCompleteBefore=now + timedelta(minutes=5))
    assert not listed(ByCreatedAfter=now + timedelta(minutes=5))
    assert not listed(ByCreatedBefore=now - timedelta(minutes=5))
    assert not listed(ByCompleteAfter=now + timedelta(minutes=5))


def test_max_results_pages_a_listing(home):
    vault, _ = home.vault()
    first = home.backup_job(vault, home.table_arn())["BackupJobId"]
    second = home.backup_job(vault, home.table_arn())["BackupJobId"]
    page = home.backup.list_backup_jobs(ByBackupVaultName=vault, MaxResults=1)
    rest = home.backup.list_backup_jobs(ByBackupVaultName=vault, MaxResults=1, NextToken=page["NextToken"])
    assert {page["BackupJobs"][0]["BackupJobId"], rest["BackupJobs"][0]["BackupJobId"]} == {first, second}
    assert "NextToken" not in rest

"""Restores create the resource in the local AWS and report it, with their events; restore
validations are recorded on the job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from conftest import Aws, details, inbox, unique


def table(aws: Aws) -> str:
    name = unique("orders")
    aws.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    return f"arn:aws:dynamodb:{aws.region}:{aws.account}:table/{name}"


def restore(aws: Aws, point: str, metadata: dict) -> dict:
    job_id = aws.backup.start_restore_job(RecoveryPointArn=point, Metadata=metadata,
                                          IamRoleArn=f"arn:aws:iam::{aws.account}:role/backup")["RestoreJobId"]
    return aws.backup.describe_restore_job(RestoreJobId=job_id)


def test_a_table_restored_from_its_backup_exists_with_the_sources_key(home):
    vault, _ = home.vault()
    source = table(home)
    point = home.backup_job(vault, source)["RecoveryPointArn"]
    target = unique("orders-restored")

    job = restore(home, point, {"targetTableName": target})

    assert job["Status"] == "COMPLETED" and job["SourceResourceArn"] == source
    assert job["CreatedResourceArn"].endswith(f":table/{target}")
    described = home.client("dynamodb").describe_table(TableName=target)["Table"]
    assert described["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    metadata = home.backup.get_restore_job_metadata(RestoreJobId=job["RestoreJobId"])["Metadata"]
    assert metadata == {"targetTableName": target}


def test_a_volume_is_restored_with_its_sources_size_and_a_bad_request_fails_the_job(home):
    vault, _ = home.vault()
    volume = home.client("ec2").create_volume(AvailabilityZone="eu-west-1a", Size=42)["VolumeId"]
    point = home.backup_job(vault, f"arn:aws:ec2:eu-west-1:{home.account}:volume/{volume}")["RecoveryPointArn"]
    job = restore(home, point, {"availabilityZone": "eu-west-1b"})
    assert job["Status"] == "COMPLETED"
    restored = job["CreatedResourceArn"].rsplit("/", 1)[-1]
    assert home.client("ec2").describe_volumes(VolumeIds=[restored])["Volumes"][0]["Size"] == 42
    failed = restore(home, point, {})
    assert failed["Status"] == "FAILED" and "availabilityZone" in failed["StatusMessage"]


def test_events_follow_the_restore_and_an_on_demand_restore_takes_no_validation_result(home):
    queue = inbox(home, {"source": ["aws.backup"], "detail-type": ["Restore Job State Change"]})
    vault, _ = home.vault()
    point = home.backup_job(vault, table(home))["RecoveryPointArn"]
    job = restore(home, point, {"targetTableName": unique("drill")})

    mine = [d for d in details(home, queue) if d["restoreJobId"] == job["RestoreJobId"]]
    assert [d.get("status", d.get("state")) for d in mine] == ["CREATED", "PENDING", "RUNNING", "COMPLETED"]
    # "Monitoring AWS Backup events using Amazon EventBridge": CREATED names the job only; the
    # vault, point and created resource come with COMPLETED; no restore testing plan here.
    assert set(mine[0]) == {"restoreJobId", "creationDate", "state"}
    assert "createdResourceArn" not in mine[1] and "recoveryPointArn" not in mine[2]
    assert mine[-1]["createdResourceArn"] == job["CreatedResourceArn"]
    assert mine[-1]["recoveryPointArn"] == point
    assert not any("restoreTestingPlanArn" in d for d in mine)
    assert "CreatedBy" not in job

    # "PutRestoreValidationResult" takes "restore test validation results": not for this job.
    with pytest.raises(ClientError) as refused:
        home.backup.put_restore_validation_result(RestoreJobId=job["RestoreJobId"], ValidationStatus="SUCCESSFUL")
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "ValidationStatus" not in home.backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])


def test_a_database_is_restored_as_a_new_instance_with_the_sources_engine(home):
    rds = home.client("rds")
    name = unique("orders")
    rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t4g.micro", Engine="mysql",
                           AllocatedStorage=30, StorageType="gp3", MasterUsername="app",
                           MasterUserPassword="not-a-real-secret-1")
    vault, _ = home.vault()
    point = home.backup_job(vault, f"arn:aws:rds:{home.region}:{home.account}:db:{name}")["RecoveryPointArn"]
    job = restore(home, point, {"DBInstanceIdentifier": f"{name}-restored"})
    assert job["Status"] == "COMPLETED", job
    restored = rds.describe_db_instances(DBInstanceIdentifier=f"{name}-restored")["DBInstances"][0]
    assert (restored["Engine"], restored["DBInstanceClass"]) == ("mysql", "db.t4g.micro")
    assert (restored["AllocatedStorage"], restored["StorageType"]) == (30, "gp3")


def test_restore_jobs_are_listed_by_their_protected_resource_status_and_point_creation(home):
    vault, _ = home.vault()
    source, other = table(home), table(home)
    point = home.backup_job(vault, source)["RecoveryPointArn"]
    other_point = home.backup_job(vault, other)["RecoveryPointArn"]
    done = restore(home, point, {"targetTableName": unique("restored")})
    failed = restore(home, point, {})
    restore(home, other_point, {"targetTableName": unique("restored")})

    def listed(**filters) -> list[str]:
        jobs = home.backup.list_restore_jobs_by_protected_resource(ResourceArn=source, **filters)["RestoreJobs"]
        return sorted(j["RestoreJobId"] for j in jobs)

    assert listed() == sorted([done["RestoreJobId"], failed["RestoreJobId"]])
    assert listed(ByStatus="FAILED") == [failed["RestoreJobId"]]
    created = done["RecoveryPointCreationDate"]
    assert listed(ByRecoveryPointCreationDateAfter=created + timedelta(seconds=1)) == []
    assert len(listed(ByRecoveryPointCreationDateBefore=created + timedelta(seconds=1))) == 2


def test_a_restored_table_holds_the_items_its_source_had_when_it_was_backed_up(home):
    vault, _ = home.vault()
    source = table(home)
    dynamodb = home.client("dynamodb")
    name = source.rsplit("/", 1)[-1]
    for key in ("a", "b"):
        dynamodb.put_item(TableName=name, Item={"id": {"S": key}, "total": {"N": "42"}})
    point = home.backup_job(vault, source)["RecoveryPointArn"]
    dynamodb.put_item(TableName=name, Item={"id": {"S": "after-the-backup"}})
    dynamodb.delete_item(TableName=name, Key={"id": {"S": "a"}})
    target = unique("orders-restored")

    restore(home, point, {"targetTableName": target})

    items = dynamodb.scan(TableName=target)["Items"]
    assert sorted(i["id"]["S"] for i in items) == ["a", "b"]
    assert all(i["total"] == {"N": "42"} for i in items)

    # A copy is the same backup in another vault: restoring it gives the same items.
    _, isolated_arn = home.vault()
    copy_id = home.backup.start_copy_job(RecoveryPointArn=point, SourceBackupVaultName=vault,
                                         DestinationBackupVaultArn=isolated_arn,
                                         IamRoleArn=f"arn:aws:iam::{home.account}:role/copy")["CopyJobId"]
    copied = home.backup.describe_copy_job(CopyJobId=copy_id)["CopyJob"]["DestinationRecoveryPointArn"]
    from_copy = unique("orders-from-copy")
    restore(home, copied, {"targetTableName": from_copy})
    assert sorted(i["id"]["S"] for i in dynamodb.scan(TableName=from_copy)["Items"]) == ["a", "b"]

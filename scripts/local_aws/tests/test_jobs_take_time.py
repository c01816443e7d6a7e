"""Jobs take time: a backup goes CREATED, PENDING, RUNNING and a copy CREATED, RUNNING, each with
its `... Job State Change` event, and they end `x-emulator-duration` seconds later by the
emulator's clock ("Backup Job State Change" / "Copy Job State Change" in "Monitoring AWS Backup
events using Amazon EventBridge")."""

from __future__ import annotations

from conftest import Aws, advance_clock, details, inbox, unique


def states(aws: Aws, queue: str) -> list[str]:
    return [d["state"] for d in details(aws, queue)]


def test_a_backup_runs_until_its_duration_has_passed(own_endpoint):
    aws = Aws(own_endpoint)
    queue = inbox(aws, {"source": ["aws.backup"], "detail-type": ["Backup Job State Change"]})
    vault, _ = aws.vault()
    resource = aws.table_arn()

    job = aws.backup_job(vault, resource, headers={"x-emulator-duration": "3600"})

    assert job["State"] == "RUNNING" and "RecoveryPointArn" not in job
    assert states(aws, queue) == ["CREATED", "PENDING", "RUNNING"]
    running = aws.backup.list_backup_jobs(ByState="RUNNING")["BackupJobs"]
    assert [j["BackupJobId"] for j in running] == [job["BackupJobId"]]
    assert aws.backup.list_recovery_points_by_resource(ResourceArn=resource)["RecoveryPoints"] == []

    advance_clock(own_endpoint, 3601)

    done = aws.backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert done["State"] == "COMPLETED" and done["RecoveryPointArn"]
    assert states(aws, queue) == ["COMPLETED"]


def test_a_copy_runs_until_its_duration_has_passed(own_endpoint):
    aws = Aws(own_endpoint)
    queue = inbox(aws, {"source": ["aws.backup"], "detail-type": ["Copy Job State Change"]})
    source, _ = aws.vault()
    _, target_arn = aws.vault()
    point = aws.backup_job(source, aws.table_arn())["RecoveryPointArn"]
    client = aws.backup

    def slow(request, **_):
        request.headers["x-emulator-duration"] = "600"
    client.meta.events.register("before-sign.backup.StartCopyJob", slow)
    copy_id = client.start_copy_job(RecoveryPointArn=point, SourceBackupVaultName=source,
                                    DestinationBackupVaultArn=target_arn,
                                    IamRoleArn=f"arn:aws:iam::{aws.account}:role/copy")["CopyJobId"]

    assert client.describe_copy_job(CopyJobId=copy_id)["CopyJob"]["State"] == "RUNNING"
    assert states(aws, queue) == ["CREATED", "RUNNING"]
    advance_clock(own_endpoint, 601)
    assert client.describe_copy_job(CopyJobId=copy_id)["CopyJob"]["State"] == "COMPLETED"
    assert states(aws, queue) == ["COMPLETED"]


def test_a_restore_runs_until_its_duration_has_passed_and_completes_then(own_endpoint):
    aws = Aws(own_endpoint)
    queue = inbox(aws, {"source": ["aws.backup"], "detail-type": ["Restore Job State Change"]})
    vault, _ = aws.vault()
    point = aws.backup_job(vault, aws.table_arn())["RecoveryPointArn"]
    client = aws.backup

    def slow(request, **_):
        request.headers["x-emulator-duration"] = "1800"
    client.meta.events.register("before-sign.backup.StartRestoreJob", slow)
    target = unique("restored")
    job_id = client.start_restore_job(RecoveryPointArn=point, Metadata={"targetTableName": target},
                                      IamRoleArn=f"arn:aws:iam::{aws.account}:role/restore")["RestoreJobId"]

    running = client.describe_restore_job(RestoreJobId=job_id)
    assert running["Status"] == "RUNNING" and "CompletionDate" not in running and "CreatedResourceArn" not in running
    assert [d.get("status", d.get("state")) for d in details(aws, queue)] == ["CREATED", "PENDING", "RUNNING"]
    assert target not in aws.client("dynamodb").list_tables()["TableNames"], "restored only when it ends"

    advance_clock(own_endpoint, 1801)

    done = client.describe_restore_job(RestoreJobId=job_id)
    assert done["Status"] == "COMPLETED" and done["CreatedResourceArn"].endswith(f"/{target}")
    # "DescribeRestoreJob": CompletionDate is when the restore completed, so the duration shows.
    assert (done["CompletionDate"] - done["CreationDate"]).total_seconds() == 1800
    (completed,) = details(aws, queue)
    assert completed["status"] == "COMPLETED"
    assert completed["completionDate"] != completed["creationDate"]

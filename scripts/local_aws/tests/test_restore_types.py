"""Restores of S3, EFS, Aurora and EC2 recovery points create real resources in the local AWS,
from the restore metadata AWS documents for each type, and restore tests infer that metadata."""

from __future__ import annotations

import json

from conftest import Aws, advance_clock, emulator_now, unique


def restore(aws: Aws, point: str, metadata: dict) -> dict:
    job_id = aws.backup.start_restore_job(RecoveryPointArn=point, Metadata=metadata,
                                          IamRoleArn=f"arn:aws:iam::{aws.account}:role/backup")["RestoreJobId"]
    return aws.backup.describe_restore_job(RestoreJobId=job_id)


def bucket(aws: Aws, objects: dict[str, bytes], tags: dict[str, str] | None = None) -> str:
    s3, name = aws.client("s3"), unique("orders")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": aws.region})
    for key, body in objects.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    return name


# "Restore S3 data using AWS Backup": DestinationBucketName, and NewBucket to create it.
def test_a_bucket_is_restored_into_a_new_bucket_with_the_objects_it_had_when_it_was_backed_up(home):
    s3 = home.client("s3")
    source = bucket(home, {"orders/1.json": b'{"paid": true}', "orders/2.json": b"{}"})
    vault, _ = home.vault()
    point = home.backup_job(vault, f"arn:aws:s3:::{source}")["RecoveryPointArn"]
    s3.put_object(Bucket=source, Key="orders/3.json", Body=b"after the backup")
    target = unique("awsbackup-restore-test")

    job = restore(home, point, {"DestinationBucketName": target, "NewBucket": "true"})

    assert job["Status"] == "COMPLETED", job.get("StatusMessage")
    assert job["CreatedResourceArn"] == f"arn:aws:s3:::{target}"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=target)["Contents"]]
    assert keys == ["orders/1.json", "orders/2.json"]
    assert s3.get_object(Bucket=target, Key="orders/1.json")["Body"].read() == b'{"paid": true}'


def test_an_empty_bucket_restores_empty_and_an_existing_bucket_is_not_created_again(home):
    vault, _ = home.vault()
    empty = bucket(home, {})
    point = home.backup_job(vault, f"arn:aws:s3:::{empty}")["RecoveryPointArn"]
    target = unique("awsbackup-restore-test")

    job = restore(home, point, {"destinationBucketName": target, "newBucket": "true"})

    assert job["Status"] == "COMPLETED", job.get("StatusMessage")
    assert home.client("s3").list_objects_v2(Bucket=target)["KeyCount"] == 0
    again = restore(home, point, {"DestinationBucketName": target, "NewBucket": "true"})
    assert again["Status"] == "FAILED" and again["StatusMessage"], again
    missing = restore(home, point, {"DestinationBucketName": unique("nowhere"), "NewBucket": "false"})
    assert missing["Status"] == "FAILED" and "does not exist" in missing["StatusMessage"]


# "Restore an Amazon EFS file system": newFileSystem true makes a new file system.
def test_a_file_system_is_restored_as_a_new_available_file_system(home):
    efs = home.client("efs")
    source = efs.create_file_system(CreationToken=unique("shared"), PerformanceMode="generalPurpose")
    vault, _ = home.vault()
    point = home.backup_job(vault, source["FileSystemArn"])["RecoveryPointArn"]

    job = restore(home, point, {"file-system-id": source["FileSystemId"], "newFileSystem": "true",
                                "Encrypted": "false", "PerformanceMode": "maxIO",
                                "CreationToken": unique("restore")})

    assert job["Status"] == "COMPLETED", job.get("StatusMessage")
    restored_id = job["CreatedResourceArn"].rsplit("/", 1)[-1]
    assert restored_id != source["FileSystemId"]
    restored = efs.describe_file_systems(FileSystemId=restored_id)["FileSystems"][0]
    assert (restored["LifeCycleState"], restored["PerformanceMode"]) == ("available", "maxIO")
    # Into the source file system (a directory of it), which must still exist.
    in_place = restore(home, point, {"file-system-id": source["FileSystemId"], "newFileSystem": "false"})
    assert in_place["CreatedResourceArn"] == source["FileSystemArn"]
    efs.delete_file_system(FileSystemId=source["FileSystemId"])
    gone = restore(home, point, {"file-system-id": source["FileSystemId"], "newFileSystem": "false"})
    assert gone["Status"] == "FAILED" and "does not exist" in gone["StatusMessage"]


# "Restore an Aurora cluster": the cluster, with the source's engine, and no DB instance.
def test_an_aurora_cluster_is_restored_as_a_new_cluster_with_the_sources_engine_and_no_instance(home):
    rds = home.client("rds")
    name = unique("orders")
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", MasterUsername="app",
                          MasterUserPassword="not-a-real-secret-1")
    vault, _ = home.vault()
    point = home.backup_job(vault, f"arn:aws:rds:{home.region}:{home.account}:cluster:{name}")
    assert point["ResourceType"] == "Aurora"

    job = restore(home, point["RecoveryPointArn"], {"DBClusterIdentifier": f"{name}-restored"})

    assert job["Status"] == "COMPLETED", job.get("StatusMessage")
    assert job["CreatedResourceArn"].endswith(f":cluster:{name}-restored")
    restored = rds.describe_db_clusters(DBClusterIdentifier=f"{name}-restored")["DBClusters"][0]
    assert (restored["Status"], restored["Engine"]) == ("available", "aurora-postgresql")
    assert restored.get("DBClusterMembers", []) == []
    unnamed = restore(home, point["RecoveryPointArn"], {})
    assert unnamed["Status"] == "FAILED" and "DBClusterIdentifier" in unnamed["StatusMessage"]


# "Restore an Amazon EC2 instance": the backup is an AMI, the restore an instance launched from it.
def test_an_instance_is_restored_from_its_backups_ami_and_passes_its_status_checks(home):
    ec2 = home.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    source = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.small")["Instances"][0]
    vault, _ = home.vault()
    arn = f"arn:aws:ec2:{home.region}:{home.account}:instance/{source['InstanceId']}"
    point = home.backup_job(vault, arn)["RecoveryPointArn"]
    ami = point.rsplit("/", 1)[-1]
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["ImageId"] == ami
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.create_security_group(GroupName=unique("restore"), Description="restore tests")["GroupId"]

    job = restore(home, point, {"InstanceType": "t3.micro", "SubnetId": subnet,
                                "SecurityGroupIds": json.dumps([group])})

    assert job["Status"] == "COMPLETED", job.get("StatusMessage")
    instance_id = job["CreatedResourceArn"].rsplit("/", 1)[-1]
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert (instance["ImageId"], instance["InstanceType"], instance["SubnetId"]) == (ami, "t3.micro", subnet)
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [group]
    (status,) = ec2.describe_instance_status(InstanceIds=[instance_id], IncludeAllInstances=True)["InstanceStatuses"]
    assert (status["InstanceState"]["Name"], status["InstanceStatus"]["Status"],
            status["SystemStatus"]["Status"]) == ("running", "ok", "ok")


def test_a_restore_test_of_a_tagged_bucket_restores_it_into_a_new_bucket_deleted_once_validated(endpoint, home):
    # GIVEN a tagged bucket backed up, and a restore testing plan selecting S3 by that tag
    source = bucket(home, {"a.txt": b"a"}, tags={"backup-plan": "production"})
    vault, vault_arn = home.vault()
    home.backup_job(vault, f"arn:aws:s3:::{source}")
    plan = unique("drill").replace("-", "_")
    home.backup.create_restore_testing_plan(RestoreTestingPlan={
        "RestoreTestingPlanName": plan, "ScheduleExpression": "cron(0 * * * ? *)",
        "RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": [vault_arn],
                                   "RecoveryPointTypes": ["SNAPSHOT"]}})
    home.backup.create_restore_testing_selection(RestoreTestingPlanName=plan, RestoreTestingSelection={
        "RestoreTestingSelectionName": "s3", "ProtectedResourceType": "S3",
        "IamRoleArn": f"arn:aws:iam::{home.account}:role/backup", "ProtectedResourceArns": ["*"],
        "ProtectedResourceConditions": {"StringEquals": [{"Key": "backup-plan", "Value": "production"}]},
        "ValidationWindowHours": 24})

    # WHEN the plan's hour comes
    now = emulator_now(endpoint)
    advance_clock(endpoint, 3600 - now % 3600 + 1)

    # THEN its restore job restored the bucket into a new awsbackup-restore-test- bucket
    plan_arn = home.backup.get_restore_testing_plan(RestoreTestingPlanName=plan)["RestoreTestingPlan"][
        "RestoreTestingPlanArn"]
    (job,) = home.backup.list_restore_jobs(ByRestoreTestingPlanArn=plan_arn)["RestoreJobs"]
    assert job["Status"] == "COMPLETED", job.get("StatusMessage")
    target = job["CreatedResourceArn"].split(":::", 1)[1]
    assert target.startswith("awsbackup-restore-test-")
    assert home.client("s3").list_objects_v2(Bucket=target)["KeyCount"] == 1
    metadata = home.backup.get_restore_job_metadata(RestoreJobId=job["RestoreJobId"])["Metadata"]
    assert metadata["NewBucket"] == "true"
    # AND a final validation result ends the test: the restored bucket is deleted ("Restore testing")
    home.backup.put_restore_validation_result(RestoreJobId=job["RestoreJobId"], ValidationStatus="SUCCESSFUL")
    assert target not in [b["Name"] for b in home.client("s3").list_buckets()["Buckets"]]
    assert home.backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])["DeletionStatus"] == "SUCCESSFUL"

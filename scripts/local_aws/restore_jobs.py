"""Restores for the local emulator: StartRestoreJob, DescribeRestoreJob, ListRestoreJobs,
ListRestoreJobsByProtectedResource, GetRestoreJobMetadata and PutRestoreValidationResult over
REST-JSON, and the `Restore Job State Change` events AWS Backup puts on the default bus.

Events ("Monitoring AWS Backup events using Amazon EventBridge"): CREATED carries only
`restoreJobId`, `creationDate` and `state`; PENDING, RUNNING and the outcome carry `status`, the
job's role, type, size and progress (and `statusMessage` when it failed); COMPLETED adds the vault,
recovery point, source and created resource, the completion date and, for a restore started by a
restore testing plan, `restoreTestingPlanArn`.

A restore creates a real resource in the local AWS, as AWS Backup does ("Restore a backup by
resource type"), from the restore metadata AWS documents for each type:
  DynamoDB  `targetTableName`               a table with the source table's key schema and the
                                            items it had when it was backed up
  EBS       `availabilityZone`              a volume of the source volume's size
  RDS       `DBInstanceIdentifier`          a DB instance with the source's engine and class
  S3        `DestinationBucketName`,        the objects the bucket had when it was backed up, in a
            `NewBucket`                     new bucket (NewBucket true) or an existing one
                                            ("Restore S3 data using AWS Backup")
  EFS       `newFileSystem`, `CreationToken`, a new file system (newFileSystem true) or, false,
            `PerformanceMode`, `Encrypted`, the source file system, restored into a directory of it
            `KmsKeyId`                      ("Restore an Amazon EFS file system")
  Aurora    `DBClusterIdentifier`           a DB cluster with the source cluster's engine and
                                            settings and no DB instance: "AWS Backup restores your
                                            Aurora cluster; it does not create or attach an Amazon
                                            RDS instance" ("Restore an Aurora cluster")
  EC2       `InstanceType`, `SubnetId`,     a running instance from the backup's AMI
            `SecurityGroupIds`              ("Restore an Amazon EC2 instance")
Metadata keys are read whatever their case (restore testing overrides "are not case sensitive").
Other types fail with a status message saying the emulator does not restore them.

Restores take time like backups: CREATED, PENDING and RUNNING at once, then the resource and
the outcome `x-emulator-duration` seconds later by the emulator's clock (on StartRestoreJob, or
on CreateRestoreTestingSelection for the restores its runs start), with the CompletionDate then
("DescribeRestoreJob": CompletionDate, "the date and time that a job to restore a recovery point
is completed"), so a restore's duration (its RTO) can be measured.

Restore testing jobs (started by restore_testing.py) take validation results within their
selection's validation window, counted from the restore's completion, after which AWS Backup
deletes what they restored ("Restore testing", "Restore testing validation").
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from moto.dynamodb.models import dynamodb_backends
from moto.ec2.models import ec2_backends
from moto.efs.models import efs_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends

import default_bus
from api_error import ApiError

VALIDATION_STATUSES = ("FAILED", "SUCCESSFUL", "TIMED_OUT", "VALIDATING")
HOUR = 3_600
STATUSES = ("PENDING", "RUNNING", "COMPLETED", "ABORTED", "FAILED")


@dataclass
class RestoreJob:
    id: str
    account: str
    region: str
    recovery_point_arn: str
    vault_arn: str
    source_resource_arn: str
    resource_type: str
    iam_role_arn: str
    created: float
    point_created: float
    metadata: dict[str, str]
    status: str = "COMPLETED"
    status_message: str = ""
    # When the restore ended (None while it runs).
    completed: float | None = None
    created_resource_arn: str = ""
    testing_plan_arn: str = ""
    validation: dict[str, str] = field(default_factory=dict)
    # Restore tests: when their validation window closes, and what became of the restored resource.
    validation_deadline: float | None = None
    deletion: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AccountId": self.account,
            "RestoreJobId": self.id,
            "RecoveryPointArn": self.recovery_point_arn,
            "SourceResourceArn": self.source_resource_arn,
            "BackupVaultArn": self.vault_arn,
            "CreationDate": self.created,
            "Status": self.status,
            "PercentDone": "100.00%" if self.status == "COMPLETED" else "0.00%",
            "BackupSizeInBytes": 1_073_741_824,
            "IamRoleArn": self.iam_role_arn,
            "ResourceType": self.resource_type,
            "RecoveryPointCreationDate": self.point_created,
            "IsParent": False,
        }
        if self.completed is not None:
            out["CompletionDate"] = self.completed
        if self.status_message:
            out["StatusMessage"] = self.status_message
        if self.created_resource_arn:
            out["CreatedResourceArn"] = self.created_resource_arn
        if self.testing_plan_arn:
            out["CreatedBy"] = {"RestoreTestingPlanArn": self.testing_plan_arn}
        out.update(self.validation)
        out.update(self.deletion)
        return out

    def event_detail(self, status: str, iso) -> dict[str, Any]:
        if status == "CREATED":
            return {"restoreJobId": self.id, "creationDate": iso(self.created), "state": "CREATED"}
        detail: dict[str, Any] = {
            "restoreJobId": self.id,
            "status": status,
            "creationDate": iso(self.created),
            "iamRoleArn": self.iam_role_arn,
            "resourceType": self.resource_type,
            "backupSizeInBytes": "1073741824",
            "percentDone": 100 if status == "COMPLETED" else 0,
        }
        if self.status_message and status == "FAILED":
            detail["statusMessage"] = self.status_message
        if status == "COMPLETED":
            detail.update(
                backupVaultArn=self.vault_arn,
                recoveryPointArn=self.recovery_point_arn,
                sourceResourceArn=self.source_resource_arn,
                createdResourceArn=self.created_resource_arn,
                completionDate=iso(self.completed if self.completed is not None else self.created),
            )
            if self.testing_plan_arn:
                detail["restoreTestingPlanArn"] = self.testing_plan_arn
        return detail


def find_point(state, account: str, region: str, arn: str, not_found):
    point = state.points.get(arn)
    if point is None or (point.account, point.region) != (account, region):
        raise not_found(f"Recovery point {arn} not found")
    return point


def create_resource(account: str, region: str, point, metadata: dict[str, str]) -> str:
    """The restored resource, created in moto; raises ValueError with AWS-like words when the
    metadata does not say what to create."""
    source_name = point.resource_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    if point.resource_type == "DynamoDB":
        name = metadata.get("targetTableName")
        if not name:
            raise ValueError("Restore metadata must include targetTableName")
        backend = dynamodb_backends[account][region]
        source = backend.tables.get(source_name)
        schema = source.schema if source else [{"AttributeName": "pk", "KeyType": "HASH"}]
        attrs = source.attr if source else [{"AttributeName": "pk", "AttributeType": "S"}]
        backend.create_table(name, schema=schema, throughput=None, attr=attrs, global_indexes=None, indexes=None,
                             streams=None, billing_mode="PAY_PER_REQUEST", sse_specification=None, tags=[],
                             deletion_protection_enabled=False, warm_throughput=None)
        # The restored table holds the items the table had when it was backed up.
        for item in point.contents or []:
            backend.put_item(name, item)
        return f"arn:aws:dynamodb:{region}:{account}:table/{name}"
    if point.resource_type == "EBS":
        zone = metadata.get("availabilityZone")
        if not zone:
            raise ValueError("Restore metadata must include availabilityZone")
        ec2 = ec2_backends[account][region]
        source = ec2.volumes.get(source_name)
        volume = ec2.create_volume(size=source.size if source else 8, zone_name=zone)
        return f"arn:aws:ec2:{region}:{account}:volume/{volume.id}"
    if point.resource_type == "RDS":
        identifier = metadata.get("DBInstanceIdentifier")
        if not identifier:
            raise ValueError("Restore metadata must include DBInstanceIdentifier")
        rds = rds_backends[account][region]
        source = rds.databases.get(source_name)
        database = rds.create_db_instance({
            "db_instance_identifier": identifier,
            "engine": getattr(source, "engine", "postgres"),
            "db_instance_class": metadata.get("DBInstanceClass") or getattr(source, "db_instance_class", "db.t3.micro"),
            "allocated_storage": getattr(source, "allocated_storage", 20),
            # A snapshot keeps its instance's storage type, and a restore takes it.
            "storage_type": getattr(source, "storage_type", None),
            "master_username": getattr(source, "master_username", "admin"),
            "master_user_password": "restored-not-a-secret",
            "storage_encrypted": getattr(source, "storage_encrypted", False),
            "account_id": account,
            "region": region,
        })
        return database.db_instance_arn
    if point.resource_type == "S3":
        return restore_bucket(account, point, metadata)
    if point.resource_type == "EFS":
        return restore_file_system(account, region, point, metadata, source_name)
    if point.resource_type == "Aurora":
        return restore_cluster(account, region, metadata, source_name)
    if point.resource_type == "EC2":
        return restore_instance(account, region, point, metadata)
    raise ValueError(f"This emulator does not restore {point.resource_type} recovery points")


def meta(metadata: dict[str, str], key: str) -> str | None:
    """A restore metadata value whatever the case of its key."""
    wanted = key.lower()
    return next((v for k, v in metadata.items() if k.lower() == wanted), None)


def is_true(value: str | None) -> bool:
    return str(value).strip().lower() == "true"


def restore_bucket(account: str, point, metadata: dict[str, str]) -> str:
    """"Restore S3 data using AWS Backup": the objects go into DestinationBucketName, a new bucket
    when NewBucket is true (it must not exist), else an existing one."""
    name = meta(metadata, "DestinationBucketName")
    if not name:
        raise ValueError("Restore metadata must include DestinationBucketName")
    backend = s3_backends[account]["aws"]
    if is_true(meta(metadata, "NewBucket")):
        backend.create_bucket(name, point.region)
    elif name not in backend.buckets:
        raise ValueError(f"The destination bucket {name} does not exist; set NewBucket to true to create it")
    for item in point.contents or []:
        backend.put_object(name, item["Key"], item["Body"])
    return f"arn:aws:s3:::{name}"


def restore_file_system(account: str, region: str, point, metadata: dict[str, str], source_name: str) -> str:
    """"Restore an Amazon EFS file system": newFileSystem true creates a file system (with the
    given PerformanceMode, Encrypted, KmsKeyId and CreationToken); false restores into the
    source file system (`file-system-id`), which must still exist. The files themselves are not
    modelled: moto's EFS holds no data."""
    efs = efs_backends[account][region]
    if not is_true(meta(metadata, "newFileSystem")):
        target = meta(metadata, "file-system-id") or source_name
        if target not in efs.file_systems_by_id:
            raise ValueError(f"File system {target} does not exist")
        return efs.file_systems_by_id[target].file_system_arn
    encrypted = is_true(meta(metadata, "Encrypted"))
    created = efs.create_file_system(
        creation_token=meta(metadata, "CreationToken") or f"awsbackup-restore-{uuid.uuid4()}",
        performance_mode=meta(metadata, "PerformanceMode") or "generalPurpose",
        encrypted=encrypted, kms_key_id=(meta(metadata, "KmsKeyId") if encrypted else None),
        throughput_mode="bursting", provisioned_throughput_in_mibps=None, availability_zone_name=None,
        backup=False, tags=[],
    )
    return created.file_system_arn


def restore_cluster(account: str, region: str, metadata: dict[str, str], source_name: str) -> str:
    """"Restore an Aurora cluster": a DB cluster named DBClusterIdentifier with the source
    cluster's engine and settings (as RestoreDBClusterFromSnapshot copies them) and no DB
    instance. moto keeps no snapshot of the cluster here, so the source cluster must still exist."""
    identifier = meta(metadata, "DBClusterIdentifier")
    if not identifier:
        raise ValueError("Restore metadata must include DBClusterIdentifier")
    rds = rds_backends[account][region]
    source = rds.clusters.get(source_name)
    if source is None:
        raise ValueError(f"This emulator restores an Aurora cluster from its source cluster, and "
                         f"{source_name} no longer exists")
    props = {
        "db_cluster_identifier": identifier,
        "engine": source.engine,
        "engine_version": source.engine_version,
        "master_username": source.master_username,
        "master_user_password": "restored-not-a-secret",
        "storage_encrypted": source.storage_encrypted,
        "kms_key_id": meta(metadata, "KmsKeyId") or getattr(source, "kms_key_id", None),
        "db_subnet_group_name": meta(metadata, "DBSubnetGroupName"),
        "vpc_security_group_ids": [g for g in (meta(metadata, "VpcSecurityGroupIds") or "").split(",") if g],
        "account_id": account,
        "region": region,
    }
    cluster = rds.create_db_cluster({k: v for k, v in props.items() if v is not None})
    # moto reports a new cluster `creating` on its first read, `available` after; the restore
    # job completes once the cluster is restored, so that first read happens here.
    _ = cluster.status
    return cluster.db_cluster_arn


def restore_instance(account: str, region: str, point, metadata: dict[str, str]) -> str:
    """"Restore an Amazon EC2 instance": an instance launched from the backup's AMI (the recovery
    point), of InstanceType, in SubnetId with SecurityGroupIds when given."""
    ec2 = ec2_backends[account][region]
    image_id = point.arn.rsplit("/", 1)[-1]
    if image_id not in ec2.amis:
        raise ValueError(f"The AMI {image_id} of this recovery point does not exist")
    groups = meta(metadata, "SecurityGroupIds") or ""
    try:
        group_ids = json.loads(groups) if groups.startswith("[") else [g for g in groups.split(",") if g]
    except json.JSONDecodeError:
        raise ValueError(f"SecurityGroupIds is not a list of security group ids: {groups}") from None
    instance_type = meta(metadata, "InstanceType")
    reservation = ec2.run_instances(
        image_id, 1, None, [],
        instance_type=instance_type or "t3.micro", is_instance_type_default=not instance_type,
        subnet_id=meta(metadata, "SubnetId"), security_group_ids=group_ids, region_name=region,
    )
    return f"arn:aws:ec2:{region}:{account}:instance/{reservation.instances[0].id}"


def start_restore_job(state, account: str, region: str, body: dict, headers: dict, not_found, invalid, iso) -> dict:
    arn, role, metadata = body.get("RecoveryPointArn"), body.get("IamRoleArn"), body.get("Metadata")
    if not (arn and role and isinstance(metadata, dict)):
        raise invalid("RecoveryPointArn, Metadata and IamRoleArn are required")
    point = find_point(state, account, region, arn, not_found)
    job = run_restore(state, point, role, metadata, iso, created=state.clock.now(),
                      resource_type=body.get("ResourceType"), duration=duration_of(headers))
    return {"RestoreJobId": job.id}


def duration_of(headers: dict) -> float:
    """The emulator's `x-emulator-duration` header: how long the restore runs (default 0)."""
    return max(0.0, float(headers.get("x-emulator-duration", 0) or 0))


def run_restore(state, point, role: str, metadata: dict, iso, created: float, resource_type: str | None = None,
                testing_plan_arn: str = "", duration: float = 0.0,
                validation_window_hours: int | None = None) -> RestoreJob:
    """One restore job of `point` into its account and Region: CREATED, PENDING, RUNNING, then,
    `duration` seconds later, COMPLETED with the resource created, or FAILED with the reason. A
    restore test's validation window opens when it completes."""
    job = RestoreJob(
        id=str(uuid.uuid4()), account=point.account, region=point.region, recovery_point_arn=point.arn,
        vault_arn=point.vault_arn, source_resource_arn=point.resource_arn,
        resource_type=resource_type or point.resource_type, iam_role_arn=role,
        created=created, point_created=point.created, metadata=dict(metadata),
        testing_plan_arn=testing_plan_arn, status="RUNNING",
    )
    state.restore_jobs[job.id] = job
    for status in ("CREATED", "PENDING", "RUNNING"):
        emit(job, status, iso)

    def finish() -> None:
        try:
            job.created_resource_arn = create_resource(point.account, point.region, point, metadata)
            job.status = "COMPLETED"
        except Exception as e:  # moto's own refusals (a name in use) fail the job, as in AWS
            job.status, job.status_message = "FAILED", str(getattr(e, "message", "") or e)
        job.completed = created + duration
        if job.testing_plan_arn and job.status == "COMPLETED":
            job.validation_deadline = job.completed + (validation_window_hours or 0) * HOUR
        emit(job, job.status, iso, at=job.completed)

    state.finish_later(created + duration, finish)
    return job


def emit(job: RestoreJob, status: str, iso, at: float | None = None) -> None:
    default_bus.put(job.account, job.region, "Restore Job State Change", job.created if at is None else at,
                    [job.recovery_point_arn], job.event_detail(status, iso))


def job_in(state, account: str, region: str, job_id: str, not_found) -> RestoreJob:
    job = state.restore_jobs.get(job_id)
    if job is None or (job.account, job.region) != (account, region):
        raise not_found(f"Restore job {job_id} not found")
    return job


def list_restore_jobs(state, account: str, region: str, query: dict[str, str], invalid) -> list[dict]:
    if "status" in query and query["status"] not in STATUSES:
        raise invalid(f"status must be one of {', '.join(STATUSES)}")
    exact = {
        "status": lambda j: j.status,
        "resourceType": lambda j: j.resource_type,
        "restoreTestingPlanArn": lambda j: j.testing_plan_arn,
    }
    return [
        j.describe() for j in sorted(state.restore_jobs.values(), key=lambda j: j.created, reverse=True)
        if (j.account, j.region) == (account, region)
        and all(get(j) == query[name] for name, get in exact.items() if name in query)
    ]


def list_by_protected_resource(state, account: str, region: str, resource_arn: str, query: dict[str, str],
                               invalid, parse_time: Callable[[str], float]) -> list[dict]:
    """"ListRestoreJobsByProtectedResource": the restore jobs of one protected resource, by
    status and by the creation date of the recovery point they restore, newest first."""
    if "status" in query and query["status"] not in STATUSES:
        raise invalid(f"status must be one of {', '.join(STATUSES)}")
    after, before = (parse_time(query[name]) if name in query else None
                     for name in ("recoveryPointCreationDateAfter", "recoveryPointCreationDateBefore"))
    return [
        j.describe() for j in sorted(state.restore_jobs.values(), key=lambda j: j.created, reverse=True)
        if (j.account, j.region, j.source_resource_arn) == (account, region, resource_arn)
        and query.get("status", j.status) == j.status
        and (after is None or j.point_created > after) and (before is None or j.point_created < before)
    ]


def invalid_request(message: str) -> ApiError:
    return ApiError("InvalidRequestException", message)


def put_validation(state, account: str, region: str, job_id: str, body: dict, not_found, invalid) -> dict:
    """PutRestoreValidationResult: "your independent self-run restore test validation results", so
    only a completed job that a restore testing plan started takes one, and only while its
    selection's validation window ("ValidationWindowHours": the hours "available to run a
    validation script on the data") is open. A final result (anything but VALIDATING) ends the
    test: "once the optional validation completes or the validation window closes, AWS Backup
    deletes the resources involved with the restore test" ("Restore testing")."""
    job = job_in(state, account, region, job_id, not_found)
    status = body.get("ValidationStatus")
    if status not in VALIDATION_STATUSES:
        raise invalid(f"ValidationStatus must be one of {', '.join(VALIDATION_STATUSES)}")
    if not job.testing_plan_arn:
        raise invalid_request(f"Restore job {job_id} was not started by a restore testing plan; "
                              "validation results are for restore testing jobs only")
    if job.status != "COMPLETED":
        raise invalid_request(f"Restore job {job_id} did not complete; there is nothing to validate")
    if job.deletion or (job.validation_deadline is not None and state.clock.now() > job.validation_deadline):
        raise invalid_request(f"The validation window of restore job {job_id} has closed")
    job.validation = {"ValidationStatus": status}
    if body.get("ValidationStatusMessage"):
        job.validation["ValidationStatusMessage"] = body["ValidationStatusMessage"]
    if status != "VALIDATING":
        delete_restored_resource(job)
    return {}


def close_validation_windows(state) -> None:
    """Restore tests whose validation window has closed lose what they restored."""
    now = state.clock.now()
    for job in list(state.restore_jobs.values()):
        if job.validation_deadline is not None and job.validation_deadline <= now and not job.deletion:
            delete_restored_resource(job)


def delete_restored_resource(job: RestoreJob) -> None:
    """Deletes a restore test's resource from the local AWS, at once (AWS: "in accordance with
    service SLAs"), and records it as DescribeRestoreJob's DeletionStatus."""
    if job.deletion or not job.created_resource_arn:
        return
    name = job.created_resource_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    try:
        if job.resource_type == "DynamoDB":
            dynamodb_backends[job.account][job.region].delete_table(name)
        elif job.resource_type == "EBS":
            ec2_backends[job.account][job.region].delete_volume(name)
        elif job.resource_type == "RDS":
            rds_backends[job.account][job.region].delete_db_instance(name, skip_final_snapshot=True)
        elif job.resource_type == "Aurora":
            rds_backends[job.account][job.region].delete_db_cluster(name)
        elif job.resource_type == "EC2":
            ec2_backends[job.account][job.region].terminate_instances([name])
        elif job.resource_type == "EFS" and is_true(meta(job.metadata, "newFileSystem")):
            efs_backends[job.account][job.region].delete_file_system(name)
        elif job.resource_type == "S3" and is_true(meta(job.metadata, "NewBucket")):
            backend = s3_backends[job.account]["aws"]
            for key in list(backend.get_bucket(name).keys):
                backend.delete_object(name, key)
            backend.delete_bucket(name)
        job.deletion = {"DeletionStatus": "SUCCESSFUL"}
    except Exception as e:  # the resource was changed or deleted meanwhile
        job.deletion = {"DeletionStatus": "FAILED", "DeletionStatusMessage": str(getattr(e, "message", "") or e)}

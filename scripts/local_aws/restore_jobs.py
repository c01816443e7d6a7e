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

import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from moto.dynamodb.models import dynamodb_backends
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends

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
            "master_username": getattr(source, "master_username", "admin"),
            "master_user_password": "restored-not-a-secret",
            "storage_encrypted": getattr(source, "storage_encrypted", False),
            "account_id": account,
            "region": region,
        })
        return database.db_instance_arn
    raise ValueError(f"This emulator does not restore {point.resource_type} recovery points")


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
        job.deletion = {"DeletionStatus": "SUCCESSFUL"}
    except Exception as e:  # the resource was changed or deleted meanwhile
        job.deletion = {"DeletionStatus": "FAILED", "DeletionStatusMessage": str(getattr(e, "message", "") or e)}

"""AWS Backup job APIs for the local emulator: test infrastructure, not product code.

moto implements AWS Backup vaults and plans but no backup jobs, copy jobs or recovery points.
This WSGI layer sits in front of moto's server app and serves those operations over the AWS
Backup REST-JSON protocol, closely enough that the real AWS SDKs parse the answers:

  PUT  /backup-jobs                                       StartBackupJob
  GET  /backup-jobs/  and  /backup-jobs/{id}              ListBackupJobs, DescribeBackupJob
  PUT  /copy-jobs                                         StartCopyJob
  GET  /copy-jobs/    and  /copy-jobs/{id}                ListCopyJobs, DescribeCopyJob
  GET  /backup-vaults/{name}/recovery-points/             ListRecoveryPointsByBackupVault
  GET  /backup-vaults/{name}/recovery-points/{arn}        DescribeRecoveryPoint
  POST /backup-vaults/{name}/recovery-points/{arn}        UpdateRecoveryPointLifecycle
  GET  /resources/{arn}/recovery-points/                  ListRecoveryPointsByResource
  DELETE /backup-vaults/{name}/recovery-points/{arn}      DeleteRecoveryPoint
  PUT/GET/DELETE /backup-vaults/{name}/access-policy      Put/Get/DeleteBackupVaultAccessPolicy
  GET  /resources/                                        ListProtectedResources
  PUT  /scan/job, GET /scan/jobs and /scan/jobs/{id}      StartScanJob, ListScanJobs, DescribeScanJob
  PUT  /restore-jobs, GET /restore-jobs/ and /{id}        StartRestoreJob, ListRestoreJobs, DescribeRestoreJob
  GET  /restore-jobs/{id}/metadata, PUT .../validations   GetRestoreJobMetadata, PutRestoreValidationResult
  GET  /resources/{arn}/restore-jobs/                     ListRestoreJobsByProtectedResource
  /restore-testing/...                                    restore testing plans and selections (restore_testing.py)
  PUT  /backup-vaults/{name}/vault-lock                   PutBackupVaultLockConfiguration (moto's, timed here)

and, unsigned, the emulator's own controls (nothing in AWS answers these):
  GET  /_emulator/clock                                   the emulator's time
  POST /_emulator/clock  {"advance_seconds": N}           moves it forward (jobs end, restore testing
                                                          plans run at their schedules, lifecycles expire)

STS AssumeRole of a role that does not exist, or whose trust policy does not allow the caller, is
refused with AWS's AccessDenied (assume_role.py). A role session's request that its role's
identity-based policies do not allow is refused with AccessDenied too (identity_policy.py).
Everything else goes to moto unchanged. moto's vaults are the state the jobs check against (an
unknown vault is AWS's ResourceNotFoundException); the protected resources' encryption keys are
read from moto's EC2 and RDS backends. Like AWS Backup, jobs put a `Backup Job State Change` /
`Copy Job State Change` event on the account's default event bus for every state they pass
through (CREATED, PENDING for backups, RUNNING, then how they ended); they end at once, or
`x-emulator-duration` seconds later by the emulator's clock.

Three request headers steer a StartBackupJob for tests and the demo (AWS ignores unknown
headers, so the SDK's customisation hooks can add them):
  x-emulator-fail: <message>        the job fails with this status message, no recovery point
  x-emulator-time: <epoch seconds>  the job ran at this time (history for reports)
  x-emulator-plan: <plan id>        the job was started by this backup plan (createdBy); when
                                    the plan exists here, by its rule that targets the job's
                                    vault (or the rule x-emulator-rule names), with that rule's
                                    lifecycle and, for EnableContinuousBackup, a continuous point
  x-emulator-rule: <rule name>      (with x-emulator-plan) the plan's rule that started the job
  x-emulator-duration: <seconds>    the job runs this long (StartCopyJob too)
  x-emulator-fail-children: <type>:<message>   (a CloudFormation stack's backup) its child jobs
                                    of that AWS Backup type fail with this message

A CloudFormation stack's backup is a composite job whose point is a composite recovery point with
a nested point per child job; a copy of a composite point is a composite copy job, a parent with
a nested copy job per nested point ("AWS CloudFormation stack backups").

and `x-emulator-time` on a PutBackupVaultLockConfiguration: the lock was configured at this
time, so its LockDate (the end of a compliance-mode lock's grace time) can already be past.
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, unquote

from moto.backup.models import backup_backends
from moto.cloudformation.models import cloudformation_backends
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import dynamodb_backends
from moto.ec2.models import ec2_backends
from moto.iam.models import get_account_id_from
from moto.kms.models import KmsBackend, kms_backends
from moto.rds.models import rds_backends
from moto.s3.models import FakeKey, s3_backends

import assume_role
import identity_policy
from api_error import ApiError
import default_bus
import dynamodb_isolation  # noqa: F401 (patches moto on import)
import resource_policy
import restore_jobs
import restore_testing
import scan_jobs
from clock import Clock
from job_filters import (FilterError, check_constraints, job_matches, max_results, parse_job_filters,
                         parse_point_filters, parse_time, parse_times, point_matches, times_match)

DAY = 86_400

# Resource types whose recovery points can move to cold storage: the "Lifecycle to cold storage"
# column of AWS Backup's "Feature availability by resource" table. For other types AWS Backup
# ignores MoveToColdStorageAfterDays ("Lifecycle" in the API Reference).
COLD_STORAGE_TYPES = {"EBS", "EFS", "DynamoDB", "Timestream", "CloudFormation", "SAP HANA on Amazon EC2", "VirtualMachine"}
# Snapshots of these types keep the source's KMS key; an AWS managed key cannot be shared
# ("Encryption for a backup copy to a different account or AWS Region"). DocumentDB and Neptune
# backups are cluster snapshots like Aurora's.
SNAPSHOT_TYPES = {"EC2", "EBS", "RDS", "Aurora", "DocumentDB", "Neptune"}
DATABASE_SNAPSHOT_TYPES = {"RDS", "Aurora", "DocumentDB", "Neptune"}
# "Continuous backups and point-in-time recovery (PITR)": the types whose backup rule may be
# continuous (EnableContinuousBackup). Other types keep snapshot backups.
CONTINUOUS_TYPES = {"RDS", "S3", "SAP HANA on Amazon EC2"}
# The RDS API manages DocumentDB and Neptune clusters too; AWS Backup types a cluster by its
# engine ("ListBackupJobs", ByResourceType: Aurora, DocumentDB, Neptune, RDS, ...). moto's RDS
# knows no docdb engine, so only Neptune clusters exist here.
CLUSTER_TYPES = {"neptune": "Neptune"}


def _patch_managed_keys() -> None:
    """moto creates `alias/aws/*` keys (EBS's default key, the reserved aliases) but labels them
    CUSTOMER; AWS says `KeyManager: AWS`, which is what decides whether a snapshot can be shared."""
    original = KmsBackend.create_alias

    def create_alias(self: KmsBackend, target_key_id: str, alias_name: str):
        alias = original(self, target_key_id, alias_name)
        if alias_name.startswith("alias/aws/"):
            self.keys[self.get_key_id(target_key_id)].key_manager = "AWS"
        return alias

    KmsBackend.create_alias = create_alias  # type: ignore[method-assign]


_patch_managed_keys()


def _patch_key_arns() -> None:
    """AWS takes a key ID or a key ARN as the KeyId of EnableKey, CancelKeyDeletion and
    ScheduleKeyDeletion (AWS KMS API reference, "CancelKeyDeletion": "Specify the key ID or key
    ARN of the KMS key"); moto's backend looks these three up by key ID only and fails on an ARN."""
    for name in ("enable_key", "cancel_key_deletion", "schedule_key_deletion"):
        original = getattr(KmsBackend, name)

        def by_id(self: KmsBackend, key_id: str, *args, _original=original, **kwargs):
            return _original(self, self.get_key_id(key_id), *args, **kwargs)

        setattr(KmsBackend, name, by_id)


_patch_key_arns()


ACCESS_DENIED = "Access Denied trying to call AWS Backup service"


def not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message)


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message)


@dataclass
class RecoveryPoint:
    arn: str
    account: str
    region: str
    vault_name: str
    resource_arn: str
    resource_type: str
    created: float
    encryption_key_arn: str | None
    iam_role_arn: str
    lifecycle: dict[str, Any] = field(default_factory=dict)
    created_by: dict[str, str] | None = None
    source_vault_arn: str | None = None
    size: int = 1_073_741_824
    storage_class: str = "WARM"
    status: str = "COMPLETED"
    # A copy keeps its source's creation date but completes when its copy job does.
    completed: float | None = None
    multi_az_cluster: bool = False
    # A continuous backup's point (point-in-time recovery), which its rule's jobs update.
    continuous: bool = False
    # "AWS CloudFormation stack backups": a stack's composite point groups the nested points of
    # its resources; a nested point names its composite and its logical ID in the stack.
    is_parent: bool = False
    parent_arn: str = ""
    member_id: str = ""
    # A DynamoDB table's items (wire format) or an S3 bucket's objects ({"Key", "Body"}) when it
    # was backed up, for restores to put back.
    contents: list[dict[str, Any]] | None = None

    @property
    def vault_arn(self) -> str:
        return f"arn:aws:backup:{self.region}:{self.account}:backup-vault:{self.vault_name}"

    def calculated_lifecycle(self) -> dict[str, float]:
        out = {}
        if self.lifecycle.get("MoveToColdStorageAfterDays") and self.resource_type in COLD_STORAGE_TYPES:
            out["MoveToColdStorageAt"] = self.created + self.lifecycle["MoveToColdStorageAfterDays"] * DAY
        if self.lifecycle.get("DeleteAfterDays"):
            out["DeleteAt"] = self.created + self.lifecycle["DeleteAfterDays"] * DAY
        return out

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "RecoveryPointArn": self.arn,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "ResourceName": self.resource_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1],
            "IamRoleArn": self.iam_role_arn,
            "Status": self.status,
            "CreationDate": self.created,
            "CompletionDate": self.completed if self.completed is not None else self.created,
            "BackupSizeInBytes": self.size,
            "IsEncrypted": self.encryption_key_arn is not None,
            "StorageClass": self.storage_class,
            "Lifecycle": self.lifecycle,
            "CalculatedLifecycle": self.calculated_lifecycle(),
            "IsParent": self.is_parent,
            "VaultType": "BACKUP_VAULT",
        }
        if self.parent_arn:
            out["ParentRecoveryPointArn"] = self.parent_arn
        if self.member_id:
            out["CompositeMemberIdentifier"] = self.member_id
        if self.encryption_key_arn:
            out["EncryptionKeyArn"] = self.encryption_key_arn
        if self.created_by:
            out["CreatedBy"] = self.created_by
        if self.source_vault_arn:
            out["SourceBackupVaultArn"] = self.source_vault_arn
        return out

    def by_resource(self) -> dict[str, Any]:
        out = {
            "RecoveryPointArn": self.arn,
            "CreationDate": self.created,
            "Status": self.status,
            "BackupSizeBytes": self.size,
            "BackupVaultName": self.vault_name,
            "IsParent": self.is_parent,
            "VaultType": "BACKUP_VAULT",
        }
        if self.parent_arn:
            out["ParentRecoveryPointArn"] = self.parent_arn
        if self.encryption_key_arn:
            out["EncryptionKeyArn"] = self.encryption_key_arn
        return out


@dataclass
class Job:
    """A backup or a copy job; which fields it has depends on `kind`."""

    kind: str  # "backup" or "copy"
    id: str
    account: str
    region: str
    resource_arn: str
    resource_type: str
    iam_role_arn: str
    created: float
    state: str
    status_message: str = ""
    created_by: dict[str, str] | None = None
    vault_name: str = ""  # backup: the vault; copy: the source vault
    recovery_point_arn: str = ""  # backup: the new point; copy: the source point
    destination_vault_arn: str = ""
    destination_recovery_point_arn: str = ""
    size: int = 1_073_741_824
    completed: float | None = None
    # Composite jobs ("AWS CloudFormation stack backups"): the stack's job is the parent of one
    # child job per resource in it that AWS Backup supports.
    is_parent: bool = False
    parent_job_id: str = ""
    child_states: dict[str, int] = field(default_factory=dict)
    member_id: str = ""  # a nested job's CompositeMemberIdentifier

    @property
    def vault_arn(self) -> str:
        return f"arn:aws:backup:{self.region}:{self.account}:backup-vault:{self.vault_name}"

    def describe(self) -> dict[str, Any]:
        common = {
            "AccountId": self.account,
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "ResourceName": self.resource_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1],
            "IamRoleArn": self.iam_role_arn,
            "CreationDate": self.created,
            "State": self.state,
            "BackupSizeInBytes": self.size,
            "IsParent": self.is_parent,
        }
        if self.parent_job_id:
            common["ParentJobId"] = self.parent_job_id
        if self.member_id:
            common["CompositeMemberIdentifier"] = self.member_id
        if self.is_parent:
            common["NumberOfChildJobs"] = sum(self.child_states.values())
            common["ChildJobsInState"] = dict(self.child_states)
        if self.completed is not None:
            common["CompletionDate"] = self.completed
        if self.status_message:
            common["StatusMessage"] = self.status_message
        if self.created_by:
            common["CreatedBy"] = self.created_by
        if self.kind == "backup":
            common.update(
                BackupJobId=self.id,
                BackupVaultName=self.vault_name,
                BackupVaultArn=self.vault_arn,
                PercentDone="100.0" if self.state == "COMPLETED" else "0.0",
            )
            if self.recovery_point_arn:
                common["RecoveryPointArn"] = self.recovery_point_arn
        else:
            common.update(
                CopyJobId=self.id,
                SourceBackupVaultArn=self.vault_arn,
                SourceRecoveryPointArn=self.recovery_point_arn,
                DestinationBackupVaultArn=self.destination_vault_arn,
            )
            if self.destination_recovery_point_arn:
                common["DestinationRecoveryPointArn"] = self.destination_recovery_point_arn
        return common

    def event_detail(self) -> dict[str, Any]:
        """The `detail` AWS Backup puts on EventBridge (sizes: string for backups, number for copies)."""
        detail: dict[str, Any] = {
            "state": self.state,
            "creationDate": iso(self.created),
            "completionDate": iso(self.completed if self.completed is not None else self.created),
            "iamRoleArn": self.iam_role_arn,
            "resourceArn": self.resource_arn,
            "resourceType": self.resource_type,
            "statusMessage": self.status_message,
        }
        if self.created_by:
            detail["createdBy"] = {
                "backupPlanId": self.created_by["BackupPlanId"],
                "backupPlanArn": self.created_by["BackupPlanArn"],
                "backupPlanVersion": self.created_by.get("BackupPlanVersion", "1"),
                "backupPlanRuleId": self.created_by.get("BackupRuleId", "daily"),
            }
        if self.kind == "backup":
            detail.update(
                backupJobId=self.id,
                backupVaultArn=self.vault_arn,
                backupVaultName=self.vault_name,
                backupSizeInBytes=str(self.size),
                bytesTransferred=str(self.size),
                percentDone=100 if self.state == "COMPLETED" else 0,
            )
        else:
            detail.update(
                copyJobId=self.id,
                backupSizeInBytes=self.size,
                sourceBackupVaultArn=self.vault_arn,
                destinationBackupVaultArn=self.destination_vault_arn,
                destinationRecoveryPointArn=self.destination_recovery_point_arn or {},
            )
        return detail


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def resource_type_of(resource_arn: str) -> str:
    parts = resource_arn.split(":", 5)
    if len(parts) < 6:
        raise invalid(f"Invalid ARN: {resource_arn}")
    service, rest = parts[2], parts[5]
    kind = {
        ("ec2", "instance"): "EC2",
        ("ec2", "volume"): "EBS",
        ("rds", "db"): "RDS",
        ("rds", "cluster"): "Aurora",
        ("dynamodb", "table"): "DynamoDB",
        ("elasticfilesystem", "file-system"): "EFS",
    }.get((service, re.split("[:/]", rest)[0]))
    if kind:
        return kind
    if service == "s3":
        return "S3"
    if service == "cloudformation" and rest.startswith("stack/"):
        return "CloudFormation"
    raise invalid(f"Resource type of {resource_arn} is not supported by this emulator")


class BackupJobs:
    """The job and recovery-point state, keyed like AWS: by account and region."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.points: dict[str, RecoveryPoint] = {}
        self.jobs: dict[str, Job] = {}
        self.tokens: dict[tuple[str, str, str, str], str] = {}
        self.clock = Clock()
        # moto keeps no vault access policies: (account, region, vault name) -> policy JSON.
        self.access_policies: dict[tuple[str, str, str], str] = {}
        # "ListProtectedResources" lists resources "with recovery points created by AWS Backup
        # (regardless of the recovery point's status)": the newest point ever created per
        # (account, region, resource), kept after it expires or is deleted.
        self.protected: dict[tuple[str, str, str], RecoveryPoint] = {}
        self.scan_jobs: dict[str, scan_jobs.ScanJob] = {}
        self.restore_jobs: dict[str, restore_jobs.RestoreJob] = {}
        # Restore testing plans by (account, region, name); their selections are on the plan.
        self.testing_plans: dict[tuple[str, str, str], restore_testing.Plan] = {}
        # Jobs still running: (due time, what ends them).
        self.running: list[tuple[float, Callable[[], None]]] = []

    def add_point(self, point: RecoveryPoint) -> None:
        self.points[point.arn] = point
        key = (point.account, point.region, point.resource_arn)
        if key not in self.protected or point.created >= self.protected[key].created:
            self.protected[key] = point

    def put_vault_lock(self, account: str, region: str, vault_name: str, body: dict, headers: dict) -> dict:
        """"PutBackupVaultLockConfiguration": moto keeps the lock; without ChangeableForDays it
        is a governance-mode lock with no LockDate, with it a compliance-mode lock that becomes
        immutable at LockDate = configuration time + ChangeableForDays ("AWS Backup Vault Lock").
        The configuration time is the emulator's clock, or x-emulator-time."""
        backend = backup_backends[account][region]
        changeable = body.get("ChangeableForDays")
        try:
            backend.put_backup_vault_lock_configuration(
                vault_name, body.get("MinRetentionDays"), body.get("MaxRetentionDays"), changeable)
        except JsonRESTError as e:
            raise ApiError(e.error_type, e.message, e.code) from e
        if changeable is not None:
            at = parse_time(headers["x-emulator-time"]) if "x-emulator-time" in headers else self.clock.now()
            backend.vaults[vault_name].lock_date = at + changeable * DAY
        return {}

    # --- moto state -------------------------------------------------------------------------

    @staticmethod
    def vault(account: str, region: str, name: str):
        vault = backup_backends[account][region].vaults.get(name)
        if vault is None:
            raise not_found(f"Backup vault {name} does not exist in account {account} region {region}")
        return vault

    @staticmethod
    def key_arn(account: str, region: str, key_id: str | None, default_alias: str) -> str:
        """A key id, alias or ARN as the key's ARN; no key means the service's AWS managed key."""
        kms = kms_backends[account][region]
        if key_id:
            try:
                return kms.describe_key(key_id).arn
            except Exception:  # moto's RDS stores "default_kms_key_id" for "the default key"
                pass
        if not kms.get_key_id_from_alias(default_alias):
            key = kms.create_key(None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "Default key", None)
            kms.create_alias(key.id, default_alias)
        return kms.describe_key(default_alias).arn

    def resource_key(self, account: str, region: str, resource_arn: str, kind: str, vault) -> str | None:
        """Snapshots keep the resource's own key (none when it is unencrypted); other types take
        the vault's."""
        name = re.split("[:/]", resource_arn.split(":", 5)[5], maxsplit=1)[-1]
        ec2 = ec2_backends[account][region]

        def snapshot_key(encrypted: bool, key_id: str | None, alias: str) -> str | None:
            return self.key_arn(account, region, key_id, alias) if encrypted else None

        if kind == "EBS":
            volume = ec2.volumes.get(name)
            return snapshot_key(bool(getattr(volume, "encrypted", False)), getattr(volume, "kms_key_id", None), "alias/aws/ebs")
        if kind == "EC2":
            instance = ec2.get_instance(name)
            volumes = [ec2.volumes.get(d.volume_id) for d in instance.block_device_mapping.values() if d.volume_id]
            encrypted = [v for v in volumes if v is not None and v.encrypted]
            return snapshot_key(bool(encrypted), encrypted[0].kms_key_id if encrypted else None, "alias/aws/ebs")
        if kind in ("RDS", "Aurora", "DocumentDB", "Neptune"):
            rds = rds_backends[account][region]
            source = rds.databases.get(name) if kind == "RDS" else rds.clusters.get(name)
            return snapshot_key(bool(getattr(source, "storage_encrypted", False)), getattr(source, "kms_key_id", None), "alias/aws/rds")
        return self.key_arn(account, region, vault.encryption_key_arn, "alias/aws/backup")

    @staticmethod
    def table_items(account: str, region: str, resource_arn: str) -> list[dict[str, Any]]:
        """The table's items as they are now (none when the table does not exist here)."""
        table = dynamodb_backends[account][region].tables.get(resource_arn.rsplit("/", 1)[-1])
        return [item.to_json()["Attributes"] for item in table.all_items()] if table is not None else []

    @staticmethod
    def bucket_objects(account: str, resource_arn: str) -> list[dict[str, Any]]:
        """The bucket's current objects, key and body (none when the bucket does not exist here):
        what an S3 restore puts back."""
        backend = s3_backends[account]["aws"]
        bucket = backend.buckets.get(resource_arn.split(":::", 1)[-1])
        if bucket is None:
            return []
        return [{"Key": name, "Body": key.value} for name, key in bucket.keys.items() if isinstance(key, FakeKey)]

    @staticmethod
    def cluster_type(account: str, region: str, resource_arn: str, kind: str) -> str:
        """An RDS DB cluster is Aurora unless its engine makes it another type (Neptune)."""
        if kind != "Aurora":
            return kind
        cluster = rds_backends[account][region].clusters.get(resource_arn.rsplit(":", 1)[-1])
        return CLUSTER_TYPES.get(str(getattr(cluster, "engine", "")), kind)

    @staticmethod
    def is_multi_az_cluster(account: str, region: str, resource_arn: str, kind: str) -> bool:
        """An RDS DB cluster whose engine is not Aurora is a Multi-AZ DB cluster ("Multi-AZ DB
        cluster deployments for Amazon RDS")."""
        if kind != "Aurora":
            return False
        cluster = rds_backends[account][region].clusters.get(resource_arn.rsplit(":", 1)[-1])
        return cluster is not None and not str(getattr(cluster, "engine", "aurora")).startswith("aurora")

    def key_is_aws_managed(self, key_arn: str) -> bool:
        account, region = key_arn.split(":")[4], key_arn.split(":")[3]
        return kms_backends[account][region].describe_key(key_arn).key_manager == "AWS"

    @staticmethod
    def emit(job: Job) -> None:
        """Puts the job's state change on its account's default bus, as AWS Backup does."""
        default_bus.put(
            job.account, job.region,
            "Backup Job State Change" if job.kind == "backup" else "Copy Job State Change",
            job.created,
            [job.recovery_point_arn] if job.state == "COMPLETED" or job.kind == "copy" else [],
            job.event_detail(),
        )

    # --- operations -------------------------------------------------------------------------

    def idempotent(self, account: str, region: str, op: str, token: str | None, start: Callable[[], Job]) -> Job:
        key = (account, region, op, token or "")
        if token and key in self.tokens:
            return self.jobs[self.tokens[key]]
        job = start()
        if token:
            self.tokens[key] = job.id
        return job

    def start_backup_job(self, account: str, region: str, body: dict, headers: dict) -> dict:
        vault_name = body.get("BackupVaultName") or ""
        resource_arn = body.get("ResourceArn") or ""
        role = body.get("IamRoleArn") or ""
        if not (vault_name and resource_arn and role):
            raise invalid("BackupVaultName, ResourceArn and IamRoleArn are required")
        vault = self.vault(account, region, vault_name)
        kind = self.cluster_type(account, region, resource_arn, resource_type_of(resource_arn))
        created = parse_time(headers["x-emulator-time"]) if "x-emulator-time" in headers else self.clock.now()
        duration = float(headers.get("x-emulator-duration", 0))
        created_by, rule = None, None
        if "x-emulator-plan" in headers:
            plan_id = headers["x-emulator-plan"]
            created_by = {
                "BackupPlanId": plan_id,
                "BackupPlanArn": f"arn:aws:backup:{region}:{account}:backup-plan:{plan_id}",
                "BackupPlanVersion": "1",
                "BackupRuleId": "scheduled",
            }
            plan = backup_backends[account][region].plans.get(plan_id)
            rule = self.plan_rule(plan, vault_name, headers.get("x-emulator-rule")) if plan else None
            if rule is not None:
                created_by.update(BackupPlanArn=plan.backup_plan_arn, BackupPlanVersion=plan.version_id,
                                  BackupRuleId=rule["RuleId"])
        lifecycle = check_lifecycle(kind, body.get("Lifecycle") or (rule or {}).get("Lifecycle") or {})
        # "Continuous backups and point-in-time recovery (PITR)": only a backup plan's rule makes
        # continuous backups ("You can't use on-demand backups with PITR"), for the types that
        # support them.
        continuous = bool(rule and rule.get("EnableContinuousBackup")) and kind in CONTINUOUS_TYPES

        def start() -> Job:
            if kind != "CloudFormation":
                return self.run_backup(account, region, vault, vault_name, resource_arn, kind, role, created,
                                       created_by, lifecycle, headers.get("x-emulator-fail"),
                                       duration=duration, continuous=continuous)
            # "AWS CloudFormation stack backups": a composite job whose children back up each
            # resource of the stack that AWS Backup supports; the parent ends when they have.
            members = self.stack_members(account, region, resource_arn)
            parent_id = str(uuid.uuid4())
            failing = headers.get("x-emulator-fail-children", "")
            failing_type, _, failing_message = failing.partition(":")
            children = [
                self.run_backup(account, region, vault, vault_name, member, member_kind, role, created, created_by,
                                lifecycle, failing_message if member_kind == failing_type else None,
                                parent_job_id=parent_id, member_id=logical_id)
                for member, member_kind, logical_id in members
            ]
            states: dict[str, int] = {}
            for child in children:
                states[child.state] = states.get(child.state, 0) + 1
            return self.run_backup(account, region, vault, vault_name, resource_arn, kind, role, created, created_by,
                                   lifecycle, None, job_id=parent_id, child_states=states, children=children)

        job = self.idempotent(account, region, "backup", body.get("IdempotencyToken"), start)
        out = {"BackupJobId": job.id, "CreationDate": job.created, "IsParent": job.is_parent}
        # EFS and advanced DynamoDB backups name their recovery point at once ("StartBackupJob");
        # here, every type names it once it exists.
        if job.recovery_point_arn:
            out["RecoveryPointArn"] = job.recovery_point_arn
        return out

    def run_backup(self, account: str, region: str, vault, vault_name: str, resource_arn: str, kind: str, role: str,
                   created: float, created_by: dict | None, lifecycle: dict, fail: str | None,
                   parent_job_id: str = "", job_id: str | None = None,
                   child_states: dict[str, int] | None = None, duration: float = 0.0,
                   continuous: bool = False, member_id: str = "", children: list[Job] | None = None) -> Job:
        """One backup job: CREATED, PENDING and RUNNING at once ("Backup Job State Change" for
        each), then, `duration` seconds later by the emulator's clock, a recovery point, or
        FAILED with AWS's status message. A parent whose children did not all complete is PARTIAL."""
        job_id = job_id or (str(uuid.uuid4()).upper() if kind in ("EC2", "EBS") else str(uuid.uuid4()))
        job = Job("backup", job_id, account, region, resource_arn, kind, role, created, "CREATED",
                  created_by=created_by, vault_name=vault_name, completed=None, parent_job_id=parent_job_id,
                  is_parent=child_states is not None, child_states=child_states or {}, member_id=member_id)
        self.jobs[job.id] = job
        for state in ("CREATED", "PENDING", "RUNNING"):
            job.state = state
            self.emit(job)

        def finish() -> None:
            job.completed = created + duration
            job.state = "COMPLETED"
            refusal = lock_refusal("Backup", vault, lifecycle)
            if fail:
                job.state, job.status_message = "FAILED", fail
            elif refusal:
                job.state, job.status_message = "FAILED", refusal
            elif continuous and (point := self.continuous_point(account, region, vault_name, resource_arn)):
                # "The continuous backup plan creates one continuous recovery point and updates
                # that recovery point whenever the job runs."
                point.completed, point.lifecycle = job.completed, lifecycle
                job.recovery_point_arn = point.arn
            else:
                point = RecoveryPoint(
                    arn=(self.continuous_point_arn(kind, account, region, resource_arn) if continuous
                         else self.backup_image(account, region, resource_arn, job_id) if kind == "EC2"
                         else self.new_point_arn(kind, account, region, job_id)),
                    continuous=continuous,
                    account=account, region=region, vault_name=vault_name, resource_arn=resource_arn,
                    resource_type=kind, created=created, iam_role_arn=role,
                    encryption_key_arn=self.resource_key(account, region, resource_arn, kind, vault),
                    lifecycle=lifecycle, created_by=created_by,
                    multi_az_cluster=self.is_multi_az_cluster(account, region, resource_arn, kind),
                    contents=(self.table_items(account, region, resource_arn) if kind == "DynamoDB"
                              else self.bucket_objects(account, resource_arn) if kind == "S3" else None),
                    is_parent=job.is_parent, member_id=member_id,
                )
                self.add_point(point)
                self.adopt(point, children or [])
                vault.num_of_recovery_points += 1
                job.recovery_point_arn = point.arn
                if job.is_parent and set(job.child_states) != {"COMPLETED"}:
                    job.state = "PARTIAL"
                    job.status_message = "Some of the nested backup jobs of this composite job did not complete."
            self.emit(job)

        self.finish_later(created + duration, finish)
        return job

    def finish_later(self, due: float, finish: Callable[[], None]) -> None:
        """Runs `finish` now if it is due, or when the clock reaches `due` (checked on every
        request and when the clock moves)."""
        if due <= self.clock.now():
            finish()
        else:
            self.running.append((due, finish))

    def tick(self) -> None:
        """What AWS Backup has done on its own by now: jobs that ended, restore testing plans that
        ran at their scheduled times, lifecycles that came due, validation windows that closed."""
        self.advance_jobs()
        restore_testing.run_due_plans(self, iso)
        self.apply_lifecycles()
        restore_jobs.close_validation_windows(self)

    def advance_jobs(self) -> None:
        now = self.clock.now()
        due = sorted((r for r in self.running if r[0] <= now), key=lambda r: r[0])
        self.running = [r for r in self.running if r[0] > now]
        for _, finish in due:
            finish()

    @staticmethod
    def stack_members(account: str, region: str, stack_arn: str) -> list[tuple[str, str, str]]:
        """The resources of a stack that AWS Backup backs up: ARN, AWS Backup type, logical ID."""
        stack = cloudformation_backends[account][region].stacks.get(stack_arn)
        if stack is None:
            raise invalid(f"Stack {stack_arn} does not exist")
        members = []
        for logical_id in stack.resource_map:
            resource = stack.resource_map[logical_id]
            if not hasattr(type(resource), "cloudformation_type"):
                continue
            cfn_type = type(resource).cloudformation_type()
            name = getattr(resource, "physical_resource_id", "")
            arn = {
                "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
                "AWS::EC2::Volume": f"arn:aws:ec2:{region}:{account}:volume/{name}",
                "AWS::EC2::Instance": f"arn:aws:ec2:{region}:{account}:instance/{name}",
                "AWS::EFS::FileSystem": f"arn:aws:elasticfilesystem:{region}:{account}:file-system/{name}",
                "AWS::RDS::DBInstance": f"arn:aws:rds:{region}:{account}:db:{name}",
            }.get(cfn_type)
            if arn:
                members.append((arn, resource_type_of(arn), logical_id))
        return members

    def adopt(self, composite: RecoveryPoint, children: list[Job]) -> None:
        """Nests the points the children made under their composite point."""
        for child in children:
            nested = self.points.get(child.destination_recovery_point_arn if child.kind == "copy"
                                     else child.recovery_point_arn)
            if nested is not None:
                nested.parent_arn = composite.arn

    def nested_points(self, composite: RecoveryPoint) -> list[RecoveryPoint]:
        return [p for p in self.points.values() if p.parent_arn == composite.arn]

    @staticmethod
    def plan_rule(plan, vault_name: str, rule_name: str | None) -> dict | None:
        """The plan's rule that started a job: the one named, or the first that targets the vault."""
        for rule in plan.backup_plan.get("Rules", []):
            if rule.get("RuleName") == rule_name or (rule_name is None and rule.get("TargetBackupVaultName") == vault_name):
                return rule
        return None

    def continuous_point(self, account: str, region: str, vault_name: str, resource_arn: str) -> RecoveryPoint | None:
        for point in self.points.values():
            if point.continuous and (point.account, point.region, point.vault_name, point.resource_arn) == (
                    account, region, vault_name, resource_arn):
                return point
        return None

    @staticmethod
    def continuous_point_arn(kind: str, account: str, region: str, resource_arn: str) -> str:
        """A continuous point is an AWS Backup recovery point, `recovery-point:continuous:<id>`
        (as RDS reports it in DescribeDBInstances' AwsBackupRecoveryPointArn): `db-<id>` for a
        DB instance, the bucket's name for S3, each with a suffix of its own."""
        name = re.split("[:/]", resource_arn.split(":", 5)[5])[-1]
        stem = f"db-{name}" if kind == "RDS" else name
        return f"arn:aws:backup:{region}:{account}:recovery-point:continuous:{stem}-{uuid.uuid4().hex[:8]}"

    @staticmethod
    def backup_image(account: str, region: str, instance_arn: str, job_id: str) -> str:
        """An EC2 backup is an AMI of the instance (its recovery point ARN names the image), which
        an EC2 restore launches."""
        instance_id = instance_arn.rsplit("/", 1)[-1]
        image = ec2_backends[account][region].create_image(
            instance_id, f"AwsBackup_{instance_id}_{job_id}", "This AMI was created by AWS Backup", [])
        return f"arn:aws:ec2:{region}::image/{image.id}"

    @staticmethod
    def new_point_arn(kind: str, account: str, region: str, job_id: str, copy: bool = False) -> str:
        short = uuid.uuid4().hex[:17]
        if kind == "EBS":
            return f"arn:aws:ec2:{region}::snapshot/snap-{short}"
        if kind == "EC2":
            return f"arn:aws:ec2:{region}::image/ami-{short}"
        prefix = "copyjob" if copy else "job"
        if kind == "RDS":
            return f"arn:aws:rds:{region}:{account}:snapshot:awsbackup:{prefix}-{job_id.lower()}"
        if kind in ("Aurora", "DocumentDB", "Neptune"):
            return f"arn:aws:rds:{region}:{account}:cluster-snapshot:awsbackup:{prefix}-{job_id.lower()}"
        return f"arn:aws:backup:{region}:{account}:recovery-point:{uuid.uuid4()}"

    def point_in(self, account: str, region: str, vault_name: str, arn: str) -> RecoveryPoint:
        self.vault(account, region, vault_name)
        point = self.points.get(arn)
        if point is None or (point.account, point.region, point.vault_name) != (account, region, vault_name):
            raise not_found(f"Recovery point {arn} not found in backup vault {vault_name}")
        return point

    def start_copy_job(self, account: str, region: str, body: dict, headers: dict) -> dict:
        source_vault = body.get("SourceBackupVaultName") or ""
        destination = body.get("DestinationBackupVaultArn") or ""
        role = body.get("IamRoleArn") or ""
        if not (source_vault and destination and role and body.get("RecoveryPointArn")):
            raise invalid("RecoveryPointArn, SourceBackupVaultName, DestinationBackupVaultArn and IamRoleArn are required")
        point = self.point_in(account, region, source_vault, body["RecoveryPointArn"])
        # "Copying continuous backups": "AWS Backup does not support on-demand copies of
        # continuous backups" (a continuous rule's own copy action copies a snapshot instead).
        # AWS does not publish the refusal's wording; InvalidRequestException is the API's error
        # for a request it cannot act on.
        if point.continuous:
            raise ApiError("InvalidRequestException",
                           f"Recovery point {point.arn} is a continuous backup: on-demand copies of continuous "
                           "backups are not supported")
        # "Backup and tag copy": backups in cold storage or archive tiers cannot be copied.
        if point.storage_class == "COLD":
            raise invalid(f"Recovery point {point.arn} is in cold storage and cannot be copied")
        # A copy without a lifecycle of its own keeps its source's retention ("Backup and tag
        # copy": copies retain their source configuration, including creation dates and
        # retention period; the retention period can be overridden).
        lifecycle = check_lifecycle(point.resource_type, body.get("Lifecycle") or dict(point.lifecycle))
        parts = destination.split(":")
        if len(parts) < 7 or parts[2] != "backup" or parts[5] != "backup-vault":
            raise invalid(f"Invalid destination backup vault ARN: {destination}")
        duration = float(headers.get("x-emulator-duration", 0))

        def start() -> Job:
            now = self.clock.now()
            if not point.is_parent:
                return self.begin_copy(point, source_vault, role, destination, lifecycle, now, duration)
            # "AWS CloudFormation stack backups": a copy of a composite point is a composite job,
            # a parent copy job with a nested copy job (ParentJobId) per nested point; the parent
            # ends when they have, PARTIAL when some did not complete (CopyJobState PARTIAL).
            parent_id = str(uuid.uuid4())
            children = [
                self.begin_copy(nested, source_vault, role, destination,
                                check_lifecycle(nested.resource_type, body.get("Lifecycle") or dict(nested.lifecycle)),
                                now, duration, parent_job_id=parent_id)
                for nested in self.nested_points(point)
            ]
            return self.begin_copy(point, source_vault, role, destination, lifecycle, now, duration,
                                   job_id=parent_id, children=children)

        job = self.idempotent(account, region, "copy", body.get("IdempotencyToken"), start)
        return {"CopyJobId": job.id, "CreationDate": job.created, "IsParent": job.is_parent}

    def begin_copy(self, point: RecoveryPoint, source_vault: str, role: str, destination: str, lifecycle: dict,
                   now: float, duration: float, parent_job_id: str = "", job_id: str | None = None,
                   children: list[Job] | None = None) -> Job:
        """One copy job: CREATED and RUNNING at once ("Copy Job State Change" for each), then the
        outcome `duration` later by the emulator's clock."""
        job = Job("copy", job_id or str(uuid.uuid4()), point.account, point.region, point.resource_arn,
                  point.resource_type, role, now, "CREATED", created_by=point.created_by, vault_name=source_vault,
                  recovery_point_arn=point.arn, destination_vault_arn=destination, size=point.size,
                  completed=None, is_parent=children is not None, parent_job_id=parent_job_id,
                  member_id=point.member_id)
        self.jobs[job.id] = job
        for state in ("CREATED", "RUNNING"):
            job.state = state
            self.emit(job)
        self.finish_later(now + duration,
                          lambda: self.finish_copy(job, point, lifecycle, role, destination, children))
        return job

    def finish_copy(self, job: Job, point: RecoveryPoint, lifecycle: dict, role: str, destination: str,
                    children: list[Job] | None = None) -> None:
        parts = destination.split(":")
        dest_region, dest_account, dest_vault_name = parts[3], parts[4], parts[6]
        account, region = job.account, job.region
        job.state, job.completed = "COMPLETED", self.clock.now()
        try:
            dest_vault = self.vault(dest_account, dest_region, dest_vault_name)
        except ApiError as e:
            dest_vault, job.state, job.status_message = None, "FAILED", e.message
        if dest_vault is not None:
            refusal = (self.copy_refusal(account, region, point, dest_account, dest_region, dest_vault)
                       or lock_refusal("Copy", dest_vault, lifecycle))
            if refusal:
                job.state, job.status_message = "FAILED", refusal
        if dest_vault is not None and job.state == "COMPLETED":
            copied = RecoveryPoint(
                arn=self.new_point_arn(point.resource_type, dest_account, dest_region, job.id, copy=True),
                account=dest_account, region=dest_region, vault_name=dest_vault_name,
                resource_arn=point.resource_arn, resource_type=point.resource_type,
                created=point.created, completed=job.completed,
                iam_role_arn=role, lifecycle=lifecycle, created_by=point.created_by,
                source_vault_arn=point.vault_arn, size=point.size, contents=point.contents,
                encryption_key_arn=self.key_arn(dest_account, dest_region, dest_vault.encryption_key_arn,
                                                "alias/aws/backup"),
                is_parent=point.is_parent, member_id=point.member_id,
            )
            self.add_point(copied)
            dest_vault.num_of_recovery_points += 1
            job.destination_recovery_point_arn = copied.arn
            self.adopt(copied, children or [])
        if children is not None:
            job.child_states = {}
            for child in children:
                job.child_states[child.state] = job.child_states.get(child.state, 0) + 1
            if job.state == "COMPLETED" and set(job.child_states) - {"COMPLETED"}:
                job.state = "PARTIAL"
                job.status_message = "Some of the nested copy jobs of this composite job did not complete."
        self.emit(job)

    def copy_refusal(self, account: str, region: str, point: RecoveryPoint, dest_account: str, dest_region: str,
                     dest_vault) -> str | None:
        """Why AWS Backup would fail this copy, or None."""
        # "Limitations of Multi-AZ DB clusters for Amazon RDS" and "Copy a backup": copying a
        # Multi-AZ DB cluster snapshot is not supported.
        if point.multi_az_cluster:
            return "Copy job failed: copying a Multi-AZ DB cluster snapshot is not supported"
        # "Vault access policies": an explicit deny of backup:CopyFromBackupVault on the source
        # vault stops copies out of it.
        if resource_policy.decision(self.access_policies.get((account, region, point.vault_name)),
                                    "backup:CopyFromBackupVault", account) == "Deny":
            return ACCESS_DENIED
        if dest_account == account:
            return None
        # "Creating backup copies across AWS accounts": the destination vault's access policy
        # must allow backup:CopyIntoBackupVault to the source account; without it the copy fails
        # with "Access Denied trying to call AWS Backup service" (AWS re:Post knowledge center,
        # "resolve the Access Denied ... error when trying to create a cross-account copy").
        dest_policy = self.access_policies.get((dest_account, dest_region, dest_vault.backup_vault_name))
        if resource_policy.decision(dest_policy, "backup:CopyIntoBackupVault", account) != "Allow":
            return ACCESS_DENIED
        # Another Region and another account in one copy: since February 2026 RDS, Aurora and
        # Neptune snapshots can ("Copying a DB snapshot for Amazon RDS", "DB cluster snapshot
        # copying", "Copying a DB Cluster Snapshot": "in a single step") when the source vault's
        # access policy also allows backup:CopyFromBackupVault to the destination account;
        # DocumentDB snapshots cannot ("Copying Amazon DocumentDB cluster snapshots").
        if dest_region != region and point.resource_type in DATABASE_SNAPSHOT_TYPES:
            if point.resource_type == "DocumentDB":
                return ("Copy job failed: a DocumentDB cluster snapshot cannot be copied to another Region "
                        "and another account in one copy")
            if resource_policy.decision(self.access_policies.get((account, region, point.vault_name)),
                                        "backup:CopyFromBackupVault", dest_account) != "Allow":
                return ACCESS_DENIED
        # "Encryption for a backup copy to a different account or AWS Region": snapshots keep the
        # source's key, so an AWS managed key (which cannot be shared) fails the copy, and a
        # customer managed key must be shared with the destination account through its key policy.
        key = point.encryption_key_arn
        if point.resource_type in SNAPSHOT_TYPES and key:
            if self.key_is_aws_managed(key):
                return (f"Copy job failed: the recovery point is encrypted with an AWS managed key ({key}), "
                        f"which cannot be shared with account {dest_account}")
            if resource_policy.decision(self.key_policy(key), "kms:Decrypt", dest_account, wildcards=True) != "Allow":
                return (f"Copy job failed: the customer managed key {key} of the recovery point is not shared "
                        f"with destination account {dest_account} (its key policy does not allow it)")
        return None

    @staticmethod
    def key_policy(key_arn: str) -> str | None:
        account, region = key_arn.split(":")[4], key_arn.split(":")[3]
        return kms_backends[account][region].describe_key(key_arn).policy

    def update_lifecycle(self, account: str, region: str, vault_name: str, arn: str, body: dict) -> dict:
        point = self.point_in(account, region, vault_name, arn)
        point.lifecycle = check_lifecycle(point.resource_type, body.get("Lifecycle") or {})
        return {
            "BackupVaultArn": point.vault_arn,
            "RecoveryPointArn": point.arn,
            "Lifecycle": point.lifecycle,
            "CalculatedLifecycle": point.calculated_lifecycle(),
        }

    def list_jobs(self, account: str, region: str, kind: str, query: dict[str, str]) -> list[Job]:
        filters = parse_job_filters(kind, query)
        now = self.clock.now()
        return [
            job for job in sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)
            if job.kind == kind and (job.account, job.region) == (account, region) and job_matches(job, filters, now)
        ]

    def list_points(self, account: str, region: str, vault_name: str, query: dict[str, str]) -> list[RecoveryPoint]:
        self.vault(account, region, vault_name)
        filters = parse_point_filters(query)
        return [
            p for p in sorted(self.points.values(), key=lambda p: p.created, reverse=True)
            if (p.account, p.region, p.vault_name) == (account, region, vault_name) and point_matches(p, filters)
        ]

    # --- lifecycle, deletion, access policies -------------------------------------------------

    def apply_lifecycles(self) -> None:
        """What AWS Backup does on its own as time passes ("Lifecycle" in the API Reference):
        a point moves to cold storage at MoveToColdStorageAt and is deleted at DeleteAt, after
        which it is in no listing and no longer protects its resource."""
        now = self.clock.now()
        for point in list(self.points.values()):
            due = point.calculated_lifecycle()
            if "DeleteAt" in due and due["DeleteAt"] <= now:
                self.remove_point(point)
            elif "MoveToColdStorageAt" in due and due["MoveToColdStorageAt"] <= now:
                point.storage_class = "COLD"

    def remove_point(self, point: RecoveryPoint) -> None:
        del self.points[point.arn]
        vault = backup_backends[point.account][point.region].vaults.get(point.vault_name)
        if vault is not None and vault.num_of_recovery_points > 0:
            vault.num_of_recovery_points -= 1

    def delete_recovery_point(self, account: str, region: str, vault_name: str, arn: str) -> dict:
        point = self.point_in(account, region, vault_name, arn)
        vault = self.vault(account, region, vault_name)
        # "Vault access policies": a Deny on backup:DeleteRecoveryPoint stops everyone it names.
        if resource_policy.decision(self.access_policies.get((account, region, vault_name)),
                                 "backup:DeleteRecoveryPoint", account) == "Deny":
            raise ApiError(
                "AccessDeniedException",
                f"User: arn:aws:iam::{account}:root is not authorized to perform: backup:DeleteRecoveryPoint "
                f"on resource: {vault.backup_vault_arn} with an explicit deny in a resource-based policy",
                403,
            )
        # "PutBackupVaultLockConfiguration": Vault Lock prevents attempts to delete any recovery
        # point stored in or created in the vault (governance and compliance mode alike).
        if vault.locked:
            raise ApiError(
                "InvalidRequestException",
                f"Recovery point {arn} cannot be deleted: backup vault {vault_name} is protected by Vault Lock",
            )
        self.remove_point(point)
        return {}

    def put_access_policy(self, account: str, region: str, vault_name: str, body: dict) -> dict:
        self.vault(account, region, vault_name)
        policy = body.get("Policy") or ""
        try:
            resource_policy.validate(policy)
        except (ValueError, TypeError) as e:
            raise invalid(f"Invalid backup vault access policy: {e}") from None
        self.access_policies[(account, region, vault_name)] = policy
        return {}

    def get_access_policy(self, account: str, region: str, vault_name: str) -> dict:
        vault = self.vault(account, region, vault_name)
        policy = self.access_policies.get((account, region, vault_name))
        if policy is None:
            raise not_found(f"Backup vault {vault_name} has no access policy")
        return {"BackupVaultName": vault_name, "BackupVaultArn": vault.backup_vault_arn, "Policy": policy}

    def delete_access_policy(self, account: str, region: str, vault_name: str) -> dict:
        self.vault(account, region, vault_name)
        self.access_policies.pop((account, region, vault_name), None)
        return {}


def retention_days(lifecycle: dict) -> int | None:
    """The retention a lifecycle asks for; None keeps the recovery point forever."""
    days = lifecycle.get("DeleteAfterDays")
    return days if days and days > 0 else None


def lock_refusal(kind: str, vault, lifecycle: dict) -> str | None:
    """"PutBackupVaultLockConfiguration": with MinRetentionDays set, a backup or copy job whose
    retention is shorter fails; with MaxRetentionDays set, one whose retention is longer (or
    unlimited) fails. Recovery points already in the vault are not affected. The status message
    follows that page; AWS does not document its exact wording."""
    minimum, maximum = vault.min_retention_days, vault.max_retention_days
    if not vault.locked or (minimum is None and maximum is None):
        return None
    days = retention_days(lifecycle)
    shown = f"{days} days" if days is not None else "no expiry"
    if minimum is not None and days is not None and days < minimum:
        return (f"{kind} job failed: the retention period of the recovery point ({shown}) is shorter than "
                f"the minimum retention period ({minimum} days) of the Vault Lock on backup vault {vault.backup_vault_name}")
    if maximum is not None and (days is None or days > maximum):
        return (f"{kind} job failed: the retention period of the recovery point ({shown}) is longer than "
                f"the maximum retention period ({maximum} days) of the Vault Lock on backup vault {vault.backup_vault_name}")
    return None


def check_lifecycle(resource_type: str, lifecycle: dict) -> dict:
    """AWS Backup's lifecycle rule ("Lifecycle" in the API Reference): a point moved to cold
    storage stays there 90 days at least. Types without cold storage ignore the setting."""
    cold = lifecycle.get("MoveToColdStorageAfterDays")
    delete = lifecycle.get("DeleteAfterDays")
    if cold and delete and resource_type in COLD_STORAGE_TYPES and delete < cold + 90:
        raise invalid(
            f"Invalid lifecycle. DeleteAfterDays ({delete}) must be at least 90 days greater than "
            f"MoveToColdStorageAfterDays ({cold})"
        )
    return {k: v for k, v in lifecycle.items() if v is not None}


def page(items: list[Any], query: dict[str, str], key: str, names: tuple[str, str] = ("maxResults", "nextToken")) -> dict[str, Any]:
    """One page of a listing; `names` are its MaxResults and NextToken query parameters."""
    size = max_results(query, names[0])
    token = query.get(names[1]) or "0"
    if not token.isdigit():
        raise invalid(f"Invalid NextToken: {token}")
    start = int(token)
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def list_restore_jobs(state: "BackupJobs", account: str, region: str, query: dict[str, str]) -> list[dict]:
    """ListRestoreJobs: its filters validated (job_filters.py) and its date filters applied to what
    restore_jobs.py lists."""
    check_constraints("restore", query)
    times = parse_times(query)
    return [j for j in restore_jobs.list_restore_jobs(state, account, region, query, invalid)
            if times_match(j["CreationDate"], j.get("CompletionDate"), times)]


def respond(start_response: Callable, status: int, payload: dict, extra: list | None = None) -> list[bytes]:
    data = b"" if status == 204 else json.dumps(payload).encode()
    start_response(
        f"{status} {'Error' if status >= 400 else 'OK'}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
         ("x-amzn-RequestId", str(uuid.uuid4()))] + (extra or []),
    )
    return [data]


AUTH = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")


class BackupJobsApp:
    """WSGI middleware: the job operations here, everything else to moto."""

    def __init__(self, moto_app: Callable) -> None:
        self.moto_app = moto_app
        self.state = BackupJobs()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/_emulator/"):
            return self.control(environ, start_response)
        match = AUTH.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match:
            refused = self.enforce(environ, start_response, match.group(1), match.group(3))
            if refused is not None:
                return refused
        if match and match.group(3) == "sts":
            return self.sts(environ, start_response, match.group(1))
        if not match or match.group(3) != "backup":
            return self.moto_app(environ, start_response)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        path, _, query_string = raw.partition("?")
        segments = [unquote(s) for s in path.strip("/").split("/")]
        method = environ["REQUEST_METHOD"]
        handler = self.route(method, segments, path.endswith("/"))
        if handler is None:
            return self.moto_app(environ, start_response)
        account, region = get_account_id_from(match.group(1)), match.group(2)
        query = {k: v[0] for k, v in parse_qs(query_string).items()}
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        try:
            with self.state.lock:
                self.state.tick()
                result = handler(account, region, segments, query, body, headers)
            # Most operations answer 200; those AWS answers 201 or 204 return (status, payload).
            status, payload = result if isinstance(result, tuple) else (200, result)
            extra = []
        except FilterError as e:
            status, payload = 400, {"__type": e.code, "message": e.message, "Code": e.code}
            extra = [("x-amzn-ErrorType", e.code)]
        except ApiError as e:
            status, payload = e.status, {"__type": e.code, "message": e.message, "Code": e.code}
            extra = [("x-amzn-ErrorType", e.code)]
        return respond(start_response, status, payload, extra)

    def enforce(self, environ: dict, start_response: Callable, access_key: str,
                signing_name: str) -> Iterable[bytes] | None:
        """A role session's request that its role's policies do not allow is refused with
        AccessDenied (identity_policy.py); None lets it through."""
        if identity_policy.role_of_session(access_key, get_account_id_from(access_key)) is None:
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        path, _, query_string = raw.partition("?")
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        try:
            identity_policy.check(access_key, get_account_id_from(access_key), signing_name,
                                  environ["REQUEST_METHOD"], path, query_string or environ.get("QUERY_STRING", ""),
                                  headers, body)
        except identity_policy.Denied as denied:
            # In the emulator's log, so a test that fails on a missing permission says which.
            print(f"access denied: {denied}", file=sys.stderr, flush=True)
            status, extra, data = identity_policy.error_answer(denied, signing_name, headers)
            start_response(status, extra + [("Content-Length", str(len(data)))])
            return [data]
        return None

    def sts(self, environ: dict, start_response: Callable, access_key: str) -> Iterable[bytes]:
        """AssumeRole of a role that does not exist, or whose trust policy does not allow the
        caller, is refused (assume_role.py); the rest is moto's."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        caller = assume_role.caller_of(access_key, get_account_id_from(access_key))
        refused = assume_role.refused_role(body, caller)
        if refused is None:
            return self.moto_app(environ, start_response)
        data = assume_role.access_denied(caller, refused)
        start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(data))),
                                          ("x-amzn-RequestId", str(uuid.uuid4()))])
        return [data]

    def control(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """The emulator's own controls, for its tests: the clock."""
        path, method = environ["PATH_INFO"].rstrip("/"), environ["REQUEST_METHOD"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            if path == "/_emulator/clock" and method == "GET":
                return respond(start_response, 200, {"now": self.state.clock.now()})
            if path == "/_emulator/clock" and method == "POST":
                now = self.state.clock.advance(float(body.get("advance_seconds", 0)))
                with self.state.lock:
                    self.state.tick()
                return respond(start_response, 200, {"now": now})
        except (ValueError, TypeError) as e:
            return respond(start_response, 400, {"message": str(e)})
        return respond(start_response, 404, {"message": f"no emulator control {method} {path}"})

    def route(self, method: str, s: list[str], trailing: bool) -> Callable | None:
        st = self.state
        if s == ["backup-jobs"] and method == "PUT":
            return lambda a, r, s, q, b, h: st.start_backup_job(a, r, b, h)
        if s == ["copy-jobs"] and method == "PUT":
            return lambda a, r, s, q, b, h: st.start_copy_job(a, r, b, h)
        if s[0] in ("backup-jobs", "copy-jobs") and method == "GET":
            kind = "backup" if s[0] == "backup-jobs" else "copy"
            key = "BackupJobs" if kind == "backup" else "CopyJobs"
            if len(s) == 1:
                return lambda a, r, s, q, b, h: page([j.describe() for j in st.list_jobs(a, r, kind, q)], q, key)
            return lambda a, r, s, q, b, h: self.describe_job(a, r, kind, s[1])
        if s[0] == "restore-jobs":
            if len(s) == 1 and method == "PUT":
                return lambda a, r, s, q, b, h: restore_jobs.start_restore_job(st, a, r, b, h, not_found, invalid, iso)
            if len(s) == 1 and method == "GET":
                return lambda a, r, s, q, b, h: page(list_restore_jobs(st, a, r, q), q, "RestoreJobs")
            if len(s) == 2 and method == "GET":
                return lambda a, r, s, q, b, h: restore_jobs.job_in(st, a, r, s[1], not_found).describe()
            if len(s) == 3 and s[2] == "metadata" and method == "GET":
                return lambda a, r, s, q, b, h: {
                    "RestoreJobId": s[1], "Metadata": restore_jobs.job_in(st, a, r, s[1], not_found).metadata}
            if len(s) == 3 and s[2] == "validations" and method == "PUT":
                return lambda a, r, s, q, b, h: restore_jobs.put_validation(st, a, r, s[1], b, not_found, invalid)
        if s[0] == "restore-testing":
            return restore_testing.route(st, method, s)
        if s == ["scan", "job"] and method == "PUT":
            return lambda a, r, s, q, b, h: scan_jobs.start_scan_job(st, a, r, b, h, invalid, iso)
        if s[:2] == ["scan", "jobs"] and method == "GET":
            if len(s) == 2:
                return lambda a, r, s, q, b, h: page(scan_jobs.list_scan_jobs(st, a, r, q), q, "ScanJobs",
                                                     ("MaxResults", "NextToken"))
            return lambda a, r, s, q, b, h: self.describe_scan_job(a, r, s[2])
        if len(s) == 3 and s[0] == "backup-vaults" and s[2] == "vault-lock" and method == "PUT":
            return lambda a, r, s, q, b, h: st.put_vault_lock(a, r, s[1], b, h)
        if len(s) == 3 and s[0] == "backup-vaults" and s[2] == "access-policy":
            if method == "PUT":
                return lambda a, r, s, q, b, h: st.put_access_policy(a, r, s[1], b)
            if method == "GET":
                return lambda a, r, s, q, b, h: st.get_access_policy(a, r, s[1])
            if method == "DELETE":
                return lambda a, r, s, q, b, h: st.delete_access_policy(a, r, s[1])
        if len(s) >= 3 and s[0] == "backup-vaults" and s[2] == "recovery-points":
            if len(s) == 3 and method == "GET":
                return lambda a, r, s, q, b, h: page(
                    [p.describe() for p in st.list_points(a, r, s[1], q)], q, "RecoveryPoints")
            if len(s) == 4 and method == "GET":
                return lambda a, r, s, q, b, h: st.point_in(a, r, s[1], s[3]).describe()
            if len(s) == 4 and method == "POST":
                return lambda a, r, s, q, b, h: st.update_lifecycle(a, r, s[1], s[3], b)
            if len(s) == 4 and method == "DELETE":
                return lambda a, r, s, q, b, h: st.delete_recovery_point(a, r, s[1], s[3])
        if s[0] == "resources" and method == "GET":
            if len(s) == 1:
                return lambda a, r, s, q, b, h: page(self.protected(a, r), q, "Results")
            if len(s) == 3 and s[2] == "restore-jobs":
                return lambda a, r, s, q, b, h: page(
                    restore_jobs.list_by_protected_resource(st, a, r, s[1], q, invalid, parse_time), q, "RestoreJobs")
            if len(s) == 3 and s[2] == "recovery-points":
                return lambda a, r, s, q, b, h: page(
                    [p.by_resource() for p in sorted(st.points.values(), key=lambda p: p.created, reverse=True)
                     if (p.account, p.region, p.resource_arn) == (a, r, s[1])],
                    q, "RecoveryPoints")
        return None

    def describe_job(self, account: str, region: str, kind: str, job_id: str) -> dict:
        job = self.state.jobs.get(job_id)
        if job is None or job.kind != kind or (job.account, job.region) != (account, region):
            raise not_found(f"{'Backup' if kind == 'backup' else 'Copy'} job {job_id} not found")
        return job.describe() if kind == "backup" else {"CopyJob": job.describe()}

    def describe_scan_job(self, account: str, region: str, job_id: str) -> dict:
        job = self.state.scan_jobs.get(job_id)
        if job is None or (job.account, job.region) != (account, region):
            raise not_found(f"Scan job {job_id} not found")
        return job.describe()

    def protected(self, account: str, region: str) -> list[dict]:
        latest = [p for (a, r, _), p in self.state.protected.items() if (a, r) == (account, region)]
        return [
            {
                "ResourceArn": p.resource_arn,
                "ResourceType": p.resource_type,
                "LastBackupTime": p.created,
                "LastBackupVaultArn": p.vault_arn,
                "LastRecoveryPointArn": p.arn,
            }
            for p in latest
        ]

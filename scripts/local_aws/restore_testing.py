"""Restore testing for the local emulator (moto has none): restore testing plans and selections
over REST-JSON, and the scheduled runs that start their restore jobs.

  PUT    /restore-testing/plans                                 CreateRestoreTestingPlan
  GET    /restore-testing/plans                                 ListRestoreTestingPlans
  GET/PUT/DELETE /restore-testing/plans/{name}                  Get/Update/DeleteRestoreTestingPlan
  PUT    /restore-testing/plans/{name}/selections               CreateRestoreTestingSelection
  GET    /restore-testing/plans/{name}/selections               ListRestoreTestingSelections
  GET/PUT/DELETE /restore-testing/plans/{name}/selections/{sel} Get/Update/DeleteRestoreTestingSelection
  GET    /restore-testing/inferred-metadata                     GetRestoreTestingInferredMetadata

"When the scheduled time in your plan arrives, AWS Backup starts restore jobs based on your plan"
("Restore testing"): each plan's schedule is read against the emulator's clock, so a test that
moves the clock past a plan's next scheduled time sees the run AWS would have made then. A run
picks, for every protected resource of every selection, one recovery point by the plan's
RecoveryPointSelection and restores it through restore_jobs.py with the metadata AWS Backup
infers ("Restore testing inferred metadata"), overridden by the selection's
RestoreMetadataOverrides.
"""

from __future__ import annotations

import fnmatch
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from moto.dynamodb.models import dynamodb_backends
from moto.ec2.models import ec2_backends
from moto.efs.models import efs_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends

import restore_jobs
from api_error import ApiError
from schedule_expression import Schedule, ScheduleError

DAY = 86_400
# "RestoreTestingPlanForCreate" / "RestoreTestingSelectionForCreate": names of "only alphanumeric
# characters and underscores", "Maximum length is 50".
NAME = re.compile(r"^[a-zA-Z0-9_]{1,50}$")
ALGORITHMS = ("LATEST_WITHIN_WINDOW", "RANDOM_WITHIN_WINDOW")
POINT_TYPES = ("CONTINUOUS", "SNAPSHOT")
# "RestoreTestingSelectionForCreate", ProtectedResourceType: the supported resource types.
RESOURCE_TYPES = ("Aurora", "DocumentDB", "DynamoDB", "EBS", "EC2", "EFS", "FSx", "Neptune", "RDS", "S3")
# "RestoreTestingSelectionForCreate": "up to 30 specific protected resource ARNs".
MAX_ARNS = 30
# "Restore testing inferred metadata", the Overridable metadata column (keys are not case
# sensitive). Types not listed here take any override.
OVERRIDABLE = {
    "DynamoDB": {"encryptiontype", "kmsmasterkeyarn"},
    "EBS": {"availabilityzone", "iops", "kmskeyid", "throughput", "volumesize", "volumetype"},
    "EC2": {"iaminstanceprofilename", "instancetype", "requireimdsv2", "securitygroupids", "subnetid"},
}
# A run never catches up on more missed schedules than this (a clock moved years ahead).
MAX_RUNS_PER_TICK = 1_000

chooser = random.Random()


def missing(message: str) -> ApiError:
    return ApiError("MissingParameterValueException", message)


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message)


def not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message)


@dataclass
class Selection:
    name: str
    plan: "Plan"
    iam_role_arn: str
    resource_type: str
    arns: list[str] | None
    conditions: dict[str, list[dict[str, str]]] | None
    overrides: dict[str, str]
    validation_window_hours: int | None
    created: float
    creator_request_id: str | None = None
    # The emulator's `x-emulator-duration` on CreateRestoreTestingSelection: how long the restores
    # of this selection's runs take (AWS decides that; a test steers it).
    restore_duration: float = 0.0

    def for_list(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "CreationTime": self.created,
            "IamRoleArn": self.iam_role_arn,
            "ProtectedResourceType": self.resource_type,
            "RestoreTestingPlanName": self.plan.name,
            "RestoreTestingSelectionName": self.name,
        }
        if self.validation_window_hours is not None:
            out["ValidationWindowHours"] = self.validation_window_hours
        return out

    def for_get(self) -> dict[str, Any]:
        out = self.for_list()
        if self.arns is not None:
            out["ProtectedResourceArns"] = list(self.arns)
        if self.conditions is not None:
            out["ProtectedResourceConditions"] = self.conditions
        if self.overrides:
            out["RestoreMetadataOverrides"] = dict(self.overrides)
        if self.creator_request_id:
            out["CreatorRequestId"] = self.creator_request_id
        return out


@dataclass
class Plan:
    name: str
    arn: str
    account: str
    region: str
    point_selection: dict[str, Any]
    schedule_expression: str
    timezone: str | None
    start_window_hours: int
    created: float
    schedule: Schedule
    next_run: float | None
    creator_request_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    updated: float | None = None
    last_execution: float | None = None
    selections: dict[str, Selection] = field(default_factory=dict)

    def for_list(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "CreationTime": self.created,
            "RestoreTestingPlanArn": self.arn,
            "RestoreTestingPlanName": self.name,
            "ScheduleExpression": self.schedule_expression,
            "StartWindowHours": self.start_window_hours,
        }
        if self.timezone:
            out["ScheduleExpressionTimezone"] = self.timezone
        if self.updated is not None:
            out["LastUpdateTime"] = self.updated
        if self.last_execution is not None:
            out["LastExecutionTime"] = self.last_execution
        return out

    def for_get(self) -> dict[str, Any]:
        out = self.for_list()
        out["RecoveryPointSelection"] = self.point_selection
        if self.creator_request_id:
            out["CreatorRequestId"] = self.creator_request_id
        return out


# --- validation -----------------------------------------------------------------------------

def check_name(kind: str, name: Any) -> str:
    if not name:
        raise missing(f"{kind} is required")
    if not isinstance(name, str) or not NAME.match(name):
        raise invalid(f"Invalid {kind} {name!r}: use 1 to 50 alphanumeric characters and underscores")
    return name


def check_point_selection(selection: Any) -> dict[str, Any]:
    """"RestoreTestingRecoveryPointSelection": Algorithm, RecoveryPointTypes and IncludeVaults are
    required; SelectionWindowDays is 1 to 365 and defaults to 30; ExcludeVaults defaults to []."""
    if not isinstance(selection, dict):
        raise missing("RecoveryPointSelection is required")
    for key in ("Algorithm", "RecoveryPointTypes", "IncludeVaults"):
        if not selection.get(key):
            raise missing(f"RecoveryPointSelection.{key} is required")
    if selection["Algorithm"] not in ALGORITHMS:
        raise invalid(f"RecoveryPointSelection.Algorithm must be one of {', '.join(ALGORITHMS)}")
    if any(t not in POINT_TYPES for t in selection["RecoveryPointTypes"]):
        raise invalid(f"RecoveryPointSelection.RecoveryPointTypes must be {' and/or '.join(POINT_TYPES)}")
    days = selection.get("SelectionWindowDays", 30)
    if not isinstance(days, int) or not 1 <= days <= 365:
        raise invalid("RecoveryPointSelection.SelectionWindowDays must be an integer from 1 to 365")
    return {
        "Algorithm": selection["Algorithm"],
        "IncludeVaults": list(selection["IncludeVaults"]),
        "ExcludeVaults": list(selection.get("ExcludeVaults") or []),
        "RecoveryPointTypes": list(selection["RecoveryPointTypes"]),
        "SelectionWindowDays": days,
    }


def check_start_window(hours: Any) -> int:
    """"StartWindowHours": defaults to 24 hours, at most 168 hours (one week)."""
    if hours is None:
        return 24
    if not isinstance(hours, int) or not 1 <= hours <= 168:
        raise invalid("StartWindowHours must be an integer from 1 to 168")
    return hours


def check_schedule(expression: Any, zone: Any) -> Schedule:
    if not expression:
        raise missing("ScheduleExpression is required")
    try:
        return Schedule(expression, zone)
    except ScheduleError as e:
        raise invalid(str(e)) from None


def check_resources(resource_type: str, arns: Any, conditions: Any) -> None:
    """"CreateRestoreTestingSelection": the resources are ProtectedResourceArns (up to 30 ARNs, or
    the wildcard ["*"], not both) or ProtectedResourceConditions, which go with the wildcard only:
    "Cannot select by both protected resource types AND specific ARNs. Request will fail if both
    are included.\""""
    if arns is None and conditions is None:
        raise missing("One of ProtectedResourceArns and ProtectedResourceConditions is required")
    if arns is not None:
        if not isinstance(arns, list) or not arns:
            raise invalid("ProtectedResourceArns must list ARNs or be [\"*\"]")
        if "*" in arns and len(arns) > 1:
            raise invalid("ProtectedResourceArns takes specific ARNs or the wildcard [\"*\"], not both")
        if len(arns) > MAX_ARNS:
            raise invalid(f"ProtectedResourceArns takes at most {MAX_ARNS} ARNs")
        if conditions is not None and arns != ["*"]:
            raise invalid("ProtectedResourceConditions cannot be combined with specific ProtectedResourceArns")
    if conditions is not None:
        if not isinstance(conditions, dict) or set(conditions) - {"StringEquals", "StringNotEquals"}:
            raise invalid("ProtectedResourceConditions takes StringEquals and StringNotEquals")
        for pairs in conditions.values():
            for pair in pairs:
                # "KeyValue": "The key can't start with aws:".
                key = pair.get("Key") or ""
                if not key or key.lower().startswith("aws:"):
                    raise invalid(f"Invalid condition key {key!r}: a tag key that does not start with aws:")
    if resource_type not in RESOURCE_TYPES:
        raise invalid(f"ProtectedResourceType must be one of {', '.join(RESOURCE_TYPES)}")


def check_overrides(resource_type: str, overrides: Any) -> dict[str, str]:
    if overrides is None:
        return {}
    if not isinstance(overrides, dict):
        raise invalid("RestoreMetadataOverrides must be a map of strings")
    allowed = OVERRIDABLE.get(resource_type)
    refused = sorted(k for k in overrides if allowed is not None and k.lower() not in allowed)
    if refused:
        raise invalid(f"RestoreMetadataOverrides cannot override {', '.join(refused)} for {resource_type}")
    return dict(overrides)


def check_validation_window(hours: Any) -> int | None:
    """"ValidationWindowHours": "an integer between 0 and 168"."""
    if hours is None:
        return None
    if not isinstance(hours, int) or not 0 <= hours <= 168:
        raise invalid("ValidationWindowHours must be an integer from 0 to 168")
    return hours


# --- plans ----------------------------------------------------------------------------------

def plan_in(state, account: str, region: str, name: str) -> Plan:
    plan = state.testing_plans.get((account, region, name))
    if plan is None:
        raise not_found(f"Restore testing plan {name} does not exist")
    return plan


def create_plan(state, account: str, region: str, body: dict) -> tuple[int, dict]:
    spec = body.get("RestoreTestingPlan")
    if not isinstance(spec, dict):
        raise missing("RestoreTestingPlan is required")
    name = check_name("RestoreTestingPlanName", spec.get("RestoreTestingPlanName"))
    point_selection = check_point_selection(spec.get("RecoveryPointSelection"))
    schedule = check_schedule(spec.get("ScheduleExpression"), spec.get("ScheduleExpressionTimezone"))
    start_window = check_start_window(spec.get("StartWindowHours"))
    if (account, region, name) in state.testing_plans:
        raise ApiError("AlreadyExistsException", f"Restore testing plan {name} already exists")
    now = state.clock.now()
    plan = Plan(
        name=name, arn=f"arn:aws:backup:{region}:{account}:restore-testing-plan:{name}-{uuid.uuid4()}",
        account=account, region=region, point_selection=point_selection,
        schedule_expression=spec["ScheduleExpression"], timezone=spec.get("ScheduleExpressionTimezone"),
        start_window_hours=start_window, created=now, schedule=schedule, next_run=schedule.next_after(now),
        creator_request_id=body.get("CreatorRequestId"), tags=dict(body.get("Tags") or {}),
    )
    state.testing_plans[(account, region, name)] = plan
    return 201, {"CreationTime": plan.created, "RestoreTestingPlanArn": plan.arn, "RestoreTestingPlanName": name}


def update_plan(state, account: str, region: str, name: str, body: dict) -> dict:
    plan = plan_in(state, account, region, name)
    spec = body.get("RestoreTestingPlan")
    if not isinstance(spec, dict):
        raise missing("RestoreTestingPlan is required")
    point_selection = (check_point_selection(spec["RecoveryPointSelection"])
                       if "RecoveryPointSelection" in spec else plan.point_selection)
    expression = spec.get("ScheduleExpression") or plan.schedule_expression
    zone = spec.get("ScheduleExpressionTimezone", plan.timezone)
    schedule = check_schedule(expression, zone)
    start_window = check_start_window(spec.get("StartWindowHours", plan.start_window_hours))
    now = state.clock.now()
    plan.point_selection, plan.schedule_expression, plan.timezone = point_selection, expression, zone
    plan.schedule, plan.next_run, plan.start_window_hours = schedule, schedule.next_after(now), start_window
    plan.updated = now
    return {"CreationTime": plan.created, "RestoreTestingPlanArn": plan.arn, "RestoreTestingPlanName": name,
            "UpdateTime": now}


def delete_plan(state, account: str, region: str, name: str) -> tuple[int, dict]:
    """"DeleteRestoreTestingPlan": "Deletion can only successfully occur if all associated restore
    testing selections are deleted first"; its only documented error is InvalidRequestException."""
    plan = state.testing_plans.get((account, region, name))
    if plan is None:
        raise restore_jobs.invalid_request(f"Restore testing plan {name} does not exist")
    if plan.selections:
        raise restore_jobs.invalid_request(
            f"Restore testing plan {name} still has restore testing selections "
            f"({', '.join(sorted(plan.selections))}); delete them first")
    del state.testing_plans[(account, region, name)]
    return 204, {}


def list_plans(state, account: str, region: str, query: dict) -> dict:
    plans = sorted((p for (a, r, _), p in state.testing_plans.items() if (a, r) == (account, region)),
                   key=lambda p: p.created)
    return page([p.for_list() for p in plans], query, "RestoreTestingPlans")


def page(items: list, query: dict, key: str) -> dict:
    """Pages of ListRestoreTestingPlans / ListRestoreTestingSelections (MaxResults 1 to 1000)."""
    try:
        start = int(query.get("NextToken") or 0)
        size = int(query.get("MaxResults") or 1000)
    except ValueError:
        raise invalid("Invalid NextToken or MaxResults") from None
    if not 1 <= size <= 1000:
        raise invalid("MaxResults must be from 1 to 1000")
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


# --- selections -----------------------------------------------------------------------------

def selection_in(plan: Plan, name: str) -> Selection:
    selection = plan.selections.get(name)
    if selection is None:
        raise not_found(f"Restore testing selection {name} does not exist in plan {plan.name}")
    return selection


def create_selection(state, account: str, region: str, plan_name: str, body: dict,
                     headers: dict | None = None) -> tuple[int, dict]:
    plan = plan_in(state, account, region, plan_name)
    spec = body.get("RestoreTestingSelection")
    if not isinstance(spec, dict):
        raise missing("RestoreTestingSelection is required")
    name = check_name("RestoreTestingSelectionName", spec.get("RestoreTestingSelectionName"))
    for key in ("IamRoleArn", "ProtectedResourceType"):
        if not spec.get(key):
            raise missing(f"RestoreTestingSelection.{key} is required")
    resource_type = spec["ProtectedResourceType"]
    check_resources(resource_type, spec.get("ProtectedResourceArns"), spec.get("ProtectedResourceConditions"))
    overrides = check_overrides(resource_type, spec.get("RestoreMetadataOverrides"))
    window = check_validation_window(spec.get("ValidationWindowHours"))
    if name in plan.selections:
        raise ApiError("AlreadyExistsException", f"Restore testing selection {name} already exists in plan {plan_name}")
    selection = Selection(
        name=name, plan=plan, iam_role_arn=spec["IamRoleArn"], resource_type=resource_type,
        arns=spec.get("ProtectedResourceArns"), conditions=spec.get("ProtectedResourceConditions"),
        overrides=overrides, validation_window_hours=window, created=state.clock.now(),
        creator_request_id=body.get("CreatorRequestId"),
        restore_duration=restore_jobs.duration_of(headers or {}),
    )
    plan.selections[name] = selection
    return 201, {"CreationTime": selection.created, "RestoreTestingPlanArn": plan.arn,
                 "RestoreTestingPlanName": plan.name, "RestoreTestingSelectionName": name}


def update_selection(state, account: str, region: str, plan_name: str, name: str, body: dict) -> dict:
    """"UpdateRestoreTestingSelection": everything but the name and type can change."""
    plan = plan_in(state, account, region, plan_name)
    selection = selection_in(plan, name)
    spec = body.get("RestoreTestingSelection")
    if not isinstance(spec, dict):
        raise missing("RestoreTestingSelection is required")
    arns = spec.get("ProtectedResourceArns", selection.arns)
    conditions = spec.get("ProtectedResourceConditions", selection.conditions)
    check_resources(selection.resource_type, arns, conditions)
    overrides = (check_overrides(selection.resource_type, spec["RestoreMetadataOverrides"])
                 if "RestoreMetadataOverrides" in spec else selection.overrides)
    window = (check_validation_window(spec["ValidationWindowHours"])
              if "ValidationWindowHours" in spec else selection.validation_window_hours)
    selection.iam_role_arn = spec.get("IamRoleArn") or selection.iam_role_arn
    selection.arns, selection.conditions, selection.overrides = arns, conditions, overrides
    selection.validation_window_hours = window
    return {"CreationTime": selection.created, "RestoreTestingPlanArn": plan.arn, "RestoreTestingPlanName": plan.name,
            "RestoreTestingSelectionName": name, "UpdateTime": state.clock.now()}


def delete_selection(state, account: str, region: str, plan_name: str, name: str) -> tuple[int, dict]:
    plan = plan_in(state, account, region, plan_name)
    selection_in(plan, name)
    del plan.selections[name]
    return 204, {}


# --- runs -----------------------------------------------------------------------------------

def run_due_plans(state, iso: Callable[[float], str]) -> None:
    """Every plan whose scheduled time has come by the emulator's clock runs, once per scheduled
    time, as of that time."""
    now = state.clock.now()
    for plan in list(state.testing_plans.values()):
        for _ in range(MAX_RUNS_PER_TICK):
            if plan.next_run is None or plan.next_run > now:
                break
            run_plan(state, plan, plan.next_run, iso)
            plan.next_run = plan.schedule.next_after(plan.next_run)


def run_plan(state, plan: Plan, at: float, iso) -> None:
    plan.last_execution = at
    for selection in list(plan.selections.values()):
        for point in chosen_points(state, plan, selection, at):
            metadata = with_overrides(inferred_metadata(point), selection.overrides)
            restore_jobs.run_restore(state, point, selection.iam_role_arn, metadata, iso, created=at,
                                     testing_plan_arn=plan.arn, duration=selection.restore_duration,
                                     validation_window_hours=selection.validation_window_hours)


def chosen_points(state, plan: Plan, selection: Selection, at: float) -> list:
    """One recovery point per protected resource of the selection: the latest or a random one
    ("RestoreTestingRecoveryPointSelection": Algorithm) among the points created within
    SelectionWindowDays before the run ("calculated from the actual job execution time"), in the
    included and not excluded vaults, of the allowed recovery point types. Every recovery point
    here is a snapshot (continuous backups are not modelled)."""
    rule = plan.point_selection
    if "SNAPSHOT" not in rule["RecoveryPointTypes"]:
        return []
    earliest = at - rule["SelectionWindowDays"] * DAY
    by_resource: dict[str, list] = {}
    for point in state.points.values():
        if ((point.account, point.region) == (plan.account, plan.region)
                and point.resource_type == selection.resource_type and point.status == "COMPLETED"
                and earliest <= point.created <= at
                and point.calculated_lifecycle().get("DeleteAt", float("inf")) > at
                and vault_eligible(point.vault_arn, rule["IncludeVaults"], rule["ExcludeVaults"])
                and selected(selection, point.account, point.region, point.resource_arn)):
            by_resource.setdefault(point.resource_arn, []).append(point)
    chosen = []
    for resource in sorted(by_resource):
        points = sorted(by_resource[resource], key=lambda p: p.created)
        chosen.append(points[-1] if rule["Algorithm"] == "LATEST_WITHIN_WINDOW" else chooser.choice(points))
    return chosen


def vault_eligible(vault_arn: str, include: list[str], exclude: list[str]) -> bool:
    """IncludeVaults: ["*"], vault ARNs, or ARNs with wildcards ("arn:aws:backup:*:*:backup-vault:asdf-*");
    ExcludeVaults: ARNs or selectors that take vaults out again."""
    def matches(patterns: list[str]) -> bool:
        return any(p == "*" or fnmatch.fnmatchcase(vault_arn, p) for p in patterns)
    return matches(include) and not matches(exclude)


def selected(selection: Selection, account: str, region: str, resource_arn: str) -> bool:
    if selection.arns and selection.arns != ["*"]:
        return resource_arn in selection.arns
    if not selection.conditions:
        return True
    tags = resource_tags(account, region, selection.resource_type, resource_arn)
    equal = all(tags.get(c["Key"]) == c["Value"] for c in selection.conditions.get("StringEquals", []))
    not_equal = all(tags.get(c["Key"]) != c["Value"] for c in selection.conditions.get("StringNotEquals", []))
    return equal and not_equal


def resource_tags(account: str, region: str, resource_type: str, resource_arn: str) -> dict[str, str]:
    """The protected resource's tags as they are now in the local AWS ({} when it is gone)."""
    name = resource_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    try:
        if resource_type == "DynamoDB":
            pairs = dynamodb_backends[account][region].list_tags_of_resource(resource_arn)
            return {p["Key"]: p["Value"] for p in pairs}
        if resource_type in ("EBS", "EC2"):
            return dict(ec2_backends[account][region].tags.get(name, {}))
        if resource_type in ("RDS", "Aurora", "Neptune", "DocumentDB"):
            pairs = rds_backends[account][region].list_tags_for_resource(resource_arn)
            return {p["Key"]: p["Value"] for p in pairs}
        if resource_type == "EFS":
            pairs = efs_backends[account][region].list_tags_for_resource(name)
            return {p["Key"]: p["Value"] for p in pairs}
        if resource_type == "S3":
            backend = s3_backends[account]["aws"]
            return dict(backend.tagger.get_tag_dict_for_resource(backend.get_bucket(name).arn))
    except Exception:  # the resource no longer exists
        return {}
    return {}


def inferred_metadata(point) -> dict[str, str]:
    """"Restore testing inferred metadata": DynamoDB `targetTableName` "set to random value
    starting with awsbackup-restore-test-", `deletionProtection` false, `encryptionType` Default;
    EBS `availabilityZone` "a random availability zone", `encrypted` true; EC2
    `disableApiTermination` false, `requiredImdsV2` true, `instanceType` the recovery point's; EFS
    `encrypted` true, `file-system-id` the recovery point's, `kmsKeyId` alias/aws/elasticfilesystem,
    `newFileSystem` true, `performanceMode` generalPurpose; S3 a new bucket named
    awsbackup-restore-test-..., encrypted. RDS instances and Aurora clusters get a
    `DBInstanceIdentifier` / `DBClusterIdentifier` of the same awsbackup-restore-test- form. Other
    types get none, so their restore fails as restore_jobs.py fails them."""
    suffix = uuid.uuid4().hex[:12]
    if point.resource_type == "DynamoDB":
        return {"targetTableName": f"awsbackup-restore-test-{suffix}", "deletionProtection": "false",
                "encryptionType": "Default"}
    if point.resource_type == "EBS":
        zones = [z.name for z in ec2_backends[point.account][point.region].describe_availability_zones()]
        return {"availabilityZone": chooser.choice(zones), "encrypted": "true"}
    if point.resource_type == "RDS":
        return {"DBInstanceIdentifier": f"awsbackup-restore-test-{suffix}"}
    if point.resource_type == "Aurora":
        return {"DBClusterIdentifier": f"awsbackup-restore-test-{suffix}"}
    if point.resource_type == "S3":
        return {"DestinationBucketName": f"awsbackup-restore-test-{suffix}", "NewBucket": "true",
                "Encrypted": "true", "EncryptionType": "SSE_S3"}
    if point.resource_type == "EFS":
        return {"file-system-id": point.resource_arn.rsplit("/", 1)[-1], "newFileSystem": "true",
                "Encrypted": "true", "KmsKeyId": "alias/aws/elasticfilesystem",
                "PerformanceMode": "generalPurpose"}
    if point.resource_type == "EC2":
        return {"disableApiTermination": "false", "requireImdsV2": "true", "InstanceType": source_instance_type(point)}
    return {}


def source_instance_type(point) -> str:
    """"instanceType value is set to the instanceType of the recovery point being restored"."""
    try:
        return ec2_backends[point.account][point.region].get_instance(point.resource_arn.rsplit("/", 1)[-1]).instance_type
    except Exception:  # the instance is gone; the AMI does not say
        return "t3.micro"


def with_overrides(metadata: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """Overrides replace inferred keys whatever their case ("key values are not case sensitive")."""
    out = dict(metadata)
    spelled = {k.lower(): k for k in out}
    for key, value in overrides.items():
        out[spelled.get(key.lower(), key)] = value
    return out


def get_inferred_metadata(state, account: str, region: str, query: dict) -> dict:
    """GetRestoreTestingInferredMetadata: what a restore test of this recovery point would use."""
    vault, arn = query.get("BackupVaultName"), query.get("RecoveryPointArn")
    if not (vault and arn):
        raise missing("BackupVaultName and RecoveryPointArn are required")
    point = state.point_in(account, region, vault, arn)
    return {"InferredMetadata": inferred_metadata(point)}


# --- routing --------------------------------------------------------------------------------

def route(state, method: str, s: list[str]) -> Callable | None:
    """The handler for a /restore-testing/... request, or None."""
    if s[:2] == ["restore-testing", "inferred-metadata"] and len(s) == 2 and method == "GET":
        return lambda a, r, s, q, b, h: get_inferred_metadata(state, a, r, q)
    if s[:2] != ["restore-testing", "plans"]:
        return None
    if len(s) == 2:
        return {"PUT": lambda a, r, s, q, b, h: create_plan(state, a, r, b),
                "GET": lambda a, r, s, q, b, h: list_plans(state, a, r, q)}.get(method)
    if len(s) == 3:
        return {"GET": lambda a, r, s, q, b, h: {"RestoreTestingPlan": plan_in(state, a, r, s[2]).for_get()},
                "PUT": lambda a, r, s, q, b, h: update_plan(state, a, r, s[2], b),
                "DELETE": lambda a, r, s, q, b, h: delete_plan(state, a, r, s[2])}.get(method)
    if len(s) == 4 and s[3] == "selections":
        return {"PUT": lambda a, r, s, q, b, h: create_selection(state, a, r, s[2], b, h),
                "GET": lambda a, r, s, q, b, h: page(
                    [x.for_list() for x in plan_in(state, a, r, s[2]).selections.values()], q,
                    "RestoreTestingSelections")}.get(method)
    if len(s) == 5 and s[3] == "selections":
        return {"GET": lambda a, r, s, q, b, h: {
                    "RestoreTestingSelection": selection_in(plan_in(state, a, r, s[2]), s[4]).for_get()},
                "PUT": lambda a, r, s, q, b, h: update_selection(state, a, r, s[2], s[4], b),
                "DELETE": lambda a, r, s, q, b, h: delete_selection(state, a, r, s[2], s[4])}.get(method)
    return None

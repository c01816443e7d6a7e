"""Restore testing plans run when their scheduled time comes by the emulator's clock ("Restore
testing": "When the scheduled time in your plan arrives, AWS Backup starts restore jobs based on
your plan"): the recovery point each selection gets ("RestoreTestingRecoveryPointSelection"), the
restore jobs and resources they make ("Restore testing inferred metadata"), the validation window
and the deletion of what was restored ("Restore testing validation", "PutRestoreValidationResult")."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError
from conftest import Aws, advance_clock, details, emulator_now, inbox, unique

ROLE = "arn:aws:iam::123456789012:role/restore-testing"
DAY_SECONDS = 86_400


def table(aws: Aws, tags: dict[str, str] | None = None) -> str:
    name = unique("orders")
    aws.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    return f"arn:aws:dynamodb:{aws.region}:{aws.account}:table/{name}"


def backed_up(aws: Aws, vault: str, resource: str, at: float) -> str:
    return aws.backup_job(vault, resource, headers={"x-emulator-time": str(at)})["RecoveryPointArn"]


def once_in_two_hours(endpoint: str) -> tuple[float, str]:
    """A schedule that runs once, two hours from the emulator's now (whole minutes)."""
    at = datetime.fromtimestamp(emulator_now(endpoint) + 7200, timezone.utc).replace(second=0, microsecond=0)
    return at.timestamp(), f"cron({at.minute} {at.hour} {at.day} {at.month} ? {at.year})"


def plan(aws: Aws, schedule: str, **point_selection) -> tuple[str, str]:
    name = unique("drill").replace("-", "_")
    rule = {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"], "RecoveryPointTypes": ["SNAPSHOT"]}
    rule.update(point_selection)
    arn = aws.backup.create_restore_testing_plan(RestoreTestingPlan={
        "RestoreTestingPlanName": name, "ScheduleExpression": schedule, "RecoveryPointSelection": rule,
    })["RestoreTestingPlanArn"]
    return name, arn


def select(aws: Aws, plan_name: str, **spec) -> None:
    selection = {"RestoreTestingSelectionName": unique("sel").replace("-", "_"), "ProtectedResourceType": "DynamoDB",
                 "IamRoleArn": ROLE, "ProtectedResourceArns": ["*"]}
    selection.update(spec)
    aws.backup.create_restore_testing_selection(RestoreTestingPlanName=plan_name, RestoreTestingSelection=selection)


def jobs_of(aws: Aws, plan_arn: str) -> list[dict]:
    return aws.backup.list_restore_jobs(ByRestoreTestingPlanArn=plan_arn)["RestoreJobs"]


def table_exists(aws: Aws, arn: str) -> bool:
    try:
        aws.client("dynamodb").describe_table(TableName=arn.rsplit("/", 1)[-1])
        return True
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceNotFoundException"
        return False


def test_at_its_scheduled_time_a_plan_restores_the_latest_point_within_its_window_and_vaults(own_endpoint):
    aws = Aws(own_endpoint)
    queue = inbox(aws, {"source": ["aws.backup"], "detail-type": ["Restore Job State Change"]})
    included, included_arn = aws.vault()
    excluded, excluded_arn = aws.vault()
    source = table(aws)
    now = emulator_now(own_endpoint)
    backed_up(aws, included, source, now - 40 * DAY_SECONDS)           # before the 30-day window
    backed_up(aws, included, source, now - 2 * DAY_SECONDS)
    latest = backed_up(aws, included, source, now - DAY_SECONDS)
    backed_up(aws, excluded, source, now - 3600)                        # newer, but excluded
    at, schedule = once_in_two_hours(own_endpoint)
    name, arn = plan(aws, schedule, IncludeVaults=[included_arn, excluded_arn], ExcludeVaults=[excluded_arn])
    select(aws, name, ValidationWindowHours=1)

    assert jobs_of(aws, arn) == []
    advance_clock(own_endpoint, 7200 - 60)
    assert jobs_of(aws, arn) == [], "ran before its scheduled time"

    advance_clock(own_endpoint, 120)

    [job] = jobs_of(aws, arn)
    assert (job["RecoveryPointArn"], job["SourceResourceArn"], job["Status"]) == (latest, source, "COMPLETED")
    assert job["CreatedBy"] == {"RestoreTestingPlanArn": arn}
    assert job["CreationDate"].timestamp() == at and job["IamRoleArn"] == ROLE
    restored = job["CreatedResourceArn"]
    assert restored.rsplit("/", 1)[-1].startswith("awsbackup-restore-test-") and table_exists(aws, restored)
    metadata = aws.backup.get_restore_job_metadata(RestoreJobId=job["RestoreJobId"])["Metadata"]
    assert metadata["targetTableName"] == restored.rsplit("/", 1)[-1]
    assert aws.backup.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"][
        "LastExecutionTime"].timestamp() == at
    events = [d for d in details(aws, queue) if d["restoreJobId"] == job["RestoreJobId"]]
    assert [d.get("status", d.get("state")) for d in events] == ["CREATED", "PENDING", "RUNNING", "COMPLETED"]
    assert events[-1]["restoreTestingPlanArn"] == arn and events[-1]["createdResourceArn"] == restored
    by_resource = aws.backup.list_restore_jobs_by_protected_resource(ResourceArn=source)["RestoreJobs"]
    assert [j["RestoreJobId"] for j in by_resource] == [job["RestoreJobId"]]

    advance_clock(own_endpoint, 7 * DAY_SECONDS)
    assert len(jobs_of(aws, arn)) == 1, "a one-time schedule ran again"


def test_a_selection_restores_only_the_resources_its_tags_or_arns_name(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    daily, weekly, untagged = table(aws, {"backup": "daily"}), table(aws, {"backup": "weekly"}), table(aws)
    now = emulator_now(own_endpoint)
    for resource in (daily, weekly, untagged):
        backed_up(aws, vault, resource, now - 3600)
    at, schedule = once_in_two_hours(own_endpoint)
    by_tag, by_tag_arn = plan(aws, schedule)
    select(aws, by_tag, ProtectedResourceConditions={"StringEquals": [{"Key": "backup", "Value": "daily"}]})
    not_weekly, not_weekly_arn = plan(aws, schedule)
    select(aws, not_weekly, ProtectedResourceConditions={"StringNotEquals": [{"Key": "backup", "Value": "weekly"}]})
    by_arn, by_arn_arn = plan(aws, schedule)
    select(aws, by_arn, ProtectedResourceArns=[weekly])

    advance_clock(own_endpoint, 7200 + 60)

    def sources(plan_arn: str) -> list[str]:
        return sorted(j["SourceResourceArn"] for j in jobs_of(aws, plan_arn))
    assert sources(by_tag_arn) == [daily]
    assert sources(not_weekly_arn) == sorted([daily, untagged])
    assert sources(by_arn_arn) == [weekly]


def test_a_plan_for_continuous_points_only_restores_nothing_here(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    backed_up(aws, vault, table(aws), emulator_now(own_endpoint) - 3600)
    at, schedule = once_in_two_hours(own_endpoint)
    name, arn = plan(aws, schedule, RecoveryPointTypes=["CONTINUOUS"])
    select(aws, name)

    advance_clock(own_endpoint, 7200 + 60)

    assert jobs_of(aws, arn) == []
    assert aws.backup.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"][
        "LastExecutionTime"].timestamp() == at


def test_random_within_window_picks_among_the_points_in_the_window_only(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    source = table(aws)
    now = emulator_now(own_endpoint)
    in_window = {backed_up(aws, vault, source, now - d * DAY_SECONDS) for d in (1, 2, 3)}
    backed_up(aws, vault, source, now - 10 * DAY_SECONDS)
    name, arn = plan(aws, "cron(* * ? * * *)", Algorithm="RANDOM_WITHIN_WINDOW", SelectionWindowDays=7)
    select(aws, name)

    advance_clock(own_endpoint, 30 * 60)  # thirty runs, one a minute

    chosen = [j["RecoveryPointArn"] for j in jobs_of(aws, arn)]
    assert len(chosen) in (30, 31)
    assert set(chosen) <= in_window
    assert len(set(chosen)) > 1, "thirty random picks among three points were all the same"


def test_a_volume_is_restored_with_the_inferred_metadata_and_the_selections_overrides(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    volume = aws.client("ec2").create_volume(AvailabilityZone="eu-west-1a", Size=42)["VolumeId"]
    resource = f"arn:aws:ec2:{aws.region}:{aws.account}:volume/{volume}"
    backed_up(aws, vault, resource, emulator_now(own_endpoint) - 3600)
    at, schedule = once_in_two_hours(own_endpoint)
    name, arn = plan(aws, schedule)
    select(aws, name, ProtectedResourceType="EBS", ProtectedResourceArns=[resource],
           RestoreMetadataOverrides={"AvailabilityZone": "eu-west-1c"}, ValidationWindowHours=1)

    advance_clock(own_endpoint, 7200 + 60)

    [job] = jobs_of(aws, arn)
    metadata = aws.backup.get_restore_job_metadata(RestoreJobId=job["RestoreJobId"])["Metadata"]
    # Keys are not case sensitive: the override replaces the inferred availabilityZone.
    assert metadata == {"availabilityZone": "eu-west-1c", "encrypted": "true"}
    volume_id = job["CreatedResourceArn"].rsplit("/", 1)[-1]
    restored = aws.client("ec2").describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    assert (restored["AvailabilityZone"], restored["Size"]) == ("eu-west-1c", 42)


def test_a_validation_result_is_kept_within_the_window_and_the_restored_resources_are_then_deleted(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    first, second = table(aws), table(aws)
    for resource in (first, second):
        backed_up(aws, vault, resource, emulator_now(own_endpoint) - 3600)
    at, schedule = once_in_two_hours(own_endpoint)
    name, arn = plan(aws, schedule)
    select(aws, name, ValidationWindowHours=2)
    advance_clock(own_endpoint, 7200 + 60)
    jobs = {j["SourceResourceArn"]: j for j in jobs_of(aws, arn)}
    validated, unvalidated = jobs[first], jobs[second]

    aws.backup.put_restore_validation_result(RestoreJobId=validated["RestoreJobId"], ValidationStatus="VALIDATING")
    assert table_exists(aws, validated["CreatedResourceArn"]), "deleted while still validating"
    with pytest.raises(ClientError) as refused:
        aws.backup.put_restore_validation_result(RestoreJobId=validated["RestoreJobId"], ValidationStatus="SKIPPED")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    aws.backup.put_restore_validation_result(RestoreJobId=validated["RestoreJobId"], ValidationStatus="FAILED",
                                             ValidationStatusMessage="the table has no items")

    described = aws.backup.describe_restore_job(RestoreJobId=validated["RestoreJobId"])
    assert (described["ValidationStatus"], described["ValidationStatusMessage"]) == ("FAILED", "the table has no items")
    # "Once the optional validation completes or the validation window closes, AWS Backup deletes
    # the resources involved with the restore test."
    assert described["DeletionStatus"] == "SUCCESSFUL" and not table_exists(aws, validated["CreatedResourceArn"])
    assert table_exists(aws, unvalidated["CreatedResourceArn"])
    assert "DeletionStatus" not in aws.backup.describe_restore_job(RestoreJobId=unvalidated["RestoreJobId"])

    advance_clock(own_endpoint, 2 * 3600)

    assert not table_exists(aws, unvalidated["CreatedResourceArn"])
    closed = aws.backup.describe_restore_job(RestoreJobId=unvalidated["RestoreJobId"])
    assert closed["DeletionStatus"] == "SUCCESSFUL" and "ValidationStatus" not in closed
    with pytest.raises(ClientError) as late:
        aws.backup.put_restore_validation_result(RestoreJobId=unvalidated["RestoreJobId"],
                                                 ValidationStatus="SUCCESSFUL")
    assert late.value.response["Error"]["Code"] == "InvalidRequestException"


def test_without_a_validation_window_the_restored_resource_is_deleted_once_restored(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    backed_up(aws, vault, table(aws), emulator_now(own_endpoint) - 3600)
    at, schedule = once_in_two_hours(own_endpoint)
    name, arn = plan(aws, schedule)
    select(aws, name, ValidationWindowHours=0)

    advance_clock(own_endpoint, 7200 + 60)

    [job] = jobs_of(aws, arn)
    assert job["Status"] == "COMPLETED" and job["DeletionStatus"] == "SUCCESSFUL"
    assert not table_exists(aws, job["CreatedResourceArn"])


def test_the_inferred_metadata_of_a_point_is_what_a_restore_test_would_use(home):
    vault, _ = home.vault()
    point = home.backup_job(vault, table(home))["RecoveryPointArn"]

    inferred = home.backup.get_restore_testing_inferred_metadata(BackupVaultName=vault,
                                                                 RecoveryPointArn=point)["InferredMetadata"]

    assert inferred["targetTableName"].startswith("awsbackup-restore-test-")
    assert (inferred["deletionProtection"], inferred["encryptionType"]) == ("false", "Default")
    with pytest.raises(ClientError) as unknown:
        home.backup.get_restore_testing_inferred_metadata(BackupVaultName=vault, RecoveryPointArn=point + "x")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_updated_schedule_is_the_one_the_plan_runs_on(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    backed_up(aws, vault, table(aws), emulator_now(own_endpoint) - 3600)
    name, arn = plan(aws, "cron(0 0 1 1 ? 2199)")
    select(aws, name, ValidationWindowHours=1)
    at, schedule = once_in_two_hours(own_endpoint)

    aws.backup.update_restore_testing_plan(RestoreTestingPlanName=name,
                                           RestoreTestingPlan={"ScheduleExpression": schedule})
    advance_clock(own_endpoint, 7200 + 60)

    assert [j["CreationDate"].timestamp() for j in jobs_of(aws, arn)] == [at]


def test_a_selections_restores_take_their_duration_and_the_window_opens_when_they_complete(own_endpoint):
    aws = Aws(own_endpoint)
    vault, _ = aws.vault()
    resource = table(aws)
    backed_up(aws, vault, resource, emulator_now(own_endpoint) - 3600)
    at, schedule = once_in_two_hours(own_endpoint)
    name, arn = plan(aws, schedule)

    client = aws.backup

    def slow(request, **_):
        request.headers["x-emulator-duration"] = "2700"
    client.meta.events.register("before-sign.backup.CreateRestoreTestingSelection", slow)
    client.create_restore_testing_selection(RestoreTestingPlanName=name, RestoreTestingSelection={
        "RestoreTestingSelectionName": "slow", "ProtectedResourceType": "DynamoDB", "IamRoleArn": ROLE,
        "ProtectedResourceArns": ["*"], "ValidationWindowHours": 1})
    advance_clock(own_endpoint, 7200 + 60)

    (job,) = jobs_of(aws, arn)
    assert job["Status"] == "RUNNING" and "CompletionDate" not in job
    with pytest.raises(ClientError) as early:
        aws.backup.put_restore_validation_result(RestoreJobId=job["RestoreJobId"], ValidationStatus="SUCCESSFUL")
    assert early.value.response["Error"]["Code"] == "InvalidRequestException"

    advance_clock(own_endpoint, 2700)

    done = aws.backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])
    assert done["Status"] == "COMPLETED" and done["CreationDate"].timestamp() == at
    assert (done["CompletionDate"] - done["CreationDate"]).total_seconds() == 2700
    # The hour of validation counts from the completion: 75 minutes after the scheduled start,
    # 30 minutes after the completion, the window is still open.
    advance_clock(own_endpoint, 1800)
    aws.backup.put_restore_validation_result(RestoreJobId=job["RestoreJobId"], ValidationStatus="SUCCESSFUL")
    assert aws.backup.describe_restore_job(RestoreJobId=job["RestoreJobId"])["ValidationStatus"] == "SUCCESSFUL"

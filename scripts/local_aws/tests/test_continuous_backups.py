"""Continuous backups ("Continuous backups and point-in-time recovery (PITR)"): a backup plan's
rule with EnableContinuousBackup keeps one continuous recovery point per resource of a type that
supports it, which each of its jobs updates; on-demand copies of it are refused ("Copying
continuous backups")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from conftest import Aws, unique


def database(aws: Aws) -> str:
    name = unique("orders-db")
    aws.client("rds").create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t4g.micro", Engine="mysql",
                                         AllocatedStorage=20, MasterUsername="app",
                                         MasterUserPassword="not-a-real-secret-1")
    return f"arn:aws:rds:{aws.region}:{aws.account}:db:{name}"


def plan(aws: Aws, vault: str, continuous: bool) -> tuple[str, str]:
    """A backup plan with one rule into `vault`; returns the plan's id and the rule's id."""
    rule = {"RuleName": "pitr", "TargetBackupVaultName": vault, "Lifecycle": {"DeleteAfterDays": 35},
            "EnableContinuousBackup": continuous}
    plan_id = aws.backup.create_backup_plan(BackupPlan={"BackupPlanName": unique("plan"), "Rules": [rule]})[
        "BackupPlanId"]
    rules = aws.backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["Rules"]
    return plan_id, rules[0]["RuleId"]


def by_plan(aws: Aws, vault: str, resource: str, plan_id: str) -> dict:
    return aws.backup_job(vault, resource, headers={"x-emulator-plan": plan_id})


def copy(aws: Aws, vault: str, point: str) -> dict:
    _, destination = aws.vault()
    return aws.backup.start_copy_job(RecoveryPointArn=point, SourceBackupVaultName=vault,
                                     DestinationBackupVaultArn=destination,
                                     IamRoleArn=f"arn:aws:iam::{aws.account}:role/copy")


def test_a_continuous_rule_keeps_one_continuous_point_that_its_jobs_update(home):
    # GIVEN an RDS instance and a plan whose rule is continuous
    vault, _ = home.vault()
    resource = database(home)
    plan_id, rule_id = plan(home, vault, continuous=True)
    # WHEN the rule's job runs twice
    first = by_plan(home, vault, resource, plan_id)
    second = by_plan(home, vault, resource, plan_id)
    # THEN both name the same continuous point, the only one in the vault, created by that rule
    arn = first["RecoveryPointArn"]
    assert arn.startswith(f"arn:aws:backup:{home.region}:{home.account}:recovery-point:continuous:db-")
    assert second["RecoveryPointArn"] == arn
    points = home.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in points] == [arn]
    point = home.backup.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
    assert point["CreatedBy"]["BackupPlanId"] == plan_id and point["CreatedBy"]["BackupRuleId"] == rule_id
    assert point["Lifecycle"] == {"DeleteAfterDays": 35}


def test_a_continuous_point_deleted_is_made_again_by_the_next_job(home):
    # "Stopping or deleting continuous backups": the rule keeps running and creates a new point.
    vault, _ = home.vault()
    resource = database(home)
    plan_id, _ = plan(home, vault, continuous=True)
    first = by_plan(home, vault, resource, plan_id)["RecoveryPointArn"]
    home.backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=first)
    again = by_plan(home, vault, resource, plan_id)["RecoveryPointArn"]
    assert again != first and ":recovery-point:continuous:" in again


@pytest.mark.parametrize("case", ["on-demand", "snapshot rule", "unsupported type"])
def test_other_backups_are_snapshots(home, case):
    vault, _ = home.vault()
    resource = home.table_arn() if case == "unsupported type" else database(home)
    if case == "on-demand":
        job = home.backup_job(vault, resource)
    else:
        plan_id, _ = plan(home, vault, continuous=case == "unsupported type")
        job = by_plan(home, vault, resource, plan_id)
    assert ":continuous:" not in job["RecoveryPointArn"]
    assert by_plan(home, vault, resource, "not-a-plan-here")["RecoveryPointArn"] != job["RecoveryPointArn"]


def test_an_on_demand_copy_of_a_continuous_point_is_refused_and_of_a_snapshot_is_not(home):
    # GIVEN a continuous point and a snapshot of the same database
    vault, _ = home.vault()
    resource = database(home)
    plan_id, _ = plan(home, vault, continuous=True)
    continuous = by_plan(home, vault, resource, plan_id)["RecoveryPointArn"]
    snapshot = home.backup_job(vault, resource)["RecoveryPointArn"]
    # WHEN each is copied, THEN the continuous one is refused and no copy job exists for it
    with pytest.raises(ClientError) as refused:
        copy(home, vault, continuous)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "continuous" in refused.value.response["Error"]["Message"]
    assert home.backup.list_copy_jobs(BySourceRecoveryPointArn=continuous)["CopyJobs"] == []
    assert copy(home, vault, snapshot)["CopyJobId"]

"""A CloudFormation stack's backup is a composite job ("AWS CloudFormation stack backups"): a
parent job for the stack and a child job, with its ParentJobId, for each resource in it that
AWS Backup supports; ListBackupJobs finds the children by parent (ByParentJobId)."""

from __future__ import annotations

import json

from conftest import Aws, unique

def two_tables() -> dict:
    return {"Resources": {
        name: {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": unique(name.lower()),
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            },
        }
        for name in ("Orders", "Payments")
    }}


def stack_backup(aws: Aws, headers: dict | None = None) -> tuple[dict, list[dict]]:
    stack = aws.client("cloudformation").create_stack(StackName=unique("shop"), TemplateBody=json.dumps(two_tables()))
    vault, _ = aws.vault()
    parent = aws.backup_job(vault, stack["StackId"], headers=headers)
    children = aws.backup.list_backup_jobs(ByParentJobId=parent["BackupJobId"])["BackupJobs"]
    return parent, children


def test_a_stack_backup_is_a_parent_with_a_child_per_table(home):
    parent, children = stack_backup(home)
    assert parent["IsParent"] is True and parent["ResourceType"] == "CloudFormation"
    assert parent["State"] == "COMPLETED"
    assert parent["NumberOfChildJobs"] == 2 and parent["ChildJobsInState"] == {"COMPLETED": 2}
    assert {c["ResourceType"] for c in children} == {"DynamoDB"}
    assert all(c["ParentJobId"] == parent["BackupJobId"] and c["IsParent"] is False for c in children)


def test_failed_children_make_the_parent_partial(home):
    parent, children = stack_backup(home, {"x-emulator-fail-children": "DynamoDB:Table is being deleted"})
    assert parent["State"] == "PARTIAL"
    assert parent["ChildJobsInState"] == {"FAILED": 2}
    assert [c["State"] for c in children] == ["FAILED", "FAILED"]
    assert children[0]["StatusMessage"] == "Table is being deleted"


def composite_point(aws: Aws) -> tuple[str, str, dict]:
    """A stack's composite recovery point: its vault, its ARN and its backup job."""
    stack = aws.client("cloudformation").create_stack(StackName=unique("shop"), TemplateBody=json.dumps(two_tables()))
    vault, _ = aws.vault()
    parent = aws.backup_job(vault, stack["StackId"])
    return vault, parent["RecoveryPointArn"], parent


def test_a_stack_backup_is_a_composite_point_with_a_nested_point_per_table(home):
    vault, composite, _ = composite_point(home)
    points = home.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    parent = [p for p in points if p["RecoveryPointArn"] == composite][0]
    nested = [p for p in points if p["RecoveryPointArn"] != composite]
    assert parent["IsParent"] is True and parent["ResourceType"] == "CloudFormation"
    assert len(nested) == 2 and all(p["IsParent"] is False and p["ParentRecoveryPointArn"] == composite
                                    for p in nested)
    # "CompositeMemberIdentifier": the logical ID of the resource within the stack.
    assert {p["CompositeMemberIdentifier"] for p in nested} == {"Orders", "Payments"}


def test_a_copy_of_a_composite_point_is_a_parent_copy_job_with_a_child_per_nested_point(home):
    # GIVEN a stack's composite point
    vault, composite, _ = composite_point(home)
    destination_name, destination = home.vault()
    # WHEN it is copied
    started = home.backup.start_copy_job(RecoveryPointArn=composite, SourceBackupVaultName=vault,
                                         DestinationBackupVaultArn=destination,
                                         IamRoleArn=f"arn:aws:iam::{home.account}:role/copy")
    # THEN the copy is a parent job whose children copy the nested points
    assert started["IsParent"] is True
    parent = home.backup.describe_copy_job(CopyJobId=started["CopyJobId"])["CopyJob"]
    assert parent["IsParent"] is True and parent["State"] == "COMPLETED"
    assert parent["NumberOfChildJobs"] == 2 and parent["ChildJobsInState"] == {"COMPLETED": 2}
    children = home.backup.list_copy_jobs(ByParentJobId=started["CopyJobId"])["CopyJobs"]
    assert len(children) == 2
    assert all(c["ParentJobId"] == started["CopyJobId"] and c["IsParent"] is False for c in children)
    assert {c["CompositeMemberIdentifier"] for c in children} == {"Orders", "Payments"}
    # and the destination holds a composite point with its nested copies.
    copied = home.backup.list_recovery_points_by_backup_vault(BackupVaultName=destination_name)["RecoveryPoints"]
    copied_parent = [p for p in copied if p["IsParent"]]
    assert [p["RecoveryPointArn"] for p in copied_parent] == [parent["DestinationRecoveryPointArn"]]
    assert sorted(p.get("ParentRecoveryPointArn") for p in copied if not p["IsParent"]) == [
        parent["DestinationRecoveryPointArn"]] * 2
    assert {c["DestinationRecoveryPointArn"] for c in children} == {
        p["RecoveryPointArn"] for p in copied if not p["IsParent"]}


def test_a_composite_copy_whose_nested_copies_fail_is_partial(home):
    # GIVEN a composite point and a destination whose lock refuses the nested points' retention
    vault, composite, _ = composite_point(home)
    destination_name, destination = home.vault()
    home.backup.put_backup_vault_lock_configuration(BackupVaultName=destination_name, MinRetentionDays=30)
    # WHEN the composite point is copied with a shorter retention for the nested points
    started = home.backup.start_copy_job(RecoveryPointArn=composite, SourceBackupVaultName=vault,
                                         DestinationBackupVaultArn=destination, Lifecycle={"DeleteAfterDays": 7},
                                         IamRoleArn=f"arn:aws:iam::{home.account}:role/copy")
    # THEN the children fail and so does the parent (it is under the same lock).
    children = home.backup.list_copy_jobs(ByParentJobId=started["CopyJobId"])["CopyJobs"]
    assert [c["State"] for c in children] == ["FAILED", "FAILED"]
    parent = home.backup.describe_copy_job(CopyJobId=started["CopyJobId"])["CopyJob"]
    assert parent["ChildJobsInState"] == {"FAILED": 2}
    assert parent["State"] == "FAILED"


def test_a_composite_copy_with_a_nested_copy_that_fails_is_partial(home):
    # GIVEN a composite point kept 60 days, one of whose nested points was cut to 7 days, and a
    # destination whose lock keeps points 30 days at least
    stack = home.client("cloudformation").create_stack(StackName=unique("shop"), TemplateBody=json.dumps(two_tables()))
    vault, _ = home.vault()
    composite = home.backup_job(vault, stack["StackId"], lifecycle={"DeleteAfterDays": 60})["RecoveryPointArn"]
    points = home.backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    orders = [p for p in points if p.get("CompositeMemberIdentifier") == "Orders"][0]
    home.backup.update_recovery_point_lifecycle(BackupVaultName=vault, RecoveryPointArn=orders["RecoveryPointArn"],
                                                Lifecycle={"DeleteAfterDays": 7})
    destination_name, destination = home.vault()
    home.backup.put_backup_vault_lock_configuration(BackupVaultName=destination_name, MinRetentionDays=30)
    # WHEN the composite point is copied (each copy keeps its source's retention)
    started = home.backup.start_copy_job(RecoveryPointArn=composite, SourceBackupVaultName=vault,
                                         DestinationBackupVaultArn=destination,
                                         IamRoleArn=f"arn:aws:iam::{home.account}:role/copy")
    # THEN the Orders copy fails, the Payments copy completes, and the parent is PARTIAL.
    children = {c["CompositeMemberIdentifier"]: c for c in
                home.backup.list_copy_jobs(ByParentJobId=started["CopyJobId"])["CopyJobs"]}
    assert children["Orders"]["State"] == "FAILED" and children["Payments"]["State"] == "COMPLETED"
    parent = home.backup.describe_copy_job(CopyJobId=started["CopyJobId"])["CopyJob"]
    assert parent["State"] == "PARTIAL"
    assert parent["ChildJobsInState"] == {"FAILED": 1, "COMPLETED": 1}

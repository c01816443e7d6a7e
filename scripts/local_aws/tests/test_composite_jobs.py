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

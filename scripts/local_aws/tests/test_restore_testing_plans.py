"""Restore testing plans and selections: create, read, list, update and delete them, with the
refusals AWS documents ("CreateRestoreTestingPlan", "CreateRestoreTestingSelection",
"UpdateRestoreTestingPlan", "UpdateRestoreTestingSelection", "DeleteRestoreTestingPlan",
"RestoreTestingRecoveryPointSelection" in the AWS Backup API Reference)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from conftest import Aws, unique

ROLE = "arn:aws:iam::123456789012:role/restore-testing"


def plan_name() -> str:
    return unique("drill").replace("-", "_")


def create_plan(aws: Aws, name: str, **overrides) -> dict:
    plan = {
        "RestoreTestingPlanName": name,
        "ScheduleExpression": "cron(0 5 ? * MON *)",
        "RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"],
                                   "RecoveryPointTypes": ["SNAPSHOT"]},
    }
    plan.update(overrides)
    return aws.backup.create_restore_testing_plan(RestoreTestingPlan=plan)


def error_code(call) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"]


def test_a_plan_is_created_read_listed_and_updated_with_the_documented_defaults(home):
    name = plan_name()
    created = create_plan(home, name, ScheduleExpressionTimezone="Europe/Paris")

    assert created["RestoreTestingPlanName"] == name
    prefix = f"arn:aws:backup:eu-west-1:{home.account}:restore-testing-plan:{name}-"
    assert created["RestoreTestingPlanArn"].startswith(prefix)
    plan = home.backup.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"]
    # SelectionWindowDays "defaults to 30", ExcludeVaults to [], StartWindowHours "to 24 hours".
    assert plan["RecoveryPointSelection"]["SelectionWindowDays"] == 30
    assert plan["RecoveryPointSelection"]["ExcludeVaults"] == []
    assert plan["StartWindowHours"] == 24
    assert plan["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert "LastExecutionTime" not in plan
    listed = [p["RestoreTestingPlanName"] for p in home.backup.list_restore_testing_plans()["RestoreTestingPlans"]]
    assert name in listed

    updated = home.backup.update_restore_testing_plan(
        RestoreTestingPlanName=name,
        RestoreTestingPlan={"ScheduleExpression": "cron(0 6 ? * * *)", "StartWindowHours": 2})

    assert updated["UpdateTime"] >= updated["CreationTime"]
    plan = home.backup.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"]
    assert (plan["ScheduleExpression"], plan["StartWindowHours"]) == ("cron(0 6 ? * * *)", 2)
    assert plan["RecoveryPointSelection"]["Algorithm"] == "LATEST_WITHIN_WINDOW"
    assert "LastUpdateTime" in plan


@pytest.mark.parametrize("change, code", [
    ({"RestoreTestingPlanName": "has-dashes"}, "InvalidParameterValueException"),
    ({"RestoreTestingPlanName": "x" * 51}, "InvalidParameterValueException"),
    ({"ScheduleExpression": "every monday"}, "InvalidParameterValueException"),
    ({"ScheduleExpression": "cron(0 5 * * MON *)"}, "InvalidParameterValueException"),
    ({"ScheduleExpressionTimezone": "Nowhere/Town"}, "InvalidParameterValueException"),
    ({"StartWindowHours": 169}, "InvalidParameterValueException"),
    ({"RecoveryPointSelection": {"Algorithm": "OLDEST", "IncludeVaults": ["*"],
                                 "RecoveryPointTypes": ["SNAPSHOT"]}}, "InvalidParameterValueException"),
    ({"RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"],
                                 "RecoveryPointTypes": ["SNAPSHOT"], "SelectionWindowDays": 366}},
     "InvalidParameterValueException"),
    ({"RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"],
                                 "RecoveryPointTypes": ["INCREMENTAL"]}}, "InvalidParameterValueException"),
    ({"RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW",
                                 "RecoveryPointTypes": ["SNAPSHOT"]}}, "MissingParameterValueException"),
])
def test_a_plan_aws_would_refuse_is_refused_and_not_kept(home, change, code):
    name = change.get("RestoreTestingPlanName", plan_name())
    assert error_code(lambda: create_plan(home, name, **change)) == code
    assert name not in [p["RestoreTestingPlanName"]
                        for p in home.backup.list_restore_testing_plans()["RestoreTestingPlans"]]


def test_plan_names_are_unique_and_unknown_plans_are_not_found(home):
    name = plan_name()
    create_plan(home, name)
    assert error_code(lambda: create_plan(home, name)) == "AlreadyExistsException"
    assert error_code(lambda: home.backup.get_restore_testing_plan(
        RestoreTestingPlanName="no_such_plan")) == "ResourceNotFoundException"
    assert error_code(lambda: home.backup.update_restore_testing_plan(
        RestoreTestingPlanName="no_such_plan",
        RestoreTestingPlan={"StartWindowHours": 1})) == "ResourceNotFoundException"


def selection(name: str, **overrides) -> dict:
    out = {"RestoreTestingSelectionName": name, "ProtectedResourceType": "DynamoDB", "IamRoleArn": ROLE,
           "ProtectedResourceArns": ["*"]}
    out.update(overrides)
    return out


def test_a_selection_is_created_read_listed_updated_and_deleted(home):
    plan = plan_name()
    plan_arn = create_plan(home, plan)["RestoreTestingPlanArn"]
    conditions = {"StringEquals": [{"Key": "backup", "Value": "daily"}], "StringNotEquals": []}

    created = home.backup.create_restore_testing_selection(
        RestoreTestingPlanName=plan,
        RestoreTestingSelection=selection("tables", ProtectedResourceConditions=conditions,
                                          RestoreMetadataOverrides={"encryptionType": "Default"},
                                          ValidationWindowHours=4))

    assert (created["RestoreTestingPlanArn"], created["RestoreTestingSelectionName"]) == (plan_arn, "tables")
    got = home.backup.get_restore_testing_selection(RestoreTestingPlanName=plan,
                                                    RestoreTestingSelectionName="tables")["RestoreTestingSelection"]
    assert got["ProtectedResourceConditions"] == conditions
    assert (got["ValidationWindowHours"], got["RestoreMetadataOverrides"]) == (4, {"encryptionType": "Default"})
    listed = home.backup.list_restore_testing_selections(RestoreTestingPlanName=plan)["RestoreTestingSelections"]
    assert [(s["RestoreTestingSelectionName"], s["ProtectedResourceType"]) for s in listed] == [("tables", "DynamoDB")]

    home.backup.update_restore_testing_selection(
        RestoreTestingPlanName=plan, RestoreTestingSelectionName="tables",
        RestoreTestingSelection={"ValidationWindowHours": 24})
    got = home.backup.get_restore_testing_selection(RestoreTestingPlanName=plan,
                                                    RestoreTestingSelectionName="tables")["RestoreTestingSelection"]
    assert (got["ValidationWindowHours"], got["ProtectedResourceConditions"]) == (24, conditions)

    home.backup.delete_restore_testing_selection(RestoreTestingPlanName=plan, RestoreTestingSelectionName="tables")
    assert home.backup.list_restore_testing_selections(RestoreTestingPlanName=plan)["RestoreTestingSelections"] == []
    assert error_code(lambda: home.backup.get_restore_testing_selection(
        RestoreTestingPlanName=plan, RestoreTestingSelectionName="tables")) == "ResourceNotFoundException"


@pytest.mark.parametrize("change", [
    {"RestoreTestingSelectionName": "has-dashes"},
    {"ProtectedResourceType": "Redshift"},                         # not a restore testing type
    {"ProtectedResourceArns": ["*", "arn:aws:dynamodb:eu-west-1:123456789012:table/a"]},
    {"ProtectedResourceArns": [f"arn:aws:dynamodb:eu-west-1:123456789012:table/t{i}" for i in range(31)]},
    {"ProtectedResourceArns": ["arn:aws:dynamodb:eu-west-1:123456789012:table/a"],
     "ProtectedResourceConditions": {"StringEquals": [{"Key": "backup", "Value": "daily"}]}},
    {"ProtectedResourceArns": ["*"],
     "ProtectedResourceConditions": {"StringEquals": [{"Key": "aws:cloudformation:stack-name", "Value": "x"}]}},
    {"ValidationWindowHours": 169},
    {"ValidationWindowHours": -1},
    {"RestoreMetadataOverrides": {"targetTableName": "mine"}},     # not overridable for DynamoDB
])
def test_a_selection_aws_would_refuse_is_refused_and_not_kept(home, change):
    plan = plan_name()
    create_plan(home, plan)
    name = change.get("RestoreTestingSelectionName", "tables")
    assert error_code(lambda: home.backup.create_restore_testing_selection(
        RestoreTestingPlanName=plan, RestoreTestingSelection=selection(name, **change))) == \
        "InvalidParameterValueException"
    assert home.backup.list_restore_testing_selections(RestoreTestingPlanName=plan)["RestoreTestingSelections"] == []


def test_a_selection_needs_its_plan_and_a_unique_name(home):
    assert error_code(lambda: home.backup.create_restore_testing_selection(
        RestoreTestingPlanName="no_such_plan", RestoreTestingSelection=selection("tables"))) == \
        "ResourceNotFoundException"
    plan = plan_name()
    create_plan(home, plan)
    home.backup.create_restore_testing_selection(RestoreTestingPlanName=plan,
                                                 RestoreTestingSelection=selection("tables"))
    assert error_code(lambda: home.backup.create_restore_testing_selection(
        RestoreTestingPlanName=plan, RestoreTestingSelection=selection("tables"))) == "AlreadyExistsException"


def test_a_plan_with_selections_cannot_be_deleted_until_they_are(home):
    plan = plan_name()
    create_plan(home, plan)
    home.backup.create_restore_testing_selection(RestoreTestingPlanName=plan,
                                                 RestoreTestingSelection=selection("tables"))

    # "Deletion can only successfully occur if all associated restore testing selections are deleted first."
    assert error_code(lambda: home.backup.delete_restore_testing_plan(RestoreTestingPlanName=plan)) == \
        "InvalidRequestException"
    assert home.backup.get_restore_testing_plan(RestoreTestingPlanName=plan)

    home.backup.delete_restore_testing_selection(RestoreTestingPlanName=plan, RestoreTestingSelectionName="tables")
    home.backup.delete_restore_testing_plan(RestoreTestingPlanName=plan)
    assert error_code(lambda: home.backup.get_restore_testing_plan(RestoreTestingPlanName=plan)) == \
        "ResourceNotFoundException"
    # InvalidRequestException is the only error "DeleteRestoreTestingPlan" documents.
    assert error_code(lambda: home.backup.delete_restore_testing_plan(RestoreTestingPlanName=plan)) == \
        "InvalidRequestException"


def test_plans_are_listed_in_pages(home):
    names = [plan_name() for _ in range(3)]
    for name in names:
        create_plan(home, name)
    seen, token = [], None
    while True:
        kwargs = {"MaxResults": 2} | ({"NextToken": token} if token else {})
        answer = home.backup.list_restore_testing_plans(**kwargs)
        assert len(answer["RestoreTestingPlans"]) <= 2
        seen += [p["RestoreTestingPlanName"] for p in answer["RestoreTestingPlans"]]
        token = answer.get("NextToken")
        if not token:
            break
    assert set(names) <= set(seen) and len(seen) == len(set(seen))

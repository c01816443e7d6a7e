"""A role session's requests are allowed only by its role's identity-based policies, action by
action, as AWS evaluates them ("Policy evaluation logic"): JSON (X-Amz-Target), query (Action=)
and REST (AWS Backup's method and path) requests each map to their IAM action; an explicit Deny
wins; wildcards match as IAM matches them. The `testing` keys stay unchecked."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import HOME, REGION, unique

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"}, "Action": "sts:AssumeRole"}]})


def session_with(endpoint: str, *statements: dict, managed: list[dict] | None = None) -> boto3.Session:
    """A session of a new role whose inline policy has these statements (and managed policies
    with those statements attached)."""
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint)
    name = unique("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))
    for document in managed or []:
        arn = iam.create_policy(PolicyName=unique("managed"), PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [document]}))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    credentials = boto3.client("sts", region_name=REGION, endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{HOME}:role/{name}", RoleSessionName="fn")["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=REGION)


def allow(action, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": "*", **extra}


def deny(action, **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": "*", **extra}


def refused(call) -> dict:
    with pytest.raises(ClientError) as error:
        call()
    return error.value.response


def admin(endpoint: str, service: str):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def test_json_protocol_requests_are_checked_by_their_target(endpoint):
    table = unique("table")
    admin(endpoint, "dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    dynamodb = session_with(endpoint, allow("dynamodb:GetItem")).client("dynamodb", endpoint_url=endpoint)
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    answer = refused(lambda: dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}}))
    assert answer["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:PutItem" in answer["Error"]["Message"]
    assert "assumed-role/" in answer["Error"]["Message"]
    # Nothing was written.
    assert "Item" not in admin(endpoint, "dynamodb").get_item(TableName=table, Key={"pk": {"S": "a"}})


def test_a_dynamodb_transaction_needs_its_items_actions_not_its_own(endpoint):
    table = unique("table")
    admin(endpoint, "dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    put = {"Put": {"TableName": table, "Item": {"pk": {"S": "a"}}}}
    check = {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "b"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}}
    writer = session_with(endpoint, allow("dynamodb:PutItem")).client("dynamodb", endpoint_url=endpoint)
    writer.transact_write_items(TransactItems=[put])
    answer = refused(lambda: writer.transact_write_items(TransactItems=[put, check]))
    assert "dynamodb:ConditionCheckItem" in answer["Error"]["Message"]
    named = session_with(endpoint, allow("dynamodb:TransactWriteItems")).client("dynamodb", endpoint_url=endpoint)
    assert "dynamodb:PutItem" in refused(lambda: named.transact_write_items(TransactItems=[put]))["Error"]["Message"]


def test_query_protocol_requests_are_checked_by_their_action(endpoint):
    topic = admin(endpoint, "sns").create_topic(Name=unique("topic"))["TopicArn"]
    allowed = session_with(endpoint, allow("sns:Publish")).client("sns", endpoint_url=endpoint)
    assert allowed.publish(TopicArn=topic, Message="hi")["MessageId"]
    other = session_with(endpoint, allow("sns:ListTopics")).client("sns", endpoint_url=endpoint)
    answer = refused(lambda: other.publish(TopicArn=topic, Message="hi"))
    # SNS names its refusal AuthorizationError ("Publish": Errors), HTTP 403.
    assert answer["Error"]["Code"] == "AuthorizationError"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "sns:Publish" in answer["Error"]["Message"]
    iam = session_with(endpoint, allow("sns:*")).client("iam", endpoint_url=endpoint)
    assert refused(lambda: iam.list_roles())["Error"]["Code"] == "AccessDenied"


def test_rest_json_requests_are_checked_by_their_method_and_path(endpoint):
    vault = unique("vault")
    admin(endpoint, "backup").create_backup_vault(BackupVaultName=vault)
    backup = session_with(endpoint, allow(["backup:ListBackupJobs", "backup:ListRecoveryPointsByBackupVault"])
                          ).client("backup", endpoint_url=endpoint)
    backup.list_backup_jobs()
    backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)
    answer = refused(lambda: backup.describe_backup_job(BackupJobId="0000"))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert answer["Error"]["Code"] == "AccessDeniedException"
    assert "backup:DescribeBackupJob" in answer["Error"]["Message"]
    assert "backup:StartBackupJob" in refused(lambda: backup.start_backup_job(
        BackupVaultName=vault, ResourceArn=f"arn:aws:dynamodb:{REGION}:{HOME}:table/t",
        IamRoleArn=f"arn:aws:iam::{HOME}:role/backup"))["Error"]["Message"]


def test_s3_requests_need_the_actions_iam_names_for_them(endpoint):
    bucket = unique("bucket")
    admin(endpoint, "s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3 = session_with(endpoint, allow(["s3:PutObject", "s3:ListAllMyBuckets"])).client("s3", endpoint_url=endpoint)
    s3.put_object(Bucket=bucket, Key="reports/a.html", Body=b"<p>")
    s3.list_buckets()
    # "Amazon S3 actions": ListObjectsV2 needs s3:ListBucket, GetObject s3:GetObject.
    assert "s3:ListBucket" in refused(lambda: s3.list_objects_v2(Bucket=bucket))["Error"]["Message"]
    assert "s3:GetObject" in refused(lambda: s3.get_object(Bucket=bucket, Key="reports/a.html"))["Error"]["Message"]


def test_the_service_prefix_is_iams_not_the_signing_name(endpoint):
    tagging = session_with(endpoint, allow("tag:GetResources")).client("resourcegroupstaggingapi", endpoint_url=endpoint)
    tagging.get_resources()
    untagged = session_with(endpoint, allow("tagging:GetResources")).client("resourcegroupstaggingapi",
                                                                          endpoint_url=endpoint)
    assert "tag:GetResources" in refused(lambda: untagged.get_resources())["Error"]["Message"]
    efs = session_with(endpoint, allow("elasticfilesystem:DescribeFileSystems")).client("efs", endpoint_url=endpoint)
    efs.describe_file_systems()


def test_an_explicit_deny_wins_over_any_allow(endpoint):
    session = session_with(endpoint, allow("sns:*"), deny("sns:Publish"))
    topic = admin(endpoint, "sns").create_topic(Name=unique("topic"))["TopicArn"]
    sns = session.client("sns", endpoint_url=endpoint)
    sns.list_topics()
    answer = refused(lambda: sns.publish(TopicArn=topic, Message="hi"))
    assert "explicit deny" in answer["Error"]["Message"]
    # A deny in an attached managed policy counts as well.
    managed = session_with(endpoint, allow("*"), managed=[deny("sns:List*")]).client("sns", endpoint_url=endpoint)
    refused(lambda: managed.list_topics())
    managed.publish(TopicArn=topic, Message="hi")


def test_wildcards_match_as_iam_matches_them(endpoint):
    sqs = session_with(endpoint, allow("SQS:Create*"), allow("sqs:?etQueueUrl")).client("sqs", endpoint_url=endpoint)
    name = unique("queue")
    sqs.create_queue(QueueName=name)
    sqs.get_queue_url(QueueName=name)
    refused(lambda: sqs.list_queues())
    allowed_by_managed = session_with(endpoint, managed=[allow("sqs:List*")]).client("sqs", endpoint_url=endpoint)
    allowed_by_managed.list_queues()
    not_action = session_with(endpoint, {"Effect": "Allow", "NotAction": "sqs:List*", "Resource": "*"}).client(
        "sqs", endpoint_url=endpoint)
    refused(lambda: not_action.list_queues())
    not_action.create_queue(QueueName=unique("queue"))


def test_a_deny_under_a_condition_is_not_applied_and_an_allow_under_one_is(endpoint):
    condition = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    sqs = session_with(endpoint, allow("sqs:*", Condition=condition), deny("sqs:ListQueues", Condition=condition)
                       ).client("sqs", endpoint_url=endpoint)
    sqs.list_queues()


def test_a_role_without_policies_may_still_ask_who_it_is_and_nothing_else(endpoint):
    session = session_with(endpoint)
    assert session.client("sts", endpoint_url=endpoint).get_caller_identity()["Arn"].endswith("/fn")
    refused(lambda: session.client("sqs", endpoint_url=endpoint).list_queues())


def test_the_testing_keys_are_not_checked(endpoint):
    admin(endpoint, "sqs").list_queues()
    admin(endpoint, "backup").list_backup_jobs()

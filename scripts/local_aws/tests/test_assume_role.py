"""AssumeRole of a role that was never created is AWS's AccessDenied, not a free pass into the
account; a role IAM created there, or the Organizations access role, is assumed."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import REGION, Aws, unique

OTHER = "444455556666"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]})


def sts(endpoint: str):
    return boto3.client("sts", region_name=REGION, endpoint_url=endpoint)


def test_a_role_that_does_not_exist_is_access_denied(endpoint):
    role_arn = f"arn:aws:iam::{OTHER}:role/{unique('never-created')}"
    with pytest.raises(ClientError) as refused:
        sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="test")
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "AccessDenied"
    assert "sts:AssumeRole" in error["Message"] and role_arn in error["Message"]


def test_a_role_created_in_the_account_is_assumed_there(endpoint):
    name = unique("created")
    Aws(endpoint, OTHER).client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    credentials = sts(endpoint).assume_role(RoleArn=f"arn:aws:iam::{OTHER}:role/{name}",
                                            RoleSessionName="test")["Credentials"]
    identity = boto3.client("sts", region_name=REGION, endpoint_url=endpoint,
                            aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"]).get_caller_identity()
    assert identity["Account"] == OTHER
    # The same name in another account is another role, and that one does not exist.
    with pytest.raises(ClientError):
        sts(endpoint).assume_role(RoleArn=f"arn:aws:iam::222233334444:role/{name}", RoleSessionName="test")


def test_the_organizations_access_role_exists_in_every_account(endpoint):
    for account in (OTHER, "222233334444"):
        arn = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        assert sts(endpoint).assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]["AccessKeyId"]

"""AssumeRole of a role that was never created, or whose trust policy does not allow the caller,
is AWS's AccessDenied, not a free pass into the account; a role IAM created there that trusts the
caller, or the Organizations access role from the management account, is assumed."""

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


def trust(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, **extra) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def role_in(endpoint: str, account: str, policy: str) -> str:
    name = unique("role")
    return Aws(endpoint, account).client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=policy)["Role"]["Arn"]


def may_assume_roles(endpoint: str, role_arn: str) -> None:
    """The role's identity policy allows sts:AssumeRole, which a session of it needs besides the
    other role's trust (identity_policy.py)."""
    Aws(endpoint).client("iam").put_role_policy(
        RoleName=role_arn.rsplit("/", 1)[-1], PolicyName="assume", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))


def session_client(endpoint: str, credentials: dict, service: str = "sts"):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def refusal(call) -> dict:
    with pytest.raises(ClientError) as refused:
        call()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return refused.value.response["Error"]


def test_a_role_trusting_another_account_refuses_this_one(endpoint):
    # "IAM JSON policy elements: Principal": an account principal trusts that account only.
    role_arn = role_in(endpoint, OTHER, trust(allow({"AWS": "arn:aws:iam::222233334444:root"})))
    error = refusal(lambda: sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="test"))
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == ("User: arn:aws:iam::123456789012:root is not authorized to perform: "
                                f"sts:AssumeRole on resource: {role_arn}")


def test_a_role_trusting_only_a_service_refuses_iam_callers(endpoint):
    role_arn = role_in(endpoint, OTHER, trust(allow({"Service": "lambda.amazonaws.com"})))
    assert refusal(lambda: sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="tt"))["Code"] == "AccessDenied"


def test_the_account_id_as_principal_is_the_account(endpoint):
    role_arn = role_in(endpoint, OTHER, trust(allow({"AWS": ["222233334444", "123456789012"]})))
    assert sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="tt")["Credentials"]["AccessKeyId"]


def test_a_trust_naming_a_role_admits_its_sessions_only(endpoint):
    # GIVEN a function role in the home account and a member role trusting only that role
    # (templates/member-account.yaml's shape: the account root, ArnEquals aws:PrincipalArn).
    function_role = role_in(endpoint, "123456789012", trust(allow({"AWS": "arn:aws:iam::123456789012:root"})))
    member_role = role_in(endpoint, OTHER, trust(allow(
        {"AWS": "arn:aws:iam::123456789012:root"},
        Condition={"ArnEquals": {"aws:PrincipalArn": function_role}})))
    may_assume_roles(endpoint, function_role)
    # WHEN the account root asks, THEN it is refused: aws:PrincipalArn is the root's ARN.
    refusal(lambda: sts(endpoint).assume_role(RoleArn=member_role, RoleSessionName="tt"))
    # WHEN a session of the function role asks, THEN it is in, and named as that session when not.
    session = sts(endpoint).assume_role(RoleArn=function_role, RoleSessionName="fn")["Credentials"]
    inside = session_client(endpoint, session).assume_role(RoleArn=member_role, RoleSessionName="xx")
    assert inside["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{OTHER}:assumed-role/")
    other_member = role_in(endpoint, OTHER, trust(allow({"AWS": "arn:aws:iam::222233334444:root"})))
    error = refusal(lambda: session_client(endpoint, session).assume_role(RoleArn=other_member, RoleSessionName="xx"))
    assert error["Message"].startswith(
        f"User: arn:aws:sts::123456789012:assumed-role/{function_role.rsplit('/', 1)[-1]}/fn is not authorized")


def test_a_role_arn_principal_without_condition_admits_that_role(endpoint):
    function_role = role_in(endpoint, "123456789012", trust(allow({"AWS": "123456789012"})))
    member_role = role_in(endpoint, OTHER, trust(allow({"AWS": function_role})))
    refusal(lambda: sts(endpoint).assume_role(RoleArn=member_role, RoleSessionName="tt"))
    session = sts(endpoint).assume_role(RoleArn=function_role, RoleSessionName="fn")["Credentials"]
    # The trust admits the role, but its own policies must allow sts:AssumeRole too.
    error = refusal(lambda: session_client(endpoint, session).assume_role(RoleArn=member_role, RoleSessionName="xx"))
    assert "no identity-based policy allows the sts:AssumeRole action" in error["Message"]
    may_assume_roles(endpoint, function_role)
    assert session_client(endpoint, session).assume_role(RoleArn=member_role, RoleSessionName="xx")["Credentials"]


def test_arn_like_on_the_principal_arn_matches_a_pattern(endpoint):
    # templates/destination-account.yaml: ArnLike aws:PrincipalArn "...:role/*CrossAccountCopyFunctionRole*".
    pattern = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*CrossAccountCopyFunctionRole*"}}
    member_role = role_in(endpoint, OTHER, trust(allow({"AWS": "123456789012"}, Condition=pattern)))
    wanted = Aws(endpoint).client("iam").create_role(
        RoleName=f"stack-CrossAccountCopyFunctionRole-{unique('x')}",
        AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    other = role_in(endpoint, "123456789012", TRUST)
    for arn in (wanted, other):
        may_assume_roles(endpoint, arn)
    for arn, admitted in ((wanted, True), (other, False)):
        session = sts(endpoint).assume_role(RoleArn=arn, RoleSessionName="fn")["Credentials"]
        call = lambda: session_client(endpoint, session).assume_role(RoleArn=member_role, RoleSessionName="xx")  # noqa: E731
        if admitted:
            assert call()["Credentials"]
        else:
            refusal(call)


def test_an_external_id_condition_needs_the_same_external_id(endpoint):
    role_arn = role_in(endpoint, OTHER, trust(allow({"AWS": "123456789012"},
                                                    Condition={"StringEquals": {"sts:ExternalId": "s3cret"}})))
    refusal(lambda: sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="tt"))
    refusal(lambda: sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="tt", ExternalId="other"))
    assert sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="tt", ExternalId="s3cret")["Credentials"]


def test_an_explicit_deny_wins_over_an_allow(endpoint):
    role_arn = role_in(endpoint, OTHER, trust(
        allow({"AWS": "123456789012"}),
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:*"}))
    refusal(lambda: sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="tt"))


def test_a_statement_for_another_action_grants_nothing(endpoint):
    role_arn = role_in(endpoint, OTHER, trust({"Effect": "Allow", "Principal": {"AWS": "123456789012"},
                                               "Action": "sts:TagSession"}))
    refusal(lambda: sts(endpoint).assume_role(RoleArn=role_arn, RoleSessionName="tt"))


def test_an_unmodelled_condition_key_is_absent(endpoint):
    # A key the emulator does not know is absent: it fails StringEquals and satisfies StringNotEquals.
    equals = role_in(endpoint, OTHER, trust(allow({"AWS": "123456789012"},
                                                  Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})))
    refusal(lambda: sts(endpoint).assume_role(RoleArn=equals, RoleSessionName="tt"))
    not_equals = role_in(endpoint, OTHER, trust(allow({"AWS": "123456789012"},
                                                      Condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}})))
    assert sts(endpoint).assume_role(RoleArn=not_equals, RoleSessionName="tt")["Credentials"]


def test_the_organizations_access_role_trusts_the_management_account_only(endpoint):
    # GIVEN a session in a member account, WHEN it asks for another member's access role, THEN no.
    member = sts(endpoint).assume_role(RoleArn=f"arn:aws:iam::{OTHER}:role/OrganizationAccountAccessRole",
                                       RoleSessionName="tt")["Credentials"]
    refusal(lambda: session_client(endpoint, member).assume_role(
        RoleArn="arn:aws:iam::222233334444:role/OrganizationAccountAccessRole", RoleSessionName="xx"))

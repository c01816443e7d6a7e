"""STS AssumeRole is refused, as AWS refuses it, when the role does not exist or when its trust
policy does not allow the caller.

moto's STS hands out credentials for any role ARN, even one never created, whatever its trust
policy says. AWS answers both with HTTP 403 `AccessDenied`, "User: <caller> is not authorized to
perform: sts:AssumeRole on resource: <role>" (IAM User Guide, "Troubleshoot IAM roles": "I can't
assume a role"; STS API Reference, "AssumeRole": "the trust policy of the role ... specifies who
can assume the role").

A role exists when IAM CreateRole made it in that account, plus `OrganizationAccountAccessRole`,
which AWS Organizations creates in every member account it creates (Organizations API
`CreateAccount`, `RoleName`: "If you don't specify this parameter, the role name defaults to
OrganizationAccountAccessRole"), trusting the management account ("Accessing a member account
that has a management account access role"); the emulator's accounts are such members and its
default account, 123456789012, is their management account.

The caller is the identity of the request's access key: the role of an assumed-role session, an
IAM user with that key, or else (the `testing` keys the tests sign with) the account's root user.

The trust policy is evaluated as "IAM JSON policy elements: Principal" and "Policy evaluation
logic" describe: an explicit Deny wins, else an Allow is needed. A statement applies when
  - its Action names sts:AssumeRole (exact, `sts:*` or `*`; case-insensitive);
  - its Principal is `*`, or an `AWS` entry names the caller's account (its id or its root ARN:
    "the account ... can then use IAM to delegate"), the caller's role (for every session of it),
    the caller's session ARN, or the caller's user. `Service` and `Federated` principals are never
    an IAM caller; `NotPrincipal` and `NotAction` statements are not modelled and never apply;
  - every condition holds ("IAM JSON policy elements: Condition operators"): String/Arn
    Equals/Like and their Not forms, with the `IfExists` suffix, on the keys aws:PrincipalArn
    (the role's ARN for a session: "AWS global condition context keys"), aws:PrincipalAccount,
    aws:PrincipalType and sts:ExternalId (the request's ExternalId). Any other key is absent here,
    and, as in AWS, an absent key fails a positive operator and satisfies a negated one.
"""

from __future__ import annotations

import fnmatch
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

ORGANIZATION_ROLE = "OrganizationAccountAccessRole"
MANAGEMENT_ACCOUNT = "123456789012"


@dataclass
class Caller:
    account: str
    # aws:PrincipalArn: the role's ARN for a role session, the user's ARN, or the root ARN.
    principal_arn: str
    # The ARN AWS names in its refusal (a session's assumed-role ARN).
    arn: str
    principal_type: str  # aws:PrincipalType: AssumedRole | User | Account


def caller_of(access_key: str, account: str, partition: str = "aws") -> Caller:
    session = sts_backends[account][partition].get_assumed_role_from_access_key(access_key)
    if session is not None:
        return Caller(account, session.role_arn, session.arn, "AssumedRole")
    user = iam_backends[account][partition].get_user_from_access_key_id(access_key)
    if user is not None:
        return Caller(account, user.arn, user.arn, "User")
    root = f"arn:{partition}:iam::{account}:root"
    return Caller(account, root, root, "Account")


def trust_policy(role_arn: str) -> str | None:
    """The role's trust policy, or None when the role does not exist."""
    parts = role_arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    partition, account, name = parts[1], parts[4], parts[5].rsplit("/", 1)[-1]
    backend = iam_backends[account][partition]
    for role in list(backend.roles.values()):
        if role.name == name:
            document = role.assume_role_policy_document
            return document if isinstance(document, str) else json.dumps(document)
    if name == ORGANIZATION_ROLE:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:{partition}:iam::{MANAGEMENT_ACCOUNT}:root"}}]})
    return None


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for entry in _as_list(principal.get("AWS", [])):
        entry = str(entry)
        if entry in ("*", caller.account, caller.principal_arn, caller.arn):
            return True
        parts = entry.split(":")
        if len(parts) == 6 and parts[2] == "iam" and parts[5] == "root" and parts[4] == caller.account:
            return True
    return False


def _action_matches(actions: Any) -> bool:
    return any(fnmatch.fnmatchcase("sts:assumerole", str(a).lower()) for a in _as_list(actions))


def _condition_holds(operator: str, key_values: dict, context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    negated = "Not" in base
    like = base.endswith("Like")
    if base.removesuffix("Like").removesuffix("Equals").replace("Not", "") not in ("String", "Arn"):
        return False  # an operator this emulator does not model never holds
    for key, values in key_values.items():
        actual = context.get(key.lower())
        if actual is None:
            if if_exists or negated:
                continue
            return False
        wanted = [str(v) for v in _as_list(values)]
        hit = any(fnmatch.fnmatchcase(actual, w) if like else actual == w for w in wanted)
        if hit == negated:
            return False
    return True


def allows(policy_text: str, caller: Caller, external_id: str | None) -> bool:
    """Whether the trust policy lets the caller assume the role."""
    try:
        statements = _as_list(json.loads(unquote(policy_text) if policy_text.startswith("%") else policy_text)
                              .get("Statement", []))
    except (ValueError, AttributeError):
        return False
    context = {
        "aws:principalarn": caller.principal_arn,
        "aws:principalaccount": caller.account,
        "aws:principaltype": caller.principal_type,
    }
    if external_id is not None:
        context["sts:externalid"] = external_id
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict) or "NotPrincipal" in statement or "NotAction" in statement:
            continue
        if not _action_matches(statement.get("Action", [])):
            continue
        if not _principal_matches(statement.get("Principal"), caller):
            continue
        if not all(_condition_holds(op, kv, context) for op, kv in (statement.get("Condition") or {}).items()):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def refused_role(body: bytes, caller: Caller) -> str | None:
    """The role ARN of an AssumeRole request (query protocol) that AWS would refuse, or None."""
    form = parse_qs(body.decode("utf-8", "replace"))
    if form.get("Action", [""])[0] != "AssumeRole":
        return None
    role_arn = form.get("RoleArn", [""])[0]
    policy = trust_policy(role_arn)
    if policy is None:
        return role_arn
    return None if allows(policy, caller, form.get("ExternalId", [None])[0]) else role_arn


def access_denied(caller: Caller, role_arn: str) -> bytes:
    """STS's error document (query protocol) for the refusal."""
    message = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()

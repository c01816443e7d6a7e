"""STS AssumeRole into a role that does not exist is refused, as AWS refuses it.

moto's STS hands out credentials for any role ARN, even one never created. AWS answers
AssumeRole of a missing role (or one whose trust policy does not name the caller) with HTTP 403
`AccessDenied`, "User: ... is not authorized to perform: sts:AssumeRole on resource: <role>"
(IAM User Guide, "Troubleshoot IAM roles": "I can't assume a role"). Here a role exists when
IAM CreateRole made it in that account, plus `OrganizationAccountAccessRole`, which AWS
Organizations creates in every member account it creates (Organizations API `CreateAccount`,
`RoleName`: "If you don't specify this parameter, the role name defaults to
OrganizationAccountAccessRole"); the emulator's accounts are such members. Trust policies are
not evaluated.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs

from moto.iam.models import iam_backends

ORGANIZATION_ROLE = "OrganizationAccountAccessRole"


def role_exists(role_arn: str) -> bool:
    parts = role_arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return False
    partition, account, name = parts[1], parts[4], parts[5].rsplit("/", 1)[-1]
    if name == ORGANIZATION_ROLE:
        return True
    backend = iam_backends[account][partition]
    return any(role.name == name for role in list(backend.roles.values()))


def refused_role(body: bytes) -> str | None:
    """The role ARN of an AssumeRole request (query protocol) whose role does not exist."""
    form = parse_qs(body.decode("utf-8", "replace"))
    if form.get("Action", [""])[0] != "AssumeRole":
        return None
    role_arn = form.get("RoleArn", [""])[0]
    return None if role_exists(role_arn) else role_arn


def access_denied(caller_account: str, role_arn: str) -> bytes:
    """STS's error document (query protocol) for the refusal."""
    message = (f"User: arn:aws:iam::{caller_account}:root is not authorized to perform: "
               f"sts:AssumeRole on resource: {role_arn}")
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()

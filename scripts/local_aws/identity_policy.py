"""Identity-based policies are enforced, at the level of actions, on requests signed with the
credentials of a role session, as AWS enforces them ("Policy evaluation logic"): a request is
allowed only when one of the role's policies (inline or attached managed) has an Allow statement
whose Action matches the request's IAM action, and no statement explicitly denies it; otherwise
it is refused with AccessDenied in the protocol's error shape.

Whose requests are checked: sessions that STS AssumeRole created into a role that exists in the
emulator's IAM. The `testing` keys (test fixtures, the accounts' administrators), IAM users and
sessions of the built-in OrganizationAccountAccessRole (AdministratorAccess in AWS) are not.

The IAM action of a request is `<service prefix>:<operation>` ("IAM JSON policy elements: Action"):
  - JSON protocol: the operation after the dot of `X-Amz-Target` (`DynamoDB_20120810.PutItem`);
  - query protocol: the `Action` form or query parameter (`Action=Publish`);
  - REST protocols: the operation of the service's API model (botocore's, in the venv) whose
    HTTP method and request URI match the request's.
The prefix is the SigV4 credential scope's service, where IAM names it differently mapped to its
IAM prefix ("Actions, resources, and condition keys for AWS services").

A statement matches when its Action (or, for NotAction, none of them) matches the action, with
`*` and `?` wildcards, case-insensitively. Not modelled: `Resource` / `NotResource` (any resource
matches); conditions (an Allow with conditions applies, a Deny with conditions does not, so the
emulator never denies on a condition it cannot evaluate); permissions boundaries, session
policies, SCPs and resource-based policies.
"""

from __future__ import annotations

import fnmatch
import json
import re
import uuid
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

# SigV4 signing names whose IAM service prefix differs ("Actions, resources, and condition keys
# for AWS services": CloudWatch's prefix is `cloudwatch`, the Resource Groups Tagging API's `tag`).
IAM_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag", "email": "ses"}
# Signing names whose botocore model has another name.
MODEL_NAME = {"elasticfilesystem": "efs", "monitoring": "cloudwatch", "tagging": "resourcegroupstaggingapi",
              "email": "ses", "execute-api": "apigateway"}
# Operations whose IAM action is not the operation's name ("Amazon S3 actions": ListObjectsV2
# needs s3:ListBucket; HeadObject s3:GetObject; "Lambda actions": Invoke is lambda:InvokeFunction).
ACTION_OF_OPERATION = {
    ("s3", "ListObjectsV2"): "ListBucket", ("s3", "ListObjects"): "ListBucket",
    ("s3", "HeadObject"): "GetObject", ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions", ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "GetBucketLocation"): "GetBucketLocation",
    ("s3", "ListBuckets"): "ListAllMyBuckets", ("s3", "CopyObject"): "PutObject",
    ("s3", "UploadPartCopy"): "PutObject", ("s3", "UploadPart"): "PutObject",
    ("s3", "CreateMultipartUpload"): "PutObject", ("s3", "CompleteMultipartUpload"): "PutObject",
    ("lambda", "Invoke"): "InvokeFunction",
}
# S3 operations that share a method and path with another and differ by a header: a PUT of an
# object with `x-amz-copy-source` is CopyObject (or UploadPartCopy), without it PutObject.
COPY_SOURCE_OPERATIONS = {"CopyObject": "PutObject", "UploadPartCopy": "UploadPart"}
# Calls that need no permission: "GetCallerIdentity": "No permissions are required to perform
# this operation."
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}


class Denied(Exception):
    def __init__(self, principal_arn: str, action: str, explicit: bool):
        why = ("with an explicit deny in an identity-based policy" if explicit
               else f"because no identity-based policy allows the {action} action")
        super().__init__(f"User: {principal_arn} is not authorized to perform: {action} {why}")
        self.action = action


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _documents(role) -> list[dict]:
    texts: list[Any] = list(role.policies.values())
    for policy in role.managed_policies.values():
        version = getattr(policy, "default_version", None) or next(
            (v for v in getattr(policy, "versions", []) if v.is_default), None)
        texts.append(version.document if version is not None else getattr(policy, "document", "{}"))
    documents = []
    for text in texts:
        if isinstance(text, dict):
            documents.append(text)
            continue
        try:
            documents.append(json.loads(unquote(text) if text.startswith("%") else text))
        except ValueError:
            continue
    return documents


def _action_matches(patterns: Any, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _as_list(patterns))


def decide(documents: list[dict], action: str) -> str:
    """`allow`, `implicit` (no Allow) or `explicit` (a Deny) for the action under the documents."""
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement", [])):
            if not isinstance(statement, dict):
                continue
            if "Action" in statement:
                matches = _action_matches(statement["Action"], action)
            elif "NotAction" in statement:
                matches = not _action_matches(statement["NotAction"], action)
            else:
                matches = False
            if not matches:
                continue
            if statement.get("Effect") == "Deny" and not statement.get("Condition"):
                return "explicit"
            allowed = allowed or statement.get("Effect") == "Allow"
    return "allow" if allowed else "implicit"


def role_of_session(access_key: str, account: str, partition: str = "aws"):
    """The IAM role (moto's) and session ARN of a role session's access key, or None."""
    session = sts_backends[account][partition].get_assumed_role_from_access_key(access_key)
    if session is None:
        return None
    name = session.role_arn.rsplit("/", 1)[-1]
    for role in list(iam_backends[account][partition].roles.values()):
        if role.arn == session.role_arn or role.name == name:
            return role, session.arn
    return None


@lru_cache(maxsize=None)
def _model(signing_name: str) -> dict | None:
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    name = MODEL_NAME.get(signing_name, signing_name)
    try:
        return loader.load_service_model(name, "service-2")
    except Exception:  # noqa: BLE001 (no such model: the request is not a REST one we can name)
        return None


@lru_cache(maxsize=None)
def _rest_routes(signing_name: str) -> list[tuple[str, re.Pattern, list[str], int, str]]:
    model = _model(signing_name)
    if model is None or model["metadata"].get("protocol") not in ("rest-json", "rest-xml"):
        return []
    routes = []
    for name, operation in model["operations"].items():
        http = operation.get("http", {})
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        required = [q.split("=", 1)[0] for q in query.split("&") if q]
        literal = len(re.sub(r"\{[^}]+\}", "", path))
        routes.append((http.get("method", "POST"), re.compile(f"^{pattern}/?$"), required, literal, name))
    return routes


def rest_operation(signing_name: str, method: str, path: str, query: dict) -> str | None:
    """The operation of the service's API model that the method and (raw) path name."""
    best = None
    for route_method, pattern, required, literal, name in _rest_routes(signing_name):
        if route_method != method or not pattern.match(path) or any(q not in query for q in required):
            continue
        score = (len(required), literal)
        if best is None or score > best[0]:
            best = (score, name)
    return best[1] if best else None


def iam_action(signing_name: str, method: str, path: str, query_string: str, headers: dict,
               body: bytes) -> str | None:
    """The request's IAM action, or None when the emulator cannot name it."""
    prefix = IAM_PREFIX.get(signing_name, signing_name)
    target = headers.get("x-amz-target")
    operation = None
    if target:
        operation = target.rsplit(".", 1)[-1]
    else:
        query = parse_qs(query_string, keep_blank_values=True)
        form = parse_qs(body.decode("utf-8", "replace")) if body and "x-www-form-urlencoded" in headers.get(
            "content-type", "") else {}
        operation = (form.get("Action") or query.get("Action") or [None])[0]
        if operation is None:
            operation = rest_operation(signing_name, method, path, query)
            if operation in COPY_SOURCE_OPERATIONS and "x-amz-copy-source" not in headers:
                operation = COPY_SOURCE_OPERATIONS[operation]
            elif operation in COPY_SOURCE_OPERATIONS.values() and "x-amz-copy-source" in headers:
                operation = next(k for k, v in COPY_SOURCE_OPERATIONS.items() if v == operation)
    if operation is None:
        return None
    return f"{prefix}:{ACTION_OF_OPERATION.get((prefix, operation), operation)}"


# "Using IAM with DynamoDB transactions": a transaction's Put, Update, Delete and Get are
# governed by the permissions of PutItem, UpdateItem, DeleteItem and GetItem, its ConditionCheck
# by dynamodb:ConditionCheckItem; the transaction itself is no IAM action.
TRANSACTION_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                            "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def required_actions(action: str, body: bytes) -> list[str]:
    """The IAM actions a request needs: its own, or a DynamoDB transaction's items' actions."""
    if action not in ("dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"):
        return [action]
    try:
        items = json.loads(body or b"{}").get("TransactItems", [])
    except ValueError:
        return [action]
    needed = {f"dynamodb:{TRANSACTION_ITEM_ACTIONS[kind]}" for item in items if isinstance(item, dict)
              for kind in item if kind in TRANSACTION_ITEM_ACTIONS}
    return sorted(needed) or [action]


def check(access_key: str, account: str, signing_name: str, method: str, path: str, query_string: str,
          headers: dict, body: bytes) -> None:
    """Raises Denied when the request, signed by a role session, is not allowed its action."""
    found = role_of_session(access_key, account)
    if found is None:
        return
    role, session_arn = found
    action = iam_action(signing_name, method, path, query_string, headers, body)
    if action is None or action in ALWAYS_ALLOWED:
        # An action the emulator cannot name is let through: it never denies what it cannot model.
        return
    documents = _documents(role)
    for needed in required_actions(action, body):
        verdict = decide(documents, needed)
        if verdict != "allow":
            raise Denied(session_arn, needed, verdict == "explicit")


def error_answer(denied: Denied, signing_name: str, headers: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    """AWS's AccessDenied for the request's protocol: (status line, headers, body)."""
    request_id = str(uuid.uuid4())
    message = str(denied)
    target = headers.get("x-amz-target")
    model = _model(signing_name)
    protocol = "json" if target else (model or {}).get("metadata", {}).get("protocol", "query")
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": "AccessDeniedException", "message": message, "Message": message}).encode()
        # JSON-protocol services answer 400 (DynamoDB, KMS); REST ones 403 ("Common Errors").
        status = "400 Bad Request" if protocol == "json" else "403 Forbidden"
        return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "AccessDeniedException"),
                        ("x-amzn-RequestId", request_id)], body
    if protocol == "rest-xml":
        body = (f"<Error><Code>AccessDenied</Code><Message>{message}</Message>"
                f"<RequestId>{request_id}</RequestId></Error>").encode()
        return "403 Forbidden", [("Content-Type", "application/xml")], body
    if protocol == "ec2":
        body = (f"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>{message}</Message>"
                f"</Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
        return "403 Forbidden", [("Content-Type", "text/xml")], body
    # Query protocol; SNS names the error AuthorizationError ("Publish": Errors).
    code = "AuthorizationError" if signing_name == "sns" else "AccessDenied"
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return "403 Forbidden", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body

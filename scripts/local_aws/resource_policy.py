"""The part of resource-based policy evaluation the emulator needs: backup vault access policies
(moto stores none) and KMS key policies.

"Vault access policies" (AWS Backup Developer Guide): a resource-based policy on a vault; AWS
Backup access policies do not support a wildcard in the `Action` key, and cross-account access
for any action other than backup:CopyIntoBackupVault is rejected whatever the policy says.

A KMS key policy may use wildcards in Action ("kms:*"); "Key policies in AWS KMS".

Evaluated here: Effect, Principal ("*", {"AWS": "*" | account id | arn:...:<account>:...}),
Action (exact names), and the condition operators StringEquals / StringNotEquals on
aws:PrincipalAccount. A statement with any other condition is not applied (not modelled), which
keeps a Deny from matching and an Allow from granting: the conservative reading for both.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

MODELLED_CONDITIONS = {("StringEquals", "aws:PrincipalAccount"), ("StringNotEquals", "aws:PrincipalAccount")}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, account: str) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        for entry in _as_list(principal.get("AWS", [])):
            entry = str(entry)
            if entry == "*" or entry == account or (entry.startswith("arn:") and entry.split(":")[4] == account):
                return True
    return False


def _conditions_hold(condition: dict, account: str) -> bool | None:
    """True/False when every condition is modelled, None when one is not."""
    for operator, tests in condition.items():
        for key, values in tests.items():
            if (operator, key) not in MODELLED_CONDITIONS:
                return None
            equal = account in [str(v) for v in _as_list(values)]
            if (operator == "StringEquals") != equal:
                return False
    return True


def _action_matches(patterns: Any, action: str, wildcards: bool) -> bool:
    for pattern in _as_list(patterns):
        if pattern == action or (wildcards and fnmatch.fnmatchcase(action.lower(), str(pattern).lower())):
            return True
    return False


def decision(policy_text: str | None, action: str, account: str, wildcards: bool = False) -> str:
    """"Deny" (an explicit deny), "Allow" (an allow and no deny) or "None" for `account` calling
    `action` under the policy; `wildcards` for policies whose Action may hold them (KMS)."""
    if not policy_text:
        return "None"
    allowed = False
    for statement in _as_list(json.loads(policy_text).get("Statement", [])):
        if not _action_matches(statement.get("Action", []), action, wildcards):
            continue
        if not _principal_matches(statement.get("Principal"), account):
            continue
        if _conditions_hold(statement.get("Condition", {}), account) is not True:
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        if statement.get("Effect") == "Allow":
            allowed = True
    return "Allow" if allowed else "None"


def validate(policy_text: str) -> None:
    """PutBackupVaultAccessPolicy takes a JSON policy document; the emulator refuses one it
    cannot read, as AWS refuses a malformed policy."""
    document = json.loads(policy_text)
    if not isinstance(document, dict) or "Statement" not in document:
        raise ValueError("the policy has no Statement")

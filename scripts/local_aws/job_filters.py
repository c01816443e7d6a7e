"""The filters of ListBackupJobs, ListCopyJobs and ListRecoveryPointsByBackupVault, and the
validation AWS applies to them before listing anything.

Query names are the APIs' URI parameters ("ListBackupJobs", "ListCopyJobs",
"ListRecoveryPointsByBackupVault" in the AWS Backup API Reference): ByState is `state`,
ByCreatedAfter `createdAfter`, and so on. A value outside an enum or a pattern is AWS's
ValidationException ("1 validation error detected: ..."), a timestamp that does not parse is a
SerializationException, both HTTP 400.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

DAY = 86_400
# "ListBackupJobs": "Returns a list of existing backup jobs for an authenticated account for the
# last 30 days."
BACKUP_JOB_WINDOW = 30 * DAY

STATES = {
    "backup": ["CREATED", "PENDING", "RUNNING", "ABORTING", "ABORTED", "COMPLETED", "FAILED", "EXPIRED", "PARTIAL"],
    "copy": ["CREATED", "RUNNING", "COMPLETED", "FAILED", "PARTIAL"],
}
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
VAULT_NAME = re.compile(r"^[a-zA-Z0-9\-\_]{2,50}$")
TIMES = ("createdAfter", "createdBefore", "completeAfter", "completeBefore")


class FilterError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _constraint(value: str, member: str, constraint: str) -> FilterError:
    return FilterError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
    )


def parse_time(text: str, member: str = "timestamp") -> float:
    """Epoch seconds or ISO 8601 (what the SDKs send in a query string)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise FilterError("SerializationException", f"Could not parse '{text}' as a timestamp for {member}") from None


def parse_job_filters(kind: str, query: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {k: v for k, v in query.items() if k not in TIMES}
    if "state" in query and query["state"] not in STATES[kind]:
        raise _constraint(query["state"], "byState",
                          f"Member must satisfy enum value set: [{', '.join(STATES[kind])}]")
    if "accountId" in query and query["accountId"] != "*" and not ACCOUNT_ID.match(query["accountId"]):
        raise _constraint(query["accountId"], "byAccountId", "Member must satisfy regular expression pattern: ^[0-9]{12}$")
    if "backupVaultName" in query and not VAULT_NAME.match(query["backupVaultName"]):
        raise _constraint(query["backupVaultName"], "byBackupVaultName",
                          "Member must satisfy regular expression pattern: ^[a-zA-Z0-9\\-\\_]{2,50}$")
    for name in TIMES:
        if name in query:
            filters[name] = parse_time(query[name], "by" + name[0].upper() + name[1:])
    return filters


def job_matches(job: Any, filters: dict[str, Any], now: float) -> bool:
    """`job` has kind, account, resource_arn, resource_type, state, vault_name,
    recovery_point_arn, destination_vault_arn, created and completed (None while running)."""
    if job.kind == "backup" and job.created < now - BACKUP_JOB_WINDOW:
        return False
    exact = {
        "resourceArn": job.resource_arn,
        "resourceType": job.resource_type,
        "state": job.state,
        "backupVaultName": job.vault_name if job.kind == "backup" else None,
        "destinationVaultArn": job.destination_vault_arn if job.kind == "copy" else None,
        "sourceRecoveryPointArn": job.recovery_point_arn if job.kind == "copy" else None,
        "parentJobId": job.parent_job_id,
    }
    for name, value in exact.items():
        if name in filters and filters[name] != value:
            return False
    if "accountId" in filters and filters["accountId"] not in ("*", job.account):
        return False
    if "createdAfter" in filters and not job.created > filters["createdAfter"]:
        return False
    if "createdBefore" in filters and not job.created < filters["createdBefore"]:
        return False
    if "completeAfter" in filters and not (job.completed is not None and job.completed > filters["completeAfter"]):
        return False
    if "completeBefore" in filters and not (job.completed is not None and job.completed < filters["completeBefore"]):
        return False
    return True


def parse_point_filters(query: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {k: v for k, v in query.items() if k in ("resourceArn", "resourceType", "backupPlanId")}
    for name in ("createdAfter", "createdBefore"):
        if name in query:
            filters[name] = parse_time(query[name], "by" + name[0].upper() + name[1:])
    return filters


def point_matches(point: Any, filters: dict[str, Any]) -> bool:
    if "resourceArn" in filters and point.resource_arn != filters["resourceArn"]:
        return False
    if "resourceType" in filters and point.resource_type != filters["resourceType"]:
        return False
    if "backupPlanId" in filters and (point.created_by or {}).get("BackupPlanId") != filters["backupPlanId"]:
        return False
    if "createdAfter" in filters and not point.created > filters["createdAfter"]:
        return False
    if "createdBefore" in filters and not point.created < filters["createdBefore"]:
        return False
    return True

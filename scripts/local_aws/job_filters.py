"""The filters of ListBackupJobs, ListCopyJobs, ListRestoreJobs, ListScanJobs and
ListRecoveryPointsByBackupVault, and the validation AWS applies to them before listing anything.

Query names are the APIs' URI parameters ("ListBackupJobs", "ListCopyJobs", "ListRestoreJobs",
"ListScanJobs", "ListRecoveryPointsByBackupVault" in the AWS Backup API Reference): ByState is
`state` (`ByState` for ListScanJobs, whose parameters keep their member names), ByCreatedAfter
`createdAfter`, and so on. A value outside an enum, a pattern or a range of those pages (and of the
API model they are generated from) is AWS's ValidationException ("1 validation error detected:
..."), a timestamp that does not parse is a SerializationException, both HTTP 400. ARN filters
(ByResourceArn, ByDestinationVaultArn, ...) are plain strings in the API model, with no pattern: a
malformed one is not refused, it matches nothing.

Which jobs a listing covers:
  ListBackupJobs  "Returns a list of existing backup jobs for an authenticated account for the
                  last 30 days."
  ListScanJobs    "Returns a list of existing scan jobs for an authenticated account for the last
                  30 days."
  ListCopyJobs ("Returns metadata about your copy jobs.") and ListRestoreJobs ("Returns a list of
  jobs that AWS Backup initiated to restore a saved resource") state no window, so none is applied.
Each window is measured against the emulator's clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

DAY = 86_400
LISTING_WINDOW = 30 * DAY

STATES = {
    "backup": ["CREATED", "PENDING", "RUNNING", "ABORTING", "ABORTED", "COMPLETED", "FAILED", "EXPIRED", "PARTIAL"],
    "copy": ["CREATED", "RUNNING", "COMPLETED", "FAILED", "PARTIAL"],
}
RESTORE_STATUSES = ["PENDING", "RUNNING", "COMPLETED", "ABORTED", "FAILED"]
SCAN_STATES = ["CANCELED", "COMPLETED", "COMPLETED_WITH_ISSUES", "CREATED", "FAILED", "RUNNING"]
TIMES = ("createdAfter", "createdBefore", "completeAfter", "completeBefore")
ACCOUNT_PATTERN = r"^[0-9]{12}$"
VAULT_PATTERN = r"^[a-zA-Z0-9\-\_]{2,50}$"
SCAN_VAULT_PATTERN = r"^[a-zA-Z0-9\-\_\.]{2,50}$"
RESOURCE_TYPE_PATTERN = r"^[a-zA-Z0-9\-\_\.]{1,50}$"

# Per listing: query name -> (the member AWS names in its message, an enum list or a pattern).
# "*" as the account is every account of the organization (ListBackupJobs, ListCopyJobs and
# ListScanJobs, ByAccountId: "If used from an AWS Organizations management account, passing *
# returns all jobs across the organization").
CONSTRAINTS: dict[str, dict[str, tuple[str, Any]]] = {
    "backup": {"state": ("byState", STATES["backup"]), "accountId": ("byAccountId", ACCOUNT_PATTERN),
               "backupVaultName": ("byBackupVaultName", VAULT_PATTERN),
               "resourceType": ("byResourceType", RESOURCE_TYPE_PATTERN)},
    "copy": {"state": ("byState", STATES["copy"]), "accountId": ("byAccountId", ACCOUNT_PATTERN),
             "resourceType": ("byResourceType", RESOURCE_TYPE_PATTERN)},
    "restore": {"status": ("byStatus", RESTORE_STATUSES), "accountId": ("byAccountId", ACCOUNT_PATTERN),
                "resourceType": ("byResourceType", RESOURCE_TYPE_PATTERN)},
    "scan": {"ByState": ("byState", SCAN_STATES), "ByAccountId": ("byAccountId", ACCOUNT_PATTERN),
             "ByBackupVaultName": ("byBackupVaultName", SCAN_VAULT_PATTERN),
             "ByResourceType": ("byResourceType", ["EBS", "EC2", "S3"]),
             "ByScanResultStatus": ("byScanResultStatus", ["NO_THREATS_FOUND", "THREATS_FOUND", "UNKNOWN"]),
             "ByMalwareScanner": ("byMalwareScanner", ["GUARDDUTY"])},
}
WILDCARD_ACCOUNT = {"backup", "copy", "scan"}
# MaxResults of every listing here: 1 to 1000 ("MaxResults": "Valid Range: Minimum value of 1.
# Maximum value of 1000.").
MAX_RESULTS = (1, 1000)


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


def check_constraints(kind: str, query: dict[str, str]) -> None:
    """Refuses a filter value outside its enum or pattern, as AWS does, before anything is listed."""
    for name, (member, allowed) in CONSTRAINTS[kind].items():
        if name not in query:
            continue
        value = query[name]
        if name in ("accountId", "ByAccountId") and value == "*" and kind in WILDCARD_ACCOUNT:
            continue
        if isinstance(allowed, list):
            if value not in allowed:
                raise _constraint(value, member, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
        elif not re.match(allowed, value):
            raise _constraint(value, member, f"Member must satisfy regular expression pattern: {allowed}")


def max_results(query: dict[str, str], name: str = "maxResults") -> int:
    """The page size asked for (1000 when none is), refused outside 1..1000."""
    if name not in query:
        return MAX_RESULTS[1]
    text = query[name]
    try:
        value = int(text)
    except ValueError:
        raise FilterError("SerializationException", f"Could not parse '{text}' as an integer for {name}") from None
    if value < MAX_RESULTS[0]:
        raise _constraint(text, name, f"Member must have value greater than or equal to {MAX_RESULTS[0]}")
    if value > MAX_RESULTS[1]:
        raise _constraint(text, name, f"Member must have value less than or equal to {MAX_RESULTS[1]}")
    return value


def parse_times(query: dict[str, str], names: tuple[str, ...] = TIMES) -> dict[str, float]:
    return {name: parse_time(query[name], "by" + name.removeprefix("By")[0].upper() + name.removeprefix("By")[1:])
            for name in names if name in query}


def parse_job_filters(kind: str, query: dict[str, str]) -> dict[str, Any]:
    check_constraints(kind, query)
    filters: dict[str, Any] = {k: v for k, v in query.items() if k not in TIMES}
    filters.update(parse_times(query))
    return filters


def in_window(created: float, now: float) -> bool:
    """Whether a job created then is in a 30-day listing at `now`."""
    return created >= now - LISTING_WINDOW


def times_match(created: float, completed: float | None, times: dict[str, float]) -> bool:
    """ByCreatedAfter/Before and ByCompleteAfter/Before (either spelling); a job still running
    has no completion date and matches no completion filter."""
    t = {k.removeprefix("By")[0].lower() + k.removeprefix("By")[1:]: v for k, v in times.items()}
    if "createdAfter" in t and not created > t["createdAfter"]:
        return False
    if "createdBefore" in t and not created < t["createdBefore"]:
        return False
    if "completeAfter" in t and not (completed is not None and completed > t["completeAfter"]):
        return False
    if "completeBefore" in t and not (completed is not None and completed < t["completeBefore"]):
        return False
    return True


def job_matches(job: Any, filters: dict[str, Any], now: float) -> bool:
    """`job` has kind, account, resource_arn, resource_type, state, vault_name,
    recovery_point_arn, destination_vault_arn, created and completed (None while running)."""
    if job.kind == "backup" and not in_window(job.created, now):
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
    return times_match(job.created, job.completed, {k: v for k, v in filters.items() if k in TIMES})


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

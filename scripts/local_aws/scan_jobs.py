"""Malware scans of recovery points (AWS Backup with GuardDuty Malware Protection), for the
local emulator: StartScanJob, DescribeScanJob and ListScanJobs over REST-JSON, and the
`Scan Job State Change` events AWS Backup puts on the default bus ("Malware scan job events" in
the AWS Backup Developer Guide: `state` CREATED, RUNNING, COMPLETED, COMPLETED_WITH_ISSUES,
FAILED, CANCELED; the verdict is `scanResult.scanResultStatus`, and a COMPLETED scan may have
found threats).

GuardDuty's verdict cannot be computed here, so a test decides it with request headers:
  x-emulator-scan-result: THREATS_FOUND | NO_THREATS_FOUND   (default NO_THREATS_FOUND)
  x-emulator-scan-state:  COMPLETED_WITH_ISSUES | FAILED | CANCELED   (default COMPLETED)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import default_bus
from job_filters import check_constraints, in_window, parse_times, times_match

SCAN_STATES = ("CREATED", "RUNNING", "COMPLETED", "COMPLETED_WITH_ISSUES", "FAILED", "CANCELED")
RESULTS = ("THREATS_FOUND", "NO_THREATS_FOUND")


@dataclass
class ScanJob:
    id: str
    account: str
    region: str
    vault_name: str
    vault_arn: str
    recovery_point_arn: str
    resource_arn: str
    resource_type: str
    iam_role_arn: str
    scanner_role_arn: str
    scan_mode: str
    created: float
    state: str
    result: str | None
    created_by: dict | None
    status_message: str = ""

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AccountId": self.account,
            "ScanJobId": self.id,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "RecoveryPointArn": self.recovery_point_arn,
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "ResourceName": self.resource_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1],
            "IamRoleArn": self.iam_role_arn,
            "ScannerRoleArn": self.scanner_role_arn,
            "MalwareScanner": "GUARDDUTY",
            "ScanMode": self.scan_mode,
            "State": self.state,
            "CreationDate": self.created,
            "CompletionDate": self.created,
        }
        if self.result:
            out["ScanResult"] = {"ScanResultStatus": self.result}
        if self.status_message:
            out["StatusMessage"] = self.status_message
        if self.created_by:
            out["CreatedBy"] = self.created_by
        return out

    def event_detail(self, state: str, iso) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "scanJobId": self.id,
            "state": state,
            "backupVaultName": self.vault_name,
            "backupVaultArn": self.vault_arn,
            "recoveryPointArn": self.recovery_point_arn,
            "resourceArn": self.resource_arn,
            "resourceType": self.resource_type,
            "iamRoleArn": self.iam_role_arn,
            "scannerRoleArn": self.scanner_role_arn,
            "malwareScanner": "GUARDDUTY",
            "scanMode": self.scan_mode,
            "creationDate": iso(self.created),
        }
        if state not in ("CREATED", "RUNNING"):
            detail["completionDate"] = iso(self.created)
            if self.result:
                detail["scanResult"] = {"scanResultStatus": self.result}
            if self.status_message:
                detail["statusMessage"] = self.status_message
        if self.created_by:
            # Scan events name the rule `backupRuleId` (job events say `backupPlanRuleId`).
            detail["createdBy"] = {
                "backupPlanId": self.created_by["BackupPlanId"],
                "backupPlanArn": self.created_by["BackupPlanArn"],
                "backupPlanVersion": self.created_by.get("BackupPlanVersion", "1"),
                "backupRuleId": self.created_by.get("BackupRuleId", "daily"),
            }
        return detail


def start_scan_job(state, account: str, region: str, body: dict, headers: dict, invalid, iso) -> dict:
    """StartScanJob: the scan runs to its end at once, with a CREATED, a RUNNING and a final event."""
    vault_name = body.get("BackupVaultName") or ""
    point_arn = body.get("RecoveryPointArn") or ""
    if not (vault_name and point_arn and body.get("IamRoleArn") and body.get("ScannerRoleArn")):
        raise invalid("BackupVaultName, RecoveryPointArn, IamRoleArn and ScannerRoleArn are required")
    if body.get("MalwareScanner", "GUARDDUTY") != "GUARDDUTY":
        raise invalid("MalwareScanner must be GUARDDUTY")
    mode = body.get("ScanMode") or "FULL_SCAN"
    if mode not in ("FULL_SCAN", "INCREMENTAL_SCAN"):
        raise invalid("ScanMode must be FULL_SCAN or INCREMENTAL_SCAN")
    point = state.point_in(account, region, vault_name, point_arn)
    final = headers.get("x-emulator-scan-state", "COMPLETED")
    result = headers.get("x-emulator-scan-result", "NO_THREATS_FOUND")
    if final not in SCAN_STATES[2:] or result not in RESULTS:
        raise invalid(f"unknown test scan outcome {final}/{result}")
    job = ScanJob(
        id=str(uuid.uuid4()), account=account, region=region, vault_name=vault_name, vault_arn=point.vault_arn,
        recovery_point_arn=point.arn, resource_arn=point.resource_arn, resource_type=point.resource_type,
        iam_role_arn=body["IamRoleArn"], scanner_role_arn=body["ScannerRoleArn"], scan_mode=mode,
        created=state.clock.now(), state=final,
        # Only a scan that completed has a verdict.
        result=result if final in ("COMPLETED", "COMPLETED_WITH_ISSUES") else None,
        created_by=point.created_by,
        status_message={"FAILED": "The scanner could not read the recovery point.",
                        "CANCELED": "The scan job was canceled.",
                        "COMPLETED_WITH_ISSUES": "Some files could not be scanned."}.get(final, ""),
    )
    state.scan_jobs[job.id] = job
    for step in ("CREATED", "RUNNING", final):
        emit(job, step, iso)
    return {"ScanJobId": job.id, "CreationDate": job.created}


def emit(job: ScanJob, state: str, iso) -> None:
    default_bus.put(job.account, job.region, "Scan Job State Change", job.created, [job.recovery_point_arn],
                    job.event_detail(state, iso))


def list_scan_jobs(state, account: str, region: str, query: dict[str, str]) -> list[dict]:
    """ListScanJobs with its filters (By... query parameters, validated as AWS validates them),
    newest first, over the last 30 days ("ListScanJobs": "Returns a list of existing scan jobs
    for an authenticated account for the last 30 days") by the emulator's clock."""
    check_constraints("scan", query)
    times = parse_times(query, ("ByCompleteAfter", "ByCompleteBefore"))
    exact = {
        "ByResourceArn": lambda j: j.resource_arn,
        "ByRecoveryPointArn": lambda j: j.recovery_point_arn,
        "ByBackupVaultName": lambda j: j.vault_name,
        "ByResourceType": lambda j: j.resource_type,
        "ByState": lambda j: j.state,
        "ByScanResultStatus": lambda j: j.result,
    }
    now = state.clock.now()
    jobs = [
        j for j in sorted(state.scan_jobs.values(), key=lambda j: j.created, reverse=True)
        if (j.account, j.region) == (account, region) and in_window(j.created, now)
        and query.get("ByAccountId", "*") in ("*", j.account)
        and all(get(j) == query[name] for name, get in exact.items() if name in query)
        and times_match(j.created, j.created, times)
    ]
    return [j.describe() for j in jobs]

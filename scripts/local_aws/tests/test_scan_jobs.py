"""Malware scans: StartScanJob runs the scan, ListScanJobs and DescribeScanJob report it, and
`Scan Job State Change` events go to the default bus with the verdict the test chose."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from conftest import Aws, details, inbox


def scan(aws: Aws, vault: str, point: str, headers: dict | None = None) -> dict:
    client = aws.backup
    if headers:
        def add(request, **_):
            for k, v in headers.items():
                request.headers[k] = v
        client.meta.events.register("before-sign.backup.StartScanJob", add)
    job_id = client.start_scan_job(BackupVaultName=vault, RecoveryPointArn=point, MalwareScanner="GUARDDUTY",
                                   IamRoleArn=f"arn:aws:iam::{aws.account}:role/backup",
                                   ScannerRoleArn=f"arn:aws:iam::{aws.account}:role/scanner",
                                   ScanMode="FULL_SCAN")["ScanJobId"]
    return aws.backup.describe_scan_job(ScanJobId=job_id)


def test_a_scan_reports_its_verdict_in_the_api_and_in_its_events(home):
    queue = inbox(home, {"source": ["aws.backup"], "detail-type": ["Scan Job State Change"]})
    vault, _ = home.vault()
    point = home.backup_job(vault, home.table_arn())["RecoveryPointArn"]

    job = scan(home, vault, point, {"x-emulator-scan-result": "THREATS_FOUND"})

    assert (job["State"], job["ScanResult"]["ScanResultStatus"]) == ("COMPLETED", "THREATS_FOUND")
    events = details(home, queue)
    assert [d["state"] for d in events] == ["CREATED", "RUNNING", "COMPLETED"]
    assert events[-1]["scanResult"] == {"scanResultStatus": "THREATS_FOUND"}
    assert events[-1]["recoveryPointArn"] == point
    listed = home.backup.list_scan_jobs(ByRecoveryPointArn=point)["ScanJobs"]
    assert [j["ScanJobId"] for j in listed] == [job["ScanJobId"]]


def test_a_failed_scan_has_no_verdict_and_bad_filters_are_refused(home):
    vault, _ = home.vault()
    point = home.backup_job(vault, home.table_arn())["RecoveryPointArn"]
    job = scan(home, vault, point, {"x-emulator-scan-state": "FAILED"})
    assert job["State"] == "FAILED" and "ScanResult" not in job
    # RUNNING is a scan state ("ListScanJobs", ByState); DONE is none.
    assert home.backup.list_scan_jobs(ByState="RUNNING", ByRecoveryPointArn=point)["ScanJobs"] == []
    with pytest.raises(ClientError):
        home.backup.list_scan_jobs(ByState="DONE")

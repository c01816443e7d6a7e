"""The emulator's own tests run against a fresh emulator process on loopback (serve.py on a free
port), through boto3 like any AWS client, so they see what the SDKs see."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

HOME = "123456789012"
REGION = "eu-west-1"
SERVE = Path(__file__).resolve().parents[1] / "serve.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_emulator():
    port = free_port()
    # The emulator logs every request: to a file, since a pipe nobody reads fills up and blocks it.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, str(SERVE), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"the emulator exited: {log.read().decode()}")
                time.sleep(0.1)
        else:
            pytest.fail("the emulator did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def endpoint():
    """One emulator for the tests that leave its clock alone."""
    with running_emulator() as url:
        yield url


@pytest.fixture
def own_endpoint():
    """An emulator of the test's own, for tests that move its clock."""
    with running_emulator() as url:
        yield url


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


class Aws:
    """Clients for one account (the default one, or another through AssumeRole) and region."""

    def __init__(self, endpoint: str, account: str = HOME, region: str = REGION):
        self.endpoint, self.account, self.region = endpoint, account, region
        kwargs: dict = {"region_name": region, "endpoint_url": endpoint}
        if account != HOME:
            creds = boto3.client("sts", **kwargs).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test")["Credentials"]
            kwargs.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"])
        self.kwargs = kwargs

    def client(self, service: str):
        return boto3.client(service, **self.kwargs)

    @property
    def backup(self):
        return self.client("backup")

    def vault(self, name: str | None = None) -> tuple[str, str]:
        name = name or unique("vault")
        arn = self.backup.create_backup_vault(BackupVaultName=name)["BackupVaultArn"]
        return name, arn

    def table_arn(self) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{unique('table')}"

    def backup_job(self, vault: str, resource: str, lifecycle: dict | None = None, headers: dict | None = None) -> dict:
        client = self.backup
        if headers:
            def add(request, **_):
                for k, v in headers.items():
                    request.headers[k] = v
            client.meta.events.register("before-sign.backup.StartBackupJob", add)
        args = {"BackupVaultName": vault, "ResourceArn": resource,
                "IamRoleArn": f"arn:aws:iam::{self.account}:role/backup"}
        if lifecycle:
            args["Lifecycle"] = lifecycle
        started = client.start_backup_job(**args)
        return client.describe_backup_job(BackupJobId=started["BackupJobId"])


def inbox(aws: Aws, pattern: dict) -> str:
    """A queue receiving the default bus's events that match `pattern`; returns its URL."""
    sqs, events = aws.client("sqs"), aws.client("events")
    queue = sqs.create_queue(QueueName=unique("inbox"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = unique("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn}])
    return queue


def details(aws: Aws, queue: str) -> list[dict]:
    """The `detail` of the events waiting in an inbox, in order."""
    messages = aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["detail"] for m in messages]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def advance_clock(endpoint: str, seconds: float) -> float:
    request = urllib.request.Request(f"{endpoint}/_emulator/clock", method="POST",
                                     data=json.dumps({"advance_seconds": seconds}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["now"]


def emulator_now(endpoint: str) -> float:
    with urllib.request.urlopen(f"{endpoint}/_emulator/clock", timeout=5) as response:
        return json.loads(response.read())["now"]


@pytest.fixture
def home(endpoint) -> Aws:
    return Aws(endpoint)


@pytest.fixture
def aws(endpoint):
    return lambda account=HOME, region=REGION: Aws(endpoint, account, region)


os.environ.setdefault("AWS_DEFAULT_REGION", REGION)

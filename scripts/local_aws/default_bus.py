"""AWS Backup's events on an account's default event bus, as AWS Backup puts them there.

The rules get the whole event (moto's default input template would drop `account`)."""

from __future__ import annotations

import uuid
from typing import Any

from moto.events.models import events_backends


def put(account: str, region: str, detail_type: str, time: float, resources: list[str], detail: dict[str, Any]) -> None:
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.backup",
        "account": account,
        "time": time,
        "region": region,
        "resources": resources,
        "detail": detail,
    }
    bus = events_backends[account][region].describe_event_bus("default")
    for rule in list(bus.rules.values()):
        rule.send_to_targets(dict(event), transform_input=False)

"""DynamoDB's writes to one table are isolated from each other, as in AWS; moto's are not.

AWS: TransactWriteItems is serializable with respect to every other write, PutItem, UpdateItem,
DeleteItem and other transactions ("Amazon DynamoDB Transactions: How it works", isolation
levels), so of two transactions whose conditions both hold before either writes, the second is
cancelled. moto's server serves requests on threads and checks a transaction's conditions, then
writes, then on a failed condition puts back a copy of the whole table taken at its start,
with nothing keeping other requests out: two racing transactions both pass their conditions,
and a cancelled one can undo a write made meanwhile. One lock around moto's item writes makes
them happen one at a time, as AWS's isolation guarantees.
"""

from __future__ import annotations

import functools
import threading

from moto.dynamodb.models import DynamoDBBackend

_WRITES = threading.RLock()  # re-entrant: a transaction writes through put_item and friends


def _isolate(name: str) -> None:
    original = getattr(DynamoDBBackend, name)

    @functools.wraps(original)
    def isolated(self, *args, **kwargs):
        with _WRITES:
            return original(self, *args, **kwargs)

    setattr(DynamoDBBackend, name, isolated)


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    _isolate(_name)

"""DynamoDB's writes to one table are isolated from each other, as in AWS; moto's are not.

AWS: TransactWriteItems is serializable with respect to every other write, PutItem, UpdateItem,
DeleteItem and other transactions ("Amazon DynamoDB Transactions: How it works", isolation
levels), so of two transactions whose conditions both hold before either writes, the second is
cancelled. moto's server serves requests on threads and checks a transaction's conditions, then
writes, then on a failed condition puts back a copy of the whole table taken at its start,
with nothing keeping other requests out: two racing transactions both pass their conditions,
and a cancelled one can undo a write made meanwhile. One lock around moto's item writes makes
them happen one at a time, as AWS's isolation guarantees.

moto also copies the whole table once per action of a transaction, not once per transaction,
so a 100-action transaction on a table of a few thousand items takes seconds; here each table
is copied once per transaction (same snapshot, same rollback), so the emulator's time does not
grow with actions x table size. AWS's does not either.
"""

from __future__ import annotations

import copy
import functools
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_WRITES = threading.RLock()  # re-entrant: a transaction writes through put_item and friends


def _isolate(name: str) -> None:
    original = getattr(DynamoDBBackend, name)

    @functools.wraps(original)
    def isolated(self, *args, **kwargs):
        with _WRITES:
            return original(self, *args, **kwargs)

    setattr(DynamoDBBackend, name, isolated)


class _OneSnapshotPerTable:
    """Stands in for the `copy` module inside one transaction: a table is copied once."""

    def __init__(self) -> None:
        self._tables: dict[int, Table] = {}

    def deepcopy(self, value):
        if not isinstance(value, Table):
            return copy.deepcopy(value)
        if id(value) not in self._tables:
            self._tables[id(value)] = copy.deepcopy(value)
        return self._tables[id(value)]


def _snapshot_once() -> None:
    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self, *args, **kwargs):
        with _WRITES:  # also keeps the stand-in to this one call
            dynamodb_models.copy = _OneSnapshotPerTable()
            try:
                return original(self, *args, **kwargs)
            finally:
                dynamodb_models.copy = copy

    DynamoDBBackend.transact_write_items = transact_write_items


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    _isolate(_name)
_snapshot_once()

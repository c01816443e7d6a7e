"""Two transactions racing on the same items: one is written, the other cancelled, as in AWS."""

from __future__ import annotations

import threading
import uuid

import botocore.exceptions


def test_of_two_racing_conditional_transactions_on_the_same_items_exactly_one_is_written(home):
    dynamodb = home.client("dynamodb")
    table = f"race-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(TableName=table, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    # A table of some size, as moto copies it whole at the start of each transaction.
    for start in range(0, 2000, 25):
        dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": f"filler-{i}"}}}}
                                                        for i in range(start, start + 25)]})
    clients = [home.client("dynamodb"), home.client("dynamodb")]

    for round in range(20):
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def write(client, writer: str) -> None:
            items = [{"Put": {"TableName": table, "Item": {"pk": {"S": f"r{round}-{i}"}, "by": {"S": writer}},
                              "ConditionExpression": "attribute_not_exists(pk)"}} for i in range(3)]
            barrier.wait()
            try:
                client.transact_write_items(TransactItems=items)
                outcomes.append("written")
            except botocore.exceptions.ClientError as e:
                assert e.response["Error"]["Code"] == "TransactionCanceledException"
                outcomes.append("cancelled")

        threads = [threading.Thread(target=write, args=(c, w)) for c, w in zip(clients, "ab")]
        [t.start() for t in threads]
        [t.join() for t in threads]

        assert sorted(outcomes) == ["cancelled", "written"], f"round {round}"
        items = [dynamodb.get_item(TableName=table, Key={"pk": {"S": f"r{round}-{i}"}}, ConsistentRead=True).get("Item")
                 for i in range(3)]
        assert all(items), f"round {round}: the written transaction was undone by the cancelled one"
        assert len({item["by"]["S"] for item in items}) == 1, f"round {round}: items of both transactions"

"""KMS key state changes accept a key ARN as AWS does, not only a key ID."""

from __future__ import annotations


def test_a_key_scheduled_cancelled_and_enabled_by_its_arn_ends_enabled(home):
    kms = home.client("kms")
    arn = kms.create_key(Description="vault key")["KeyMetadata"]["Arn"]

    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=arn)
    # "Cancel key deletion": the key is Disabled until it is enabled.
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=arn)

    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"

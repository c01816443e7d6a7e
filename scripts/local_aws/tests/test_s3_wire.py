"""S3 answers carry the root element S3's REST-XML protocol uses, which strict SDKs check."""

from __future__ import annotations

from conftest import Aws, unique


def raw_body(aws: Aws, operation: str, call) -> bytes:
    client = aws.client("s3")
    seen: dict = {}

    def keep(response_dict, **_):
        seen["body"] = response_dict["body"]
    client.meta.events.register(f"before-parse.s3.{operation}", keep)
    call(client)
    return seen["body"]


def test_bucket_versioning_and_tagging_answer_with_their_documents(home):
    s3 = home.client("s3")
    bucket = unique("bucket")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": home.region})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "backup-plan", "Value": "production"}]})

    versioning = raw_body(home, "GetBucketVersioning", lambda c: c.get_bucket_versioning(Bucket=bucket))
    tagging = raw_body(home, "GetBucketTagging", lambda c: c.get_bucket_tagging(Bucket=bucket))

    assert b"<VersioningConfiguration" in versioning and b"Response" not in versioning
    assert b"<Tagging" in tagging and b"<TagSet>" in tagging and b"Response>" not in tagging
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "backup-plan", "Value": "production"}]

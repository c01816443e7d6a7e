"""S3 answers with the XML root element AWS uses.

moto serialises some S3 bucket subresources under a `<{Operation}Response>` root, where S3's
REST-XML protocol names the document itself ("GetBucketVersioning": the response body is a
`VersioningConfiguration` element; "GetBucketTagging": a `Tagging` element). boto3 does not
look at the root's name, but the Rust SDK does, and refuses the answer. This layer renames the
root of those answers; everything else passes through unchanged.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable
from urllib.parse import parse_qs

AUTH = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")

# GET ?{subresource} on a bucket -> the root element AWS answers with.
ROOTS = {
    "versioning": "VersioningConfiguration",
    "tagging": "Tagging",
}


def root_for(environ: dict) -> str | None:
    match = AUTH.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match or match.group(1) != "s3" or environ.get("REQUEST_METHOD") != "GET":
        return None
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    found = [root for sub, root in ROOTS.items() if sub in query]
    return found[0] if len(found) == 1 and len(query) == 1 else None


def renamed(body: bytes, root: str) -> bytes:
    return re.sub(rb"<(/?)[A-Za-z]+Response(?=[\s>])", lambda m: b"<" + m.group(1) + root.encode(), body, count=2)


class S3ResponseRoots:
    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        root = root_for(environ)
        if root is None:
            return self.app(environ, start_response)
        captured: dict = {}

        def capture(status: str, headers: list, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        if captured["status"].startswith("200"):
            body = renamed(body, root)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], headers + [("Content-Length", str(len(body)))])
        return [body]

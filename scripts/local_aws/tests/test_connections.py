"""Connections stay open between requests, as AWS endpoints keep them ("Reuse connections with
keep-alive in Node.js", AWS SDK for JavaScript v3 Developer Guide), so clients measured here pay
for TCP set-up once, as in AWS."""

from __future__ import annotations

import http.client
from urllib.parse import urlparse

from conftest import HOME, REGION


def signed_form(service: str, body: str) -> dict:
    # moto routes a request by the service in its SigV4 credential scope; it does not check the signature.
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261127/{REGION}/{service}/aws4_request, "
                         "SignedHeaders=host, Signature=0",
        "X-Amz-Date": "20261127T000000Z",
    }


def test_one_connection_serves_several_requests(endpoint):
    url = urlparse(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        answers = []
        sockets = []
        for body in ("Action=ListTopics&Version=2010-03-31", "Action=CreateTopic&Name=kept-alive&Version=2010-03-31",
                     "Action=ListTopics&Version=2010-03-31"):
            connection.request("POST", "/", body=body, headers=signed_form("sns", body))
            answer = connection.getresponse()
            answers.append((answer.status, answer.getheader("Connection"), answer.read()))
            sockets.append(connection.sock)
    finally:
        connection.close()

    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert all((header or "").lower() != "close" for _, header, _ in answers)
    assert sockets[0] is not None and sockets == [sockets[0]] * 3
    assert f"arn:aws:sns:{REGION}:{HOME}:kept-alive".encode() in answers[2][2]

"""The local AWS emulator: moto's server app with the AWS Backup job APIs in front of it.

    python scripts/local_aws/serve.py --host 127.0.0.1 --port 5000

Served by waitress rather than werkzeug's development server, which closes the connection after
every answer: AWS endpoints keep HTTP/1.1 connections open and the SDKs reuse them ("Reuse
connections with keep-alive in Node.js", AWS SDK for JavaScript v3 Developer Guide), so a client
here pays for TCP set-up once, as it does in AWS.
"""

import argparse
import os
import sys

from waitress import serve

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from backup_jobs import BackupJobsApp  # noqa: E402
from s3_wire import S3ResponseRoots  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402


class AccessLog:
    """One line per request on stderr (method, path, status), as the development server wrote."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def logged(status, headers, exc_info=None):
            print(f'{environ["REQUEST_METHOD"]} {environ.get("PATH_INFO", "")} {status.split()[0]}',
                  file=sys.stderr, flush=True)
            return start_response(status, headers, exc_info)
        return self.app(environ, logged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the emulator listens on loopback only")
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = AccessLog(BackupJobsApp(S3ResponseRoots(DomainDispatcherApplication(create_backend_app))))
    # Threads for requests that wait (SQS long polls); idle kept-alive connections hold none.
    serve(app, host=args.host, port=args.port, threads=32, connection_limit=1000, ident=None, _quiet=True)


if __name__ == "__main__":
    main()

"""The local AWS emulator: moto's server app with the AWS Backup job APIs in front of it.

    python scripts/local_aws/serve.py --host 127.0.0.1 --port 5000
"""

import argparse
import os
import sys

from werkzeug.serving import run_simple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from backup_jobs import BackupJobsApp  # noqa: E402
from s3_wire import S3ResponseRoots  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from moto.server import MotoRequestHandler  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the emulator listens on loopback only")
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = BackupJobsApp(S3ResponseRoots(DomainDispatcherApplication(create_backend_app)))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

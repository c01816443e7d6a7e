#!/usr/bin/env bash
# Runs a command with the local AWS emulator (moto in server mode, plus the AWS Backup job APIs
# of scripts/local_aws/backup_jobs.py) on 127.0.0.1 and the AWS variables pointing at it, then
# stops the emulator it started (by its own pid).
#   scripts/with-local-aws.sh cargo test --workspace
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python="$root/.venv/bin/python"
[ -x "$root/.venv/bin/moto_server" ] || { echo "error: moto is missing from .venv; run 'make setup' first" >&2; exit 1; }

port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$root/.run"
log="$root/.run/moto-$port.log"
"$python" "$root/scripts/local_aws/serve.py" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/moto-api/data.json" >/dev/null 2>&1; then break; fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "error: the local AWS emulator exited; see $log" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/moto-api/data.json" >/dev/null || { echo "error: the local AWS emulator did not start on port $port" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "local AWS emulator (moto) on $AWS_ENDPOINT_URL" >&2
"$@"

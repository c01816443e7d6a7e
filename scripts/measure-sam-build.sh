#!/usr/bin/env bash
# `make bench-sam-build`: the real deploy build (`sam build --beta-features`, arm64 bootstraps
# through cargo-lambda) timed twice in one run, each on a fresh clone of this commit with an
# empty target directory:
#   before  every function with `BuildMethod: rust-cargolambda` (SAM builds each one on its own)
#   after   this repository's `BuildMethod: makefile` (one cargo-lambda build for all of them)
# Prints both wall times and their ratio. Needs the network only for the clones' pip installs.
set -euo pipefail

repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/rearguard-sam-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

prepare() {
  git clone --quiet "$repo" "$work/$1"
  make -C "$work/$1" setup >/dev/null
  python3 -m venv "$work/$1/.venv-sam"
  "$work/$1/.venv-sam/bin/pip" install --quiet aws-sam-cli
}

timed_build() {
  local dir=$1 started ended
  started=$(date +%s)
  (cd "$dir" && PATH="$dir/.venv/bin:$PATH" .venv-sam/bin/sam build --beta-features >"$dir/sam-build.log" 2>&1) ||
    { tail -30 "$dir/sam-build.log"; echo "sam build failed in $dir" >&2; exit 1; }
  ended=$(date +%s)
  echo $((ended - started))
}

prepare after
after=$(timed_build "$work/after")
echo "after  (BuildMethod makefile, one cargo-lambda build): ${after} s"

prepare before
python3 - "$work/before" <<'PY'
import re, sys, pathlib
root = pathlib.Path(sys.argv[1])
template = root / "template.yaml"
text = template.read_text()
# Every function the Makefile builds (build-<LogicalId>: cp .../<binary>/bootstrap), so a new
# function cannot stay on the makefile method in "before" and build the whole workspace there.
makefile = (root / "Makefile").read_text()
binaries = dict(re.findall(r"^build-(\w+): lambda-binaries\n\tcp \$\(LAMBDA_DIR\)/([\w-]+)/bootstrap", makefile, re.M))
assert binaries, "no build-<LogicalId> targets in the Makefile"
for function, binary in binaries.items():
    pattern = re.compile(rf"(  {function}:\n(?:    .*\n)*?      )BuildMethod: makefile\n")
    text, count = pattern.subn(rf"\1BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: {binary}\n", text)
    assert count == 1, function
assert "BuildMethod: makefile" not in text, "a function without a build-<LogicalId> target"
template.write_text(text)
(root / "samconfig.toml").unlink()
PY
before=$(timed_build "$work/before")
echo "before (BuildMethod rust-cargolambda per function):   ${before} s"
python3 -c "import sys; b, a = map(int, sys.argv[1:]); print(f'after / before: {a / b:.2f} ({b / a:.1f}x faster)')" "$before" "$after"
for function in $(sed -n 's/^build-\([A-Za-z]*\): lambda-binaries$/\1/p' "$work/after/Makefile"); do
  bootstrap="$work/after/.aws-sam/build/$function/bootstrap"
  zipped=$(cd "$(dirname "$bootstrap")" && python3 -c "import io, zipfile; b = io.BytesIO(); zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED).write('bootstrap'); print(len(b.getvalue()))")
  echo "$function: $(file -b "$bootstrap" | cut -d, -f1-2), $(stat -c %s "$bootstrap") bytes, zipped $zipped bytes"
done

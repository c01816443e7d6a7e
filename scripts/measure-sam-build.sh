#!/usr/bin/env bash
# `make bench-sam-build`: the real deploy build (`sam build --beta-features`, arm64 bootstraps
# through cargo-lambda) timed twice in one run, each on a fresh clone of this commit with an
# empty target directory:
#   before  the build as it was: every function with `BuildMethod: rust-cargolambda` (SAM builds
#           each one on its own, compiling its dependency tree again), the release profile with
#           fat LTO and without this repository's per-package overrides, and the SDK crates with
#           their default features
#   after   this repository's build: `BuildMethod: makefile` (one cargo-lambda build for all of
#           them, job-alerts alone linked with fat LTO) and the release profile as it is
# Prints both wall times, the CPU time each took (user + system of sam build and everything it
# ran: steady when other work shares the machine, wall time is not) and their ratios. Needs the
# network only for the clones' pip installs.
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

# Prints "<wall s> <cpu s>".
timed_build() {
  local dir=$1
  (cd "$dir" && PATH="$dir/.venv/bin:$PATH" /usr/bin/time -f "%e %U %S" -o "$dir/sam-build.time" \
    .venv-sam/bin/sam build --beta-features >"$dir/sam-build.log" 2>&1) ||
    { tail -30 "$dir/sam-build.log"; echo "sam build failed in $dir" >&2; exit 1; }
  awk '{ printf "%d %d\n", $1, $2 + $3 }' "$dir/sam-build.time"
}

prepare after
read -r after after_cpu < <(timed_build "$work/after")
echo "after  (BuildMethod makefile, one cargo-lambda build): ${after} s wall, ${after_cpu} s CPU"

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
cargo = root / "Cargo.toml"
# Each override section (its header and the lines up to the next header), adjacent ones too.
text = re.sub(r"^\[profile\.release\.package\.[^\]]+\]\n(?:[^\[\n][^\n]*\n)*", "", cargo.read_text(), flags=re.M)
assert "[profile.release.package." not in text
# Fat LTO for every binary, as the profile had it.
text, count = re.subn(r'^lto = "off"$', "lto = true", text, flags=re.M)
assert count == 1, "the release profile's lto setting"
# The SDK crates with their default features, as they were (two HTTPS stacks, SSO).
text, count = re.subn(r'^(aws-(?:config|sdk-[a-z0-9]+)) = \{ version = ("[^"]+"), default-features = false, features = \[[^\]]*\] \}$',
                      lambda m: f'{m[1]} = {{ version = {m[2]}, features = ["behavior-version-latest"] }}' if m[1] == "aws-config" else f"{m[1]} = {m[2]}",
                      text, flags=re.M)
assert count >= 10 and "default-features = false, features = [\"rt-tokio\"" not in text, count
cargo.write_text(text)
PY
read -r before before_cpu < <(timed_build "$work/before")
echo "before (BuildMethod rust-cargolambda per function):   ${before} s wall, ${before_cpu} s CPU"
python3 -c "import sys; b, a, bc, ac = map(int, sys.argv[1:]); print(f'after / before: wall {a / b:.2f} ({b / a:.1f}x faster), CPU {ac / bc:.2f}')" \
  "$before" "$after" "$before_cpu" "$after_cpu"
for function in $(sed -n 's/^build-\([A-Za-z]*\): lambda-binaries$/\1/p' "$work/after/Makefile"); do
  bootstrap="$work/after/.aws-sam/build/$function/bootstrap"
  zipped=$(cd "$(dirname "$bootstrap")" && python3 -c "import io, zipfile; b = io.BytesIO(); zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED).write('bootstrap'); print(len(b.getvalue()))")
  echo "$function: $(file -b "$bootstrap" | cut -d, -f1-2), $(stat -c %s "$bootstrap") bytes, zipped $zipped bytes"
done

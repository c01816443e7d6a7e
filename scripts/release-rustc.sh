#!/bin/sh
# RUSTC_WRAPPER for the release builds of the Lambda binaries (Makefile: lambda-binaries,
# release-arm64, bench). Cargo sets link-time optimisation for a whole profile, and fat LTO leaves
# every crate's code generation to each binary's link, so six functions generated the dependency
# tree's code six times. The release profile turns LTO off, so each crate is compiled once for all
# of them, and this wrapper keeps each crate's LLVM bitcode beside its object code, so that the
# binaries named in FAT_LTO_BINARIES (job-alerts: every Backup job event runs it) are still linked
# with fat LTO. Measured in README "Deploy" and "Performance".
#   RUSTC_WRAPPER=scripts/release-rustc.sh FAT_LTO_BINARIES="job-alerts" cargo build --release
rustc=$1
shift
for binary in $FAT_LTO_BINARIES; do
  crate=$(printf '%s' "$binary" | tr - _)
  case " $* " in
    *" --crate-name $crate "*" --crate-type bin "*)
      exec "$rustc" "$@" -C embed-bitcode=yes -C lto=fat ;;
  esac
done
exec "$rustc" "$@" -C embed-bitcode=yes

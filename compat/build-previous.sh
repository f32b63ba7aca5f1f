#!/usr/bin/env bash
# Builds the pairctl of the previous release (the commit compat/PREVIOUS
# names) once, into target/compat/<commit>/bin, and prints that directory:
# `pairctl up --binaries province=$(compat/build-previous.sh)` then runs the
# provinces as deployed nodes run them. The source comes from this
# repository's own history (git archive), so the clone needs that commit.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(grep -v '^#' compat/PREVIOUS | head -n 1 | tr -d '[:space:]')
out="$PWD/target/compat/$commit"
if [ -x "$out/bin/pairctl" ]; then
    echo "$out/bin"
    exit 0
fi
if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "build-previous: commit $commit is not in this clone's history" >&2
    exit 2
fi
rm -rf "$out/src"
mkdir -p "$out/src" "$out/bin"
git archive "$commit" | tar -x -C "$out/src"
echo "build-previous: building pairctl of $commit (once)" >&2
(cd "$out/src" && CARGO_TARGET_DIR="$out/target" cargo build --locked -p pairctl) >&2
cp "$out/target/debug/pairctl" "$out/bin/pairctl.partial"
mv "$out/bin/pairctl.partial" "$out/bin/pairctl"
echo "$out/bin"

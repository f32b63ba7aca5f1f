#!/usr/bin/env bash
# Builds the node image (default tag counterpart:dev) from a fresh clone, on
# a machine where no base image can be pulled: static binaries on the host
# with cargo, then an image FROM scratch that only copies them (see
# deploy/Dockerfile). Running it again rebuilds only what changed.
#
# Usage: deploy/build-images.sh [TAG]      (or COUNTERPART_IMAGE=TAG)
# Needs: cargo, a C toolchain with glibc's static libraries (Debian:
# libc6-dev), docker.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-${COUNTERPART_IMAGE:-counterpart:dev}}
# crt-static needs an explicit --target; its own target dir keeps this
# build from invalidating the usual target/release one.
rust_target=x86_64-unknown-linux-gnu
target_dir="$repo/target/static"
context="$repo/target/image-context"
binaries=(central province-node city-node pairctl)

cd "$repo"
# A test process that runs this script (the container suites) passes on
# the variables cargo test sets for its crate (CARGO_MANIFEST_DIR,
# CARGO_PKG_NAME, ...), and ring's build script reruns when they change:
# ring and everything above it, the nodes included, would be rebuilt
# (3 to 4 min) each time a test and a shell take turns.
source "$repo/deploy/lib/cargo-env.sh"
packages=()
for b in "${binaries[@]}"; do packages+=(-p "$b"); done
echo "==> cargo build (static, release) into $target_dir"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    nice -n 10 cargo build --release --target "$rust_target" \
    --target-dir "$target_dir" "${packages[@]}"

echo "==> staging the build context in $context"
rm -rf "$context"
mkdir -p "$context/scenarios" "$context/spans" "$context/data"
cp deploy/scenarios/*.toml "$context/scenarios/"
for b in "${binaries[@]}"; do
    bin="$target_dir/$rust_target/release/$b"
    # A dynamic binary would start nowhere: scratch has no loader.
    if command -v readelf >/dev/null && readelf -d "$bin" | grep -q NEEDED; then
        echo "build-images: $bin links shared libraries; the image needs static binaries" >&2
        exit 1
    fi
    cp "$bin" "$context/"
    # Symbols are a quarter of the size, and nobody debugs in the container.
    if command -v strip >/dev/null; then strip --strip-all "$context/$b"; fi
done

echo "==> docker build -t $tag"
docker build -f deploy/Dockerfile -t "$tag" "$context"

size_bytes=$(docker image inspect -f '{{.Size}}' "$tag")
echo "==> $tag: $((size_bytes / 1000000)) MB ($size_bytes bytes)"

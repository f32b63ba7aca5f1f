#!/usr/bin/env bash
# Builds the node image (default tag counterpart:dev) from a fresh clone, on
# a machine where no base image can be pulled: the binaries built on the
# host with cargo, then an image FROM scratch that only copies them (see
# deploy/Dockerfile). Running it again rebuilds only what changed.
#
# Usage: deploy/build-images.sh [--from-test-build] [TAG]
#        (or COUNTERPART_IMAGE=TAG)
#
# The image users run (no flag): static release binaries (glibc with
# +crt-static) into target/static. Needs cargo, a C toolchain with glibc's
# static libraries (Debian: libc6-dev), docker.
#
# --from-test-build: the same image layout from the binaries of the test
# build (`cargo test --workspace`'s dev profile in target/debug), which are
# dynamic, so the glibc loader and the libraries they name are copied in
# beside them. This is what the container suites run: the test build has
# compiled everything already, so the image costs a link and a copy, where
# the static release build is a second compilation of every crate (about
# 290 s of CI's two cores, a fifth of the test command). What only the
# release image has, its static link and its optimisation, is not what
# those suites test.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
from_test_build=false
if [ "${1:-}" = --from-test-build ]; then
    from_test_build=true
    shift
fi
tag=${1:-${COUNTERPART_IMAGE:-counterpart:dev}}
context="$repo/target/image-context"
binaries=(central province-node city-node pairctl)

cd "$repo"
for tool in readelf strip ldd; do
    command -v "$tool" >/dev/null || {
        echo "build-images: no $tool (binutils, libc-bin) on this machine" >&2
        exit 1
    }
done
# A test process that runs this script (the container suites) passes on
# the variables cargo test sets for its crate (CARGO_MANIFEST_DIR,
# CARGO_PKG_NAME, ...), and ring's build script reruns when they change:
# ring and everything above it, the nodes included, would be rebuilt
# (3 to 4 min) each time a test and a shell take turns.
source "$repo/deploy/lib/cargo-env.sh"

# Compiles the static release binaries; sets bin_dir.
build_release() {
    # crt-static needs an explicit --target; its own target dir keeps this
    # build from invalidating the usual target/release one.
    local rust_target=x86_64-unknown-linux-gnu
    local target_dir="$repo/target/static"
    local packages=()
    for b in "${binaries[@]}"; do packages+=(-p "$b"); done
    echo "==> cargo build (static, release) into $target_dir"
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
        nice -n 10 cargo build --release --target "$rust_target" \
        --target-dir "$target_dir" "${packages[@]}"
    bin_dir="$target_dir/$rust_target/release"
}

# Builds the four binaries inside the test build; sets bin_dir. The
# selection is `cargo test --workspace`'s (every package, its tests, so
# dev-dependencies' features too) plus the four binaries: with another
# selection cargo would resolve other features and compile the
# dependencies again. Only what the test build does not link already
# (city-node's binary) is built.
build_from_tests() {
    local selection=()
    for b in "${binaries[@]}"; do selection+=(--bin "$b"); done
    echo "==> cargo build (the test build's dev profile)"
    cargo build --workspace --tests --locked "${selection[@]}"
    bin_dir="${CARGO_TARGET_DIR:-$repo/target}/debug"
}

# Copies what a dynamic binary needs to start, the loader and each shared
# library `ldd` resolves, to the same paths under $context/root, which
# the Dockerfile copies to the image's root.
stage_libraries() {
    local bin=$1 path
    for path in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        mkdir -p "$context/root$(dirname "$path")"
        cp -L "$path" "$context/root$path"
    done
}

if $from_test_build; then build_from_tests; else build_release; fi

echo "==> staging the build context in $context"
rm -rf "$context"
mkdir -p "$context/root/scenarios" "$context/spans" "$context/data"
cp deploy/scenarios/*.toml "$context/root/scenarios/"
for b in "${binaries[@]}"; do
    bin="$bin_dir/$b"
    dynamic=false
    if readelf -d "$bin" | grep -q NEEDED; then dynamic=true; fi
    if $dynamic && ! $from_test_build; then
        # A dynamic binary would start nowhere: scratch has no loader.
        echo "build-images: $bin links shared libraries; the image needs static binaries" >&2
        exit 1
    fi
    if $dynamic; then stage_libraries "$bin"; fi
    cp "$bin" "$context/root/"
    # Symbols are a quarter of the size, and nobody debugs in the container.
    strip --strip-all "$context/root/$b"
done

echo "==> docker build -t $tag"
docker build -f deploy/Dockerfile -t "$tag" "$context"

size_bytes=$(docker image inspect -f '{{.Size}}' "$tag")
echo "==> $tag: $((size_bytes / 1000000)) MB ($size_bytes bytes)"

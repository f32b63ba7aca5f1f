#!/usr/bin/env bash
# The previous release (the commit compat/PREVIOUS names), built once and
# cached, in the two forms the tests run it in:
#
#   compat/build-previous.sh           prints the directory holding its pairctl
#                                      (target/compat/<commit>/bin):
#                                      `pairctl up --binaries province=DIR`
#   compat/build-previous.sh --image   prints the tag of its node image,
#                                      counterpart:previous-<commit, 12 digits>
#
# Both come from ONE build: the previous release's own deploy/build-images.sh,
# run on its source (git archive of that commit, from this repository's
# history, so the clone needs the commit). That script compiles static
# release binaries (glibc, +crt-static) and builds the image FROM scratch
# from them; the binaries double as the process tests' pairctl, so a CI run
# compiles the previous release once, not once per form (before, the
# process tests had a debug build of their own: 1 min 37 s measured).
# Seeded with a plain copy of this clone's target/static, cargo took the
# current release's generated protobuf code for the previous release's (a
# workspace crate's build hash does not depend on where it is, and git
# archive dates every file at the commit, older than the copied outputs):
# a build of both releases' sources. So the copy keeps the dependencies
# only: seed_from_current_build cleans the previous release's own crates
# out of it first. Either form is skipped when it is already there:
# - the binaries when target/compat/<commit>/bin/pairctl exists;
# - the image when the engine has the tag (no image is pulled: there is
#   nothing to pull from, see deploy/build-images.sh);
# - the binaries are copied out of the image when the engine has it but
#   this clone has no build (a fresh clone on a machine that built the
#   image before, as CI's is): seconds instead of minutes.
# Without a Docker engine the plain form still works: the previous
# release's script fails at `docker build`, after its cargo build, and the
# binaries are taken from that build.
set -euo pipefail
cd "$(dirname "$0")/.."
# Called from a test, the variables cargo test sets for its crate would
# reach the previous release's cargo build, and ring's build script reruns
# when they change (deploy/lib/cargo-env.sh, which deploy/build-images.sh sources too, but
# the previous release's copy predates that): the same build from a shell
# and from a test must be the same.
source "$PWD/deploy/lib/cargo-env.sh"

want=binaries
case "${1:-}" in
"") ;;
--image) want=image ;;
*)
    echo "usage: compat/build-previous.sh [--image]" >&2
    exit 2
    ;;
esac

commit=$(grep -v '^#' compat/PREVIOUS | head -n 1 | tr -d '[:space:]')
out="$PWD/target/compat/$commit"
src="$out/src"
# Where the previous release's build-images.sh puts its static binaries
# (its target_dir and rust_target).
static="$src/target/static/x86_64-unknown-linux-gnu/release"
# The commit in the tag: a new compat/PREVIOUS builds a new image rather
# than reusing a stale `previous`.
image="counterpart:previous-${commit:0:12}"
binaries=(central province-node city-node pairctl)

# One build at a time per clone: the test binaries that need the previous
# release may run side by side. The kernel drops the lock with the process.
mkdir -p "$out"
exec 9>"$out.lock"
flock 9

docker_answers() { docker info >/dev/null 2>&1; }
have_image() { docker image inspect "$image" >/dev/null 2>&1; }

unpack_source() {
    if [ -e "$src/.unpacked" ]; then return 0; fi
    if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
        echo "build-previous: commit $commit is not in this clone's history" >&2
        exit 2
    fi
    rm -rf "$src"
    mkdir -p "$src"
    git archive "$commit" | tar -x -C "$src"
    touch "$src/.unpacked"
}

# Seeds the previous release's build with this clone's static build
# (deploy/build-images.sh's target/static, made by a release image build:
# the test suites' --from-test-build makes none), when there is one: the
# dependencies both releases lock at the same versions are compiled with
# the same flags, and cargo reuses them instead of compiling them again
# (about 4 of the 5 minutes of a cold build on two cores). The previous
# release's own crates are then cleaned out of the copy (`cargo clean -p`,
# build-script outputs included): a workspace crate's build hash does not
# depend on where its source is, so a copied one would pass for the
# previous release's (see the note at the top).
seed_from_current_build() {
    local current="$PWD/target/static"
    if [ ! -d "$current" ] || [ -e "$src/target/static" ]; then return 0; fi
    mkdir -p "$src/target"
    cp -a "$current" "$src/target/static"
    local members
    members=$(cd "$src" && cargo metadata --no-deps --format-version 1 --offline 2>/dev/null |
        python3 -c 'import json,sys; print(" ".join("-p " + p["name"] for p in json.load(sys.stdin)["packages"]))')
    if [ -z "$members" ]; then
        echo "build-previous: cannot list the previous release's crates; building from nothing" >&2
        rm -rf "$src/target/static"
        return 0
    fi
    # shellcheck disable=SC2086 # one -p per crate
    (cd "$src" && cargo clean --release --target x86_64-unknown-linux-gnu \
        --target-dir target/static $members) >&2
    echo "build-previous: seeded with this clone's dependencies" >&2
}

# The previous release's own image build: its static binaries, then its
# image tagged $image. Without an engine, only the binaries.
build() {
    unpack_source
    seed_from_current_build
    echo "build-previous: building $commit with its deploy/build-images.sh (once)" >&2
    local started=$SECONDS
    if (cd "$src" && deploy/build-images.sh "$image") >&2; then
        echo "build-previous: built in $((SECONDS - started)) s" >&2
        return 0
    fi
    if ! docker_answers && [ -x "$static/pairctl" ]; then
        echo "build-previous: no Docker engine, so no image; the binaries are built" >&2
        return 0
    fi
    echo "build-previous: the previous release's deploy/build-images.sh failed" >&2
    exit 1
}

# The cached binaries, from the build, or else out of the image.
place_binaries() {
    mkdir -p "$out/bin"
    if [ -x "$static/pairctl" ]; then
        for b in "${binaries[@]}"; do cp "$static/$b" "$out/bin/$b.partial"; done
    else
        local container
        container=$(docker create "$image")
        for b in "${binaries[@]}"; do docker cp "$container:/$b" "$out/bin/$b.partial" >&2; done
        docker rm "$container" >/dev/null
        echo "build-previous: binaries copied out of $image" >&2
    fi
    # pairctl last: its presence is what says the cache is complete.
    for b in "${binaries[@]}"; do mv "$out/bin/$b.partial" "$out/bin/$b"; done
}

case "$want" in
image)
    if ! have_image; then
        build
        have_image || {
            echo "build-previous: no image $image after the build" >&2
            exit 1
        }
    fi
    if [ ! -x "$out/bin/pairctl" ]; then place_binaries; fi
    echo "$image"
    ;;
binaries)
    if [ ! -x "$out/bin/pairctl" ]; then
        if ! (docker_answers && have_image); then build; fi
        place_binaries
    fi
    echo "$out/bin"
    ;;
esac

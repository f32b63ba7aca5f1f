# Sourced by deploy/build-images.sh and compat/build-previous.sh: unsets the
# variables `cargo test` sets for the crate under test (CARGO_MANIFEST_DIR,
# CARGO_PKG_NAME, ...). ring's build script reruns when they change, so
# without this ring and everything above it, the nodes included, would be
# rebuilt (3 to 4 min) each time a test and a shell take turns.
for v in $(compgen -e); do
    case $v in
    CARGO | CARGO_MANIFEST_* | CARGO_PKG_* | CARGO_CRATE_NAME | CARGO_BIN_NAME | \
        CARGO_BIN_EXE_* | CARGO_PRIMARY_PACKAGE | CARGO_TARGET_TMPDIR | CARGO_CFG_*)
        unset "$v"
        ;;
    esac
done

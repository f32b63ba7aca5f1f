//! Compiles `pairing/v1/*.proto` with `protox` (pure Rust), so a machine with
//! no `protoc` installed can build the workspace.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "pairing/v1/common.proto",
        "pairing/v1/messages.proto",
        "pairing/v1/services.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("pairing_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    // Services only with the `grpc` feature: the pure protocol crate takes
    // the messages without tonic.
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    // Serde on every message: nodes keep messages they still owe (an
    // assignment to resend, a receipt to deliver) in their durable state.
    // A field missing from a saved message takes its default, as a field
    // missing on the wire does: a release that adds a field still reads
    // what the previous one saved (a donor's owed final report lacked
    // `daily_tallies`, and the upgraded donor could not start).
    tonic_prost_build::configure()
        .type_attribute(
            ".pairing.v1",
            "#[derive(serde::Serialize, serde::Deserialize)]",
        )
        .message_attribute(".pairing.v1", "#[serde(default)]")
        // Written by hand in `src/by_hand.rs`: their resource type's name
        // is a `ResourceTypeName`, which decodes a catalog name without an
        // allocation. The wire stays the `.proto`'s.
        .extern_path(
            ".pairing.v1.ResourceQuantity",
            "crate::by_hand::ResourceQuantity",
        )
        .extern_path(".pairing.v1.Discrepancy", "crate::by_hand::Discrepancy")
        .build_server(grpc)
        .build_client(grpc)
        .compile_fds(descriptors)?;
    Ok(())
}

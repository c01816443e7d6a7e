//! Test infrastructure for running Rearguard's functions the way Lambda does: the real binary,
//! polling a Lambda Runtime API served here, talking to the local AWS emulator on loopback.

pub mod backup_world;
pub mod function;
pub mod lambda_env;
pub mod local_aws;
// restore-drill
pub mod ransomware;
pub mod restore_world;
pub mod runtime_api;
pub mod story;
pub mod template_roles;

use std::path::PathBuf;

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A sample event from `events/`.
pub fn sample(name: &str) -> serde_json::Value {
    let path = workspace_root().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

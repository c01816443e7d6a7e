//! The environment Lambda gives a function's process, and nothing of this machine's.
//!
//! Lambda starts a runtime with its defined runtime environment variables and the function's own
//! settings, nothing else ("Defined runtime environment variables", AWS Lambda Developer Guide,
//! *Working with Lambda environment variables*). A process started here would otherwise inherit
//! this machine's variables: `SSL_CERT_DIR`, `AWS_CA_BUNDLE`, `RUST_LOG`, a `HOME` with an AWS
//! profile, any of which changes what a function or the SDK does at start-up.
//!
//! The CA certificates are the one part of Lambda's environment that lives in its file system.
//! On `provided.al2023` there is one bundle: `/etc/pki/tls/cert.pem` links to
//! `/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem`, and the certificate directory
//! `/etc/pki/tls/certs` holds only links to bundles (`ca-bundle.crt`, that same file, and
//! `ca-bundle.trust.crt`) (aws/aws-lambda-dotnet pull request 1661, *Avoid double processing of
//! default cert bundle in AL2023*). The SDK's loader (rustls-native-certs) reads a file it has
//! seen once and skips `TRUSTED CERTIFICATE` sections, so in Lambda it decodes each root once.
//! A Debian machine's `/etc/ssl/certs` also holds one file per root, which it would decode a
//! second time after opening some 150 files. Naming this machine's bundle in `SSL_CERT_FILE`
//! gives the function the start-up it has in Lambda: one bundle, each root decoded once.

use std::path::{Path, PathBuf};
use tokio::process::Command;

use crate::local_aws::{REGION, credential};

/// Where distributions keep their one CA bundle (Debian and Ubuntu; RHEL, Fedora and Amazon
/// Linux).
const CA_BUNDLES: [&str; 2] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
];

/// This machine's CA bundle: `SSL_CERT_FILE` when it names a file, else the distribution's.
pub fn ca_bundle() -> Option<PathBuf> {
    std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(CA_BUNDLES.iter().map(PathBuf::from))
        .find(|path| path.is_file())
}

/// Clears `command`'s environment and sets what Lambda sets for a function called `name` with
/// 128 MB on a `provided` runtime (which sets no `AWS_EXECUTION_ENV`), the credentials a role
/// would give it, and this machine's CA bundle (see the module's comment). The caller adds
/// `AWS_LAMBDA_RUNTIME_API` and the function's settings.
pub fn lambda_environment<'a>(command: &'a mut Command, name: &str, task_root: &Path) -> &'a mut Command {
    command
        .env_clear()
        .env("_HANDLER", "bootstrap")
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]0123456789abcdef")
        .env("AWS_ACCESS_KEY_ID", credential("AWS_ACCESS_KEY_ID"))
        .env("AWS_SECRET_ACCESS_KEY", credential("AWS_SECRET_ACCESS_KEY"))
        .env("AWS_SESSION_TOKEN", credential("AWS_SESSION_TOKEN"))
        .env("LAMBDA_TASK_ROOT", task_root)
        .env("LAMBDA_RUNTIME_DIR", "/var/runtime")
        .env("LANG", "en_US.UTF-8")
        .env("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin")
        .env("TZ", ":UTC")
        // The function's logging configuration in template.yaml (LogFormat JSON, INFO).
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO");
    if let Some(bundle) = ca_bundle() {
        command.env("SSL_CERT_FILE", bundle);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[tokio::test]
    async fn the_function_sees_lambdas_variables_and_none_of_this_machines() {
        let mut command = Command::new("env");
        lambda_environment(&mut command, "fn", Path::new("/var/task"));
        let output = command.output().await.expect("env runs");
        let seen: BTreeMap<String, String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();

        // cargo runs this test with CARGO_* variables set, and most machines have HOME.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        assert!(
            seen.keys()
                .all(|k| !k.starts_with("CARGO") && k != "HOME" && k != "SSL_CERT_DIR"),
            "{seen:?}"
        );
        assert_eq!(seen["AWS_LAMBDA_FUNCTION_NAME"], "fn");
        assert_eq!(seen["AWS_REGION"], REGION);
        assert_eq!(seen["TZ"], ":UTC");
        assert_eq!(seen.get("SSL_CERT_FILE").map(PathBuf::from), ca_bundle());
    }
}

//! Running a function binary as Lambda would: Lambda's environment ([`crate::lambda_env`]),
//! `AWS_LAMBDA_RUNTIME_API` pointing at our [`crate::runtime_api::RuntimeApi`], and its log lines
//! captured.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::lambda_env::lambda_environment;

/// The function's binary: `$REARGUARD_BIN_DIR/<name>`, by default the workspace's debug build.
pub fn binary(name: &str) -> PathBuf {
    let dir = std::env::var("REARGUARD_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::workspace_root().join("target").join("debug"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build -p {name}` (`make test` does this)",
        path.display()
    );
    path
}

/// A running function process; killed when dropped.
pub struct FunctionProcess {
    pub child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl FunctionProcess {
    pub fn spawn(binary: PathBuf, runtime_api: &str, env: &[(&str, &str)]) -> FunctionProcess {
        let mut command = Command::new(binary);
        lambda_environment(&mut command, "rearguard-test", Path::new("/var/task"))
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn function binary");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = child.stderr.take().expect("stderr piped");
        collect(stdout, logs.clone());
        collect(stderr, logs.clone());
        FunctionProcess { child, logs }
    }

    /// Every line the function printed so far (JSON log lines and EMF metric lines).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

fn collect<R: tokio::io::AsyncRead + Unpin + Send + 'static>(stream: R, logs: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if std::env::var_os("REARGUARD_ECHO_LOGS").is_some() {
                eprintln!("[function] {line}");
            }
            logs.lock().unwrap().push(line);
        }
    });
}

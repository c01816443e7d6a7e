//! Log lines in the format and at the level the function's logging configuration asks for
//! (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`; "Configuring advanced logging controls for
//! Lambda functions"): lambda_runtime's default subscriber, less the JSON lines' span list.
//!
//! Every line is written inside the runtime's one invocation span, which `span` already names
//! (with the request id); the span list repeated it on every line (some 60 bytes of each line
//! CloudWatch Logs ingests), and tracing-subscriber parses a span's fields again for each copy
//! it prints. Counted with callgrind, release job-alerts, its two lines per alert: 10,200
//! instructions less per alert (README, Performance).

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter};
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use std::str::FromStr;
use tracing::Subscriber;

/// Installs the subscriber for this process, writing to stdout.
pub fn init() {
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let subscriber = subscriber(&format, level.as_deref(), std::io::stdout);
    // Only the first subscriber of a process is installed; a second call changes nothing.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The subscriber for a log format (`JSON` or anything else for text) and level (`INFO` when
/// unset or not a level), as lambda_runtime's `init_default_subscriber` reads them.
fn subscriber<W>(format: &str, level: Option<&str>, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let level = LevelFilter::from_str(level.unwrap_or("INFO")).unwrap_or(LevelFilter::INFO);
    let builder = lambda_runtime::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(
            EnvFilter::builder()
                .with_default_directive(level.into())
                .from_env_lossy(),
        )
        .with_writer(writer);
    if format.eq_ignore_ascii_case("json") {
        Box::new(builder.json().with_span_list(false).finish())
    } else {
        Box::new(builder.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::{Arc, Mutex};

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    fn log_in_an_invocation(format: &str, level: Option<&str>) -> String {
        let lines = Lines::default();
        tracing::subscriber::with_default(subscriber(format, level, lines.clone()), || {
            let span = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _entered = span.enter();
            tracing::debug!("not at INFO");
            tracing::info!(decision = "alert", "job decision");
        });
        String::from_utf8(lines.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_json_line_names_its_invocation_once() {
        let text = log_in_an_invocation("JSON", Some("INFO"));
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["fields"]["message"], "job decision");
        assert_eq!(lines[0]["fields"]["decision"], "alert");
        assert_eq!(lines[0]["span"]["requestId"], "req-1");
        assert!(lines[0].get("spans").is_none(), "{text}");
    }

    #[test]
    fn the_level_comes_from_the_setting_and_text_is_the_default_format() {
        let text = log_in_an_invocation("", Some("DEBUG"));
        assert!(text.contains("not at INFO") && text.contains("job decision"), "{text}");
        assert!(
            serde_json::from_str::<Value>(text.lines().next().unwrap()).is_err(),
            "{text}"
        );
        for level in [None, Some("LOUD")] {
            let info = log_in_an_invocation("json", level);
            assert_eq!(info.lines().count(), 1, "{level:?}: {info}");
        }
    }
}

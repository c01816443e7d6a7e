//! job-alerts settings, all read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `ALERT_TOPIC_ARN` (required): where alerts are published.
    pub topic_arn: String,
    /// `STATE_TABLE_NAME`: DynamoDB table for cross-delivery dedupe and open incidents. Unset:
    /// stateless (in-batch dedupe only, no recovery messages, no re-alert interval).
    pub state_table: Option<String>,
    /// `ALERT_EVENT_BUS`: also put each alert on this EventBridge bus (name or ARN).
    pub event_bus: Option<String>,
    /// `DRY_RUN`: log the exact messages instead of publishing them.
    pub dry_run: bool,
    /// `NOTIFY_RESTORE_COMPLETED`: send a notice when a restore completes.
    pub notify_restores: bool,
    /// `DIGEST_THRESHOLD`: more messages than this of one kind in a batch become a digest.
    pub digest_threshold: usize,
    /// `REALERT_AFTER_MINUTES`: a resource that keeps failing is alerted again after this long.
    pub realert_after: Duration,
    /// `DEDUPE_RETENTION_HOURS`: how long a handled event id is remembered.
    pub dedupe_retention: Duration,
    /// `METRICS_NAMESPACE`: CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// `CONCURRENCY`: how many resources of a batch are decided at the same time (1: one after
    /// another).
    pub concurrency: usize,
    /// The function's own account, read from its topic's ARN (the stack creates the topic): the
    /// account whose jobs it can look up.
    pub home_account: String,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Config, ConfigError> {
        let topic_arn = settings.required_arn("ALERT_TOPIC_ARN", "sns")?;
        let home_account = topic_arn.split(':').nth(4).unwrap_or_default().to_string();
        Ok(Config {
            home_account,
            topic_arn,
            state_table: settings.optional("STATE_TABLE_NAME"),
            event_bus: settings.optional("ALERT_EVENT_BUS"),
            dry_run: settings.flag("DRY_RUN", false)?,
            notify_restores: settings.flag("NOTIFY_RESTORE_COMPLETED", true)?,
            digest_threshold: settings.number("DIGEST_THRESHOLD", 5, 1, 10_000)? as usize,
            realert_after: settings.minutes("REALERT_AFTER_MINUTES", 720, 0, 60 * 24 * 30)?,
            dedupe_retention: Duration::from_secs(3600 * settings.number("DEDUPE_RETENTION_HOURS", 168, 1, 24 * 90)?),
            metrics_namespace: settings
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| "Rearguard".into()),
            concurrency: settings.number("CONCURRENCY", 16, 1, 64)? as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:rearguard-alerts";

    #[test]
    fn defaults_apply_when_only_the_topic_is_set() {
        let config = Config::from_settings(&Settings::from_pairs(&[("ALERT_TOPIC_ARN", TOPIC)])).unwrap();
        assert_eq!(config.topic_arn, TOPIC);
        assert_eq!(config.state_table, None);
        assert!(!config.dry_run && config.notify_restores);
        assert_eq!(config.digest_threshold, 5);
        assert_eq!(config.realert_after, Duration::from_secs(720 * 60));
        assert_eq!(config.metrics_namespace, "Rearguard");
        assert_eq!(config.concurrency, 16);
    }

    #[test]
    fn a_missing_or_wrong_topic_fails_naming_the_setting() {
        let missing = Config::from_settings(&Settings::from_pairs(&[])).unwrap_err();
        assert!(missing.to_string().contains("ALERT_TOPIC_ARN"), "{missing}");
        let wrong = Config::from_settings(&Settings::from_pairs(&[("ALERT_TOPIC_ARN", "alerts")])).unwrap_err();
        assert!(
            wrong.to_string().contains("ALERT_TOPIC_ARN") && wrong.to_string().contains("arn:PARTITION:sns"),
            "{wrong}"
        );
    }

    #[test]
    fn a_bad_number_fails_naming_the_setting() {
        let err = Config::from_settings(&Settings::from_pairs(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("DIGEST_THRESHOLD", "0"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().starts_with("setting DIGEST_THRESHOLD=\"0\" is invalid"),
            "{err}"
        );
    }
}

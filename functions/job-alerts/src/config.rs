//! job-alerts settings, all read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};
use rearguard::lambda_app::Home;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
/// The common settings (`ALERT_TOPIC_ARN`, `ALERT_EVENT_BUS`, `DRY_RUN`, `METRICS_NAMESPACE`,
/// and `STATE_TABLE_NAME`, without which it is stateless: in-batch dedupe only, no recovery
/// messages, no re-alert interval) are read by [`rearguard::lambda_app::Common`].
pub struct Config {
    /// `NOTIFY_RESTORE_COMPLETED`: send a notice when a restore completes.
    pub notify_restores: bool,
    /// `DIGEST_THRESHOLD`: more messages than this of one kind in a batch become a digest.
    pub digest_threshold: usize,
    /// `REALERT_AFTER_MINUTES`: a resource that keeps failing is alerted again after this long.
    pub realert_after: Duration,
    /// `DEDUPE_RETENTION_HOURS`: how long a handled event id is remembered.
    pub dedupe_retention: Duration,
    /// `CONCURRENCY`: how many resources of a batch are decided at the same time (1: one after
    /// another).
    pub concurrency: usize,
    /// The function's own account, its topic's owner (the stack creates the topic): the account
    /// whose jobs it can look up.
    pub home_account: String,
}

impl Config {
    pub fn from_settings(settings: &Settings, home: &Home) -> Result<Config, ConfigError> {
        Ok(Config {
            home_account: home.account.clone(),
            notify_restores: settings.flag("NOTIFY_RESTORE_COMPLETED", true)?,
            digest_threshold: settings.number("DIGEST_THRESHOLD", 5, 1, 10_000)? as usize,
            realert_after: settings.minutes("REALERT_AFTER_MINUTES", 720, 0, 60 * 24 * 30)?,
            dedupe_retention: Duration::from_secs(3600 * settings.number("DEDUPE_RETENTION_HOURS", 168, 1, 24 * 90)?),
            concurrency: settings.number("CONCURRENCY", 16, 1, 64)? as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> Home {
        Home {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            partition: "aws",
        }
    }

    #[test]
    fn defaults_apply_when_nothing_of_its_own_is_set() {
        let config = Config::from_settings(&Settings::from_pairs(&[]), &home()).unwrap();
        assert!(config.notify_restores);
        assert_eq!(config.digest_threshold, 5);
        assert_eq!(config.realert_after, Duration::from_secs(720 * 60));
        assert_eq!(config.concurrency, 16);
        assert_eq!(config.home_account, "111122223333");
    }

    #[test]
    fn a_bad_number_fails_naming_the_setting() {
        let err = Config::from_settings(&Settings::from_pairs(&[("DIGEST_THRESHOLD", "0")]), &home()).unwrap_err();
        assert!(
            err.to_string().starts_with("setting DIGEST_THRESHOLD=\"0\" is invalid"),
            "{err}"
        );
    }
}

//! restore-drill settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};
use rearguard::policy::Document;

#[derive(Debug, Clone)]
pub struct Config {
    /// `ALERT_TOPIC_ARN` (required).
    pub topic_arn: String,
    /// `REARGUARD_POLICY` (required): the backup tag names a restored resource's plan, whose
    /// `rpo_hours` and `rto_hours` are the drill's targets.
    pub policy: Document,
    /// `STATE_TABLE_NAME`: remembers validated restore jobs, so a duplicate delivery changes nothing.
    pub state_table: Option<String>,
    /// `DRY_RUN`: log the validation result and the alert instead of putting and publishing them.
    pub dry_run: bool,
    /// `METRICS_NAMESPACE`.
    pub metrics_namespace: String,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Config, ConfigError> {
        Ok(Config {
            topic_arn: settings.required_arn("ALERT_TOPIC_ARN", "sns")?,
            policy: Document::from_settings(settings)?,
            state_table: settings.optional("STATE_TABLE_NAME"),
            dry_run: settings.flag("DRY_RUN", false)?,
            metrics_namespace: settings
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| "Rearguard".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:alerts";

    #[test]
    fn a_bad_rto_target_fails_naming_the_setting_and_the_path() {
        let settings = Settings::from_pairs(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            (
                "REARGUARD_POLICY",
                r#"{"plans": {"production": {"rpo_hours": 24, "rto_hours": -1}}}"#,
            ),
        ]);
        let e = Config::from_settings(&settings).unwrap_err().to_string();
        assert!(
            e.contains("REARGUARD_POLICY") && e.contains("plans.production.rto_hours"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_topic_or_a_bad_dry_run_flag_is_named() {
        let policy = r#"{"plans": {"production": {"rpo_hours": 24}}}"#;
        let no_topic = Settings::from_pairs(&[("REARGUARD_POLICY", policy)]);
        assert!(
            Config::from_settings(&no_topic)
                .unwrap_err()
                .to_string()
                .contains("ALERT_TOPIC_ARN")
        );
        let bad_flag = Settings::from_pairs(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("REARGUARD_POLICY", policy),
            ("DRY_RUN", "perhaps"),
        ]);
        assert!(
            Config::from_settings(&bad_flag)
                .unwrap_err()
                .to_string()
                .contains("DRY_RUN")
        );
    }
}

//! restore-drill settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};
use rearguard::policy::Document;

#[derive(Debug, Clone)]
/// Besides the common settings ([`rearguard::lambda_app::Common`]: failed drills are alerted on
/// the topic, `STATE_TABLE_NAME` remembers validated restore jobs so a duplicate delivery changes
/// nothing, `DRY_RUN` logs the validation result and the alert instead of putting and publishing):
pub struct Config {
    /// `REARGUARD_POLICY` (required): the backup tag names a restored resource's plan, whose
    /// `rpo_hours` and `rto_hours` are the drill's targets.
    pub policy: Document,
    /// `DRILL_TABLE_NAME`: the drill record's table (`rearguard::drill_record`), one item per
    /// judged restore test; without it no record is kept.
    pub drill_table: Option<String>,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Config, ConfigError> {
        Ok(Config {
            policy: Document::from_settings(settings)?,
            drill_table: settings.optional("DRILL_TABLE_NAME"),
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
}

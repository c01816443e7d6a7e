//! tag-enrollment settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};

use rearguard::policy::Document;

use crate::policy::Policy;

#[derive(Debug, Clone)]
pub struct Config {
    /// `ALERT_TOPIC_ARN` (required).
    pub topic_arn: String,
    /// `REARGUARD_POLICY` (required): the policy document, JSON; this function reads its
    /// backup tag, plans, opt-out and enrollment sections.
    pub policy: Policy,
    /// `MEMBER_ROLE_NAME`: the role assumed in other accounts for events forwarded from them.
    pub member_role_name: Option<String>,
    /// `STATE_TABLE_NAME`: remembers handled event ids, so a duplicate delivery changes nothing,
    /// and audit alerts sent in the last day, so each resource's problem is alerted once a day.
    pub state_table: Option<String>,
    /// `ALERT_EVENT_BUS`: also put every message on this bus.
    pub event_bus: Option<String>,
    /// `DRY_RUN`: log the tags and messages instead of writing and publishing them.
    pub dry_run: bool,
    /// `DIGEST_THRESHOLD`: more messages than this from one event become one digest.
    pub digest_threshold: usize,
    /// `METRICS_NAMESPACE`.
    pub metrics_namespace: String,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Config, ConfigError> {
        let topic_arn = settings.required_arn("ALERT_TOPIC_ARN", "sns")?;
        let policy = Policy::from_document(&Document::from_settings(settings)?);
        Ok(Config {
            topic_arn,
            policy,
            member_role_name: settings.optional("MEMBER_ROLE_NAME"),
            state_table: settings.optional("STATE_TABLE_NAME"),
            event_bus: settings.optional("ALERT_EVENT_BUS"),
            dry_run: settings.flag("DRY_RUN", false)?,
            digest_threshold: settings.number("DIGEST_THRESHOLD", 5, 1, 10_000)? as usize,
            metrics_namespace: settings
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| "Rearguard".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_policy_fails_naming_the_setting_and_the_path() {
        let settings = Settings::from_pairs(&[
            ("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:t"),
            (
                "REARGUARD_POLICY",
                r#"{"plans": {"production": {"rpo_hours": 24}}, "enrollment": {"mode": "sometimes"}}"#,
            ),
        ]);
        let e = Config::from_settings(&settings).unwrap_err().to_string();
        assert!(e.contains("REARGUARD_POLICY") && e.contains("enrollment.mode"), "{e}");
    }

    #[test]
    fn a_missing_policy_is_named() {
        let settings = Settings::from_pairs(&[("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:t")]);
        assert!(
            Config::from_settings(&settings)
                .unwrap_err()
                .to_string()
                .contains("REARGUARD_POLICY")
        );
    }
}

//! tag-enrollment settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};

use rearguard::policy::Document;

use crate::policy::Policy;

#[derive(Debug, Clone)]
/// Besides the common settings ([`rearguard::lambda_app::Common`]; `STATE_TABLE_NAME` remembers
/// handled event ids, so a duplicate delivery changes nothing, and audit alerts sent in the last
/// day, so each resource's problem is alerted once a day):
pub struct Config {
    /// `REARGUARD_POLICY` (required): the policy document, JSON; this function reads its
    /// backup tag, plans, opt-out and enrollment sections.
    pub policy: Policy,
    /// `MEMBER_ROLE_NAME`: the role assumed in other accounts for events forwarded from them.
    pub member_role_name: Option<String>,
    /// `DIGEST_THRESHOLD`: more messages than this from one event become one digest.
    pub digest_threshold: usize,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Config, ConfigError> {
        let policy = Policy::from_document(&Document::from_settings(settings)?);
        Ok(Config {
            policy,
            member_role_name: settings.optional("MEMBER_ROLE_NAME"),
            digest_threshold: settings.number("DIGEST_THRESHOLD", 5, 1, 10_000)? as usize,
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

//! compliance-report settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};

use crate::policy::Policy;

#[derive(Debug, Clone)]
pub struct Config {
    /// `ALERT_TOPIC_ARN` (required): the summary goes here.
    pub topic_arn: String,
    /// `REARGUARD_POLICY` (required): the policy document, JSON; this function holds each plan
    /// to its RPO, copies and vault lock.
    pub policy: Policy,
    /// `REPORT_BUCKET` (required): the JSON and HTML reports are written here.
    pub bucket: String,
    /// `REPORT_ACCOUNTS`: comma-separated account ids; default the function's own.
    pub accounts: Vec<String>,
    /// `REPORT_REGIONS`: comma-separated regions; default the function's own.
    pub regions: Vec<String>,
    /// `MEMBER_ROLE_NAME`: the role read through in other accounts.
    pub member_role_name: Option<String>,
    /// `REPORT_CONCURRENCY`: accounts and regions read at once.
    pub concurrency: usize,
    /// `EVENT_BUS_NAME`: where the `Compliance Report` event goes.
    pub event_bus: String,
    /// `DRY_RUN`: log the report instead of writing and publishing it.
    pub dry_run: bool,
    /// `METRICS_NAMESPACE`.
    pub metrics_namespace: String,
}

fn list(settings: &Settings, name: &str) -> Vec<String> {
    settings
        .optional(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Config, ConfigError> {
        let topic_arn = settings.required_arn("ALERT_TOPIC_ARN", "sns")?;
        let raw = settings.required(rearguard::policy::SETTING)?;
        let policy = Policy::parse(&raw).map_err(|e| rearguard::policy::invalid(&raw, e))?;
        let accounts = list(settings, "REPORT_ACCOUNTS");
        if let Some(bad) = accounts
            .iter()
            .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ConfigError::Invalid {
                name: "REPORT_ACCOUNTS".into(),
                value: bad.clone(),
                reason: "an account id is 12 digits".into(),
            });
        }
        Ok(Config {
            topic_arn,
            policy,
            bucket: settings.required("REPORT_BUCKET")?,
            accounts,
            regions: list(settings, "REPORT_REGIONS"),
            member_role_name: settings.optional("MEMBER_ROLE_NAME"),
            concurrency: settings.number("REPORT_CONCURRENCY", 4, 1, 32)? as usize,
            event_bus: settings.optional("EVENT_BUS_NAME").unwrap_or_else(|| "default".into()),
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

    const POLICY: &str = r#"{"plans": {"production": {"rpo_hours": 24}}}"#;

    #[test]
    fn a_bad_account_list_is_named() {
        let settings = Settings::from_pairs(&[
            ("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:t"),
            ("REARGUARD_POLICY", POLICY),
            ("REPORT_BUCKET", "reports"),
            ("REPORT_ACCOUNTS", "111122223333, 4444"),
        ]);
        let e = Config::from_settings(&settings).unwrap_err().to_string();
        assert!(e.contains("REPORT_ACCOUNTS") && e.contains("4444"), "{e}");
    }

    #[test]
    fn a_bad_policy_is_named_with_its_path() {
        let settings = Settings::from_pairs(&[
            ("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:t"),
            ("REARGUARD_POLICY", r#"{"plans": {"production": {"rpo_hours": -1}}}"#),
            ("REPORT_BUCKET", "reports"),
        ]);
        let e = Config::from_settings(&settings).unwrap_err().to_string();
        assert!(
            e.contains("REARGUARD_POLICY") && e.contains("plans.production.rpo_hours"),
            "{e}"
        );
    }
}

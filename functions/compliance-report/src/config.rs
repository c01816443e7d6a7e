//! compliance-report settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};

use crate::policy::Policy;

#[derive(Debug, Clone)]
/// Besides the common settings ([`rearguard::lambda_app::Common`]: the summary goes to the
/// topic, the `Compliance Report` event to `EVENT_BUS_NAME`, `DRY_RUN` logs the report instead of
/// writing and publishing it):
pub struct Config {
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
    /// `DRILL_TABLE_NAME`: restore-drill's drill record, read for the last successful drill of
    /// each plan and type in this account and Region.
    pub drill_table: Option<String>,
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
        let raw = settings.required(rearguard::policy::SETTING)?;
        let mut policy = Policy::parse(&raw).map_err(|e| rearguard::policy::invalid(&raw, e))?;
        if let Some(schedule) = settings.optional("RESTORE_TEST_SCHEDULE") {
            policy = policy
                .with_stack_drill_schedule(&schedule)
                .map_err(|reason| ConfigError::Invalid {
                    name: "RESTORE_TEST_SCHEDULE".into(),
                    value: schedule.clone(),
                    reason,
                })?;
        }
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
            policy,
            bucket: settings.required("REPORT_BUCKET")?,
            accounts,
            regions: list(settings, "REPORT_REGIONS"),
            member_role_name: settings.optional("MEMBER_ROLE_NAME"),
            concurrency: settings.number("REPORT_CONCURRENCY", 4, 1, 32)? as usize,
            drill_table: settings.optional("DRILL_TABLE_NAME"),
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
    fn the_stacks_restore_test_schedule_sets_the_drill_age_unless_the_policy_states_one() {
        let settings = |policy: &str, schedule: &str| {
            Settings::from_pairs(&[
                ("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:t"),
                ("REARGUARD_POLICY", policy),
                ("REPORT_BUCKET", "reports"),
                ("RESTORE_TEST_SCHEDULE", schedule),
            ])
        };
        let daily = Config::from_settings(&settings(POLICY, "cron(0 5 * * ? *)")).unwrap();
        assert_eq!(daily.policy.drill_age.max_age, chrono::Duration::hours(48));
        let stated = r#"{"plans": {"production": {"rpo_hours": 24}}, "restore_tests": {"schedule": "rate(14 days)", "grace_hours": 0}}"#;
        let own = Config::from_settings(&settings(stated, "cron(0 5 * * ? *)")).unwrap();
        assert_eq!(own.policy.drill_age.max_age, chrono::Duration::days(14));
        let e = Config::from_settings(&settings(POLICY, "on saturdays"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("RESTORE_TEST_SCHEDULE"), "{e}");
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

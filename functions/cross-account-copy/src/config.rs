//! cross-account-copy settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};

use rearguard::policy::Document;

use crate::routes::{Home, Routes};

#[derive(Debug, Clone)]
/// Besides the common settings ([`rearguard::lambda_app::Common`]: refusals are alerted on the
/// topic, `Rearguard Copy Requested/Skipped` events go to `EVENT_BUS_NAME`, `STATE_TABLE_NAME`
/// remembers handled event ids so a duplicate delivery alerts once, `DRY_RUN` logs the copies and
/// lifecycle changes instead of making them):
pub struct Config {
    /// `REARGUARD_POLICY` (required): the policy document, JSON; this function makes the copies
    /// its plans ask Rearguard for, and its `copy_routes`.
    pub routes: Routes,
    /// `COPY_ROLE_ARN` (optional): the copy role of routes that name none.
    /// `DESTINATION_ROLE_NAME`: a read-only role in destination accounts, assumed to confirm a
    /// vault exists before copying into it. Without it, cross-account vaults are not checked.
    pub destination_role_name: Option<String>,
    /// `CLEAN_SCAN_WAIT_HOURS` (default 24, at most 504): how long after its backup a copy that
    /// requires a clean malware scan waits for one before the hourly sweep warns it is held.
    pub clean_scan_wait: chrono::Duration,
}

impl Config {
    /// Reads the settings; named vaults in the policy resolve in `home` (the function's own
    /// account and Region, where the backups it copies are).
    pub fn from_settings(settings: &Settings, home: Home<'_>) -> Result<Config, ConfigError> {
        let document = Document::from_settings(settings)?;
        let default_role = settings.arn("COPY_ROLE_ARN", "iam")?;
        let routes =
            Routes::from_document(&document, default_role.as_deref(), home).map_err(|e| ConfigError::Invalid {
                name: rearguard::policy::SETTING.into(),
                value: "the copies it asks for".into(),
                reason: e.to_string(),
            })?;
        Ok(Config {
            routes,
            destination_role_name: settings.optional("DESTINATION_ROLE_NAME"),
            clean_scan_wait: chrono::Duration::hours(settings.number(
                "CLEAN_SCAN_WAIT_HOURS",
                24,
                1,
                crate::scan_wait::MAX_WAIT_HOURS,
            )? as i64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:t";
    const HOME: Home<'static> = Home {
        partition: "aws",
        account: "111122223333",
        region: "eu-west-1",
    };

    #[test]
    fn a_bad_route_fails_naming_the_setting_and_the_path() {
        let settings = Settings::from_pairs(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            (
                "REARGUARD_POLICY",
                r#"{"plans": {"p": {"rpo_hours": 24}}, "vaults": {"x": {"account": "444455556666"}},
                    "copy_routes": [{"name": "offsite", "source_vaults": ["*"], "destinations": ["x"], "copy_role_arn": "not-a-role"}]}"#,
            ),
        ]);
        let e = Config::from_settings(&settings, HOME).unwrap_err().to_string();
        assert!(
            e.contains("REARGUARD_POLICY") && e.contains("copy_routes[0].copy_role_arn"),
            "{e}"
        );
    }

    #[test]
    fn the_clean_scan_wait_defaults_to_a_day_and_a_bad_one_is_named() {
        let policy = r#"{"plans": {"p": {"rpo_hours": 24}}}"#;
        let with = |wait: &str| {
            Config::from_settings(
                &Settings::from_pairs(&[
                    ("ALERT_TOPIC_ARN", TOPIC),
                    ("REARGUARD_POLICY", policy),
                    ("CLEAN_SCAN_WAIT_HOURS", wait),
                ]),
                HOME,
            )
        };
        assert_eq!(with("").unwrap().clean_scan_wait, chrono::Duration::hours(24));
        assert_eq!(with("6").unwrap().clean_scan_wait, chrono::Duration::hours(6));
        for bad in ["0", "505", "a day"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("CLEAN_SCAN_WAIT_HOURS"), "{e}");
        }
    }

    #[test]
    fn a_missing_policy_is_named() {
        let settings = Settings::from_pairs(&[("ALERT_TOPIC_ARN", TOPIC)]);
        assert!(
            Config::from_settings(&settings, HOME)
                .unwrap_err()
                .to_string()
                .contains("REARGUARD_POLICY")
        );
    }
}

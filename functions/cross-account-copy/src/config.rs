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

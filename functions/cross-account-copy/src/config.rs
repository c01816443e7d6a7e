//! cross-account-copy settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};

use crate::routes::Routes;

#[derive(Debug, Clone)]
pub struct Config {
    /// `ALERT_TOPIC_ARN` (required): refusals and rejected copies are alerted here.
    pub topic_arn: String,
    /// `COPY_ROUTES` (required): the routes document, JSON.
    pub routes: Routes,
    /// `COPY_ROLE_ARN` (optional): the copy role of routes that name none.
    /// `DESTINATION_ROLE_NAME`: a read-only role in destination accounts, assumed to confirm a
    /// vault exists before copying into it. Without it, cross-account vaults are not checked.
    pub destination_role_name: Option<String>,
    /// `STATE_TABLE_NAME`: remembers handled event ids, so a duplicate delivery alerts once.
    pub state_table: Option<String>,
    /// `EVENT_BUS_NAME`: where the `Rearguard Copy Requested/Skipped` events go.
    pub event_bus: String,
    /// `DRY_RUN`: log the copies and lifecycle changes instead of making them.
    pub dry_run: bool,
    /// `METRICS_NAMESPACE`.
    pub metrics_namespace: String,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Config, ConfigError> {
        let topic_arn = settings.required_arn("ALERT_TOPIC_ARN", "sns")?;
        let raw = settings.required("COPY_ROUTES")?;
        let default_role = settings.arn("COPY_ROLE_ARN", "iam")?;
        let routes = Routes::parse(&raw, default_role.as_deref()).map_err(|e| ConfigError::Invalid {
            name: "COPY_ROUTES".into(),
            value: format!("{} bytes of JSON", raw.len()),
            reason: e.to_string(),
        })?;
        Ok(Config {
            topic_arn,
            routes,
            destination_role_name: settings.optional("DESTINATION_ROLE_NAME"),
            state_table: settings.optional("STATE_TABLE_NAME"),
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

    const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:t";

    #[test]
    fn a_bad_route_fails_naming_the_setting_and_the_route() {
        let settings = Settings::from_pairs(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            (
                "COPY_ROUTES",
                r#"{"routes": [{"name": "offsite", "source_vaults": ["v"], "destinations": ["arn:aws:backup:eu-west-1:444455556666:backup-vault:x"], "copy_role_arn": "not-a-role"}]}"#,
            ),
        ]);
        let e = Config::from_settings(&settings).unwrap_err().to_string();
        assert!(
            e.contains("COPY_ROUTES") && e.contains("routes[0] (offsite)") && e.contains("copy_role_arn"),
            "{e}"
        );
    }

    #[test]
    fn missing_routes_are_named() {
        let settings = Settings::from_pairs(&[("ALERT_TOPIC_ARN", TOPIC)]);
        assert!(
            Config::from_settings(&settings)
                .unwrap_err()
                .to_string()
                .contains("COPY_ROUTES")
        );
    }
}

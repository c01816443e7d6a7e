//! Reading settings from the environment, with errors that name the variable and the problem,
//! so a bad setting fails the function at start-up (a Lambda init error), not mid-incident.
//!
//! Settings are read through a lookup function rather than `std::env` directly so tests pass
//! a map and never mutate the process environment.

use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("setting {name} is required but not set")]
    Missing { name: String },
    #[error("setting {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A view of the settings. `Settings::from_env()` in `main`, `Settings::from_pairs` in tests.
pub struct Settings {
    lookup: Lookup,
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Settings {
        let owned: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings {
            lookup: Box::new(move |name| owned.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())),
        }
    }

    /// The value, trimmed; an empty value counts as unset (CloudFormation passes `""` for an
    /// optional parameter left blank).
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::Missing { name: name.into() })
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(invalid(name, &v, "expected true or false")),
            },
        }
    }

    /// A whole number within `min..=max`.
    pub fn number(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
        let Some(v) = self.optional(name) else {
            return Ok(default);
        };
        let n: u64 = v.parse().map_err(|_| invalid(name, &v, "expected a whole number"))?;
        if !(min..=max).contains(&n) {
            return Err(invalid(name, &v, &format!("must be between {min} and {max}")));
        }
        Ok(n)
    }

    pub fn minutes(&self, name: &str, default: u64, min: u64, max: u64) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(60 * self.number(name, default, min, max)?))
    }

    /// A required ARN of the given service.
    pub fn required_arn(&self, name: &str, service: &str) -> Result<String, ConfigError> {
        self.arn(name, service)?
            .ok_or_else(|| ConfigError::Missing { name: name.into() })
    }

    /// An ARN of the given service (`sns`, `events`, ...), e.g. a topic or an event bus.
    pub fn arn(&self, name: &str, service: &str) -> Result<Option<String>, ConfigError> {
        let Some(v) = self.optional(name) else { return Ok(None) };
        match crate::arn::Arn::parse(&v) {
            Some(arn) if arn.service == service && !arn.resource.is_empty() => Ok(Some(v)),
            _ => Err(invalid(
                name,
                &v,
                &format!("expected an arn:PARTITION:{service}:... ARN"),
            )),
        }
    }
}

/// Reads a function's whole configuration from the environment at start-up; a bad setting is
/// logged (naming the variable) and returned, so the function fails its init instead of running.
pub fn load<C>(parse: impl FnOnce(&Settings) -> Result<C, ConfigError>) -> Result<C, ConfigError> {
    parse(&Settings::from_env()).inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))
}

fn invalid(name: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: name.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_required_setting_names_the_variable() {
        let err = Settings::from_pairs(&[]).required("ALERT_TOPIC_ARN").unwrap_err();
        assert_eq!(err.to_string(), "setting ALERT_TOPIC_ARN is required but not set");
    }

    #[test]
    fn a_missing_required_arn_is_named() {
        let err = Settings::from_pairs(&[])
            .required_arn("ALERT_TOPIC_ARN", "sns")
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                name: "ALERT_TOPIC_ARN".into()
            }
        );
    }

    #[test]
    fn blank_value_counts_as_unset() {
        assert_eq!(Settings::from_pairs(&[("X", "  ")]).optional("X"), None);
    }

    #[test]
    fn numbers_out_of_range_or_not_numbers_are_rejected_with_the_reason() {
        let settings = Settings::from_pairs(&[("A", "0"), ("B", "ten")]);
        assert!(
            settings
                .number("A", 5, 1, 100)
                .unwrap_err()
                .to_string()
                .contains("between 1 and 100")
        );
        assert!(
            settings
                .number("B", 5, 1, 100)
                .unwrap_err()
                .to_string()
                .contains("whole number")
        );
        assert_eq!(settings.number("C", 5, 1, 100), Ok(5));
    }

    #[test]
    fn flags_accept_common_spellings_and_reject_others() {
        let settings = Settings::from_pairs(&[("A", "TRUE"), ("B", "no"), ("C", "maybe")]);
        assert_eq!(settings.flag("A", false), Ok(true));
        assert_eq!(settings.flag("B", true), Ok(false));
        assert!(settings.flag("C", false).is_err());
        assert_eq!(settings.flag("D", true), Ok(true));
    }

    #[test]
    fn arn_settings_check_the_service() {
        let settings = Settings::from_pairs(&[
            ("TOPIC", "arn:aws:sns:eu-west-1:111122223333:alerts"),
            ("BUS", "arn:aws:sqs:eu-west-1:111122223333:q"),
        ]);
        assert!(settings.arn("TOPIC", "sns").unwrap().is_some());
        let err = settings.arn("BUS", "events").unwrap_err().to_string();
        assert!(err.contains("BUS") && err.contains("arn:PARTITION:events"), "{err}");
    }
}

//! tamper-guard settings, read and checked at start-up. The names match `template.yaml`.

use rearguard::config::{ConfigError, Settings};
use serde::Deserialize;
use std::time::Duration;

/// Besides the common settings ([`rearguard::lambda_app::Common`]; `STATE_TABLE_NAME` keeps the
/// delivery ledger, the last known access policy and lock of each vault, and open incidents):
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `TAMPER_ALLOWLIST`: principals whose changes are expected, each with its reason.
    pub allowlist: Vec<Allowed>,
    /// `INCIDENT_WINDOW_MINUTES`: steps by one principal this close together are one incident.
    pub incident_window: Duration,
    /// `RESPOND`: cancel the scheduled deletion of a vault key and enable it again, put a
    /// weakened vault policy back (off by default; with `DRY_RUN` the exact calls are logged).
    pub respond: bool,
    /// `SECURITY_TOPIC_ARN`: a topic in another account (a security account) that also gets
    /// every alert, so an attacker with admin rights here cannot silence them by deleting the
    /// stack's topic.
    pub security_topic_arn: Option<String>,
    /// `MEMBER_ROLE_NAME`: the role assumed in a member account to list its vaults when a KMS
    /// event is forwarded from there; unset, a member account's vault keys are not known.
    pub member_role_name: Option<String>,
}

/// One allowlist entry: `{"principal": "<IAM role or user ARN>", "reason": "...", "actions":
/// ["UpdateBackupPlan"]}`; without `actions`, every action of that principal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    pub principal: String,
    pub reason: String,
    #[serde(default)]
    pub actions: Vec<String>,
}

pub const ALLOWLIST: &str = "TAMPER_ALLOWLIST";

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Config, ConfigError> {
        Ok(Config {
            allowlist: allowlist(settings)?,
            incident_window: settings.minutes("INCIDENT_WINDOW_MINUTES", 15, 1, 24 * 60)?,
            respond: settings.flag("RESPOND", false)?,
            security_topic_arn: settings.arn("SECURITY_TOPIC_ARN", "sns")?,
            member_role_name: settings.optional("MEMBER_ROLE_NAME"),
        })
    }
}

fn allowlist(settings: &Settings) -> Result<Vec<Allowed>, ConfigError> {
    let Some(raw) = settings.optional(ALLOWLIST) else {
        return Ok(Vec::new());
    };
    let invalid = |reason: String| ConfigError::Invalid {
        name: ALLOWLIST.into(),
        value: raw.clone(),
        reason,
    };
    let entries: Vec<Allowed> = serde_json::from_str(&raw).map_err(|e| {
        invalid(format!(
            "expected a JSON list of {{\"principal\", \"reason\", \"actions\"}}: {e}"
        ))
    })?;
    for (i, entry) in entries.iter().enumerate() {
        if !entry.principal.starts_with("arn:") {
            return Err(invalid(format!("[{i}].principal is not an ARN: {:?}", entry.principal)));
        }
        if entry.reason.trim().is_empty() {
            return Err(invalid(format!(
                "[{i}].reason is empty: say why {} may change backups",
                entry.principal
            )));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_a_fifteen_minute_window_no_allowlist_and_no_response() {
        let config = Config::from_settings(&Settings::from_pairs(&[])).unwrap();
        assert_eq!(config.incident_window, Duration::from_secs(15 * 60));
        assert!(config.allowlist.is_empty());
        assert!(!config.respond);
        assert_eq!(config.security_topic_arn, None);
    }

    #[test]
    fn a_security_topic_that_is_not_a_topic_fails_naming_the_setting() {
        let settings = Settings::from_pairs(&[("SECURITY_TOPIC_ARN", "arn:aws:sqs:eu-west-1:999988887777:q")]);
        let e = Config::from_settings(&settings).unwrap_err().to_string();
        assert!(e.contains("SECURITY_TOPIC_ARN"), "{e}");
    }

    #[test]
    fn an_allowlist_entry_without_a_reason_fails_naming_the_setting() {
        let settings = Settings::from_pairs(&[(
            ALLOWLIST,
            r#"[{"principal": "arn:aws:iam::123456789012:role/deploy", "reason": " "}]"#,
        )]);
        let e = Config::from_settings(&settings).unwrap_err().to_string();
        assert!(e.contains(ALLOWLIST) && e.contains("[0].reason is empty"), "{e}");
    }

    #[test]
    fn an_allowlist_that_is_not_a_list_of_entries_fails_naming_the_setting() {
        for raw in [
            r#"{"principal": "x"}"#,
            r#"[{"principal": "deploy", "reason": "r"}]"#,
            r#"[{"who": "x"}]"#,
        ] {
            let e = Config::from_settings(&Settings::from_pairs(&[(ALLOWLIST, raw)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(ALLOWLIST), "{e}");
        }
    }

    #[test]
    fn a_valid_allowlist_is_read() {
        let settings = Settings::from_pairs(&[(
            ALLOWLIST,
            r#"[{"principal": "arn:aws:iam::123456789012:role/deploy", "reason": "the pipeline deploys plans", "actions": ["UpdateBackupPlan"]}]"#,
        )]);
        let config = Config::from_settings(&settings).unwrap();
        assert_eq!(config.allowlist[0].actions, ["UpdateBackupPlan"]);
    }
}

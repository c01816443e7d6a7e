//! Serde helpers for AWS event fields whose JSON type drifts between events.
//!
//! AWS Backup sends `backupSizeInBytes` as a string in backup and restore events but as a number
//! in copy events, and `destinationRecoveryPointArn` as `{}` until a copy completes. A strict
//! model rejects real events, so these helpers accept every shape seen and keep what is usable.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A number sent either as a JSON number or as a string (`"1024"`, `"0.0"`). Anything else,
/// including an unparseable string, becomes `None` rather than failing the whole event.
pub fn number_or_string<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + serde::de::DeserializeOwned,
{
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::Number(n)) => serde_json::from_value(Value::Number(n.clone()))
            .ok()
            .or_else(|| n.to_string().parse().ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A string that may arrive as `null`, `{}`, a number or a boolean. Only a non-empty string is
/// kept; a number or boolean is rendered as text so no information is lost.
pub fn loose_string<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Sample {
        #[serde(deserialize_with = "number_or_string")]
        size: Option<u64>,
        #[serde(deserialize_with = "number_or_string")]
        percent: Option<f64>,
        #[serde(deserialize_with = "loose_string")]
        arn: Option<String>,
    }

    fn parse(json: &str) -> Sample {
        serde_json::from_str(json).expect("sample parses")
    }

    #[test]
    fn size_is_read_from_a_string_or_a_number() {
        assert_eq!(parse(r#"{"size": "1024"}"#).size, Some(1024));
        assert_eq!(parse(r#"{"size": 2048}"#).size, Some(2048));
        assert_eq!(parse(r#"{"percent": "0.0"}"#).percent, Some(0.0));
        assert_eq!(parse(r#"{"percent": 55.5}"#).percent, Some(55.5));
    }

    #[test]
    fn unusable_numbers_become_none_instead_of_failing_the_event() {
        assert_eq!(parse(r#"{"size": "lots"}"#).size, None);
        assert_eq!(parse(r#"{"size": {}}"#).size, None);
        assert_eq!(parse(r#"{"size": null}"#).size, None);
        assert_eq!(parse(r#"{}"#).size, None);
    }

    #[test]
    fn empty_object_arn_is_none_and_a_string_arn_is_kept() {
        assert_eq!(parse(r#"{"arn": {}}"#).arn, None);
        assert_eq!(parse(r#"{"arn": ""}"#).arn, None);
        assert_eq!(
            parse(r#"{"arn": "arn:aws:ec2:us-east-1::snapshot/snap-1"}"#)
                .arn
                .as_deref(),
            Some("arn:aws:ec2:us-east-1::snapshot/snap-1")
        );
    }
}

//! The statements of a backup vault's access policy, read once for every function that judges
//! one (tamper-guard: which deletions it denies; cross-account-copy: whether it lets an account
//! copy). Pure.
//!
//! `Statement`, `Action` and the principal's `AWS` list may each be one value or a list (IAM
//! JSON policy element reference), and vault access policies take no wildcard in `Action`, so
//! actions are matched by name, case-insensitively (AWS Backup Developer Guide, "Vault access
//! policies").

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement, as much of it as a vault judgement needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `None` for an effect that is neither `Allow` nor `Deny` (such a statement does nothing).
    pub effect: Option<Effect>,
    pub actions: Vec<String>,
    /// `Principal` as written: `"*"` or `{"AWS": ...}` (or absent).
    pub principal: Value,
    pub condition: Option<Value>,
}

/// One value or a list of them, as a list.
pub fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

impl Statement {
    fn read(statement: &Value) -> Statement {
        let effect = match statement.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Some(Effect::Allow),
            Some("Deny") => Some(Effect::Deny),
            _ => None,
        };
        Statement {
            effect,
            actions: one_or_many(statement.get("Action").unwrap_or(&Value::Null))
                .into_iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            principal: statement.get("Principal").cloned().unwrap_or(Value::Null),
            condition: statement.get("Condition").cloned(),
        }
    }

    pub fn names_action(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.eq_ignore_ascii_case(action))
    }

    /// Whether the principal takes in `account` (by id, by any ARN in it, or `*`).
    pub fn names_account(&self, account: &str) -> bool {
        if self.principal.as_str() == Some("*") {
            return true;
        }
        one_or_many(self.principal.get("AWS").unwrap_or(&Value::Null))
            .into_iter()
            .filter_map(Value::as_str)
            .any(|p| p == "*" || p == account || (p.starts_with("arn:") && p.split(':').nth(4) == Some(account)))
    }
}

/// The statements of a policy document; `None` when the text is not JSON.
pub fn statements(policy: &str) -> Option<Vec<Statement>> {
    let document = serde_json::from_str::<Value>(policy).ok()?;
    Some(
        one_or_many(document.get("Statement").unwrap_or(&Value::Null))
            .into_iter()
            .map(Statement::read)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_or_a_list_and_one_action_or_a_list_read_alike() {
        let single = r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint"}}"#;
        let listed =
            r#"{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": ["backup:DeleteRecoveryPoint"]}]}"#;
        assert_eq!(statements(single), statements(listed));
        let read = statements(single).unwrap();
        assert_eq!(read[0].effect, Some(Effect::Deny));
        assert!(
            read[0].names_action("backup:deleterecoverypoint"),
            "names are case-insensitive"
        );
        assert!(
            !read[0].names_action("backup:Delete*"),
            "no wildcard in a vault policy's Action"
        );
    }

    #[test]
    fn a_principal_names_an_account_by_id_arn_or_star() {
        let by = |principal: &str| {
            Statement::read(
                &serde_json::json!({"Effect": "Allow", "Principal": serde_json::from_str::<Value>(principal).unwrap()}),
            )
        };
        assert!(by(r#"{"AWS": "arn:aws:iam::444455556666:root"}"#).names_account("444455556666"));
        assert!(by(r#"{"AWS": ["111122223333", "444455556666"]}"#).names_account("444455556666"));
        assert!(by(r#""*""#).names_account("444455556666"));
        assert!(!by(r#"{"AWS": "arn:aws:iam::111122223333:role/x"}"#).names_account("444455556666"));
    }

    #[test]
    fn text_that_is_not_json_has_no_statements_and_an_odd_effect_does_nothing() {
        assert_eq!(statements("not json"), None);
        let odd =
            statements(r#"{"Statement": [{"Effect": "Maybe", "Action": "backup:DeleteRecoveryPoint"}]}"#).unwrap();
        assert_eq!(odd[0].effect, None);
        assert_eq!(statements("{}"), Some(Vec::new()));
    }
}

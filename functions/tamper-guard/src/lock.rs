//! A backup vault's lock as tamper-guard last saw it, and what a new lock configuration gives
//! up against it. Pure.
//!
//! AWS Backup Developer Guide, "AWS Backup Vault Lock": a lock in governance mode (no
//! `ChangeableForDays`) can be changed or removed by anyone with the IAM permission; a lock in
//! compliance mode (`ChangeableForDays`, at least 3 days of cooling-off) can be changed or removed
//! only before its lock date, after which AWS refuses (`InvalidRequestException`). A minimum
//! retention fails backup and copy jobs with a shorter retention, a maximum fails those with a
//! longer one; recovery points saved before the lock are not affected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub locked: bool,
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
    /// Compliance mode: the configuration had `ChangeableForDays`.
    pub compliance: bool,
    /// The time of the event this was learnt from: an older event does not overwrite it.
    pub seen_at: DateTime<Utc>,
}

/// What a lock configuration gives up against the previous one.
#[derive(Debug, Clone, PartialEq)]
pub struct Weakening {
    /// Recovery points can be kept shorter, or the lock removed by anyone allowed to: CRITICAL.
    /// Otherwise only future backup and copy jobs with a longer retention fail: ERROR.
    pub protection_lost: bool,
    pub changes: Vec<String>,
}

fn days(value: Option<i64>) -> String {
    value.map(|d| format!("{d} days")).unwrap_or_else(|| "none".into())
}

impl Lock {
    /// The lock a `PutBackupVaultLockConfiguration` record's request applies (either casing).
    pub fn from_request(request: &Value, at: DateTime<Utc>) -> Lock {
        let number = |camel: &str, pascal: &str| {
            request
                .get(camel)
                .or_else(|| request.get(pascal))
                .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        };
        Lock {
            locked: true,
            min_days: number("minRetentionDays", "MinRetentionDays"),
            max_days: number("maxRetentionDays", "MaxRetentionDays"),
            compliance: number("changeableForDays", "ChangeableForDays").is_some(),
            seen_at: at,
        }
    }

    /// No lock any more (`DeleteBackupVaultLockConfiguration`).
    pub fn removed(at: DateTime<Utc>) -> Lock {
        Lock {
            locked: false,
            min_days: None,
            max_days: None,
            compliance: false,
            seen_at: at,
        }
    }

    pub fn describe(&self) -> String {
        if !self.locked {
            return "no lock".into();
        }
        format!(
            "{} mode, minimum retention {}, maximum retention {}",
            if self.compliance { "compliance" } else { "governance" },
            days(self.min_days),
            days(self.max_days)
        )
    }

    /// What `new` gives up against this lock; `None` when it keeps or hardens it. Nothing is
    /// given up against a vault that was not locked (a lock applied is hardening).
    pub fn weakened_by(&self, new: &Lock) -> Option<Weakening> {
        if !self.locked {
            return None;
        }
        let mut changes = Vec::new();
        let mut protection_lost = false;
        if let Some(before) = self.min_days
            && new.min_days.is_none_or(|after| after < before)
        {
            protection_lost = true;
            changes.push(format!(
                "minimum retention before: {before} days; after: {}",
                days(new.min_days)
            ));
        }
        if self.compliance && !new.compliance {
            protection_lost = true;
            changes.push(
                "compliance mode before (immutable after its lock date); after: governance mode (anyone with the IAM permission can remove it)"
                    .into(),
            );
        }
        if let Some(after) = new.max_days
            && self.max_days.is_none_or(|before| after < before)
        {
            changes.push(format!(
                "maximum retention before: {}; after: {after} days (backup and copy jobs with a longer retention now fail)",
                days(self.max_days)
            ));
        }
        (!changes.is_empty()).then_some(Weakening {
            protection_lost,
            changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T03:00:00Z").unwrap().to_utc()
    }

    fn lock(request: Value) -> Lock {
        Lock::from_request(&request, at())
    }

    #[test]
    fn a_request_in_either_casing_gives_the_lock_and_its_mode() {
        let governance = lock(json!({"backupVaultName": "v", "minRetentionDays": 30, "maxRetentionDays": 365}));
        assert_eq!((governance.min_days, governance.max_days), (Some(30), Some(365)));
        assert!(!governance.compliance);
        let compliance = lock(json!({"MinRetentionDays": "7", "ChangeableForDays": 3}));
        assert_eq!(compliance.min_days, Some(7));
        assert!(compliance.compliance);
    }

    #[test]
    fn a_lower_minimum_loses_protection_and_the_same_or_higher_keeps_it() {
        let before = lock(json!({"minRetentionDays": 30}));
        let lowered = before.weakened_by(&lock(json!({"minRetentionDays": 1}))).unwrap();
        assert!(lowered.protection_lost);
        assert!(lowered.changes[0].contains("before: 30 days; after: 1 days"));
        assert!(before.weakened_by(&lock(json!({"minRetentionDays": 30}))).is_none());
        assert!(before.weakened_by(&lock(json!({"minRetentionDays": 90}))).is_none());
        assert!(before.weakened_by(&lock(json!({}))).unwrap().protection_lost);
    }

    #[test]
    fn a_lower_or_new_maximum_only_fails_future_jobs_and_a_higher_one_is_nothing() {
        let before = lock(json!({"minRetentionDays": 7, "maxRetentionDays": 365}));
        let lowered = before
            .weakened_by(&lock(json!({"minRetentionDays": 7, "maxRetentionDays": 8})))
            .unwrap();
        assert!(!lowered.protection_lost);
        assert!(
            lowered.changes[0].contains("longer retention now fail"),
            "{:?}",
            lowered
        );
        let unbounded = lock(json!({"minRetentionDays": 7}));
        assert!(
            unbounded
                .weakened_by(&lock(json!({"minRetentionDays": 7, "maxRetentionDays": 30})))
                .is_some()
        );
        assert!(
            before
                .weakened_by(&lock(json!({"minRetentionDays": 7, "maxRetentionDays": 400})))
                .is_none()
        );
    }

    #[test]
    fn compliance_mode_turned_back_into_governance_loses_protection() {
        let before = lock(json!({"minRetentionDays": 7, "changeableForDays": 3}));
        let governance = before.weakened_by(&lock(json!({"minRetentionDays": 7}))).unwrap();
        assert!(governance.protection_lost);
        assert!(governance.changes[0].contains("governance mode"));
        let hardened = lock(json!({"minRetentionDays": 7})).weakened_by(&before);
        assert!(hardened.is_none(), "governance to compliance is hardening");
    }

    #[test]
    fn nothing_is_given_up_against_a_vault_without_a_lock() {
        assert!(
            Lock::removed(at())
                .weakened_by(&lock(json!({"minRetentionDays": 1})))
                .is_none()
        );
    }
}

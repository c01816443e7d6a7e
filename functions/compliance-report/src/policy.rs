//! compliance-report's part of the Rearguard policy (`rearguard::policy`): what "protected" means
//! per plan — the RPO (stated, or derived from the plan's schedule), the copies every backup
//! must have, and the vault lock the plan requires. The whole document is checked at start-up.

use rearguard::policy::{Document, OptOut, PolicyError, VaultLock, VaultRef, error};

use crate::drill_age::{self, DrillAge};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Policy {
    /// The tag that names a resource's plan (the one tag-enrollment writes).
    pub tag_key: String,
    pub opt_out: Option<OptOut>,
    /// AWS Backup resource types in scope (resources of these types without the tag are listed).
    pub resource_types: Vec<String>,
    pub plans: BTreeMap<String, PlanRule>,
    /// When a plan's last successful drill is stale.
    pub drill_age: DrillAge,
    /// The document states `restore_tests.schedule` (else the stack's schedule applies).
    drill_schedule_stated: bool,
    drill_grace_hours: i64,
}

#[derive(Debug, Clone)]
pub struct PlanRule {
    /// The newest backup may be at most this old.
    pub rpo_hours: i64,
    /// The copies every backup must have, however they are made.
    pub copy: Option<CopyRule>,
    /// The plan's vault, when the plan requires it locked.
    pub locked_vault: Option<LockRule>,
}

#[derive(Debug, Clone)]
pub struct CopyRule {
    /// Each required copy: its vault and its RPO.
    pub required: Vec<(VaultRef, i64)>,
}

impl CopyRule {
    /// The tightest copy RPO, for the summary.
    pub fn rpo_hours(&self) -> i64 {
        self.required.iter().map(|(_, h)| *h).min().unwrap_or(0)
    }

    /// The longest copy RPO: how far back copy jobs are read.
    pub fn window_hours(&self) -> i64 {
        self.required.iter().map(|(_, h)| *h).max().unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub struct LockRule {
    pub vault: VaultRef,
    pub lock: VaultLock,
    /// How long the plan promises to keep its backups: the vault's `MinRetentionDays` must be at
    /// least this, or a backup's retention can be cut short inside a "locked" vault.
    pub promised_days: Option<i64>,
}

/// AWS Backup's job listings reach back 30 days ("ListCopyJobs": jobs of the past 30 days), so
/// a copy RPO beyond that could never be judged.
pub const MAX_COPY_RPO_HOURS: i64 = 30 * 24;

impl Policy {
    /// This function's view of a checked document, with the checks only it needs.
    pub fn from_document(document: &Document) -> Result<Policy, PolicyError> {
        for (name, plan) in &document.plans {
            if let Some((i, copy)) = plan
                .copies
                .iter()
                .enumerate()
                .find(|(_, c)| c.rpo_hours > MAX_COPY_RPO_HOURS)
            {
                return Err(error(
                    format!("plans.{name}.copies[{i}].rpo_hours"),
                    format!(
                        "{} is beyond the {MAX_COPY_RPO_HOURS} h (30 days) AWS Backup's copy job listings cover",
                        copy.rpo_hours
                    ),
                ));
            }
        }
        let plans = document
            .plans
            .iter()
            .map(|(name, plan)| {
                let required: Vec<(VaultRef, i64)> = plan
                    .copies
                    .iter()
                    .map(|c| (document.vault(&c.vault), c.rpo_hours))
                    .collect();
                let rule = PlanRule {
                    rpo_hours: plan.rpo_hours(),
                    copy: (!required.is_empty()).then_some(CopyRule { required }),
                    locked_vault: match (&plan.vault, &plan.vault_lock) {
                        (Some(vault), Some(lock)) => Some(LockRule {
                            vault: document.vault(vault),
                            lock: lock.clone(),
                            promised_days: plan.retention_days.or(lock.min_retention_days),
                        }),
                        _ => None,
                    },
                };
                (name.clone(), rule)
            })
            .collect();
        let tests = &document.restore_tests;
        let drill_age = DrillAge::new(
            tests.schedule.as_deref().unwrap_or(drill_age::WEEKLY),
            tests.grace_hours,
        )
        .map_err(|e| error("restore_tests.schedule", e))?;
        Ok(Policy {
            tag_key: document.tag_key.clone(),
            opt_out: document.opt_out.clone(),
            resource_types: document.resource_types.clone(),
            plans,
            drill_age,
            drill_schedule_stated: tests.schedule.is_some(),
            drill_grace_hours: tests.grace_hours,
        })
    }

    /// The stack's restore test schedule (the template's `RestoreTestSchedule`, the one its
    /// restore testing plan runs on) applies unless the document states its own.
    pub fn with_stack_drill_schedule(mut self, schedule: &str) -> Result<Policy, String> {
        if !self.drill_schedule_stated {
            self.drill_age = DrillAge::new(schedule, self.drill_grace_hours)?;
        }
        Ok(self)
    }

    /// Parses and checks a whole policy document, then takes this function's view of it.
    pub fn parse(json: &str) -> Result<Policy, PolicyError> {
        Policy::from_document(&Document::parse(json)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_with_three_plans_gives_rpos_copies_and_locks() {
        let policy = Policy::parse(
            r#"{"vaults": {"dr": {"region": "us-west-2"}, "compliance": {}},
                "plans": {
                "production": {"rpo_hours": 24, "copies": [{"vault": "dr", "rpo_hours": 48, "made_by": "backup_plan"}]},
                "staging": {"schedule": {"expression": "cron(0 4 ? * SUN *)", "start_window_minutes": 60, "completion_window_minutes": 720}},
                "compliance": {"rpo_hours": 744, "vault": "compliance", "vault_lock": {"mode": "compliance", "min_retention_days": 2557}}}}"#,
        )
        .unwrap();
        assert_eq!(policy.plans.len(), 3);
        assert_eq!(policy.tag_key, "backup-plan");
        assert_eq!(
            policy.plans["staging"].rpo_hours,
            168 + 1 + 12,
            "weekly + start + completion windows"
        );
        let copy = policy.plans["production"].copy.as_ref().unwrap();
        assert_eq!((copy.rpo_hours(), copy.required[0].0.name()), (48, "dr"));
        assert_eq!(
            policy.plans["compliance"].locked_vault.as_ref().unwrap().vault.name(),
            "compliance"
        );
        assert!(policy.plans["staging"].locked_vault.is_none());
    }

    #[test]
    fn a_copy_rpo_beyond_the_30_days_of_job_listings_is_refused() {
        let document = |hours: i64| {
            format!(
                r#"{{"vaults": {{"dr": {{"region": "us-west-2"}}}},
                    "plans": {{"p": {{"rpo_hours": 24, "copies": [{{"vault": "dr", "rpo_hours": {hours}}}]}}}}}}"#
            )
        };
        assert!(Policy::parse(&document(720)).is_ok());
        let e = Policy::parse(&document(721)).unwrap_err();
        assert_eq!(e.path, "plans.p.copies[0].rpo_hours");
        assert!(e.problem.contains("30 days"), "{e}");
    }

    #[test]
    fn a_locked_plan_promises_its_retention() {
        let policy = Policy::parse(
            r#"{"vaults": {"c": {}}, "plans": {
                "seven_years": {"rpo_hours": 744, "retention_days": 2557, "vault": "c", "vault_lock": {"mode": "compliance", "min_retention_days": 2557}},
                "lock_only": {"rpo_hours": 744, "vault": "c", "vault_lock": {"mode": "governance", "min_retention_days": 30}}}}"#,
        )
        .unwrap();
        let promised = |p: &str| policy.plans[p].locked_vault.as_ref().unwrap().promised_days;
        assert_eq!(promised("seven_years"), Some(2557));
        assert_eq!(promised("lock_only"), Some(30));
    }

    #[test]
    fn mistakes_in_the_whole_document_name_their_path() {
        let e = Policy::parse(r#"{"plans": {"production": {"rpo_hours": 0}}}"#).unwrap_err();
        assert_eq!(e.path, "plans.production.rpo_hours");
        let e = Policy::parse(r#"{"plans": {"production": {"rpo": 24}}}"#).unwrap_err();
        assert!(e.to_string().contains("rpo"), "{e}");
    }
}

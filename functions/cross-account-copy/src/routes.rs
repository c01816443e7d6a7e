//! The copy routes: which completed backups go where, with which role and lifecycle. Built at
//! start-up from the Rearguard policy (`rearguard::policy`): one route per copy a plan asks
//! Rearguard to make, plus the document's extra `copy_routes`. Named vaults are resolved to ARNs
//! in the function's own account and Region, where the backups it copies are.

use rearguard::policy::{CopyMaker, Document, VaultRef};
use std::collections::BTreeSet;

use crate::lifecycle::Lifecycle;

pub use rearguard::policy::Jobs;

#[derive(Debug, Clone)]
pub struct Routes {
    /// The tag whose value `backup_tag_values` matches (the one tag-enrollment writes).
    pub backup_tag_key: String,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone)]
pub struct Route {
    /// `PLAN:VAULT` for a plan's copy, the route's own name for an extra route.
    pub name: String,
    /// Vault names in the account and region where the backup lands; `*` for any.
    pub source_vaults: Vec<String>,
    /// AWS Backup resource types (`EBS`, `RDS`, ...); empty for any.
    pub resource_types: Vec<String>,
    /// Values of the backup tag; empty for any.
    pub backup_tag_values: Vec<String>,
    pub jobs: Jobs,
    /// Destination vault ARNs: another account, another region, or both.
    pub destinations: Vec<String>,
    /// The role AWS Backup uses for the copy (passed with `iam:PassRole`).
    pub copy_role_arn: String,
    /// The copies' lifecycle; without one, each copy takes its source recovery point's.
    pub lifecycle: Option<Lifecycle>,
    /// A same-account vault with a customer managed key: snapshots under an AWS managed key are
    /// copied there first and go on to other accounts from there.
    pub reencrypt: Option<Reencrypt>,
    /// Once every vault in `shorten_after` holds its copy, shorten the source's retention.
    pub shorten_source_to_days: Option<i64>,
    /// The destinations that must hold their copies before the source is shortened: the route's
    /// own, or for a plan's copy every copy Rearguard makes of that plan.
    pub shorten_after: Vec<String>,
    /// Keep a copy within its destination vault's Vault Lock bounds instead of refusing it.
    pub clamp_to_vault_lock: bool,
    /// Copy only once a malware scan found the backup clean, not when the backup completes.
    pub require_clean_scan: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reencrypt {
    /// A vault name in the source account and region.
    pub vault: String,
    /// How long the intermediate copy is kept (long enough to retry the next hop).
    pub keep_days: i64,
}

/// Where the function runs: named vaults resolve here.
#[derive(Debug, Clone, Copy)]
pub struct Home<'a> {
    pub partition: &'a str,
    pub account: &'a str,
    pub region: &'a str,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RoutesError {
    #[error("{path}: {problem}")]
    Route { path: String, problem: String },
}

/// The facts about a backup that routes match on.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub vault_name: &'a str,
    pub resource_type: &'a str,
    pub backup_tag: Option<&'a str>,
    /// `None` when unknown (a copy's arrival): the `jobs` filter does not apply.
    pub on_demand: Option<bool>,
}

impl Routes {
    /// The routes of a checked policy document; copies without a `copy_role_arn` take
    /// `default_role` (the deployment's `COPY_ROLE_ARN`).
    pub fn from_document(
        document: &Document,
        default_role: Option<&str>,
        home: Home<'_>,
    ) -> Result<Routes, RoutesError> {
        let arn = |vault: &VaultRef| vault.arn_for(home.partition, home.account, home.region);
        let role = |path: String, own: &Option<String>| -> Result<String, RoutesError> {
            own.as_deref()
                .or(default_role)
                .map(str::to_string)
                .ok_or(RoutesError::Route {
                    path,
                    problem: "copy_role_arn is missing (and no COPY_ROLE_ARN is set for the deployment)".into(),
                })
        };
        let reencrypt = |r: &rearguard::policy::Reencrypt| Reencrypt {
            vault: document.vault(&r.vault).name().to_string(),
            keep_days: r.keep_days,
        };
        let mut routes = Vec::new();
        for (plan_name, plan) in &document.plans {
            let ours: Vec<(usize, &rearguard::policy::Copy)> = plan
                .copies
                .iter()
                .enumerate()
                .filter(|(_, c)| c.made_by == CopyMaker::Rearguard)
                .collect();
            let all: Vec<String> = ours.iter().map(|(_, c)| arn(&document.vault(&c.vault))).collect();
            for (i, copy) in ours {
                routes.push(Route {
                    name: format!("{plan_name}:{}", copy.vault),
                    source_vaults: vec![
                        plan.vault
                            .as_ref()
                            .map_or("*".to_string(), |v| document.vault(v).name().to_string()),
                    ],
                    resource_types: Vec::new(),
                    backup_tag_values: vec![plan_name.clone()],
                    jobs: Jobs::Any,
                    destinations: vec![arn(&document.vault(&copy.vault))],
                    copy_role_arn: role(
                        format!("plans.{plan_name}.copies[{i}].copy_role_arn"),
                        &copy.copy_role_arn,
                    )?,
                    lifecycle: copy.lifecycle,
                    reencrypt: copy.reencrypt.as_ref().map(reencrypt),
                    shorten_source_to_days: plan.shorten_source_to_days,
                    shorten_after: all.clone(),
                    clamp_to_vault_lock: copy.clamp_to_vault_lock,
                    require_clean_scan: copy.require_clean_scan,
                });
            }
        }
        for (i, route) in document.copy_routes.iter().enumerate() {
            let destinations: Vec<String> = route.destinations.iter().map(|d| arn(&document.vault(d))).collect();
            routes.push(Route {
                name: route.name.clone(),
                source_vaults: route
                    .source_vaults
                    .iter()
                    .map(|v| {
                        if v == "*" {
                            v.clone()
                        } else {
                            document.vault(v).name().to_string()
                        }
                    })
                    .collect(),
                resource_types: route.resource_types.clone(),
                backup_tag_values: route.plans.clone(),
                jobs: route.jobs,
                shorten_after: destinations.clone(),
                destinations,
                copy_role_arn: role(format!("copy_routes[{i}].copy_role_arn"), &route.copy_role_arn)?,
                lifecycle: route.lifecycle,
                reencrypt: route.reencrypt.as_ref().map(reencrypt),
                shorten_source_to_days: route.shorten_source_to_days,
                clamp_to_vault_lock: route.clamp_to_vault_lock,
                require_clean_scan: route.require_clean_scan,
            });
        }
        let mut names = BTreeSet::new();
        if let Some(twice) = routes.iter().find(|r| !names.insert(r.name.as_str())) {
            return Err(RoutesError::Route {
                path: "copy_routes".into(),
                problem: format!("the name {:?} is also a plan's copy (PLAN:VAULT)", twice.name),
            });
        }
        Ok(Routes {
            backup_tag_key: document.tag_key.clone(),
            routes,
        })
    }

    /// The routes that take this backup, in document order.
    pub fn matching<'r>(&'r self, candidate: &Candidate<'_>) -> Vec<&'r Route> {
        self.routes.iter().filter(|r| r.matches(candidate)).collect()
    }

    /// Whether any route reads the backup tag (if none does, tags are never looked up).
    pub fn reads_tags(&self) -> bool {
        self.routes.iter().any(|r| !r.backup_tag_values.is_empty())
    }

    /// The routes whose copies wait for a clean malware scan.
    pub fn gated(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(|r| r.require_clean_scan)
    }

    /// Whether a gated route may take backups from this vault (before its other filters).
    pub fn gates_vault(&self, vault_name: &str) -> bool {
        self.gated()
            .any(|r| r.source_vaults.iter().any(|v| v == "*" || v == vault_name))
    }
}

impl Route {
    pub fn matches(&self, c: &Candidate<'_>) -> bool {
        let vault = self.source_vaults.iter().any(|v| v == "*" || v == c.vault_name);
        let kind = self.resource_types.is_empty() || self.resource_types.iter().any(|t| t == c.resource_type);
        let tag = self.backup_tag_values.is_empty()
            || c.backup_tag
                .is_some_and(|value| self.backup_tag_values.iter().any(|v| v == value));
        let jobs = match (self.jobs, c.on_demand) {
            (Jobs::Any, _) | (_, None) => true,
            (Jobs::Plan, Some(on_demand)) => !on_demand,
            (Jobs::OnDemand, Some(on_demand)) => on_demand,
        };
        vault && kind && tag && jobs
    }
}

impl Routes {
    /// Routes from a JSON array of `copy_routes`, with the vaults `rearguard-production`,
    /// `rearguard-reencrypt` (beside the backup), `isolated` and `dr` (by ARN), for tests.
    #[cfg(test)]
    pub fn for_test(copy_routes: &str) -> Routes {
        let document = Document::parse(&format!(
            r#"{{"plans": {{"production": {{"rpo_hours": 24}}}}, "vaults": {TEST_VAULTS}, "copy_routes": {copy_routes}}}"#
        ))
        .expect("a valid policy document");
        Routes::from_document(&document, None, TEST_HOME).expect("valid routes")
    }
}

#[cfg(test)]
const TEST_VAULTS: &str = r#"{"rearguard-production": {}, "rearguard-reencrypt": {},
    "isolated": {"arn": "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated"},
    "dr": {"arn": "arn:aws:backup:us-west-2:111122223333:backup-vault:dr"},
    "production": {},
    "far": {"arn": "arn:aws:backup:us-west-2:444455556666:backup-vault:far"}}"#;

#[cfg(test)]
const TEST_HOME: Home<'static> = Home {
    partition: "aws",
    account: "111122223333",
    region: "eu-west-1",
};

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{
      "vaults": {
        "rearguard-production": {},
        "rearguard-dr": {"region": "us-west-2"},
        "rearguard-isolated": {"account": "444455556666"}
      },
      "plans": {
        "production": {
          "vault": "rearguard-production", "rpo_hours": 24, "shorten_source_to_days": 7,
          "copies": [
            {"vault": "rearguard-dr", "rpo_hours": 48, "made_by": "backup_plan"},
            {"vault": "rearguard-isolated", "rpo_hours": 48, "lifecycle": {"delete_after_days": 35}},
            {"vault": "rearguard-dr", "rpo_hours": 48}
          ]
        },
        "staging": {"rpo_hours": 168}
      },
      "copy_routes": [
        {"name": "on-demand", "source_vaults": ["*"], "resource_types": ["EBS", "EFS"], "jobs": "on_demand",
         "destinations": ["rearguard-dr"], "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy"}
      ]
    }"#;
    const ROLE: &str = "arn:aws:iam::111122223333:role/default-copy";
    const ISOLATED: &str = "arn:aws:backup:eu-west-1:444455556666:backup-vault:rearguard-isolated";
    const DR: &str = "arn:aws:backup:us-west-2:111122223333:backup-vault:rearguard-dr";

    fn routes(policy: &str, role: Option<&str>) -> Result<Routes, RoutesError> {
        Routes::from_document(&Document::parse(policy).unwrap(), role, TEST_HOME)
    }

    fn candidate<'a>(vault: &'a str, kind: &'a str, tag: Option<&'a str>, on_demand: Option<bool>) -> Candidate<'a> {
        Candidate {
            vault_name: vault,
            resource_type: kind,
            backup_tag: tag,
            on_demand,
        }
    }

    fn names(routes: &Routes, c: Candidate<'_>) -> Vec<String> {
        routes.matching(&c).iter().map(|r| r.name.clone()).collect()
    }

    #[test]
    fn each_copy_rearguard_makes_for_a_plan_is_a_route_in_the_home_account_and_region() {
        let routes = routes(POLICY, Some(ROLE)).unwrap();
        let names: Vec<&str> = routes.routes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["production:rearguard-isolated", "production:rearguard-dr", "on-demand"],
            "the plan's own copy rule (made_by backup_plan) is not Rearguard's to start"
        );
        let isolated = &routes.routes[0];
        assert_eq!(isolated.destinations, [ISOLATED]);
        assert_eq!(isolated.source_vaults, ["rearguard-production"]);
        assert_eq!(isolated.backup_tag_values, ["production"]);
        assert_eq!(isolated.copy_role_arn, ROLE, "the deployment's default role");
        assert_eq!(isolated.lifecycle, Some(Lifecycle::delete_after(35)));
        assert_eq!(isolated.shorten_source_to_days, Some(7));
        assert_eq!(
            isolated.shorten_after,
            [ISOLATED, DR],
            "every copy Rearguard makes of the plan"
        );
        assert_eq!(
            routes.routes[2].copy_role_arn,
            "arn:aws:iam::111122223333:role/rearguard-copy"
        );
        assert_eq!(routes.routes[2].shorten_after, [DR]);
    }

    #[test]
    fn routes_match_on_vault_type_tag_and_job_origin() {
        let routes = routes(POLICY, Some(ROLE)).unwrap();
        assert_eq!(
            names(
                &routes,
                candidate("rearguard-production", "RDS", Some("production"), Some(false))
            ),
            ["production:rearguard-isolated", "production:rearguard-dr"]
        );
        assert_eq!(
            names(
                &routes,
                candidate("rearguard-production", "EBS", Some("production"), Some(true))
            ),
            ["production:rearguard-isolated", "production:rearguard-dr", "on-demand"]
        );
        assert!(
            names(
                &routes,
                candidate("rearguard-production", "RDS", Some("staging"), Some(false))
            )
            .is_empty()
        );
        assert!(names(&routes, candidate("rearguard-production", "RDS", None, Some(false))).is_empty());
        assert!(names(&routes, candidate("other", "EBS", Some("production"), Some(false))).is_empty());
        assert_eq!(
            names(&routes, candidate("other", "EFS", None, None)),
            ["on-demand"],
            "origin unknown"
        );
        assert!(routes.reads_tags());
    }

    #[test]
    fn a_copy_without_a_role_is_named_when_the_deployment_has_none() {
        let e = routes(POLICY, None).unwrap_err();
        assert_eq!(
            e,
            RoutesError::Route {
                path: "plans.production.copies[1].copy_role_arn".into(),
                problem: "copy_role_arn is missing (and no COPY_ROLE_ARN is set for the deployment)".into(),
            }
        );
    }

    #[test]
    fn a_policy_whose_copies_the_plans_make_gives_no_routes() {
        let plans_only = r#"{"vaults": {"dr": {"region": "us-west-2"}}, "plans": {"production": {"rpo_hours": 24,
            "copies": [{"vault": "dr", "rpo_hours": 48, "made_by": "backup_plan"}]}}}"#;
        assert!(routes(plans_only, None).unwrap().routes.is_empty());
    }

    #[test]
    fn a_plans_copy_or_a_route_may_wait_for_a_clean_scan_and_only_they_are_gated() {
        let gated = POLICY
            .replace(
                r#"{"vault": "rearguard-isolated", "rpo_hours": 48,"#,
                r#"{"vault": "rearguard-isolated", "rpo_hours": 48, "require_clean_scan": true,"#,
            )
            .replace(
                r#""jobs": "on_demand","#,
                r#""jobs": "on_demand", "require_clean_scan": true,"#,
            );
        let some = routes(&gated, Some(ROLE)).unwrap();
        let names: Vec<&str> = some.gated().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["production:rearguard-isolated", "on-demand"]);
        assert!(
            some.gates_vault("rearguard-production") && some.gates_vault("any-vault"),
            "on-demand takes *"
        );
        let plain = routes(POLICY, Some(ROLE)).unwrap();
        assert_eq!(plain.gated().count(), 0);
        assert!(!plain.gates_vault("rearguard-production"));
    }

    #[test]
    fn a_route_named_like_a_plans_copy_is_refused() {
        let clash = POLICY.replace(r#""name": "on-demand""#, r#""name": "production:rearguard-dr""#);
        assert!(matches!(routes(&clash, Some(ROLE)), Err(RoutesError::Route { path, .. }) if path == "copy_routes"));
    }
}

//! The copy routes: which completed backups go where, with which role and lifecycle. Parsed
//! and checked at start-up from `COPY_ROUTES`; a mistake fails the function naming its path.

use rearguard::arn::Arn;
use serde::Deserialize;
use std::collections::BTreeSet;

use crate::lifecycle::{Lifecycle, LifecycleError, supports_cold_storage};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// The tag whose value `backup_tag_values` matches (the one tag-enrollment writes).
    #[serde(default = "default_tag_key")]
    pub backup_tag_key: String,
    pub routes: Vec<Route>,
}

fn default_tag_key() -> String {
    "backup-plan".into()
}

/// Which jobs a route takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jobs {
    #[default]
    Any,
    /// Jobs started by a backup plan (plans can copy on their own; routes add isolation).
    Plan,
    /// On-demand jobs, which backup-plan copy rules never copy.
    OnDemand,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub name: String,
    /// Vault names in the account and region where the backup lands; `*` for any.
    pub source_vaults: Vec<String>,
    /// AWS Backup resource types (`EBS`, `RDS`, ...); empty for any.
    #[serde(default)]
    pub resource_types: Vec<String>,
    /// Values of the backup tag; empty for any.
    #[serde(default)]
    pub backup_tag_values: Vec<String>,
    #[serde(default)]
    pub jobs: Jobs,
    /// Destination vault ARNs: another account, another region, or both.
    pub destinations: Vec<String>,
    /// The role AWS Backup uses for the copy (passed with `iam:PassRole`); without one, the
    /// deployment's `COPY_ROLE_ARN`.
    #[serde(default)]
    pub copy_role_arn: String,
    /// The copies' lifecycle; without one, each copy takes its source recovery point's.
    #[serde(default)]
    pub lifecycle: Option<Lifecycle>,
    /// A same-account vault with a customer managed key: snapshots under an AWS managed key are
    /// copied there first and go on to other accounts from there.
    #[serde(default)]
    pub reencrypt: Option<Reencrypt>,
    /// Once every destination holds its copy, shorten the source's retention to this many days.
    #[serde(default)]
    pub shorten_source_to_days: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reencrypt {
    pub vault: String,
    /// How long the intermediate copy is kept (long enough to retry the next hop).
    #[serde(default = "default_keep_days")]
    pub keep_days: i64,
}

fn default_keep_days() -> i64 {
    7
}

#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    #[error("not valid JSON for the routes document at {path}: {message}")]
    Json { path: String, message: String },
    #[error("routes[{index}] ({name}): {message}")]
    Route {
        index: usize,
        name: String,
        message: String,
    },
    #[error("no routes: the document needs at least one")]
    Empty,
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
    /// Parses and checks the document; routes without a `copy_role_arn` take `default_role`.
    pub fn parse(raw: &str, default_role: Option<&str>) -> Result<Routes, RoutesError> {
        let mut routes: Routes = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(raw))
            .map_err(|e| RoutesError::Json {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        if routes.routes.is_empty() {
            return Err(RoutesError::Empty);
        }
        for route in routes.routes.iter_mut().filter(|r| r.copy_role_arn.is_empty()) {
            route.copy_role_arn = default_role.unwrap_or_default().to_string();
        }
        let mut names = BTreeSet::new();
        for (index, route) in routes.routes.iter().enumerate() {
            let fail = |message: String| RoutesError::Route {
                index,
                name: route.name.clone(),
                message,
            };
            if !names.insert(route.name.as_str()) {
                return Err(fail("the name is used by an earlier route".into()));
            }
            route.check().map_err(fail)?;
        }
        Ok(routes)
    }

    /// The routes that take this backup, in document order.
    pub fn matching<'r>(&'r self, candidate: &Candidate<'_>) -> Vec<&'r Route> {
        self.routes.iter().filter(|r| r.matches(candidate)).collect()
    }

    /// Whether any route reads the backup tag (if none does, tags are never looked up).
    pub fn reads_tags(&self) -> bool {
        self.routes.iter().any(|r| !r.backup_tag_values.is_empty())
    }
}

impl Route {
    fn check(&self) -> Result<(), String> {
        if self.source_vaults.is_empty() {
            return Err("source_vaults is empty (use [\"*\"] for any vault)".into());
        }
        if self.destinations.is_empty() {
            return Err("destinations is empty".into());
        }
        for destination in &self.destinations {
            if !is_vault_arn(destination) {
                return Err(format!(
                    "destination {destination:?} is not a backup vault ARN (arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME)"
                ));
            }
        }
        if self.copy_role_arn.is_empty() {
            return Err("copy_role_arn is missing (and no COPY_ROLE_ARN is set for the deployment)".into());
        }
        match Arn::parse(&self.copy_role_arn) {
            Some(arn) if arn.service == "iam" && arn.resource.starts_with("role/") => {}
            _ => return Err(format!("copy_role_arn {:?} is not an IAM role ARN", self.copy_role_arn)),
        }
        if let Some(lifecycle) = &self.lifecycle {
            lifecycle.validate().map_err(|e| format!("lifecycle: {e}"))?;
            if lifecycle.move_to_cold_storage_after_days.is_some() {
                if self.resource_types.is_empty() {
                    return Err("lifecycle moves copies to cold storage, so resource_types must list only types that support it (EBS, EFS, DynamoDB, ...)".into());
                }
                if let Some(t) = self.resource_types.iter().find(|t| !supports_cold_storage(t)) {
                    return Err(format!("lifecycle: {}", LifecycleError::NoColdStorage(t.clone())));
                }
            }
        }
        if let Some(reencrypt) = &self.reencrypt {
            if reencrypt.vault.is_empty() || reencrypt.vault.contains(':') {
                return Err("reencrypt.vault is a vault name in the source account and region".into());
            }
            if reencrypt.keep_days < 1 {
                return Err("reencrypt.keep_days must be at least 1".into());
            }
            if self.shorten_source_to_days.is_some() {
                return Err("shorten_source_to_days cannot be combined with reencrypt: the source would be shortened before the re-encrypted copy reaches the other account".into());
            }
        }
        if let Some(days) = self.shorten_source_to_days
            && days < 1
        {
            return Err("shorten_source_to_days must be at least 1".into());
        }
        Ok(())
    }

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

pub fn is_vault_arn(arn: &str) -> bool {
    Arn::parse(arn).is_some_and(|a| {
        a.service == "backup"
            && !a.region.is_empty()
            && a.account.len() == 12
            && a.resource.strip_prefix("backup-vault:").is_some_and(|n| !n.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str = r#"{
      "routes": [
        {
          "name": "production-offsite",
          "source_vaults": ["rearguard-production"],
          "backup_tag_values": ["production"],
          "destinations": [
            "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated",
            "arn:aws:backup:us-west-2:111122223333:backup-vault:dr"
          ],
          "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy",
          "lifecycle": {"delete_after_days": 35}
        },
        {
          "name": "on-demand",
          "source_vaults": ["*"],
          "resource_types": ["EBS", "EFS"],
          "jobs": "on_demand",
          "destinations": ["arn:aws:backup:us-west-2:111122223333:backup-vault:dr"],
          "copy_role_arn": "arn:aws:iam::111122223333:role/rearguard-copy"
        }
      ]
    }"#;

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
    fn routes_match_on_vault_type_tag_and_job_origin() {
        let routes = Routes::parse(ROUTES, None).unwrap();
        assert_eq!(
            names(
                &routes,
                candidate("rearguard-production", "RDS", Some("production"), Some(false))
            ),
            ["production-offsite"]
        );
        assert_eq!(
            names(
                &routes,
                candidate("rearguard-production", "EBS", Some("production"), Some(true))
            ),
            ["production-offsite", "on-demand"]
        );
        assert!(
            names(
                &routes,
                candidate("rearguard-production", "RDS", Some("staging"), Some(false))
            )
            .is_empty()
        );
        assert!(names(&routes, candidate("rearguard-production", "RDS", None, Some(false))).is_empty());
        assert!(names(&routes, candidate("other", "EBS", None, Some(false))).is_empty());
        assert_eq!(
            names(&routes, candidate("other", "EFS", None, None)),
            ["on-demand"],
            "origin unknown"
        );
        assert!(routes.reads_tags());
    }

    fn error_of(raw: &str) -> String {
        Routes::parse(raw, None).unwrap_err().to_string()
    }

    fn one_route(extra: &str) -> String {
        format!(
            r#"{{"routes": [{{"name": "r", "source_vaults": ["v"], "copy_role_arn": "arn:aws:iam::111122223333:role/c",
                "destinations": ["arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated"] {extra}}}]}}"#
        )
    }

    #[test]
    fn mistakes_are_named_with_their_route() {
        assert!(error_of(&one_route(r#", "jobs": "sometimes""#)).contains("routes[0].jobs"));
        assert!(error_of(&one_route(r#", "colour": "red""#)).contains("colour"));
        let e = error_of(&one_route(
            r#", "lifecycle": {"move_to_cold_storage_after_days": 30, "delete_after_days": 60}"#,
        ));
        assert!(e.contains("routes[0] (r)") && e.contains("120"), "{e}");
        let e = error_of(&one_route(
            r#", "resource_types": ["RDS"], "lifecycle": {"move_to_cold_storage_after_days": 30, "delete_after_days": 365}"#,
        ));
        assert!(e.contains("RDS recovery points cannot move to cold storage"), "{e}");
        let e = error_of(&one_route(
            r#", "lifecycle": {"move_to_cold_storage_after_days": 30, "delete_after_days": 365}"#,
        ));
        assert!(e.contains("resource_types must list"), "{e}");
        let e = error_of(&one_route(
            r#", "reencrypt": {"vault": "hop"}, "shorten_source_to_days": 7"#,
        ));
        assert!(e.contains("cannot be combined"), "{e}");
        let e = error_of(
            r#"{"routes": [{"name": "r", "source_vaults": ["v"], "copy_role_arn": "arn:aws:iam::111122223333:role/c",
                "destinations": ["arn:aws:s3:::bucket"]}]}"#,
        );
        assert!(e.contains("not a backup vault ARN"), "{e}");
        assert!(error_of(r#"{"routes": []}"#).contains("at least one"));
        let twice = r#"{"routes": [
            {"name": "r", "source_vaults": ["v"], "copy_role_arn": "arn:aws:iam::1:role/c", "destinations": ["arn:aws:backup:eu-west-1:444455556666:backup-vault:x"]},
            {"name": "r", "source_vaults": ["v"], "copy_role_arn": "arn:aws:iam::1:role/c", "destinations": ["arn:aws:backup:eu-west-1:444455556666:backup-vault:x"]}]}"#;
        assert!(error_of(twice).contains("used by an earlier route"));
    }

    #[test]
    fn a_route_without_a_role_takes_the_deployment_default() {
        let raw = r#"{"routes": [{"name": "r", "source_vaults": ["v"], "destinations": ["arn:aws:backup:eu-west-1:444455556666:backup-vault:x"]}]}"#;
        let routes = Routes::parse(raw, Some("arn:aws:iam::111122223333:role/rearguard-copy")).unwrap();
        assert_eq!(
            routes.routes[0].copy_role_arn,
            "arn:aws:iam::111122223333:role/rearguard-copy"
        );
        assert!(error_of(raw).contains("copy_role_arn is missing"));
    }
}

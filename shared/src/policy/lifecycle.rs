//! AWS Backup's lifecycle rules for a copy: at least 90 days in cold storage, a move to cold
//! storage only where the type has it (AWS Backup ignores it elsewhere), and never unbounded
//! retention by accident.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Days a recovery point must stay in cold storage before it may be deleted.
pub const COLD_STORAGE_MINIMUM_DAYS: i64 = 90;

/// Resource types whose recovery points can move to cold storage (AWS Backup's "Feature
/// availability by resource" table). For the others AWS Backup ignores MoveToColdStorageAfterDays
/// (API Reference, `Lifecycle`), so a route asking for it is not wrong, only without effect there.
const COLD_STORAGE_TYPES: &[&str] = &[
    "EBS",
    "EFS",
    "DynamoDB",
    "Timestream",
    "CloudFormation",
    "SAP HANA on Amazon EC2",
    "VirtualMachine",
];

pub fn supports_cold_storage(resource_type: &str) -> bool {
    COLD_STORAGE_TYPES.contains(&resource_type)
}

/// A recovery point's lifecycle in days from its creation; `None` means never.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    pub move_to_cold_storage_after_days: Option<i64>,
    pub delete_after_days: Option<i64>,
    /// AWS Backup's `OptInToArchiveForSupportedResources`: resources that support it move to
    /// their archive (cold) tier by this lifecycle (API Reference, `Lifecycle`). Kept when a copy
    /// inherits its source's lifecycle, so the copy is tiered as its source is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_in_to_archive_for_supported_resources: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("days must be at least 1 (got {0})")]
    NotPositive(i64),
    #[error(
        "delete_after_days ({delete}) must be at least {COLD_STORAGE_MINIMUM_DAYS} days after move_to_cold_storage_after_days ({cold}), i.e. {}",
        cold + COLD_STORAGE_MINIMUM_DAYS
    )]
    TooShortInColdStorage { cold: i64, delete: i64 },
}

impl Lifecycle {
    pub fn delete_after(days: i64) -> Lifecycle {
        Lifecycle {
            delete_after_days: Some(days),
            ..Lifecycle::default()
        }
    }

    /// The checks that hold for every resource type.
    pub fn validate(&self) -> Result<(), LifecycleError> {
        for days in [self.move_to_cold_storage_after_days, self.delete_after_days]
            .into_iter()
            .flatten()
        {
            if days < 1 {
                return Err(LifecycleError::NotPositive(days));
            }
        }
        if let (Some(cold), Some(delete)) = (self.move_to_cold_storage_after_days, self.delete_after_days)
            && delete < cold + COLD_STORAGE_MINIMUM_DAYS
        {
            return Err(LifecycleError::TooShortInColdStorage { cold, delete });
        }
        Ok(())
    }

    /// The lifecycle as AWS Backup applies it to one resource type: without the move to cold
    /// storage where the type has none (AWS Backup ignores it there).
    pub fn effective_for(&self, resource_type: &str) -> Lifecycle {
        let mut effective = *self;
        if !supports_cold_storage(resource_type) {
            effective.move_to_cold_storage_after_days = None;
        }
        effective
    }
}

/// Where a copy's lifecycle came from, for the log and the copy event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleSource {
    Route,
    SourceRecoveryPoint,
}

/// The lifecycle for a copy: the route's own, or else the source recovery point's, so a copy
/// never gets unbounded retention unless its source has it too. A move to cold storage is
/// dropped for types without cold storage, which AWS Backup would ignore anyway.
pub fn for_copy(
    route: Option<&Lifecycle>,
    source: &Lifecycle,
    resource_type: &str,
) -> Result<(Lifecycle, LifecycleSource), LifecycleError> {
    let (lifecycle, from) = match route {
        Some(route) => (route.effective_for(resource_type), LifecycleSource::Route),
        None => (
            source.effective_for(resource_type),
            LifecycleSource::SourceRecoveryPoint,
        ),
    };
    lifecycle.validate()?;
    Ok((lifecycle, from))
}

/// The shorter lifecycle for a source recovery point once its copies exist: delete after `days`,
/// but not before its cold-storage minimum. `None` when it already goes at least that soon.
pub fn shortened(current: &Lifecycle, days: i64) -> Option<Lifecycle> {
    let floor = current
        .move_to_cold_storage_after_days
        .map_or(days, |cold| days.max(cold + COLD_STORAGE_MINIMUM_DAYS));
    match current.delete_after_days {
        Some(existing) if existing <= floor => None,
        _ => Some(Lifecycle {
            delete_after_days: Some(floor),
            ..*current
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifecycle(cold: Option<i64>, delete: Option<i64>) -> Lifecycle {
        Lifecycle {
            move_to_cold_storage_after_days: cold,
            delete_after_days: delete,
            ..Lifecycle::default()
        }
    }

    #[test]
    fn delete_must_be_ninety_days_after_the_move_to_cold_storage() {
        assert_eq!(lifecycle(Some(30), Some(120)).validate(), Ok(()));
        let e = lifecycle(Some(30), Some(119)).validate().unwrap_err();
        assert_eq!(e, LifecycleError::TooShortInColdStorage { cold: 30, delete: 119 });
        assert!(e.to_string().contains("120"), "{e}");
        assert_eq!(lifecycle(None, Some(0)).validate(), Err(LifecycleError::NotPositive(0)));
    }

    #[test]
    fn a_move_to_cold_storage_applies_only_where_the_type_has_cold_storage() {
        let cold = lifecycle(Some(30), Some(365));
        assert_eq!(cold.effective_for("EBS"), cold);
        assert_eq!(cold.effective_for("EFS"), cold);
        assert_eq!(cold.effective_for("RDS"), lifecycle(None, Some(365)));
    }

    #[test]
    fn a_route_without_lifecycle_inherits_the_source() {
        let source = lifecycle(None, Some(35));
        assert_eq!(
            for_copy(None, &source, "EBS").unwrap(),
            (source, LifecycleSource::SourceRecoveryPoint)
        );
        let route = lifecycle(None, Some(365));
        assert_eq!(
            for_copy(Some(&route), &source, "EBS").unwrap(),
            (route, LifecycleSource::Route)
        );
    }

    #[test]
    fn an_inherited_cold_move_is_dropped_where_the_type_has_no_cold_storage() {
        // A source with cold storage cannot exist for RDS, but the point of the rule is that the
        // copy request stays valid whatever the source says.
        let source = lifecycle(Some(30), Some(365));
        let (copy, _) = for_copy(None, &source, "RDS").unwrap();
        assert_eq!(copy, lifecycle(None, Some(365)));
    }

    #[test]
    fn a_route_asking_cold_storage_copies_rds_without_the_move() {
        // API Reference, `Lifecycle`: AWS Backup ignores MoveToColdStorageAfterDays for types
        // without cold storage; the route is not refused for it.
        let route = lifecycle(Some(30), Some(365));
        assert_eq!(
            for_copy(Some(&route), &Lifecycle::default(), "RDS").unwrap(),
            (lifecycle(None, Some(365)), LifecycleSource::Route)
        );
        assert_eq!(for_copy(Some(&route), &Lifecycle::default(), "EBS").unwrap().0, route);
    }

    #[test]
    fn shortening_respects_the_cold_storage_minimum_and_never_lengthens() {
        assert_eq!(shortened(&lifecycle(None, Some(35)), 7), Some(lifecycle(None, Some(7))));
        assert_eq!(shortened(&lifecycle(None, None), 7), Some(lifecycle(None, Some(7))));
        assert_eq!(shortened(&lifecycle(None, Some(5)), 7), None, "already shorter");
        assert_eq!(shortened(&lifecycle(None, Some(7)), 7), None, "already equal");
        assert_eq!(
            shortened(&lifecycle(Some(10), Some(365)), 7),
            Some(lifecycle(Some(10), Some(100))),
            "10 days + 90 in cold storage"
        );
        assert_eq!(shortened(&lifecycle(Some(10), Some(100)), 7), None);
    }

    #[test]
    fn the_opt_in_to_archive_is_kept_when_a_copy_inherits_and_when_the_source_is_shortened() {
        let source = Lifecycle {
            opt_in_to_archive_for_supported_resources: Some(true),
            ..lifecycle(Some(30), Some(365))
        };
        let (copy, from) = for_copy(None, &source, "S3").unwrap();
        assert_eq!(from, LifecycleSource::SourceRecoveryPoint);
        assert_eq!(copy.opt_in_to_archive_for_supported_resources, Some(true));
        let shorter = shortened(&source, 7).unwrap();
        assert_eq!(shorter.opt_in_to_archive_for_supported_resources, Some(true));
        assert_eq!(shorter.delete_after_days, Some(120));
    }
}

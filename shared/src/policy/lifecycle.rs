//! AWS Backup's lifecycle rules for a copy: cold storage only for the resource types that
//! support it, at least 90 days there, and never unbounded retention by accident.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Days a recovery point must stay in cold storage before it may be deleted.
pub const COLD_STORAGE_MINIMUM_DAYS: i64 = 90;

/// Resource types whose recovery points can move to cold storage (AWS Backup's "Feature
/// availability by resource" table); for the others a move is rejected by StartCopyJob.
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
    #[error("{0} recovery points cannot move to cold storage")]
    NoColdStorage(String),
}

impl Lifecycle {
    pub fn delete_after(days: i64) -> Lifecycle {
        Lifecycle {
            move_to_cold_storage_after_days: None,
            delete_after_days: Some(days),
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

    /// The checks for one resource type.
    pub fn validate_for(&self, resource_type: &str) -> Result<(), LifecycleError> {
        self.validate()?;
        if self.move_to_cold_storage_after_days.is_some() && !supports_cold_storage(resource_type) {
            return Err(LifecycleError::NoColdStorage(resource_type.to_string()));
        }
        Ok(())
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
/// dropped for types without cold storage (the source's may be set where the copy's cannot).
pub fn for_copy(
    route: Option<&Lifecycle>,
    source: &Lifecycle,
    resource_type: &str,
) -> Result<(Lifecycle, LifecycleSource), LifecycleError> {
    let (mut lifecycle, from) = match route {
        Some(route) => (*route, LifecycleSource::Route),
        None => (*source, LifecycleSource::SourceRecoveryPoint),
    };
    if from == LifecycleSource::SourceRecoveryPoint && !supports_cold_storage(resource_type) {
        lifecycle.move_to_cold_storage_after_days = None;
    }
    lifecycle.validate_for(resource_type)?;
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
            move_to_cold_storage_after_days: current.move_to_cold_storage_after_days,
            delete_after_days: Some(floor),
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
    fn cold_storage_only_for_types_that_support_it() {
        let cold = lifecycle(Some(30), Some(365));
        assert_eq!(cold.validate_for("EBS"), Ok(()));
        assert_eq!(cold.validate_for("EFS"), Ok(()));
        assert_eq!(
            cold.validate_for("RDS"),
            Err(LifecycleError::NoColdStorage("RDS".into()))
        );
        assert_eq!(lifecycle(None, Some(35)).validate_for("RDS"), Ok(()));
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
    fn a_route_asking_cold_storage_for_rds_is_refused() {
        let route = lifecycle(Some(30), Some(365));
        assert!(for_copy(Some(&route), &Lifecycle::default(), "RDS").is_err());
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
}

//! How a restored resource is shown usable, per AWS Backup resource type, and the judgement
//! over what was observed. Pure: the reads are in [`crate::probe`].
//!
//! | type     | reads                               | usable when                                      |
//! |----------|-------------------------------------|--------------------------------------------------|
//! | DynamoDB | DescribeTable, one Scan page        | `TableStatus` ACTIVE and the page has items       |
//! | EBS      | DescribeVolumes (restored, source)  | `State` available and the source volume's size    |
//! | RDS      | DescribeDBInstances                 | `DBInstanceStatus` available                      |
//! | others   | none                                | not validated: no result is put                   |

use rearguard::arn::Arn;

/// What to read to validate a restored resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    DynamoDbTable {
        table: String,
    },
    EbsVolume {
        volume_id: String,
        source_volume_id: Option<String>,
    },
    RdsInstance {
        identifier: String,
    },
    /// No validation for this type (or the restored resource's ARN does not say what it is).
    Unsupported {
        reason: String,
    },
}

/// The resource name after `kind/` or `kind:` in an ARN of `service`.
fn name_in<'a>(arn: &'a str, service: &str, kind: &str) -> Option<&'a str> {
    let parsed = Arn::parse(arn).filter(|a| a.service == service)?;
    let rest = parsed.resource.strip_prefix(kind)?;
    let name = rest.strip_prefix(['/', ':'])?;
    Some(name.split('/').next().unwrap_or(name)).filter(|n| !n.is_empty())
}

pub fn check_for(resource_type: &str, created_arn: &str, source_arn: Option<&str>) -> Check {
    let unreadable = || Check::Unsupported {
        reason: format!("the restored {resource_type} resource's ARN {created_arn:?} does not name it"),
    };
    match resource_type {
        "DynamoDB" => name_in(created_arn, "dynamodb", "table")
            .map(|t| Check::DynamoDbTable { table: t.into() })
            .unwrap_or_else(unreadable),
        "EBS" => name_in(created_arn, "ec2", "volume")
            .map(|v| Check::EbsVolume {
                volume_id: v.into(),
                source_volume_id: source_arn.and_then(|s| name_in(s, "ec2", "volume")).map(str::to_string),
            })
            .unwrap_or_else(unreadable),
        "RDS" => name_in(created_arn, "rds", "db")
            .map(|d| Check::RdsInstance { identifier: d.into() })
            .unwrap_or_else(unreadable),
        other => Check::Unsupported {
            reason: format!("no validation for type {other}"),
        },
    }
}

/// What the reads found.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Table {
        status: String,
        items_in_first_page: usize,
    },
    Volume {
        state: String,
        size_gib: Option<i32>,
        source_size_gib: Option<i32>,
    },
    Instance {
        status: String,
    },
    /// The restored resource does not exist.
    Missing,
}

/// The verdict on a restored resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Usable; the evidence, for the validation message.
    Usable(String),
    /// Not usable; the reason, for the validation message and the alert.
    Unusable(String),
}

pub fn judge(check: &Check, observed: &Observation) -> Outcome {
    use Outcome::{Unusable, Usable};
    match (check, observed) {
        (Check::Unsupported { reason }, _) => Unusable(reason.clone()),
        (_, Observation::Missing) => Unusable("the restored resource does not exist".into()),
        // "DescribeTable": TableStatus ACTIVE means "the table is ready for use".
        (Check::DynamoDbTable { table }, Observation::Table { status, .. }) if status != "ACTIVE" => {
            Unusable(format!("table {table} is {status}, not ACTIVE"))
        }
        (
            Check::DynamoDbTable { table },
            Observation::Table {
                items_in_first_page: 0, ..
            },
        ) => Unusable(format!("table {table} is ACTIVE but empty: a Scan found no items")),
        (
            Check::DynamoDbTable { table },
            Observation::Table {
                items_in_first_page, ..
            },
        ) => Usable(format!(
            "table {table} is ACTIVE and a Scan read {items_in_first_page} item(s)"
        )),
        // "DescribeVolumes": State available means the volume can be attached.
        (Check::EbsVolume { volume_id, .. }, Observation::Volume { state, .. }) if state != "available" => {
            Unusable(format!("volume {volume_id} is {state}, not available"))
        }
        (
            Check::EbsVolume { volume_id, .. },
            Observation::Volume {
                size_gib: Some(size),
                source_size_gib: Some(source),
                ..
            },
        ) if size != source => Unusable(format!("volume {volume_id} has {size} GiB, its source {source} GiB")),
        (
            Check::EbsVolume { volume_id, .. },
            Observation::Volume {
                size_gib,
                source_size_gib,
                ..
            },
        ) => Usable(match (size_gib, source_size_gib) {
            (Some(size), Some(_)) => format!("volume {volume_id} is available with its source's {size} GiB"),
            (Some(size), None) => {
                format!("volume {volume_id} is available with {size} GiB (the source volume is gone)")
            }
            _ => format!("volume {volume_id} is available"),
        }),
        // "Viewing Amazon RDS DB instance status": available is the only status that serves.
        (Check::RdsInstance { identifier }, Observation::Instance { status }) if status != "available" => {
            Unusable(format!("DB instance {identifier} is {status}, not available"))
        }
        (Check::RdsInstance { identifier }, Observation::Instance { .. }) => {
            Usable(format!("DB instance {identifier} is available"))
        }
        (check, observed) => Unusable(format!("read {observed:?} for {check:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "arn:aws:dynamodb:eu-west-1:111122223333:table/awsbackup-restore-test-1";

    fn table(status: &str, items: usize) -> Observation {
        Observation::Table {
            status: status.into(),
            items_in_first_page: items,
        }
    }

    #[test]
    fn each_type_is_checked_by_its_restored_resource() {
        assert_eq!(
            check_for("DynamoDB", TABLE, None),
            Check::DynamoDbTable {
                table: "awsbackup-restore-test-1".into()
            }
        );
        assert_eq!(
            check_for(
                "EBS",
                "arn:aws:ec2:eu-west-1:111122223333:volume/vol-2",
                Some("arn:aws:ec2:eu-west-1:111122223333:volume/vol-1")
            ),
            Check::EbsVolume {
                volume_id: "vol-2".into(),
                source_volume_id: Some("vol-1".into())
            }
        );
        assert_eq!(
            check_for("RDS", "arn:aws:rds:eu-west-1:111122223333:db:restored-1", None),
            Check::RdsInstance {
                identifier: "restored-1".into()
            }
        );
    }

    #[test]
    fn a_type_without_a_validation_is_named() {
        let check = check_for(
            "EFS",
            "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-1",
            None,
        );
        assert_eq!(
            check,
            Check::Unsupported {
                reason: "no validation for type EFS".into()
            }
        );
        assert!(matches!(
            check_for("DynamoDB", "not-an-arn", None),
            Check::Unsupported { .. }
        ));
    }

    #[test]
    fn an_active_table_with_items_is_usable() {
        let check = check_for("DynamoDB", TABLE, None);
        assert!(matches!(judge(&check, &table("ACTIVE", 3)), Outcome::Usable(m) if m.contains("3 item")));
    }

    #[test]
    fn an_empty_or_unready_table_is_not() {
        let check = check_for("DynamoDB", TABLE, None);
        assert_eq!(
            judge(&check, &table("ACTIVE", 0)),
            Outcome::Unusable("table awsbackup-restore-test-1 is ACTIVE but empty: a Scan found no items".into())
        );
        assert!(matches!(judge(&check, &table("CREATING", 5)), Outcome::Unusable(m) if m.contains("CREATING")));
        assert!(matches!(judge(&check, &Observation::Missing), Outcome::Unusable(_)));
    }

    #[test]
    fn a_volume_must_be_available_with_its_sources_size() {
        let check = Check::EbsVolume {
            volume_id: "vol-2".into(),
            source_volume_id: Some("vol-1".into()),
        };
        let volume = |state: &str, size, source| Observation::Volume {
            state: state.into(),
            size_gib: Some(size),
            source_size_gib: source,
        };
        assert!(matches!(
            judge(&check, &volume("available", 8, Some(8))),
            Outcome::Usable(_)
        ));
        assert!(matches!(judge(&check, &volume("available", 8, None)), Outcome::Usable(m) if m.contains("gone")));
        assert!(matches!(judge(&check, &volume("available", 4, Some(8))), Outcome::Unusable(m) if m.contains("4 GiB")));
        assert!(matches!(
            judge(&check, &volume("creating", 8, Some(8))),
            Outcome::Unusable(_)
        ));
    }

    #[test]
    fn a_db_instance_must_be_available() {
        let check = Check::RdsInstance {
            identifier: "db-1".into(),
        };
        assert!(matches!(
            judge(
                &check,
                &Observation::Instance {
                    status: "available".into()
                }
            ),
            Outcome::Usable(_)
        ));
        assert!(matches!(
            judge(&check, &Observation::Instance { status: "storage-full".into() }),
            Outcome::Unusable(m) if m.contains("storage-full")
        ));
    }
}

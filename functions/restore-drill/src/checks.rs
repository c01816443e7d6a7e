//! How a restored resource is shown usable, per AWS Backup resource type, and the judgement
//! over what was observed. Pure: the reads are in [`crate::probe`].
//!
//! | type     | reads                                   | usable when                                           |
//! |----------|-----------------------------------------|-------------------------------------------------------|
//! | DynamoDB | DescribeTable, one Scan page            | `TableStatus` ACTIVE and the page has items            |
//! | EBS      | DescribeVolumes (restored, source)      | `State` available and the source volume's size         |
//! | RDS      | DescribeDBInstances (restored, source)  | `DBInstanceStatus` available, the source's engine, allocated storage and storage type |
//! | Aurora   | DescribeDBClusters (restored, source)   | `Status` available and the source's engine             |
//! | EC2      | DescribeInstanceStatus                  | `InstanceState` running, instance and system status ok |
//! | EFS      | DescribeFileSystems                     | `LifeCycleState` available                             |
//! | S3       | ListObjectsV2, one key                  | the bucket holds an object                             |
//! | others   | none                                    | not validated: no result is put                        |
//!
//! A source that no longer exists (restore tests also restore backups of deleted resources)
//! leaves nothing to compare with: the restored resource is judged on its own and the message
//! says so.

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
        source_identifier: Option<String>,
    },
    AuroraCluster {
        identifier: String,
        source_identifier: Option<String>,
    },
    Ec2Instance {
        instance_id: String,
    },
    EfsFileSystem {
        file_system_id: String,
    },
    S3Bucket {
        bucket: String,
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

/// The bucket of an S3 bucket ARN (`arn:aws:s3:::bucket`: no Region, no account, no kind).
fn bucket_in(arn: &str) -> Option<&str> {
    let parsed = Arn::parse(arn).filter(|a| a.service == "s3")?;
    Some(parsed.resource).filter(|b| !b.is_empty() && !b.contains('/'))
}

pub fn check_for(resource_type: &str, created_arn: &str, source_arn: Option<&str>) -> Check {
    let unreadable = || Check::Unsupported {
        reason: format!("the restored {resource_type} resource's ARN {created_arn:?} does not name it"),
    };
    let source_in = |service, kind| source_arn.and_then(|s| name_in(s, service, kind)).map(str::to_string);
    match resource_type {
        "DynamoDB" => name_in(created_arn, "dynamodb", "table")
            .map(|t| Check::DynamoDbTable { table: t.into() })
            .unwrap_or_else(unreadable),
        "EBS" => name_in(created_arn, "ec2", "volume")
            .map(|v| Check::EbsVolume {
                volume_id: v.into(),
                source_volume_id: source_in("ec2", "volume"),
            })
            .unwrap_or_else(unreadable),
        "RDS" => name_in(created_arn, "rds", "db")
            .map(|d| Check::RdsInstance {
                identifier: d.into(),
                source_identifier: source_in("rds", "db"),
            })
            .unwrap_or_else(unreadable),
        "Aurora" => name_in(created_arn, "rds", "cluster")
            .map(|c| Check::AuroraCluster {
                identifier: c.into(),
                source_identifier: source_in("rds", "cluster"),
            })
            .unwrap_or_else(unreadable),
        "EC2" => name_in(created_arn, "ec2", "instance")
            .map(|i| Check::Ec2Instance { instance_id: i.into() })
            .unwrap_or_else(unreadable),
        "EFS" => name_in(created_arn, "elasticfilesystem", "file-system")
            .map(|f| Check::EfsFileSystem {
                file_system_id: f.into(),
            })
            .unwrap_or_else(unreadable),
        "S3" => bucket_in(created_arn)
            .map(|b| Check::S3Bucket { bucket: b.into() })
            .unwrap_or_else(unreadable),
        other => Check::Unsupported {
            reason: format!("no validation for type {other}"),
        },
    }
}

/// What a DB instance is made of, as DescribeDBInstances reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbShape {
    pub engine: String,
    pub allocated_gib: Option<i32>,
    pub storage_type: Option<String>,
}

/// How the restored DB instance differs from its source, said for a person (empty: it does not).
pub fn db_differences(identifier: &str, restored: &DbShape, source: &DbShape) -> Vec<String> {
    let mut differences = Vec::new();
    if !restored.engine.eq_ignore_ascii_case(&source.engine) {
        differences.push(format!(
            "DB instance {identifier} runs {}, its source {}",
            restored.engine, source.engine
        ));
    }
    if let (Some(restored_gib), Some(source_gib)) = (restored.allocated_gib, source.allocated_gib)
        && restored_gib != source_gib
    {
        differences.push(format!(
            "DB instance {identifier} has {restored_gib} GiB allocated, its source {source_gib} GiB"
        ));
    }
    if let (Some(restored_type), Some(source_type)) = (&restored.storage_type, &source.storage_type)
        && !restored_type.eq_ignore_ascii_case(source_type)
    {
        differences.push(format!(
            "DB instance {identifier} has {restored_type} storage, its source {source_type}"
        ));
    }
    differences
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
        shape: DbShape,
        /// The source instance's shape; None when the source is gone.
        source: Option<DbShape>,
    },
    Cluster {
        status: String,
        engine: String,
        /// None when the source cluster is gone.
        source_engine: Option<String>,
    },
    Ec2 {
        state: String,
        /// `InstanceStatus.Status` and `SystemStatus.Status` (ok, impaired, initializing, ...).
        instance_status: Option<String>,
        system_status: Option<String>,
    },
    FileSystem {
        life_cycle_state: String,
    },
    Bucket {
        has_objects: bool,
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

/// What a restored resource that is still coming up is doing, or `None` when it has settled
/// (usable or not). AWS Backup ends a restore job when the resource exists, not when it serves:
/// an EC2 instance's status checks read `initializing` for its first minutes ("Status checks for
/// Amazon EC2 instances"), and an RDS instance often goes from creating to backing-up before it is
/// available ("Viewing Amazon RDS DB instance status"). Judged at once, those would fail a sound
/// restore; the handler waits for them within its invocation.
pub fn settling(observed: &Observation) -> Option<String> {
    let status = |what: &str, status: &str| Some(format!("{what} is {status}"));
    match observed {
        Observation::Table { status: s, .. } if matches!(s.as_str(), "CREATING" | "UPDATING") => status("the table", s),
        Observation::Volume { state, .. } if state == "creating" => status("the volume", state),
        Observation::Instance { status: s, .. }
            if matches!(
                s.as_str(),
                "creating"
                    | "backing-up"
                    | "modifying"
                    | "configuring-enhanced-monitoring"
                    | "configuring-log-exports"
                    | "configuring-iam-database-auth"
                    | "storage-optimization"
                    | "rebooting"
                    | "starting"
            ) =>
        {
            status("the DB instance", s)
        }
        Observation::Cluster { status: s, .. } if matches!(s.as_str(), "creating" | "backing-up" | "modifying") => {
            status("the DB cluster", s)
        }
        Observation::Ec2 { state, .. } if state == "pending" => status("the instance", state),
        Observation::Ec2 {
            state,
            instance_status,
            system_status,
        } if state == "running"
            && [instance_status, system_status]
                .iter()
                .any(|s| s.as_deref().is_none_or(|s| s == "initializing")) =>
        {
            Some("the instance's status checks are initializing".into())
        }
        Observation::FileSystem { life_cycle_state } if life_cycle_state == "creating" => {
            status("the file system", life_cycle_state)
        }
        _ => None,
    }
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
        (Check::RdsInstance { identifier, .. }, Observation::Instance { status, .. }) if status != "available" => {
            Unusable(format!("DB instance {identifier} is {status}, not available"))
        }
        (Check::RdsInstance { identifier, .. }, Observation::Instance { shape, source, .. }) => match source {
            Some(source) => {
                let differences = db_differences(identifier, shape, source);
                if differences.is_empty() {
                    Usable(format!(
                        "DB instance {identifier} is available with its source's engine {} and storage ({})",
                        shape.engine,
                        storage_words(shape)
                    ))
                } else {
                    Unusable(differences.join("; "))
                }
            }
            None => Usable(format!(
                "DB instance {identifier} is available with engine {} (the source instance is gone)",
                shape.engine
            )),
        },
        // "Viewing the status of an Aurora DB cluster": available is the cluster serving.
        (Check::AuroraCluster { identifier, .. }, Observation::Cluster { status, .. }) if status != "available" => {
            Unusable(format!("DB cluster {identifier} is {status}, not available"))
        }
        (
            Check::AuroraCluster { identifier, .. },
            Observation::Cluster {
                engine,
                source_engine: Some(source),
                ..
            },
        ) if !engine.eq_ignore_ascii_case(source) => {
            Unusable(format!("DB cluster {identifier} runs {engine}, its source {source}"))
        }
        (
            Check::AuroraCluster { identifier, .. },
            Observation::Cluster {
                engine, source_engine, ..
            },
        ) => Usable(match source_engine {
            Some(_) => format!("DB cluster {identifier} is available with its source's engine {engine}"),
            None => format!("DB cluster {identifier} is available with engine {engine} (the source cluster is gone)"),
        }),
        // "DescribeInstanceStatus": an instance passes its status checks when both its instance
        // status and its system status are ok.
        (Check::Ec2Instance { instance_id }, Observation::Ec2 { state, .. }) if state != "running" => {
            Unusable(format!("instance {instance_id} is {state}, not running"))
        }
        (
            Check::Ec2Instance { instance_id },
            Observation::Ec2 {
                instance_status,
                system_status,
                ..
            },
        ) => {
            let words = |s: &Option<String>| s.clone().unwrap_or_else(|| "unknown".into());
            if instance_status.as_deref() == Some("ok") && system_status.as_deref() == Some("ok") {
                Usable(format!(
                    "instance {instance_id} is running and passed its status checks"
                ))
            } else {
                Unusable(format!(
                    "instance {instance_id} is running but its status checks did not pass (instance {}, system {})",
                    words(instance_status),
                    words(system_status)
                ))
            }
        }
        // "DescribeFileSystems": LifeCycleState available means the file system can be mounted.
        (Check::EfsFileSystem { file_system_id }, Observation::FileSystem { life_cycle_state }) => {
            if life_cycle_state == "available" {
                Usable(format!("file system {file_system_id} is available"))
            } else {
                Unusable(format!(
                    "file system {file_system_id} is {life_cycle_state}, not available"
                ))
            }
        }
        (Check::S3Bucket { bucket }, Observation::Bucket { has_objects: true }) => Usable(format!(
            "bucket {bucket} holds the restored objects (ListObjectsV2 read a key)"
        )),
        (Check::S3Bucket { bucket }, Observation::Bucket { has_objects: false }) => {
            Unusable(format!("bucket {bucket} is empty: ListObjectsV2 found no object"))
        }
        (check, observed) => Unusable(format!("read {observed:?} for {check:?}")),
    }
}

fn storage_words(shape: &DbShape) -> String {
    match (shape.allocated_gib, &shape.storage_type) {
        (Some(gib), Some(kind)) => format!("{gib} GiB {kind}"),
        (Some(gib), None) => format!("{gib} GiB"),
        (None, Some(kind)) => kind.clone(),
        (None, None) => "as reported".into(),
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
                identifier: "restored-1".into(),
                source_identifier: None,
            }
        );
        assert_eq!(
            check_for(
                "Aurora",
                "arn:aws:rds:eu-west-1:111122223333:cluster:awsbackup-restore-test-1",
                Some("arn:aws:rds:eu-west-1:111122223333:cluster:orders-cluster")
            ),
            Check::AuroraCluster {
                identifier: "awsbackup-restore-test-1".into(),
                source_identifier: Some("orders-cluster".into()),
            }
        );
        assert_eq!(
            check_for("EC2", "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", None),
            Check::Ec2Instance {
                instance_id: "i-0abc".into()
            }
        );
        assert_eq!(
            check_for(
                "EFS",
                "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-1",
                None
            ),
            Check::EfsFileSystem {
                file_system_id: "fs-1".into()
            }
        );
        assert_eq!(
            check_for(
                "S3",
                "arn:aws:s3:::awsbackup-restore-test-1",
                Some("arn:aws:s3:::orders")
            ),
            Check::S3Bucket {
                bucket: "awsbackup-restore-test-1".into()
            }
        );
    }

    #[test]
    fn a_type_without_a_validation_is_named() {
        let check = check_for(
            "FSx",
            "arn:aws:fsx:eu-west-1:111122223333:file-system/fs-0123456789abcdef0",
            None,
        );
        assert_eq!(
            check,
            Check::Unsupported {
                reason: "no validation for type FSx".into()
            }
        );
        assert!(matches!(
            check_for("DynamoDB", "not-an-arn", None),
            Check::Unsupported { .. }
        ));
        // An object ARN is not a bucket, and an RDS instance ARN is not an Aurora cluster.
        assert!(matches!(
            check_for("S3", "arn:aws:s3:::bucket/key", None),
            Check::Unsupported { .. }
        ));
        assert!(matches!(
            check_for("Aurora", "arn:aws:rds:eu-west-1:111122223333:db:one", None),
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

    fn postgres(gib: i32, kind: &str) -> DbShape {
        DbShape {
            engine: "postgres".into(),
            allocated_gib: Some(gib),
            storage_type: Some(kind.into()),
        }
    }

    fn db_check() -> Check {
        Check::RdsInstance {
            identifier: "db-1".into(),
            source_identifier: Some("orders-db".into()),
        }
    }

    fn instance(status: &str, shape: DbShape, source: Option<DbShape>) -> Observation {
        Observation::Instance {
            status: status.into(),
            shape,
            source,
        }
    }

    #[test]
    fn a_db_instance_must_be_available() {
        assert!(matches!(
            judge(&db_check(), &instance("available", postgres(20, "gp3"), Some(postgres(20, "gp3")))),
            Outcome::Usable(m) if m.contains("engine postgres") && m.contains("20 GiB gp3")
        ));
        assert!(matches!(
            judge(&db_check(), &instance("storage-full", postgres(20, "gp3"), Some(postgres(20, "gp3")))),
            Outcome::Unusable(m) if m.contains("storage-full")
        ));
    }

    #[test]
    fn a_db_instance_with_another_engine_or_storage_than_its_source_is_not_usable() {
        let mysql = DbShape {
            engine: "mysql".into(),
            ..postgres(20, "gp3")
        };
        assert_eq!(
            judge(&db_check(), &instance("available", mysql, Some(postgres(20, "gp3")))),
            Outcome::Unusable("DB instance db-1 runs mysql, its source postgres".into())
        );
        assert_eq!(
            judge(&db_check(), &instance("available", postgres(10, "gp2"), Some(postgres(20, "gp3")))),
            Outcome::Unusable(
                "DB instance db-1 has 10 GiB allocated, its source 20 GiB; DB instance db-1 has gp2 storage, its source gp3"
                    .into()
            )
        );
    }

    #[test]
    fn db_differences_compare_only_what_both_report() {
        let unknown = DbShape {
            engine: "Postgres".into(),
            allocated_gib: None,
            storage_type: None,
        };
        assert!(db_differences("db-1", &unknown, &postgres(20, "gp3")).is_empty());
        assert!(db_differences("db-1", &postgres(20, "GP3"), &postgres(20, "gp3")).is_empty());
    }

    #[test]
    fn a_db_instance_whose_source_is_gone_is_judged_on_its_own() {
        assert!(matches!(
            judge(&db_check(), &instance("available", postgres(20, "gp3"), None)),
            Outcome::Usable(m) if m.contains("source instance is gone")
        ));
    }

    #[test]
    fn an_aurora_cluster_must_be_available_with_its_sources_engine() {
        let check = Check::AuroraCluster {
            identifier: "c-2".into(),
            source_identifier: Some("c-1".into()),
        };
        let cluster = |status: &str, engine: &str, source: Option<&str>| Observation::Cluster {
            status: status.into(),
            engine: engine.into(),
            source_engine: source.map(str::to_string),
        };
        assert!(matches!(
            judge(&check, &cluster("available", "aurora-postgresql", Some("aurora-postgresql"))),
            Outcome::Usable(m) if m.contains("aurora-postgresql")
        ));
        assert_eq!(
            judge(&check, &cluster("available", "aurora-mysql", Some("aurora-postgresql"))),
            Outcome::Unusable("DB cluster c-2 runs aurora-mysql, its source aurora-postgresql".into())
        );
        assert_eq!(
            judge(
                &check,
                &cluster("creating", "aurora-postgresql", Some("aurora-postgresql"))
            ),
            Outcome::Unusable("DB cluster c-2 is creating, not available".into())
        );
        assert!(matches!(
            judge(&check, &cluster("available", "aurora-postgresql", None)),
            Outcome::Usable(m) if m.contains("gone")
        ));
    }

    #[test]
    fn resources_still_coming_up_are_settling_and_settled_ones_are_not() {
        let ec2 = |state: &str, instance: Option<&str>, system: Option<&str>| Observation::Ec2 {
            state: state.into(),
            instance_status: instance.map(str::to_string),
            system_status: system.map(str::to_string),
        };
        assert!(settling(&ec2("pending", None, None)).is_some());
        assert!(settling(&ec2("running", Some("initializing"), Some("ok"))).is_some());
        assert!(settling(&ec2("running", Some("ok"), None)).is_some());
        assert_eq!(settling(&ec2("running", Some("ok"), Some("ok"))), None);
        assert_eq!(settling(&ec2("running", Some("impaired"), Some("ok"))), None);
        assert_eq!(settling(&ec2("stopped", None, None)), None);
        let fs = |s: &str| Observation::FileSystem {
            life_cycle_state: s.into(),
        };
        assert_eq!(
            settling(&fs("creating")).as_deref(),
            Some("the file system is creating")
        );
        assert_eq!(settling(&fs("error")), None);
        assert_eq!(settling(&Observation::Missing), None);
        let table = |s: &str| Observation::Table {
            status: s.into(),
            items_in_first_page: 0,
        };
        assert!(settling(&table("CREATING")).is_some());
        assert_eq!(settling(&table("ACTIVE")), None);
    }

    #[test]
    fn an_ec2_instance_must_run_and_pass_both_status_checks() {
        let check = Check::Ec2Instance {
            instance_id: "i-1".into(),
        };
        let ec2 = |state: &str, instance: Option<&str>, system: Option<&str>| Observation::Ec2 {
            state: state.into(),
            instance_status: instance.map(str::to_string),
            system_status: system.map(str::to_string),
        };
        assert!(matches!(
            judge(&check, &ec2("running", Some("ok"), Some("ok"))),
            Outcome::Usable(_)
        ));
        assert_eq!(
            judge(&check, &ec2("running", Some("impaired"), Some("ok"))),
            Outcome::Unusable(
                "instance i-1 is running but its status checks did not pass (instance impaired, system ok)".into()
            )
        );
        assert!(matches!(
            judge(&check, &ec2("running", Some("ok"), None)),
            Outcome::Unusable(m) if m.contains("system unknown")
        ));
        assert_eq!(
            judge(&check, &ec2("stopped", Some("ok"), Some("ok"))),
            Outcome::Unusable("instance i-1 is stopped, not running".into())
        );
    }

    #[test]
    fn a_file_system_must_be_available() {
        let check = Check::EfsFileSystem {
            file_system_id: "fs-1".into(),
        };
        let fs = |state: &str| Observation::FileSystem {
            life_cycle_state: state.into(),
        };
        assert!(matches!(judge(&check, &fs("available")), Outcome::Usable(_)));
        assert_eq!(
            judge(&check, &fs("creating")),
            Outcome::Unusable("file system fs-1 is creating, not available".into())
        );
    }

    #[test]
    fn a_bucket_must_hold_an_object() {
        let check = Check::S3Bucket { bucket: "b".into() };
        assert!(matches!(
            judge(&check, &Observation::Bucket { has_objects: true }),
            Outcome::Usable(_)
        ));
        assert_eq!(
            judge(&check, &Observation::Bucket { has_objects: false }),
            Outcome::Unusable("bucket b is empty: ListObjectsV2 found no object".into())
        );
        assert_eq!(
            judge(&check, &Observation::Missing),
            Outcome::Unusable("the restored resource does not exist".into())
        );
    }
}

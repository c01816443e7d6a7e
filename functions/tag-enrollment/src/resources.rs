//! Which resources a CloudTrail creation call made, with their ARNs (most creation events carry
//! none: they are built from ids), their AWS Backup resource type, and the tags the event
//! already shows. Pure.

use rearguard::cloudtrail::{ApiCall, tag_list};
use serde_json::Value;
use std::collections::BTreeMap;

/// A resource to check against the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResource {
    pub arn: String,
    /// AWS Backup's resource type: EC2, EBS, RDS, Aurora, DocumentDB, Neptune, DynamoDB, EFS, S3.
    pub backup_type: &'static str,
    /// Tags seen in the event; `None` when the event cannot show them (look them up).
    pub tags: Option<BTreeMap<String, String>>,
    /// Created by an AWS Backup restore (`invokedBy: backup.amazonaws.com`).
    pub from_restore: bool,
    /// The ARN alone does not tell the AWS Backup type or whether the resource is backed up on
    /// its own (a Tag Change on an RDS cluster or instance, or an EBS volume): read it first.
    pub read_first: bool,
}

/// A resource as its own service shows it now, read just before a decision is acted on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    pub tags: BTreeMap<String, String>,
    /// S3 only: whether versioning is enabled on the bucket.
    pub versioned: Option<bool>,
    /// RDS DB instances: the cluster it is a member of.
    pub member_of: Option<String>,
    /// EBS volumes: the instance it is attached to.
    pub attached_to: Option<String>,
    /// RDS DB clusters: the engine, which gives the AWS Backup type.
    pub engine: Option<String>,
}

/// The resource's type and whether it is enrolled on its own, from what its service shows.
/// Member instances of a cluster are protected with the cluster, and a volume attached to an
/// instance with the instance (an EC2 backup is an AMI with a snapshot of every attached volume)
/// when EC2 is in scope; a DB cluster's type is its engine's (`cluster_backup_type`).
pub fn settle(backup_type: &'static str, current: &Current, ec2_in_scope: bool) -> Result<&'static str, Skip> {
    if let Some(cluster) = &current.member_of {
        return Err(Skip::ClusterMember {
            cluster: cluster.clone(),
        });
    }
    if let Some(instance) = current.attached_to.as_ref().filter(|_| ec2_in_scope) {
        return Err(Skip::AttachedVolume {
            instance: instance.clone(),
        });
    }
    Ok(current
        .engine
        .as_deref()
        .map(cluster_backup_type)
        .unwrap_or(backup_type))
}

/// Why a call yields no resource to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    FailedCall(String),
    NotACreation(String),
    ClusterMember { cluster: String },
    AttachedVolume { instance: String },
    Incomplete(&'static str),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::FailedCall(code) => write!(f, "the call failed ({code}); nothing was created"),
            Skip::NotACreation(name) => write!(f, "{name} is not a creation call this function handles"),
            Skip::ClusterMember { cluster } => {
                write!(
                    f,
                    "member instance of cluster {cluster}; AWS Backup protects the cluster"
                )
            }
            Skip::AttachedVolume { instance } => {
                write!(
                    f,
                    "volume attached to {instance}; AWS Backup protects it with the instance"
                )
            }
            Skip::Incomplete(what) => write!(f, "the event lacks {what}"),
        }
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// Tags from EC2's `tagSpecificationSet` for one resource type ("instance", "volume").
fn ec2_tag_specification(request: &Value, resource_type: &str) -> Option<BTreeMap<String, String>> {
    let specs = request.get("tagSpecificationSet")?.get("items")?.as_array()?;
    let mut tags = BTreeMap::new();
    let mut found = false;
    for spec in specs
        .iter()
        .filter(|s| s.get("resourceType").and_then(Value::as_str) == Some(resource_type))
    {
        found = true;
        tags.extend(tag_list(spec.get("tags").unwrap_or(&Value::Null)));
    }
    found.then_some(tags)
}

/// Tags given to CreateBucket itself ("CreateBucket": `CreateBucketConfiguration` takes `Tags`,
/// PascalCase `Tag` elements; one element may come through as an object rather than a list).
/// Without them the bucket's tags are read (they often arrive just after, by PutBucketTagging).
fn create_bucket_tags(request: &Value) -> Option<BTreeMap<String, String>> {
    let tag = request.get("CreateBucketConfiguration")?.get("Tags")?.get("Tag")?;
    Some(match tag {
        Value::Object(_) => tag_list(&Value::Array(vec![tag.clone()])),
        list => tag_list(list),
    })
}

use rearguard::aws::cluster_backup_type;

/// Calls that create an RDS DB instance: restores (AWS Backup's among them) and read replicas too.
const DB_INSTANCE_CREATORS: &[&str] = &[
    "CreateDBInstance",
    "RestoreDBInstanceFromDBSnapshot",
    "RestoreDBInstanceToPointInTime",
    "RestoreDBInstanceFromS3",
    "CreateDBInstanceReadReplica",
];
/// Calls that create an RDS DB cluster (Aurora, DocumentDB, Neptune, Multi-AZ).
const DB_CLUSTER_CREATORS: &[&str] = &[
    "CreateDBCluster",
    "RestoreDBClusterFromSnapshot",
    "RestoreDBClusterToPointInTime",
    "RestoreDBClusterFromS3",
];
/// Calls that create a DynamoDB table.
const TABLE_CREATORS: &[&str] = &[
    "CreateTable",
    "RestoreTableFromBackup",
    "RestoreTableToPointInTime",
    "ImportTable",
];

/// The tags a creation call's request shows, when they are all the new resource has. A restore
/// or replica may also carry tags the request does not show (copied from the snapshot, backup or
/// source), and ImportTable takes none: those are read.
fn request_tags(name: &str, request: &Value) -> Option<BTreeMap<String, String>> {
    matches!(name, "CreateDBInstance" | "CreateDBCluster" | "CreateTable")
        .then(|| tag_list(request.get("tags").unwrap_or(&Value::Null)))
}

/// Instance ids under any `instanceIds` member of a CreateFleet response, whatever the nesting
/// (`fleetInstanceSet` items as a list or a single object, ids as a list or `{item: ...}`).
fn instance_ids(value: &Value, inside: bool, ids: &mut Vec<String>) {
    match value {
        Value::String(id) if inside && id.starts_with("i-") && !ids.contains(id) => ids.push(id.clone()),
        Value::Array(items) => items.iter().for_each(|v| instance_ids(v, inside, ids)),
        Value::Object(map) => {
            for (key, v) in map {
                instance_ids(v, inside || key.eq_ignore_ascii_case("instanceIds"), ids);
            }
        }
        _ => {}
    }
}

pub fn derive(call: &ApiCall, account: &str, region: &str) -> Result<Vec<NewResource>, Skip> {
    if let Some(code) = &call.error_code {
        return Err(Skip::FailedCall(code.clone()));
    }
    let source = call.event_source.as_deref().unwrap_or("");
    let name = call.event_name.as_deref().unwrap_or("");
    let request = &call.request_parameters;
    let response = &call.response_elements;
    let from_restore = call.invoked_by_backup();
    let p = partition(region);
    let one = |arn: String, backup_type, tags| {
        Ok(vec![NewResource {
            arn,
            backup_type,
            tags,
            from_restore,
            read_first: false,
        }])
    };
    match (source, name) {
        ("ec2.amazonaws.com", "RunInstances") => {
            let items = response
                .get("instancesSet")
                .and_then(|s| s.get("items"))
                .and_then(Value::as_array);
            let items = items.ok_or(Skip::Incomplete("responseElements.instancesSet.items"))?;
            let requested = ec2_tag_specification(request, "instance");
            let resources = items
                .iter()
                .filter_map(|item| {
                    let id = item.get("instanceId")?.as_str()?;
                    // Launch templates put tags only in the response's tagSet.
                    let mut tags = requested.clone();
                    if let Some(set) = item.get("tagSet").filter(|s| s.get("items").is_some()) {
                        tags.get_or_insert_with(BTreeMap::new).extend(tag_list(set));
                    }
                    Some(NewResource {
                        arn: format!("arn:{p}:ec2:{region}:{account}:instance/{id}"),
                        backup_type: "EC2",
                        tags,
                        from_restore,
                        read_first: false,
                    })
                })
                .collect::<Vec<_>>();
            if resources.is_empty() {
                Err(Skip::Incomplete("instance ids"))
            } else {
                Ok(resources)
            }
        }
        ("ec2.amazonaws.com", "CreateVolume") => {
            let id = str_at(response, &["volumeId"]).ok_or(Skip::Incomplete("responseElements.volumeId"))?;
            let mut tags = ec2_tag_specification(request, "volume");
            if let Some(set) = response.get("tagSet").filter(|s| s.get("items").is_some()) {
                tags.get_or_insert_with(BTreeMap::new).extend(tag_list(set));
            }
            one(format!("arn:{p}:ec2:{region}:{account}:volume/{id}"), "EBS", tags)
        }
        ("ec2.amazonaws.com", "CreateFleet") => {
            // Only an instant fleet launches in the call and names its instances in the response.
            let mut ids = Vec::new();
            instance_ids(response, false, &mut ids);
            if ids.is_empty() {
                return Err(Skip::Incomplete("instance ids (only an instant fleet names them)"));
            }
            Ok(ids
                .into_iter()
                .map(|id| NewResource {
                    arn: format!("arn:{p}:ec2:{region}:{account}:instance/{id}"),
                    backup_type: "EC2",
                    // Instance tags come from launch templates and fleet overrides: read them.
                    tags: None,
                    from_restore,
                    read_first: false,
                })
                .collect())
        }
        ("rds.amazonaws.com", name) if DB_INSTANCE_CREATORS.contains(&name) => {
            if let Some(cluster) =
                str_at(response, &["dBClusterIdentifier"]).or(str_at(request, &["dBClusterIdentifier"]))
            {
                return Err(Skip::ClusterMember {
                    cluster: cluster.to_string(),
                });
            }
            let arn = str_at(response, &["dBInstanceArn"]).ok_or(Skip::Incomplete("responseElements.dBInstanceArn"))?;
            one(arn.to_string(), "RDS", request_tags(name, request))
        }
        ("rds.amazonaws.com", name) if DB_CLUSTER_CREATORS.contains(&name) => {
            let arn = str_at(response, &["dBClusterArn"]).ok_or(Skip::Incomplete("responseElements.dBClusterArn"))?;
            let engine = str_at(response, &["engine"])
                .or(str_at(request, &["engine"]))
                .unwrap_or("");
            one(
                arn.to_string(),
                cluster_backup_type(engine),
                request_tags(name, request),
            )
        }
        ("dynamodb.amazonaws.com", name) if TABLE_CREATORS.contains(&name) => {
            let described = str_at(response, &["tableDescription", "tableArn"])
                .or(str_at(response, &["importTableDescription", "tableArn"]));
            let arn = match described {
                Some(arn) => arn.to_string(),
                None => {
                    let table = str_at(request, &["tableName"])
                        .or(str_at(request, &["targetTableName"]))
                        .or(str_at(request, &["tableCreationParameters", "tableName"]))
                        .ok_or(Skip::Incomplete("the table name"))?;
                    format!("arn:{p}:dynamodb:{region}:{account}:table/{table}")
                }
            };
            one(arn, "DynamoDB", request_tags(name, request))
        }
        ("elasticfilesystem.amazonaws.com", "CreateFileSystem") => {
            let arn = match str_at(response, &["fileSystemArn"]) {
                Some(arn) => arn.to_string(),
                None => {
                    let id =
                        str_at(response, &["fileSystemId"]).ok_or(Skip::Incomplete("responseElements.fileSystemId"))?;
                    format!("arn:{p}:elasticfilesystem:{region}:{account}:file-system/{id}")
                }
            };
            let tags = response.get("tags").or(request.get("tags")).map(tag_list);
            one(arn, "EFS", tags)
        }
        ("s3.amazonaws.com", "CreateBucket") => {
            let bucket = str_at(request, &["bucketName"]).ok_or(Skip::Incomplete("requestParameters.bucketName"))?;
            one(format!("arn:{p}:s3:::{bucket}"), "S3", create_bucket_tags(request))
        }
        _ => Err(Skip::NotACreation(format!("{source} {name}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(source: &str, name: &str, request: Value, response: Value) -> ApiCall {
        serde_json::from_value(json!({"eventSource": source, "eventName": name, "requestParameters": request, "responseElements": response}))
            .unwrap()
    }

    #[test]
    fn run_instances_yields_one_resource_per_instance_with_built_arns() {
        let c = call(
            "ec2.amazonaws.com",
            "RunInstances",
            json!({"tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Environment", "value": "Production"}]},
                                                      {"resourceType": "volume", "tags": [{"key": "v", "value": "1"}]}]}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}, {"instanceId": "i-3"}]}}),
        );
        let resources = derive(&c, "111122223333", "eu-west-1").unwrap();
        assert_eq!(resources.len(), 3);
        assert_eq!(resources[2].arn, "arn:aws:ec2:eu-west-1:111122223333:instance/i-3");
        assert_eq!(
            resources[0]
                .tags
                .as_ref()
                .unwrap()
                .get("Environment")
                .map(String::as_str),
            Some("Production")
        );
        assert!(
            !resources[0].tags.as_ref().unwrap().contains_key("v"),
            "volume tags are not instance tags"
        );
    }

    #[test]
    fn launch_template_launch_takes_tags_from_the_response_only() {
        let c = call(
            "ec2.amazonaws.com",
            "RunInstances",
            json!({"launchTemplate": {"launchTemplateId": "lt-1"}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1", "tagSet": {"items": [{"key": "aws:ec2launchtemplate:id", "value": "lt-1"}]}}]}}),
        );
        let resources = derive(&c, "1", "eu-west-1").unwrap();
        assert_eq!(resources[0].tags.as_ref().unwrap().len(), 1);
        let bare = call(
            "ec2.amazonaws.com",
            "RunInstances",
            json!({}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
        );
        assert_eq!(
            derive(&bare, "1", "eu-west-1").unwrap()[0].tags,
            None,
            "unknown tags are looked up"
        );
    }

    #[test]
    fn aurora_member_instances_are_skipped_and_clusters_typed_by_engine() {
        let member = call(
            "rds.amazonaws.com",
            "CreateDBInstance",
            json!({}),
            json!({"dBInstanceArn": "arn:aws:rds:eu-west-1:1:db:m", "dBClusterIdentifier": "main"}),
        );
        assert_eq!(
            derive(&member, "1", "eu-west-1"),
            Err(Skip::ClusterMember { cluster: "main".into() })
        );
        for (engine, expected) in [
            ("aurora-postgresql", "Aurora"),
            ("docdb", "DocumentDB"),
            ("neptune", "Neptune"),
            ("postgres", "RDS"),
        ] {
            let cluster = call(
                "rds.amazonaws.com",
                "CreateDBCluster",
                json!({"engine": engine}),
                json!({"dBClusterArn": "arn:aws:rds:eu-west-1:1:cluster:c"}),
            );
            assert_eq!(
                derive(&cluster, "1", "eu-west-1").unwrap()[0].backup_type,
                expected,
                "{engine}"
            );
        }
    }

    #[test]
    fn what_the_service_shows_settles_type_and_membership() {
        let shows = |f: fn(&mut Current)| {
            let mut current = Current::default();
            f(&mut current);
            current
        };
        let neptune = shows(|c| c.engine = Some("neptune".into()));
        let multi_az = shows(|c| c.engine = Some("postgres".into()));
        let member = shows(|c| c.member_of = Some("main".into()));
        let attached = shows(|c| c.attached_to = Some("i-1".into()));

        assert_eq!(settle("Aurora", &neptune, true), Ok("Neptune"));
        assert_eq!(settle("Aurora", &multi_az, true), Ok("RDS"));
        assert_eq!(
            settle("RDS", &member, true),
            Err(Skip::ClusterMember { cluster: "main".into() })
        );
        assert_eq!(
            settle("EBS", &attached, true),
            Err(Skip::AttachedVolume { instance: "i-1".into() })
        );
        assert_eq!(
            settle("EBS", &attached, false),
            Ok("EBS"),
            "without EC2 in scope the volume is backed up on its own"
        );
        assert_eq!(settle("EC2", &Current::default(), true), Ok("EC2"));
    }

    #[test]
    fn restores_and_replicas_are_creations_whose_tags_are_read() {
        for name in [
            "RestoreDBInstanceFromDBSnapshot",
            "RestoreDBInstanceToPointInTime",
            "RestoreDBInstanceFromS3",
            "CreateDBInstanceReadReplica",
        ] {
            let c = call(
                "rds.amazonaws.com",
                name,
                json!({"tags": [{"key": "Environment", "value": "Production"}]}),
                json!({"dBInstanceArn": "arn:aws:rds:eu-west-1:1:db:copy"}),
            );
            let found = derive(&c, "1", "eu-west-1").unwrap();
            assert_eq!((found[0].backup_type, found[0].tags.clone()), ("RDS", None), "{name}");
        }
        for name in [
            "RestoreDBClusterFromSnapshot",
            "RestoreDBClusterToPointInTime",
            "RestoreDBClusterFromS3",
        ] {
            let c = call(
                "rds.amazonaws.com",
                name,
                json!({}),
                json!({"dBClusterArn": "arn:aws:rds:eu-west-1:1:cluster:c", "engine": "docdb"}),
            );
            assert_eq!(
                derive(&c, "1", "eu-west-1").unwrap()[0].backup_type,
                "DocumentDB",
                "{name}"
            );
        }
        let restored = call(
            "dynamodb.amazonaws.com",
            "RestoreTableFromBackup",
            json!({"targetTableName": "orders-restored"}),
            json!({}),
        );
        let imported = call(
            "dynamodb.amazonaws.com",
            "ImportTable",
            json!({"tableCreationParameters": {"tableName": "t"}}),
            json!({"importTableDescription": {"tableArn": "arn:aws:dynamodb:eu-west-1:1:table/t"}}),
        );
        assert_eq!(
            derive(&restored, "1", "eu-west-1").unwrap()[0].arn,
            "arn:aws:dynamodb:eu-west-1:1:table/orders-restored"
        );
        assert_eq!(
            derive(&imported, "1", "eu-west-1").unwrap()[0].arn,
            "arn:aws:dynamodb:eu-west-1:1:table/t"
        );
    }

    #[test]
    fn every_creator_sample_yields_its_resource() {
        let samples = [
            (
                include_str!("../../../events/cloudtrail-restore-db-instance-from-db-snapshot.json"),
                "RDS",
                true,
            ),
            (
                include_str!("../../../events/cloudtrail-create-db-instance-read-replica.json"),
                "RDS",
                false,
            ),
            (
                include_str!("../../../events/cloudtrail-restore-db-cluster-from-snapshot.json"),
                "Neptune",
                true,
            ),
            (
                include_str!("../../../events/cloudtrail-restore-table-from-backup.json"),
                "DynamoDB",
                true,
            ),
            (
                include_str!("../../../events/cloudtrail-restore-table-to-point-in-time.json"),
                "DynamoDB",
                false,
            ),
            (
                include_str!("../../../events/cloudtrail-import-table.json"),
                "DynamoDB",
                false,
            ),
            (
                include_str!("../../../events/cloudtrail-create-fleet-instant.json"),
                "EC2",
                false,
            ),
        ];
        for (text, backup_type, from_restore) in samples {
            let rearguard::cloudtrail::Trigger::ApiCall {
                account, region, call, ..
            } = rearguard::cloudtrail::Trigger::decode_str(text).unwrap()
            else {
                panic!("not an API call")
            };
            let found = derive(&call, &account, &region).unwrap();
            let name = call.event_name.unwrap_or_default();
            assert!(found.iter().all(|r| r.backup_type == backup_type), "{name}: {found:?}");
            assert!(found.iter().all(|r| r.from_restore == from_restore), "{name}");
            assert!(
                found.iter().all(|r| r.arn.contains(":111122223333:")),
                "{name}: {found:?}"
            );
        }
    }

    #[test]
    fn an_instant_fleet_yields_its_instances_in_every_nesting_and_other_fleets_none() {
        let listed = call(
            "ec2.amazonaws.com",
            "CreateFleet",
            json!({}),
            json!({"CreateFleetResponse": {"fleetId": "fleet-1", "fleetInstanceSet": {"item": [
                {"instanceIds": {"item": ["i-1", "i-2"]}, "lifecycle": "on-demand"},
                {"instanceIds": {"item": "i-3"}, "lifecycle": "spot"}]}}}),
        );
        let maintain = call(
            "ec2.amazonaws.com",
            "CreateFleet",
            json!({}),
            json!({"CreateFleetResponse": {"fleetId": "fleet-2", "fleetInstanceSet": ""}}),
        );

        let arns: Vec<String> = derive(&listed, "1", "eu-west-1")
            .unwrap()
            .into_iter()
            .map(|r| r.arn)
            .collect();

        assert_eq!(
            arns,
            ["i-1", "i-2", "i-3"].map(|id| format!("arn:aws:ec2:eu-west-1:1:instance/{id}"))
        );
        assert!(matches!(derive(&maintain, "1", "eu-west-1"), Err(Skip::Incomplete(_))));
    }

    #[test]
    fn arns_are_built_where_the_event_has_none() {
        let volume = call(
            "ec2.amazonaws.com",
            "CreateVolume",
            json!({}),
            json!({"volumeId": "vol-1"}),
        );
        let bucket = call(
            "s3.amazonaws.com",
            "CreateBucket",
            json!({"bucketName": "invoices"}),
            Value::Null,
        );
        let table = call(
            "dynamodb.amazonaws.com",
            "CreateTable",
            json!({"tableName": "orders"}),
            json!({}),
        );
        let efs = call(
            "elasticfilesystem.amazonaws.com",
            "CreateFileSystem",
            json!({}),
            json!({"fileSystemId": "fs-1"}),
        );
        assert_eq!(
            derive(&volume, "1", "cn-north-1").unwrap()[0].arn,
            "arn:aws-cn:ec2:cn-north-1:1:volume/vol-1"
        );
        assert_eq!(
            derive(&bucket, "1", "eu-west-1").unwrap()[0].arn,
            "arn:aws:s3:::invoices"
        );
        assert_eq!(
            derive(&table, "1", "eu-west-1").unwrap()[0].arn,
            "arn:aws:dynamodb:eu-west-1:1:table/orders"
        );
        assert_eq!(
            derive(&efs, "1", "eu-west-1").unwrap()[0].arn,
            "arn:aws:elasticfilesystem:eu-west-1:1:file-system/fs-1"
        );
    }

    #[test]
    fn tags_given_to_create_bucket_are_read_from_its_configuration() {
        let tagged = |tags: Value| {
            call(
                "s3.amazonaws.com",
                "CreateBucket",
                json!({"bucketName": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1", "Tags": tags}}),
                Value::Null,
            )
        };
        let two =
            tagged(json!({"Tag": [{"Key": "Environment", "Value": "Production"}, {"Key": "Owner", "Value": "ana"}]}));
        let one = tagged(json!({"Tag": {"Key": "backup-plan", "Value": "staging"}}));
        let none = call(
            "s3.amazonaws.com",
            "CreateBucket",
            json!({"bucketName": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
            Value::Null,
        );

        let two = derive(&two, "1", "eu-west-1").unwrap()[0].tags.clone().unwrap();
        let one = derive(&one, "1", "eu-west-1").unwrap()[0].tags.clone().unwrap();

        assert_eq!(two["Environment"], "Production");
        assert_eq!(two.len(), 2);
        assert_eq!(one["backup-plan"], "staging", "a single Tag element");
        assert_eq!(derive(&none, "1", "eu-west-1").unwrap()[0].tags, None, "read instead");
    }

    #[test]
    fn failed_calls_and_colliding_names_of_other_services_are_skipped() {
        let mut failed = call("ec2.amazonaws.com", "RunInstances", json!({}), Value::Null);
        failed.error_code = Some("Client.UnauthorizedOperation".into());
        assert_eq!(
            derive(&failed, "1", "r"),
            Err(Skip::FailedCall("Client.UnauthorizedOperation".into()))
        );
        let glue = call(
            "glue.amazonaws.com",
            "CreateTable",
            json!({"tableName": "t"}),
            json!({}),
        );
        assert!(matches!(derive(&glue, "1", "r"), Err(Skip::NotACreation(_))));
        let fsx = call(
            "fsx.amazonaws.com",
            "CreateFileSystem",
            json!({}),
            json!({"fileSystemId": "fs-1"}),
        );
        assert!(matches!(derive(&fsx, "1", "r"), Err(Skip::NotACreation(_))));
    }
}

//! Reads a resource as its own service shows it now, just before a decision is acted on.
//!
//! The event's tags are minutes old (CloudTrail delivery), `Tag Change on Resource` events are
//! best-effort and unordered, and the Resource Groups Tagging API lags creation and lists only
//! resources that have or had tags; so each resource is read through its own service
//! (`DescribeInstances`, `DescribeVolumes`, `DescribeDBInstances`, `DescribeDBClusters`,
//! `ListTagsOfResource`, `DescribeFileSystems`, `GetBucketTagging`). A resource its service does not
//! show yet ("Eventual consistency in the Amazon EC2 API": a new resource may not be visible to
//! describe calls at once) is an error, so the invocation fails and Lambda retries it (then the failure queue keeps it); it is
//! never taken for an untagged one.

use async_trait::async_trait;
use aws_config::SdkConfig;
use rearguard::accounts::AccountConfigs;
use rearguard::arn::Arn;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::resources::Current;

#[derive(Debug, thiserror::Error)]
#[error("cannot read {arn} yet ({operation}): {message}")]
pub struct ReadError {
    pub arn: String,
    pub operation: &'static str,
    pub message: String,
}

/// Reads one resource in one account and region.
#[async_trait]
pub trait ReadCurrent: Send + Sync {
    async fn read(&self, arn: &str) -> Result<Current, ReadError>;
}

/// Readers per account and region (the home account's own, or through the member role).
#[async_trait]
pub trait ReadersFor: Send + Sync {
    async fn reader(&self, account: &str, region: &str) -> Result<Arc<dyn ReadCurrent>, ReadError>;
}

/// The service clients of one account and region.
pub struct ServiceReads {
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    efs: aws_sdk_efs::Client,
    s3: aws_sdk_s3::Client,
}

fn fail(arn: &str, operation: &'static str, error: impl std::fmt::Display) -> ReadError {
    ReadError {
        arn: arn.to_string(),
        operation,
        message: error.to_string(),
    }
}

fn not_shown(arn: &str, operation: &'static str) -> ReadError {
    fail(arn, operation, "the service does not show the resource yet")
}

impl ServiceReads {
    pub fn new(config: &SdkConfig) -> ServiceReads {
        ServiceReads {
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            efs: aws_sdk_efs::Client::new(config),
            s3: aws_sdk_s3::Client::new(config),
        }
    }

    async fn instance(&self, arn: &str, id: &str) -> Result<Current, ReadError> {
        const OP: &str = "ec2:DescribeInstances";
        let output = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| fail(arn, OP, aws_sdk_ec2::error::DisplayErrorContext(e)))?;
        let instance = output
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(id))
            .ok_or_else(|| not_shown(arn, OP))?;
        Ok(Current {
            tags: ec2_tags(instance.tags()),
            ..Current::default()
        })
    }

    async fn volume(&self, arn: &str, id: &str) -> Result<Current, ReadError> {
        const OP: &str = "ec2:DescribeVolumes";
        let output = self
            .ec2
            .describe_volumes()
            .volume_ids(id)
            .send()
            .await
            .map_err(|e| fail(arn, OP, aws_sdk_ec2::error::DisplayErrorContext(e)))?;
        let volume = output
            .volumes()
            .iter()
            .find(|v| v.volume_id() == Some(id))
            .ok_or_else(|| not_shown(arn, OP))?;
        Ok(Current {
            tags: ec2_tags(volume.tags()),
            attached_to: volume
                .attachments()
                .iter()
                .filter(|a| {
                    matches!(
                        a.state(),
                        Some(aws_sdk_ec2::types::VolumeAttachmentState::Attached)
                            | Some(aws_sdk_ec2::types::VolumeAttachmentState::Attaching)
                    )
                })
                .find_map(|a| a.instance_id().map(str::to_string)),
            ..Current::default()
        })
    }

    async fn db_instance(&self, arn: &str, name: &str) -> Result<Current, ReadError> {
        const OP: &str = "rds:DescribeDBInstances";
        let output = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(name)
            .send()
            .await
            .map_err(|e| fail(arn, OP, aws_sdk_rds::error::DisplayErrorContext(e)))?;
        let db = output.db_instances().first().ok_or_else(|| not_shown(arn, OP))?;
        Ok(Current {
            tags: rds_tags(db.tag_list()),
            member_of: db.db_cluster_identifier().filter(|c| !c.is_empty()).map(str::to_string),
            ..Current::default()
        })
    }

    async fn db_cluster(&self, arn: &str, name: &str) -> Result<Current, ReadError> {
        const OP: &str = "rds:DescribeDBClusters";
        let output = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(name)
            .send()
            .await
            .map_err(|e| fail(arn, OP, aws_sdk_rds::error::DisplayErrorContext(e)))?;
        let cluster = output.db_clusters().first().ok_or_else(|| not_shown(arn, OP))?;
        Ok(Current {
            tags: rds_tags(cluster.tag_list()),
            engine: Some(cluster.engine().unwrap_or("").to_string()),
            ..Current::default()
        })
    }

    async fn table(&self, arn: &str) -> Result<Current, ReadError> {
        const OP: &str = "dynamodb:ListTagsOfResource";
        let mut tags = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .dynamodb
                .list_tags_of_resource()
                .resource_arn(arn)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| fail(arn, OP, aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            tags.extend(
                output
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string())),
            );
            token = output.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                return Ok(Current {
                    tags,
                    ..Current::default()
                });
            }
        }
    }

    async fn file_system(&self, arn: &str, id: &str) -> Result<Current, ReadError> {
        const OP: &str = "elasticfilesystem:DescribeFileSystems";
        let output = self
            .efs
            .describe_file_systems()
            .file_system_id(id)
            .send()
            .await
            .map_err(|e| fail(arn, OP, aws_sdk_efs::error::DisplayErrorContext(e)))?;
        let fs = output.file_systems().first().ok_or_else(|| not_shown(arn, OP))?;
        Ok(Current {
            tags: fs
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            ..Current::default()
        })
    }

    async fn bucket(&self, arn: &str, name: &str) -> Result<Current, ReadError> {
        let tags = match self.s3.get_bucket_tagging().bucket(name).send().await {
            Ok(output) => output
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            // "GetBucketTagging": a bucket without tags answers NoSuchTagSet.
            Err(e) if e.as_service_error().and_then(|s| s.meta().code()) == Some("NoSuchTagSet") => BTreeMap::new(),
            Err(e) => {
                return Err(fail(
                    arn,
                    "s3:GetBucketTagging",
                    aws_sdk_s3::error::DisplayErrorContext(e),
                ));
            }
        };
        // "Amazon S3 backups" (AWS Backup Developer Guide): AWS Backup needs versioning enabled on
        // the bucket; a bucket that never had it answers without a Status.
        let versioning = self
            .s3
            .get_bucket_versioning()
            .bucket(name)
            .send()
            .await
            .map_err(|e| fail(arn, "s3:GetBucketVersioning", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(Current {
            tags,
            versioned: Some(versioning.status() == Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)),
            ..Current::default()
        })
    }
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

#[async_trait]
impl ReadCurrent for ServiceReads {
    async fn read(&self, arn: &str) -> Result<Current, ReadError> {
        let unsupported = || fail(arn, "read", "not a resource type tag-enrollment reads");
        let parsed = Arn::parse(arn).ok_or_else(unsupported)?;
        let (kind, id) = parsed.resource.split_once(['/', ':']).unwrap_or((parsed.resource, ""));
        match (parsed.service, kind) {
            ("ec2", "instance") => self.instance(arn, id).await,
            ("ec2", "volume") => self.volume(arn, id).await,
            ("rds", "db") => self.db_instance(arn, id).await,
            ("rds", "cluster") => self.db_cluster(arn, id).await,
            ("dynamodb", "table") => self.table(arn).await,
            ("elasticfilesystem", "file-system") => self.file_system(arn, id).await,
            ("s3", bucket) if id.is_empty() => self.bucket(arn, bucket).await,
            _ => Err(unsupported()),
        }
    }
}

/// Readers over the member role's configuration for other accounts, built once per account and
/// region.
pub struct AccountReads {
    configs: AccountConfigs,
    readers: Mutex<HashMap<(String, String), Arc<ServiceReads>>>,
}

impl AccountReads {
    pub fn new(configs: AccountConfigs) -> AccountReads {
        AccountReads {
            configs,
            readers: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl ReadersFor for AccountReads {
    async fn reader(&self, account: &str, region: &str) -> Result<Arc<dyn ReadCurrent>, ReadError> {
        let key = (account.to_string(), region.to_string());
        if let Some(reader) = self.readers.lock().expect("reader cache").get(&key) {
            return Ok(reader.clone());
        }
        let config = self.configs.config(account, region).await.map_err(|e| ReadError {
            arn: format!("account {account}"),
            operation: "sts:AssumeRole",
            message: e.to_string(),
        })?;
        let reader = Arc::new(ServiceReads::new(&config));
        self.readers.lock().expect("reader cache").insert(key, reader.clone());
        Ok(reader)
    }
}

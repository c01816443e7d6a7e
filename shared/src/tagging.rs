//! Reading and writing resource tags through the Resource Groups Tagging API, in the resource's
//! own account and region. `TagResources` adds or overwrites only the keys it is given; it never
//! removes a tag. Per-ARN failures come back in `FailedResourcesMap` and are returned, not lost.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_resourcegroupstagging::error::DisplayErrorContext;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

pub type Tags = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
#[error("tagging API in {account}/{region}: {message}")]
pub struct TaggingError {
    pub account: String,
    pub region: String,
    pub message: String,
}

/// `GetResources` takes at most 100 ARNs, `TagResources` at most 20.
const READ_BATCH: usize = 100;
const WRITE_BATCH: usize = 20;

#[async_trait]
pub trait ResourceTagging: Send + Sync {
    /// Current tags of each ARN. An ARN the API does not return has no tags.
    async fn current_tags(&self, arns: &[String]) -> Result<HashMap<String, Tags>, TaggingError>;
    /// Adds `tags` to every ARN; returns the ARNs that failed with AWS's reason.
    async fn add_tags(&self, arns: &[String], tags: &Tags) -> Result<BTreeMap<String, String>, TaggingError>;
}

pub struct TaggingApi {
    client: aws_sdk_resourcegroupstagging::Client,
    account: String,
    region: String,
}

impl TaggingApi {
    pub fn new(client: aws_sdk_resourcegroupstagging::Client, account: &str, region: &str) -> TaggingApi {
        TaggingApi {
            client,
            account: account.into(),
            region: region.into(),
        }
    }

    fn error(&self, message: String) -> TaggingError {
        TaggingError {
            account: self.account.clone(),
            region: self.region.clone(),
            message,
        }
    }
}

#[async_trait]
impl ResourceTagging for TaggingApi {
    async fn current_tags(&self, arns: &[String]) -> Result<HashMap<String, Tags>, TaggingError> {
        let mut found: HashMap<String, Tags> = arns.iter().map(|a| (a.clone(), Tags::new())).collect();
        for chunk in arns.chunks(READ_BATCH) {
            let mut token: Option<String> = None;
            loop {
                let output = self
                    .client
                    .get_resources()
                    .set_resource_arn_list(Some(chunk.to_vec()))
                    .set_pagination_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| self.error(DisplayErrorContext(&e).to_string()))?;
                for mapping in output.resource_tag_mapping_list() {
                    let Some(arn) = mapping.resource_arn() else { continue };
                    let tags = mapping
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect();
                    found.insert(arn.to_string(), tags);
                }
                token = output.pagination_token().filter(|t| !t.is_empty()).map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(found)
    }

    async fn add_tags(&self, arns: &[String], tags: &Tags) -> Result<BTreeMap<String, String>, TaggingError> {
        let mut failures = BTreeMap::new();
        for chunk in arns.chunks(WRITE_BATCH) {
            let output = self
                .client
                .tag_resources()
                .set_resource_arn_list(Some(chunk.to_vec()))
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| self.error(DisplayErrorContext(&e).to_string()))?;
            for (arn, info) in output.failed_resources_map().into_iter().flatten() {
                let reason = format!(
                    "{} ({})",
                    info.error_message().unwrap_or("no message"),
                    info.error_code().map(|c| c.as_str()).unwrap_or("no code")
                );
                failures.insert(arn.clone(), reason);
            }
        }
        Ok(failures)
    }
}

/// Tagging clients per (account, region): the function's own account with its own role, other
/// accounts through `sts:AssumeRole` into `role_name` there. Credentials are cached by the SDK
/// until they expire; clients are built once per account and region.
pub struct AccountTagging {
    sdk: SdkConfig,
    home_account: String,
    role_name: Option<String>,
    clients: Mutex<HashMap<(String, String), Arc<TaggingApi>>>,
}

impl AccountTagging {
    pub fn new(sdk: SdkConfig, home_account: &str, role_name: Option<String>) -> AccountTagging {
        AccountTagging {
            sdk,
            home_account: home_account.into(),
            role_name,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub fn home_account(&self) -> &str {
        &self.home_account
    }

    /// The role assumed in `account`, or `None` for the home account.
    pub fn role_for(&self, account: &str) -> Result<Option<String>, TaggingError> {
        if account == self.home_account {
            return Ok(None);
        }
        let name = self.role_name.as_ref().ok_or_else(|| TaggingError {
            account: account.into(),
            region: String::new(),
            message: "the event is from another account and MEMBER_ROLE_NAME is not set".into(),
        })?;
        // The role is in the function's own partition (roles cannot be assumed across them).
        let partition = crate::aws::partition_of(self.sdk.region().map_or("", |r| r.as_ref()));
        Ok(Some(format!("arn:{partition}:iam::{account}:role/{name}")))
    }

    pub async fn for_account(&self, account: &str, region: &str) -> Result<Arc<TaggingApi>, TaggingError> {
        let key = (account.to_string(), region.to_string());
        if let Some(client) = self.clients.lock().expect("client cache").get(&key) {
            return Ok(client.clone());
        }
        let mut config = aws_sdk_resourcegroupstagging::config::Builder::from(&self.sdk)
            .region(aws_config::Region::new(region.to_string()));
        if let Some(role_arn) = self.role_for(account)? {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name("rearguard-tag-enrollment")
                .configure(&self.sdk)
                .build()
                .await;
            config = config.credentials_provider(provider);
        }
        let api = Arc::new(TaggingApi::new(
            aws_sdk_resourcegroupstagging::Client::from_conf(config.build()),
            account,
            region,
        ));
        self.clients.lock().expect("client cache").insert(key, api.clone());
        Ok(api)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
    use aws_sdk_resourcegroupstagging::operation::tag_resources::TagResourcesOutput;
    use aws_sdk_resourcegroupstagging::types::{ErrorCode, FailureInfo, ResourceTagMapping, Tag};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn api(client: aws_sdk_resourcegroupstagging::Client) -> TaggingApi {
        TaggingApi::new(client, "111122223333", "eu-west-1")
    }

    #[tokio::test]
    async fn tag_writes_are_batched_by_twenty_and_per_arn_failures_returned() {
        let arns: Vec<String> = (0..45)
            .map(|i| format!("arn:aws:ec2:eu-west-1:111122223333:instance/i-{i}"))
            .collect();
        let rule = mock!(aws_sdk_resourcegroupstagging::Client::tag_resources)
            .match_requests(|req| {
                req.resource_arn_list().len() <= 20 && req.tags().unwrap()["backup-plan"] == "production"
            })
            .then_compute_output(|req| {
                let mut out = TagResourcesOutput::builder();
                if req.resource_arn_list().iter().any(|a| a.ends_with("/i-44")) {
                    out = out.failed_resources_map(
                        "arn:aws:ec2:eu-west-1:111122223333:instance/i-44",
                        FailureInfo::builder()
                            .error_code(ErrorCode::InvalidParameterException)
                            .error_message("not found")
                            .build(),
                    );
                }
                out.build()
            });
        let tagging = api(mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, [&rule]));
        let tags = Tags::from([("backup-plan".to_string(), "production".to_string())]);

        let failures = tagging.add_tags(&arns, &tags).await.unwrap();

        assert_eq!(rule.num_calls(), 3, "45 ARNs in batches of 20");
        assert_eq!(failures.len(), 1);
        assert!(failures["arn:aws:ec2:eu-west-1:111122223333:instance/i-44"].contains("not found"));
    }

    #[tokio::test]
    async fn an_arn_the_api_does_not_return_reads_as_untagged() {
        let rule = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(|| {
            GetResourcesOutput::builder()
                .resource_tag_mapping_list(
                    ResourceTagMapping::builder()
                        .resource_arn("arn:a")
                        .tags(Tag::builder().key("Environment").value("Production").build().unwrap())
                        .build(),
                )
                .build()
        });
        let tagging = api(mock_client!(aws_sdk_resourcegroupstagging, [&rule]));

        let tags = tagging
            .current_tags(&["arn:a".to_string(), "arn:b".to_string()])
            .await
            .unwrap();

        assert_eq!(tags["arn:a"]["Environment"], "Production");
        assert!(tags["arn:b"].is_empty());
    }
}

//! tag-enrollment: every new resource is enrolled in a backup plan by tag, or someone hears about it.

mod config;
mod decide;
mod handler;
#[cfg(test)]
mod handler_tests;
mod policy;
mod render;
mod resources;
mod service_reads;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rearguard::dynamo_store::DynamoStore;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::sns::PublishAlert;
use rearguard::tagging::{AccountTagging, ResourceTagging, TaggingError};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::handler::{Deps, TaggingFor};
use crate::service_reads::AccountReads;

#[async_trait::async_trait]
impl TaggingFor for AccountTagging {
    async fn tagging(&self, account: &str, region: &str) -> Result<Arc<dyn ResourceTagging>, TaggingError> {
        Ok(self.for_account(account, region).await?)
    }
}

struct App {
    config: Config,
    tagging: AccountTagging,
    readers: AccountReads,
    publisher: Box<dyn PublishAlert>,
    forwarder: Option<Box<dyn ForwardAlert>>,
    store: Option<DynamoStore>,
    cold_start: AtomicBool,
}

impl App {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let mut metrics = Metrics::new(&self.config.metrics_namespace, "tag-enrollment");
        if self.cold_start.swap(false, Ordering::Relaxed) {
            metrics.count("ColdStart", &[]);
        }
        let deps = Deps {
            policy: &self.config.policy,
            tagging: &self.tagging,
            readers: &self.readers,
            publisher: self.publisher.as_ref(),
            forwarder: self.forwarder.as_deref(),
            dry_run: self.config.dry_run,
            digest_threshold: self.config.digest_threshold,
            ledger: self.store.as_ref().map(|s| s as _),
        };
        let result = handler::handle(event.payload, &deps, &mut metrics).await;
        metrics.flush();
        Ok(result?)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = rearguard::config::load(Config::from_settings)?;
    let sdk = rearguard::aws::load_sdk_config().await;
    // The home account decides which events need an assumed role.
    let home_account = rearguard::aws::home_account(&sdk).await?;
    tracing::info!(home_account = %home_account, mode = ?config.policy.mode, dry_run = config.dry_run, "tag-enrollment starting");
    let publisher = rearguard::sns::publisher(config.dry_run, &sdk, &config.topic_arn);
    let forwarder = rearguard::event_bus::forwarder(config.dry_run, &sdk, config.event_bus.as_deref(), render::SOURCE);
    let store = config
        .state_table
        .as_ref()
        .map(|table| DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table, "tag-enrollment"));
    let readers = AccountReads::new(rearguard::accounts::AccountConfigs::new(
        sdk.clone(),
        &home_account,
        config.member_role_name.clone(),
        "MEMBER_ROLE_NAME",
        "rearguard-tag-enrollment",
    ));
    let tagging = AccountTagging::new(sdk, &home_account, config.member_role_name.clone());
    let app = App {
        config,
        tagging,
        readers,
        publisher,
        forwarder,
        store,
        cold_start: AtomicBool::new(true),
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event).await
    }))
    .await
}

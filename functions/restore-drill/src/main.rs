//! restore-drill: every AWS Backup restore test is validated (the restored resource is usable),
//! its result reported to AWS Backup, and the RPO and RTO it achieved measured against the plan.

mod checks;
mod config;
mod decide;
mod drill;
mod figures;
mod handler;
#[cfg(test)]
mod handler_tests;
mod probe;
mod render;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rearguard::dynamo_store::DynamoStore;
use rearguard::metrics::Metrics;
use rearguard::sns::PublishAlert;
use rearguard::tagging::TaggingApi;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::handler::Deps;
use crate::probe::{BackupApi, ServiceReads};

/// Everything built once per execution environment and borrowed by every invocation.
struct App {
    config: Config,
    jobs: BackupApi,
    resources: ServiceReads,
    tagging: TaggingApi,
    publisher: Box<dyn PublishAlert>,
    store: Option<DynamoStore>,
    cold_start: AtomicBool,
}

impl App {
    async fn build(config: Config) -> App {
        let sdk = rearguard::aws::load_sdk_config().await;
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        App {
            jobs: BackupApi::new(aws_sdk_backup::Client::new(&sdk), config.dry_run),
            resources: ServiceReads::new(&sdk),
            // Restore tests run in this account and Region: their sources are read here.
            tagging: TaggingApi::new(aws_sdk_resourcegroupstagging::Client::new(&sdk), "", &region),
            publisher: rearguard::sns::publisher(config.dry_run, &sdk, &config.topic_arn),
            // Validated restore jobs are bookkeeping, not actions: kept in dry-run too.
            store: config
                .state_table
                .as_ref()
                .map(|table| DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table, "restore-drill")),
            config,
            cold_start: AtomicBool::new(true),
        }
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let mut metrics = Metrics::new(&self.config.metrics_namespace, "restore-drill");
        if self.cold_start.swap(false, Ordering::Relaxed) {
            metrics.count("ColdStart", &[]);
        }
        let deps = Deps {
            policy: &self.config.policy,
            jobs: &self.jobs,
            resources: &self.resources,
            tagging: &self.tagging,
            publisher: self.publisher.as_ref(),
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
    tracing::info!(
        dry_run = config.dry_run,
        stateful = config.state_table.is_some(),
        "restore-drill starting"
    );
    let app = App::build(config).await;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event).await
    }))
    .await
}

//! cross-account-copy: completed backups are copied to isolated accounts and regions, exactly once.

mod backup;
mod config;
mod handler;
mod plan;
mod render;
mod routes;
mod scan_wait;
mod sweep;
mod token;
mod trigger;
mod vault_policy;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rearguard::accounts::AccountConfigs;
use rearguard::dynamo_store::DynamoStore;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::sns::PublishAlert;
use rearguard::tagging::{AccountTagging, ResourceTagging};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) use rearguard::policy::lifecycle;

use crate::backup::AwsBackup;
use crate::config::Config;
use crate::handler::{BackupTag, Deps};

#[async_trait::async_trait]
impl BackupTag for AccountTagging {
    async fn backup_tag(&self, resource_arn: &str, region: &str, key: &str) -> Result<Option<String>, String> {
        let api = self
            .for_account(self.home_account(), region)
            .await
            .map_err(|e| e.to_string())?;
        let tags = api
            .current_tags(&[resource_arn.to_string()])
            .await
            .map_err(|e| e.to_string())?;
        Ok(tags.get(resource_arn).and_then(|t| t.get(key)).cloned())
    }
}

struct App {
    config: Config,
    home_account: String,
    region: String,
    api: AwsBackup,
    tagging: AccountTagging,
    publisher: Box<dyn PublishAlert>,
    events: Option<Box<dyn ForwardAlert>>,
    store: Option<DynamoStore>,
    cold_start: AtomicBool,
}

impl App {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let mut metrics = Metrics::new(&self.config.metrics_namespace, "cross-account-copy");
        if self.cold_start.swap(false, Ordering::Relaxed) {
            metrics.count("ColdStart", &[]);
        }
        let deps = Deps {
            routes: &self.config.routes,
            home_account: &self.home_account,
            api: &self.api,
            tags: &self.tagging,
            publisher: self.publisher.as_ref(),
            events: self.events.as_deref(),
            ledger: self.store.as_ref().map(|s| s as _),
            dry_run: self.config.dry_run,
            region: &self.region,
            clean_scan_wait: self.config.clean_scan_wait,
        };
        let result = handler::handle(event.payload, &deps, &mut metrics).await;
        metrics.flush();
        Ok(result?)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = rearguard::aws::load_sdk_config().await;
    // Copies start from recovery points in the function's own account and Region, where the
    // policy's named vaults resolve.
    let home_account = rearguard::aws::home_account(&sdk).await?;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let home = routes::Home {
        partition: rearguard::aws::partition_of(&region),
        account: &home_account,
        region: &region,
    };
    let config = rearguard::config::load(|settings| Config::from_settings(settings, home))?;
    tracing::info!(
        home_account = %home_account,
        routes = config.routes.routes.len(),
        waiting_for_clean_scan = config.routes.gated().count(),
        clean_scan_wait_hours = config.clean_scan_wait.num_hours(),
        dry_run = config.dry_run,
        "cross-account-copy starting"
    );
    if config.routes.routes.is_empty() {
        // A valid policy whose copies the plans' own copy rules make: nothing for this function.
        tracing::warn!(
            "the policy asks Rearguard for no copies (no made_by rearguard copy, no copy_routes): every backup is left as it is"
        );
    }
    let publisher = rearguard::sns::publisher(config.dry_run, &sdk, &config.topic_arn);
    let events = rearguard::event_bus::forwarder(config.dry_run, &sdk, Some(&config.event_bus), render::SOURCE);
    let store = config
        .state_table
        .as_ref()
        .map(|table| DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table, "cross-account-copy"));
    let accounts = AccountConfigs::new(
        sdk.clone(),
        &home_account,
        config.destination_role_name.clone(),
        "DESTINATION_ROLE_NAME",
        "rearguard-cross-account-copy",
    );
    let app = App {
        tagging: AccountTagging::new(sdk, &home_account, None),
        api: AwsBackup { accounts },
        home_account,
        region,
        config,
        publisher,
        events,
        store,
        cold_start: AtomicBool::new(true),
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event).await
    }))
    .await
}

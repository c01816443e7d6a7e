//! job-alerts: AWS Backup, Copy and Restore job events become clear, actionable SNS alerts.

mod classify;
mod composite;
mod config;
mod digest;
mod handler;
mod hints;
mod incidents;
mod render;
mod scans;
#[cfg(test)]
mod tests;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rearguard::dynamo_store::DynamoStore;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::sns::PublishAlert;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::handler::{Clock, Deps};

/// Records not yet started when this little time is left are reported in `batchItemFailures`.
const STOP_CLAIMING_BEFORE_DEADLINE: chrono::Duration = chrono::Duration::seconds(10);

/// Everything built once per execution environment and borrowed by every invocation.
struct App {
    config: Config,
    publisher: Box<dyn PublishAlert>,
    forwarder: Option<Box<dyn ForwardAlert>>,
    store: Option<DynamoStore>,
    jobs: composite::BackupJobLookup,
    cold_start: AtomicBool,
}

impl App {
    async fn build(config: Config) -> App {
        let sdk = rearguard::aws::load_sdk_config().await;
        let publisher = rearguard::sns::publisher(config.dry_run, &sdk, &config.topic_arn);
        let forwarder =
            rearguard::event_bus::forwarder(config.dry_run, &sdk, config.event_bus.as_deref(), render::SOURCE);
        // Dedupe and incident state are bookkeeping, not actions: kept in dry-run too.
        let store = config
            .state_table
            .as_ref()
            .map(|table| DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table, "job-alerts"));
        App {
            config,
            publisher,
            forwarder,
            store,
            jobs: composite::BackupJobLookup::new(&sdk),
            cold_start: AtomicBool::new(true),
        }
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let mut metrics = Metrics::new(&self.config.metrics_namespace, "job-alerts");
        if self.cold_start.swap(false, Ordering::Relaxed) {
            metrics.count("ColdStart", &[]);
        }
        let deps = Deps {
            config: &self.config,
            publisher: self.publisher.as_ref(),
            forwarder: self.forwarder.as_deref(),
            ledger: self.store.as_ref().map(|s| s as _),
            incidents: self.store.as_ref().map(|s| s as _),
            jobs: Some(&self.jobs),
        };
        let now = chrono::Utc::now();
        let deadline = chrono::DateTime::from_timestamp_millis(event.context.deadline as i64)
            .unwrap_or(now + chrono::Duration::minutes(15));
        let clock = Clock {
            now,
            // A claim outlives this invocation by a little, so a crashed attempt's events are
            // taken over by the redelivery instead of being stuck "in progress".
            lease_until: deadline + chrono::Duration::seconds(5),
            // Work claimed later might not finish: what is left goes back to the queue.
            stop_claiming_at: deadline - STOP_CLAIMING_BEFORE_DEADLINE,
        };
        let result = handler::handle(event.payload, &deps, clock, &mut metrics).await;
        metrics.flush();
        Ok(result?)
    }
}

// One thread: Lambda gives a function at most one vCPU's worth of CPU below 1,769 MB ("Configure
// Lambda function memory"), and the work is waiting on AWS, so a multi-thread scheduler only adds
// wake-ups and hand-offs. Measured with `make bench`: CPU for init + 50 alerts 65.8 -> 51.7 ms.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = rearguard::config::load(Config::from_settings)?;
    tracing::info!(
        dry_run = config.dry_run,
        stateful = config.state_table.is_some(),
        event_bus = config.event_bus.as_deref().unwrap_or(""),
        "job-alerts starting"
    );
    let app = App::build(config).await;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event).await
    }))
    .await
}

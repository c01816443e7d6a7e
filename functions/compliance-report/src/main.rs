//! compliance-report: a scheduled (and on-demand) report of which resources are backed up within
//! their plan's RPO, with a copy elsewhere and a locked vault where the plan requires.

use compliance_report::config::Config;
use compliance_report::handler::{self, Deps, DryRunStore, ReportStore, S3Store};
use compliance_report::render;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use rearguard::accounts::AccountConfigs;
use rearguard::event_bus::ForwardAlert;
use rearguard::metrics::Metrics;
use rearguard::sns::PublishAlert;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};

struct App {
    config: Config,
    home_account: String,
    accounts: AccountConfigs,
    default_accounts: Vec<String>,
    default_regions: Vec<String>,
    store: Box<dyn ReportStore>,
    publisher: Box<dyn PublishAlert>,
    events: Option<Box<dyn ForwardAlert>>,
    cold_start: AtomicBool,
}

impl App {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let mut metrics = Metrics::new(&self.config.metrics_namespace, "compliance-report");
        if self.cold_start.swap(false, Ordering::Relaxed) {
            metrics.count("ColdStart", &[]);
        }
        let deps = Deps {
            policy: &self.config.policy,
            home_account: &self.home_account,
            accounts: &self.accounts,
            default_accounts: &self.default_accounts,
            default_regions: &self.default_regions,
            concurrency: self.config.concurrency,
            store: self.store.as_ref(),
            publisher: self.publisher.as_ref(),
            events: self.events.as_deref(),
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
    let home_account = rearguard::aws::home_account(&sdk).await?;
    let default_accounts = if config.accounts.is_empty() {
        vec![home_account.clone()]
    } else {
        config.accounts.clone()
    };
    let default_regions = if config.regions.is_empty() {
        vec![
            sdk.region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
        ]
    } else {
        config.regions.clone()
    };
    tracing::info!(home_account = %home_account, accounts = ?default_accounts, regions = ?default_regions, plans = config.policy.plans.len(), dry_run = config.dry_run, "compliance-report starting");
    let store: Box<dyn ReportStore> = if config.dry_run {
        Box::new(DryRunStore)
    } else {
        Box::new(S3Store {
            client: aws_sdk_s3::Client::new(&sdk),
            bucket: config.bucket.clone(),
        })
    };
    let publisher = rearguard::sns::publisher(config.dry_run, &sdk, &config.topic_arn);
    let events = rearguard::event_bus::forwarder(config.dry_run, &sdk, Some(&config.event_bus), render::SOURCE);
    let accounts = AccountConfigs::new(
        sdk,
        &home_account,
        config.member_role_name.clone(),
        "MEMBER_ROLE_NAME",
        "rearguard-compliance-report",
    );
    let app = App {
        config,
        home_account,
        accounts,
        default_accounts,
        default_regions,
        store,
        publisher,
        events,
        cold_start: AtomicBool::new(true),
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event).await
    }))
    .await
}

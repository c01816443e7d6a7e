//! The start-up and per-invocation skeleton every function shares, so a function is a decision
//! module, an adapter and a few lines of `main`:
//!
//! - start-up: logging, the common settings (checked, naming the bad one), the SDK configuration
//!   and the home account, Region and partition, then the function's own settings, then the
//!   publisher, the event-bus forwarder and the state table, built once per execution environment;
//! - each invocation: a fresh [`Metrics`] with the `ColdStart` metric on the first one, the
//!   handler, and the metrics flushed whatever the handler answered.

use aws_config::SdkConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::accounts::AccountConfigs;
use crate::config::{ConfigError, Settings};
use crate::dynamo_store::DynamoStore;
use crate::event_bus::ForwardAlert;
use crate::metrics::Metrics;
use crate::sns::PublishAlert;

/// The settings every function reads the same way. The names match `template.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// `ALERT_TOPIC_ARN` (required): where alerts are published.
    pub topic_arn: String,
    /// The bus the function's custom events go to (see [`BusSetting`]); `None`: no events.
    pub event_bus: Option<String>,
    /// `STATE_TABLE_NAME`: the DynamoDB table of the delivery ledger and the function's state.
    pub state_table: Option<String>,
    /// `DRY_RUN`: log the exact calls and messages instead of making them.
    pub dry_run: bool,
    /// `METRICS_NAMESPACE`: CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
}

/// Which setting names a function's EventBridge bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusSetting {
    /// `ALERT_EVENT_BUS`: when set, every alert is also put on this bus.
    Alerts,
    /// `EVENT_BUS_NAME`: the function's own events always go to this bus, `default` unless set.
    Events,
}

impl Common {
    pub fn from_settings(settings: &Settings, bus: BusSetting) -> Result<Common, ConfigError> {
        let topic_arn = settings.required_arn("ALERT_TOPIC_ARN", "sns")?;
        let event_bus = match bus {
            BusSetting::Alerts => settings.optional("ALERT_EVENT_BUS"),
            BusSetting::Events => Some(settings.optional("EVENT_BUS_NAME").unwrap_or_else(|| "default".into())),
        };
        Ok(Common {
            topic_arn,
            event_bus,
            state_table: settings.optional("STATE_TABLE_NAME"),
            dry_run: settings.flag("DRY_RUN", false)?,
            metrics_namespace: settings
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| "Rearguard".into()),
        })
    }

    /// The account that owns the alert topic (the stack creates it in its own account).
    pub fn topic_account(&self) -> &str {
        self.topic_arn.split(':').nth(4).unwrap_or_default()
    }
}

/// Where the function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub account: String,
    pub region: String,
    pub partition: &'static str,
}

/// How the function learns its own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeAccount {
    /// STS GetCallerIdentity at start-up (an init error when it cannot be read).
    Caller,
    /// The alert topic's owner: no call at start-up.
    TopicOwner,
}

/// What a function is called and how it starts.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    /// The package and binary name, e.g. `job-alerts`: the metrics' `service` dimension and the
    /// ledger's namespace in the shared state table.
    pub name: &'static str,
    /// The `source` of its custom events, e.g. `rearguard.job-alerts`.
    pub source: &'static str,
    pub bus: BusSetting,
    pub home_account: HomeAccount,
}

/// Everything built once per execution environment and borrowed by every invocation.
pub struct App<C> {
    pub config: C,
    pub common: Common,
    pub sdk: SdkConfig,
    pub home: Home,
    pub publisher: Box<dyn PublishAlert>,
    pub forwarder: Option<Box<dyn ForwardAlert>>,
    /// The state table, when one is set. Dedupe and incident state are bookkeeping, not
    /// actions: kept in dry-run too.
    pub store: Option<DynamoStore>,
    name: &'static str,
    cold_start: AtomicBool,
}

impl Function {
    /// Starts the function: a bad setting or an unreadable home account is logged and returned,
    /// so Lambda reports an init error instead of running misconfigured.
    pub async fn start<C>(
        self,
        parse: impl FnOnce(&Settings, &Home) -> Result<C, ConfigError>,
    ) -> Result<App<C>, Error> {
        crate::logging::init();
        let common = crate::config::load(|settings| Common::from_settings(settings, self.bus))?;
        let sdk = crate::aws::load_sdk_config().await;
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let account = match self.home_account {
            HomeAccount::Caller => crate::aws::home_account(&sdk).await?,
            HomeAccount::TopicOwner => common.topic_account().to_string(),
        };
        let home = Home {
            partition: crate::aws::partition_of(&region),
            account,
            region,
        };
        let config = crate::config::load(|settings| parse(settings, &home))?;
        tracing::info!(
            home_account = %home.account,
            region = %home.region,
            dry_run = common.dry_run,
            stateful = common.state_table.is_some(),
            event_bus = common.event_bus.as_deref().unwrap_or(""),
            "{} starting",
            self.name
        );
        let publisher = crate::sns::publisher(common.dry_run, &sdk, &common.topic_arn);
        let forwarder = crate::event_bus::forwarder(common.dry_run, &sdk, common.event_bus.as_deref(), self.source);
        let store = common
            .state_table
            .as_ref()
            .map(|table| DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table, self.name));
        Ok(App {
            config,
            common,
            sdk,
            home,
            publisher,
            forwarder,
            store,
            name: self.name,
            cold_start: AtomicBool::new(true),
        })
    }
}

impl<C> App<C> {
    /// Per-account SDK configurations through `role_name` (read from `role_setting`) in other
    /// accounts, as session `session_name`.
    pub fn accounts(
        &self,
        role_name: Option<String>,
        role_setting: &'static str,
        session_name: &str,
    ) -> AccountConfigs {
        AccountConfigs::new(
            self.sdk.clone(),
            &self.home.account,
            role_name,
            role_setting,
            session_name,
        )
    }

    /// The metrics of one invocation; the first one of the execution environment counts a
    /// `ColdStart`.
    pub fn metrics(&self) -> Metrics {
        let mut metrics = Metrics::new(&self.common.metrics_namespace, self.name);
        if self.cold_start.swap(false, Ordering::Relaxed) {
            metrics.count("ColdStart", &[]);
        }
        metrics
    }

    /// Polls the Runtime API for ever, running `handler` on each event and flushing its metrics
    /// whatever it answered. The payload is whatever the handler decodes: a `Value`, or a
    /// `Box<RawValue>` where building a tree of every event would be wasted work.
    pub async fn run<P, E>(
        &self,
        handler: impl AsyncFn(LambdaEvent<P>, &mut Metrics) -> Result<Value, E>,
    ) -> Result<(), Error>
    where
        P: DeserializeOwned,
        E: Into<Error>,
    {
        let handler = &handler;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<P>| async move {
            let mut metrics = self.metrics();
            let result = handler(event, &mut metrics).await;
            metrics.flush();
            result.map_err(Into::into)
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:rearguard-alerts";

    #[test]
    fn defaults_apply_when_only_the_topic_is_set() {
        let common =
            Common::from_settings(&Settings::from_pairs(&[("ALERT_TOPIC_ARN", TOPIC)]), BusSetting::Alerts).unwrap();
        assert_eq!(common.topic_arn, TOPIC);
        assert_eq!(common.state_table, None);
        assert_eq!(common.event_bus, None);
        assert!(!common.dry_run);
        assert_eq!(common.metrics_namespace, "Rearguard");
        assert_eq!(common.topic_account(), "111122223333");
    }

    #[test]
    fn a_function_with_events_of_its_own_puts_them_on_the_default_bus_unless_named() {
        let unset = Common::from_settings(&Settings::from_pairs(&[("ALERT_TOPIC_ARN", TOPIC)]), BusSetting::Events);
        assert_eq!(unset.unwrap().event_bus.as_deref(), Some("default"));
        let named = Common::from_settings(
            &Settings::from_pairs(&[
                ("ALERT_TOPIC_ARN", TOPIC),
                ("EVENT_BUS_NAME", "central"),
                ("ALERT_EVENT_BUS", "x"),
            ]),
            BusSetting::Events,
        );
        assert_eq!(named.unwrap().event_bus.as_deref(), Some("central"));
    }

    #[test]
    fn a_missing_or_wrong_topic_fails_naming_the_setting() {
        let missing = Common::from_settings(&Settings::from_pairs(&[]), BusSetting::Alerts).unwrap_err();
        assert!(missing.to_string().contains("ALERT_TOPIC_ARN"), "{missing}");
        let wrong = Common::from_settings(
            &Settings::from_pairs(&[("ALERT_TOPIC_ARN", "alerts")]),
            BusSetting::Alerts,
        )
        .unwrap_err();
        assert!(
            wrong.to_string().contains("ALERT_TOPIC_ARN") && wrong.to_string().contains("arn:PARTITION:sns"),
            "{wrong}"
        );
    }

    #[test]
    fn a_bad_dry_run_flag_fails_naming_the_setting() {
        let err = Common::from_settings(
            &Settings::from_pairs(&[("ALERT_TOPIC_ARN", TOPIC), ("DRY_RUN", "perhaps")]),
            BusSetting::Alerts,
        )
        .unwrap_err();
        assert!(err.to_string().contains("DRY_RUN"), "{err}");
    }
}

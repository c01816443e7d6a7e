//! job-alerts: AWS Backup, Copy and Restore job events become clear, actionable SNS alerts.

mod classify;
mod composite;
mod config;
mod digest;
mod handler;
mod hints;
mod incidents;
mod render;
mod restore_tests;
mod scans;
#[cfg(test)]
mod tests;

use lambda_runtime::{Error, LambdaEvent};
use rearguard::lambda_app::{BusSetting, Function, HomeAccount};
use serde_json::value::RawValue;

use crate::config::Config;
use crate::handler::{Clock, Deps};

/// Records not yet started when this little time is left are reported in `batchItemFailures`.
const STOP_CLAIMING_BEFORE_DEADLINE: chrono::Duration = chrono::Duration::seconds(10);

/// A claim outlives this invocation by a little, so a crashed attempt's events are taken over by
/// the redelivery instead of being stuck "in progress"; work claimed later might not finish, so
/// what is left goes back to the queue.
fn clock(event: &LambdaEvent<Box<RawValue>>) -> Clock {
    let now = chrono::Utc::now();
    let deadline = chrono::DateTime::from_timestamp_millis(event.context.deadline as i64)
        .unwrap_or(now + chrono::Duration::minutes(15));
    Clock {
        now,
        lease_until: deadline + chrono::Duration::seconds(5),
        stop_claiming_at: deadline - STOP_CLAIMING_BEFORE_DEADLINE,
    }
}

// One thread: Lambda gives a function at most one vCPU's worth of CPU below 1,769 MB ("Configure
// Lambda function memory"), and the work is waiting on AWS, so a multi-thread scheduler only adds
// wake-ups and hand-offs. Measured with `make bench`: CPU for init + 50 alerts 65.8 -> 51.7 ms.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let app = Function {
        name: "job-alerts",
        source: render::SOURCE,
        bus: BusSetting::Alerts,
        // Its own jobs are looked up in the topic's account: no call needed at start-up.
        home_account: HomeAccount::TopicOwner,
    }
    .start(Config::from_settings)
    .await?;
    let jobs = composite::BackupJobLookup::new(&app.sdk);
    app.run(async |event, metrics| {
        let deps = Deps {
            config: &app.config,
            publisher: app.publisher.as_ref(),
            forwarder: app.forwarder.as_deref(),
            ledger: app.store.as_ref().map(|s| s as _),
            incidents: app.store.as_ref().map(|s| s as _),
            jobs: Some(&jobs),
            restore_tests: Some(&jobs),
        };
        let clock = clock(&event);
        handler::handle(&event.payload, &deps, clock, metrics).await
    })
    .await
}

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
mod record;
mod render;
mod user_check;

use lambda_runtime::Error;
use rearguard::lambda_app::{BusSetting, Function, HomeAccount};
use rearguard::tagging::TaggingApi;

use crate::config::Config;
use crate::handler::{Deps, Settle};
use crate::probe::{BackupApi, ServiceReads};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = Function {
        name: "restore-drill",
        source: render::SOURCE,
        bus: BusSetting::Alerts,
        // Restore tests run in this account and Region: no call needed at start-up.
        home_account: HomeAccount::TopicOwner,
    }
    .start(|settings, _| Config::from_settings(settings))
    .await?;
    let jobs = BackupApi::new(aws_sdk_backup::Client::new(&app.sdk), app.common.dry_run);
    let resources = ServiceReads::new(&app.sdk);
    // Restore tests run in this account and Region: their sources are read here.
    let tagging = TaggingApi::new(
        aws_sdk_resourcegroupstagging::Client::new(&app.sdk),
        "",
        &app.home.region,
    );
    let drill_log = app.config.drill_table.as_ref().map(|table| {
        rearguard::drill_record::DrillTable::new(aws_sdk_dynamodb::Client::new(&app.sdk), table, app.common.dry_run)
    });
    let user_checks = user_check::LambdaInvoke::new(aws_sdk_lambda::Client::new(&app.sdk), app.common.dry_run);
    app.run(async |event, metrics| {
        let deps = Deps {
            policy: &app.config.policy,
            jobs: &jobs,
            resources: &resources,
            tagging: &tagging,
            publisher: app.publisher.as_ref(),
            ledger: app.store.as_ref().map(|s| s as _),
            drill_log: drill_log.as_ref().map(|l| l as _),
            user_checks: Some(&user_checks),
            settle: Settle::before(
                chrono::DateTime::from_timestamp_millis(event.context.deadline as i64).unwrap_or_else(chrono::Utc::now),
            ),
        };
        handler::handle(event.payload, &deps, metrics).await
    })
    .await
}

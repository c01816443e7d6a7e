//! compliance-report: a scheduled (and on-demand) report of which resources are backed up within
//! their plan's RPO, with a copy elsewhere and a locked vault where the plan requires.

use compliance_report::config::Config;
use compliance_report::handler::{self, Deps, DryRunStore, ReportStore, S3Store};
use compliance_report::render;
use lambda_runtime::Error;
use rearguard::lambda_app::{BusSetting, Function, HomeAccount};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = Function {
        name: "compliance-report",
        source: render::SOURCE,
        bus: BusSetting::Events,
        // The default scope, and the account a report request must come from.
        home_account: HomeAccount::Caller,
    }
    .start(|settings, _| Config::from_settings(settings))
    .await?;
    let config = &app.config;
    let default_accounts = if config.accounts.is_empty() {
        vec![app.home.account.clone()]
    } else {
        config.accounts.clone()
    };
    let default_regions = if config.regions.is_empty() {
        vec![if app.home.region.is_empty() {
            "us-east-1".to_string()
        } else {
            app.home.region.clone()
        }]
    } else {
        config.regions.clone()
    };
    tracing::info!(accounts = ?default_accounts, regions = ?default_regions, plans = config.policy.plans.len(), "report scope");
    let store: Box<dyn ReportStore> = if app.common.dry_run {
        Box::new(DryRunStore)
    } else {
        Box::new(S3Store {
            client: aws_sdk_s3::Client::new(&app.sdk),
            bucket: config.bucket.clone(),
        })
    };
    let accounts = app.accounts(
        config.member_role_name.clone(),
        "MEMBER_ROLE_NAME",
        "rearguard-compliance-report",
    );
    let drills = config.drill_table.as_ref().map(|table| {
        rearguard::drill_record::DrillTable::new(aws_sdk_dynamodb::Client::new(&app.sdk), table, app.common.dry_run)
    });
    app.run(async |event, metrics| {
        let deps = Deps {
            policy: &app.config.policy,
            home_account: &app.home.account,
            home_region: &app.home.region,
            drills: drills.as_ref().map(|d| d as _),
            accounts: &accounts,
            default_accounts: &default_accounts,
            default_regions: &default_regions,
            concurrency: app.config.concurrency,
            store: store.as_ref(),
            publisher: app.publisher.as_ref(),
            events: app.forwarder.as_deref(),
        };
        handler::handle(event.payload, &deps, metrics).await
    })
    .await
}

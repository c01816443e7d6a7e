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

use lambda_runtime::Error;
use rearguard::lambda_app::{BusSetting, Function, HomeAccount};
use rearguard::tagging::{AccountTagging, ResourceTagging};

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

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = Function {
        name: "cross-account-copy",
        source: render::SOURCE,
        bus: BusSetting::Events,
        // Copies start from recovery points in the function's own account and Region, where the
        // policy's named vaults resolve.
        home_account: HomeAccount::Caller,
    }
    .start(|settings, home| {
        let home = routes::Home {
            partition: home.partition,
            account: &home.account,
            region: &home.region,
        };
        Config::from_settings(settings, home)
    })
    .await?;
    tracing::info!(
        routes = app.config.routes.routes.len(),
        waiting_for_clean_scan = app.config.routes.gated().count(),
        clean_scan_wait_hours = app.config.clean_scan_wait.num_hours(),
        "copy routes"
    );
    if app.config.routes.routes.is_empty() {
        // A valid policy whose copies the plans' own copy rules make: nothing for this function.
        tracing::warn!(
            "the policy asks Rearguard for no copies (no made_by rearguard copy, no copy_routes): every backup is left as it is"
        );
    }
    let accounts = app.accounts(
        app.config.destination_role_name.clone(),
        "DESTINATION_ROLE_NAME",
        "rearguard-cross-account-copy",
    );
    let api = AwsBackup { accounts };
    let tagging = AccountTagging::new(app.sdk.clone(), &app.home.account, None);
    app.run(async |event, metrics| {
        let deps = Deps {
            routes: &app.config.routes,
            home_account: &app.home.account,
            api: &api,
            tags: &tagging,
            publisher: app.publisher.as_ref(),
            events: app.forwarder.as_deref(),
            ledger: app.store.as_ref().map(|s| s as _),
            dry_run: app.common.dry_run,
            region: &app.home.region,
            clean_scan_wait: app.config.clean_scan_wait,
        };
        handler::handle(event.payload, &deps, metrics).await
    })
    .await
}

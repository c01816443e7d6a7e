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

use lambda_runtime::Error;
use rearguard::lambda_app::{BusSetting, Function, HomeAccount};
use rearguard::tagging::{AccountTagging, ResourceTagging, TaggingError};
use std::sync::Arc;

use crate::config::Config;
use crate::handler::{Deps, TaggingFor};
use crate::service_reads::AccountReads;

#[async_trait::async_trait]
impl TaggingFor for AccountTagging {
    async fn tagging(&self, account: &str, region: &str) -> Result<Arc<dyn ResourceTagging>, TaggingError> {
        Ok(self.for_account(account, region).await?)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = Function {
        name: "tag-enrollment",
        source: render::SOURCE,
        bus: BusSetting::Alerts,
        // The home account decides which events need an assumed role.
        home_account: HomeAccount::Caller,
    }
    .start(|settings, _| Config::from_settings(settings))
    .await?;
    tracing::info!(mode = ?app.config.policy.mode, "enrollment mode");
    let readers = AccountReads::new(app.accounts(
        app.config.member_role_name.clone(),
        "MEMBER_ROLE_NAME",
        "rearguard-tag-enrollment",
    ));
    let tagging = AccountTagging::new(app.sdk.clone(), &app.home.account, app.config.member_role_name.clone());
    app.run(async |event, metrics| {
        let deps = Deps {
            policy: &app.config.policy,
            tagging: &tagging,
            readers: &readers,
            publisher: app.publisher.as_ref(),
            forwarder: app.forwarder.as_deref(),
            dry_run: app.common.dry_run,
            digest_threshold: app.config.digest_threshold,
            ledger: app.store.as_ref().map(|s| s as _),
        };
        handler::handle(event.payload, &deps, metrics).await
    })
    .await
}

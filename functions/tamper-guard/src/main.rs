//! tamper-guard: raises the alarm the minute someone deletes or weakens the backups (recovery
//! points, vaults, their locks, access policies and keys, plans), and can undo a vault key's
//! scheduled deletion.

mod config;
mod handler;
#[cfg(test)]
mod handler_tests;
mod incident;
mod judge;
mod keys;
mod learn;
mod lock;
mod observation;
mod render;
mod respond;
mod state;
mod vault_policy;

use lambda_runtime::Error;
use rearguard::lambda_app::{BusSetting, Function, HomeAccount};

use crate::config::Config;
use crate::handler::Deps;
use crate::keys::BackupVaultKeys;
use crate::respond::{AwsResponder, DryRunResponder, Responder};
use crate::state::DynamoTamperState;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = Function {
        name: "tamper-guard",
        source: render::SOURCE,
        bus: BusSetting::Alerts,
        home_account: HomeAccount::TopicOwner,
    }
    .start(|settings, _| Config::from_settings(settings))
    .await?;
    tracing::info!(
        allowlisted = app.config.allowlist.len(),
        respond = app.config.respond,
        window_minutes = app.config.incident_window.as_secs() / 60,
        "tamper-guard settings"
    );
    let state = app.store.as_ref().map(|store| DynamoTamperState { store });
    let security = app
        .config
        .security_topic_arn
        .as_ref()
        .map(|topic| rearguard::sns::publisher(app.common.dry_run, &app.sdk, topic));
    let vault_keys = BackupVaultKeys::new(
        aws_sdk_backup::Client::new(&app.sdk),
        &app.home.account,
        app.config
            .member_role_name
            .as_ref()
            .map(|role| app.accounts(Some(role.clone()), "MEMBER_ROLE_NAME", "rearguard-tamper-guard")),
    );
    let responder: Option<Box<dyn Responder>> = match (app.config.respond, app.common.dry_run) {
        (false, _) => None,
        (true, true) => Some(Box::new(DryRunResponder)),
        (true, false) => Some(Box::new(AwsResponder {
            kms: aws_sdk_kms::Client::new(&app.sdk),
            backup: aws_sdk_backup::Client::new(&app.sdk),
        })),
    };
    app.run(async |event, metrics| {
        let deps = Deps {
            config: &app.config,
            publisher: app.publisher.as_ref(),
            security: security.as_deref(),
            forwarder: app.forwarder.as_deref(),
            ledger: app.store.as_ref().map(|s| s as _),
            state: state.as_ref().map(|s| s as _),
            vault_keys: &vault_keys,
            responder: responder.as_deref(),
        };
        handler::handle(event.payload, &deps, metrics).await
    })
    .await
}

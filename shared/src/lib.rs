//! Rearguard's shared library: the AWS event models the functions consume, the alert message
//! style they all speak, and thin adapters over the AWS SDK clients they use.
//!
//! Pure code (event models, ARN parsing, alert shaping) has no I/O; the adapters (`sns`,
//! `event_bus`, `dynamo_store`) each implement one small trait so a handler asks only for what
//! it uses.

pub mod accounts;
pub mod alert;
pub mod arn;
pub mod aws;
pub mod backup_events;
pub mod cloudtrail;
pub mod config;
pub mod console;
pub mod digest;
pub mod drill_record;
pub mod dynamo_store;
pub mod event_bus;
pub mod lambda_app;
pub mod lenient;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod scan_events;
pub mod sns;
pub mod store;
pub mod tagging;
pub mod vault_access_policy;

//! Forwarding each alert as a custom EventBridge event, e.g. to a central monitoring account's
//! bus. `PutEvents` reports per-entry failures in a 200 response, so those are checked too.

use async_trait::async_trait;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::alert::Alert;

#[derive(Debug, thiserror::Error)]
#[error("putting the alert event on {bus} failed: {message}")]
pub struct ForwardError {
    pub bus: String,
    pub message: String,
}

#[async_trait]
pub trait ForwardAlert: Send + Sync {
    /// Puts one custom event with this detail-type and detail.
    async fn put(&self, detail_type: &str, detail: &serde_json::Value) -> Result<(), ForwardError>;

    /// Puts an alert's JSON document as a `Rearguard Alert` event.
    async fn forward(&self, alert: &Alert) -> Result<(), ForwardError> {
        self.put(ALERT_DETAIL_TYPE, &alert.document).await
    }
}

pub struct EventBusForwarder {
    client: aws_sdk_eventbridge::Client,
    bus: String,
    source: String,
}

impl EventBusForwarder {
    /// `source` is the function's own, e.g. `rearguard.job-alerts`.
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>, source: impl Into<String>) -> Self {
        EventBusForwarder {
            client,
            bus: bus.into(),
            source: source.into(),
        }
    }
}

/// The custom event's detail-type; subscribers match on it.
pub const ALERT_DETAIL_TYPE: &str = "Rearguard Alert";

#[async_trait]
impl ForwardAlert for EventBusForwarder {
    async fn put(&self, detail_type: &str, detail: &serde_json::Value) -> Result<(), ForwardError> {
        let fail = |message: String| ForwardError {
            bus: self.bus.clone(),
            message,
        };
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(&self.source)
            .detail_type(detail_type)
            // Bytes, not `Value`'s `Display` (as `Alert::sns_message`): the same compact JSON.
            .detail(serde_json::to_string(detail).expect("a JSON value serialises"))
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
        if output.failed_entry_count() > 0 {
            let reason = output
                .entries()
                .iter()
                .filter_map(|e| e.error_message().or(e.error_code()))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(fail(reason));
        }
        Ok(())
    }
}

/// The forwarder a function runs with, when a bus is configured: EventBridge, or in dry-run
/// mode the logging stand-in. `source` is the function's own, e.g. `rearguard.job-alerts`.
pub fn forwarder(
    dry_run: bool,
    sdk: &aws_config::SdkConfig,
    bus: Option<&str>,
    source: &str,
) -> Option<Box<dyn ForwardAlert>> {
    let bus = bus?;
    Some(if dry_run {
        Box::new(DryRunForwarder { bus: bus.to_string() })
    } else {
        Box::new(EventBusForwarder::new(
            aws_sdk_eventbridge::Client::new(sdk),
            bus,
            source,
        ))
    })
}

/// Dry-run mode: logs the event that would be put.
pub struct DryRunForwarder {
    pub bus: String,
}

#[async_trait]
impl ForwardAlert for DryRunForwarder {
    async fn put(&self, detail_type: &str, detail: &serde_json::Value) -> Result<(), ForwardError> {
        tracing::info!(action = "would_put_event", bus = %self.bus, detail_type, %detail, "dry run: not putting event");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{mock, mock_client};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn alert() -> Alert {
        Alert::new(
            Severity::Error,
            "s",
            "t".into(),
            json!({"schema": "rearguard.alert/v1"}),
            BTreeMap::new(),
        )
    }

    #[tokio::test]
    async fn alert_document_is_put_on_the_configured_bus() {
        let rule = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|req| {
                let entry = &req.entries()[0];
                entry.event_bus_name() == Some("central")
                    && entry.source() == Some("rearguard.job-alerts")
                    && entry.detail_type() == Some(ALERT_DETAIL_TYPE)
                    && entry.detail() == Some(r#"{"schema":"rearguard.alert/v1"}"#)
            })
            .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build());
        let forwarder = EventBusForwarder::new(
            mock_client!(aws_sdk_eventbridge, [&rule]),
            "central",
            "rearguard.job-alerts",
        );

        forwarder.forward(&alert()).await.expect("forwarded");

        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_rejected_entry_is_an_error_with_its_reason() {
        let rule = mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code("AccessDenied")
                        .error_message("no access")
                        .build(),
                )
                .build()
        });
        let forwarder = EventBusForwarder::new(mock_client!(aws_sdk_eventbridge, [&rule]), "central", "s");

        let err = forwarder.forward(&alert()).await.unwrap_err();

        assert!(err.to_string().contains("no access"), "{err}");
    }
}

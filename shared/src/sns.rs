//! Publishing alerts: the `PublishAlert` capability, its SNS adapter, and the dry-run stand-in
//! that logs the exact message instead of sending it.

use async_trait::async_trait;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::alert::Alert;

#[derive(Debug, thiserror::Error)]
#[error("publishing to {topic_arn} failed: {message}")]
pub struct PublishError {
    pub topic_arn: String,
    pub message: String,
}

/// Sends one alert to the people and systems subscribed to it. Returns the message id.
#[async_trait]
pub trait PublishAlert: Send + Sync {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError>;
}

/// Publishes to an SNS topic with `MessageStructure=json`. Retries (throttling, 5xx) are the
/// SDK's, configured in [`crate::aws::retry_config`].
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> SnsPublisher {
        SnsPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl PublishAlert for SnsPublisher {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message_structure("json")
            .message(alert.sns_message());
        for (name, value) in &alert.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| PublishError {
                    topic_arn: self.topic_arn.clone(),
                    message: e.to_string(),
                })?;
            request = request.message_attributes(name, attribute);
        }
        let output = request.send().await.map_err(|e| PublishError {
            topic_arn: self.topic_arn.clone(),
            message: DisplayErrorContext(&e).to_string(),
        })?;
        Ok(output.message_id().unwrap_or_default().to_string())
    }
}

/// The publisher a function runs with: SNS, or in dry-run mode the logging stand-in.
pub fn publisher(dry_run: bool, sdk: &aws_config::SdkConfig, topic_arn: &str) -> Box<dyn PublishAlert> {
    if dry_run {
        Box::new(DryRunPublisher)
    } else {
        Box::new(SnsPublisher::new(aws_sdk_sns::Client::new(sdk), topic_arn))
    }
}

/// Dry-run mode: logs the exact subject, attributes and message that would be published.
pub struct DryRunPublisher;

#[async_trait]
impl PublishAlert for DryRunPublisher {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        tracing::info!(
            action = "would_publish",
            severity = %alert.severity,
            subject = %alert.subject,
            attributes = ?alert.attributes,
            message = %alert.sns_message(),
            "dry run: not publishing"
        );
        Ok("dry-run".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;
    use aws_sdk_sns::operation::publish::{PublishError as SdkPublishError, PublishOutput};
    use aws_sdk_sns::types::error::NotFoundException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;
    use std::collections::BTreeMap;

    const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:rearguard-alerts";

    fn alert() -> Alert {
        let attributes = BTreeMap::from([("jobType".to_string(), "BACKUP".to_string())]);
        Alert::new(
            Severity::Critical,
            "[CRITICAL] Backup FAILED",
            "body".into(),
            json!({"a": 1}),
            attributes,
        )
    }

    fn client_with(rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_sns::Client {
        mock_client!(aws_sdk_sns, RuleMode::Sequential, rules, |b| b
            .retry_config(crate::aws::retry_config()))
    }

    #[tokio::test]
    async fn publish_sends_json_structure_subject_and_filterable_attributes() {
        let rule = mock!(aws_sdk_sns::Client::publish)
            .match_requests(|req| {
                let attrs = req.message_attributes().expect("attributes");
                req.topic_arn() == Some(TOPIC)
                    && req.message_structure() == Some("json")
                    && req.subject() == Some("[CRITICAL] Backup FAILED")
                    && attrs["severity"].string_value() == Some("CRITICAL")
                    && attrs["jobType"].string_value() == Some("BACKUP")
                    && attrs["jobType"].data_type() == "String"
                    && serde_json::from_str::<serde_json::Value>(req.message().unwrap()).unwrap()["email"] == "body"
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let publisher = SnsPublisher::new(client_with(&[&rule]), TOPIC);

        let id = publisher.publish(&alert()).await.expect("published");

        assert_eq!(id, "m-1");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_retried_until_publish_succeeds() {
        let throttled = r#"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"#;
        let rule = mock!(aws_sdk_sns::Client::publish)
            .sequence()
            .http_status(400, Some(throttled.to_string()))
            .http_status(503, None)
            .http_status(500, None)
            .output(|| PublishOutput::builder().message_id("m-2").build())
            .build();
        let publisher = SnsPublisher::new(client_with(&[&rule]), TOPIC);

        let id = publisher.publish(&alert()).await.expect("published after retries");

        assert_eq!(id, "m-2");
        assert_eq!(rule.num_calls(), 4);
    }

    #[tokio::test]
    async fn persistent_server_errors_give_up_after_the_configured_attempts() {
        let rule = mock!(aws_sdk_sns::Client::publish)
            .sequence()
            .http_status(503, None)
            .times(10)
            .build();
        let publisher = SnsPublisher::new(client_with(&[&rule]), TOPIC);

        let err = publisher.publish(&alert()).await.unwrap_err();

        assert_eq!(rule.num_calls(), 5, "standard retry mode with 5 attempts");
        assert_eq!(err.topic_arn, TOPIC);
    }

    #[tokio::test]
    async fn a_missing_topic_is_not_retried_and_names_the_topic() {
        let rule = mock!(aws_sdk_sns::Client::publish).then_error(|| {
            SdkPublishError::NotFoundException(NotFoundException::builder().message("Topic does not exist").build())
        });
        let publisher = SnsPublisher::new(client_with(&[&rule]), TOPIC);

        let err = publisher.publish(&alert()).await.unwrap_err();

        assert_eq!(rule.num_calls(), 1);
        assert!(
            err.to_string().contains(TOPIC) && err.to_string().contains("Topic does not exist"),
            "{err}"
        );
    }
}

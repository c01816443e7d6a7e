//! The operator's own check of a restored resource: a Lambda function per resource type (policy
//! `restore_tests.user_checks`), invoked synchronously once the built-in check passed. Its answer
//! decides the validation; a function error, a timeout or an answer that is not
//! `{"passed": bool, "reason": "..."}` fails the drill with that reason.
//!
//! "Invoke" (AWS Lambda API Reference): RequestResponse invokes the function synchronously; "details
//! about the function response, including errors, are included in the response body and
//! headers", and "the status code in the API response doesn't reflect function errors", so a
//! function error is read from `FunctionError` and the payload. The SDK's own timeout and retry
//! settings bound the call.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::checks::Outcome;

/// What the user's function answered, or why it could not.
pub type Answer = Result<Vec<u8>, String>;

#[async_trait]
pub trait InvokeCheck: Send + Sync {
    /// The function's response payload, or the reason it has none (a function error with its
    /// message, a timeout, a refused call).
    async fn invoke(&self, function_arn: &str, payload: Vec<u8>) -> Answer;
}

/// What the function receives.
pub fn request(restored_arn: &str, resource_type: &str) -> Vec<u8> {
    json!({"restoredResourceArn": restored_arn, "resourceType": resource_type})
        .to_string()
        .into_bytes()
}

#[derive(Deserialize)]
struct Verdict {
    passed: bool,
    #[serde(default)]
    reason: String,
}

/// The outcome after the user's check, given the built-in one passed with `evidence`. Pure.
pub fn judge(function_arn: &str, evidence: &str, answer: &Answer) -> Outcome {
    let name = function_arn.rsplit(':').next().unwrap_or(function_arn);
    match answer {
        Err(reason) => Outcome::Unusable(format!("the user check {name} failed: {reason}")),
        Ok(payload) => match serde_json::from_slice::<Verdict>(payload) {
            Ok(Verdict { passed: true, reason }) => Outcome::Usable(if reason.is_empty() {
                format!("{evidence}; the user check {name} passed")
            } else {
                format!("{evidence}; the user check {name} passed: {reason}")
            }),
            Ok(Verdict { passed: false, reason }) => Outcome::Unusable(if reason.is_empty() {
                format!("the user check {name} did not pass")
            } else {
                format!("the user check {name} did not pass: {reason}")
            }),
            Err(e) => Outcome::Unusable(format!(
                "the user check {name} answered {:?}, not {{\"passed\": bool, \"reason\": \"...\"}}: {e}",
                String::from_utf8_lossy(&payload[..payload.len().min(200)])
            )),
        },
    }
}

/// Lambda's Invoke, RequestResponse. In dry run the function is not invoked (it may change
/// things); the built-in check's outcome stands.
pub struct LambdaInvoke {
    client: aws_sdk_lambda::Client,
    dry_run: bool,
}

impl LambdaInvoke {
    pub fn new(client: aws_sdk_lambda::Client, dry_run: bool) -> LambdaInvoke {
        LambdaInvoke { client, dry_run }
    }
}

/// The answer dry run stands in for an invocation with: passed, saying so.
const DRY_RUN_ANSWER: &str = r#"{"passed": true, "reason": "dry run: not invoked"}"#;

#[async_trait]
impl InvokeCheck for LambdaInvoke {
    async fn invoke(&self, function_arn: &str, payload: Vec<u8>) -> Answer {
        if self.dry_run {
            tracing::info!(
                action = "would_invoke_user_check",
                function_arn,
                payload = %String::from_utf8_lossy(&payload),
                "dry run: not invoking the user check"
            );
            return Ok(DRY_RUN_ANSWER.as_bytes().to_vec());
        }
        let out = self
            .client
            .invoke()
            .function_name(function_arn)
            .invocation_type(aws_sdk_lambda::types::InvocationType::RequestResponse)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await
            .map_err(|e| aws_sdk_lambda::error::DisplayErrorContext(e).to_string())?;
        let body = out.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        match out.function_error() {
            Some(kind) => Err(format!(
                "function error {kind}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            )),
            None => Ok(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::operation::invoke::InvokeOutput;
    use aws_sdk_lambda::primitives::Blob;
    use aws_smithy_mocks::{mock, mock_client};

    const FUNCTION: &str = "arn:aws:lambda:eu-west-1:111122223333:function:orders-check";

    #[test]
    fn the_functions_answer_decides_and_says_why() {
        let passed = judge(
            FUNCTION,
            "table t is ACTIVE",
            &Ok(br#"{"passed": true, "reason": "42 orders"}"#.to_vec()),
        );
        assert_eq!(
            passed,
            Outcome::Usable("table t is ACTIVE; the user check orders-check passed: 42 orders".into())
        );
        let failed = judge(
            FUNCTION,
            "x",
            &Ok(br#"{"passed": false, "reason": "no order of today"}"#.to_vec()),
        );
        assert_eq!(
            failed,
            Outcome::Unusable("the user check orders-check did not pass: no order of today".into())
        );
    }

    #[test]
    fn an_error_a_timeout_or_a_strange_answer_fails_with_the_reason() {
        let Outcome::Unusable(reason) = judge(FUNCTION, "x", &Err("Task timed out after 3.00 seconds".into())) else {
            panic!()
        };
        assert!(reason.contains("timed out"), "{reason}");
        let Outcome::Unusable(reason) = judge(FUNCTION, "x", &Ok(b"\"ok\"".to_vec())) else {
            panic!()
        };
        assert!(reason.contains("not {\"passed\""), "{reason}");
    }

    #[tokio::test]
    async fn the_function_is_invoked_synchronously_with_the_restored_resource() {
        let invoke = mock!(aws_sdk_lambda::Client::invoke)
            .match_requests(|r| {
                r.function_name() == Some(FUNCTION)
                    && r.invocation_type() == Some(&aws_sdk_lambda::types::InvocationType::RequestResponse)
                    && r.payload().is_some_and(|p| {
                        serde_json::from_slice::<serde_json::Value>(p.as_ref()).ok()
                            == Some(json!({"restoredResourceArn": "arn:r", "resourceType": "DynamoDB"}))
                    })
            })
            .then_output(|| {
                InvokeOutput::builder()
                    .status_code(200)
                    .payload(Blob::new(r#"{"passed": true}"#))
                    .build()
            });
        let lambda = LambdaInvoke::new(mock_client!(aws_sdk_lambda, [&invoke]), false);

        let answer = lambda.invoke(FUNCTION, request("arn:r", "DynamoDB")).await;

        assert_eq!(answer.unwrap(), br#"{"passed": true}"#.to_vec());
        assert_eq!(invoke.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_function_error_is_no_answer_but_its_message() {
        let invoke = mock!(aws_sdk_lambda::Client::invoke).then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .function_error("Unhandled")
                .payload(Blob::new(r#"{"errorMessage": "connection refused"}"#))
                .build()
        });
        let lambda = LambdaInvoke::new(mock_client!(aws_sdk_lambda, [&invoke]), false);

        let answer = lambda.invoke(FUNCTION, request("arn:r", "DynamoDB")).await;

        let reason = answer.unwrap_err();
        assert!(
            reason.contains("Unhandled") && reason.contains("connection refused"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn dry_run_invokes_nothing() {
        let invoke = mock!(aws_sdk_lambda::Client::invoke).then_output(|| InvokeOutput::builder().build());
        let lambda = LambdaInvoke::new(mock_client!(aws_sdk_lambda, [&invoke]), true);

        let answer = lambda.invoke(FUNCTION, request("arn:r", "DynamoDB")).await;

        assert!(answer.is_ok());
        assert_eq!(invoke.num_calls(), 0);
    }
}

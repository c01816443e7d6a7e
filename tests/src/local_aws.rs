//! The local AWS emulator (moto in server mode on loopback) and the fixtures the end-to-end
//! tests build in it: an alerts topic whose messages land in an SQS queue we can read back, and
//! the state table.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const REGION: &str = "eu-west-1";

/// The emulator's endpoint from `AWS_ENDPOINT_URL`, which must be on loopback: tests never talk
/// to anything else.
pub fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the end-to-end tests through `make test`, which starts the local AWS emulator")
    });
    let host = endpoint
        .trim_start_matches("http://")
        .split([':', '/'])
        .next()
        .unwrap_or_default();
    assert!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "AWS_ENDPOINT_URL={endpoint} is not a loopback address; refusing to run"
    );
    endpoint
}

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(rearguard::aws::http_client())
        .endpoint_url(endpoint())
        .region(Region::new(REGION))
        .load()
        .await
}

/// The environment a function process needs to reach the emulator.
pub fn function_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_ACCESS_KEY_ID", credential("AWS_ACCESS_KEY_ID")),
        ("AWS_SECRET_ACCESS_KEY", credential("AWS_SECRET_ACCESS_KEY")),
    ]
}

/// A credential variable for the emulator: the one set here, else a dummy (moto takes any).
pub fn credential(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| "testing".into())
}

/// A message read back from the alerts queue (the SNS envelope unwrapped).
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: String,
    /// What the `sqs` protocol got: the JSON document.
    pub document: Value,
    pub attributes: BTreeMap<String, String>,
}

/// An SNS topic with an SQS subscription, so alerts can be read back.
#[derive(Clone)]
pub struct AlertsTopic {
    pub topic_arn: String,
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl AlertsTopic {
    pub async fn create(sdk: &SdkConfig, name: &str) -> AlertsTopic {
        let sns = aws_sdk_sns::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let topic_arn = sns
            .create_topic()
            .name(name)
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .expect("topic arn");
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{name}-inbox"))
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue arn");
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("subscribe queue");
        AlertsTopic {
            topic_arn,
            queue_url,
            sqs,
        }
    }

    /// Reads messages until `expected` arrived or `timeout` passed, then also drains anything
    /// extra that is already there, so a test sees duplicates it did not expect.
    pub async fn receive(&self, expected: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut received = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(if received.len() >= expected { 0 } else { 1 })
                .send()
                .await
                .expect("receive from alerts queue");
            let messages = output.messages.unwrap_or_default();
            let empty = messages.is_empty();
            for message in messages {
                received.push(unwrap_sns(message.body().unwrap_or_default()));
                if let Some(handle) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
            if (received.len() >= expected && empty) || Instant::now() > deadline {
                return received;
            }
        }
    }
}

fn unwrap_sns(body: &str) -> Received {
    let envelope: Value = serde_json::from_str(body).expect("SNS envelope is JSON");
    let message = envelope["Message"].as_str().unwrap_or_default();
    let document = serde_json::from_str(message).unwrap_or_else(|_| Value::String(message.to_string()));
    let attributes = envelope["MessageAttributes"]
        .as_object()
        .map(|attrs| {
            attrs
                .iter()
                .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Received {
        subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
        document,
        attributes,
    }
}

/// A custom EventBridge bus with a rule that sends everything from `source` to a new queue, so
/// events put on the bus can be read back. Returns the bus name and the queue URL.
pub async fn bus_with_inbox(sdk: &SdkConfig, name: &str, source: &str) -> (String, String) {
    aws_sdk_eventbridge::Client::new(sdk)
        .create_event_bus()
        .name(name)
        .send()
        .await
        .expect("create bus");
    let queue_url = rule_to_queue(
        sdk,
        Some(name),
        &format!("{name}-all"),
        &serde_json::json!({"source": [source]}),
    )
    .await;
    (name.to_string(), queue_url)
}

/// A new queue (`<rule>-inbox`) receiving what the rule matches on `bus` (the default bus when
/// `None`); returns the queue URL.
pub async fn rule_to_queue(sdk: &SdkConfig, bus: Option<&str>, rule: &str, pattern: &Value) -> String {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{rule}-inbox"))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    events
        .put_rule()
        .name(rule)
        .set_event_bus_name(bus.map(str::to_string))
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("put rule");
    events
        .put_targets()
        .rule(rule)
        .set_event_bus_name(bus.map(str::to_string))
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("inbox")
                .arn(queue_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put targets");
    queue_url
}

/// Raw message bodies waiting in a queue (up to `timeout` for at least one).
pub async fn drain_queue(sdk: &SdkConfig, queue_url: &str, timeout: Duration) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let deadline = Instant::now() + timeout;
    let mut bodies = Vec::new();
    while Instant::now() < deadline {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() && !bodies.is_empty() {
            break;
        }
        for message in messages {
            bodies.push(serde_json::from_str(message.body().unwrap_or_default()).expect("event JSON"));
        }
    }
    bodies
}

/// The state table as the template defines it: key `pk`, TTL on `expires_at`, on-demand.
pub async fn create_state_table(sdk: &SdkConfig, name: &str) {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("create state table");
    dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()
                .expect("ttl"),
        )
        .send()
        .await
        .expect("enable TTL");
}

/// A name no other test uses, so tests can share one emulator and run in parallel.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates an S3 bucket in the tests' Region (outside us-east-1 a bucket names its Region).
pub async fn create_bucket(sdk: &aws_config::SdkConfig, name: &str) {
    aws_sdk_s3::Client::new(sdk)
        .create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create bucket");
}

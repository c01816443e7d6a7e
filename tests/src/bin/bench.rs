//! `make bench`: measures the job-alerts release binary as Lambda runs it.
//!
//! - cold start: process spawn until its first `GET /runtime/invocation/next` (init done);
//! - per-event latency: invoke -> response through the Runtime API, for an event that publishes
//!   an alert to SNS in the local AWS emulator and for one that is decided quietly;
//! - a 100-record SQS batch (a storm that becomes one digest);
//! - peak RSS (`VmHWM` from /proc) after all of it.
//!
//! Usage: bench <path to job-alerts binary> [invocations]

use rearguard_e2e::function::FunctionProcess;
use rearguard_e2e::local_aws::{self, AlertsTopic};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::sample;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<34} n={:<4} p50={:>8.2} ms  p95={:>8.2} ms  max={:>8.2} ms",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.95)),
        ms(*samples.last().expect("samples"))
    );
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn invoke(api: &RuntimeApi, payload: &Value) -> Duration {
    let started = Instant::now();
    match api.invoke(payload, WAIT).await.expect("answer") {
        Answer::Response(_) => started.elapsed(),
        Answer::Error(e) => panic!("function error: {e}"),
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = PathBuf::from(args.next().expect("usage: bench <job-alerts binary> [invocations]"));
    let invocations: usize = args.next().map(|n| n.parse().expect("a number")).unwrap_or(200);
    let binary_size = std::fs::metadata(&binary).expect("binary exists").len();
    let sdk = local_aws::sdk_config().await;
    let topic = AlertsTopic::create(&sdk, "rearguard-bench").await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.push(("ALERT_TOPIC_ARN", topic.topic_arn.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    println!(
        "job-alerts benchmark: {} ({:.1} MiB), local AWS at {}",
        binary.display(),
        binary_size as f64 / 1048576.0,
        local_aws::endpoint()
    );

    let mut cold = Vec::new();
    for _ in 0..20 {
        let api = RuntimeApi::start().await;
        let spawned = Instant::now();
        let function = FunctionProcess::spawn(binary.clone(), &api.address(), &env);
        let polled = api
            .wait_first_poll(WAIT)
            .await
            .expect("function polled the Runtime API");
        cold.push(polled - spawned);
        drop(function);
    }
    report("cold start (spawn -> first poll)", cold);

    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(binary.clone(), &api.address(), &env);
    api.wait_first_poll(WAIT).await.expect("function polled");
    let pid = function.pid().expect("pid");

    let first = invoke(&api, &sample("backup-failed-rds")).await;
    println!(
        "{:<34} {:.2} ms (first SDK call: connection and credentials)",
        "first invocation",
        first.as_secs_f64() * 1000.0
    );

    let mut alerting = Vec::new();
    for i in 0..invocations {
        let mut event = sample("backup-failed-rds");
        event["id"] = json!(format!("bench-{i}"));
        alerting.push(invoke(&api, &event).await);
    }
    report("event -> alert published to SNS", alerting);

    let mut quiet = Vec::new();
    for i in 0..invocations {
        let mut event = sample("backup-running");
        event["id"] = json!(format!("bench-quiet-{i}"));
        quiet.push(invoke(&api, &event).await);
    }
    report("event decided quietly (RUNNING)", quiet);

    let mut storms = Vec::new();
    for round in 0..10 {
        let records: Vec<Value> = (0..100)
            .map(|i| {
                let mut event = sample("backup-failed-rds");
                event["id"] = json!(format!("storm-{round}-{i}"));
                event["detail"]["resourceArn"] = json!(format!("arn:aws:rds:eu-west-1:111122223333:db:db-{i}"));
                json!({"messageId": format!("m-{round}-{i}"), "body": event.to_string(), "eventSource": "aws:sqs"})
            })
            .collect();
        storms.push(invoke(&api, &json!({"Records": records})).await);
    }
    report("100-record SQS batch -> 1 digest", storms);

    match peak_rss_kib(pid) {
        Some(kib) => println!("{:<34} {:.1} MiB (VmHWM)", "peak RSS", kib as f64 / 1024.0),
        None => println!("{:<34} unavailable (no /proc)", "peak RSS"),
    }
    drop(function);
}

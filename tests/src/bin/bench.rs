//! `make bench`: measures the job-alerts release binary as Lambda runs it.
//!
//! - cold start: process spawn until its first `GET /runtime/invocation/next` (init done);
//! - per-event latency: invoke -> response through the Runtime API, for an event that publishes
//!   an alert to SNS in the local AWS emulator and for one that is decided quietly;
//! - a 100-record SQS batch (a storm that becomes one digest), without and with the state table;
//!   with `BENCH_BASELINE=<an earlier job-alerts binary>`, the state-table batch of that binary
//!   too, in the same run, and the ratio;
//! - side by side with the Python/boto3 anchor (`../shared/anchors/python-job-alerts`, run with
//!   `python -m awslambdaric handler.handler`): init time, CPU time for init + 50 FAILED events
//!   (one publish each), and peak RSS, as Rust / Python ratios;
//! - peak RSS (`VmHWM` from /proc) after all of it.
//!
//! Usage: bench <path to job-alerts binary> [invocations]

use rearguard_e2e::function::FunctionProcess;
use rearguard_e2e::lambda_env::lambda_environment;
use rearguard_e2e::local_aws::{self, AlertsTopic, create_state_table, unique};
use rearguard_e2e::runtime_api::{Answer, RuntimeApi};
use rearguard_e2e::{sample, workspace_root};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<42} n={:<4} p50={:>8.2} ms  p95={:>8.2} ms  max={:>8.2} ms",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.95)),
        ms(*samples.last().expect("samples"))
    );
    percentile(&samples, 0.5)
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

/// User + system CPU time of a process, every thread it ever ran included: it is stopped and
/// reaped here, and the kernel's resource usage of the reaped child (`wait4(2)`, microseconds)
/// is read. `/proc/<pid>/stat` counts in 10 ms clock ticks, too coarse for ~50 ms in all.
fn stop_and_take_cpu_time(pid: u32) -> (Duration, Duration) {
    let pid = libc::pid_t::try_from(pid).expect("pid");
    let mut status = 0;
    // SAFETY: `rusage` is plain old data that wait4 fills; `pid` is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::wait4(pid, &mut status, 0, &mut usage)
    };
    assert_eq!(reaped, pid, "wait4 on the measured process");
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (
        Duration::from_micros(micros(usage.ru_utime)),
        Duration::from_micros(micros(usage.ru_stime)),
    )
}

async fn invoke(api: &RuntimeApi, payload: &Value) -> Duration {
    let started = Instant::now();
    match api.invoke(payload, WAIT).await.expect("answer") {
        Answer::Response(_) => started.elapsed(),
        Answer::Error(e) => panic!("function error: {e}"),
    }
}

fn failure(id: String, resource: String) -> Value {
    let mut event = sample("backup-failed-rds");
    event["id"] = json!(id);
    event["detail"]["backupJobId"] = json!(format!("job-{}", event["id"].as_str().unwrap_or_default()));
    event["detail"]["resourceArn"] = json!(format!("arn:aws:rds:eu-west-1:111122223333:db:{resource}"));
    event
}

fn storm_batch(tag: &str, round: usize) -> Value {
    let records: Vec<Value> = (0..100)
        .map(|i| {
            let event = failure(format!("{tag}-{round}-{i}"), format!("{tag}-{round}-db-{i}"));
            json!({"messageId": format!("m-{round}-{i}"), "body": event.to_string(), "eventSource": "aws:sqs"})
        })
        .collect();
    json!({"Records": records})
}

/// One measured process: the Rust binary or the Python anchor under the same Runtime API.
struct Measured {
    init: Duration,
    /// User + system.
    cpu: Duration,
    /// The kernel's share of it (system calls: sockets, writes).
    system: Duration,
    rss_kib: u64,
}

async fn measure_process(mut command: tokio::process::Command, api: &RuntimeApi, events: usize, tag: &str) -> Measured {
    let spawned = Instant::now();
    let child = command
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let pid = child.id().expect("pid");
    let polled = api.wait_first_poll(WAIT).await.expect("first poll");
    for i in 0..events {
        let event = failure(format!("{tag}-{i}"), format!("{tag}-db-{i}"));
        invoke(api, &event).await;
    }
    let rss_kib = peak_rss_kib(pid).unwrap_or_default();
    let (user, system) = stop_and_take_cpu_time(pid);
    // Reaped above: dropping the handle would signal a pid that may already be reused.
    std::mem::forget(child);
    Measured {
        init: polled - spawned,
        cpu: user + system,
        system,
        rss_kib,
    }
}

fn rust_command(binary: &Path, env: &[(&str, &str)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary);
    lambda_environment(&mut command, "rearguard-bench", Path::new("/var/task")).envs(env.iter().copied());
    command
}

fn python_command(env: &[(&str, &str)]) -> tokio::process::Command {
    let root = workspace_root();
    let anchor = root.join("../shared/anchors/python-job-alerts");
    let mut command = tokio::process::Command::new(root.join(".venv/bin/python"));
    lambda_environment(&mut command, "python-anchor", &anchor)
        .args(["-m", "awslambdaric", "handler.handler"])
        .current_dir(&anchor)
        .env("PYTHONPATH", &anchor)
        .envs(env.iter().copied());
    command
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
        "{:<42} {:.2} ms (first SDK call: connection and credentials)",
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
        storms.push(invoke(&api, &storm_batch("stateless", round)).await);
    }
    report("100-record SQS batch -> 1 digest", storms);

    match peak_rss_kib(pid) {
        Some(kib) => println!("{:<42} {:.1} MiB (VmHWM)", "peak RSS", kib as f64 / 1024.0),
        None => println!("{:<42} unavailable (no /proc)", "peak RSS"),
    }
    drop(function);

    // The same storms with the state table, for this binary and (when given) a baseline.
    let table = unique("bench-state");
    create_state_table(&sdk, &table).await;
    let mut contenders = vec![("this build", binary.clone())];
    if let Ok(baseline) = std::env::var("BENCH_BASELINE") {
        contenders.insert(0, ("baseline", PathBuf::from(baseline)));
    }
    let mut medians = Vec::new();
    for (n, (name, contender)) in contenders.iter().enumerate() {
        let tag = format!("state{n}");
        let mut stateful = env.clone();
        stateful.push(("STATE_TABLE_NAME", table.as_str()));
        let api = RuntimeApi::start().await;
        let function = FunctionProcess::spawn(contender.clone(), &api.address(), &stateful);
        api.wait_first_poll(WAIT).await.expect("function polled");
        let mut batches = Vec::new();
        for round in 0..10 {
            let answer = api.invoke(&storm_batch(&tag, round), WAIT).await.expect("answer");
            assert_eq!(
                answer,
                Answer::Response(json!({"batchItemFailures": []})),
                "nothing lost"
            );
        }
        for round in 10..15 {
            batches.push(invoke(&api, &storm_batch(&tag, round)).await);
        }
        medians.push(report(&format!("100-record batch, state table, {name}"), batches));
        drop(function);
    }
    if let [baseline, this] = medians[..] {
        println!(
            "{:<42} {:.1}x faster than the baseline",
            "state table batch wall time",
            baseline.as_secs_f64() / this.as_secs_f64()
        );
    }

    // Side by side with the Python anchor: 5 fresh processes each, init + 50 FAILED events.
    // Processes that take no event split the CPU time into init and the events' share.
    let (mut rust, mut python) = (Vec::new(), Vec::new());
    let (mut rust_idle, mut python_idle) = (Vec::new(), Vec::new());
    for round in 0..5 {
        let api = RuntimeApi::start().await;
        rust.push(measure_process(rust_command(&binary, &env), &api, 50, &format!("rs{round}")).await);
        let api = RuntimeApi::start().await;
        python.push(measure_process(python_command(&env), &api, 50, &format!("py{round}")).await);
        let api = RuntimeApi::start().await;
        rust_idle.push(measure_process(rust_command(&binary, &env), &api, 0, "").await);
        let api = RuntimeApi::start().await;
        python_idle.push(measure_process(python_command(&env), &api, 0, "").await);
    }
    let total = |m: &[Measured], f: fn(&Measured) -> f64| m.iter().map(f).sum::<f64>() / m.len() as f64;
    let cpu_ms = |m: &Measured| m.cpu.as_secs_f64() * 1000.0;
    let row = |name: &str, f: fn(&Measured) -> f64, unit: &str| {
        let (r, p) = (total(&rust, f), total(&python, f));
        println!(
            "{name:<42} Rust {r:>8.1} {unit}  Python {p:>8.1} {unit}  ratio {:.3}",
            r / p
        );
    };
    println!("side by side with ../shared/anchors/python-job-alerts (mean of 5 processes, 50 FAILED events each):");
    row("  init (spawn -> first poll)", |m| m.init.as_secs_f64() * 1000.0, "ms");
    row("  CPU time, init + 50 events", |m| m.cpu.as_secs_f64() * 1000.0, "ms");
    row("    of which in the kernel", |m| m.system.as_secs_f64() * 1000.0, "ms");
    let (r_init, p_init) = (total(&rust_idle, cpu_ms), total(&python_idle, cpu_ms));
    println!(
        "{:<42} Rust {r_init:>8.1} ms  Python {p_init:>8.1} ms  ratio {:.3}",
        "  CPU time, init only",
        r_init / p_init
    );
    let (r_event, p_event) = (
        (total(&rust, cpu_ms) - r_init) / 50.0,
        (total(&python, cpu_ms) - p_init) / 50.0,
    );
    println!(
        "{:<42} Rust {r_event:>8.2} ms  Python {p_event:>8.2} ms  ratio {:.3}",
        "  CPU time per event (difference)",
        r_event / p_event
    );
    row("  peak RSS", |m| m.rss_kib as f64 / 1024.0, "MiB");
}

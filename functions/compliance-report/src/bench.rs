//! `make bench-report`: the aggregation at organisation scale. One account with 10,000 tagged
//! resources and 100,000 recovery points (plus 20,000 copies), aggregated, serialised to JSON and
//! rendered to HTML; prints the time of each step and the process's peak memory.

use chrono::{Duration, TimeZone, Utc};
use compliance_report::aggregate::aggregate;
use compliance_report::inventory::{BackupRecord, CopyRecord, Inventory, Resource};
use compliance_report::policy::Policy;
use compliance_report::render;
use std::time::Instant;

const RESOURCES: usize = 10_000;
const POINTS_PER_RESOURCE: usize = 10;
const DR: &str = "arn:aws:backup:us-west-2:111122223333:backup-vault:dr";

fn inventory() -> Inventory {
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 6, 0, 0).unwrap();
    let types = ["EC2", "EBS", "RDS", "DynamoDB", "EFS"];
    let plans = ["production", "staging", "compliance"];
    let mut inventory = Inventory::default();
    for i in 0..RESOURCES {
        let arn = format!("arn:aws:ec2:eu-west-1:111122223333:instance/i-{i:017x}");
        inventory.resources.push(Resource {
            arn: arn.clone(),
            resource_type: types[i % types.len()].into(),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            tags: [("backup-plan".to_string(), plans[i % plans.len()].to_string())].into(),
            stopped: i % 17 == 0,
            cannot_back_up: None,
        });
        // Daily points going back; every 50th resource stopped being backed up three days ago.
        let gap = if i % 50 == 0 { 3 } else { 0 };
        for day in 0..POINTS_PER_RESOURCE {
            inventory.backups.push(BackupRecord {
                resource_arn: arn.clone(),
                completed_at: now - Duration::hours(2) - Duration::days((day + gap) as i64),
                vault_arn: None,
                newer_lost: None,
            });
        }
        for day in 0..2 {
            inventory.copies.push(CopyRecord {
                resource_arn: arn.clone(),
                destination_vault_arn: DR.into(),
                source_created_at: now - Duration::hours(5) - Duration::days(day),
            });
        }
    }
    inventory
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let policy = Policy::parse(&format!(
        r#"{{"vaults": {{"dr": {{"arn": "{DR}"}}}},
            "plans": {{"production": {{"rpo_hours": 24, "copies": [{{"vault": "dr", "rpo_hours": 48}}]}},
            "staging": {{"rpo_hours": 168}}, "compliance": {{"rpo_hours": 744}}}}}}"#
    ))
    .expect("policy");
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 6, 0, 0).unwrap();
    let started = Instant::now();
    let inventory = inventory();
    let built = started.elapsed();
    println!(
        "inventory: {} resources, {} recovery points, {} copies (built in {:.0} ms)",
        inventory.resources.len(),
        inventory.backups.len(),
        inventory.copies.len(),
        built.as_secs_f64() * 1000.0
    );
    let mut runs = Vec::new();
    let mut report = None;
    for _ in 0..7 {
        let t = Instant::now();
        report = Some(aggregate(&inventory, &policy, now));
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    runs.sort_by(|a, b| a.total_cmp(b));
    let report = report.expect("ran");
    let t = Instant::now();
    let json = serde_json::to_vec(&report).expect("json");
    let json_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let html = render::html(&report, "111122223333 in eu-west-1");
    let html_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let summary = render::summary(&report, "111122223333 in eu-west-1", None);
    let summary_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "aggregate            n=7  min={:.1} ms  median={:.1} ms  max={:.1} ms",
        runs[0], runs[3], runs[6]
    );
    println!(
        "report JSON          {:.1} ms, {:.1} MiB",
        json_ms,
        json.len() as f64 / 1048576.0
    );
    println!(
        "report HTML          {:.1} ms, {:.1} MiB",
        html_ms,
        html.len() as f64 / 1048576.0
    );
    println!(
        "SNS summary          {:.2} ms, {} bytes",
        summary_ms,
        summary.text.len()
    );
    println!(
        "coverage             overall {:.1}% ({}/{}); {}",
        report.overall.percent,
        report.overall.protected,
        report.overall.expected,
        report
            .plans
            .iter()
            .map(|p| format!("{} {:.1}%", p.plan, p.coverage.percent))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "peak RSS             {:.1} MiB (VmHWM, whole process incl. the inventory)",
        peak_rss_mib()
    );
}

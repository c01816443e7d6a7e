//! The report for people: a summary read in ten seconds (SNS, in Rearguard's message style) and a
//! self-contained HTML page (inline styles, no scripts, no external assets). Pure.

use rearguard::alert::{Alert, DOCUMENT_SCHEMA, Severity};
use rearguard::arn::short_name;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;

use crate::aggregate::{PlanReport, Report};
use crate::inventory::Resource;

pub const SOURCE: &str = "rearguard.compliance-report";
pub const REPORT_EVENT: &str = "Compliance Report";

/// How many offenders the summary names per plan.
const WORST: usize = 3;

fn label(resource: &Resource) -> String {
    format!(
        "{} ({}, {} {})",
        short_name(&resource.arn),
        resource.resource_type,
        resource.account,
        resource.region
    )
}

fn plan_line(plan: &PlanReport) -> String {
    // A plan nothing is enrolled in protects nothing: never "100% of 0".
    if plan.coverage.expected == 0 {
        return format!("{:<12} no members: no resource carries this plan", plan.plan);
    }
    let mut line = format!(
        "{:<12} {:>5.1}%  {}/{} within {}h RPO, {} stale, {} never backed up",
        plan.plan,
        plan.coverage.percent,
        plan.coverage.protected,
        plan.coverage.expected,
        plan.rpo_hours,
        plan.stale.len(),
        plan.never_backed_up.len()
    );
    if let Some(copy) = &plan.copy {
        let _ = write!(
            line,
            "; copies {}/{} within {}h",
            copy.within_rpo, plan.coverage.expected, copy.rpo_hours
        );
    }
    if let Some(clean) = &plan.clean {
        let _ = write!(
            line,
            "; clean points {}/{}, clean RPO {:.0}h",
            clean.scanned_clean, plan.coverage.expected, clean.clean_rpo_hours
        );
    }
    for drill in &plan.drills {
        let _ = match drill.last_successful_at {
            Some(at) => write!(
                line,
                "; last {} restore test {}{}",
                drill.resource_type,
                at.format("%Y-%m-%d"),
                if drill.stale { " (stale)" } else { "" }
            ),
            None => write!(line, "; no successful {} restore test", drill.resource_type),
        };
    }
    if let Some(lock) = &plan.vault_lock {
        let _ = write!(line, "; {}", lock.state.describe());
        for problem in &lock.problems {
            let _ = write!(line, "; {problem}");
        }
        if !lock.outside_vault.is_empty() {
            let _ = write!(
                line,
                "; {} backed up outside the locked vault",
                lock.outside_vault.len()
            );
        }
    }
    line
}

/// The SNS summary: per plan coverage, stale and missing, then the worst offenders.
pub fn summary(report: &Report, scope: &str, report_key: Option<&str>) -> Alert {
    let all_compliant = report.plans.iter().all(PlanReport::compliant)
        && report.unknown_plan.is_empty()
        && report.unreadable.is_empty();
    let empty_plan = report.plans.iter().any(|p| p.coverage.expected == 0);
    let severity = if all_compliant && report.untagged.is_empty() && !empty_plan {
        Severity::Info
    } else if all_compliant {
        Severity::Warning
    } else {
        Severity::Error
    };
    let copies_missing: usize = report
        .plans
        .iter()
        .filter_map(|p| p.copy.as_ref())
        .map(|c| c.missing.len())
        .sum();
    // The gaps people act on first; the subject must fit SNS's 100 characters with the scope.
    let mut gaps = Vec::new();
    if !report.untagged.is_empty() {
        gaps.push(format!("{} untagged", report.untagged.len()));
    }
    if copies_missing > 0 {
        gaps.push(format!("{copies_missing} not copied"));
    }
    let gaps = if gaps.is_empty() {
        String::new()
    } else {
        format!(": {}", gaps.join(", "))
    };
    let subject = format!(
        "[{severity}] Backup compliance {:.1}% ({}/{}){gaps} ({scope})",
        report.overall.percent, report.overall.protected, report.overall.expected
    );
    let mut text = format!(
        "Backup compliance at {} for {scope}: {:.1}% ({} of {} resources meet every requirement of their plan: \
         RPO, copies, locked vault; untagged resources count as unprotected).\n\n",
        report.generated_at.format("%Y-%m-%d %H:%M UTC"),
        report.overall.percent,
        report.overall.protected,
        report.overall.expected
    );
    for plan in &report.plans {
        let _ = writeln!(text, "  {}", plan_line(plan));
    }
    let _ = writeln!(
        text,
        "\n  untagged: {}   unknown plan: {}   opted out: {}",
        report.untagged.len(),
        report.unknown_plan.len(),
        report.opted_out.len()
    );
    for gap in &report.unreadable {
        let _ = writeln!(text, "  NOT READ: {gap}");
    }
    let mut offenders = Vec::new();
    for plan in &report.plans {
        for resource in plan.never_backed_up.iter().take(WORST) {
            let why = resource
                .cannot_back_up
                .as_ref()
                .map_or(String::new(), |why| format!("; {why}"));
            offenders.push(format!("{}: never backed up ({}){why}", label(resource), plan.plan));
        }
        for stale in plan.stale.iter().take(WORST) {
            offenders.push(format!(
                "{}: last backup {:.0}h ago, RPO {}h ({}){}",
                label(&stale.resource),
                stale.age_hours,
                plan.rpo_hours,
                plan.plan,
                stale
                    .newer_lost
                    .as_ref()
                    .map_or(String::new(), |lost| format!("; {lost}"))
            ));
        }
        for resource in plan.vault_lock.iter().flat_map(|l| &l.outside_vault).take(WORST) {
            offenders.push(format!(
                "{}: newest backup is outside the locked vault ({})",
                label(resource),
                plan.plan
            ));
        }
    }
    for flagged in report.unknown_plan.iter().take(WORST) {
        offenders.push(format!(
            "{}: unknown plan {:?}",
            label(&flagged.resource),
            flagged.value.as_deref().unwrap_or("")
        ));
    }
    if !offenders.is_empty() {
        text.push_str("\nWorst offenders:\n");
        for offender in offenders.iter().take(10) {
            let _ = writeln!(text, "  - {offender}");
        }
    }
    if let Some(key) = report_key {
        let _ = writeln!(text, "\nFull report: {key} (.json and .html)");
    }
    text.push_str("\n--\nSent by Rearguard compliance-report.\n");
    let plans: Vec<_> = report
        .plans
        .iter()
        .map(|p| {
            json!({"plan": p.plan, "coveragePercent": p.coverage.percent, "expected": p.coverage.expected,
                "protected": p.coverage.protected, "stale": p.stale.len(), "neverBackedUp": p.never_backed_up.len(),
                "copiesMissing": p.copy.as_ref().map(|c| c.missing.len()), "fullyProtected": p.fully_protected,
                "vaultLocked": p.vault_lock.as_ref().map(|l| l.holds), "lockState": p.vault_lock.as_ref().map(|l| l.state),
                "cleanRpoHours": p.clean.as_ref().map(|c| c.clean_rpo_hours), "scannedClean": p.clean.as_ref().map(|c| c.scanned_clean),
                "drills": p.drills,
                "compliant": p.compliant()})
        })
        .collect();
    let document = json!({
        "schema": DOCUMENT_SCHEMA, "source": SOURCE, "kind": "compliance_report", "severity": severity,
        "summary": subject, "scope": scope, "generatedAt": report.generated_at,
        "overall": report.overall, "plans": plans, "untagged": report.untagged.len(),
        "unknownPlan": report.unknown_plan.len(), "optedOut": report.opted_out.len(), "reportKey": report_key,
        "unreadable": report.unreadable,
    });
    let attributes = BTreeMap::from([("state".to_string(), "COMPLIANCE_REPORT".to_string())]);
    Alert::new(severity, &subject, text, document, attributes)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24}h1{font-size:20px}\
table{border-collapse:collapse;margin:8px 0 24px}td,th{border-bottom:1px solid #d0d7de;padding:4px 10px;text-align:left}\
.bar{width:240px;height:14px;background:#eee;display:inline-block;vertical-align:middle;margin-right:8px}\
.fill{height:14px}.ok{background:#1a7f37}.warn{background:#bf8700}.bad{background:#cf222e}.pct{font-weight:600}\
.stale{color:#cf222e;font-weight:600}";

/// The plan's last successful drill per resource type, for its cell: `-` where no restore test ran.
fn drill_cell(drills: &[crate::aggregate::DrillStatus]) -> String {
    if drills.is_empty() {
        return "-".into();
    }
    drills
        .iter()
        .map(|d| {
            let when = d
                .last_successful_at
                .map_or("never".to_string(), |at| at.format("%Y-%m-%d").to_string());
            let text = format!("{} {when}", escape(&d.resource_type));
            if d.stale {
                format!("<span class=\"stale\">{text} (stale)</span>")
            } else {
                text
            }
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// The whole report as one HTML page.
pub fn html(report: &Report, scope: &str) -> String {
    let mut page = String::with_capacity(4096);
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rearguard backup compliance {}</title><style>{STYLE}</style></head><body>",
        report.generated_at.format("%Y-%m-%d")
    );
    let _ = write!(
        page,
        "<h1>Backup compliance: <span id=\"overall\" class=\"pct\">{:.1}%</span></h1><p>{} of {} resources meet every requirement of their plan (RPO, copies, locked vault; untagged resources count as unprotected). Scope: {}. Generated {}.</p>",
        report.overall.percent,
        report.overall.protected,
        report.overall.expected,
        escape(scope),
        report.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    page.push_str("<h2>Plans</h2><table><tr><th>plan</th><th>coverage</th><th>within RPO</th><th>RPO</th><th>stale</th><th>never</th><th>copies</th><th>vault lock</th><th>last drill</th></tr>");
    for plan in &report.plans {
        let class = match plan.coverage.percent {
            p if p >= 100.0 => "ok",
            p if p >= 90.0 => "warn",
            _ => "bad",
        };
        let copies = plan.copy.as_ref().map_or("-".to_string(), |c| {
            format!("{}/{} within {}h", c.within_rpo, plan.coverage.expected, c.rpo_hours)
        });
        let lock = plan.vault_lock.as_ref().map_or("-".to_string(), |l| {
            std::iter::once(l.state.describe().to_string())
                .chain(l.problems.iter().cloned())
                .collect::<Vec<_>>()
                .join("; ")
        });
        let _ = write!(
            page,
            "<tr data-plan=\"{plan}\"><td>{plan}</td><td><span class=\"bar\"><span class=\"fill {class}\" style=\"display:block;width:{width:.1}%\"></span></span><span class=\"pct\">{pct:.1}%</span></td><td>{protected}/{expected}</td><td>{rpo}h</td><td>{stale}</td><td>{never}</td><td>{copies}</td><td>{lock}</td><td class=\"drills\">{drills}</td></tr>",
            lock = escape(&lock),
            drills = drill_cell(&plan.drills),
            plan = escape(&plan.plan),
            width = plan.coverage.percent,
            pct = plan.coverage.percent,
            protected = plan.coverage.protected,
            expected = plan.coverage.expected,
            rpo = plan.rpo_hours,
            stale = plan.stale.len(),
            never = plan.never_backed_up.len(),
        );
    }
    page.push_str("</table><h2>Offenders</h2><table><tr><th>resource</th><th>type</th><th>account</th><th>region</th><th>plan</th><th>problem</th></tr>");
    let row = |page: &mut String, resource: &Resource, plan: &str, problem: String| {
        let _ = write!(
            page,
            "<tr><td title=\"{arn}\">{name}</td><td>{kind}</td><td>{account}</td><td>{region}</td><td>{plan}</td><td>{problem}</td></tr>",
            arn = escape(&resource.arn),
            name = escape(short_name(&resource.arn)),
            kind = escape(&resource.resource_type),
            account = escape(&resource.account),
            region = escape(&resource.region),
            plan = escape(plan),
            problem = escape(&problem),
        );
    };
    for plan in &report.plans {
        for resource in &plan.never_backed_up {
            let stopped = if resource.stopped { " (stopped)" } else { "" };
            let why = resource
                .cannot_back_up
                .as_ref()
                .map_or(String::new(), |why| format!("; {why}"));
            row(
                &mut page,
                resource,
                &plan.plan,
                format!("never backed up{stopped}{why}"),
            );
        }
        for stale in &plan.stale {
            let lost = stale
                .newer_lost
                .as_ref()
                .map_or(String::new(), |lost| format!("; {lost}"));
            row(
                &mut page,
                &stale.resource,
                &plan.plan,
                format!(
                    "last backup {:.0}h ago (RPO {}h){lost}",
                    stale.age_hours, plan.rpo_hours
                ),
            );
        }
        for resource in plan.vault_lock.iter().flat_map(|l| &l.outside_vault) {
            row(
                &mut page,
                resource,
                &plan.plan,
                "newest backup is outside the locked vault".to_string(),
            );
        }
        for (copy, missing) in plan.copy.iter().flat_map(|c| c.missing.iter().map(move |m| (c, m))) {
            // A copy is dated by the backup it copies.
            let last = missing
                .last_copy
                .map_or(format!("no copy of a backup from the last {}h", copy.rpo_hours), |at| {
                    format!("newest copy is of a backup from {}", at.format("%Y-%m-%d %H:%M"))
                });
            row(
                &mut page,
                &missing.resource,
                &plan.plan,
                format!("copy not within RPO ({last})"),
            );
        }
    }
    for flagged in &report.unknown_plan {
        row(
            &mut page,
            &flagged.resource,
            flagged.value.as_deref().unwrap_or(""),
            "unknown plan".to_string(),
        );
    }
    for resource in &report.untagged {
        row(&mut page, resource, "-", "no backup tag".to_string());
    }
    page.push_str("</table><h2>Opted out</h2><table><tr><th>resource</th><th>type</th><th>account</th><th>region</th><th>plan</th><th>reason</th></tr>");
    for flagged in &report.opted_out {
        let reason = flagged.value.clone().unwrap_or_else(|| "NO REASON GIVEN".into());
        row(&mut page, &flagged.resource, "-", reason);
    }
    page.push_str("</table><p>Rearguard compliance-report.</p></body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::aggregate;
    use crate::inventory::{BackupRecord, Inventory};
    use crate::policy::Policy;
    use chrono::{TimeZone, Utc};

    fn report() -> Report {
        let policy =
            Policy::parse(r#"{"plans": {"production": {"rpo_hours": 24}, "staging": {"rpo_hours": 168}}}"#).unwrap();
        let resource = |name: &str, plan: &str| Resource {
            arn: format!("arn:aws:rds:eu-west-1:111122223333:db:{name}"),
            resource_type: "RDS".into(),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            tags: [("backup-plan".to_string(), plan.to_string())].into(),
            stopped: false,
            cannot_back_up: None,
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 6, 0, 0).unwrap();
        let inventory = Inventory {
            resources: vec![
                resource("orders", "production"),
                resource("<script>", "production"),
                resource("ci", "staging"),
            ],
            backups: vec![
                BackupRecord {
                    resource_arn: "arn:aws:rds:eu-west-1:111122223333:db:orders".into(),
                    completed_at: now - chrono::Duration::hours(3),
                    vault_arn: None,
                    newer_lost: None,
                },
                BackupRecord {
                    resource_arn: "arn:aws:rds:eu-west-1:111122223333:db:ci".into(),
                    completed_at: now - chrono::Duration::hours(200),
                    vault_arn: None,
                    newer_lost: Some("its newest recovery point was deleted".into()),
                },
            ],
            ..Inventory::default()
        };
        aggregate(&inventory, &policy, now)
    }

    #[test]
    fn a_plan_without_members_is_said_so_with_a_warning_not_counted_as_fully_covered() {
        let policy =
            Policy::parse(r#"{"plans": {"production": {"rpo_hours": 24}, "compliance": {"rpo_hours": 744}}}"#).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 6, 0, 0).unwrap();
        let arn = "arn:aws:rds:eu-west-1:111122223333:db:orders".to_string();
        let inventory = Inventory {
            resources: vec![Resource {
                arn: arn.clone(),
                resource_type: "RDS".into(),
                account: "111122223333".into(),
                region: "eu-west-1".into(),
                tags: [("backup-plan".to_string(), "production".to_string())].into(),
                stopped: false,
                cannot_back_up: None,
            }],
            backups: vec![BackupRecord {
                resource_arn: arn,
                completed_at: now - chrono::Duration::hours(3),
                vault_arn: None,
                newer_lost: None,
            }],
            ..Inventory::default()
        };
        let alert = summary(&aggregate(&inventory, &policy, now), "111122223333 eu-west-1", None);
        assert!(alert.subject.starts_with("[WARNING]"), "{}", alert.subject);
        assert!(alert.text.contains("compliance   no members"), "{}", alert.text);
        assert!(!alert.text.contains("compliance   100.0%"), "{}", alert.text);
    }

    #[test]
    fn the_summary_gives_coverage_per_plan_and_names_offenders() {
        let alert = summary(&report(), "111122223333 eu-west-1", Some("reports/2026/11/26/x"));
        assert_eq!(
            alert.subject,
            "[ERROR] Backup compliance 33.3% (1/3) (111122223333 eu-west-1)"
        );
        assert!(
            alert
                .text
                .contains("production    50.0%  1/2 within 24h RPO, 0 stale, 1 never backed up"),
            "{}",
            alert.text
        );
        assert!(
            alert
                .text
                .contains("ci (RDS, 111122223333 eu-west-1): last backup 200h ago, RPO 168h (staging); its newest recovery point was deleted"),
            "{}",
            alert.text
        );
        assert_eq!(alert.document["plans"][0]["coveragePercent"], 50.0);
    }

    #[test]
    fn the_page_gives_each_plan_its_last_drill_per_type_and_marks_a_stale_one() {
        let mut report = report();
        assert!(
            html(&report, "x").contains("<td class=\"drills\">-</td>"),
            "no restore tests"
        );
        report.plans[0].drills = vec![
            crate::aggregate::DrillStatus {
                resource_type: "DynamoDB".into(),
                last_successful_at: Some(Utc.with_ymd_and_hms(2026, 11, 21, 5, 40, 0).unwrap()),
                stale: false,
            },
            crate::aggregate::DrillStatus {
                resource_type: "RDS".into(),
                last_successful_at: None,
                stale: true,
            },
        ];
        let page = html(&report, "x");
        assert!(
            page.contains(
                "<td class=\"drills\">DynamoDB 2026-11-21<br><span class=\"stale\">RDS never (stale)</span></td>"
            ),
            "{page}"
        );
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_names() {
        let page = html(&report(), "111122223333 eu-west-1");
        assert!(page.contains("id=\"overall\" class=\"pct\">33.3%"));
        assert!(page.contains("data-plan=\"production\""));
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
        assert!(
            !page.contains("http://") && !page.contains("https://") && !page.contains("src="),
            "no external assets"
        );
    }
}

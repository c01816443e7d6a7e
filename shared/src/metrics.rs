//! CloudWatch Embedded Metric Format (EMF) lines, with Powertools' conventions: a namespace, a
//! `service` dimension on every metric, low-cardinality dimensions only, and a `ColdStart` metric.
//!
//! Hand-written rather than taken from a `metrics`-facade crate: those install a process-global
//! recorder, and this is one JSON document per dimension set.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::collections::BTreeMap;

type DimensionSet = Vec<(String, String)>;

/// Counters collected during one invocation; [`Metrics::flush`] prints them.
#[derive(Debug)]
pub struct Metrics {
    namespace: String,
    service: String,
    /// Per dimension set, each metric's value and EMF unit.
    counts: BTreeMap<DimensionSet, BTreeMap<String, (f64, &'static str)>>,
}

impl Metrics {
    pub fn new(namespace: &str, service: &str) -> Metrics {
        Metrics {
            namespace: namespace.into(),
            service: service.into(),
            counts: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, name: &str, dimensions: &[(&str, &str)], value: f64) {
        self.add_in(name, dimensions, value, "Count");
    }

    /// A percentage (EMF unit `Percent`), e.g. a coverage figure.
    pub fn percent(&mut self, name: &str, dimensions: &[(&str, &str)], value: f64) {
        self.add_in(name, dimensions, value, "Percent");
    }

    /// A measured figure in a unit CloudWatch has no name for (hours, minutes): EMF unit `None`
    /// ("Embedded metric format specification": Unit values are CloudWatch's `StandardUnit`s).
    pub fn figure(&mut self, name: &str, dimensions: &[(&str, &str)], value: f64) {
        self.add_in(name, dimensions, value, "None");
    }

    fn add_in(&mut self, name: &str, dimensions: &[(&str, &str)], value: f64, unit: &'static str) {
        let mut set: DimensionSet = vec![("service".into(), self.service.clone())];
        set.extend(dimensions.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let entry = self
            .counts
            .entry(set)
            .or_default()
            .entry(name.to_string())
            .or_insert((0.0, unit));
        entry.0 += value;
    }

    pub fn count(&mut self, name: &str, dimensions: &[(&str, &str)]) {
        self.add(name, dimensions, 1.0);
    }

    /// One EMF document per dimension set, as JSON lines, and clears the counters.
    pub fn render(&mut self, timestamp_ms: i64) -> Vec<String> {
        let lines = self
            .counts
            .iter()
            .map(|(dimensions, metrics)| {
                serde_json::to_string(&Document {
                    namespace: &self.namespace,
                    timestamp_ms,
                    dimensions,
                    metrics,
                })
                .expect("strings and numbers serialise")
            })
            .collect();
        self.counts.clear();
        lines
    }

    /// Prints the EMF lines on stdout, where the Lambda log agent extracts them: one write for
    /// all of them (stdout is line-buffered, so a `println!` each would be a system call each).
    pub fn flush(&mut self) {
        let timestamp_ms = chrono::Utc::now().timestamp_millis();
        // A log line that cannot be written is not worth failing the invocation for.
        let _ = self.write_to(&mut std::io::stdout().lock(), timestamp_ms);
    }

    /// The EMF lines, each ending in a newline, in one `write_all`; nothing when no metric was
    /// counted.
    fn write_to(&mut self, out: &mut impl std::io::Write, timestamp_ms: i64) -> std::io::Result<()> {
        let lines = self.render(timestamp_ms);
        if lines.is_empty() {
            return Ok(());
        }
        let mut text = lines.join("\n");
        text.push('\n');
        out.write_all(text.as_bytes())
    }
}

/// One EMF document ("Embedded metric format specification"): the metric directive under
/// `_aws`, then each dimension's value and each metric's value as top-level members. Written
/// straight from the counters: every invocation prints these, so no JSON tree is built for them.
struct Document<'a> {
    namespace: &'a str,
    timestamp_ms: i64,
    dimensions: &'a DimensionSet,
    metrics: &'a BTreeMap<String, (f64, &'static str)>,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let keys: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let definitions: Vec<Definition<'_>> = self
            .metrics
            .iter()
            .map(|(name, (_, unit))| Definition { name, unit })
            .collect();
        let directive = Directive {
            namespace: self.namespace,
            dimensions: [keys],
            metrics: definitions,
        };
        let mut doc = serializer.serialize_map(None)?;
        doc.serialize_entry(
            "_aws",
            &Metadata {
                timestamp: self.timestamp_ms,
                cloud_watch_metrics: [directive],
            },
        )?;
        for (key, value) in self.dimensions {
            doc.serialize_entry(key, value)?;
        }
        for (name, (value, _)) in self.metrics {
            doc.serialize_entry(name, value)?;
        }
        doc.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    timestamp: i64,
    #[serde(rename = "CloudWatchMetrics")]
    cloud_watch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: [Vec<&'a str>; 1],
    metrics: Vec<Definition<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition<'a> {
    name: &'a str,
    unit: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn counts_with_the_same_dimensions_share_one_document() {
        let mut metrics = Metrics::new("Rearguard", "job-alerts");
        metrics.count("JobsSeen", &[("jobType", "BACKUP"), ("state", "FAILED")]);
        metrics.count("JobsSeen", &[("jobType", "BACKUP"), ("state", "FAILED")]);
        metrics.count("Alerts", &[("severity", "CRITICAL")]);
        let lines = metrics.render(1_700_000_000_000);
        assert_eq!(lines.len(), 2);
        let jobs: Value = lines
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|d| d.get("JobsSeen").is_some())
            .unwrap();
        assert_eq!(jobs["JobsSeen"], 2.0);
        assert_eq!(jobs["service"], "job-alerts");
        assert_eq!(jobs["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Rearguard");
        assert_eq!(
            jobs["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            json!(["service", "jobType", "state"])
        );
        assert_eq!(jobs["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }

    #[test]
    fn a_document_is_the_directive_and_the_values_nothing_else() {
        let mut metrics = Metrics::new("Rearguard", "job-alerts");
        metrics.count("AlertsPublished", &[("severity", "CRITICAL")]);
        metrics.add("AlertsPublished", &[("severity", "CRITICAL")], 2.0);
        metrics.count("Digests", &[("severity", "CRITICAL")]);
        let doc: Value = serde_json::from_str(&metrics.render(1_700_000_000_000)[0]).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Rearguard",
                        "Dimensions": [["service", "severity"]],
                        "Metrics": [{"Name": "AlertsPublished", "Unit": "Count"}, {"Name": "Digests", "Unit": "Count"}]
                    }]
                },
                "service": "job-alerts",
                "severity": "CRITICAL",
                "AlertsPublished": 3.0,
                "Digests": 1.0
            })
        );
    }

    #[test]
    fn a_percentage_carries_its_unit() {
        let mut metrics = Metrics::new("Rearguard", "compliance-report");
        metrics.percent("CoveragePercent", &[("Plan", "production")], 99.5);
        metrics.add("Stale", &[("Plan", "production")], 2.0);
        let doc: Value = serde_json::from_str(&metrics.render(0)[0]).unwrap();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "CoveragePercent", "Unit": "Percent"}, {"Name": "Stale", "Unit": "Count"}])
        );
        assert_eq!(doc["CoveragePercent"], 99.5);
    }

    #[test]
    fn a_figure_has_no_unit() {
        let mut metrics = Metrics::new("Rearguard", "restore-drill");
        metrics.figure("DrillRpoHours", &[("plan", "production")], 26.5);
        let doc: Value = serde_json::from_str(&metrics.render(0)[0]).unwrap();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "DrillRpoHours", "Unit": "None"}])
        );
        assert_eq!(doc["DrillRpoHours"], 26.5);
    }

    /// Counts the writes it is given, as a line-buffered stdout would turn each into a system call.
    #[derive(Default)]
    struct CountingWriter {
        writes: usize,
        bytes: Vec<u8>,
    }

    impl std::io::Write for CountingWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_dimension_set_is_one_line_and_all_lines_go_out_in_one_write() {
        let mut metrics = Metrics::new("Rearguard", "job-alerts");
        metrics.count("ColdStart", &[]);
        metrics.count("JobsSeen", &[("jobType", "BACKUP"), ("state", "FAILED")]);
        metrics.count("AlertsPublished", &[("severity", "CRITICAL")]);
        let mut out = CountingWriter::default();

        metrics.write_to(&mut out, 1_700_000_000_000).unwrap();

        assert_eq!(out.writes, 1);
        let text = String::from_utf8(out.bytes).unwrap();
        assert!(text.ends_with('\n'), "{text}");
        let docs: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(docs.len(), 3);
        assert!(
            docs.iter()
                .all(|d| d["_aws"]["Timestamp"] == 1_700_000_000_000i64 && d["service"] == "job-alerts")
        );
        assert!(
            docs.iter()
                .any(|d| d["AlertsPublished"] == 1.0 && d["severity"] == "CRITICAL")
        );
    }

    #[test]
    fn nothing_counted_writes_nothing() {
        let mut metrics = Metrics::new("Rearguard", "job-alerts");
        let mut out = CountingWriter::default();
        metrics.write_to(&mut out, 0).unwrap();
        assert_eq!(out.writes, 0);
    }

    #[test]
    fn render_clears_the_counters() {
        let mut metrics = Metrics::new("Rearguard", "job-alerts");
        metrics.count("Alerts", &[]);
        assert_eq!(metrics.render(0).len(), 1);
        assert!(metrics.render(0).is_empty());
    }
}

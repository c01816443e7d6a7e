//! CloudWatch Embedded Metric Format (EMF) lines, with Powertools' conventions: a namespace, a
//! `service` dimension on every metric, low-cardinality dimensions only, and a `ColdStart` metric.
//!
//! Hand-written rather than taken from a `metrics`-facade crate: those install a process-global
//! recorder, and this is one JSON document per dimension set.

use serde_json::{Map, Value, json};
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
                let mut doc = Map::new();
                let keys: Vec<&str> = dimensions.iter().map(|(k, _)| k.as_str()).collect();
                let definitions: Vec<Value> = metrics
                    .iter()
                    .map(|(name, (_, unit))| json!({"Name": name, "Unit": unit}))
                    .collect();
                doc.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{"Namespace": self.namespace, "Dimensions": [keys], "Metrics": definitions}]
                    }),
                );
                for (k, v) in dimensions {
                    doc.insert(k.clone(), json!(v));
                }
                for (name, (value, _)) in metrics {
                    doc.insert(name.clone(), json!(value));
                }
                Value::Object(doc).to_string()
            })
            .collect();
        self.counts.clear();
        lines
    }

    /// Prints the EMF lines on stdout, where the Lambda log agent extracts them.
    pub fn flush(&mut self) {
        for line in self.render(chrono::Utc::now().timestamp_millis()) {
            println!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn render_clears_the_counters() {
        let mut metrics = Metrics::new("Rearguard", "job-alerts");
        metrics.count("Alerts", &[]);
        assert_eq!(metrics.render(0).len(), 1);
        assert!(metrics.render(0).is_empty());
    }
}

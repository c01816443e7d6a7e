//! compliance-report: "100% of production resources backed up within their RPO", proven daily.
//! The pure parts (policy, inventory, aggregation, rendering) are a library so the benchmark
//! measures exactly what the function runs.

pub mod aggregate;
pub mod config;
pub mod drill_age;
pub mod gather;
pub mod handler;
pub mod inventory;
pub mod policy;
pub mod render;

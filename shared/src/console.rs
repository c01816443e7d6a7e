//! Deep links into the AWS Backup console, so an alert takes a person straight to the job.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::backup_events::JobKind;

/// Job ids are GUIDs; keep their dashes readable and escape anything else.
const JOB_ID: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// The console host for a region's partition (commercial, China, GovCloud).
fn console_host(region: &str) -> String {
    if region.starts_with("cn-") {
        "console.amazonaws.cn".into()
    } else if region.starts_with("us-gov-") {
        "console.amazonaws-us-gov.com".into()
    } else {
        format!("{region}.console.aws.amazon.com")
    }
}

/// `https://<region>.console.aws.amazon.com/backup/home?region=<region>#/jobs/<kind>/details/<id>`
pub fn job_link(region: &str, kind: JobKind, job_id: &str) -> String {
    let segment = match kind {
        JobKind::Backup => "backup",
        JobKind::Copy => "copy",
        JobKind::Restore => "restore",
    };
    let id = utf8_percent_encode(job_id, JOB_ID);
    format!(
        "https://{}/backup/home?region={region}#/jobs/{segment}/details/{id}",
        console_host(region)
    )
}

/// The job list for a kind, used when an event carries no job id (copy CREATED).
pub fn jobs_link(region: &str, kind: JobKind) -> String {
    let segment = match kind {
        JobKind::Backup => "backup",
        JobKind::Copy => "copy",
        JobKind::Restore => "restore",
    };
    format!(
        "https://{}/backup/home?region={region}#/jobs/{segment}",
        console_host(region)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_link_points_at_the_regional_console_job_page() {
        assert_eq!(
            job_link("eu-west-1", JobKind::Copy, "ABC-123/x"),
            "https://eu-west-1.console.aws.amazon.com/backup/home?region=eu-west-1#/jobs/copy/details/ABC-123%2Fx"
        );
    }

    #[test]
    fn china_and_govcloud_use_their_own_console_hosts() {
        assert!(job_link("cn-north-1", JobKind::Backup, "x").starts_with("https://console.amazonaws.cn/"));
        assert!(jobs_link("us-gov-west-1", JobKind::Restore).starts_with("https://console.amazonaws-us-gov.com/"));
    }
}

//! The longest gap between two runs of a backup rule's schedule, so a plan's RPO can be derived
//! from the schedule that AWS Backup runs instead of being written twice.
//!
//! AWS Backup takes EventBridge schedule expressions (*Creating a backup plan*: "cron
//! expressions" with six fields, `rate(...)`), and a job may start as late as the rule's start
//! window and run until its completion window closes (*Backup plan options and configuration*),
//! so a backup can be that much younger than the schedule says: effective RPO = longest gap +
//! start window + completion window.
//!
//! Only the shapes backup plans use are understood: `rate(N minutes|hours|days)`, and
//! `cron(M H DOM MONTH DOW YEAR)` that fires on fixed minutes and hours of every day, of some
//! days of the week, or of one day of the month. Anything else is refused with the advice to
//! state `rpo_hours`, never guessed.

/// The longest time between two runs, in minutes.
pub fn longest_gap_minutes(expression: &str) -> Result<i64, String> {
    let expression = expression.trim();
    if let Some(inner) = expression.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
        return rate(inner);
    }
    if let Some(inner) = expression.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
        return cron(inner);
    }
    Err(format!("{expression:?} is neither cron(...) nor rate(...)"))
}

fn rate(inner: &str) -> Result<i64, String> {
    let mut parts = inner.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("rate({inner}) is not rate(VALUE UNIT)"));
    };
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("rate({inner}): {n:?} is not a positive whole number"))?;
    let unit_minutes = match unit {
        "minute" | "minutes" => 1,
        "hour" | "hours" => 60,
        "day" | "days" => 1440,
        other => return Err(format!("rate({inner}): unknown unit {other:?}")),
    };
    Ok(n * unit_minutes)
}

const DAY: i64 = 1440;
const WEEK: i64 = 7 * DAY;
/// The longest month: a rule on day N runs again at most 31 days later.
const LONGEST_MONTH: i64 = 31 * DAY;

fn cron(inner: &str) -> Result<i64, String> {
    let fields: Vec<&str> = inner.split_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week, _year] = fields[..] else {
        return Err(format!(
            "cron({inner}) needs six fields (minutes hours day-of-month month day-of-week year)"
        ));
    };
    let unsupported = || format!("cron({inner}): cannot tell how often this runs");
    if month != "*" {
        return Err(unsupported());
    }
    let minutes = values(minutes, 0, 59).ok_or_else(unsupported)?;
    let hours = values(hours, 0, 23).ok_or_else(unsupported)?;
    // Minutes of the day the rule fires at, in order.
    let mut times: Vec<i64> = hours
        .iter()
        .flat_map(|h| minutes.iter().map(move |m| h * 60 + m))
        .collect();
    times.sort_unstable();
    if times.is_empty() {
        return Err(unsupported());
    }
    let any = |f: &str| f == "*" || f == "?";
    match (any(day_of_month), any(day_of_week)) {
        (true, true) => Ok(largest_circular_gap(&times, DAY)),
        (true, false) => {
            let days = weekdays(day_of_week).ok_or_else(unsupported)?;
            let in_week: Vec<i64> = days
                .iter()
                .flat_map(|d| times.iter().map(move |t| d * DAY + t))
                .collect();
            Ok(largest_circular_gap(&in_week, WEEK))
        }
        // Days 29 to 31 are missing from some months (the rule skips them), so only 1 to 28
        // and the last day (`L`) run every month.
        (false, true) if day_of_month == "L" || day_of_month.parse::<i64>().is_ok_and(|d| (1..=28).contains(&d)) => {
            Ok(LONGEST_MONTH - (times[times.len() - 1] - times[0]))
        }
        _ => Err(unsupported()),
    }
}

/// The values of a minutes or hours field: `N`, `N,M,...`, `*` or `*/STEP` (`A/STEP`).
fn values(field: &str, min: i64, max: i64) -> Option<Vec<i64>> {
    if let Some((start, step)) = field.split_once('/') {
        let start = if start == "*" { min } else { start.parse().ok()? };
        let step: i64 = step.parse().ok().filter(|s| *s > 0)?;
        return Some((start..=max).step_by(step as usize).collect());
    }
    if field == "*" {
        return Some((min..=max).collect());
    }
    field
        .split(',')
        .map(|v| v.parse().ok().filter(|v| (min..=max).contains(v)))
        .collect()
}

/// Days of the week (0 = Sunday): `SUN`, `MON-FRI`, `1,4`, as EventBridge writes them
/// (1 = Sunday ... 7 = Saturday).
fn weekdays(field: &str) -> Option<Vec<i64>> {
    const NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let day = |s: &str| -> Option<i64> {
        NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(s))
            .map(|i| i as i64)
            .or_else(|| s.parse::<i64>().ok().filter(|d| (1..=7).contains(d)).map(|d| d - 1))
    };
    let mut days = Vec::new();
    for part in field.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                if a > b {
                    return None;
                }
                days.extend(a..=b);
            }
            None => days.push(day(part)?),
        }
    }
    days.sort_unstable();
    days.dedup();
    Some(days)
}

/// The largest gap between consecutive points on a circle of `period` (one point: the period).
fn largest_circular_gap(points: &[i64], period: i64) -> i64 {
    match points {
        [] => period,
        [_] => period,
        _ => {
            let wrap = points[0] + period - points[points.len() - 1];
            points.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0).max(wrap)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedules_backup_plans_use_have_their_longest_gap() {
        assert_eq!(longest_gap_minutes("cron(0 3 * * ? *)"), Ok(24 * 60), "daily");
        assert_eq!(longest_gap_minutes("cron(0 4 ? * SUN *)"), Ok(7 * 24 * 60), "weekly");
        assert_eq!(
            longest_gap_minutes("cron(0 5 1 * ? *)"),
            Ok(31 * 24 * 60),
            "monthly: the longest month"
        );
        assert_eq!(longest_gap_minutes("cron(0 5 L * ? *)"), Ok(31 * 24 * 60));
        assert_eq!(longest_gap_minutes("cron(0 0/12 * * ? *)"), Ok(12 * 60), "twice a day");
        assert_eq!(
            longest_gap_minutes("cron(0 2,8 * * ? *)"),
            Ok(18 * 60),
            "uneven: the night gap"
        );
        assert_eq!(longest_gap_minutes("rate(12 hours)"), Ok(12 * 60));
        assert_eq!(longest_gap_minutes("rate(1 day)"), Ok(24 * 60));
    }

    #[test]
    fn weekdays_only_leave_the_weekend_as_the_longest_gap() {
        assert_eq!(longest_gap_minutes("cron(0 3 ? * MON-FRI *)"), Ok(3 * 24 * 60));
        assert_eq!(
            longest_gap_minutes("cron(0 3 ? * 2,5 *)"),
            Ok(4 * 24 * 60),
            "Monday and Thursday"
        );
    }

    #[test]
    fn what_cannot_be_read_is_refused_not_guessed() {
        assert!(longest_gap_minutes("cron(0 3 1 JAN ? *)").is_err(), "yearly by month");
        assert!(longest_gap_minutes("cron(0 3 1,15 * ? *)").is_err());
        assert!(longest_gap_minutes("cron(0 3 * *)").is_err());
        assert!(longest_gap_minutes("daily").is_err());
        assert!(longest_gap_minutes("rate(0 hours)").is_err());
        assert!(longest_gap_minutes("rate(2 weeks)").is_err());
    }
}

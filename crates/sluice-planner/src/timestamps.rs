//! Timestamp text as ksqlDB accepts it in comparisons with ROWTIME and window
//! bounds: ISO-8601, possibly partial (`2020`, `2020-02`, `2020-02-10T08`), with an
//! optional fraction and zone (`Z`, `+0100`, `+01:00`); UTC when no zone is given.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Epoch millis of `text`, or None when it is not a (partial) timestamp.
pub fn parse_partial(text: &str) -> Option<i64> {
    let t = text.trim();
    let (datetime, zone) = split_zone(t);
    let (date_part, time_part) = match datetime.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (datetime, None),
    };
    let mut d = date_part.split('-');
    let year: i32 = d.next()?.parse().ok()?;
    let month: u32 = d.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u32 = d.next().map_or(Some(1), |m| m.parse().ok())?;
    let mut date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = match time_part {
        None => NaiveTime::from_hms_opt(0, 0, 0)?,
        Some(tp) => {
            let (hms, frac) = tp.split_once('.').unwrap_or((tp, ""));
            let mut parts = hms.split(':');
            let h: u32 = parts.next()?.parse().ok()?;
            let m: u32 = parts.next().map_or(Some(0), |x| x.parse().ok())?;
            let s: u32 = parts.next().map_or(Some(0), |x| x.parse().ok())?;
            let millis: u32 = if frac.is_empty() {
                0
            } else {
                let digits: String = frac.chars().take(3).collect();
                format!("{digits:0<3}").parse().ok()?
            };
            if (h, m, s, millis) == (24, 0, 0, 0) {
                // as Java's (smart) resolver reads it: the end of the day,
                // which is midnight of the next one
                date = date.succ_opt()?;
                NaiveTime::from_hms_opt(0, 0, 0)?
            } else {
                NaiveTime::from_hms_milli_opt(h, m, s, millis)?
            }
        }
    };
    let local = NaiveDateTime::new(date, time);
    let ms = match zone {
        None => Utc.from_utc_datetime(&local).timestamp_millis(),
        Some(offset) => offset
            .from_local_datetime(&local)
            .single()?
            .timestamp_millis(),
    };
    Some(ms)
}

fn split_zone(t: &str) -> (&str, Option<FixedOffset>) {
    if let Some(rest) = t.strip_suffix('Z') {
        return (rest, FixedOffset::east_opt(0));
    }
    // a sign after the time part starts the offset
    if let Some(tpos) = t.find('T') {
        if let Some(i) = t[tpos..].rfind(['+', '-']) {
            let at = tpos + i;
            let zone = &t[at..];
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            if digits.len() == 4 || digits.len() == 2 {
                let h: i32 = digits[..2].parse().unwrap_or(0);
                let m: i32 = if digits.len() == 4 {
                    digits[2..].parse().unwrap_or(0)
                } else {
                    0
                };
                return (&t[..at], FixedOffset::east_opt(sign * (h * 3600 + m * 60)));
            }
        }
    }
    (t, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_and_zoned_timestamps() {
        assert_eq!(parse_partial("1970-01-01T00:00:00.001"), Some(1));
        assert_eq!(parse_partial("1970"), Some(0));
        // hour 24 is the next day's midnight, and nothing past it
        assert_eq!(parse_partial("1970-01-01T24"), Some(86_400_000));
        assert_eq!(
            parse_partial("1970-01-31T24:00"),
            parse_partial("1970-02-01")
        );
        assert_eq!(parse_partial("1970-01-01T24:01"), None);
        assert_eq!(parse_partial("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_partial("1970-01-01T01:00:00+0100"), Some(0));
        assert_eq!(parse_partial("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_partial("not a time"), None);
    }
}

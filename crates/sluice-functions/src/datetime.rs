//! Date and time functions. Patterns are Java `DateTimeFormatter` patterns
//! (see `javafmt`); time zones are Java zone ids, UTC by default.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion_common::ScalarValue;

use crate::def::{def, Ctx, FnDef};
use crate::javafmt::{self, parse_zone, Tok, Zone};
use crate::util::{as_i64, as_str, i32v, i64v, s};

const CAT: &str = "DATE / TIME";
const MS_PER_DAY: i64 = 86_400_000;

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(CAT, "UNIX_DATE", "Days since the epoch of the given date, or of today (UTC).",
            &["UNIX_DATE() => INT", "UNIX_DATE(date DATE) => INT"], |a, _| match a.first() {
                Some(d) => i32v(i32::try_from(as_i64(d)?).ok()?),
                None => i32v(now_millis().div_euclid(MS_PER_DAY) as i32),
            }).volatile(),
        def(CAT, "UNIX_TIMESTAMP", "Milliseconds since the epoch of the given timestamp, or now.",
            &["UNIX_TIMESTAMP() => BIGINT", "UNIX_TIMESTAMP(timestamp TIMESTAMP) => BIGINT"], |a, _| match a.first() {
                Some(t) => i64v(as_i64(t)?),
                None => i64v(now_millis()),
            }).volatile(),
        def(CAT, "DATEADD", "Adds an interval of the given unit (truncated to whole days) to a date.",
            &["DATEADD(unit STRING, interval INT, date DATE) => DATE"], |a, _| shift_date(a, 1)),
        def(CAT, "DATESUB", "Subtracts an interval of the given unit (truncated to whole days) from a date.",
            &["DATESUB(unit STRING, interval INT, date DATE) => DATE"], |a, _| shift_date(a, -1)),
        def(CAT, "TIMEADD", "Adds an interval of the given unit to a time, wrapping around midnight.",
            &["TIMEADD(unit STRING, interval INT, time TIME) => TIME"], |a, _| shift_time(a, 1)),
        def(CAT, "TIMESUB", "Subtracts an interval of the given unit from a time, wrapping around midnight.",
            &["TIMESUB(unit STRING, interval INT, time TIME) => TIME"], |a, _| shift_time(a, -1)),
        def(CAT, "TIMESTAMPADD", "Adds an interval of the given unit to a timestamp.",
            &["TIMESTAMPADD(unit STRING, interval BIGINT, timestamp TIMESTAMP) => TIMESTAMP"], |a, _| shift_ts(a, 1)),
        def(CAT, "TIMESTAMPSUB", "Subtracts an interval of the given unit from a timestamp.",
            &["TIMESTAMPSUB(unit STRING, interval BIGINT, timestamp TIMESTAMP) => TIMESTAMP"], |a, _| shift_ts(a, -1)),
        def(CAT, "PARSE_DATE", "Parses a string into a DATE using a Java date pattern.",
            &["PARSE_DATE(date STRING, format STRING) => DATE"], |a, _| {
                Some(ScalarValue::Date32(Some(parse_date(as_str(&a[0])?, as_str(&a[1])?)?)))
            }),
        def(CAT, "FORMAT_DATE", "Formats a DATE using a Java date pattern.",
            &["FORMAT_DATE(date DATE, format STRING) => STRING"], |a, _| {
                s(format_date(as_i64(&a[0])?, as_str(&a[1])?)?)
            }),
        def(CAT, "PARSE_TIME", "Parses a string into a TIME using a Java time pattern.",
            &["PARSE_TIME(time STRING, format STRING) => TIME"], parse_time),
        def(CAT, "FORMAT_TIME", "Formats a TIME using a Java time pattern.",
            &["FORMAT_TIME(time TIME, format STRING) => STRING"], format_time),
        def(CAT, "PARSE_TIMESTAMP", "Parses a string into a TIMESTAMP using a Java pattern, in the given zone (default UTC).",
            &["PARSE_TIMESTAMP(timestamp STRING, format STRING) => TIMESTAMP",
              "PARSE_TIMESTAMP(timestamp STRING, format STRING, timeZone STRING) => TIMESTAMP"],
            |a, _| Some(ScalarValue::TimestampMillisecond(Some(parse_ts(a)?), None))),
        def(CAT, "FORMAT_TIMESTAMP", "Formats a TIMESTAMP using a Java pattern, in the given zone (default UTC).",
            &["FORMAT_TIMESTAMP(timestamp TIMESTAMP, format STRING) => STRING",
              "FORMAT_TIMESTAMP(timestamp TIMESTAMP, format STRING, timeZone STRING) => STRING"], |a, _| s(format_ts(a)?)),
        def(CAT, "CONVERT_TZ", "Converts a TIMESTAMP's wall-clock time from one zone to another.",
            &["CONVERT_TZ(timestamp TIMESTAMP, fromTimeZone STRING, toTimeZone STRING) => TIMESTAMP"], convert_tz),
        def(CAT, "FROM_DAYS", "The DATE that is the given number of days after the epoch.",
            &["FROM_DAYS(days INT) => DATE"], |a, _| Some(ScalarValue::Date32(Some(i32::try_from(as_i64(&a[0])?).ok()?)))),
        def(CAT, "FROM_UNIXTIME", "The TIMESTAMP of the given epoch milliseconds.",
            &["FROM_UNIXTIME(milliseconds BIGINT) => TIMESTAMP"], |a, _| Some(ScalarValue::TimestampMillisecond(Some(as_i64(&a[0])?), None))),
        def(CAT, "DATETOSTRING", "Formats days since the epoch using a Java date pattern (deprecated; use FORMAT_DATE).",
            &["DATETOSTRING(epochDays INT, format STRING) => STRING"], |a, _| s(format_date(as_i64(&a[0])?, as_str(&a[1])?)?)),
        def(CAT, "STRINGTODATE", "Parses a string into days since the epoch (deprecated; use PARSE_DATE).",
            &["STRINGTODATE(date STRING, format STRING) => INT"], |a, _| i32v(parse_date(as_str(&a[0])?, as_str(&a[1])?)?)),
        def(CAT, "STRINGTOTIMESTAMP", "Parses a string into epoch milliseconds (deprecated; use PARSE_TIMESTAMP).",
            &["STRINGTOTIMESTAMP(timestamp STRING, format STRING) => BIGINT",
              "STRINGTOTIMESTAMP(timestamp STRING, format STRING, timeZone STRING) => BIGINT"], |a, _| i64v(parse_ts(a)?)),
        def(CAT, "TIMESTAMPTOSTRING", "Formats epoch milliseconds using a Java pattern (deprecated; use FORMAT_TIMESTAMP).",
            &["TIMESTAMPTOSTRING(epochMilli BIGINT, format STRING) => STRING",
              "TIMESTAMPTOSTRING(epochMilli BIGINT, format STRING, timeZone STRING) => STRING"], |a, _| s(format_ts(a)?)),
    ]);
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds in one `unit` (Java `TimeUnit` names, singular accepted).
fn unit_millis(unit: &str) -> Option<f64> {
    let u = unit.trim().to_ascii_uppercase();
    let u = u.strip_suffix('S').unwrap_or(&u);
    Some(match u {
        "NANOSECOND" => 1e-6,
        "MICROSECOND" => 1e-3,
        "MILLISECOND" => 1.0,
        "SECOND" => 1e3,
        "MINUTE" => 60e3,
        "HOUR" => 3600e3,
        "DAY" => 86_400e3,
        _ => return None,
    })
}

/// `interval` of `unit` in whole units of `per` milliseconds (truncating,
/// like Java's `TimeUnit.convert`).
fn convert(unit: &ScalarValue, interval: i64, per: f64) -> Option<i64> {
    let m = unit_millis(as_str(unit)?)?;
    let v = (interval as f64 * m / per).trunc();
    if v.is_finite() && v.abs() < 9.2e18 {
        Some(v as i64)
    } else {
        None
    }
}

fn shift_date(a: &[ScalarValue], sign: i64) -> Option<ScalarValue> {
    let days = convert(&a[0], as_i64(&a[1])?, 86_400e3)?;
    let d = as_i64(&a[2])?.checked_add(sign * days)?;
    Some(ScalarValue::Date32(Some(i32::try_from(d).ok()?)))
}

fn shift_time(a: &[ScalarValue], sign: i64) -> Option<ScalarValue> {
    let ms = convert(&a[0], as_i64(&a[1])?, 1.0)?;
    let t = (as_i64(&a[2])? + sign * (ms % MS_PER_DAY)).rem_euclid(MS_PER_DAY);
    Some(ScalarValue::Time32Millisecond(Some(t as i32)))
}

fn shift_ts(a: &[ScalarValue], sign: i64) -> Option<ScalarValue> {
    let ms = convert(&a[0], as_i64(&a[1])?, 1.0)?;
    let t = as_i64(&a[2])?.checked_add(sign.checked_mul(ms)?)?;
    Some(ScalarValue::TimestampMillisecond(Some(t), None))
}

fn tokens(fmt: &str) -> Option<Vec<Tok>> {
    javafmt::tokenize(fmt)
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn parse_date(x: &str, fmt: &str) -> Option<i32> {
    let toks = tokens(fmt)?;
    let p = javafmt::parse(&toks, x)?;
    let d = p.date()?;
    i32::try_from(d.signed_duration_since(epoch()).num_days()).ok()
}

fn format_date(days: i64, fmt: &str) -> Option<String> {
    let toks = tokens(fmt)?;
    if javafmt::has_time_fields(&toks) {
        return None;
    }
    let d = epoch().checked_add_signed(chrono::Duration::days(days))?;
    javafmt::format(&toks, &d.and_time(NaiveTime::MIN), None)
}

fn parse_time(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let toks = tokens(as_str(&a[1])?)?;
    if javafmt::has_date_fields(&toks) {
        return None;
    }
    let t = javafmt::parse(&toks, as_str(&a[0])?)?.time()?;
    let ms = t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000;
    Some(ScalarValue::Time32Millisecond(Some(ms as i32)))
}

fn format_time(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let ms = as_i64(&a[0])?;
    let toks = tokens(as_str(&a[1])?)?;
    if javafmt::has_date_fields(&toks) {
        return None;
    }
    let t = NaiveTime::from_num_seconds_from_midnight_opt(
        u32::try_from(ms / 1000).ok()?,
        u32::try_from(ms % 1000).ok()? * 1_000_000,
    )?;
    s(javafmt::format(&toks, &epoch().and_time(t), None)?)
}

fn zone_arg(a: &[ScalarValue], i: usize) -> Option<Zone> {
    match a.get(i) {
        None => Some(Zone::UTC),
        Some(v) => parse_zone(as_str(v)?),
    }
}

fn parse_ts(a: &[ScalarValue]) -> Option<i64> {
    let toks = tokens(as_str(&a[1])?)?;
    let zone = zone_arg(a, 2)?;
    javafmt::parse(&toks, as_str(&a[0])?)?.epoch_millis(&zone)
}

fn utc(ms: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(ms).map(|d| d.naive_utc())
}

fn format_ts(a: &[ScalarValue]) -> Option<String> {
    let toks = tokens(as_str(&a[1])?)?;
    let zone = zone_arg(a, 2)?;
    let (local, ctx) = zone.at(&utc(as_i64(&a[0])?)?);
    javafmt::format(&toks, &local, Some(&ctx))
}

fn convert_tz(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let from = parse_zone(as_str(&a[1])?)?;
    let to = parse_zone(as_str(&a[2])?)?;
    let wall = utc(as_i64(&a[0])?)?;
    let instant = from.to_utc(&wall)?;
    let (local, _) = to.at(&instant);
    Some(ScalarValue::TimestampMillisecond(
        Some(local.and_utc().timestamp_millis()),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use crate::arrow::datatypes::DataType as D;
    use crate::testutil::*;
    use datafusion_common::ScalarValue;

    #[test]
    fn unix_and_constructors() {
        assert_eq!(call("UNIX_DATE", &[date(12)]), int(12));
        assert_eq!(call("UNIX_TIMESTAMP", &[ts(77)]), big(77));
        assert!(
            matches!(call_now("UNIX_TIMESTAMP"), ScalarValue::Int64(Some(v)) if v > 1_600_000_000_000)
        );
        assert!(matches!(call_now("UNIX_DATE"), ScalarValue::Int32(Some(v)) if v > 18_000));
        assert_eq!(call("FROM_DAYS", &[int(3)]), date(3));
        assert_eq!(call("FROM_UNIXTIME", &[big(5)]), ts(5));
        assert_eq!(call("FROM_UNIXTIME", &[int(5)]), ts(5));
    }

    #[test]
    fn add_and_sub() {
        assert_eq!(call("DATEADD", &[st("DAYS"), int(3), date(10)]), date(13));
        assert_eq!(call("DATEADD", &[st("HOURS"), int(49), date(10)]), date(12));
        assert_eq!(call("DATESUB", &[st("DAYS"), int(3), date(1)]), date(-2));
        assert_eq!(
            call("DATEADD", &[st("FORTNIGHTS"), int(3), date(1)]),
            ScalarValue::Date32(None)
        );
        assert_eq!(
            call("TIMEADD", &[st("HOURS"), int(25), time(0)]),
            time(3_600_000)
        );
        assert_eq!(
            call("TIMESUB", &[st("MILLISECONDS"), int(1), time(0)]),
            time(86_399_999)
        );
        assert_eq!(
            call("TIMESTAMPADD", &[st("SECONDS"), int(2), ts(1)]),
            ts(2001)
        );
        assert_eq!(
            call("TIMESTAMPSUB", &[st("MINUTES"), big(1), ts(0)]),
            ts(-60_000)
        );
        assert_eq!(
            call("TIMESTAMPADD", &[st("DAYS"), null_int(), ts(0)]),
            ScalarValue::TimestampMillisecond(None, None)
        );
        let e = ret("DATEADD", &[D::Date32, D::Int32, D::Date32])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Function 'dateadd' does not accept parameters (DATE, INTEGER, DATE)."),
            "{e}"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            call("PARSE_DATE", &[st("2021-02-03"), st("yyyy-MM-dd")]),
            date(18661)
        );
        assert_eq!(
            call("PARSE_DATE", &[st("03/Feb/2021!"), st("dd/MMM/yyyy'!'")]),
            date(18661)
        );
        assert_eq!(
            call("PARSE_DATE", &[st("nonsense"), st("yyyy-MM-dd")]),
            ScalarValue::Date32(None)
        );
        assert_eq!(
            call("FORMAT_DATE", &[date(18661), st("d MMMM yy")]),
            st("3 February 21")
        );
        assert_eq!(call("FORMAT_DATE", &[date(18661), st("HH")]), null_str());
        assert_eq!(
            call("DATETOSTRING", &[int(0), st("yyyy/MM/dd")]),
            st("1970/01/01")
        );
        assert_eq!(
            call("STRINGTODATE", &[st("1970-01-31"), st("yyyy-MM-dd")]),
            int(30)
        );
    }

    #[test]
    fn times() {
        assert_eq!(
            call("PARSE_TIME", &[st("01:02:03.5"), st("HH:mm:ss.S")]),
            time(3_723_500)
        );
        assert_eq!(
            call("PARSE_TIME", &[st("1 pm"), st("h a")]),
            time(46_800_000)
        );
        assert_eq!(
            call("FORMAT_TIME", &[time(3_723_004), st("HH.mm.ss.SSS")]),
            st("01.02.03.004")
        );
        assert_eq!(call("FORMAT_TIME", &[time(0), st("yyyy")]), null_str());
    }

    #[test]
    fn timestamps() {
        let f = st("yyyy-MM-dd'T'HH:mm:ss.SSS");
        assert_eq!(
            call(
                "PARSE_TIMESTAMP",
                &[st("1970-01-02T00:00:01.250"), f.clone()]
            ),
            ts(86_401_250)
        );
        assert_eq!(
            call(
                "PARSE_TIMESTAMP",
                &[
                    st("1970-01-01T01:00:00.000"),
                    f.clone(),
                    st("Europe/London")
                ]
            ),
            ts(0)
        );
        assert_eq!(
            call(
                "PARSE_TIMESTAMP",
                &[st("1970-01-01 00:00 -0100"), st("yyyy-MM-dd HH:mm Z")]
            ),
            ts(3_600_000)
        );
        assert_eq!(
            call("PARSE_TIMESTAMP", &[st("x"), f.clone(), st("Nowhere/None")]),
            ScalarValue::TimestampMillisecond(None, None)
        );
        assert_eq!(
            call("FORMAT_TIMESTAMP", &[ts(86_401_250), f.clone()]),
            st("1970-01-02T00:00:01.250")
        );
        assert_eq!(
            call(
                "FORMAT_TIMESTAMP",
                &[ts(0), st("HH:mm XXX"), st("America/New_York")]
            ),
            st("19:00 -05:00")
        );
        assert_eq!(
            call("STRINGTOTIMESTAMP", &[st("2000-01-01"), st("yyyy-MM-dd")]),
            big(946_684_800_000)
        );
        assert_eq!(
            call(
                "TIMESTAMPTOSTRING",
                &[big(946_684_800_000), st("yyyy-MM-dd HH"), st("UTC")]
            ),
            st("2000-01-01 00")
        );
        // 12:00 in Los Angeles (UTC-8 in January) is 15:00 in New York.
        let noon = 946_728_000_000 + 12 * 3_600_000 - 12 * 3_600_000;
        assert_eq!(
            call(
                "CONVERT_TZ",
                &[ts(noon), st("America/Los_Angeles"), st("America/New_York")]
            ),
            ts(noon + 3 * 3_600_000)
        );
        assert_eq!(
            call("CONVERT_TZ", &[ts(0), st("UTC"), st("+02:00")]),
            ts(7_200_000)
        );
    }
}

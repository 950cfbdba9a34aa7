//! Java `DateTimeFormatter` / `SimpleDateFormat` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSS`):
//! tokenizing, formatting and parsing on top of chrono.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Lit(String),
    Field(char, usize),
}

/// Splits a pattern into literal and field tokens.
pub(crate) fn tokenize(p: &str) -> Option<Vec<Tok>> {
    let cs: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c == '\'' {
            if cs.get(i + 1) == Some(&'\'') {
                lit.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match cs.get(j) {
                    None => return None,
                    Some('\'') if cs.get(j + 1) == Some(&'\'') => {
                        lit.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(ch) => {
                        lit.push(*ch);
                        j += 1;
                    }
                }
            }
            i = j + 1;
        } else if c.is_ascii_alphabetic() {
            if !lit.is_empty() {
                out.push(Tok::Lit(std::mem::take(&mut lit)));
            }
            let mut n = 1;
            while cs.get(i + n) == Some(&c) {
                n += 1;
            }
            if !"GuyDMLdQqYwWEecFaBhKkHmsSAnNVvzOXxZp".contains(c) {
                return None;
            }
            out.push(Tok::Field(c, n));
            i += n;
        } else if c == '[' || c == ']' {
            i += 1; // optional sections: treated as always present
        } else {
            lit.push(c);
            i += 1;
        }
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    Some(out)
}

pub(crate) fn has_date_fields(toks: &[Tok]) -> bool {
    toks.iter()
        .any(|t| matches!(t, Tok::Field(c, _) if "GuyDMLdQqYwWEecF".contains(*c)))
}

pub(crate) fn has_time_fields(toks: &[Tok]) -> bool {
    toks.iter()
        .any(|t| matches!(t, Tok::Field(c, _) if "aBhKkHmsSAnN".contains(*c)))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn pad(v: i64, n: usize) -> String {
    if v < 0 {
        format!("-{:0width$}", -v, width = n)
    } else {
        format!("{v:0n$}")
    }
}

fn offset_text(secs: i32, colon: bool, z_for_zero: bool) -> String {
    if secs == 0 && z_for_zero {
        return "Z".into();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    if colon {
        format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
    } else {
        format!("{sign}{:02}{:02}", a / 3600, (a % 3600) / 60)
    }
}

/// Zone information for formatting an instant.
pub(crate) struct ZoneCtx {
    pub offset: i32,
    pub id: String,
    pub abbr: String,
}

/// Formats a local date-time; `zone` provides zone names/offsets.
pub(crate) fn format(toks: &[Tok], dt: &NaiveDateTime, zone: Option<&ZoneCtx>) -> Option<String> {
    let mut out = String::new();
    let offset = zone.map(|z| z.offset);
    for t in toks {
        let (c, n) = match t {
            Tok::Lit(s) => {
                out.push_str(s);
                continue;
            }
            Tok::Field(c, n) => (*c, *n),
        };
        let text = match c {
            'y' | 'u' | 'Y' => {
                let y = i64::from(dt.year());
                if n == 2 {
                    pad(y.rem_euclid(100), 2)
                } else {
                    pad(y, n)
                }
            }
            'M' | 'L' => match n {
                1 | 2 => pad(i64::from(dt.month()), n),
                3 => MONTHS[dt.month0() as usize][..3].to_string(),
                _ => MONTHS[dt.month0() as usize].to_string(),
            },
            'd' => pad(i64::from(dt.day()), n),
            'D' => pad(i64::from(dt.ordinal()), n),
            'E' | 'e' | 'c' => {
                let d = DAYS[dt.weekday().num_days_from_monday() as usize];
                if n >= 4 {
                    d.to_string()
                } else {
                    d[..3].to_string()
                }
            }
            'a' => if dt.hour() < 12 { "AM" } else { "PM" }.to_string(),
            'H' => pad(i64::from(dt.hour()), n),
            'k' => pad(i64::from(if dt.hour() == 0 { 24 } else { dt.hour() }), n),
            'K' => pad(i64::from(dt.hour() % 12), n),
            'h' => pad(
                i64::from(if dt.hour().is_multiple_of(12) {
                    12
                } else {
                    dt.hour() % 12
                }),
                n,
            ),
            'm' => pad(i64::from(dt.minute()), n),
            's' => pad(i64::from(dt.second()), n),
            'S' => {
                let nanos = format!("{:09}", dt.nanosecond() % 1_000_000_000);
                if n <= 9 {
                    nanos[..n].to_string()
                } else {
                    format!("{nanos}{}", "0".repeat(n - 9))
                }
            }
            'A' => pad(
                i64::from(dt.num_seconds_from_midnight()) * 1000
                    + i64::from(dt.nanosecond() / 1_000_000),
                n,
            ),
            'n' => pad(i64::from(dt.nanosecond()), n),
            'G' => "AD".to_string(),
            'X' => {
                let o = offset?;
                let full = offset_text(o, n >= 3, true);
                if n == 1 && o % 3600 == 0 && full != "Z" {
                    full[..3].to_string()
                } else {
                    full
                }
            }
            'x' => offset_text(offset?, n >= 3, false),
            'Z' => {
                if n >= 4 {
                    format!("GMT{}", offset_text(offset?, true, false))
                } else {
                    offset_text(offset?, false, false)
                }
            }
            'V' => zone?.id.clone(),
            'z' | 'v' => {
                let z = zone?;
                if n >= 4 {
                    z.id.clone()
                } else {
                    z.abbr.clone()
                }
            }
            'O' => format!("GMT{}", offset_text(offset?, true, false)),
            _ => return None,
        };
        out.push_str(&text);
    }
    Some(out)
}

/// Fields recovered by parsing.
#[derive(Default, Debug)]
pub(crate) struct Parsed {
    pub year: Option<i32>,
    pub month: Option<u32>,
    pub day: Option<u32>,
    pub doy: Option<u32>,
    pub hour: Option<u32>,
    pub hour12: Option<u32>,
    pub pm: Option<bool>,
    pub minute: Option<u32>,
    pub second: Option<u32>,
    pub nanos: Option<u32>,
    pub offset: Option<i32>,
    pub zone: Option<Tz>,
}

fn take_digits(s: &[char], i: &mut usize, min: usize, max: usize) -> Option<i64> {
    let start = *i;
    let mut neg = false;
    if s.get(*i) == Some(&'-') && max > 4 {
        neg = true;
        *i += 1;
    }
    let dstart = *i;
    while *i < s.len() && *i - dstart < max && s[*i].is_ascii_digit() {
        *i += 1;
    }
    if *i - dstart < min {
        *i = start;
        return None;
    }
    let v: i64 = s[dstart..*i].iter().collect::<String>().parse().ok()?;
    Some(if neg { -v } else { v })
}

fn take_word(s: &[char], i: &mut usize, words: &[&str], len: Option<usize>) -> Option<usize> {
    for (idx, w) in words.iter().enumerate() {
        let w: String = match len {
            Some(l) => w.chars().take(l).collect(),
            None => w.to_string(),
        };
        let n = w.chars().count();
        if *i + n <= s.len() {
            let cand: String = s[*i..*i + n].iter().collect();
            if cand.eq_ignore_ascii_case(&w) {
                *i += n;
                return Some(idx);
            }
        }
    }
    None
}

fn take_offset(s: &[char], i: &mut usize) -> Option<i32> {
    // ksqlDB parses case-insensitively: `z` is UTC too
    if matches!(s.get(*i), Some('Z' | 'z')) {
        *i += 1;
        return Some(0);
    }
    let sign = match s.get(*i)? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    *i += 1;
    let h = take_digits(s, i, 2, 2)?;
    if s.get(*i) == Some(&':') {
        *i += 1;
    }
    let m = take_digits(s, i, 0, 2).unwrap_or(0);
    Some(sign * (h * 3600 + m * 60) as i32)
}

/// Whether the token after `idx` is a numeric field (adjacent value parsing).
fn next_is_numeric(toks: &[Tok], idx: usize) -> bool {
    matches!(toks.get(idx + 1), Some(Tok::Field(c, n)) if "yuYdDHhKkmsSAn".contains(*c) || (*c == 'M' && *n <= 2))
}

pub(crate) fn parse(toks: &[Tok], input: &str) -> Option<Parsed> {
    let s: Vec<char> = input.chars().collect();
    let mut i = 0;
    let mut p = Parsed::default();
    for (idx, t) in toks.iter().enumerate() {
        let (c, n) = match t {
            Tok::Lit(l) => {
                for lc in l.chars() {
                    if s.get(i) != Some(&lc) {
                        return None;
                    }
                    i += 1;
                }
                continue;
            }
            Tok::Field(c, n) => (*c, *n),
        };
        let adjacent = next_is_numeric(toks, idx);
        let num = |i: &mut usize, max: usize| -> Option<i64> {
            if n == 1 && !adjacent {
                take_digits(&s, i, 1, max)
            } else {
                take_digits(&s, i, n, n.max(if adjacent { n } else { max }))
            }
        };
        match c {
            'y' | 'u' | 'Y' => {
                if n == 2 {
                    p.year = Some(2000 + take_digits(&s, &mut i, 2, 2)? as i32);
                } else {
                    let v = if adjacent {
                        take_digits(&s, &mut i, n, n)?
                    } else {
                        take_digits(&s, &mut i, n.min(4), 9)?
                    };
                    p.year = Some(i32::try_from(v).ok()?);
                }
            }
            'M' | 'L' => {
                p.month = Some(match n {
                    1 | 2 => num(&mut i, 2)? as u32,
                    3 => take_word(&s, &mut i, &MONTHS, Some(3))? as u32 + 1,
                    _ => take_word(&s, &mut i, &MONTHS, None)? as u32 + 1,
                })
            }
            'd' => p.day = Some(num(&mut i, 2)? as u32),
            'D' => p.doy = Some(num(&mut i, 3)? as u32),
            'E' | 'e' | 'c' => {
                take_word(&s, &mut i, &DAYS, if n >= 4 { None } else { Some(3) })?;
            }
            'a' => p.pm = Some(take_word(&s, &mut i, &["AM", "PM"], None)? == 1),
            'H' => p.hour = Some(num(&mut i, 2)? as u32),
            'k' => p.hour = Some(num(&mut i, 2)? as u32 % 24),
            'h' => p.hour12 = Some(num(&mut i, 2)? as u32 % 12),
            'K' => p.hour12 = Some(num(&mut i, 2)? as u32),
            'm' => p.minute = Some(num(&mut i, 2)? as u32),
            's' => p.second = Some(num(&mut i, 2)? as u32),
            'S' => {
                let start = i;
                let v = take_digits(&s, &mut i, n, n)?;
                let digits = i - start;
                p.nanos = Some((v * 10i64.pow(9u32.saturating_sub(digits as u32))) as u32);
            }
            'n' => p.nanos = Some(take_digits(&s, &mut i, 1, 9)? as u32),
            'G' => {
                take_word(&s, &mut i, &["AD", "BC"], None)?;
            }
            'X' | 'x' | 'Z' => {
                if c == 'Z' && n >= 4 {
                    take_word(&s, &mut i, &["GMT"], None)?;
                }
                p.offset = Some(take_offset(&s, &mut i)?);
            }
            'O' => {
                take_word(&s, &mut i, &["GMT"], None)?;
                p.offset = Some(take_offset(&s, &mut i).unwrap_or(0));
            }
            'V' | 'z' | 'v' => {
                let start = i;
                while i < s.len() && (s[i].is_ascii_alphanumeric() || "/_+-".contains(s[i])) {
                    i += 1;
                }
                let name: String = s[start..i].iter().collect();
                // a zone's name as text (`z`, `v`) stands for its region, as
                // Java reads it: PST is Los Angeles, with its summer time
                let region = (c != 'V').then(|| zone_text_region(&name)).flatten();
                match region.map(Zone::Named).or_else(|| parse_zone(&name))? {
                    Zone::Named(z) => p.zone = Some(z),
                    Zone::Fixed(o) => p.offset = Some(o),
                }
            }
            _ => return None,
        }
    }
    if i != s.len() {
        return None;
    }
    Some(p)
}

impl Parsed {
    pub fn date(&self) -> Option<NaiveDate> {
        let year = self.year.unwrap_or(1970);
        if let Some(doy) = self.doy {
            return NaiveDate::from_yo_opt(year, doy);
        }
        NaiveDate::from_ymd_opt(year, self.month.unwrap_or(1), self.day.unwrap_or(1))
    }

    pub fn time(&self) -> Option<NaiveTime> {
        let hour = match (self.hour, self.hour12, self.pm) {
            (Some(h), _, _) => h,
            (None, Some(h), Some(true)) => h + 12,
            (None, Some(h), _) => h,
            (None, None, _) => 0,
        };
        NaiveTime::from_hms_nano_opt(
            hour,
            self.minute.unwrap_or(0),
            self.second.unwrap_or(0),
            self.nanos.unwrap_or(0),
        )
    }

    /// Epoch millis, interpreting local fields in the parsed offset/zone,
    /// else `default_zone`.
    pub fn epoch_millis(&self, default_zone: &Zone) -> Option<i64> {
        let local = NaiveDateTime::new(self.date()?, self.time()?);
        let zone = match (self.offset, &self.zone) {
            (Some(o), _) => Zone::Fixed(o),
            (None, Some(z)) => Zone::Named(*z),
            (None, None) => default_zone.clone(),
        };
        Some(zone.to_utc(&local)?.and_utc().timestamp_millis())
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Zone {
    Named(Tz),
    Fixed(i32),
}

impl Zone {
    pub const UTC: Zone = Zone::Named(Tz::UTC);

    /// Local wall-clock time and zone details of a UTC instant.
    pub fn at(&self, utc: &NaiveDateTime) -> (NaiveDateTime, ZoneCtx) {
        match self {
            Zone::Named(z) => {
                let off = z.offset_from_utc_datetime(utc);
                let secs = off.fix().local_minus_utc();
                let local = *utc + chrono::Duration::seconds(i64::from(secs));
                (
                    local,
                    ZoneCtx {
                        offset: secs,
                        id: z.name().to_string(),
                        abbr: off.to_string(),
                    },
                )
            }
            Zone::Fixed(o) => {
                let local = *utc + chrono::Duration::seconds(i64::from(*o));
                let id = offset_text(*o, true, true);
                (
                    local,
                    ZoneCtx {
                        offset: *o,
                        id: id.clone(),
                        abbr: id,
                    },
                )
            }
        }
    }

    /// The UTC instant of a local wall-clock time (earliest if ambiguous,
    /// shifted forward across gaps like Java).
    pub fn to_utc(&self, local: &NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Zone::Named(z) => match z.from_local_datetime(local).earliest() {
                Some(d) => Some(d.naive_utc()),
                None => z
                    .from_local_datetime(&(*local + chrono::Duration::hours(1)))
                    .earliest()
                    .map(|d| d.naive_utc()),
            },
            Zone::Fixed(o) => Some(*local - chrono::Duration::seconds(i64::from(*o))),
        }
    }
}

/// The region a zone's short name stands for when Java parses zone text
/// (`z`) in its default (US English) locale.
fn zone_text_region(name: &str) -> Option<Tz> {
    let region = match name.to_ascii_uppercase().as_str() {
        "PST" | "PDT" | "PT" => Tz::America__Los_Angeles,
        "MST" | "MDT" | "MT" => Tz::America__Denver,
        "CST" | "CDT" | "CT" => Tz::America__Chicago,
        "EST" | "EDT" | "ET" => Tz::America__New_York,
        "AKST" | "AKDT" => Tz::America__Anchorage,
        "HST" | "HDT" => Tz::Pacific__Honolulu,
        "BST" => Tz::Europe__London,
        "CET" | "CEST" => Tz::Europe__Paris,
        "EET" | "EEST" => Tz::Europe__Bucharest,
        "WET" | "WEST" => Tz::Europe__Lisbon,
        "IST" => Tz::Asia__Kolkata,
        "JST" => Tz::Asia__Tokyo,
        "AEST" | "AEDT" => Tz::Australia__Sydney,
        _ => return None,
    };
    Some(region)
}

/// Parses a Java `ZoneId`: region names, `UTC`, `Z`, `GMT+2`, `+05:30`.
pub(crate) fn parse_zone(name: &str) -> Option<Zone> {
    if let Ok(z) = name.parse::<Tz>() {
        return Some(Zone::Named(z));
    }
    let upper = name.to_ascii_uppercase();
    for prefix in ["UTC", "GMT", "UT", ""] {
        if let Some(rest) = upper.strip_prefix(prefix) {
            if rest.is_empty() && !prefix.is_empty() {
                return Some(Zone::Fixed(0));
            }
            let cs: Vec<char> = rest.chars().collect();
            let mut i = 0;
            if let Some(o) = take_offset(&cs, &mut i) {
                if i == cs.len() {
                    return Some(Zone::Fixed(o));
                }
            }
            if let Some(sign) = cs.first().filter(|c| **c == '+' || **c == '-') {
                let h: i32 = rest[1..].parse().ok()?;
                let s = if *sign == '-' { -1 } else { 1 };
                return Some(Zone::Fixed(s * h * 3600));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").expect("dt")
    }

    #[test]
    fn tokenizes_quotes() {
        let t = tokenize("yyyy-MM-dd'T'HH''mm").expect("tok");
        assert_eq!(t[3], Tok::Lit("-".into()));
        assert!(t.contains(&Tok::Lit("T".into())));
        assert!(t.contains(&Tok::Lit("'".into())));
        assert!(tokenize("yyyy 'open").is_none());
        assert!(tokenize("yyyy-bb").is_none());
    }

    #[test]
    fn formats() {
        let t = tokenize("EEE, d MMM yyyy hh:mm:ss.SSS a").expect("tok");
        let v = dt("2021-03-07 15:04:05.123");
        assert_eq!(
            format(&t, &v, None).as_deref(),
            Some("Sun, 7 Mar 2021 03:04:05.123 PM")
        );
        let tz = Zone::Named("Europe/Paris".parse().expect("tz"));
        let (local, ctx) = tz.at(&v);
        let t = tokenize("HH:mm XXX VV z").expect("tok");
        assert_eq!(
            format(&t, &local, Some(&ctx)).as_deref(),
            Some("16:04 +01:00 Europe/Paris CET")
        );
    }

    #[test]
    fn parses() {
        let t = tokenize("yyyyMMddHHmmss").expect("tok");
        let p = parse(&t, "20200102030405").expect("parse");
        assert_eq!(p.epoch_millis(&Zone::UTC), Some(1_577_934_245_000));
        let t = tokenize("dd-MMM-yyyy h:mm a Z").expect("tok");
        let p = parse(&t, "05-FEB-2020 1:30 PM +0100").expect("parse");
        assert_eq!(p.epoch_millis(&Zone::UTC), Some(1_580_905_800_000));
        // case-insensitive, as ksqlDB builds its parsers: a lower-case `z` is UTC
        let t = tokenize("yyyy-MM-dd'T'HH:mm:ssX").expect("tok");
        let p = parse(&t, "2020-05-11T21:58:33z").expect("parse");
        assert_eq!(p.epoch_millis(&Zone::UTC), Some(1_589_234_313_000));
        // zone text names its region, summer time included: PST in May is -07:00
        let t = tokenize("yyyy-MM-dd HH:mm zzz").expect("tok");
        let p = parse(&t, "2020-05-11 12:00 PST").expect("parse");
        assert_eq!(p.epoch_millis(&Zone::UTC), Some(1_589_223_600_000));
        let p = parse(&t, "2020-01-11 12:00 pst").expect("parse");
        assert_eq!(p.epoch_millis(&Zone::UTC), Some(1_578_772_800_000));
        let t = tokenize("yyyy-MM-dd").expect("tok");
        assert!(parse(&t, "2020-1-01").is_none());
        assert!(parse(&t, "2020-01-01x").is_none());
        let t = tokenize("M/d/yyyy").expect("tok");
        assert_eq!(
            parse(&t, "1/9/2020").and_then(|p| p.date()),
            NaiveDate::from_ymd_opt(2020, 1, 9)
        );
    }

    #[test]
    fn zones() {
        assert!(matches!(
            parse_zone("America/New_York"),
            Some(Zone::Named(_))
        ));
        assert!(matches!(
            parse_zone("UTC"),
            Some(Zone::Named(_)) | Some(Zone::Fixed(0))
        ));
        assert!(matches!(parse_zone("GMT+2"), Some(Zone::Fixed(7200))));
        assert!(matches!(parse_zone("+05:30"), Some(Zone::Fixed(19800))));
        assert!(parse_zone("Mars/Base").is_none());
    }
}

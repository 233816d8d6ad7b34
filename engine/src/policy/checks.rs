//! Field-level checks shared by garde (collecting errors) and the compiler (building
//! the validated values). One parser per kind of value, so what validates is exactly
//! what compiles.

use std::sync::OnceLock;
use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// Parses the policy's duration form: a whole number and one unit, e.g. `200ms`, `90s`,
/// `15m`, `24h`, `7d`. Compound forms (`1h30m`) are refused on purpose: one obvious way
/// to write a duration keeps policies reviewable.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let invalid =
        || format!("invalid duration {text:?}: write a whole number and a unit (ms, s, m, h, d), e.g. 200ms, 90s, 24h");
    if digits.is_empty() {
        return Err(invalid());
    }
    let value: u64 = digits.parse().map_err(|_| invalid())?;
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(invalid()),
    };
    value.checked_mul(millis_per_unit).map(Duration::from_millis).ok_or_else(invalid)
}

/// Parses a cron expression of five fields (minute first) or six (second first) and
/// returns it normalised to six fields, the form the scheduler requires.
pub fn parse_cron(text: &str) -> Result<(String, Cron), String> {
    let fields = text.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(format!(
            "invalid cron expression {text:?}: expected 5 fields (minute hour day month weekday) or 6 (second first), found {fields}"
        ));
    }
    let normalised = if fields == 5 {
        format!("0 {}", text.split_whitespace().collect::<Vec<_>>().join(" "))
    } else {
        text.to_owned()
    };
    // The scheduler (tokio-cron-scheduler) parses with day-of-month AND day-of-week; so
    // does this check, so `validate` and the daemon agree on what an expression means.
    let parser = CronParser::builder().seconds(Seconds::Required).dom_and_dow(true).build();
    match parser.parse(&normalised) {
        Ok(cron) => Ok((normalised, cron)),
        Err(error) => Err(format!("invalid cron expression {text:?}: {error}")),
    }
}

/// A policy glob (`*`, `?`, `[..]`, `{a,b}`; `*` crosses `/`). Most are a plain name
/// (`aws_instance`), a name with one trailing `*` (`ingress*`) or `*` alone: those are
/// matched as text. Only the others compile to a regex, because globset builds a DFA for
/// each glob, which was most of what `driftguard validate` spent.
#[derive(Debug, Clone)]
pub enum Glob {
    /// Matches exactly this text.
    Exact(String),
    /// Matches any text starting with this.
    Prefix(String),
    /// Any other glob, compiled.
    Compiled(globset::GlobMatcher),
}

impl Glob {
    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Glob::Exact(exact) => text == exact,
            Glob::Prefix(prefix) => text.starts_with(prefix.as_str()),
            Glob::Compiled(matcher) => matcher.is_match(text),
        }
    }
}

/// Parses a glob (`*`, `?`, `[..]`, `{a,b}`).
pub fn parse_glob(text: &str) -> Result<Glob, String> {
    let special = |c: char| matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\');
    match text.strip_suffix('*') {
        _ if !text.contains(special) => return Ok(Glob::Exact(text.to_owned())),
        Some(prefix) if !prefix.contains(special) => return Ok(Glob::Prefix(prefix.to_owned())),
        _ => {}
    }
    globset::GlobBuilder::new(text)
        .literal_separator(false)
        .build()
        .map(|glob| Glob::Compiled(glob.compile_matcher()))
        .map_err(|error| format!("invalid glob {text:?}: {}", error.kind()))
}

/// Parses a regular expression.
pub fn parse_regex(text: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(text).map_err(|error| {
        // The regex crate's message spans several lines with a caret diagram; keep the
        // last line, which names the problem, so the error stays one line.
        let detail = error.to_string();
        let last = detail.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("");
        format!("invalid regular expression {text:?}: {}", last.trim_start_matches("error: "))
    })
}

/// A regular expression as the policy writes it, compiled at most once: the check that
/// refuses a bad one keeps what it compiled, and the compiler takes that. (Compiling the
/// shipped policy's three expressions twice, to check and to use, was 9% of the
/// instructions `driftguard validate` runs.) In the schema it is a plain string.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RegexText {
    text: String,
    #[serde(skip)]
    compiled: OnceLock<regex::Regex>,
}

impl RegexText {
    /// The compiled expression, compiled on first use.
    pub fn compiled(&self) -> Result<&regex::Regex, String> {
        if let Some(compiled) = self.compiled.get() {
            return Ok(compiled);
        }
        let compiled = parse_regex(&self.text)?;
        Ok(self.compiled.get_or_init(|| compiled))
    }
}

impl schemars::JsonSchema for RegexText {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

fn to_garde(result: Result<(), String>) -> garde::Result {
    result.map_err(garde::Error::new)
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes its context by reference")]
pub(crate) fn duration(value: &str, _context: &()) -> garde::Result {
    to_garde(parse_duration(value).map(drop))
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes its context by reference")]
pub(crate) fn cron_expr(value: &str, _context: &()) -> garde::Result {
    to_garde(parse_cron(value).map(drop))
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes its context by reference")]
pub(crate) fn glob(value: &str, _context: &()) -> garde::Result {
    to_garde(parse_glob(value).map(drop))
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    clippy::ref_option,
    reason = "garde passes the field and its context by reference"
)]
pub(crate) fn regex_opt(value: &Option<RegexText>, _context: &()) -> garde::Result {
    match value {
        Some(text) => to_garde(text.compiled().map(drop)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The text fast paths answer exactly as globset would for the same glob.
        #[test]
        fn globs_matched_as_text_agree_with_globset(
            glob in "[a-c_./*?\\[\\]{},]{0,6}",
            text in "[a-c_./]{0,8}",
        ) {
            let Ok(ours) = parse_glob(&glob) else { return Ok(()) };
            let theirs = globset::GlobBuilder::new(&glob).literal_separator(false).build().unwrap().compile_matcher();
            prop_assert_eq!(ours.is_match(&text), theirs.is_match(&text), "{:?} on {:?} ({:?})", glob, text, ours);
            let prefixed = format!("{}{text}", glob.trim_end_matches('*'));
            prop_assert_eq!(ours.is_match(&prefixed), theirs.is_match(&prefixed), "{:?} on {:?}", glob, prefixed);
        }
    }

    #[test]
    fn durations_accept_the_documented_forms() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_hours(24)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_hours(7 * 24)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn durations_refuse_everything_else() {
        for bad in ["", "h", "24", "1h30m", "24 h", "-5s", "1.5h", "24hours", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn cron_accepts_five_and_six_fields_and_normalises_to_six() {
        assert_eq!(parse_cron("*/15 * * * *").unwrap().0, "0 */15 * * * *");
        assert_eq!(parse_cron("30 0 * * * *").unwrap().0, "30 0 * * * *");
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_cron("* * *").is_err());
    }
}

//! Field-level checks shared by garde (collecting errors) and the compiler (building
//! the validated values). One parser per kind of value, so what validates is exactly
//! what compiles.

use std::marker::PhantomData;
use std::sync::OnceLock;
use std::time::Duration;

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
pub fn parse_cron(text: &str) -> Result<String, String> {
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
        Ok(_) => Ok(normalised),
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

/// A compiled policy expression. Policies only ask whether an expression matches
/// (`is_match`), so it is built without what finding positions or groups would need.
pub type Regex = regex_automata::meta::Regex;

/// Parses a regular expression, with the `regex` crate's syntax and matching (its own
/// engine, regex-automata's meta regex), built for `is_match` alone: no capture groups
/// but the whole match's, no literal prefilter, no one-pass or full DFA. Those serve
/// searches for groups, or long haystacks; an attribute value is short, and building
/// them was most of the compile (2.87 million instructions for the shipped policy's
/// three expressions, 1.07 million built this way: callgrind, in a scratch program),
/// which `driftguard validate` pays every time.
pub fn parse_regex(text: &str) -> Result<Regex, String> {
    use regex_automata::meta;
    use regex_automata::nfa::thompson::WhichCaptures;
    // `Implicit`, not `None`: with no capture states at all, an engine the meta regex
    // falls back to (the PikeVM) could not report where a match is, and regex-automata
    // advises against it; the whole match's two states cost little.
    let config = meta::Config::new()
        .which_captures(WhichCaptures::Implicit)
        .auto_prefilter(false)
        .onepass(false)
        .backtrack(false)
        .dfa(false);
    meta::Builder::new().configure(config).build(text).map_err(|error| {
        let problem = match (error.syntax_error(), error.size_limit()) {
            // The syntax error's message spans several lines with a caret diagram; keep
            // the last line, which names the problem, so the error stays one line.
            (Some(syntax), _) => {
                let detail = syntax.to_string();
                detail
                    .lines()
                    .rev()
                    .find(|line| !line.trim().is_empty())
                    .unwrap_or("")
                    .trim_start_matches("error: ")
                    .to_owned()
            }
            (None, Some(limit)) => format!("compiled, it would exceed the size limit of {limit} bytes"),
            (None, None) => error.to_string(),
        };
        format!("invalid regular expression {text:?}: {problem}")
    })
}

/// How a [`Checked`] text is parsed, and into what.
pub trait Syntax {
    /// What the text parses to.
    type Output: Clone + std::fmt::Debug;
    /// Parses the text, or says why it cannot be.
    fn parse(text: &str) -> Result<Self::Output, String>;
}

/// A value as the policy writes it, parsed at most once: the check that refuses a bad one
/// keeps what it parsed, and the compiler takes that. (Compiling the shipped policy's
/// three expressions twice, to check and to use, was 9% of the instructions `driftguard
/// validate` runs; parsing its cron expressions twice, 5%.) In the schema it is a plain
/// string.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Checked<S: Syntax> {
    text: String,
    #[serde(skip)]
    parsed: OnceLock<S::Output>,
    #[serde(skip)]
    syntax: PhantomData<S>,
}

impl<S: Syntax> Checked<S> {
    /// What the text parses to, parsed on first use.
    pub fn parsed(&self) -> Result<&S::Output, String> {
        if let Some(parsed) = self.parsed.get() {
            return Ok(parsed);
        }
        let parsed = S::parse(&self.text)?;
        Ok(self.parsed.get_or_init(|| parsed))
    }
}

// By hand: a derive would ask the syntax itself to be `Clone`.
impl<S: Syntax> Clone for Checked<S> {
    fn clone(&self) -> Self {
        Self { text: self.text.clone(), parsed: self.parsed.clone(), syntax: PhantomData }
    }
}

impl<S: Syntax> From<&str> for Checked<S> {
    fn from(text: &str) -> Self {
        Self { text: text.to_owned(), parsed: OnceLock::new(), syntax: PhantomData }
    }
}

/// The policy's regular expressions ([`parse_regex`]).
#[derive(Debug, Default)]
pub struct RegexSyntax;

impl Syntax for RegexSyntax {
    type Output = Regex;
    fn parse(text: &str) -> Result<Regex, String> {
        parse_regex(text)
    }
}

/// The policy's cron expressions ([`parse_cron`]), kept in the scheduler's six-field form.
#[derive(Debug, Default)]
pub struct CronSyntax;

impl Syntax for CronSyntax {
    type Output = String;
    fn parse(text: &str) -> Result<String, String> {
        parse_cron(text)
    }
}

/// A regular expression as the policy writes it.
pub type RegexText = Checked<RegexSyntax>;
/// A cron expression as the policy writes it.
pub type CronText = Checked<CronSyntax>;

/// A fixed format a policy field must have (an account id, a role ARN, a GUID), for
/// garde's `pattern` rule, compiled on first use by regex-lite. The formats are short
/// ASCII patterns, which regex-lite answers as the `regex` crate does (the property test
/// `formats_answer_as_the_regex_crate` holds it to that) for a fraction of the build:
/// 0.12 million instructions for five of them, against 0.77 million for the meta regex
/// the policy's own expressions use ([`parse_regex`]) and 1.43 million for garde's
/// string patterns (the whole `regex::Regex`), in a scratch program; `driftguard
/// validate` pays it every time. The AWS SDK already links regex-lite. Its text is what
/// garde's error message and the JSON schema's `pattern` show; its hint is what the error
/// tells the reader to write ([`Format::hint_of`]).
#[derive(Debug)]
pub struct Format {
    pattern: &'static str,
    hint: &'static str,
    regex: OnceLock<regex_lite::Regex>,
}

impl Format {
    /// A format known when DriftGuard is built, compiled on first use.
    const fn new(pattern: &'static str, hint: &'static str) -> Self {
        Self { pattern, hint, regex: OnceLock::new() }
    }

    /// # Panics
    /// If the pattern is not a valid expression: the formats are constants in this crate,
    /// and this module's tests compile every one (`formats_answer_as_the_regex_crate`).
    fn regex(&self) -> &regex_lite::Regex {
        self.regex
            .get_or_init(|| regex_lite::Regex::new(self.pattern).expect("a format of this crate is a valid expression"))
    }

    /// What a value must be, in words, for the format whose pattern garde's message quotes.
    pub fn hint_of(pattern: &str) -> Option<&'static str> {
        FORMATS.iter().find(|format| format.pattern == pattern).map(|format| format.hint)
    }
}

/// A 12-digit AWS account id.
pub(crate) static ACCOUNT_ID: Format = Format::new(r"^[0-9]{12}$", "a 12-digit AWS account id, quoted");
/// A named profile of the shared AWS config files.
pub(crate) static AWS_PROFILE: Format =
    Format::new(r"^[A-Za-z0-9_.+@-]+$", "a profile name (up to 128 of letters, digits and _.+@-)");
/// An IAM role's ARN.
pub(crate) static ROLE_ARN: Format = Format::new(
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$",
    "an IAM role ARN, e.g. arn:aws:iam::222222222222:role/driftguard",
);
// Lengths are rules of their own: a bounded repetition like `{2,1224}` compiled to a
// thousand-state automaton, a fifth of `validate`.
/// An `sts:ExternalId` (its length is a rule of its own).
pub(crate) static EXTERNAL_ID: Format =
    Format::new(r"^[A-Za-z0-9_+=,.@:/-]+$", "2 to 1224 of letters, digits and _+=,.@:/-");
/// An STS role session name (its length is a rule of its own).
pub(crate) static SESSION_NAME: Format =
    Format::new(r"^[A-Za-z0-9_+=,.@-]+$", "2 to 64 of letters, digits and _+=,.@-");
/// A GCP service account's email.
pub(crate) static SERVICE_ACCOUNT: Format = Format::new(
    r"^[a-z0-9-]+@[a-z0-9.-]+\.iam\.gserviceaccount\.com$",
    "a service account email, NAME@PROJECT.iam.gserviceaccount.com",
);
/// An Azure GUID (tenant, subscription, client id).
pub(crate) static GUID: Format = Format::new(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "a GUID, e.g. 00000000-0000-0000-0000-000000000000",
);
/// An environment variable's name.
pub(crate) static ENV_NAME: Format = Format::new(r"^[A-Za-z_][A-Za-z0-9_]*$", "an environment variable name");

/// Every format: the hints' lookup and the tests go through this list.
static FORMATS: [&Format; 8] =
    [&ACCOUNT_ID, &AWS_PROFILE, &ROLE_ARN, &EXTERNAL_ID, &SESSION_NAME, &SERVICE_ACCOUNT, &GUID, &ENV_NAME];

impl garde::rules::AsStr for Format {
    fn as_str(&self) -> &str {
        self.pattern
    }
}

impl garde::rules::pattern::Matcher for Format {
    fn is_match(&self, haystack: &str) -> bool {
        self.regex().is_match(haystack)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.pattern)
    }
}

impl<S: Syntax> schemars::JsonSchema for Checked<S> {
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
pub(crate) fn cron_expr(value: &CronText, _context: &()) -> garde::Result {
    to_garde(value.parsed().map(drop))
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
        Some(text) => to_garde(text.parsed().map(drop)),
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

    /// Patterns a policy might write: the shipped policy's three and the syntax around
    /// them (classes, Unicode, flags, anchors, word boundaries, repetitions).
    const EXPRESSIONS: [&str; 10] = [
        r"(tcp (22-22|3389-3389|0-65535)|-1 all) from (0\.0\.0\.0/0|::/0)",
        r#"policy/(AdministratorAccess|IAMFullAccess|PowerUserAccess)""#,
        r#""Principal":"\*"|"AWS":\["\*"\]|groups/global/(AllUsers|AuthenticatedUsers)"#,
        r"(?i)^prod(uction)?$",
        r"\bdb-\d{2,3}\b",
        r"^\p{Lu}\w+ é$",
        r"a+b*?c{2}|^$",
        r"(?m)^x$",
        r"[^a-z0-9]",
        r"",
    ];

    fn haystacks() -> impl Strategy<Value = String> {
        prop_oneof![
            "(tcp |-1 all|udp )?[0-9-]{0,12}( from )?(0\\.0\\.0\\.0/0|::/0|10\\.0\\.0\\.0/8)?",
            "(policy/|\"Principal\":\"|\"AWS\":\\[\"|groups/global/)?(\\*\"|\\*\"\\]|AllUsers|IAMFullAccess\"|Power)?",
            "[Pp][Rr][Oo][Dd](uction|UCTION)?",
            "( |-)?db-[0-9]{1,4}( |x)?",
            "[A-ZÉa-zé_ ]{0,8}",
            "[abcx\n]{0,8}",
            any::<String>(),
        ]
    }

    proptest! {
        /// A policy expression built for `is_match` answers exactly as the `regex` crate's
        /// `Regex` does: the same syntax refused, the same texts matched.
        #[test]
        fn policy_expressions_answer_as_the_regex_crate(
            written in prop_oneof![proptest::sample::select(&EXPRESSIONS[..]).prop_map(str::to_owned), "[ab|()*+?.^$\\\\dw{}2,]{0,8}"],
            text in haystacks(),
        ) {
            let theirs = regex::Regex::new(&written);
            let ours = parse_regex(&written);
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}: {:?}", written, ours.as_ref().err());
            if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
                prop_assert_eq!(ours.is_match(&text), theirs.is_match(&text), "{:?} on {:?}", written, text);
            }
        }

        /// Each fixed format answers as the `regex` crate would for the same pattern.
        #[test]
        fn formats_answer_as_the_regex_crate(
            text in prop_oneof![
                "[0-9]{11,13}",
                "arn:aws[a-z-]{0,4}:iam::[0-9]{11,12}:role/[A-Za-z0-9_+=,.@/ -]{0,6}",
                "[0-9a-fA-Fg-]{34,38}",
                "[a-z0-9-]{1,4}@[a-z0-9.-]{1,6}\\.iam\\.gserviceaccount\\.com",
                "[A-Za-z0-9_+=,.@:/ -]{0,8}",
                any::<String>(),
            ],
        ) {
            for format in FORMATS {
                let pattern = garde::rules::AsStr::as_str(format);
                let theirs = regex::Regex::new(pattern).unwrap();
                prop_assert_eq!(
                    garde::rules::pattern::Matcher::is_match(format, &text), theirs.is_match(&text),
                    "{:?} on {:?}", pattern, text
                );
            }
        }
    }

    #[test]
    fn formats_take_the_documented_examples() {
        assert!(ACCOUNT_ID.regex().is_match("012345678901"));
        assert!(!ACCOUNT_ID.regex().is_match("12345678901"));
        assert!(ROLE_ARN.regex().is_match("arn:aws:iam::222222222222:role/driftguard"));
        assert!(ROLE_ARN.regex().is_match("arn:aws-us-gov:iam::222222222222:role/path/to/role"));
        assert!(!ROLE_ARN.regex().is_match("arn:aws:iam::222222222222:user/driftguard"));
        assert!(GUID.regex().is_match("00000000-0000-0000-0000-000000000000"));
        assert!(SERVICE_ACCOUNT.regex().is_match("driftguard@my-project.iam.gserviceaccount.com"));
        assert!(ENV_NAME.regex().is_match("DRIFTGUARD_WEBHOOK_URL"));
        assert!(!ENV_NAME.regex().is_match("1URL"));
    }

    #[test]
    fn a_checked_text_is_parsed_once_and_a_refusal_is_not_kept() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static PARSES: AtomicUsize = AtomicUsize::new(0);
        #[derive(Debug, Default)]
        struct Counted;
        impl Syntax for Counted {
            type Output = String;
            fn parse(text: &str) -> Result<String, String> {
                PARSES.fetch_add(1, Ordering::SeqCst);
                if text == "bad" { Err("refused".to_owned()) } else { Ok(text.to_uppercase()) }
            }
        }
        let good = Checked::<Counted>::from("ok");
        assert_eq!(good.parsed().map(String::as_str), Ok("OK"));
        assert_eq!(good.clone().parsed().map(String::as_str), Ok("OK"), "a clone keeps the parse");
        assert_eq!(PARSES.load(Ordering::SeqCst), 1);
        let bad = Checked::<Counted>::from("bad");
        assert!(bad.parsed().is_err());
        assert!(bad.parsed().is_err());
        assert_eq!(PARSES.load(Ordering::SeqCst), 3, "a refusal is asked again, never taken as parsed");
        let cron = CronText::from("*/15 * * * *");
        assert_eq!(cron.parsed().map(String::as_str), Ok("0 */15 * * * *"));
    }

    #[test]
    fn each_format_has_its_own_pattern_and_hint() {
        for format in FORMATS {
            assert!(!format.hint.is_empty(), "{}", format.pattern);
            assert_eq!(FORMATS.iter().filter(|other| other.pattern == format.pattern).count(), 1, "{}", format.pattern);
            assert_eq!(Format::hint_of(format.pattern), Some(format.hint));
        }
        assert_eq!(Format::hint_of("^x$"), None);
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
        assert_eq!(parse_cron("*/15 * * * *").unwrap(), "0 */15 * * * *");
        assert_eq!(parse_cron("30 0 * * * *").unwrap(), "30 0 * * * *");
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_cron("* * *").is_err());
    }
}

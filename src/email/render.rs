//! One outgoing email, one alert or a digest of a user's alerts, as a [`lettre::Message`]. Pure: no
//! I/O, no clock.
//!
//! - **Body**: `multipart/alternative` with a plain text and an HTML part, rendered with minijinja
//!   from `templates/email/alert.txt.j2` and `alert.html.j2` (embedded at build time). One pair of
//!   templates serves 1..n items. The HTML template is auto-escaped; the progress bar is nested
//!   tables with inline widths and colours (no external CSS, no images).
//! - **Headers**: `From` (settings), `To`, `Subject` (a single alert's title, or "N updates on your
//!   goals"), `Date` (the injected `now`, never the system clock), `Message-ID` (the caller's, made
//!   once per delivery with [`message_id`] and kept for every attempt), `Auto-Submitted:
//!   auto-generated` (RFC 3834: no auto-replies), `MIME-Version`, `Content-Type` and, when
//!   configured, `List-Unsubscribe`.
//! - **Header safety**: every value that goes into a header or a part is put on one line first:
//!   control characters, line breaks and runs of whitespace become one space. A name or title can
//!   therefore never add or alter a header. Header text is also what a mail client decodes: a title
//!   containing `=?` (the start of an RFC 2047 encoded word) is encoded whole, so it decodes to the
//!   one-line text that was stored, never to a hidden line break; display names are quoted by lettre.

use super::headers::{AutoSubmitted, ListUnsubscribe, Subject};
use crate::config::EmailSettings;
use crate::domain::alerts::AlertType;
use crate::domain::wording::Fact;
use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::time::SystemTime;

const TEXT_NAME: &str = "alert.txt.j2";
const HTML_NAME: &str = "alert.html.j2";
const TEXT_TEMPLATE: &str = include_str!("../../templates/email/alert.txt.j2");
const HTML_TEMPLATE: &str = include_str!("../../templates/email/alert.html.j2");

/// Characters in the plain text progress bar.
const BAR_WIDTH: usize = 20;

/// 10000-01-01T00:00:00Z as a Unix timestamp: lettre's `Date` header panics from there on.
const YEAR_10000: i64 = 253_402_300_800;

/// Why an email could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("email.from: expected an address like \"goalkeeper <goals@example.org>\", found {0:?}")]
    InvalidFrom(String),
    #[error("email.list_unsubscribe: expected a mailto: or https:// URL without spaces, found {0:?}")]
    InvalidUnsubscribe(String),
    #[error("an email needs at least one alert")]
    NoItems,
    #[error("expected a Message-ID like <id@domain>, found {0:?}")]
    InvalidMessageId(String),
    #[error("the time {0} cannot be an email's Date (expected 1970 to 9999)")]
    DateOutOfRange(DateTime<Utc>),
    #[error("rendering the email templates: {0}")]
    Template(#[from] minijinja::Error),
    #[error("building the email: {0}")]
    Build(#[from] lettre::error::Error),
}

/// Who sends, from `[email]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub from: Mailbox,
    /// A `mailto:` or `https://` URL for `List-Unsubscribe` and the footer; `None`: neither.
    pub list_unsubscribe: Option<String>,
}

impl Sender {
    /// `from` parsed as a mailbox; `list_unsubscribe` kept when not empty (and a URL without spaces).
    pub fn from_settings(settings: &EmailSettings) -> Result<Sender, RenderError> {
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|_| RenderError::InvalidFrom(settings.from.clone()))?;
        let url = settings.list_unsubscribe.trim();
        let list_unsubscribe = match url {
            "" => None,
            url if is_unsubscribe_url(url) => Some(url.to_owned()),
            _ => return Err(RenderError::InvalidUnsubscribe(settings.list_unsubscribe.clone())),
        };
        Ok(Sender { from, list_unsubscribe })
    }
}

/// The user the email goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub name: Option<String>,
    pub address: Address,
}

/// A goal as the email shows it. Where it stands and what it takes come in its type's words
/// ([`crate::domain::wording`]): a line for the text part, a label and a value for the HTML table.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalCard {
    pub name: String,
    /// `Current: 4,500.00 of 10,000.00`, `Paid off 2,106.36 of 4,200.00; 2,093.64 left`, ...
    pub standing: Fact,
    /// 0 to 100 for a goal under way; shown (number and bar) clamped to 0..=100, rounded down.
    pub progress_percent: f64,
    pub on_track: bool,
    /// `Needed per month: 458.33`, `To pay per month: 350.00`, or nothing.
    pub needed: Option<Fact>,
    pub projected_completion: Option<String>,
}

/// One alert in the email.
///
/// Its goal is shown (bar and facts) only when the card has a name: a card with an empty name
/// stands for "no goal facts known".
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub alert_type: AlertType,
    pub title: String,
    pub message: String,
    /// Shown only when it is an `http://` or `https://` URL.
    pub action_url: Option<String>,
    pub goal: GoalCard,
}

/// One email to render: the alerts of one delivery, most urgent first.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// `<id@domain>`, from [`message_id`]; the same for every attempt, so a receiver can drop the
    /// duplicate of a retried send.
    pub message_id: String,
    /// The email's `Date`.
    pub now: DateTime<Utc>,
    pub to: Recipient,
    /// One alert, or several for a digest; already in order.
    pub items: Vec<Item>,
}

/// `<goalkeeper.delivery.{delivery_id}@{domain of from}>`: a delivery's `Message-ID`, the same for
/// every attempt.
pub fn message_id(delivery_id: i64, from: &Mailbox) -> String {
    format!("<goalkeeper.delivery.{delivery_id}@{}>", from.email.domain())
}

/// The email for `email`, from `sender`.
pub fn render(sender: &Sender, email: &Outgoing) -> Result<Message, RenderError> {
    let first = email.items.first().ok_or(RenderError::NoItems)?;
    let subject = match email.items.len() {
        1 => Some(one_line(&first.title)).filter(|t| !t.is_empty()),
        n => Some(format!("{n} updates on your goals")),
    }
    .unwrap_or_else(|| "An update on your goal".to_owned());
    let date = email_date(email.now)?;
    if !is_message_id(&email.message_id) {
        return Err(RenderError::InvalidMessageId(email.message_id.clone()));
    }
    let unsubscribe = match &sender.list_unsubscribe {
        None => None,
        Some(url) if is_unsubscribe_url(url) => Some(url.as_str()),
        Some(url) => return Err(RenderError::InvalidUnsubscribe(url.clone())),
    };
    let to_name = email.to.name.as_deref().map(one_line).filter(|n| !n.is_empty());
    let from_name = sender.from.name.as_deref().map(one_line).filter(|n| !n.is_empty());

    let view = View::new(&subject, to_name.as_deref(), &email.items, unsubscribe);
    let (text, html) = render_parts(&view)?;

    let mut builder = Message::builder()
        .from(Mailbox::new(from_name, sender.from.email.clone()))
        .to(Mailbox::new(to_name, email.to.address.clone()))
        .header(Subject(subject))
        .date(date)
        .message_id(Some(email.message_id.clone()))
        .header(AutoSubmitted);
    if let Some(url) = unsubscribe {
        builder = builder.header(ListUnsubscribe(format!("<{url}>")));
    }
    Ok(builder.multipart(MultiPart::alternative_plain_html(text, html))?)
}

/// `value` on one line: control characters, line breaks and every run of whitespace become one
/// space; no space at either end.
fn one_line(value: &str) -> String {
    let words: Vec<&str> = value
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    words.join(" ")
}

/// `mailto:` or `https://`, printable ASCII without spaces or angle brackets (it goes inside `<>`).
fn is_unsubscribe_url(url: &str) -> bool {
    (url.starts_with("mailto:") || url.starts_with("https://"))
        && url.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
}

/// `<left@right>`: printable ASCII, no spaces, no other angle brackets.
fn is_message_id(id: &str) -> bool {
    id.strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .is_some_and(|inner| {
            inner
                .split_once('@')
                .is_some_and(|(left, right)| !left.is_empty() && !right.is_empty())
                && inner.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
        })
}

fn email_date(now: DateTime<Utc>) -> Result<SystemTime, RenderError> {
    if (0..YEAR_10000).contains(&now.timestamp()) {
        Ok(SystemTime::from(now))
    } else {
        Err(RenderError::DateOutOfRange(now))
    }
}

/// The templates, parsed once per process.
static ENVIRONMENT: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();

fn environment() -> Result<&'static Environment<'static>, RenderError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let env = build_environment()?;
    Ok(ENVIRONMENT.get_or_init(|| env))
}

fn build_environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_syntax(SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build()?);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name == HTML_NAME {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_template(TEXT_NAME, TEXT_TEMPLATE)?;
    env.add_template(HTML_NAME, HTML_TEMPLATE)?;
    Ok(env)
}

fn render_parts(view: &View<'_>) -> Result<(String, String), RenderError> {
    let env = environment()?;
    let context = Value::from(Serde(view));
    let text = env.get_template(TEXT_NAME)?.render(&context)?;
    let html = env.get_template(HTML_NAME)?.render(&context)?;
    Ok((text, html))
}

/// What the templates see: every text already on one line.
#[derive(Serialize)]
struct View<'a> {
    subject: &'a str,
    greeting: String,
    intro: Option<String>,
    items: Vec<ItemView>,
    reason: &'static str,
    unsubscribe: Option<&'a str>,
}

#[derive(Serialize)]
struct ItemView {
    title: String,
    message: String,
    action_url: Option<String>,
    /// None: no goal facts to show.
    goal: Option<GoalView>,
}

#[derive(Serialize)]
struct GoalView {
    name: String,
    standing: Fact,
    /// 0..=100, the filled share of the bar.
    percent: u8,
    /// 100 - percent, the empty share.
    rest: u8,
    /// `[##########----------]`
    bar: String,
    status: &'static str,
    colour: &'static str,
    needed: Option<Fact>,
    projected_completion: Option<String>,
}

impl<'a> View<'a> {
    fn new(subject: &'a str, name: Option<&str>, items: &[Item], unsubscribe: Option<&'a str>) -> View<'a> {
        View {
            subject,
            greeting: name.map_or_else(|| "Hello,".to_owned(), |n| format!("Hi {n},")),
            intro: (items.len() > 1).then(|| format!("Here are {} updates on your goals.", items.len())),
            items: items.iter().map(ItemView::new).collect(),
            reason: "You get this email because goalkeeper tracks your financial goals \
                     and these alerts are turned on for you.",
            unsubscribe,
        }
    }
}

impl ItemView {
    fn new(item: &Item) -> ItemView {
        let action_url = item
            .action_url
            .as_deref()
            .map(one_line)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
        ItemView {
            title: one_line(&item.title),
            message: one_line(&item.message),
            action_url,
            goal: Some(GoalView::new(&item.goal)).filter(|g| !g.name.is_empty()),
        }
    }
}

impl GoalView {
    fn new(goal: &GoalCard) -> GoalView {
        let percent = shown_percent(goal.progress_percent);
        let filled = usize::from(percent) * BAR_WIDTH / 100;
        GoalView {
            name: one_line(&goal.name),
            standing: one_line_fact(&goal.standing),
            percent,
            rest: 100 - percent,
            bar: format!("[{}{}]", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled)),
            status: if goal.on_track { "on track" } else { "behind" },
            colour: if goal.on_track { "#16a34a" } else { "#d97706" },
            needed: goal.needed.as_ref().map(one_line_fact),
            projected_completion: goal.projected_completion.as_deref().map(one_line),
        }
    }
}

/// A fact with each of its texts on one line.
fn one_line_fact(fact: &Fact) -> Fact {
    Fact {
        label: one_line(&fact.label),
        value: one_line(&fact.value),
        line: one_line(&fact.line),
    }
}

/// `percent` clamped to 0..=100 and rounded down (99.9 is not done yet); NaN shows as 0.
fn shown_percent(percent: f64) -> u8 {
    if percent.is_nan() {
        return 0;
    }
    // Clamped to 0..=100 first, so the cast cannot truncate.
    percent.clamp(0.0, 100.0).floor() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::goal::GoalType;
    use crate::domain::wording;
    use chrono::TimeZone;
    use mail_parser::{MessageParser, MimeHeaders};
    use minijinja::HtmlEscape;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const UNSUBSCRIBE: &str = "https://goals.example.org/unsubscribe";

    fn sender(unsubscribe: Option<&str>) -> Sender {
        Sender {
            from: "goalkeeper <goals@example.org>".parse().unwrap(),
            list_unsubscribe: unsubscribe.map(str::to_owned),
        }
    }

    fn card(name: &str, percent: f64) -> GoalCard {
        typed_card(name, percent, GoalType::EmergencyFund, 450_000, 1_000_000, 45_833)
    }

    /// A card in the words of its type (`current`, `target` and `required` in hundredths).
    fn typed_card(name: &str, percent: f64, t: GoalType, current: i64, target: i64, required: i64) -> GoalCard {
        let words = wording::words(t, current, target, required);
        GoalCard {
            name: name.to_owned(),
            standing: words.standing,
            progress_percent: percent,
            on_track: true,
            needed: words.needed,
            projected_completion: Some("2026-06-30".to_owned()),
        }
    }

    fn item(title: &str, goal: &str) -> Item {
        Item {
            alert_type: AlertType::Milestone50,
            title: title.to_owned(),
            message: format!("You're halfway to '{goal}'."),
            action_url: Some("https://goals.example.org/goals/7".to_owned()),
            goal: card(goal, 45.0),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 9, 30, 0).unwrap()
    }

    fn outgoing(items: Vec<Item>) -> Outgoing {
        Outgoing {
            message_id: message_id(42, &sender(None).from),
            now: now(),
            to: Recipient {
                name: Some("Ada Lovelace".to_owned()),
                address: "ada@example.com".parse().unwrap(),
            },
            items,
        }
    }

    /// The email as a receiver sees it: formatted, then parsed by a real MIME parser.
    struct Received {
        raw: Vec<u8>,
    }

    impl Received {
        fn of(message: &Message) -> Received {
            Received {
                raw: message.formatted(),
            }
        }

        fn parsed(&self) -> mail_parser::Message<'_> {
            MessageParser::default().parse(&self.raw).unwrap()
        }

        fn header_names(&self) -> BTreeSet<String> {
            self.parsed()
                .headers()
                .iter()
                .map(|h| h.name.as_str().to_ascii_lowercase())
                .collect()
        }

        fn header(&self, name: &str) -> Option<String> {
            self.parsed().header_raw(name).map(|v| v.trim().to_owned())
        }

        fn subject(&self) -> String {
            self.parsed().subject().unwrap().to_owned()
        }

        fn text(&self) -> String {
            let parsed = self.parsed();
            assert_eq!(parsed.text_body_count(), 1);
            let part = parsed.text_part(0).unwrap();
            assert!(part.is_content_type("text", "plain"));
            part.text_contents().unwrap().to_owned()
        }

        fn html(&self) -> String {
            let parsed = self.parsed();
            assert_eq!(parsed.html_body_count(), 1);
            let part = parsed.html_part(0).unwrap();
            assert!(part.is_content_type("text", "html"));
            part.text_contents().unwrap().to_owned()
        }
    }

    fn received(sender: &Sender, email: &Outgoing) -> Received {
        Received::of(&render(sender, email).unwrap())
    }

    fn escaped(text: &str) -> String {
        HtmlEscape(text).to_string()
    }

    fn expected_headers(with_unsubscribe: bool) -> BTreeSet<String> {
        let mut names = vec![
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "auto-submitted",
            "mime-version",
            "content-type",
        ];
        if with_unsubscribe {
            names.push("list-unsubscribe");
        }
        names.into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn a_single_alert_has_its_title_as_subject() {
        let email = received(
            &sender(None),
            &outgoing(vec![item("Halfway there: Emergency fund", "Emergency fund")]),
        );
        assert_eq!(email.subject(), "Halfway there: Emergency fund");
        assert_eq!(email.header_names(), expected_headers(false));
        assert!(email.text().starts_with("Hi Ada Lovelace,"), "{}", email.text());
        assert!(
            email.text().contains("== Halfway there: Emergency fund =="),
            "{}",
            email.text()
        );
    }

    #[test]
    fn a_digest_is_titled_by_its_count_and_lists_every_alert_in_both_parts() {
        let items = vec![
            item("Goal achieved: Car", "Car"),
            item("Falling behind: House", "House"),
            item("Halfway there: Holiday", "Holiday"),
        ];
        let email = received(&sender(None), &outgoing(items.clone()));
        assert_eq!(email.subject(), "3 updates on your goals");
        let (text, html) = (email.text(), email.html());
        assert!(text.contains("Here are 3 updates on your goals."), "{text}");
        let mut last = (0, 0);
        for item in &items {
            let at_text = text
                .find(&item.title)
                .unwrap_or_else(|| panic!("{} missing: {text}", item.title));
            let at_html = html
                .find(&item.title)
                .unwrap_or_else(|| panic!("{} missing: {html}", item.title));
            assert!(at_text > last.0 && at_html > last.1, "{} out of order", item.title);
            last = (at_text, at_html);
            assert!(
                text.contains(&item.message) && html.contains(&escaped(&item.message)),
                "{}",
                item.message
            );
            assert!(text.lines().any(|line| line == item.goal.name), "{}", item.goal.name);
            assert!(html.contains(&format!(">{}</p>", item.goal.name)), "{}", item.goal.name);
        }
    }

    #[test]
    fn both_parts_show_progress_amounts_pace_projection_and_link() {
        let mut goal = card("Emergency fund", 45.0);
        goal.on_track = false;
        let email = outgoing(vec![Item {
            goal,
            ..item("Falling behind: Emergency fund", "Emergency fund")
        }]);
        let email = received(&sender(None), &email);
        let (text, html) = (email.text(), email.html());
        for line in [
            "[#########-----------] 45 % (behind)",
            "Current: 4,500.00 of 10,000.00",
            "Needed per month: 458.33",
            "Projected completion: 2026-06-30",
            "View the goal: https://goals.example.org/goals/7",
        ] {
            assert!(text.contains(line), "{line} missing: {text}");
        }
        for fragment in [
            "width:45%;height:12px;background-color:#d97706;",
            "width:55%;height:12px;background-color:#e5e7eb;",
            "45 % (behind)",
            "4,500.00 of 10,000.00",
            ">Current<",
            ">Needed per month<",
            ">458.33<",
            ">2026-06-30<",
            &format!("<a href=\"{}\"", escaped("https://goals.example.org/goals/7")),
        ] {
            assert!(html.contains(fragment), "{fragment} missing: {html}");
        }
    }

    #[test]
    fn missing_facts_and_links_that_are_not_web_links_are_left_out() {
        let mut alert = item("Falling behind: Car", "Car");
        alert.goal.needed = None;
        alert.goal.projected_completion = None;
        alert.action_url = Some("javascript:alert(1)".to_owned());
        let email = received(&sender(None), &outgoing(vec![alert]));
        let (text, html) = (email.text(), email.html());
        for absent in [
            "Needed per month",
            "Projected completion",
            "View the goal",
            "javascript",
        ] {
            assert!(!text.contains(absent) && !html.contains(absent), "{absent} shown");
        }
        assert!(!html.contains("<a "), "{html}");
    }

    #[test]
    fn each_goal_type_speaks_its_own_words_in_both_parts() {
        // (type, current, target, required, text lines, HTML label/value cells, what must not show)
        type Row = (
            GoalType,
            i64,
            i64,
            i64,
            &'static [&'static str],
            &'static [&'static str],
            &'static [&'static str],
        );
        let table: &[Row] = &[
            (
                GoalType::ExpenseReduction,
                26_933,
                24_000,
                2_933,
                &["Spent 269.33 of a 240.00 limit this month: 29.33 over"],
                &[">Spent<", ">269.33 of a 240.00 limit this month: 29.33 over<"],
                &["Current", "Needed per month", "29.33<"],
            ),
            (
                GoalType::DebtPayoff,
                210_636,
                420_000,
                35_000,
                &[
                    "Paid off 2,106.36 of 4,200.00; 2,093.64 left",
                    "To pay per month: 350.00",
                ],
                &[
                    ">Paid off<",
                    ">2,106.36 of 4,200.00; 2,093.64 left<",
                    ">To pay per month<",
                    ">350.00<",
                ],
                &["Current", "Needed per month"],
            ),
            (
                GoalType::SavingsRate,
                1_850,
                2_000,
                12_000,
                &[
                    "Saved 18.5 % of income this month, target 20 %",
                    "To save this month: 120.00 more",
                ],
                &[">Saved<", ">18.5 % of income this month, target 20 %<", ">120.00 more<"],
                &["Current", "Needed per month"],
            ),
            (
                GoalType::NetWorthTarget,
                450_000,
                1_000_000,
                45_833,
                &["Current: 4,500.00 of 10,000.00", "Needed per month: 458.33"],
                &[">Current<", ">4,500.00 of 10,000.00<", ">Needed per month<"],
                &["Paid off", "Spent"],
            ),
        ];
        for &(t, current, target, required, lines, cells, absent) in table {
            let email = outgoing(vec![Item {
                goal: typed_card("Goal", 40.0, t, current, target, required),
                ..item("Falling behind: Goal", "Goal")
            }]);
            let email = received(&sender(None), &email);
            let (text, html) = (email.text(), email.html());
            for line in lines {
                assert!(text.lines().any(|l| l == *line), "{t}: {line} missing: {text}");
            }
            for cell in cells {
                assert!(html.contains(cell), "{t}: {cell} missing: {html}");
            }
            for word in absent {
                assert!(!text.contains(word) && !html.contains(word), "{t}: {word} shown");
            }
        }
    }

    #[test]
    fn the_date_header_is_the_injected_now() {
        let message = render(&sender(None), &outgoing(vec![item("t", "g")])).unwrap();
        assert_eq!(
            message.headers().get_raw("Date"),
            Some("Fri, 14 Mar 2025 09:30:00 +0000")
        );
        assert_eq!(
            Received::of(&message).parsed().date().unwrap().to_timestamp(),
            now().timestamp()
        );
    }

    #[test]
    fn an_email_without_alerts_or_with_a_date_no_header_can_carry_is_refused() {
        assert!(matches!(
            render(&sender(None), &outgoing(vec![])),
            Err(RenderError::NoItems)
        ));
        for year in [1969, 10_000] {
            let mut email = outgoing(vec![item("t", "g")]);
            email.now = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
            assert!(
                matches!(render(&sender(None), &email), Err(RenderError::DateOutOfRange(_))),
                "{year}"
            );
        }
    }

    #[test]
    fn the_message_id_is_made_from_the_delivery_and_kept_for_every_attempt() {
        let from = sender(None).from;
        assert_eq!(message_id(42, &from), "<goalkeeper.delivery.42@example.org>");
        assert_ne!(message_id(43, &from), message_id(42, &from));
        let first = outgoing(vec![item("t", "g")]);
        let retry = Outgoing {
            now: now() + chrono::Duration::minutes(5),
            ..first.clone()
        };
        for email in [&first, &retry] {
            let message = render(&sender(None), email).unwrap();
            assert_eq!(
                message.headers().get_raw("Message-ID"),
                Some("<goalkeeper.delivery.42@example.org>")
            );
        }
    }

    #[test]
    fn a_message_id_that_is_not_one_is_refused() {
        for id in [
            "",
            "goalkeeper@example.org",
            "<no-at>",
            "<a@b>\r\nBcc: x@evil.example",
            "<a b@c>",
            "<@b>",
        ] {
            let email = Outgoing {
                message_id: id.to_owned(),
                ..outgoing(vec![item("t", "g")])
            };
            assert!(
                matches!(render(&sender(None), &email), Err(RenderError::InvalidMessageId(_))),
                "{id}"
            );
        }
    }

    #[test]
    fn a_goal_card_without_a_name_shows_no_goal_facts() {
        let mut alert = item("Reminder", "");
        alert.action_url = None;
        let email = received(&sender(None), &outgoing(vec![alert]));
        let (text, html) = (email.text(), email.html());
        for absent in ["Current:", "[", "%"] {
            assert!(!text.contains(absent), "{absent}: {text}");
        }
        assert!(!html.contains("Current") && !html.contains("height:12px"), "{html}");
        assert!(text.contains("== Reminder ==") && html.contains(">Reminder</h2>"));
    }

    #[test]
    fn list_unsubscribe_is_sent_only_when_configured() {
        let email = outgoing(vec![item("t", "g")]);
        let without = received(&sender(None), &email);
        assert_eq!(without.header("List-Unsubscribe"), None);
        assert!(!without.text().contains("To stop these emails"));
        assert!(without.text().contains("You get this email because"));

        let with = received(&sender(Some(UNSUBSCRIBE)), &email);
        assert_eq!(with.header("List-Unsubscribe"), Some(format!("<{UNSUBSCRIBE}>")));
        assert_eq!(with.header_names(), expected_headers(true));
        assert!(with.text().contains(&format!("To stop these emails: {UNSUBSCRIBE}")));
        assert!(with.html().contains(&format!("<a href=\"{}\"", escaped(UNSUBSCRIBE))));
    }

    #[test]
    fn the_sender_comes_from_the_settings_and_bad_values_are_refused() {
        let mut settings = crate::config::Settings::builtin().unwrap().email;
        settings.from = "goalkeeper <goals@example.org>".to_owned();
        settings.list_unsubscribe = String::new();
        assert_eq!(Sender::from_settings(&settings).unwrap(), sender(None));
        settings.list_unsubscribe = format!(" {UNSUBSCRIBE} ");
        assert_eq!(Sender::from_settings(&settings).unwrap(), sender(Some(UNSUBSCRIBE)));
        settings.list_unsubscribe = "https://x.example/a b".to_owned();
        assert!(matches!(
            Sender::from_settings(&settings),
            Err(RenderError::InvalidUnsubscribe(_))
        ));
        settings.list_unsubscribe = String::new();
        settings.from = "not an address".to_owned();
        assert!(matches!(
            Sender::from_settings(&settings),
            Err(RenderError::InvalidFrom(_))
        ));
    }

    #[test]
    fn names_are_html_escaped_in_the_html_part() {
        let name = "<script>alert(1)</script>";
        let email = received(
            &sender(None),
            &outgoing(vec![item(&format!("Falling behind: {name}"), name)]),
        );
        let html = email.html();
        assert!(!html.contains(name), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{html}");
        assert!(email.text().contains(name));
    }

    #[test]
    fn the_progress_bar_is_clamped_to_empty_and_full() {
        for (percent, bar, shown) in [
            (130.0, "[####################]", 100),
            (100.0, "[####################]", 100),
            (99.9, "[###################-]", 99),
            (-5.0, "[--------------------]", 0),
            (f64::NAN, "[--------------------]", 0),
        ] {
            let mut alert = item("t", "g");
            alert.goal.progress_percent = percent;
            let email = received(&sender(None), &outgoing(vec![alert]));
            let (text, html) = (email.text(), email.html());
            assert!(text.contains(&format!("{bar} {shown} %")), "{percent}: {text}");
            let filled = format!("width:{shown}%;height:12px;background-color:#16a34a;");
            let empty = format!("width:{}%;height:12px;background-color:#e5e7eb;", 100 - shown);
            assert_eq!(html.contains(&filled), shown > 0, "{percent}: {html}");
            assert_eq!(html.contains(&empty), shown < 100, "{percent}: {html}");
        }
    }

    #[test]
    fn one_line_turns_control_characters_and_line_breaks_into_single_spaces() {
        assert_eq!(
            one_line("  Car\r\nBcc: x@evil.example\t\u{0}fund\u{2028}x  "),
            "Car Bcc: x@evil.example fund x"
        );
        assert_eq!(one_line("\r\n"), "");
    }

    /// `=?utf-8?b?...?=` whose payload decodes to `Eve` CR LF `Bcc: x@evil.example`.
    const ENCODED_INJECTION: &str = "=?utf-8?b?RXZlDQpCY2M6IHhAZXZpbC5leGFtcGxl?=";

    #[test]
    fn a_goal_name_that_is_an_encoded_word_reaches_the_subject_as_the_text_it_was() {
        let title = format!("Halfway there: {ENCODED_INJECTION}");
        let email = received(&sender(None), &outgoing(vec![item(&title, ENCODED_INJECTION)]));
        assert_eq!(email.subject(), title, "the mail client shows exactly the stored title");
        assert!(!email.subject().contains("Bcc"), "{}", email.subject());
        assert_eq!(email.header_names(), expected_headers(false));
        assert_eq!(email.parsed().bcc(), None);
        for text in ["=?", "a =?utf-8?q?x?= b", "=?x?=", "ünïcödé =?utf-8?b?QQ==?="] {
            let email = received(&sender(None), &outgoing(vec![item(text, "g")]));
            assert_eq!(email.subject(), text);
        }
    }

    #[test]
    fn a_display_name_that_is_an_encoded_word_reaches_the_to_header_as_the_text_it_was() {
        let mut email = outgoing(vec![item("Halfway there", "g")]);
        email.to.name = Some(ENCODED_INJECTION.to_owned());
        let email = received(&sender(None), &email);
        let parsed = email.parsed();
        let to = parsed.to().and_then(|to| to.as_list()).unwrap();
        assert_eq!(to.len(), 1);
        assert_eq!(to[0].name(), Some(ENCODED_INJECTION));
        assert_eq!(to[0].address(), Some("ada@example.com"));
        assert_eq!(email.header_names(), expected_headers(false));
    }

    /// Text with every kind of character, and the pieces of a header injection.
    fn hostile_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            any::<char>().prop_map(String::from),
            "[a-zA-Z0-9 ]{1,8}",
            Just("\r\n".to_owned()),
            Just("\r".to_owned()),
            Just("\n".to_owned()),
            Just("\r\nBcc: x@evil.example\r\n".to_owned()),
            Just("\nSubject: hacked".to_owned()),
            Just("\r\n\r\n<html>body</html>".to_owned()),
            Just("\"<x@evil.example>, ".to_owned()),
            Just("\\ ; : , @".to_owned()),
            Just(ENCODED_INJECTION.to_owned()),
            Just("=?".to_owned()),
            Just("?=".to_owned()),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn every_address_users_may_register_is_one_an_email_can_be_sent_to(
            local in r#"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.\-"\\ ,@\[\]ü]{1,12}"#,
            domain in r#"[a-z0-9.\-\[\]:ü]{1,12}"#,
        ) {
            let text = format!("{local}@{domain}");
            if let Ok(address) = crate::domain::user::sendable_address(&text) {
                let mut email = outgoing(vec![item("t", "g")]);
                email.to.address = address;
                let message = render(&sender(None), &email);
                prop_assert!(message.is_ok(), "{text}: {message:?}");
                let message = message.unwrap();
                let to: Vec<String> = message.envelope().to().iter().map(ToString::to_string).collect();
                prop_assert_eq!(to, vec![text]);
            }
        }
    }

    proptest! {
        #[test]
        fn no_name_or_title_can_add_or_alter_a_header(
            user in hostile_text(),
            goal in hostile_text(),
            title in hostile_text(),
            from_name in hostile_text(),
        ) {
            let mut sender = sender(Some(UNSUBSCRIBE));
            sender.from.name = Some(from_name.clone());
            let mut email = outgoing(vec![item(&title, &goal)]);
            email.to.name = Some(user.clone());
            let email = received(&sender, &email);
            let parsed = email.parsed();

            prop_assert_eq!(email.header_names(), expected_headers(true));
            let to = parsed.to().and_then(|to| to.as_list()).unwrap();
            prop_assert_eq!(to.len(), 1);
            prop_assert_eq!(to[0].address(), Some("ada@example.com"));
            let user = one_line(&user);
            prop_assert_eq!(to[0].name().unwrap_or(""), user.as_str());
            let from = parsed.from().and_then(|from| from.as_list()).unwrap();
            prop_assert_eq!(from.len(), 1);
            prop_assert_eq!(from[0].address(), Some("goals@example.org"));
            let from_name = one_line(&from_name);
            prop_assert_eq!(from[0].name().unwrap_or(""), from_name.as_str());
            let title = one_line(&title);
            let subject = if title.is_empty() { "An update on your goal" } else { title.as_str() };
            prop_assert_eq!(email.subject(), subject);

            let (text, html) = (email.text(), email.html());
            let goal = one_line(&goal);
            prop_assert!(text.contains(&user) && text.contains(&goal) && text.contains(&title));
            prop_assert!(html.contains(&escaped(&user)) && html.contains(&escaped(&goal)));
        }
    }
}

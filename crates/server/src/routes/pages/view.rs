//! Small pieces every merchant page uses: times as people say them (exact on hover), money with
//! its currency, and the signed-in person's companies.

use maud::{Markup, html};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

use crate::accounts::{Membership, Session};
use crate::{ApiError, AppState};

/// "just now", "3 min ago", "2 h ago", "yesterday", "4 days ago", then the date.
pub(crate) fn relative(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let ago = now - at;
    if ago < Duration::ZERO {
        return "just now".to_owned();
    }
    match ago.whole_minutes() {
        0 => "just now".to_owned(),
        m @ 1..=59 => format!("{m} min ago"),
        m @ 60..=1439 => format!("{} h ago", m / 60),
        1440..=2879 => "yesterday".to_owned(),
        m if m < 14 * 1440 => format!("{} days ago", m / 1440),
        _ => at
            .format(format_description!("[day] [month repr:short] [year]"))
            .unwrap_or_default(),
    }
}

/// The exact time, as a person reads it (`27 Nov 2026, 10:05 UTC`).
pub(crate) fn exact(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[day] [month repr:short] [year], [hour]:[minute]:[second] UTC"
    ))
    .unwrap_or_default()
}

/// A `<time>` reading the clock time ("10:05", with the day when it is not today's), the exact
/// time on hover: for a sequence of events, where "3 min ago" after "5 min ago" reads worse.
pub(crate) fn clock(at: OffsetDateTime, now: OffsetDateTime) -> Markup {
    let said = if at.date() == now.date() {
        at.format(format_description!("[hour]:[minute]"))
    } else {
        at.format(format_description!(
            "[day] [month repr:short] [hour]:[minute]"
        ))
    };
    html! {
        time datetime=(at.format(&Rfc3339).unwrap_or_default()) title=(exact(at)) { (said.unwrap_or_default()) }
    }
}

/// A `<time>` reading "3 min ago" with the exact time on hover and for machines.
pub(crate) fn ago(at: Option<OffsetDateTime>, now: OffsetDateTime) -> Markup {
    match at {
        None => html! { span.muted { "never" } },
        Some(at) => html! {
            time datetime=(at.format(&Rfc3339).unwrap_or_default()) title=(exact(at)) { (relative(at, now)) }
        },
    }
}

/// `42.50 EUR`; the value alone when the currency is unknown.
pub(crate) fn money(value: Option<&str>, currency: Option<&str>) -> String {
    match (value, currency) {
        (Some(value), Some(currency)) => format!("{value} {currency}"),
        (Some(value), None) => value.to_owned(),
        _ => "—".to_owned(),
    }
}

/// The companies of the signed-in person.
pub(crate) async fn memberships(
    state: &AppState,
    session: &Session,
) -> Result<Vec<Membership>, ApiError> {
    let user = session.user.id;
    state.accounts(move |a| a.memberships(user)).await
}

/// `/subscribers/{email}`, with the email made safe for a path (`@` may stay: RFC 3986 allows it
/// in a path segment, and the address reads better with it).
pub(crate) fn subscriber_link(email: &str) -> String {
    format!(
        "/subscribers/{}",
        super::percent_encode(email).replace("%40", "@")
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_read_as_people_say_them() {
        let now = datetime!(2026-11-27 10:00 UTC);
        let cases = [
            (datetime!(2026-11-27 09:59:30 UTC), "just now"),
            (datetime!(2026-11-27 09:57 UTC), "3 min ago"),
            (datetime!(2026-11-27 07:30 UTC), "2 h ago"),
            (datetime!(2026-11-26 08:00 UTC), "yesterday"),
            (datetime!(2026-11-23 10:00 UTC), "4 days ago"),
            (datetime!(2026-10-01 10:00 UTC), "01 Oct 2026"),
            (datetime!(2026-11-27 10:01 UTC), "just now"),
        ];
        for (at, said) in cases {
            assert_eq!(relative(at, now), said, "{at}");
        }
        assert_eq!(exact(now), "27 Nov 2026, 10:00:00 UTC");
    }

    #[test]
    fn clock_times_name_the_day_only_when_it_is_not_today() {
        let now = datetime!(2026-11-27 18:00 UTC);
        let today = clock(datetime!(2026-11-27 10:05 UTC), now).into_string();
        assert!(today.contains(">10:05<"), "{today}");
        assert!(today.contains("27 Nov 2026, 10:05:00 UTC"), "{today}");
        let earlier = clock(datetime!(2026-11-25 09:30 UTC), now).into_string();
        assert!(earlier.contains(">25 Nov 09:30<"), "{earlier}");
    }
}

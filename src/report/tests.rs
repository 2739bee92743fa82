//! Unit tests of the page: escaping, empty and absurd data, too-small campaigns, the days of
//! the transitions chart, determinism.

use super::html::{count, escape, percent};
use super::*;
use crate::campaign::{Assigned, Group};
use crate::partition::events::StageCause;
use crate::CustomerId;

/// 2026-06-30T00:00:00Z.
const NOW: i64 = 1_782_777_600;

/// Fails if the page could fetch, run or link anything outside itself. Text from the data is
/// escaped, so every `<` opens markup: the tags are what is checked, plus the whole page for
/// URLs and style imports.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for needle in ["http:", "https:", "url(", "@import"] {
        assert!(!lower.contains(needle), "the page holds {needle:?}");
    }
    for tag in lower.split('<').skip(1).map(|t| t.split('>').next().unwrap_or_default()) {
        let name = tag.split_whitespace().next().unwrap_or_default();
        assert!(
            !["script", "link", "img", "iframe", "object", "embed", "image", "use"].contains(&name),
            "a <{name}> tag"
        );
        for attribute in ["src=", "href=", "srcset=", "data=", " on"] {
            assert!(!tag.contains(attribute), "<{tag}> has {attribute:?}");
        }
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
}

/// The text of the figure with this id (its SVG and caption).
fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("<figure id=\"{id}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("no figure {id}"));
    let end = start + html[start..].find("</figure>").expect("figure closed");
    &html[start..end]
}

/// `treatment` and `control` customers of which the first `converted` of each converted.
fn evaluation(name: &str, treatment: (u64, u64), control: (u64, u64)) -> Evaluation {
    let mut all = Vec::new();
    for (group, (n, converted)) in [(Group::Treatment, treatment), (Group::Control, control)] {
        for i in 0..n {
            all.push(Assigned {
                group: Some(group),
                stage: if i % 2 == 0 { Stage::Engaged } else { Stage::Loyal },
                converted: i < converted,
                contacted_on: &[],
            });
        }
    }
    Evaluation::of(name, Timestamp(NOW), all)
}

fn full() -> ReportData {
    let mut data = ReportData::new("June", Timestamp(NOW));
    data.stages = vec![(Stage::Identified, 1_234_567), (Stage::Loyal, 42), (Stage::Identified, 3)];
    data.transitions = vec![
        Transition::new(Timestamp(NOW - 3 * DAY), Some(Stage::Engaged), Stage::Customer, 17),
        Transition::new(Timestamp(NOW - 2 * DAY), None, Stage::Identified, 5),
    ];
    data.pressure = vec![PressureCell::new("email", Stage::Engaged, 200, 310)
        .with_saturated_share(0.125)
        .with_under_reached_share(0.5)];
    data.campaigns = vec![evaluation("spring", (400, 80), (100, 10))];
    data
}

#[test]
fn escaping_covers_markup_and_both_quotes() {
    assert_eq!(
        escape(r#"<a href='x'>&"b"</a>"#),
        "&lt;a href=&#39;x&#39;&gt;&amp;&quot;b&quot;&lt;/a&gt;"
    );
    assert_eq!(escape("Zoë · 5 %"), "Zoë · 5 %");
}

#[test]
fn names_from_the_data_are_escaped_in_tables_and_charts() {
    let mut data = full();
    let evil = "</svg><script>alert(1)</script>";
    data.title = format!("{evil} & co");
    data.campaigns[0].campaign = evil.to_string();
    data.pressure[0].channel = "\"><img src=x onerror=alert(1)>".to_string();
    let html = render_html(&data);
    assert_self_contained(&html);
    assert!(!html.contains(evil) && !html.contains("<img"));
    // In the title, the campaign's heading and table, and the SVG text of the uplift chart.
    assert!(html.contains("&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    assert!(figure(&html, "chart-uplift").contains("&lt;/svg&gt;&lt;script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert_eq!(html.matches("<svg").count(), 4, "one SVG per chart, none smuggled in");
}

#[test]
fn empty_data_renders_a_page_that_says_so() {
    let html = render_html(&ReportData::new("", Timestamp(0)));
    assert_self_contained(&html);
    for text in [
        "No customers to show.",
        "No stage changes from 1969-12-02 to 1969-12-31.",
        "No contact pressure to show.",
        "No campaigns to show.",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(!html.contains("<svg"));
    assert!(html.contains("0 customers · 0 campaigns"));
}

#[test]
fn a_full_page_has_each_chart_and_its_numbers() {
    let html = render_html(&full());
    assert_self_contained(&html);
    for id in ["chart-stages", "chart-transitions", "chart-pressure", "chart-uplift"] {
        assert!(figure(&html, id).contains("<svg role=\"img\" aria-label="), "{id}");
    }
    // Stages given twice add up; stages left out are 0.
    assert!(html.contains("<td>identified</td><td class=\"n\">1,234,570</td>"));
    assert!(html.contains("<td>lapsed</td><td class=\"n\">0</td>"));
    assert!(figure(&html, "chart-stages").contains("1,234,570"));
    // Transitions: in, out, net and the moves.
    assert!(html.contains(
        "<td>customer</td><td class=\"n\">17</td><td class=\"n\">0</td><td class=\"n\">+17</td>"
    ));
    assert!(html.contains(
        "<td>engaged</td><td class=\"n\">0</td><td class=\"n\">17</td><td class=\"n\">−17</td>"
    ));
    assert!(html.contains("<td>(new) → identified</td><td class=\"n\">5</td>"));
    // Pressure: 310 contacts for 200 customers.
    assert!(figure(&html, "chart-pressure").contains("1.55"));
    assert!(html.contains("<td class=\"n\">310</td>") && html.contains("12.5 %"));
    // The uplift: 80/400 − 10/100 = +10 pp.
    let u = full().campaigns[0].overall.uplift.expect("400 and 100 customers");
    assert!((u.difference - 0.10).abs() < 1e-12);
    assert!(html.contains("80 / 400 = 20.00 %") && html.contains("10 / 100 = 10.00 %"));
    assert!(html.contains("+10.00 pp"));
    assert!(figure(&html, "chart-uplift").contains(&format!(
        "+10.00 pp [{:+.2}, {:+.2}]",
        u.interval.lo * 100.0,
        u.interval.hi * 100.0
    )));
}

#[test]
fn a_too_small_campaign_shows_text_not_figures() {
    let mut data = ReportData::new("small", Timestamp(NOW));
    data.campaigns = vec![evaluation("tiny", (40, 12), (29, 3))];
    let html = render_html(&data);
    let chart = figure(&html, "chart-uplift");
    assert!(chart.contains("too small to compare (under 30 customers in a group)"));
    assert!(!chart.contains(" pp ["), "no uplift drawn");
    // The control group's rate is not shown, its size is.
    assert!(html.contains("3 of 29 customers: too small"));
    assert!(!html.contains("10.34 %"), "3 / 29 as a rate");
    // Treatment is large enough to show its own rate; the comparison is not.
    assert!(html.contains("12 / 40 = 30.00 %"));
    assert!(html.contains("colspan=\"3\">too small to compare (under 30 customers in a group)"));
}

#[test]
fn the_same_data_gives_the_same_bytes() {
    let (a, b) = (render_html(&full()), render_html(&full()));
    assert_eq!(a, b);
    let mut other = full();
    other.pressure[0].contacts += 1;
    assert_ne!(render_html(&other), a);
}

#[test]
fn days_are_half_open_and_only_the_last_thirty_are_shown() {
    assert_eq!(Transition::day_of(Timestamp(NOW)), Timestamp(NOW - DAY));
    assert_eq!(Transition::day_of(Timestamp(NOW + 1)), Timestamp(NOW));
    assert_eq!(Transition::day_of(Timestamp(i64::MIN)).0 % DAY, i64::MIN % DAY, "no overflow");
    let change = |at: i64, from, to| StageChanged {
        customer: CustomerId::from_raw(1),
        from,
        to,
        at: Timestamp(at),
        cause: StageCause::Time,
    };
    let changes = [
        change(NOW, Some(Stage::Customer), Stage::Lapsing),
        change(NOW - DAY + 1, Some(Stage::Customer), Stage::Lapsing),
        change(NOW - 40 * DAY, Some(Stage::Engaged), Stage::Identified),
        change(NOW, Some(Stage::Loyal), Stage::Loyal),
    ];
    let t = Transition::tally(&changes);
    assert_eq!(
        t,
        vec![
            Transition::new(Timestamp(NOW - 41 * DAY), Some(Stage::Engaged), Stage::Identified, 1),
            Transition::new(Timestamp(NOW - DAY), Some(Stage::Customer), Stage::Lapsing, 2),
        ]
    );
    let mut data = ReportData::new("t", Timestamp(NOW));
    data.transitions = t;
    let html = render_html(&data);
    assert!(html.contains("from 2026-05-31 to 2026-06-29"));
    assert!(html.contains("<td>customer → lapsing</td><td class=\"n\">2</td>"));
    assert!(!html.contains("engaged → identified"), "40 days ago");
}

#[test]
fn absurd_input_renders_without_panicking() {
    let mut data = ReportData::new("x".repeat(10_000), Timestamp(i64::MAX));
    data.stages =
        vec![(Stage::Anonymous, u64::MAX), (Stage::Anonymous, u64::MAX), (Stage::Lapsed, 1)];
    let day = Transition::day_of(Timestamp(i64::MAX));
    data.transitions = vec![
        Transition::new(day, None, Stage::Engaged, u64::MAX),
        Transition::new(day, Some(Stage::Engaged), Stage::Lapsed, u64::MAX),
    ];
    data.pressure = vec![
        PressureCell::new("", Stage::Loyal, 0, u64::MAX).with_saturated_share(f64::NAN),
        PressureCell::new("a".repeat(500), Stage::Loyal, u64::MAX, 0)
            .with_under_reached_share(f64::INFINITY),
    ];
    data.campaigns = vec![evaluation("", (0, 0), (0, 0))];
    let html = render_html(&data);
    assert_self_contained(&html);
    assert!(html.contains(&count(u64::MAX)));
    assert_eq!(html.matches("<svg").count(), 4);
    let early = render_html(&ReportData { now: Timestamp(i64::MIN), ..data });
    assert_self_contained(&early);
}

#[test]
fn counts_and_shares_read_as_people_write_them() {
    assert_eq!(count(0), "0");
    assert_eq!(count(999), "999");
    assert_eq!(count(1_000), "1,000");
    assert_eq!(count(1_234_567), "1,234,567");
    assert_eq!(percent(Some(0.1234)), "12.3 %");
    assert_eq!(percent(Some(f64::NAN)), "–");
    assert_eq!(percent(None), "–");
    assert_eq!(PressureCell::new("email", Stage::Loyal, 0, 5).per_customer(), None);
}

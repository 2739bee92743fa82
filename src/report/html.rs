//! The page: escaping, number formats, the sections with their tables, and the inline CSS.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::behaviour::{Stage, DAY};
use crate::campaign::{Comparison, Evaluation, GroupFigures, MIN_GROUP, NOT_CONTACTED};
use crate::input::record::Timestamp;
use crate::report::charts::{self, stage_color, Row};
use crate::report::{ReportData, Transition, TRANSITION_DAYS};

/// `text` safe inside HTML (and SVG) text and double- or single-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// `12,345`: thousands separated, as a marketer reads counts.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A share as `12.3 %`; a dash for none or for a figure that is not a number.
pub(crate) fn percent(share: Option<f64>) -> String {
    match share {
        Some(s) if s.is_finite() => format!("{:.1} %", s * 100.0),
        _ => "–".to_string(),
    }
}

/// A difference of rates in percentage points, signed: `+2.38 pp`.
pub(crate) fn points(difference: f64) -> String {
    format!("{:+.2} pp", difference * 100.0)
}

/// A p-value with three decimals, or `< 0.001`.
pub(crate) fn p_value(p: f64) -> String {
    if p < 0.001 {
        "&lt; 0.001".to_string()
    } else {
        format!("{p:.3}")
    }
}

/// `2026-06-30`: the date of an instant (UTC).
pub(crate) fn date(t: Timestamp) -> String {
    let text = t.to_string();
    text.get(..10).unwrap_or(&text).to_string()
}

/// `2026-06-30 09:30 UTC`: an instant as a marketer reads it.
pub(crate) fn instant(t: Timestamp) -> String {
    let text = t.to_string();
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}

/// The text that stands for a figure the rule forbids showing (specification §9).
pub(crate) const TOO_SMALL: &str = "too small";

const CSS: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
  color: #1f2933; background: #f5f7fa; margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 48px; }
header h1 { font-size: 28px; margin: 8px 0 4px; }
header p { color: #52606d; margin: 0 0 8px; }
section { background: #fff; border: 1px solid #d9e2ec; border-radius: 8px; padding: 16px 24px 20px;
  margin: 20px 0; }
h2 { font-size: 20px; margin: 4px 0 4px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
figure { margin: 8px 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption, .note { color: #52606d; font-size: 14px; margin: 6px 0; max-width: 75em; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; vertical-align: top; }
th { background: #f0f4f8; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.small { color: #9a6700; font-style: italic; }
.pair { display: flex; gap: 28px; align-items: flex-start; }
.pair > * { flex: 1 1 0; min-width: 0; }
.pair > .wide { flex: 2 1 0; }
.pair > .fixed { flex: 0 0 470px; }
table.compact { font-size: 12px; }
table.compact td, table.compact th { padding: 2px 6px; white-space: nowrap; }
table.compact tr th[rowspan] { background: #fff; border-right: 1px solid #e4e7eb; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 13px; margin: 4px 0; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px;
  vertical-align: -1px; }
.empty { color: #7b8794; font-style: italic; }
";

/// The whole document.
pub(crate) fn page(data: &ReportData) -> String {
    let mut out = String::new();
    let title = escape(&data.title);
    let stages = stage_counts(data);
    let total = stages.iter().fold(0u64, |sum, (_, n)| sum.saturating_add(*n));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n\
         <header>\n<h1>{title}</h1>\n<p>As of {} · {} customers · {} campaigns</p>\n</header>\n",
        instant(data.now),
        count(total),
        count(data.campaigns.len() as u64),
    );
    stage_section(&mut out, &stages, total);
    transition_section(&mut out, data);
    pressure_section(&mut out, data);
    campaign_section(&mut out, data);
    out.push_str(
        "<p class=\"note\">Made by idstitch. Windows are half-open like every figure of \
         idstitch: “the last 30 days” as of an instant are the 30 × 24 hours before it, that \
         instant included.</p>\n</main>\n</body>\n</html>\n",
    );
    out
}

/// Customers per stage, every stage in the table's order.
fn stage_counts(data: &ReportData) -> Vec<(Stage, u64)> {
    let mut counts: BTreeMap<Stage, u64> = BTreeMap::new();
    for &(stage, n) in &data.stages {
        let sum = counts.entry(stage).or_default();
        *sum = sum.saturating_add(n);
    }
    Stage::ALL.iter().map(|s| (*s, counts.get(s).copied().unwrap_or(0))).collect()
}

/// The chart's SVG inside a figure, or the reason it could not be drawn.
fn figure(out: &mut String, id: &str, svg: Result<String, String>, caption: &str) {
    let _ = writeln!(out, "<figure id=\"{id}\">");
    match svg {
        Ok(svg) => out.push_str(&svg),
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"empty\">The chart could not be drawn: {}</p>",
                escape(&e)
            );
        }
    }
    let _ = writeln!(out, "<figcaption>{caption}</figcaption>\n</figure>");
}

fn legend(out: &mut String, stages: impl IntoIterator<Item = Stage>) {
    out.push_str("<div class=\"legend\">");
    for s in stages {
        let (r, g, b) = stage_color(s);
        let _ = write!(
            out,
            "<span><span class=\"swatch\" style=\"background:#{r:02x}{g:02x}{b:02x}\"></span>{}</span>",
            s.name()
        );
    }
    out.push_str("</div>\n");
}

fn stage_section(out: &mut String, stages: &[(Stage, u64)], total: u64) {
    out.push_str("<section id=\"stages\">\n<h2>Stage distribution</h2>\n");
    if total == 0 {
        out.push_str("<p class=\"empty\">No customers to show.</p>\n</section>\n");
        return;
    }
    out.push_str("<div class=\"pair\">\n<div class=\"wide\">\n");
    figure(
        out,
        "chart-stages",
        charts::stages(stages),
        "Customers in each journey stage, in the order a customer usually goes through them; \
         the number above a bar is its count.",
    );
    out.push_str(
        "</div>\n<table>\n<tr><th>stage</th><th class=\"n\">customers</th><th class=\"n\">share</th></tr>\n",
    );
    for &(stage, n) in stages {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            stage.name(),
            count(n),
            percent(Some(n as f64 / total as f64))
        );
    }
    let _ = writeln!(
        out,
        "<tr><th>all</th><th class=\"n\">{}</th><th class=\"n\">100.0 %</th></tr>\n</table>\n</div>\n</section>",
        count(total)
    );
}

/// The days of the transitions chart, as midnights, oldest first.
pub(crate) fn transition_days(now: Timestamp) -> Vec<Timestamp> {
    let last = Transition::day_of(now).0;
    (0..i64::from(TRANSITION_DAYS))
        .rev()
        .map(|back| Timestamp(last.saturating_sub(back * DAY)))
        .collect()
}

fn move_name(from: Option<Stage>, to: Stage) -> String {
    format!("{} → {}", from.map_or("(new)", Stage::name), to.name())
}

fn transition_section(out: &mut String, data: &ReportData) {
    let days = transition_days(data.now);
    let _ = writeln!(
        out,
        "<section id=\"transitions\">\n<h2>Stage transitions over the last {TRANSITION_DAYS} days</h2>"
    );
    let (first, last) = (days[0], days[days.len() - 1]);
    let shown: Vec<&Transition> = data
        .transitions
        .iter()
        .filter(|t| first <= t.day && t.day <= last && t.count > 0)
        .collect();
    if shown.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"empty\">No stage changes from {} to {}.</p>\n</section>",
            date(first),
            date(last)
        );
        return;
    }
    // Per day and stage entered, the customers that entered it.
    let mut into: BTreeMap<(Timestamp, Stage), u64> = BTreeMap::new();
    let mut moves: BTreeMap<(Option<Stage>, Stage), u64> = BTreeMap::new();
    let mut entered: BTreeMap<Stage, u64> = BTreeMap::new();
    let mut left: BTreeMap<Stage, u64> = BTreeMap::new();
    // Sums saturate rather than overflow: absurd input must still render.
    let add = |sum: &mut u64, n: u64| *sum = sum.saturating_add(n);
    for t in &shown {
        add(into.entry((t.day, t.to)).or_default(), t.count);
        add(moves.entry((t.from, t.to)).or_default(), t.count);
        add(entered.entry(t.to).or_default(), t.count);
        if let Some(from) = t.from {
            add(left.entry(from).or_default(), t.count);
        }
    }
    let matrix: Vec<Vec<u64>> = days
        .iter()
        .map(|&d| Stage::ALL.iter().map(|&s| into.get(&(d, s)).copied().unwrap_or(0)).collect())
        .collect();
    let total = entered.values().fold(0u64, |sum, n| sum.saturating_add(*n));
    figure(
        out,
        "chart-transitions",
        charts::transitions(&days, &matrix),
        &format!(
            "Each bar is one day (UTC) from {} to {}: the customers whose stage changed that \
             day, coloured by the stage they moved <em>into</em> ({} moves in all). A tall \
             orange or red band is customers going quiet; green and purple are customers \
             buying. Changes come from new activity and from the passing of time.",
            date(first),
            date(last),
            count(total)
        ),
    );
    legend(out, Stage::ALL);
    out.push_str("<div class=\"pair\">\n<table>\n<tr><th>stage</th><th class=\"n\">moved in</th><th class=\"n\">moved out</th><th class=\"n\">net</th></tr>\n");
    for s in Stage::ALL {
        let (i, o) = (entered.get(&s).copied().unwrap_or(0), left.get(&s).copied().unwrap_or(0));
        let net = i128::from(i) - i128::from(o);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}{}</td></tr>",
            s.name(),
            count(i),
            count(o),
            if net > 0 { "+" } else if net < 0 { "−" } else { "" },
            count(net.unsigned_abs() as u64)
        );
    }
    out.push_str("</table>\n<table>\n<tr><th>most frequent moves</th><th class=\"n\">customers</th><th class=\"n\">share</th></tr>\n");
    let mut ranked: Vec<_> = moves.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((from, to), n) in ranked.iter().take(10) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            move_name(*from, *to),
            count(*n),
            percent(Some(*n as f64 / total as f64))
        );
    }
    out.push_str("</table>\n</div>\n</section>\n");
}

fn pressure_section(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"pressure\">\n<h2>Contact pressure by channel and stage</h2>\n");
    // One cell per (channel, stage), the later replacing the earlier; channels by name.
    let mut cells: BTreeMap<(&str, Stage), &crate::report::PressureCell> = BTreeMap::new();
    for c in &data.pressure {
        cells.insert((c.channel.as_str(), c.stage), c);
    }
    if cells.is_empty() {
        out.push_str("<p class=\"empty\">No contact pressure to show.</p>\n</section>\n");
        return;
    }
    let mut channels: Vec<&str> = cells.keys().map(|(ch, _)| *ch).collect();
    channels.dedup();
    let grid: Vec<Vec<Option<(f64, u64)>>> = channels
        .iter()
        .map(|ch| {
            Stage::ALL
                .iter()
                .map(|s| {
                    let c = cells.get(&(*ch, *s))?;
                    Some((c.per_customer()?, c.customers))
                })
                .collect()
        })
        .collect();
    let window = data.pressure_window;
    out.push_str("<div class=\"pair\">\n<div class=\"fixed\">\n");
    figure(
        out,
        "chart-pressure",
        charts::pressure(&channels, &grid),
        &format!(
            "Contacts per customer on each channel in {window}, by the customers' stage: the \
             darker the cell, the more often that group was contacted (n = customers in the \
             stage; an empty cell has no customers or no figure). Transactional messages are \
             not counted."
        ),
    );
    // The table mirrors the grid: a column per stage, a group of rows per channel.
    out.push_str("</div>\n<div>\n<table class=\"compact\">\n<tr><th>channel</th><th></th>");
    for s in Stage::ALL {
        let _ = write!(out, "<th class=\"n\">{}</th>", s.name());
    }
    out.push_str("</tr>\n");
    type Measure = fn(&crate::report::PressureCell) -> String;
    let measures: [(&str, Measure); 4] = [
        ("customers", |c| count(c.customers)),
        ("contacts", |c| count(c.contacts)),
        ("saturated", |c| percent(c.saturated_share)),
        ("under-reached", |c| percent(c.under_reached_share)),
    ];
    for ch in &channels {
        for (i, (name, measure)) in measures.iter().enumerate() {
            out.push_str("<tr>");
            if i == 0 {
                let _ = write!(out, "<th rowspan=\"{}\">{}</th>", measures.len(), escape(ch));
            }
            let _ = write!(out, "<td>{name}</td>");
            for s in Stage::ALL {
                let value = cells.get(&(*ch, s)).map_or("–".to_string(), |c| measure(c));
                let _ = write!(out, "<td class=\"n\">{value}</td>");
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str(
        "</table>\n<p class=\"note\">Saturated: the share at a contact cap on the channel, \
         who cannot be contacted again until it frees. Under-reached: the share of reachable \
         engaged, customer and loyal customers with no contact on the channel in the last 30 \
         days.</p>\n</div>\n</div>\n</section>\n",
    );
}

/// A group's figures as a cell: `1,204 / 9,876 = 12.19 %`, or its size and "too small".
fn group_cell(g: GroupFigures) -> String {
    if g.too_small() {
        format!(
            "<td class=\"n small\">{} of {} customers: {TOO_SMALL}</td>",
            count(g.converters),
            count(g.customers)
        )
    } else {
        let rate = g.rate().map_or("–".to_string(), |r| format!("{:.2} %", r * 100.0));
        format!("<td class=\"n\">{} / {} = {rate}</td>", count(g.converters), count(g.customers))
    }
}

fn comparison_row(out: &mut String, label: &str, c: &Comparison) {
    let _ = write!(out, "<tr><td>{label}</td>{}{}", group_cell(c.treatment), group_cell(c.control));
    match &c.uplift {
        Some(u) => {
            let _ = writeln!(
                out,
                "<td class=\"n\">{}</td><td class=\"n\">{} to {}</td><td class=\"n\">{}</td></tr>",
                points(u.difference),
                points(u.interval.lo),
                points(u.interval.hi),
                p_value(u.z_test.p_value)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "<td class=\"small\" colspan=\"3\">{TOO_SMALL} to compare (under {MIN_GROUP} \
                 customers in a group)</td></tr>"
            );
        }
    }
}

/// The rows of the uplift chart: per campaign its overall comparison, then per stage.
fn uplift_rows(campaigns: &[Evaluation]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, e) in campaigns.iter().enumerate() {
        rows.push(Row {
            label: e.campaign.clone(),
            campaign: i,
            uplift: e.overall.uplift,
            overall: true,
        });
        for (stage, c) in &e.by_stage {
            rows.push(Row {
                label: format!("\u{2003}{}", stage.name()),
                campaign: i,
                uplift: c.uplift,
                overall: false,
            });
        }
    }
    rows
}

fn campaign_section(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"campaigns\">\n<h2>Campaign uplift</h2>\n");
    if data.campaigns.is_empty() {
        out.push_str("<p class=\"empty\">No campaigns to show.</p>\n</section>\n");
        return;
    }
    figure(
        out,
        "chart-uplift",
        charts::uplift(&uplift_rows(&data.campaigns)),
        &format!(
            "Per campaign (bold) and per stage at assignment (indented): the uplift, the \
             treatment group's conversion rate minus the control group's, in percentage points, \
             with its 95 % interval (Newcombe). An interval clear of the zero line is an effect \
             beyond chance: green above, red below; grey ones may be no effect at all. A row \
             with fewer than {MIN_GROUP} customers in a group is too small to compare and shows \
             as text."
        ),
    );
    for e in &data.campaigns {
        let _ = writeln!(
            out,
            "<h3>{} <span class=\"note\">as of {}; {} contaminated customers left out</span></h3>",
            escape(&e.campaign),
            instant(e.now),
            count(e.contaminated)
        );
        out.push_str("<table>\n<tr><th>segment</th><th class=\"n\">treatment converted</th><th class=\"n\">control converted</th><th class=\"n\">uplift</th><th class=\"n\">95 % interval</th><th class=\"n\">p-value</th></tr>\n");
        comparison_row(out, "<strong>all</strong>", &e.overall);
        for (stage, c) in &e.by_stage {
            comparison_row(out, &format!("stage at assignment: {}", stage.name()), c);
        }
        for (channel, c) in &e.by_channel {
            let label = if channel == NOT_CONTACTED {
                "not reached by the campaign (against all control)".to_string()
            } else {
                format!("reached on {} (against all control)", escape(channel))
            };
            comparison_row(out, &label, c);
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

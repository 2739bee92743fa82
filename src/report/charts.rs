//! The four charts, each drawn by plotters into an SVG string for the page to inline.

use plotters::coord::types::{RangedCoordf64, RangedCoordu64};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::behaviour::Stage;
use crate::campaign::{Uplift, MIN_GROUP};
use crate::input::record::Timestamp;
use crate::report::html::{count, date, escape, TOO_SMALL};

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Each stage's colour (Okabe–Ito, told apart with colour-blindness too): cold for the early
/// stages, green and purple for buyers, orange and red for customers going quiet.
pub(crate) fn stage_color(stage: Stage) -> (u8, u8, u8) {
    match stage {
        Stage::Anonymous => (0xa0, 0xa7, 0xb0),
        Stage::Identified => (0x56, 0xb4, 0xe9),
        Stage::Engaged => (0x00, 0x72, 0xb2),
        Stage::Customer => (0x00, 0x9e, 0x73),
        Stage::Loyal => (0xcc, 0x79, 0xa7),
        Stage::Lapsing => (0xe6, 0x9f, 0x00),
        Stage::Lapsed => (0xd5, 0x5e, 0x00),
    }
}

fn rgb(stage: Stage) -> RGBColor {
    let (r, g, b) = stage_color(stage);
    RGBColor(r, g, b)
}

const INK: RGBColor = RGBColor(0x1f, 0x29, 0x33);
const MUTED: RGBColor = RGBColor(0x52, 0x60, 0x6d);
const GRID: RGBColor = RGBColor(0xe4, 0xe7, 0xeb);
const FONT: &str = "sans-serif";

fn text(size: u32, color: &RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    let mut style = TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, v));
    // The field rather than `color()`, which would tie the style to the colour's borrow.
    style.color = color.to_backend_color();
    style
}

/// Draws on a `width` × `height` SVG and returns it, ready to inline in HTML: without the
/// `xmlns` attribute (HTML places an inline `svg` in the SVG namespace itself, and the page
/// then holds no URL at all), with an accessible name.
fn svg(
    width: u32,
    height: u32,
    label: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Drawn,
) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let buf = buf.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    let named = format!("<svg role=\"img\" aria-label=\"{}\" ", escape(label));
    Ok(buf.replacen("<svg ", &named, 1))
}

/// A label cut to `max` characters, with an ellipsis, so that long names keep the axes in
/// place (the tables hold them whole).
fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The y-axis top: the largest value with an eighth of headroom for the labels above bars.
fn headroom(max: u64) -> u64 {
    max.saturating_add(max / 8).saturating_add(1).max(4)
}

/// The slots' labels under a bar chart's x axis, drawn by hand (each bar `i` spans the slot
/// `i..i + 1` of an `f64` axis) so that each sits under its bar.
fn slot_labels<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordu64>>,
    labels: impl IntoIterator<Item = (usize, String)>,
    size: u32,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    chart.draw_series(labels.into_iter().map(|(i, label)| {
        EmptyElement::at((i as f64 + 0.5, 0))
            + Text::new(label, (0, 8), text(size, &INK, HPos::Center, VPos::Top))
    }))?;
    Ok(())
}

/// (1) A bar per stage with its count above.
pub(crate) fn stages(counts: &[(Stage, u64)]) -> Result<String, String> {
    let n = counts.len() as f64;
    let top = headroom(counts.iter().map(|c| c.1).max().unwrap_or(0));
    svg(760, 330, "Stage distribution", |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..n, 0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_labels(0)
            .y_label_formatter(&|v| count(*v))
            .y_desc("customers")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 15))
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &(stage, n))| {
            Rectangle::new([(i as f64 + 0.16, 0), (i as f64 + 0.84, n)], rgb(stage).filled())
        }))?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &(_, n))| {
            EmptyElement::at((i as f64 + 0.5, n))
                + Text::new(count(n), (0, -4), text(16, &INK, HPos::Center, VPos::Bottom))
        }))?;
        slot_labels(&mut chart, counts.iter().map(|c| c.0.name().to_string()).enumerate(), 15)
    })
}

/// (2) A stacked bar per day: per stage the customers that moved into it that day.
/// `matrix[day][stage]` follows `days` and [`Stage::ALL`].
pub(crate) fn transitions(days: &[Timestamp], matrix: &[Vec<u64>]) -> Result<String, String> {
    let n = days.len();
    let stacked = |row: &Vec<u64>| row.iter().fold(0u64, |sum, n| sum.saturating_add(*n));
    let top = headroom(matrix.iter().map(stacked).max().unwrap_or(0));
    svg(1100, 330, "Stage transitions per day", |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..n as f64, 0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_labels(0)
            .y_label_formatter(&|v| count(*v))
            .y_desc("customers changing stage")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 15))
            .draw()?;
        let mut bars = Vec::new();
        for (i, row) in matrix.iter().enumerate() {
            let mut base: u64 = 0;
            for (stage, &k) in Stage::ALL.iter().zip(row) {
                if k > 0 {
                    let (x0, x1) = (i as f64 + 0.12, i as f64 + 0.88);
                    let end = base.saturating_add(k);
                    bars.push(Rectangle::new([(x0, base), (x1, end)], rgb(*stage).filled()));
                    base = end;
                }
            }
        }
        chart.draw_series(bars)?;
        // Every other day as month-day, the last day labelled, so that labels do not collide.
        let labels = days
            .iter()
            .enumerate()
            .filter(|(i, _)| (n - 1 - i).is_multiple_of(2))
            .map(|(i, d)| (i, date(*d).get(5..).unwrap_or_default().to_string()));
        slot_labels(&mut chart, labels, 14)
    })
}

/// A white-to-dark-blue scale for `t` in [0, 1].
fn shade(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(mix(0xf0, 0x08), mix(0xf6, 0x30), mix(0xfc, 0x6b))
}

/// (3) A grid of contacts per customer: a row per channel, a column per stage, darker for
/// more. `grid[channel][stage]` holds (contacts per customer, customers) where known.
pub(crate) fn pressure(
    channels: &[&str],
    grid: &[Vec<Option<(f64, u64)>>],
) -> Result<String, String> {
    let rows = channels.len();
    let cols = Stage::ALL.len();
    let max =
        grid.iter().flatten().flatten().map(|c| c.0).filter(|v| v.is_finite()).fold(0.0, f64::max);
    let height = 40 + 62 * rows as u32;
    svg(500, height, "Contact pressure by channel and stage", |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .x_label_area_size(28)
            .y_label_area_size(92)
            .build_cartesian_2d(0.0..cols as f64, 0.0..rows as f64)?;
        // Row 0 at the top: the channels read from top to bottom in name order.
        let top = |r: usize| (rows - r) as f64;
        let mut cells = Vec::new();
        let mut labels = Vec::new();
        for (r, row) in grid.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (x, y) = (c as f64, top(r));
                let (fill, ink) = match cell {
                    Some((per, _)) => {
                        let t = if max > 0.0 { per / max } else { 0.0 };
                        (shade(t), if t > 0.55 { WHITE } else { INK })
                    }
                    None => (RGBColor(0xf5, 0xf7, 0xfa), MUTED),
                };
                let mut rect = Rectangle::new([(x, y), (x + 1.0, y - 1.0)], fill.filled());
                rect.set_margin(2, 2, 2, 2);
                cells.push(rect);
                let (main, sub) = match cell {
                    Some((per, customers)) => {
                        (format!("{per:.2}"), format!("n = {}", count(*customers)))
                    }
                    None => ("–".to_string(), String::new()),
                };
                labels.push(
                    EmptyElement::at((x + 0.5, y - 0.5))
                        + Text::new(main, (0, -8), text(19, &ink, HPos::Center, VPos::Center))
                        + Text::new(sub, (0, 12), text(14, &ink, HPos::Center, VPos::Center)),
                );
            }
        }
        chart.draw_series(cells)?;
        chart.draw_series(labels)?;
        chart.draw_series(Stage::ALL.iter().enumerate().map(|(c, s)| {
            EmptyElement::at((c as f64 + 0.5, 0.0))
                + Text::new(s.name(), (0, 6), text(14, &INK, HPos::Center, VPos::Top))
        }))?;
        chart.draw_series(channels.iter().enumerate().map(|(r, ch)| {
            EmptyElement::at((0.0, top(r) - 0.5))
                + Text::new(shorten(ch, 13), (-8, 0), text(15, &INK, HPos::Right, VPos::Center))
        }))?;
        Ok(())
    })
}

/// One row of the uplift chart.
pub(crate) struct Row {
    /// The campaign's name, or an indented stage name.
    pub(crate) label: String,
    /// The campaign's position, to separate campaigns.
    pub(crate) campaign: usize,
    /// `None` when a group is too small.
    pub(crate) uplift: Option<Uplift>,
    /// The campaign's overall row, rather than a stage's.
    pub(crate) overall: bool,
}

/// (4) Per row the uplift in percentage points as a point with its 95 % interval, against a
/// zero line; a too-small row as text.
pub(crate) fn uplift(rows: &[Row]) -> Result<String, String> {
    let n = rows.len();
    let pp = |x: f64| x * 100.0;
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for u in rows.iter().filter_map(|r| r.uplift.as_ref()) {
        lo = lo.min(pp(u.interval.lo));
        hi = hi.max(pp(u.interval.hi));
    }
    let span = (hi - lo).max(2.0);
    // Room on the right for the figures written after each interval.
    let (lo, hi) = (lo - span * 0.06, hi + span * 0.28);
    let height = 70 + 30 * n as u32;
    svg(1100, height, "Campaign uplift with 95 % intervals", |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(230)
            .build_cartesian_2d(lo..hi, 0.0..n as f64)?;
        // Row 0 at the top.
        let at = |i: usize| (rows.len() - i) as f64 - 0.5;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .y_labels(0)
            .x_label_formatter(&|x| {
                // Not "+0 pp" or "-0 pp": zero has no sign.
                if x.abs() < 1e-9 {
                    "0 pp".to_string()
                } else {
                    format!("{x:+} pp")
                }
            })
            .x_desc("uplift: treatment − control conversion rate, percentage points")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 15))
            .draw()?;
        // A line between campaigns, so that each one's stage rows stay with it.
        let mut lines = Vec::new();
        for (i, pair) in rows.windows(2).enumerate() {
            if pair[0].campaign != pair[1].campaign {
                let y = at(i) - 0.5;
                lines.push(PathElement::new(vec![(lo, y), (hi, y)], GRID.stroke_width(1)));
            }
        }
        lines.push(PathElement::new(vec![(0.0, 0.0), (0.0, n as f64)], MUTED.stroke_width(2)));
        chart.draw_series(lines)?;
        let green = RGBColor(0x00, 0x8a, 0x5e);
        let red = RGBColor(0xc2, 0x41, 0x0c);
        let grey = RGBColor(0x61, 0x6e, 0x7c);
        let mut marks = Vec::new();
        let mut notes = Vec::new();
        let mut dots = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let y = at(i);
            let weight = if row.overall { 3 } else { 2 };
            match &row.uplift {
                Some(u) => {
                    let (d, a, b) = (pp(u.difference), pp(u.interval.lo), pp(u.interval.hi));
                    let color = if a > 0.0 {
                        green
                    } else if b < 0.0 {
                        red
                    } else {
                        grey
                    };
                    let stroke = color.stroke_width(weight);
                    marks.push(
                        EmptyElement::at((a, y)) + PathElement::new(vec![(0, -6), (0, 6)], stroke),
                    );
                    marks.push(
                        EmptyElement::at((b, y)) + PathElement::new(vec![(0, -6), (0, 6)], stroke),
                    );
                    let line = PathElement::new(vec![(a, y), (b, y)], stroke);
                    chart.draw_series(std::iter::once(line))?;
                    dots.push(Circle::new((d, y), 2 + weight, color.filled()));
                    // The figures sit a little right of the interval's end.
                    notes.push(
                        EmptyElement::at((b, y))
                            + Text::new(
                                format!("{d:+.2} pp [{a:+.2}, {b:+.2}]"),
                                (10, 0),
                                text(14, &INK, HPos::Left, VPos::Center),
                            ),
                    );
                }
                // Right of the zero line, which would cross it further left.
                None => notes.push(
                    EmptyElement::at((0.0, y))
                        + Text::new(
                            format!(
                                "{TOO_SMALL} to compare (under {MIN_GROUP} customers in a group)"
                            ),
                            (10, 0),
                            text(14, &MUTED, HPos::Left, VPos::Center),
                        ),
                ),
            }
        }
        chart.draw_series(marks)?;
        chart.draw_series(dots)?;
        chart.draw_series(notes)?;
        chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
            let style = if r.overall {
                let mut bold = text(15, &INK, HPos::Right, VPos::Center);
                bold.font = bold.font.style(FontStyle::Bold);
                bold
            } else {
                text(15, &MUTED, HPos::Right, VPos::Center)
            };
            EmptyElement::at((lo, at(i))) + Text::new(shorten(&r.label, 30), (-10, 0), style)
        }))?;
        Ok(())
    })
}

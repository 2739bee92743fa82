//! `campaign assign`, `campaign report` and `pressure`: groups drawn and written as CSV, the
//! evaluation as text, JSON or the HTML report, the contact pressure as a table.

use std::io::Write;
use std::path::Path;

use idstitch::behaviour::{Stage, Window};
use idstitch::campaign::{Comparison, Evaluation, GroupFigures};
use idstitch::report::{render_html, ReportData, Transition};
use idstitch::touchpoint::ContactDecision;
use idstitch::{CustomerId, Resolver, SyncPolicy, Timestamp};
use serde_json::{json, Value};

use crate::failure::Failure;
use crate::load::{self, Loaded};
use crate::output::Output;

/// The customers to assign: every customer whose stage as of `now` is in `stages` (all if
/// empty), by ascending id.
fn eligible(resolver: &Resolver, now: Timestamp, stages: &[Stage]) -> Vec<CustomerId> {
    resolver
        .customers()
        .filter(|&c| {
            stages.is_empty() || resolver.stage(c, now).is_ok_and(|s| stages.contains(&s.stage))
        })
        .collect()
}

/// Assigns the eligible customers of `campaign` at `now` (journaled in the state when one is
/// given, which is then compacted) and writes `customer_id,group,decision,reason`.
pub fn assign(
    mapping: &Path,
    state: Option<&Path>,
    campaign: &str,
    now: Timestamp,
    stages: &[Stage],
    output: Option<&Path>,
) -> Result<(), Failure> {
    let unknown = || {
        Failure::new(format!(
            "{}: no campaign {campaign:?} (see its [[campaign]] tables)",
            mapping.display()
        ))
    };
    let fail =
        |error: idstitch::CampaignError| Failure::new(format!("campaign {campaign:?}: {error}"));
    let mut rows = Vec::new();
    let (resolver_rows, assigned) = match state {
        Some(dir) => {
            // One journal entry per new assignment, synced by the compaction at the end.
            let mut durable = load::open_state_syncing(dir, Some(mapping), SyncPolicy::Never)?;
            let spec = idstitch::mapping::Mapping::from_path(mapping)?
                .campaigns()
                .iter()
                .find(|c| c.name == campaign)
                .cloned();
            let journal = durable.journal_len();
            match (durable.campaign(campaign), spec) {
                (Some(_), _) => {}
                (None, Some(spec)) => durable
                    .add_campaign(spec)
                    .map_err(|error| Failure::state("add the campaign to", dir, &error))?,
                (None, None) => return Err(unknown()),
            }
            let mut n = 0;
            for c in eligible(&durable, now, stages) {
                let a = durable
                    .assign(campaign, c, now)
                    .map_err(|error| Failure::state("assign in", dir, &error))?;
                rows.push((c, a.group));
                n += 1;
            }
            if durable.journal_len() > journal {
                durable.compact().map_err(|error| Failure::state("compact", dir, &error))?;
            }
            (write_rows(&durable, campaign, now, &rows, output)?, n)
        }
        None => {
            let mut run = load::resolve(mapping)?;
            let resolver = &mut run.resolver;
            resolver.campaign(campaign).ok_or_else(unknown)?;
            for c in eligible(resolver, now, stages) {
                rows.push((c, resolver.assign(campaign, c, now).map_err(fail)?.group));
            }
            let n = rows.len();
            (write_rows(resolver, campaign, now, &rows, output)?, n)
        }
    };
    eprintln!("assigned {assigned} customers to {campaign:?} as of {now}; wrote {resolver_rows}");
    Ok(())
}

/// Writes the assignment rows; returns "N rows to NAME".
fn write_rows(
    resolver: &Resolver,
    campaign: &str,
    now: Timestamp,
    rows: &[(CustomerId, Option<idstitch::campaign::Group>)],
    output: Option<&Path>,
) -> Result<String, Failure> {
    let channel = resolver.campaign(campaign).map(|c| c.channel.clone()).unwrap_or_default();
    let out = Output::open(output)?;
    let name = out.name();
    let mut csv = csv::Writer::from_writer(out);
    let io = |error: csv::Error| Failure::new(format!("cannot write {name}: {error}"));
    csv.write_record(["customer_id", "group", "decision", "reason"]).map_err(io)?;
    for &(c, group) in rows {
        let (group, decision, reason) = match group {
            None => {
                ("contaminated", "no".to_string(), "records of both groups: left out".to_string())
            }
            Some(idstitch::campaign::Group::Control) => {
                ("control", "no".to_string(), "holdout".to_string())
            }
            Some(idstitch::campaign::Group::Treatment) => {
                match resolver.may_contact(c, &channel, now) {
                    Ok(ContactDecision::Yes) => ("treatment", "yes".to_string(), String::new()),
                    Ok(no) => {
                        let text = no.to_string();
                        ("treatment", "no".to_string(), text.trim_start_matches("no: ").to_string())
                    }
                    Err(error) => ("treatment", "no".to_string(), error.to_string()),
                }
            }
        };
        csv.write_record([c.to_string(), group.to_string(), decision, reason]).map_err(io)?;
    }
    let mut out = csv
        .into_inner()
        .map_err(|e| Failure::new(format!("cannot write {name}: {}", e.error())))?;
    out.flush().map_err(|error| Failure::write(&name, &error))?;
    Ok(format!("{} rows to {name}", rows.len()))
}

/// One group's figures as JSON.
fn group_json(g: GroupFigures) -> Value {
    json!({ "customers": g.customers, "converters": g.converters, "rate": g.rate() })
}

/// A comparison as JSON: the groups, and the uplift, its interval and p-value (null when a
/// group is too small).
fn comparison_json(c: &Comparison) -> Value {
    json!({
        "groups": { "treatment": group_json(c.treatment), "control": group_json(c.control) },
        "uplift": c.uplift.map(|u| u.difference),
        "ci95": c.uplift.map(|u| [u.interval.lo, u.interval.hi]),
        "p_value": c.uplift.map(|u| u.z_test.p_value),
        "too_small": c.uplift.is_none(),
    })
}

/// The evaluation as the JSON the README documents.
pub fn evaluation_json(e: &Evaluation) -> Value {
    let mut top = comparison_json(&e.overall);
    let by = |m: Vec<(String, &Comparison)>| {
        Value::Object(m.into_iter().map(|(k, c)| (k, comparison_json(c))).collect())
    };
    if let Value::Object(map) = &mut top {
        map.insert("campaign".into(), json!(e.campaign));
        map.insert("now".into(), json!(e.now.to_string()));
        map.insert("contaminated".into(), json!(e.contaminated));
        map.insert(
            "by_stage".into(),
            by(e.by_stage.iter().map(|(s, c)| (s.to_string(), c)).collect()),
        );
        map.insert(
            "by_channel".into(),
            by(e.by_channel.iter().map(|(k, c)| (k.clone(), c)).collect()),
        );
    }
    top
}

/// Evaluates `campaign` as of `now` and prints it as text or JSON; with `html`, also writes
/// the report with this campaign.
pub fn report(
    mapping: &Path,
    state: Option<&Path>,
    campaign: &str,
    now: Timestamp,
    as_json: bool,
    html: Option<&Path>,
) -> Result<(), Failure> {
    let loaded = Loaded::new(mapping, state)?;
    let resolver = loaded.resolver();
    let evaluation = resolver
        .evaluate(campaign, now)
        .map_err(|error| Failure::new(format!("campaign {campaign:?}: {error}")))?;
    let text = if as_json {
        format!("{:#}\n", evaluation_json(&evaluation))
    } else {
        evaluation.to_string()
    };
    Output::stdout().write_text(&text)?;
    if let Some(path) = html {
        let title = format!("Campaign {campaign}");
        let mut data = ReportData::from_resolver(resolver, title, now);
        data.transitions = Transition::day_by_day(resolver, now);
        data.campaigns = vec![evaluation];
        let out = Output::open(Some(path))?;
        let name = out.name();
        out.write_text(&render_html(&data))?;
        eprintln!("wrote the report as of {now} to {name}");
    }
    Ok(())
}

/// Prints the pressure report as of `now` over `window_days`.
pub fn pressure(
    mapping: &Path,
    state: Option<&Path>,
    now: Timestamp,
    window_days: u32,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let loaded = Loaded::new(mapping, state)?;
    let report = loaded.resolver().pressure_report(now, Window::days(window_days));
    Output::open(output)?.write_text(&report.to_string())
}

//! Graphviz DOT export of one customer's identity graph, so people can look at it.
//!
//! The picture holds the customer's records (boxes, grouped and coloured by source), the keys
//! they carry (shaped and outlined by kind) and one edge per "record carries key": solid when
//! the key links, dashed and labelled with the reason when it does not, dotted for kinds that
//! link nothing. Behind every key that does not link although other customers carry it too,
//! a bounded number of those customers' records show whom the customer was kept apart from.
//!
//! The work is proportional to the customer: its records, their keys, and for each key that
//! touches other customers at most [`DotOptions::scan_limit`] records; nothing else of the
//! graph is read. The output is a function of the parts's state only: every list is sorted
//! by names the host chose (source name, external id, kind name, key value), never by storage
//! or arrival order.

use std::fmt::{self, Write as _};

use ahash::AHashMap;
use smallvec::SmallVec;

use crate::ids::{CustomerId, KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::pseudonym::display_value;
use crate::inspect::explain::BlockReason;

use crate::inspect::Parts;

/// How [`Resolver::customer_dot_with`](crate::Resolver::customer_dot_with) draws a customer.
///
/// ```
/// use idstitch::DotOptions;
///
/// let options = DotOptions::default().max_neighbors(3).max_label_chars(40);
/// assert!(options.neighbors);
/// assert_eq!(options.max_neighbors, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct DotOptions {
    /// Draw the records of other customers that carry a key of this customer which does not
    /// link them (refused, generic or deny-listed). Default `true`.
    pub neighbors: bool,
    /// At most this many such records per key, the first by source name and external id; the
    /// rest are counted in a "+N more" node. Default 5.
    pub max_neighbors: usize,
    /// Keys carried by more records than this are not scanned for other customers' records:
    /// they get only the "+N more" node, and a refused one the label "not linked" without the
    /// limit it would break. This bounds the cost of a deny-listed or generic value that
    /// thousands of records carry. Default 1,000.
    pub scan_limit: u32,
    /// External ids and key values longer than this many characters are cut, ending in "…";
    /// 0 for no limit. Default 60.
    pub max_label_chars: usize,
}

impl Default for DotOptions {
    fn default() -> Self {
        DotOptions { neighbors: true, max_neighbors: 5, scan_limit: 1_000, max_label_chars: 60 }
    }
}

impl DotOptions {
    /// Sets [`DotOptions::neighbors`].
    pub fn neighbors(mut self, on: bool) -> Self {
        self.neighbors = on;
        self
    }

    /// Sets [`DotOptions::max_neighbors`].
    pub fn max_neighbors(mut self, n: usize) -> Self {
        self.max_neighbors = n;
        self
    }

    /// Sets [`DotOptions::scan_limit`].
    pub fn scan_limit(mut self, records: u32) -> Self {
        self.scan_limit = records;
        self
    }

    /// Sets [`DotOptions::max_label_chars`].
    pub fn max_label_chars(mut self, chars: usize) -> Self {
        self.max_label_chars = chars;
        self
    }
}

/// Fill colours of record boxes, by source id.
const SOURCE_FILLS: [&str; 10] = [
    "#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#fb9a99", "#ffff99", "#8dd3c7", "#bebada",
    "#80b1d3", "#fccde5",
];
/// Outline colours of key nodes, by kind id.
const KIND_COLOURS: [&str; 8] =
    ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];
/// Shapes of the built-in kinds, by kind id (`customer_no`, `email`, `phone`, `cookie`,
/// `device`, `ip`).
const BUILT_IN_SHAPES: [&str; 6] = ["hexagon", "ellipse", "octagon", "note", "box3d", "cds"];
/// Shapes of host kinds, in turn.
const HOST_SHAPES: [&str; 5] = ["house", "pentagon", "egg", "septagon", "component"];

const BLOCKED_COLOUR: &str = "#c0392b";
const BLOCKED_FILL: &str = "#fde0dd";
const OTHER_COLOUR: &str = "#969696";
const OTHER_FONT: &str = "#525252";

/// What one of the customer's keys does.
enum KeyState {
    /// Links the customer's records (or would: no other customer carries it).
    Links,
    /// Its kind links nothing; `constraint` when the kind's values count toward a limit.
    NoLink { constraint: bool },
    /// It does not link the customer to others that carry it. `None` when the reason is not
    /// known: too many records to scan, or no conflict found.
    Blocked(Option<BlockReason>),
}

/// One key of the customer, ready to draw.
struct KeyView<'a> {
    kind: KindId,
    kind_name: &'a str,
    value: &'a str,
    n_records: u32,
    state: KeyState,
    /// Records of other customers that carry the key.
    others: u32,
    /// The first of those by (source name, external id), at most `max_neighbors`.
    shown: Vec<RecordIdx>,
}

/// A record to draw: sort key and slot.
struct RecordView<'a> {
    source_name: &'a str,
    external_id: &'a str,
    source: SourceId,
    record: RecordIdx,
}

impl<'a> Parts<'a> {
    /// The work of `Resolver::customer_dot`.
    pub(crate) fn customer_dot(&self, customer: CustomerId) -> Option<String> {
        self.customer_dot_with(customer, &DotOptions::default())
    }

    /// The work of `Resolver::customer_dot_with`.
    pub(crate) fn customer_dot_with(
        &self,
        customer: CustomerId,
        options: &DotOptions,
    ) -> Option<String> {
        let picture = Picture::of(*self, customer, options)?;
        picture.render(*self, customer, options).ok()
    }
}

/// Everything the picture holds, in drawing order.
struct Picture<'a> {
    /// The customer's records by (source name, external id).
    records: Vec<RecordView<'a>>,
    /// Its keys by (kind name, value).
    keys: Vec<KeyView<'a>>,
    /// (record position, key position), sorted.
    edges: Vec<(usize, usize)>,
    /// Other customers' records next to a key that does not link, each once, by (source name,
    /// external id), with their customer.
    others: Vec<(RecordView<'a>, CustomerId)>,
    /// Other customers in the order of their first record in `others`, with the positions of
    /// their records.
    groups: Vec<(CustomerId, Vec<usize>)>,
    /// (key position, position in `others`), sorted.
    far_edges: Vec<(usize, usize)>,
}

impl<'a> Picture<'a> {
    fn of(parts: Parts<'a>, customer: CustomerId, options: &DotOptions) -> Option<Self> {
        let first = parts.customer_records(customer)?.next()?;
        let member = parts.graph.find_record(first.source, first.external_id)?;
        let root = parts.clusters.find(member);

        let mut records: Vec<RecordView<'a>> =
            parts.clusters.members(member).filter_map(|r| record_view(parts, r)).collect();
        records.sort_unstable_by(|a, b| {
            (a.source_name, a.external_id).cmp(&(b.source_name, b.external_id))
        });

        // (key, record position), grouped by key to count the customer's records per key.
        let mut carries: Vec<(KeyIdx, usize)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            carries.extend(parts.graph.keys_of(r.record).map(|k| (k, i)));
        }
        carries.sort_unstable();
        let mut keys: Vec<(KeyIdx, KeyView<'a>)> = Vec::new();
        for run in carries.chunk_by(|a, b| a.0 == b.0) {
            let k = run[0].0;
            keys.push((k, key_view(parts, k, run.len() as u32, root, options)));
        }
        keys.sort_unstable_by(|(_, a), (_, b)| (a.kind_name, a.value).cmp(&(b.kind_name, b.value)));
        let key_pos: AHashMap<KeyIdx, usize> =
            keys.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
        let mut edges: Vec<(usize, usize)> =
            carries.iter().filter_map(|&(k, r)| Some((r, *key_pos.get(&k)?))).collect();
        edges.sort_unstable();
        let keys: Vec<KeyView<'a>> = keys.into_iter().map(|(_, v)| v).collect();

        let mut others: Vec<(RecordView<'a>, CustomerId)> = keys
            .iter()
            .flat_map(|v| v.shown.iter())
            .filter_map(|&r| Some((record_view(parts, r)?, parts.clusters.customer_of(r))))
            .collect();
        others.sort_unstable_by(|(a, _), (b, _)| {
            (a.source_name, a.external_id).cmp(&(b.source_name, b.external_id))
        });
        others.dedup_by_key(|(r, _)| r.record);
        let other_pos: AHashMap<RecordIdx, usize> =
            others.iter().enumerate().map(|(i, (r, _))| (r.record, i)).collect();
        let other_pos = &other_pos;
        let mut far_edges: Vec<(usize, usize)> = keys
            .iter()
            .enumerate()
            .flat_map(|(k, v)| v.shown.iter().filter_map(move |r| Some((k, *other_pos.get(r)?))))
            .collect();
        far_edges.sort_unstable();

        let mut groups: Vec<(CustomerId, Vec<usize>)> = Vec::new();
        let mut group_of: AHashMap<CustomerId, usize> = AHashMap::new();
        for (i, &(_, c)) in others.iter().enumerate() {
            let g = *group_of.entry(c).or_insert_with(|| {
                groups.push((c, Vec::new()));
                groups.len() - 1
            });
            if let Some((_, members)) = groups.get_mut(g) {
                members.push(i);
            }
        }
        Some(Picture { records, keys, edges, others, groups, far_edges })
    }

    /// Writes the DOT text.
    fn render(
        &self,
        parts: Parts<'_>,
        customer: CustomerId,
        options: &DotOptions,
    ) -> Result<String, fmt::Error> {
        let max = options.max_label_chars;
        let mut out = String::new();
        let mut sources: Vec<SourceId> = self.records.iter().map(|r| r.source).collect();
        sources.dedup();

        writeln!(out, "graph \"customer {customer}\" {{")?;
        writeln!(
            out,
            "  graph [rankdir=LR, nodesep=0.15, ranksep=1.2, fontname=\"Helvetica\", \
             fontsize=12, labelloc=t, label=\"customer {customer}: {} records from {} sources, \
             {} keys\\nsolid: links   dashed: does not link (why)   dotted: links nothing   \
             grey: records of other customers\"];",
            self.records.len(),
            sources.len(),
            self.keys.len()
        )?;
        writeln!(out, "  node [fontname=\"Helvetica\", fontsize=10];")?;
        writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=8];")?;

        // The customer's records: one cluster per source inside the customer's cluster.
        writeln!(out, "  subgraph cluster_customer {{")?;
        writeln!(
            out,
            "    label=\"customer {customer}\"; style=\"rounded,bold\"; color=\"#252525\";"
        )?;
        let mut start = 0;
        for (s, run) in self.records.chunk_by(|a, b| a.source == b.source).enumerate() {
            let fill = SOURCE_FILLS[run[0].source.index() % SOURCE_FILLS.len()];
            writeln!(out, "    subgraph cluster_s{s} {{")?;
            writeln!(
                out,
                "      label=\"{}\"; style=\"rounded,filled\"; color=\"{fill}\"; \
                 fillcolor=\"#fafafa\";",
                escape(run[0].source_name, max)
            )?;
            for (j, r) in run.iter().enumerate() {
                writeln!(
                    out,
                    "      r{} [label=\"{}/{}\", shape=box, style=\"rounded,filled\", \
                     fillcolor=\"{fill}\"];",
                    start + j,
                    escape(r.source_name, max),
                    escape(r.external_id, max)
                )?;
            }
            writeln!(out, "    }}")?;
            start += run.len();
        }
        writeln!(out, "  }}")?;

        // Keys.
        for (j, k) in self.keys.iter().enumerate() {
            let colour = KIND_COLOURS[k.kind.index() % KIND_COLOURS.len()];
            let shape = BUILT_IN_SHAPES
                .get(k.kind.index())
                .copied()
                .unwrap_or(HOST_SHAPES[k.kind.index() % HOST_SHAPES.len()]);
            let (style, fill) = match k.state {
                KeyState::Links => ("filled", "#ffffff"),
                KeyState::NoLink { .. } => ("filled,dotted", "#f0f0f0"),
                KeyState::Blocked(_) => ("filled,bold", BLOCKED_FILL),
            };
            writeln!(
                out,
                "  k{j} [label=\"{}\\n{}\", shape={shape}, style=\"{style}\", color=\"{colour}\", \
                 fillcolor=\"{fill}\", tooltip=\"carried by {} record{}\"];",
                escape(k.kind_name, max),
                escape(&display_value(k.value, parts.kinds.is_pseudonymized()), max),
                k.n_records,
                if k.n_records == 1 { "" } else { "s" }
            )?;
        }

        // Other customers' records, one dashed cluster per customer.
        for (g, (c, members)) in self.groups.iter().enumerate() {
            writeln!(out, "  subgraph cluster_o{g} {{")?;
            writeln!(
                out,
                "    label=\"customer {c}\"; style=\"rounded,dashed\"; color=\"{OTHER_COLOUR}\"; \
                 fontcolor=\"{OTHER_FONT}\";"
            )?;
            for &n in members {
                let Some((r, _)) = self.others.get(n) else { continue };
                writeln!(
                    out,
                    "    n{n} [label=\"{}/{}\", shape=box, style=\"rounded,dashed\", \
                     color=\"{OTHER_COLOUR}\", fontcolor=\"{OTHER_FONT}\"];",
                    escape(r.source_name, max),
                    escape(r.external_id, max)
                )?;
            }
            writeln!(out, "  }}")?;
        }

        // "+N more" for the other customers' records not drawn.
        let mut more = Vec::new();
        for (j, k) in self.keys.iter().enumerate() {
            let hidden = k.others.saturating_sub(k.shown.len() as u32);
            if options.neighbors && matches!(k.state, KeyState::Blocked(_)) && hidden > 0 {
                writeln!(
                    out,
                    "  m{} [label=\"+{hidden} more\", shape=plaintext, fontcolor=\"{OTHER_FONT}\"];",
                    more.len()
                )?;
                more.push(j);
            }
        }

        // Edges: the customer's records carry keys, and so do other customers' records.
        for &(r, k) in &self.edges {
            let Some(key) = self.keys.get(k) else { continue };
            match &key.state {
                KeyState::Links => writeln!(out, "  r{r} -- k{k};")?,
                KeyState::NoLink { constraint } => writeln!(
                    out,
                    "  r{r} -- k{k} [style=dotted, color=\"{OTHER_COLOUR}\", \
                     fontcolor=\"{OTHER_FONT}\", label=\"{}\"];",
                    if *constraint { "constraint" } else { "links nothing" }
                )?,
                KeyState::Blocked(reason) => writeln!(
                    out,
                    "  r{r} -- k{k} [style=dashed, color=\"{BLOCKED_COLOUR}\", \
                     fontcolor=\"{BLOCKED_COLOUR}\", label=\"{}\"];",
                    reason_label(reason.as_ref(), key, parts, max)
                )?,
            }
        }
        for &(k, n) in &self.far_edges {
            writeln!(out, "  k{k} -- n{n} [style=dashed, color=\"{OTHER_COLOUR}\"];")?;
        }
        for (m, k) in more.iter().enumerate() {
            writeln!(out, "  k{k} -- m{m} [style=dashed, color=\"{OTHER_COLOUR}\"];")?;
        }
        writeln!(out, "}}")?;
        Ok(out)
    }
}

fn record_view(parts: Parts<'_>, record: RecordIdx) -> Option<RecordView<'_>> {
    let slot = parts.graph.record(record)?;
    Some(RecordView {
        source_name: parts.source_name(slot.source).unwrap_or("?"),
        external_id: parts.graph.external_id(slot),
        source: slot.source,
        record,
    })
}

/// What key `k` does for the customer whose root is `root`, which carries it `own` times.
fn key_view<'a>(
    parts: Parts<'a>,
    k: KeyIdx,
    own: u32,
    root: RecordIdx,
    options: &DotOptions,
) -> KeyView<'a> {
    let slot = parts.graph.key(k);
    let others = slot.n_records.saturating_sub(own);
    let mut view = KeyView {
        kind: slot.kind,
        kind_name: parts.kind_name(slot.kind).unwrap_or("?"),
        value: parts.graph.key_value(k),
        n_records: slot.n_records,
        state: KeyState::Links,
        others,
        shown: Vec::new(),
    };
    if !slot.links {
        let constraint = parts.kinds.get(slot.kind).is_some_and(|e| e.spec.policy.limit.is_some());
        view.state = KeyState::NoLink { constraint };
        return view;
    }
    if slot.is_denied() {
        view.state = KeyState::Blocked(Some(BlockReason::DenyListed));
    } else if slot.is_generic() {
        view.state = KeyState::Blocked(Some(BlockReason::Generic {
            records: slot.n_records,
            cap: slot.cap,
        }));
    } else if others == 0 {
        return view;
    } else {
        view.state = KeyState::Blocked(None);
    }
    if others == 0 || slot.n_records > options.scan_limit {
        return view;
    }

    // Other customers' records on this key, with their roots.
    let mut far: Vec<(&str, &str, RecordIdx)> = Vec::new();
    let mut roots: SmallVec<[RecordIdx; 8]> = SmallVec::new();
    for r in parts.graph.records_of(k) {
        let r_root = parts.clusters.find(r);
        if r_root == root {
            continue;
        }
        roots.push(r_root);
        if let Some(v) = record_view(parts, r) {
            far.push((v.source_name, v.external_id, r));
        }
    }
    if matches!(view.state, KeyState::Blocked(None)) {
        roots.sort_unstable();
        roots.dedup();
        view.state = KeyState::Blocked(parts.apart_reason(root, &roots));
    }
    if options.neighbors {
        far.sort_unstable();
        view.shown = far.into_iter().take(options.max_neighbors).map(|(_, _, r)| r).collect();
    }
    view
}

/// The edge label of a key that does not link, already escaped.
fn reason_label(
    reason: Option<&BlockReason>,
    key: &KeyView<'_>,
    parts: Parts<'_>,
    max: usize,
) -> String {
    let kind_name = |k: KindId| parts.kind_name(k).unwrap_or("?");
    match reason {
        Some(BlockReason::DenyListed) => "deny-listed placeholder".to_string(),
        Some(BlockReason::Generic { records, cap }) => {
            format!("generic: {records} records, cap {cap}")
        }
        Some(BlockReason::Limit { kind, values, .. }) => format!(
            "limit on {}: {} vs {}",
            escape(kind_name(*kind), max),
            escape(&display_value(&values[0], parts.kinds.is_pseudonymized()), max),
            escape(&display_value(&values[1], parts.kinds.is_pseudonymized()), max)
        ),
        Some(BlockReason::Ambiguous { customers, kind, .. }) => {
            format!("ambiguous: {customers} customers, {} limit", escape(kind_name(*kind), max))
        }
        None => format!("not linked: {} records", key.n_records),
    }
}

/// `text` for the inside of a DOT quoted label, cut to `max` characters (0: no limit).
///
/// `"` and `\` are backslash-escaped, so no input can end the string or reach Graphviz's
/// label escapes (`\N`, `\G`, `\l`, …); a line feed becomes the DOT line break `\n`; other
/// control characters are written out as `\u{..}` text.
fn escape(text: &str, max: usize) -> String {
    let n_chars = text.chars().count();
    let keep = if max == 0 || n_chars <= max { n_chars } else { max.saturating_sub(1) };
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars().take(keep) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    if keep < n_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_quotes_backslashes_and_controls() {
        assert_eq!(escape("a\"b\nc", 0), "a\\\"b\\nc");
        assert_eq!(escape("x\\N", 0), "x\\\\N");
        assert_eq!(escape("tab\there", 0), "tab\\\\u{9}here");
        assert_eq!(escape("abcdef", 4), "abc…");
        assert_eq!(escape("abcd", 4), "abcd");
        assert_eq!(escape("\"\"", 1), "…");
    }
}

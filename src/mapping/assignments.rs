//! How the assignment is written: `source,record_id,customer_id`, one row per record, built
//! in reused buffers; on two cores two blocks of rows are built at once.

use std::io::Write;

use crate::ids::SourceId;
use crate::resolver::Resolver;

/// Record slots whose rows are built in one go before they are written: a few MB of text.
const BLOCK: usize = 1 << 16;

/// Writes `source,record_id,customer_id` and one row per record of `resolver` (in storage
/// order) to `out`, quoting fields as CSV requires; returns the number of records written.
/// A record that links to nothing is a customer of its own, so every record has a row.
///
/// With the `rayon` feature and two threads or more, two blocks of rows are built at once
/// (looking up a record's customer is most of the work); the text written is the same.
///
/// ```
/// use idstitch::mapping::write_assignments;
/// use idstitch::{KindId, RecordInput, Resolver};
///
/// let mut resolver = Resolver::new();
/// let crm = resolver.add_source("crm", 10)?;
/// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "a@x.nl"))?;
/// resolver.upsert(RecordInput::new(crm, "C,2").with_key(KindId::EMAIL, "a@x.nl"))?;
/// let mut out = Vec::new();
/// assert_eq!(write_assignments(&resolver, &mut out)?, 2);
/// assert_eq!(String::from_utf8(out)?, "source,record_id,customer_id\ncrm,C-1,1\ncrm,\"C,2\",1\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Any error of `out`.
pub fn write_assignments(resolver: &Resolver, out: impl Write) -> std::io::Result<u64> {
    write_in_blocks(resolver, out, BLOCK)
}

/// [`write_assignments`], `block` record slots at a time.
fn write_in_blocks(resolver: &Resolver, mut out: impl Write, block: usize) -> std::io::Result<u64> {
    let block = block.max(1);
    out.write_all(b"source,record_id,customer_id\n")?;
    let slots = resolver.record_slots();
    let (mut first, mut second) = (Rows::new(resolver), Rows::new(resolver));
    let mut n = 0;
    let mut start = 0;
    while start < slots {
        let middle = slots.min(start + block);
        let end = slots.min(middle + block);
        build_both(&mut first, start..middle, &mut second, middle..end);
        for rows in [&first, &second] {
            out.write_all(&rows.text)?;
            n += rows.count;
        }
        start = end;
    }
    out.flush()?;
    Ok(n)
}

/// Builds the rows of two ranges of slots: side by side where the pool has two threads.
fn build_both<'r>(
    first: &mut Rows<'r>,
    first_slots: std::ops::Range<usize>,
    second: &mut Rows<'r>,
    second_slots: std::ops::Range<usize>,
) {
    #[cfg(feature = "rayon")]
    if rayon::current_num_threads() > 1 {
        rayon::join(|| first.build(first_slots), || second.build(second_slots));
        return;
    }
    first.build(first_slots);
    second.build(second_slots);
}

/// The rows of a block of record slots, and each source's field once.
struct Rows<'r> {
    resolver: &'r Resolver,
    sources: Vec<Option<Vec<u8>>>,
    text: Vec<u8>,
    count: u64,
}

impl<'r> Rows<'r> {
    fn new(resolver: &'r Resolver) -> Self {
        Rows { resolver, sources: Vec::new(), text: Vec::new(), count: 0 }
    }

    /// Replaces the rows with those of the live records in `slots`.
    fn build(&mut self, slots: std::ops::Range<usize>) {
        self.text.clear();
        self.count = 0;
        for (record, customer) in self.resolver.assignments_in(slots) {
            let source = source_field(&mut self.sources, self.resolver, record.source);
            self.text.extend_from_slice(source);
            self.text.push(b',');
            push_field(&mut self.text, record.external_id);
            self.text.push(b',');
            push_decimal(&mut self.text, customer.get());
            self.text.push(b'\n');
            self.count += 1;
        }
    }
}

/// The CSV field of `source`'s name, made once.
fn source_field<'a>(
    cache: &'a mut Vec<Option<Vec<u8>>>,
    resolver: &Resolver,
    source: SourceId,
) -> &'a [u8] {
    let s = usize::from(source.get());
    if cache.len() <= s {
        cache.resize(s + 1, None);
    }
    match cache.get_mut(s) {
        Some(cached) => cached.get_or_insert_with(|| {
            let mut field = Vec::new();
            push_field(&mut field, resolver.source_name(source).unwrap_or_default());
            field
        }),
        None => &[],
    }
}

/// One CSV field, quoted if it holds a comma, quote, line break or surrounding space.
fn push_field(out: &mut Vec<u8>, value: &str) {
    let needs_quotes = value.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if !needs_quotes {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    out.push(b'"');
    for (i, part) in value.split('"').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(part.as_bytes());
    }
    out.push(b'"');
}

/// `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, n: impl Into<u64>) {
    let mut n: u64 = n.into();
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The assignment as `Resolver::assignments` gives it, each field quoted by the CSV
    /// writer's rules written out here again.
    fn expected(resolver: &Resolver) -> String {
        let field = |v: &str| {
            if v.contains([',', '"', '\n', '\r']) || v.trim() != v {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v.to_string()
            }
        };
        let mut text = String::from("source,record_id,customer_id\n");
        for (record, customer) in resolver.assignments() {
            let source = resolver.source_name(record.source).unwrap();
            text += &format!("{},{},{}\n", field(source), field(record.external_id), customer);
        }
        text
    }

    #[test]
    #[cfg(feature = "rayon")]
    fn blocks_on_one_thread_and_two_write_what_assignments_gives() {
        use crate::{KindId, RecordInput};
        let mut resolver = Resolver::new();
        let crm = resolver.add_source("crm", 10).unwrap();
        let web = resolver.add_source("web, new", 5).unwrap();
        let records: Vec<RecordInput> = (0..40)
            .map(|i| {
                let source = if i % 3 == 0 { web } else { crm };
                RecordInput::new(source, format!("r{i}{}", if i % 7 == 0 { ",x" } else { "" }))
                    .with_key(KindId::EMAIL, format!("p{}@x.nl", i / 4))
            })
            .collect();
        resolver.ingest(&records);
        // Empty slots between live ones.
        for i in [1, 2, 17, 39] {
            let r = &records[i];
            resolver.remove(r.source, &r.external_id).unwrap();
        }
        let want = expected(&resolver);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            for block in [1, 3, 7, 36, 1000] {
                let mut out = Vec::new();
                let n = pool.install(|| write_in_blocks(&resolver, &mut out, block)).unwrap();
                assert_eq!(n, 36, "{threads} threads, blocks of {block}");
                assert_eq!(String::from_utf8(out).unwrap(), want, "{threads} threads, {block}");
            }
        }
    }

    #[test]
    fn decimals_are_written_as_std_formats_them() {
        for n in [0u64, 7, 10, 99, 1_234_567_890, u64::from(u32::MAX), u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn fields_are_quoted_as_csv_needs() {
        for (value, written) in [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            (" lead", "\" lead\""),
            ("line\nbreak", "\"line\nbreak\""),
            ("", ""),
        ] {
            let mut out = Vec::new();
            push_field(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), written, "{value:?}");
        }
    }
}

//! A section's rows as trimmed cells: the loop that the events, consent and contacts readers
//! share, filling a [`Chunk`] in place, and the JSON Lines row parser under them.
//!
//! Their files are large (tens of millions of rows), so a row costs no allocation: CSV rows
//! are read into one reused record, JSON Lines rows are parsed straight into reused cells (no
//! `serde_json::Value`), and a chunk's items are overwritten in place, their strings keeping
//! their capacity from chunk to chunk. (A JSON string with escapes is the exception: the
//! parser, made per line, unescapes it in a buffer of its own.)
//! `tests/mapping_events_alloc.rs` counts the allocations.

// Without a reader feature no file can be read, so the row machinery goes unused.
#![cfg_attr(
    not(any(feature = "csv", feature = "serde_json", feature = "sqlite", feature = "postgres")),
    allow(dead_code, unused_imports, unused_variables)
)]

use super::bad_rows::BadRows;
use super::chunk::Chunk;
use super::error::MappingError;
#[cfg(any(feature = "csv", feature = "serde_json", feature = "sqlite", feature = "postgres"))]
use super::reader::Reader;
use super::reader::{check_feature, open_reader, Layout};

/// Opens the layout's file and calls `row` with each row's line and its cells, by index into
/// the layout's columns (trimmed; `""` for a missing field or JSON `null`), until the file
/// ends or `row` fails. Malformed rows are counted in `bad` under
/// [`OnBadRow::Skip`](super::OnBadRow::Skip).
///
/// # Errors
/// The error of `row`; a [`MappingError`] for a file that cannot be opened or read, a CSV
/// header without a mapped column, or (unless skipped) a malformed row.
fn for_each_row<E: From<MappingError>>(
    layout: &Layout,
    bad: &mut BadRows,
    mut row: impl for<'a> FnMut(u64, &'a dyn Fn(usize) -> &'a str) -> Result<(), E>,
) -> Result<(), E> {
    check_feature(layout)?;
    let reader = open_reader(layout)?;
    #[cfg(not(any(
        feature = "csv",
        feature = "serde_json",
        feature = "sqlite",
        feature = "postgres"
    )))]
    {
        // Without a reader feature `open_reader` fails, so there is no reader here.
        let _ = &mut row;
        match reader {}
    }
    #[cfg(any(feature = "csv", feature = "serde_json", feature = "sqlite", feature = "postgres"))]
    {
        let mut reader: Reader = reader;
        #[cfg_attr(not(feature = "serde_json"), allow(unused_mut, unused_variables))]
        let mut cells: Vec<String> = vec![String::new(); layout.columns.len()];
        let policy = layout.on_bad_row;
        loop {
            let line = match bad.sift(policy, reader.advance(layout))? {
                Some(Some(line)) => line,
                Some(None) => break,
                None => continue,
            };
            match &reader {
                #[cfg(feature = "csv")]
                Reader::Csv { record, index, .. } => row(line, &|col| {
                    index.get(col).and_then(|&i| record.get(i)).unwrap_or_default().trim()
                })?,
                #[cfg(feature = "serde_json")]
                Reader::Jsonl { buf, .. } => {
                    if bad.sift(policy, json::cells(layout, line, buf, &mut cells))?.is_some() {
                        row(line, &|col| cells.get(col).map_or("", |s| s.trim()))?;
                    }
                }
                #[cfg(any(feature = "sqlite", feature = "postgres"))]
                Reader::Sql(rows) => row(line, &|col| rows.cell(col).unwrap_or_default().trim())?,
            }
        }
        Ok(())
    }
}

/// Overwrites a text, keeping the string's buffer.
pub(super) fn set_str(slot: &mut String, text: &str) {
    slot.clear();
    slot.push_str(text);
}

/// Overwrites an optional text, keeping the string's buffer when there is text again.
pub(super) fn set_text(slot: &mut Option<String>, text: Option<&str>) {
    match (slot.as_mut(), text) {
        (Some(s), Some(t)) => set_str(s, t),
        (None, Some(t)) => *slot = Some(t.to_string()),
        (_, None) => *slot = None,
    }
}

/// Reads the layout's rows into items handed to `f` a chunk of `chunk` at a time (the last
/// chunk may be shorter; `f` never gets an empty one): `fill` writes a row's item over a used
/// one (or one `make` made while the first chunk grows), or gives the row's problem and the
/// offending text, which `skip` hears with the row's line. Returns the rows read and the items
/// handed on; malformed rows skipped by the layout's `on_bad_row` are counted in `bad`, not
/// in the rows read.
///
/// # Errors
/// As [`for_each_row`], and the error of `f`, which stops the reading.
pub(super) fn read_chunks<T, P, E: From<MappingError>>(
    layout: &Layout,
    bad: &mut BadRows,
    chunk: usize,
    make: impl Fn() -> T,
    mut fill: impl for<'c> FnMut(&mut T, &'c dyn Fn(usize) -> &'c str) -> Result<(), (P, &'c str)>,
    mut skip: impl FnMut(u64, P, &str),
    mut f: impl FnMut(&[T]) -> Result<(), E>,
) -> Result<(u64, u64), E> {
    let mut rows = 0;
    let mut items = Chunk::new(chunk);
    for_each_row::<E>(layout, bad, |line, cell| {
        rows += 1;
        match fill(items.slot(&make), cell) {
            Ok(()) => items.commit(&mut f)?,
            Err((problem, text)) => skip(line, problem, text),
        }
        Ok(())
    })?;
    items.finish(&mut f)?;
    Ok((rows, items.handed()))
}

/// JSON Lines rows parsed straight into the section's cells: the object's fields are
/// matched against the mapped columns as they are read, unmapped ones skipped, so a row
/// allocates nothing once the cells have grown to their values' length.
#[cfg(feature = "serde_json")]
pub(super) mod json {
    use std::fmt::Write as _;

    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

    use super::super::error::MappingError;
    use super::super::reader::{invalid_json, json_row, Cell, Layout};

    /// What a mapped field held that is not a cell: the column and what was found.
    type Unexpected = Option<(usize, &'static str)>;

    /// Reads the JSON object on `text` into `cells` (one per layout column; empty for a
    /// missing field or `null`).
    pub(in crate::mapping) fn cells(
        layout: &Layout,
        line: u64,
        text: &[u8],
        cells: &mut [String],
    ) -> Result<(), MappingError> {
        for cell in cells.iter_mut() {
            cell.clear();
        }
        let first = text.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            // Not an object: the general reader names what it is (or why it is no JSON).
            json_row(&layout.file, line, text, &[], &mut [])?;
            return Err(MappingError::NotAnObject {
                file: layout.file.clone(),
                line,
                found: "something else",
            });
        }
        let mut unexpected: Unexpected = None;
        let mut de = serde_json::Deserializer::from_slice(text);
        let seed = Row { columns: &layout.columns, cells, unexpected: &mut unexpected };
        let parsed = seed.deserialize(&mut de).and_then(|()| de.end());
        match (parsed, unexpected) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(_)) if last_values_are_cells(layout, line, text, cells) => Ok(()),
            (Err(_), Some((col, found))) => Err(MappingError::UnexpectedValue {
                file: layout.file.clone(),
                line,
                field: layout.columns.get(col).cloned().unwrap_or_default(),
                found,
                expected: "a string, a number, a boolean or null",
            }),
            (Err(e), None) => Err(invalid_json(&layout.file, line, text, &e)),
        }
    }

    /// The seed of one row: the object whose mapped fields fill `cells`.
    struct Row<'a> {
        columns: &'a [String],
        cells: &'a mut [String],
        unexpected: &'a mut Unexpected,
    }

    impl<'de> DeserializeSeed<'de> for Row<'_> {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Row<'_> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(col) = map.next_key_seed(Key(self.columns))? {
                match col.and_then(|c| self.cells.get_mut(c).map(|cell| (c, cell))) {
                    Some((col, cell)) => {
                        // A field given twice counts as its last value, as in a JSON object
                        // read whole.
                        cell.clear();
                        map.next_value_seed(Value { col, cell, unexpected: self.unexpected })?;
                    }
                    None => map.next_value_seed(Skip)?,
                }
            }
            Ok(())
        }
    }

    /// An unmapped field's value, skipped. Not `serde::de::IgnoredAny`: serde_json skips that
    /// with a stack in its scratch buffer, which a parser made per row would allocate anew
    /// for every row with a nested value.
    struct Skip;

    impl<'de> DeserializeSeed<'de> for Skip {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Skip {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }

        fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
            Ok(())
        }

        fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
            Ok(())
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        // serde_json limits the nesting (to 128), so this recursion is bounded.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Skip)?.is_some() {}
            Ok(())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map.next_key_seed(Skip)?.is_some() {
                map.next_value_seed(Skip)?;
            }
            Ok(())
        }
    }

    /// A field name, as the index of the mapped column of that name (`None` if unmapped).
    struct Key<'a>(&'a [String]);

    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = Option<usize>;

        fn deserialize<D: de::Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Option<usize>, D::Error> {
            deserializer.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key<'_> {
        type Value = Option<usize>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a field name")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
            Ok(self.0.iter().position(|c| c == v))
        }
    }

    /// Whether the general reader, which keeps a field given twice at its last value, reads
    /// `text` with a cell in every mapped field; if so, its cells are written to `cells`. The
    /// row parser stops at the first object or array in a mapped field, which a later field of
    /// the same name may replace, so a refused row is read once more to decide (such rows are
    /// rare, and an error row costs nothing on the way of good ones).
    fn last_values_are_cells(
        layout: &Layout,
        line: u64,
        text: &[u8],
        cells: &mut [String],
    ) -> bool {
        let mut whole = vec![Cell::Missing; layout.columns.len()];
        if json_row(&layout.file, line, text, &layout.columns, &mut whole).is_err()
            || whole.iter().any(|c| matches!(c, Cell::Many(_)))
        {
            return false;
        }
        for (cell, value) in cells.iter_mut().zip(whole) {
            cell.clear();
            if let Cell::One(v) = value {
                cell.push_str(&v);
            }
        }
        true
    }

    /// A mapped field's value, written as text into its cell.
    struct Value<'a> {
        col: usize,
        cell: &'a mut String,
        unexpected: &'a mut Unexpected,
    }

    impl Value<'_> {
        /// Numbers read as the text `serde_json::Value` gives them, so that an id reads the
        /// same here as in a source's file.
        fn number<E>(self, n: serde_json::Number) -> Result<(), E> {
            // Writing into a String cannot fail.
            let _ = write!(self.cell, "{n}");
            Ok(())
        }

        fn refuse<E: de::Error>(self, found: &'static str) -> Result<(), E> {
            *self.unexpected = Some((self.col, found));
            Err(E::custom(format_args!("{found} in a mapped field")))
        }
    }

    impl<'de> DeserializeSeed<'de> for Value<'_> {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Value<'_> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string, a number, a boolean or null")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
            self.cell.push_str(v);
            Ok(())
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
            self.cell.push_str(if v { "true" } else { "false" });
            Ok(())
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
            self.number(v.into())
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
            self.number(v.into())
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
            match serde_json::Number::from_f64(v) {
                Some(n) => self.number(n),
                // JSON has no infinite or NaN numbers; should one come, it is no number.
                None => self.refuse("a non-finite number"),
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<(), A::Error> {
            self.refuse("an array")
        }

        fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
            self.refuse("an object")
        }
    }

    /// The row parser against the general one (`serde_json::Value`), on generated objects,
    /// other JSON values and lines with a byte changed.
    #[cfg(test)]
    mod tests {
        use std::path::PathBuf;

        use proptest::prelude::*;
        use serde_json::Value as Json;

        use super::super::super::reader::{json_row, Cell, Layout, Owner};
        use super::cells;
        use crate::mapping::{InputFormat, MappingError};

        const COLUMNS: [&str; 4] = ["sid", "kind", "ts", "t"];

        fn layout() -> Layout {
            Layout {
                file: PathBuf::from("e.jsonl"),
                format: InputFormat::JsonLines,
                delimiter: b',',
                encoding: crate::mapping::FileEncoding::Utf8,
                on_bad_row: crate::mapping::OnBadRow::Fail,
                columns: COLUMNS.map(String::from).into(),
                column_keys: COLUMNS.map(String::from).into(),
                owner: Owner::Events { number: 1, source: "s".into() },
                database: None,
            }
        }

        fn json() -> impl Strategy<Value = Json> {
            let leaf = prop_oneof![
                Just(Json::Null),
                any::<bool>().prop_map(Json::Bool),
                any::<i64>().prop_map(Json::from),
                any::<u64>().prop_map(Json::from),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Json::from),
                "\\PC{0,6}".prop_map(Json::String),
                "[ a\"\\\\\n\t\u{e9}\u{1f600}]{0,6}".prop_map(Json::String),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                    proptest::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                        .prop_map(|m| Json::Object(m.into_iter().collect())),
                ]
            })
        }

        /// A line: mostly an object with some of the mapped fields, sometimes another value;
        /// with a byte replaced, inserted or removed now and then.
        fn line() -> impl Strategy<Value = Vec<u8>> {
            let keys = prop::sample::select(vec!["sid", "kind", "ts", "t", "x", "params"]);
            let object = proptest::collection::btree_map(keys, json(), 0..6)
                .prop_map(|m| Json::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect()));
            let value = prop_oneof![8 => object, 1 => json()];
            let edit = prop_oneof![
                4 => Just(None),
                1 => (any::<prop::sample::Index>(), any::<u8>(), 0u8..3).prop_map(Some),
            ];
            (value, any::<bool>(), edit).prop_map(|(value, pretty, edit)| {
                let mut text = if pretty {
                    serde_json::to_vec_pretty(&value).unwrap_or_default()
                } else {
                    serde_json::to_vec(&value).unwrap_or_default()
                };
                if let Some((at, byte, how)) = edit {
                    let i = at.index(text.len() + 1);
                    match how {
                        0 if i < text.len() => text[i] = byte,
                        1 => text.insert(i, byte),
                        _ if i < text.len() => {
                            text.remove(i);
                        }
                        _ => {}
                    }
                }
                text
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            #[test]
            fn rows_parse_as_the_general_reader_reads_them(text in line()) {
                let layout = layout();
                let mut fast = vec![String::new(); COLUMNS.len()];
                let fast = cells(&layout, 1, &text, &mut fast).map(|()| fast);
                let mut slow = vec![Cell::Missing; COLUMNS.len()];
                let slow = json_row(&layout.file, 1, &text, &layout.columns, &mut slow)
                    .map(|()| slow);
                match (slow, fast) {
                    (Ok(slow), Ok(fast)) => {
                        for (s, f) in slow.iter().zip(&fast) {
                            match s {
                                Cell::Missing => prop_assert_eq!(f.as_str(), ""),
                                Cell::One(v) => prop_assert_eq!(f, v),
                                Cell::Many(_) => prop_assert!(false, "an array read as {f:?}"),
                            }
                        }
                    }
                    // The general reader takes arrays (for keys); events refuse them.
                    (Ok(slow), Err(MappingError::UnexpectedValue { found: "an array", .. })) => {
                        prop_assert!(slow.iter().any(|c| matches!(c, Cell::Many(_))));
                    }
                    (Ok(slow), Err(e)) => prop_assert!(false, "{e} where {slow:?} was read"),
                    (Err(e), Ok(fast)) => prop_assert!(false, "{fast:?} read where {e}"),
                    (Err(slow), Err(fast)) => match (&slow, &fast) {
                        (MappingError::NotAnObject { .. }, MappingError::NotAnObject { .. })
                        | (MappingError::UnexpectedValue { .. }, MappingError::UnexpectedValue { .. })
                        // The row parser stops at the first mapped array or object, which may
                        // come before a syntax error the general reader reports.
                        | (MappingError::InvalidJson { .. }, MappingError::UnexpectedValue { .. })
                        | (MappingError::InvalidUtf8 { .. }, MappingError::UnexpectedValue { .. }) => {}
                        (
                            MappingError::InvalidUtf8 { line: 1, column: a, .. },
                            MappingError::InvalidUtf8 { line: 1, column: b, .. },
                        ) => prop_assert_eq!(a, b),
                        (
                            MappingError::InvalidJson { line: 1, column: a, .. },
                            MappingError::InvalidJson { line: 1, column: b, .. },
                        ) => prop_assert_eq!(a, b, "{} / {}", slow, fast),
                        _ => prop_assert!(false, "{slow} / {fast}"),
                    },
                }
            }
        }

        #[test]
        fn an_object_replaced_by_a_later_field_of_its_name_is_no_error() {
            let layout = layout();
            let mut cells = vec![String::new(); COLUMNS.len()];
            cells[3].push_str("stale");
            let text = br#"{"t":{"a":null,"b":["x"]},"sid":"S1","t":"title","t":null}"#;
            assert!(cells_of(&layout, text, &mut cells).is_ok());
            let t = COLUMNS.iter().position(|c| *c == "t").unwrap();
            let sid = COLUMNS.iter().position(|c| *c == "sid").unwrap();
            assert_eq!((cells[t].as_str(), cells[sid].as_str()), ("", "S1"));
            // Left an object, it stays an error.
            let text = br#"{"t":null,"t":{"a":1}}"#;
            assert!(matches!(
                cells_of(&layout, text, &mut cells),
                Err(MappingError::UnexpectedValue { found: "an object", .. })
            ));
        }

        fn cells_of(layout: &Layout, text: &[u8], out: &mut [String]) -> Result<(), MappingError> {
            cells(layout, 1, text, out)
        }

        #[test]
        fn a_field_given_twice_counts_as_its_last_value() {
            let mut fast = vec![String::new(); COLUMNS.len()];
            cells(&layout(), 1, br#"{"sid": "a", "sid": 7, "kind": "x"}"#, &mut fast).unwrap();
            assert_eq!(fast, ["7", "x", "", ""]);
        }
    }
}

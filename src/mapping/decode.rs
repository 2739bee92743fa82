//! The text encoding of a mapped file (`encoding` in the mapping) and the reader that turns a
//! file in a legacy encoding into UTF-8 before the CSV parser sees it.
//!
//! A UTF-8 file is read as it is, with no copy: only a file in another encoding goes through
//! [`Decoded`]. Decoding the whole stream (rather than field by field) keeps quotes,
//! delimiters and line breaks where they were, since every encoding offered here writes the
//! ASCII range as ASCII; line numbers in errors are the file's own.

use std::fmt;
#[cfg(feature = "csv")]
use std::io::Read;

/// The text encoding of a mapped file: `encoding = "utf-8" | "windows-1252" | "iso-8859-1"`
/// in a `[[source]]`, `[[events]]`, `[[consent]]` or `[[contacts]]` table.
///
/// `"iso-8859-1"` (and `"latin1"`) read as [`FileEncoding::Windows1252`], as the WHATWG
/// Encoding Standard and every browser read them: the two differ only in bytes 0x80–0x9F,
/// control characters in ISO-8859-1 that no customer export means, where files labelled
/// Latin-1 routinely hold Windows-1252's `€` (0x80), curly quotes and dashes. Windows-1252
/// gives every byte a character (the five bytes it leaves undefined, such as 0x81, read as
/// the control character of the same number), so such a file has no undecodable field.
///
/// ```
/// use idstitch::mapping::FileEncoding;
///
/// assert_eq!(FileEncoding::from_label(" Windows-1252 "), Some(FileEncoding::Windows1252));
/// assert_eq!(FileEncoding::from_label("iso-8859-1"), Some(FileEncoding::Windows1252));
/// assert_eq!(FileEncoding::from_label("utf8"), Some(FileEncoding::Utf8));
/// assert_eq!(FileEncoding::from_label("ebcdic"), None);
/// assert_eq!(FileEncoding::Windows1252.decode(b"M\xfcller \x80"), "Müller €");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileEncoding {
    /// UTF-8 (the default; JSON Lines files are always UTF-8). A UTF-8 byte-order mark at the
    /// start of the file is skipped; a field that is not valid UTF-8 is a bad row (see
    /// [`OnBadRow`](super::OnBadRow)).
    #[default]
    Utf8,
    /// Windows-1252 (`"windows-1252"`, `"cp1252"`, `"iso-8859-1"`, `"latin1"`): Western
    /// European exports of older systems. A file that starts with a UTF-8 byte-order mark is
    /// read as UTF-8 all the same (the mark says what the file is).
    Windows1252,
}

impl FileEncoding {
    /// The labels [`FileEncoding::from_label`] takes, for messages.
    pub const LABELS: &'static str = "\"utf-8\", \"windows-1252\" or \"iso-8859-1\"";

    /// The encoding a mapping's `encoding` value names, trimmed and in any ASCII case:
    /// `utf-8` or `utf8`; `windows-1252`, `cp1252`, `iso-8859-1` or `latin1`. `None` for
    /// anything else.
    pub fn from_label(label: &str) -> Option<Self> {
        let label = label.trim().to_ascii_lowercase();
        match label.as_str() {
            "utf-8" | "utf8" => Some(FileEncoding::Utf8),
            "windows-1252" | "cp1252" | "iso-8859-1" | "latin1" => Some(FileEncoding::Windows1252),
            _ => None,
        }
    }

    /// The encoding's name, as the mapping writes it.
    pub const fn name(self) -> &'static str {
        match self {
            FileEncoding::Utf8 => "utf-8",
            FileEncoding::Windows1252 => "windows-1252",
        }
    }

    /// Decodes a whole text in this encoding (a UTF-8 byte-order mark decides for UTF-8, as
    /// when a file is read); bytes that are not valid UTF-8 become U+FFFD. For tests and
    /// tools: files are decoded as they stream.
    pub fn decode(self, bytes: &[u8]) -> String {
        self.encoding().decode(bytes).0.into_owned()
    }

    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            FileEncoding::Utf8 => encoding_rs::UTF_8,
            FileEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }
}

impl fmt::Display for FileEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A file read as UTF-8: the file itself when it is UTF-8, else its bytes decoded on the way.
#[cfg(feature = "csv")]
pub(super) enum Input<R> {
    /// Read as it is.
    Utf8(R),
    /// Decoded from a legacy encoding.
    Decoded(Box<Decoded<R>>),
}

#[cfg(feature = "csv")]
impl<R: Read> Input<R> {
    /// `inner` read in `encoding`.
    pub(super) fn new(inner: R, encoding: FileEncoding) -> Self {
        match encoding {
            FileEncoding::Utf8 => Input::Utf8(inner),
            other => Input::Decoded(Box::new(Decoded::new(inner, other))),
        }
    }
}

#[cfg(feature = "csv")]
impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Utf8(inner) => inner.read(buf),
            Input::Decoded(decoded) => decoded.read(buf),
        }
    }
}

/// Bytes of the file read at a time.
#[cfg(feature = "csv")]
const CHUNK: usize = 1 << 14;

/// A reader that decodes `inner` into UTF-8 as it is read.
#[cfg(feature = "csv")]
pub(super) struct Decoded<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    /// Bytes of the file read and not yet decoded: `input[start..end]`.
    input: Vec<u8>,
    start: usize,
    end: usize,
    /// Decoded text not yet handed out: `output[out_start..out_end]`.
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    /// The file is read to its end and everything decoded.
    done: bool,
    eof: bool,
}

#[cfg(feature = "csv")]
impl<R: Read> Decoded<R> {
    fn new(inner: R, encoding: FileEncoding) -> Self {
        let decoder = encoding.encoding().new_decoder();
        // Room for the whole input chunk decoded: at most 3 bytes of UTF-8 per byte.
        let out = decoder.max_utf8_buffer_length(CHUNK).unwrap_or(3 * CHUNK + 16);
        Decoded {
            inner,
            decoder,
            input: vec![0; CHUNK],
            start: 0,
            end: 0,
            output: vec![0; out],
            out_start: 0,
            out_end: 0,
            done: false,
            eof: false,
        }
    }

    /// Decodes the next chunk into `output`; false when nothing is left.
    fn refill(&mut self) -> std::io::Result<bool> {
        while !self.done {
            if self.start == self.end && !self.eof {
                let n = loop {
                    match self.inner.read(&mut self.input) {
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        other => break other?,
                    }
                };
                (self.start, self.end, self.eof) = (0, n, n == 0);
            }
            let src = self.input.get(self.start..self.end).unwrap_or_default();
            let (result, read, written, _) =
                self.decoder.decode_to_utf8(src, &mut self.output, self.eof);
            self.start += read;
            (self.out_start, self.out_end) = (0, written);
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
            if written > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(feature = "csv")]
impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out_start == self.out_end && !self.refill()? {
            return Ok(0);
        }
        let pending = self.output.get(self.out_start..self.out_end).unwrap_or_default();
        let n = pending.len().min(buf.len());
        buf.get_mut(..n).unwrap_or_default().copy_from_slice(pending.get(..n).unwrap_or_default());
        self.out_start += n;
        Ok(n)
    }
}

#[cfg(all(test, feature = "csv"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads everything through `Input` with reads of at most `step` bytes.
    fn read_all(bytes: &[u8], encoding: FileEncoding, step: usize) -> Vec<u8> {
        let mut input = Input::new(bytes, encoding);
        let mut out = Vec::new();
        let mut buf = vec![0; step];
        loop {
            let n = input.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// The Windows-1252 bytes 0x80–0x9F as the WHATWG index gives them (the five undefined
    /// ones map to the C1 control of the same number), written out by hand.
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];

    /// Windows-1252 by hand: the table above, and the code point of the byte elsewhere.
    fn reference(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9f => HIGH[usize::from(b - 0x80)],
                _ => char::from(b),
            })
            .collect()
    }

    #[test]
    fn labels() {
        assert_eq!(FileEncoding::from_label("UTF-8"), Some(FileEncoding::Utf8));
        assert_eq!(FileEncoding::from_label("latin1"), Some(FileEncoding::Windows1252));
        assert_eq!(FileEncoding::from_label("cp1252"), Some(FileEncoding::Windows1252));
        assert_eq!(FileEncoding::from_label("utf-16"), None);
        assert_eq!(FileEncoding::from_label(""), None);
    }

    #[test]
    fn umlaut_and_euro() {
        let text = read_all(b"id;name\n1;M\xfcller \x80 5\n", FileEncoding::Windows1252, 7);
        assert_eq!(String::from_utf8(text).unwrap(), "id;name\n1;Müller € 5\n");
    }

    #[test]
    fn a_utf8_byte_order_mark_decides() {
        let text = read_all(b"\xef\xbb\xbfM\xc3\xbcller", FileEncoding::Windows1252, 3);
        assert_eq!(String::from_utf8(text).unwrap(), "Müller");
    }

    #[test]
    fn utf8_is_read_as_it_is() {
        let bytes = b"\xef\xbb\xbfa,\xff\n";
        assert_eq!(read_all(bytes, FileEncoding::Utf8, 2), bytes);
    }

    proptest! {
        /// Any bytes, read in reads of any size, decode as the hand-written table says.
        #[test]
        fn windows_1252_matches_the_table(
            bytes in proptest::collection::vec(any::<u8>(), 0..40_000),
            step in 1usize..9000,
        ) {
            // A leading UTF-8 byte-order mark switches to UTF-8; the table has no such rule.
            prop_assume!(!bytes.starts_with(b"\xef\xbb\xbf"));
            let text = read_all(&bytes, FileEncoding::Windows1252, step);
            prop_assert_eq!(String::from_utf8(text).unwrap(), reference(&bytes));
            prop_assert_eq!(FileEncoding::Windows1252.decode(&bytes), reference(&bytes));
        }
    }
}

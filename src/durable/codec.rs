//! How are values written to and read from the state files? Little-endian integers, LEB128
//! varints, length-prefixed strings and a CRC-32 per section or entry; a reader that meets
//! the end of its bytes or an impossible value returns an error, never panics.

/// A value that is not what the format allows, or the bytes end early. The caller adds where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The bytes end inside a value.
    Truncated,
    /// A value is out of range or inconsistent (the text says which).
    Invalid(&'static str),
}

/// CRC-32 (IEEE) of `bytes`: what every section and entry is checked against.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Appends values to a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// An unsigned LEB128 varint: small numbers (most lengths, ids, deltas) take one byte.
    pub fn var(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// A signed varint (zig-zag): timestamps before 1970 stay short.
    pub fn var_i64(&mut self, v: i64) {
        self.var(((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.var(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn opt_var(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.var(v);
            }
        }
    }
}

/// Reads values back from a byte slice.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(Malformed::Truncated)?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self) -> Result<u64, Malformed> {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(bytes))
    }

    pub fn var(&mut self) -> Result<u64, Malformed> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(Malformed::Invalid("varint overflows 64 bits"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Malformed::Invalid("varint longer than 10 bytes"))
    }

    /// A varint that must fit `u32`.
    pub fn var_u32(&mut self) -> Result<u32, Malformed> {
        u32::try_from(self.var()?).map_err(|_| Malformed::Invalid("number exceeds 32 bits"))
    }

    /// A varint that must fit `u16`.
    pub fn var_u16(&mut self) -> Result<u16, Malformed> {
        u16::try_from(self.var()?).map_err(|_| Malformed::Invalid("number exceeds 16 bits"))
    }

    /// A count of items each taking at least `min_bytes`: checked against the bytes left,
    /// so a corrupt count cannot make a reader reserve room for billions of items.
    pub fn count(&mut self, min_bytes: usize) -> Result<usize, Malformed> {
        let n = self.var()?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(min_bytes.max(1) as u64) > left {
            return Err(Malformed::Truncated);
        }
        Ok(n as usize)
    }

    pub fn var_i64(&mut self) -> Result<i64, Malformed> {
        let v = self.var()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let n = self.var()?;
        self.take(usize::try_from(n).map_err(|_| Malformed::Truncated)?)
    }

    pub fn str(&mut self) -> Result<&'a str, Malformed> {
        std::str::from_utf8(self.bytes()?).map_err(|_| Malformed::Invalid("text is not UTF-8"))
    }

    pub fn opt_var(&mut self) -> Result<Option<u64>, Malformed> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.var()?)),
            _ => Err(Malformed::Invalid("option tag")),
        }
    }

    pub fn bool(&mut self) -> Result<bool, Malformed> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Malformed::Invalid("boolean")),
        }
    }
}

/// Writes a campaign's definition, as both the snapshot and the journal hold it.
pub(crate) fn write_campaign(w: &mut Writer, c: &crate::campaign::CampaignSpec) {
    use crate::campaign::Conversions;
    w.str(&c.name);
    w.str(&c.channel);
    w.var(u64::from(c.holdout_bp));
    w.str(&c.salt);
    match &c.conversions {
        Conversions::Kinds(kinds) => {
            w.u8(1);
            w.var(kinds.len() as u64);
            for k in kinds {
                w.var(u64::from(k.get()));
            }
        }
        _ => w.u8(0),
    }
    w.var(u64::from(c.window.len_days()));
}

/// Reads what [`write_campaign`] wrote.
pub(crate) fn read_campaign(
    r: &mut Reader<'_>,
) -> Result<crate::campaign::CampaignSpec, Malformed> {
    use crate::behaviour::{EventKind, Window};
    use crate::campaign::{CampaignSpec, Conversions};
    let (name, channel) = (r.str()?, r.str()?);
    let mut spec = CampaignSpec::new(name, channel);
    spec.holdout_bp = r.var_u32()?;
    spec.salt = r.str()?.to_string();
    spec.conversions = match r.u8()? {
        0 => Conversions::Purchases,
        1 => {
            let n = r.count(1)?;
            let kinds = (0..n).map(|_| r.var_u16().map(EventKind::from_raw));
            Conversions::Kinds(kinds.collect::<Result<_, _>>()?)
        }
        _ => return Err(Malformed::Invalid("conversions tag")),
    };
    spec.window = Window::days(r.var_u32()?);
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn values_read_back_as_written(
            vars in proptest::collection::vec(any::<u64>(), 0..8),
            signed in proptest::collection::vec(any::<i64>(), 0..8),
            text in ".{0,40}",
        ) {
            let mut w = Writer::default();
            for &v in &vars { w.var(v); }
            for &v in &signed { w.var_i64(v); }
            w.str(&text);
            let mut r = Reader::new(&w.buf);
            for &v in &vars { prop_assert_eq!(r.var(), Ok(v)); }
            for &v in &signed { prop_assert_eq!(r.var_i64(), Ok(v)); }
            prop_assert_eq!(r.str(), Ok(text.as_str()));
            prop_assert!(r.is_empty());
            // Every cut short of the end is an error, never a panic or a wrong value.
            for cut in 0..w.buf.len() {
                let mut r = Reader::new(&w.buf[..cut]);
                let mut whole = || -> Result<(), Malformed> {
                    for _ in &vars {
                        r.var()?;
                    }
                    for _ in &signed {
                        r.var_i64()?;
                    }
                    r.str().map(|_| ())
                };
                prop_assert!(whole().is_err());
            }
        }
    }

    #[test]
    fn a_count_larger_than_the_bytes_left_is_refused() {
        let mut w = Writer::default();
        w.var(1 << 40);
        assert_eq!(Reader::new(&w.buf).count(1), Err(Malformed::Truncated));
        assert!(Reader::new(&[0xff; 11]).var().is_err());
    }
}

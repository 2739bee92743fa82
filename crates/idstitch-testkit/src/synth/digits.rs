//! How numbers are written into strings without allocating: decimal, zero-padded and
//! hexadecimal digits.

pub(super) fn push_u64(out: &mut String, value: u64) {
    push_padded(out, value, 1);
}

/// Decimal digits of `value`, left-padded with zeros to `width` (at most 20).
pub(super) fn push_padded(out: &mut String, mut value: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut len = 0;
    while value > 0 || len < width.clamp(1, buf.len()) {
        buf[len] = b'0' + (value % 10) as u8;
        value /= 10;
        len += 1;
    }
    out.extend(buf[..len].iter().rev().map(|&b| char::from(b)));
}

/// Hexadecimal digits of `value`, left-padded with zeros to `width` (at most 16).
pub(super) fn push_hex(out: &mut String, mut value: u64, width: usize, upper: bool) {
    let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let mut buf = [0u8; 16];
    let mut len = 0;
    while value > 0 || len < width.clamp(1, buf.len()) {
        buf[len] = digits[(value & 0xF) as usize];
        value >>= 4;
        len += 1;
    }
    out.extend(buf[..len].iter().rev().map(|&b| char::from(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_helpers() {
        let mut s = String::new();
        push_padded(&mut s, 12_345, 7);
        s.push(' ');
        push_u64(&mut s, 0);
        s.push(' ');
        push_u64(&mut s, u64::MAX);
        s.push(' ');
        push_hex(&mut s, 0xdb8, 4, false);
        s.push(' ');
        push_hex(&mut s, 0, 1, true);
        assert_eq!(s, format!("0012345 0 {} 0db8 0", u64::MAX));
    }
}

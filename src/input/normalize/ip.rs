//! IP addresses: how an IPv4 or IPv6 address is parsed and written canonically (RFC 5952 for
//! IPv6, IPv4-mapped addresses as IPv4).

use std::net::IpAddr;

use super::RejectReason;

pub(super) fn ip(t: &str, out: &mut String) -> Result<(), RejectReason> {
    let s = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(t);
    // Most values are dotted quads already written canonically: checked byte by byte and
    // copied, without parsing into an address and writing it out again.
    if is_canonical_ipv4(s.as_bytes()) {
        out.push_str(s);
        return Ok(());
    }
    let addr: IpAddr = s.parse().map_err(|_| RejectReason::InvalidIp)?;
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match addr {
        // Written by hand: `Display` goes through the formatting machinery, which cost more
        // than the rest of the value's normalisation.
        IpAddr::V4(v4) => {
            for (i, &octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal_u8(out, octet);
            }
        }
        IpAddr::V6(v6) => push_ipv6(out, v6.segments()),
    }
    Ok(())
}

/// Whether `s` is an IPv4 address exactly as `Ipv4Addr`'s `Display` writes it: four decimal
/// octets of at most 255 without leading zeros, separated by dots.
fn is_canonical_ipv4(s: &[u8]) -> bool {
    let mut octets = 0;
    for group in s.split(|&b| b == b'.') {
        octets += 1;
        let canonical = match *group {
            [d] => d.is_ascii_digit(),
            [d1, d2] => (b'1'..=b'9').contains(&d1) && d2.is_ascii_digit(),
            [d1, d2, d3] => {
                (b'1'..=b'2').contains(&d1)
                    && d2.is_ascii_digit()
                    && d3.is_ascii_digit()
                    && (d1, d2, d3) <= (b'2', b'5', b'5')
            }
            _ => false,
        };
        if !canonical || octets > 4 {
            return false;
        }
    }
    octets == 4
}

/// Appends the segments of an IPv6 address (not an IPv4-mapped one) as `Ipv6Addr`'s
/// `Display` writes them (RFC 5952): lower-case hexadecimal without leading zeros, the first
/// longest run of at least two zero segments written as `::`.
fn push_ipv6(out: &mut String, segments: [u16; 8]) {
    let (mut run_start, mut run_len) = (0, 0);
    let mut i = 0;
    while i < segments.len() {
        let start = i;
        while i < segments.len() && segments[i] == 0 {
            i += 1;
        }
        if i - start > run_len {
            (run_start, run_len) = (start, i - start);
        }
        i += 1;
    }
    let push_all = |out: &mut String, segments: &[u16]| {
        for (k, &segment) in segments.iter().enumerate() {
            if k > 0 {
                out.push(':');
            }
            push_hex_u16(out, segment);
        }
    };
    if run_len > 1 {
        push_all(out, &segments[..run_start]);
        out.push_str("::");
        push_all(out, &segments[run_start + run_len..]);
    } else {
        push_all(out, &segments);
    }
}

/// Appends `n` in lower-case hexadecimal, without leading zeros.
fn push_hex_u16(out: &mut String, n: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = (16 - n.leading_zeros()).div_ceil(4).max(1);
    for k in (0..digits).rev() {
        out.push(char::from(HEX[usize::from((n >> (4 * k)) & 0xf)]));
    }
}

/// Appends `n` in decimal, without leading zeros.
fn push_decimal_u8(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::normalize::tests::{nl, norm};
    use crate::input::normalize::Normalizer;

    #[test]
    fn ip_canonical() {
        let n = Normalizer::Ip;
        for (raw, want) in [
            ("10.0.0.1", "10.0.0.1"),
            ("  192.168.1.20 ", "192.168.1.20"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[10.0.0.1]", "10.0.0.1"),
            ("::ffff:1.2.3.4", "1.2.3.4"),
            ("::FFFF:0102:0304", "1.2.3.4"),
            ("::1", "::1"),
            ("0:0:0:0:0:0:0:0", "::"),
            ("FE80::1", "fe80::1"),
        ] {
            assert_eq!(norm(&n, raw, &nl()).as_deref(), Ok(want), "{raw:?}");
        }
        for bad in [
            "010.0.0.1",
            "192.168.001.1",
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4:80",
            "[::1]:443",
            "fe80::1%eth0",
            "10.0.0.0/8",
            "localhost",
            "[2001:db8::1",
            "1.2.3.4 5",
        ] {
            assert_eq!(norm(&n, bad, &nl()), Err(RejectReason::InvalidIp), "{bad:?}");
        }
    }

    /// The canonical form by the standard library alone: parse, unwrap IPv4-mapped, display.
    fn ip_by_std(raw: &str) -> Option<String> {
        let t = raw.trim();
        let s = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(t);
        Some(match s.parse::<IpAddr>().ok()? {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            },
            IpAddr::V4(v4) => v4.to_string(),
        })
    }

    proptest::proptest! {
        #[test]
        fn ipv6_is_written_as_display_writes_it(
            // Zero-heavy segments, so that runs of every length and position occur.
            segments in proptest::array::uniform8(proptest::prop_oneof![
                3 => proptest::strategy::Just(0u16),
                1 => 1u16..16,
                1 => proptest::num::u16::ANY,
            ])
        ) {
            let addr = std::net::Ipv6Addr::from(segments);
            proptest::prop_assume!(addr.to_ipv4_mapped().is_none());
            let mut out = String::new();
            push_ipv6(&mut out, segments);
            proptest::prop_assert_eq!(out, addr.to_string());
        }

        #[test]
        fn ip_fast_path_agrees_with_the_standard_library(
            raw in proptest::prop_oneof![
                "[0-9.]{0,18}",
                "(0|1|9|10|25|99|100|199|200|249|250|255|256|260|300|01|001)(\\.(0|1|9|10|25|99|100|199|200|249|250|255|256|260|300|01|001)){2,4}",
                "\\[?[0-9a-fA-F:.]{0,30}\\]?",
            ]
        ) {
            let got = Normalizer::Ip.normalize(&raw, &nl()).ok();
            proptest::prop_assert_eq!(got, ip_by_std(&raw), "{:?}", raw);
        }
    }

    #[test]
    fn ipv4_is_written_as_display_writes_it() {
        let n = Normalizer::Ip;
        for octet in 0..=255u8 {
            for addr in [
                std::net::Ipv4Addr::new(octet, 0, 255, 7),
                std::net::Ipv4Addr::new(9, octet, 10, octet),
                std::net::Ipv4Addr::new(100, 99, octet, 1),
            ] {
                assert_eq!(norm(&n, &addr.to_string(), &nl()), Ok(addr.to_string()));
            }
        }
    }
}

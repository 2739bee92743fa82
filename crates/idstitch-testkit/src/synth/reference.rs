//! Reference normalisers for the tests: simple, but enough to group the generator's own values;
//! and test data at the default rates.

use std::net::IpAddr;

use super::noise::{CUSTOMER_NO_PLACEHOLDERS, EMAIL_PLACEHOLDERS, PHONE_PLACEHOLDERS};
use super::sources::{K_CUSTOMER_NO, K_EMAIL, K_IP, K_PHONE};
use super::{generate, SynthConfig, SynthData};

fn canon_email(raw: &str) -> Option<String> {
    let t = raw.trim();
    let t = t.strip_prefix("mailto:").unwrap_or(t).to_ascii_lowercase();
    let (local, domain) = t.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !domain.contains('@')).then_some(t)
}

pub(super) fn canon_phone(raw: &str) -> Option<String> {
    let t = raw.trim().replace("(0)", "");
    if t.chars().any(|c| !(c.is_ascii_digit() || " +-()".contains(c))) {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let international = if t.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        format!("31{}", digits.strip_prefix('0')?)
    };
    (international.len() == 11).then(|| format!("+{international}"))
}

pub(super) fn canon_ip(raw: &str) -> Option<String> {
    raw.trim().parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

pub(super) fn canon(kind: &str, raw: &str) -> Option<String> {
    match kind {
        K_EMAIL => canon_email(raw),
        K_PHONE => canon_phone(raw),
        K_IP => canon_ip(raw),
        _ => Some(raw.trim().to_ascii_lowercase()),
    }
}

pub(super) fn is_placeholder(kind: &str, raw: &str) -> bool {
    let t = raw.trim();
    match kind {
        K_EMAIL => EMAIL_PLACEHOLDERS.contains(&t),
        K_PHONE => PHONE_PLACEHOLDERS.contains(&t),
        K_CUSTOMER_NO => CUSTOMER_NO_PLACEHOLDERS.contains(&t),
        _ => false,
    }
}

pub(super) fn data(people: usize, seed: u64) -> SynthData {
    generate(&SynthConfig::new(people, seed))
}

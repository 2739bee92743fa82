//! A campaign's definition and the deterministic hold-out draw (specification §9).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::behaviour::{EventKind, Stage, Window};
use crate::ids::CustomerId;
use crate::input::record::Timestamp;

/// Buckets of the hold-out draw: a share of 5 % is buckets 0–499.
pub const BUCKETS: u32 = 10_000;

/// The longest conversion window a campaign may have.
pub const MAX_CONVERSION_DAYS: u32 = 90;

/// Which events count as a conversion.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Conversions {
    /// Every event of the purchase class (the default).
    #[default]
    Purchases,
    /// Events of these kinds.
    Kinds(Vec<EventKind>),
}

/// A campaign: a name, the channel it uses, the share held out as control, the salt of the
/// draw, what counts as a conversion and within how long after assignment.
///
/// ```
/// use idstitch::campaign::CampaignSpec;
///
/// let spring = CampaignSpec::new("spring-sale", "newsletter").with_holdout(0.10);
/// assert_eq!(spring.salt, "spring-sale");
/// assert_eq!(spring.window.len_days(), 7);
/// assert_eq!(spring.control_buckets(), 1_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct CampaignSpec {
    /// Its name, unique among the resolver's campaigns.
    pub name: String,
    /// The channel it contacts customers on.
    pub channel: String,
    /// The share held out as control, in basis points (1/10,000): 500 is 5 %.
    pub holdout_bp: u32,
    /// The salt of the draw (default: the name), so that campaigns draw independently.
    pub salt: String,
    /// What counts as a conversion.
    pub conversions: Conversions,
    /// Conversions count within this window after assignment (default 7 days, at most 90).
    pub window: Window,
}

impl CampaignSpec {
    /// A campaign with the defaults: 5 % hold-out, salted with its name, purchases within
    /// 7 days.
    pub fn new(name: impl Into<String>, channel: impl Into<String>) -> Self {
        let name = name.into();
        CampaignSpec {
            salt: name.clone(),
            name,
            channel: channel.into(),
            holdout_bp: 500,
            conversions: Conversions::Purchases,
            window: Window::days(7),
        }
    }

    /// Sets the hold-out share (0 to 1), rounded to whole basis points; a share outside
    /// [0, 1] (or NaN) is kept as given and refused by `Resolver::add_campaign`.
    pub fn with_holdout(mut self, share: f64) -> Self {
        self.holdout_bp = if (0.0..=1.0).contains(&share) {
            (share * f64::from(BUCKETS)).round() as u32
        } else {
            u32::MAX
        };
        self
    }

    /// Sets the salt.
    pub fn with_salt(mut self, salt: impl Into<String>) -> Self {
        self.salt = salt.into();
        self
    }

    /// Counts events of these kinds as conversions instead of purchases.
    pub fn with_conversions(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Self {
        self.conversions = Conversions::Kinds(kinds.into_iter().collect());
        self
    }

    /// Sets the conversion window.
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// The buckets (of [`BUCKETS`]) that draw control: `0..control_buckets()`.
    pub fn control_buckets(&self) -> u32 {
        self.holdout_bp.min(BUCKETS)
    }

    /// The first problem of the definition, for `Resolver::add_campaign`.
    pub(crate) fn check(&self) -> Result<(), String> {
        let long = |s: &str| s.len() > crate::behaviour::MAX_EVENT_TEXT;
        if self.name.trim().is_empty() || long(&self.name) {
            return Err("a campaign name must be non-empty and at most 1,024 bytes".into());
        }
        if self.channel.trim().is_empty() || long(&self.channel) || long(&self.salt) {
            return Err(format!(
                "campaign {:?}: empty channel, or text over 1,024 bytes",
                self.name
            ));
        }
        if self.holdout_bp > BUCKETS {
            return Err(format!("campaign {:?}: hold-out share outside 0 to 1", self.name));
        }
        let days = self.window.len_days();
        if days == 0 || days > MAX_CONVERSION_DAYS {
            return Err(format!("campaign {:?}: window of {days} days (1 to 90)", self.name));
        }
        Ok(())
    }
}

/// A customer's group in a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Group {
    /// Contacted (intention to treat: even if a cap or consent stopped the contact).
    Treatment,
    /// Held out: not contacted for the campaign.
    Control,
}

impl Group {
    /// `treatment` or `control`.
    pub const fn name(self) -> &'static str {
        match self {
            Group::Treatment => "treatment",
            Group::Control => "control",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A customer's assignment to a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Assignment {
    /// The customer.
    pub customer: CustomerId,
    /// Its group; `None` if its records carry both groups' assignments (contaminated by a
    /// merge).
    pub group: Option<Group>,
    /// When it was first assigned.
    pub at: Timestamp,
    /// Its stage then.
    pub stage: Stage,
    /// Whether this call made the assignment (`false`: it was assigned before).
    pub new: bool,
}

/// The bucket (0 to 9,999) of the record `(source name, external id)` under `salt`: the first
/// 8 bytes of SHA-256 of `salt ‖ 0x00 ‖ source name ‖ 0x00 ‖ external id`, as a big-endian
/// integer, modulo 10,000 — what a publisher computes in SQL or Python to check a group.
///
/// ```
/// use idstitch::campaign::bucket;
///
/// // python3 -c "import hashlib; print(int.from_bytes(hashlib.sha256(
/// //     b'spring\0crm\0C-1').digest()[:8], 'big') % 10000)"
/// assert_eq!(bucket("spring", "crm", "C-1"), 5_716);
/// ```
pub fn bucket(salt: &str, source: &str, external_id: &str) -> u32 {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(source.as_bytes());
    h.update([0]);
    h.update(external_id.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(BUCKETS)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_shares_round_to_basis_points_and_bad_ones_are_refused() {
        let spec = CampaignSpec::new("a", "email");
        assert_eq!(spec.clone().with_holdout(0.05).holdout_bp, 500);
        assert_eq!(spec.clone().with_holdout(0.123_456).holdout_bp, 1_235);
        assert_eq!(spec.clone().with_holdout(1.0).control_buckets(), BUCKETS);
        assert!(spec.clone().with_holdout(1.5).check().is_err());
        assert!(spec.clone().with_holdout(f64::NAN).check().is_err());
        assert!(spec.clone().with_window(Window::days(91)).check().is_err());
        assert!(spec.clone().with_window(Window::days(0)).check().is_err());
        assert!(CampaignSpec::new(" ", "email").check().is_err());
        assert!(CampaignSpec::new("a", "").check().is_err());
        assert_eq!(spec.check(), Ok(()));
    }

    #[test]
    fn buckets_spread_evenly() {
        let mut counts = [0u32; 10];
        for i in 0..100_000 {
            counts[(bucket("salt", "crm", &format!("C-{i}")) / 1_000) as usize] += 1;
        }
        // 10,000 expected per tenth; a binomial's sd is about 95.
        assert!(counts.iter().all(|&c| (9_600..=10_400).contains(&c)), "{counts:?}");
        assert_ne!(bucket("a", "crm", "C-1"), bucket("b", "crm", "C-1"), "the salt counts");
    }
}

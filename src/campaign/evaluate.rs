//! A campaign's evaluation (specification §9): per group the customers and converters, the
//! uplift with its 95 % interval and p-value, overall, by stage at assignment and by channel.

use std::collections::BTreeMap;
use std::fmt;

use crate::behaviour::Stage;
use crate::campaign::spec::Group;
use crate::campaign::stats::{Proportion, Uplift};
use crate::input::record::Timestamp;

/// The confidence of the reported intervals.
pub const CONFIDENCE: f64 = 0.95;

/// The key of treatment customers no contact of the campaign reached, in
/// [`Evaluation::by_channel`].
pub const NOT_CONTACTED: &str = "(not contacted)";

/// One group's customers and converters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct GroupFigures {
    /// Customers in the group.
    pub customers: u64,
    /// Those with at least one conversion within the window after their assignment.
    pub converters: u64,
}

impl GroupFigures {
    /// Converters ÷ customers; `None` for an empty group.
    pub fn rate(self) -> Option<f64> {
        self.proportion().rate()
    }

    /// Whether the group is under [`MIN_GROUP`](crate::campaign::MIN_GROUP) customers: too
    /// small to report a rate from.
    pub fn too_small(self) -> bool {
        self.proportion().is_too_small()
    }

    fn proportion(self) -> Proportion {
        // converters ≤ customers by construction (`Tally::add`).
        Proportion::new(self.converters.min(self.customers), self.customers)
            .unwrap_or(Proportion::new(0, 0).unwrap_or_else(|_| unreachable!("0 of 0")))
    }
}

/// Treatment against control: their figures and, when both hold at least 30 customers, the
/// uplift (treatment − control) with its 95 % Newcombe interval and two-sided p-value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Comparison {
    /// The treatment group.
    pub treatment: GroupFigures,
    /// The control group.
    pub control: GroupFigures,
    /// `None` when a group is too small (under 30 customers).
    pub uplift: Option<Uplift>,
}

impl Comparison {
    /// The comparison of two groups' figures.
    pub fn of(treatment: GroupFigures, control: GroupFigures) -> Self {
        let uplift = if treatment.too_small() || control.too_small() {
            None
        } else {
            Uplift::estimate(treatment.proportion(), control.proportion(), CONFIDENCE)
        };
        Comparison { treatment, control, uplift }
    }
}

impl fmt::Display for Comparison {
    /// `treatment 1204 / 9876 = 12.19 %, control 51 / 520 = 9.81 %: uplift +2.38 pp [−0.40,
    /// +4.62], p = 0.112`, or `… too small to compare`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, g) in [("treatment", self.treatment), ("control", self.control)] {
            let rate = g.rate().map_or("-".to_string(), |r| format!("{:.2} %", r * 100.0));
            write!(f, "{name} {} / {} = {rate}, ", g.converters, g.customers)?;
        }
        match &self.uplift {
            Some(u) => write!(
                f,
                "uplift {:+.2} pp [{:+.2}, {:+.2}], p = {:.3}",
                u.difference * 100.0,
                u.interval.lo * 100.0,
                u.interval.hi * 100.0,
                u.z_test.p_value
            ),
            None => f.write_str("too small to compare (under 30 customers in a group)"),
        }
    }
}

/// One assigned customer as the evaluation reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assigned<'a> {
    /// Its group; `None` if its records carry both groups' assignments (a merge), which
    /// leaves it out of the evaluation.
    pub group: Option<Group>,
    /// Its stage when it was (first) assigned.
    pub stage: Stage,
    /// Whether it converted within the window after its assignment.
    pub converted: bool,
    /// The channels of the campaign's contacts it received (treatment only).
    pub contacted_on: &'a [&'a str],
}

/// A campaign's evaluation as of an instant.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Evaluation {
    /// The campaign's name.
    pub campaign: String,
    /// As of when (conversions after it do not count).
    pub now: Timestamp,
    /// All assigned customers but the contaminated ones, by group (intention to treat: a
    /// treatment customer whose contact was capped or refused stays in treatment).
    pub overall: Comparison,
    /// Customers whose records carry both groups' assignments, left out.
    pub contaminated: u64,
    /// By stage at assignment.
    pub by_stage: BTreeMap<Stage, Comparison>,
    /// Treatment customers by the channel of the campaign's contacts they received
    /// ([`NOT_CONTACTED`] for none), each against the whole control group.
    pub by_channel: BTreeMap<String, Comparison>,
}

impl Evaluation {
    /// Evaluates `customers` of `campaign` as of `now`.
    pub fn of<'a>(
        campaign: &str,
        now: Timestamp,
        customers: impl IntoIterator<Item = Assigned<'a>>,
    ) -> Evaluation {
        let mut overall = Tally::default();
        let mut by_stage: BTreeMap<Stage, Tally> = BTreeMap::new();
        let mut by_channel: BTreeMap<String, GroupFigures> = BTreeMap::new();
        let mut contaminated = 0;
        for c in customers {
            let Some(group) = c.group else {
                contaminated += 1;
                continue;
            };
            overall.add(group, c.converted);
            by_stage.entry(c.stage).or_default().add(group, c.converted);
            if group == Group::Treatment {
                let none = [NOT_CONTACTED];
                let channels = if c.contacted_on.is_empty() { &none[..] } else { c.contacted_on };
                for channel in channels {
                    let g = by_channel.entry((*channel).to_string()).or_default();
                    g.customers += 1;
                    g.converters += u64::from(c.converted);
                }
            }
        }
        Evaluation {
            campaign: campaign.to_string(),
            now,
            overall: overall.comparison(),
            contaminated,
            by_stage: by_stage.into_iter().map(|(s, t)| (s, t.comparison())).collect(),
            by_channel: by_channel
                .into_iter()
                .map(|(ch, g)| (ch, Comparison::of(g, overall.control)))
                .collect(),
        }
    }
}

impl fmt::Display for Evaluation {
    /// A few lines: overall, contaminated, by stage, by channel.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "campaign {} as of {}", self.campaign, self.now)?;
        writeln!(f, "  overall: {}", self.overall)?;
        writeln!(f, "  contaminated (left out): {}", self.contaminated)?;
        writeln!(f, "  by stage at assignment:")?;
        for (stage, c) in &self.by_stage {
            writeln!(f, "    {stage:<15} {c}")?;
        }
        writeln!(f, "  by channel (treatment against all control):")?;
        for (channel, c) in &self.by_channel {
            writeln!(f, "    {channel:<15} {c}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Default)]
struct Tally {
    treatment: GroupFigures,
    control: GroupFigures,
}

impl Tally {
    fn add(&mut self, group: Group, converted: bool) {
        let g = match group {
            Group::Treatment => &mut self.treatment,
            Group::Control => &mut self.control,
        };
        g.customers += 1;
        g.converters += u64::from(converted);
    }

    fn comparison(self) -> Comparison {
        Comparison::of(self.treatment, self.control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(group: Option<Group>, stage: Stage, converted: bool) -> Assigned<'static> {
        Assigned { group, stage, converted, contacted_on: &[] }
    }

    #[test]
    fn groups_under_thirty_are_too_small_and_contaminated_ones_are_left_out() {
        let mut all = Vec::new();
        for i in 0..40 {
            all.push(customer(Some(Group::Treatment), Stage::Engaged, i % 4 == 0));
        }
        for i in 0..29 {
            all.push(customer(Some(Group::Control), Stage::Engaged, i % 10 == 0));
        }
        all.push(customer(None, Stage::Loyal, true));
        let e = Evaluation::of("spring", Timestamp(0), all.clone());
        assert_eq!(e.contaminated, 1);
        assert_eq!((e.overall.treatment.customers, e.overall.treatment.converters), (40, 10));
        assert_eq!((e.overall.control.customers, e.overall.control.converters), (29, 3));
        assert!(e.overall.uplift.is_none(), "29 control customers");
        assert!(e.to_string().contains("too small to compare"));
        all.push(customer(Some(Group::Control), Stage::Customer, false));
        let e = Evaluation::of("spring", Timestamp(0), all);
        let u = e.overall.uplift.expect("30 and 40");
        assert!((u.difference - (10.0 / 40.0 - 3.0 / 30.0)).abs() < 1e-12);
        assert!(u.interval.contains(u.difference));
        assert_eq!(e.by_stage[&Stage::Customer].control.customers, 1);
        assert_eq!(e.by_channel[NOT_CONTACTED].customers_pair(), (40, 30));
    }

    impl Comparison {
        fn customers_pair(&self) -> (u64, u64) {
            (self.treatment.customers, self.control.customers)
        }
    }

    #[test]
    fn treatment_customers_count_under_every_channel_that_reached_them() {
        let both = ["email", "phone"];
        let one = ["email"];
        let all = [
            Assigned {
                group: Some(Group::Treatment),
                stage: Stage::Loyal,
                converted: true,
                contacted_on: &both,
            },
            Assigned {
                group: Some(Group::Treatment),
                stage: Stage::Loyal,
                converted: false,
                contacted_on: &one,
            },
            customer(Some(Group::Control), Stage::Loyal, true),
        ];
        let e = Evaluation::of("x", Timestamp(0), all);
        assert_eq!(
            (e.by_channel["email"].treatment.customers, e.by_channel["email"].treatment.converters),
            (2, 1)
        );
        assert_eq!(e.by_channel["phone"].treatment.converters, 1);
        assert!(!e.by_channel.contains_key(NOT_CONTACTED));
        assert_eq!(e.by_channel["phone"].control.customers, 1);
    }
}

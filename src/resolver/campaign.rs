//! Campaigns through the façade: definitions, assignments (rows of the touch store, so they
//! follow records like consent and contacts do) and the evaluation (DESIGN §9).

use crate::behaviour::{EventClass, EventInput, Stage};
use crate::campaign::{bucket, Assigned, Assignment, CampaignSpec, Conversions, Evaluation, Group};
use crate::error::CampaignError;
use crate::ids::{CustomerId, RecordIdx, SourceId};
use crate::input::record::Timestamp;
use crate::resolver::touch::TouchKind;
use crate::resolver::Resolver;

/// What a customer's records hold of one campaign.
struct Held {
    treatment: bool,
    control: bool,
    /// The earliest assignment and the stage it recorded.
    first: Option<(Timestamp, Stage)>,
}

impl Resolver {
    /// Adds a campaign.
    ///
    /// # Errors
    /// [`CampaignError::Invalid`] for an unusable definition, [`CampaignError::Exists`] for a
    /// name in use; nothing changes then.
    pub fn add_campaign(&mut self, spec: CampaignSpec) -> Result<(), CampaignError> {
        self.check_campaign(&spec)?;
        self.campaigns.push(spec);
        Ok(())
    }

    pub(crate) fn check_campaign(&self, spec: &CampaignSpec) -> Result<(), CampaignError> {
        spec.check().map_err(CampaignError::Invalid)?;
        if let Conversions::Kinds(kinds) = &spec.conversions {
            if let Some(k) = kinds.iter().find(|&&k| self.event_kinds.class(k).is_none()) {
                let name = &spec.name;
                return Err(CampaignError::Invalid(format!(
                    "campaign {name:?}: unknown event kind {}",
                    k.get()
                )));
            }
        }
        if self.campaign(&spec.name).is_some() {
            return Err(CampaignError::Exists(spec.name.clone()));
        }
        Ok(())
    }

    /// The campaigns, in the order they were added.
    pub fn campaigns(&self) -> &[CampaignSpec] {
        &self.campaigns
    }

    /// The campaign named `name`.
    pub fn campaign(&self, name: &str) -> Option<&CampaignSpec> {
        self.campaigns.iter().find(|c| c.name == name)
    }

    fn campaign_or_err(&self, name: &str) -> Result<&CampaignSpec, CampaignError> {
        self.campaign(name).ok_or_else(|| CampaignError::Unknown(name.to_string()))
    }

    /// What `customer`'s records hold of campaign `name`.
    fn held(&self, name: &str, customer: CustomerId) -> Result<Held, CampaignError> {
        let mut held = Held { treatment: false, control: false, first: None };
        self.customer_touches(customer, |_, _, row| {
            let kind = TouchKind::of(row.kind);
            if !matches!(kind, Some(TouchKind::Treatment | TouchKind::Control))
                || row.topic != Some(name)
            {
                return;
            }
            held.treatment |= kind == Some(TouchKind::Treatment);
            held.control |= kind == Some(TouchKind::Control);
            let stage = Stage::ALL.get(row.value as usize).copied().unwrap_or(Stage::Identified);
            if held.first.is_none_or(|(at, s)| (row.at, stage) < (at, s)) {
                held.first = Some((row.at, stage));
            }
        })
        .map_err(|_| CampaignError::UnknownCustomer(customer))?;
        Ok(held)
    }

    /// `customer`'s assignment to campaign `name`, if it was assigned.
    ///
    /// # Errors
    /// [`CampaignError::Unknown`] or [`CampaignError::UnknownCustomer`].
    pub fn assignment(
        &self,
        name: &str,
        customer: CustomerId,
    ) -> Result<Option<Assignment>, CampaignError> {
        self.campaign_or_err(name)?;
        let held = self.held(name, customer)?;
        Ok(held.first.map(|(at, stage)| Assignment {
            customer,
            group: match (held.treatment, held.control) {
                (true, false) => Some(Group::Treatment),
                (false, true) => Some(Group::Control),
                _ => None,
            },
            at,
            stage,
            new: false,
        }))
    }

    /// Assigns `customer` to a group of campaign `name` at `now`, or returns the assignment
    /// it has. A new assignment draws the group from the bucket of the smallest `(source
    /// name, external id)` among the customer's records, records the customer's stage as of
    /// `now`, and marks every record it holds, so that the group survives splits and a merge
    /// with another group's records shows as contamination.
    ///
    /// ```
    /// use idstitch::campaign::{CampaignSpec, Group};
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 100)?;
    /// resolver.add_campaign(CampaignSpec::new("spring", "newsletter").with_holdout(0.5))?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// let ann = resolver.customer_of(crm, "C-1").unwrap();
    /// let first = resolver.assign("spring", ann, Timestamp(1_767_225_600))?;
    /// let bucket = idstitch::campaign::bucket("spring", "crm", "C-1");
    /// let group = if bucket < 5_000 { Group::Control } else { Group::Treatment };
    /// assert_eq!((first.group, first.new), (Some(group), true));
    /// let again = resolver.assign("spring", ann, Timestamp(1_767_312_000))?;
    /// assert_eq!((again.group, again.at, again.new), (Some(group), first.at, false));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`CampaignError::Unknown`], [`CampaignError::UnknownCustomer`], or
    /// [`CampaignError::CapacityExceeded`]; nothing changes then.
    pub fn assign(
        &mut self,
        name: &str,
        customer: CustomerId,
        now: Timestamp,
    ) -> Result<Assignment, CampaignError> {
        if let Some(held) = self.assignment(name, customer)? {
            return Ok(held);
        }
        let spec = self.campaign_or_err(name)?;
        let root =
            self.partition.record_of(customer).ok_or(CampaignError::UnknownCustomer(customer))?;
        let mut records: Vec<(RecordIdx, SourceId, &str, &str)> = Vec::new();
        for r in self.partition.members(root) {
            if let Some(slot) = self.graph.record(r) {
                let source = self.sources.name(slot.source).unwrap_or_default();
                records.push((r, slot.source, source, self.graph.external_id(slot)));
            }
        }
        let &(_, _, source, external_id) = records
            .iter()
            .min_by_key(|&&(_, _, s, id)| (s, id))
            .ok_or(CampaignError::UnknownCustomer(customer))?;
        let group = if bucket(&spec.salt, source, external_id) < spec.control_buckets() {
            Group::Control
        } else {
            Group::Treatment
        };
        let stage =
            self.stage(customer, now).map_err(|_| CampaignError::UnknownCustomer(customer))?.stage;
        let kind = match group {
            Group::Treatment => TouchKind::Treatment,
            Group::Control => TouchKind::Control,
        };
        let index = Stage::ALL.iter().position(|&s| s == stage).unwrap_or_default();
        let rows: Vec<(RecordIdx, EventInput)> = records
            .iter()
            .map(|&(r, source, _, external_id)| {
                let mut row = EventInput::new(source, external_id, kind.kind(), now);
                row.topic = Some(name.to_string());
                row.value = index as f64;
                // One assignment per record and campaign: assigning again replaces nothing.
                row.id = Some(format!("\0assign\0{name}\0{external_id}"));
                (r, row)
            })
            .collect();
        for (r, row) in &rows {
            if self.touches.push(Some(*r), row, EventClass::Engagement).is_err() {
                // Undo the rows pushed so far: all or nothing.
                for (_, done) in rows.iter().take_while(|(d, _)| d != r) {
                    self.touches.remove_id(done.source, done.id.as_deref().unwrap_or_default());
                }
                return Err(CampaignError::CapacityExceeded);
            }
        }
        Ok(Assignment { customer, group: Some(group), at: now, stage, new: true })
    }

    /// Campaign `name`'s evaluation as of `now`: every assigned customer by group (the
    /// contaminated ones counted and left out), converted if one of its events counts as a
    /// conversion and falls within the window after its assignment (`at < t ≤ at + window`,
    /// and `t ≤ now`), overall, by stage at assignment and by the channel of the campaign's
    /// contacts. Time in all customers' records and rows.
    ///
    /// # Errors
    /// [`CampaignError::Unknown`].
    pub fn evaluate(&self, name: &str, now: Timestamp) -> Result<Evaluation, CampaignError> {
        let spec = self.campaign_or_err(name)?;
        let mut assigned = Vec::new();
        let mut channels: Vec<&str> = Vec::new();
        let mut spans = Vec::new();
        for customer in self.partition.customer_ids() {
            let held = self.held(name, customer)?;
            let Some((at, stage)) = held.first else { continue };
            let group = match (held.treatment, held.control) {
                (true, false) => Some(Group::Treatment),
                (false, true) => Some(Group::Control),
                _ => None,
            };
            let end = Timestamp(at.0.saturating_add(spec.window.seconds()).min(now.0));
            let converted = self
                .customer_events(customer)
                .map_err(|_| CampaignError::UnknownCustomer(customer))?
                .iter()
                .filter(|e| at < e.at && e.at <= end)
                .any(|e| match &spec.conversions {
                    Conversions::Purchases => e.class == EventClass::Purchase,
                    Conversions::Kinds(kinds) => kinds.contains(&e.kind),
                });
            let start = channels.len();
            if group == Some(Group::Treatment) {
                for contact in self.customer_contacts(customer).unwrap_or_default() {
                    if contact.campaign == Some(name)
                        && !channels[start..].contains(&contact.channel)
                    {
                        channels.push(contact.channel);
                    }
                }
            }
            spans.push(start..channels.len());
            assigned.push((group, stage, converted));
        }
        let customers = assigned.iter().zip(&spans).map(|(&(group, stage, converted), span)| {
            Assigned { group, stage, converted, contacted_on: &channels[span.clone()] }
        });
        Ok(Evaluation::of(name, now, customers))
    }
}

//! Looking at the result through the façade: explanations, refusal counts, merged views,
//! pictures, and publishing changes to a sink. The work happens in the inspect layer.

use std::fmt;

use crate::adapter::ChangeSink;
use crate::error::LookupError;
use crate::ids::{CustomerId, KindId, SourceId};
use crate::inspect::dot::DotOptions;
use crate::inspect::explain::{DisplayRefusals, Explanation, RefusalStats};
use crate::inspect::view::{CustomerView, ViewConfig, ViewUpdate};
use crate::partition::events::ChangeEvent;
use crate::resolver::Resolver;

impl Resolver {
    /// Explains how two records are linked, or why they are apart.
    ///
    /// Costs time in the size of the records' raw components.
    ///
    /// ```
    /// use idstitch::{Explanation, KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::builder().default_country("NL").build()?;
    /// let crm = resolver.add_source("crm", 100)?;
    /// // Two customers with their own customer numbers share a family e-mail.
    /// resolver.upsert(RecordInput::new(crm, "1").with_key(KindId::CUSTOMER_NO, "C1")
    ///     .with_key(KindId::EMAIL, "family@example.nl"))?;
    /// resolver.upsert(RecordInput::new(crm, "2").with_key(KindId::CUSTOMER_NO, "C2")
    ///     .with_key(KindId::EMAIL, "family@example.nl"))?;
    /// match resolver.explain(crm, "1", crm, "2")? {
    ///     Explanation::Blocked { blocked, .. } => assert_eq!(blocked.len(), 1),
    ///     other => panic!("expected a blocked link, got {other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`LookupError::UnknownRecord`] if either record is not stored.
    pub fn explain(
        &self,
        source_a: SourceId,
        id_a: &str,
        source_b: SourceId,
        id_b: &str,
    ) -> Result<Explanation, LookupError> {
        self.parts().explain(source_a, id_a, source_b, id_b)
    }

    /// Values (in pseudonymised mode, pseudonyms) that the last resolution refused to link
    /// because joining their customers would break a limit (ambiguous or limit refusals),
    /// sorted by kind, then value. Generic and deny-listed values are not listed; see
    /// [`Resolver::refusal_stats`]. Costs a pass over all keys.
    pub fn refused_values(&self) -> impl Iterator<Item = (KindId, &str)> + '_ {
        self.parts().refused_values()
    }

    /// Counts shared values that link nothing, by reason. Costs a pass over all keys.
    pub fn refusal_stats(&self) -> RefusalStats {
        self.parts().refusal_stats()
    }

    /// A human-readable rendering of an explanation, with source and kind names. In
    /// pseudonymised mode a key is named by its kind and `#` with the first 12 hex digits of
    /// its pseudonym (`email #3f2a9c1b04de`); the explanation itself holds the full value.
    pub fn describe(&self, explanation: &Explanation) -> String {
        self.parts().describe(explanation)
    }

    /// The merged view of a customer; `None` if the id is not live. Costs time in the size of
    /// the customer.
    pub fn customer_view(&self, customer: CustomerId, config: &ViewConfig) -> Option<CustomerView> {
        self.parts().customer_view(customer, config)
    }

    /// The view updates a host applies to its own store after a call that returned `events`:
    /// fresh views of every customer the events created or changed, deletions of every id that
    /// ceased to exist. Each id appears once; costs time in the size of those customers.
    pub fn view_updates(&self, events: &[ChangeEvent], config: &ViewConfig) -> Vec<ViewUpdate> {
        self.parts().view_updates(events, config)
    }

    /// The identity graph of one customer in Graphviz DOT, with the default [`DotOptions`];
    /// `None` if `customer` is not live.
    ///
    /// Render it with `dot -Tsvg customer.dot -o customer.svg`. See
    /// [`Resolver::customer_dot_with`] for what the picture shows.
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::builder().default_country("NL").build()?;
    /// let crm = resolver.add_source("crm", 100)?;
    /// // Two customers with their own customer numbers share a family e-mail.
    /// resolver.upsert(RecordInput::new(crm, "1").with_key(KindId::CUSTOMER_NO, "C1")
    ///     .with_key(KindId::EMAIL, "family@example.nl"))?;
    /// resolver.upsert(RecordInput::new(crm, "2").with_key(KindId::CUSTOMER_NO, "C2")
    ///     .with_key(KindId::EMAIL, "family@example.nl"))?;
    /// let customer = resolver.customer_of(crm, "1").ok_or("stored")?;
    ///
    /// let dot = resolver.customer_dot(customer).ok_or("live")?;
    /// assert!(dot.starts_with("graph "));
    /// assert!(dot.contains(r#"label="limit on customer_no: c1 vs c2""#));
    /// assert!(dot.contains(r#"label="crm/2""#), "the other side of the family e-mail");
    /// assert_eq!(resolver.customer_dot(idstitch::CustomerId::from_raw(99)), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn customer_dot(&self, customer: CustomerId) -> Option<String> {
        self.parts().customer_dot(customer)
    }

    /// The identity graph of one customer in Graphviz DOT; `None` if `customer` is not live.
    ///
    /// The picture (an undirected `graph`, laid out left to right):
    /// - the customer's records as boxes labelled `source/external_id`, filled with a colour
    ///   per source and grouped in one cluster per source inside a cluster for the customer;
    /// - the keys they carry as nodes labelled with the kind and the value (the parts of a
    ///   composite value joined by ` | `; in pseudonymised mode `#` and the first 12 hex
    ///   digits of the pseudonym), shaped and outlined by kind, filled light red when
    ///   the key does not link and grey when its kind links nothing;
    /// - one edge per "record carries key": solid when the key links; dashed, red and labelled
    ///   with the reason when it does not (`deny-listed placeholder`,
    ///   `generic: N records, cap C`, `limit on KIND: X vs Y` between two customers,
    ///   `ambiguous: N customers, KIND limit` for more); dotted and labelled `constraint` for a
    ///   constraint-only kind (or `links nothing` for a kind without limit, like `ip`);
    /// - for a key that does not link, the records of other customers that carry it
    ///   ([`DotOptions::neighbors`]): grey dashed boxes in a dashed cluster per customer, at
    ///   most [`DotOptions::max_neighbors`] per key and a `+N more` node for the rest.
    ///
    /// Node ids are `r0, r1, …` (the customer's records by source name and external id),
    /// `k0, …` (keys by kind name and value), `n0, …` (other customers' records, same order)
    /// and `m0, …` ("+N more"). Ids and values are untrusted, so every label is quoted and
    /// escaped: `"` and `\` are backslash-escaped (so Graphviz's `\N`, `\G`, … stay literal
    /// text), a line feed becomes a DOT line break and other control characters are written
    /// as `\u{..}`.
    ///
    /// The output depends only on the resolver's state, never on the order records arrived
    /// in (apart from the customer ids, which do). Costs time in the customer's records and
    /// keys plus, per key that other customers carry, at most [`DotOptions::scan_limit`]
    /// records.
    ///
    /// ```
    /// use idstitch::{DotOptions, KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::builder().default_country("NL").build()?;
    /// let crm = resolver.add_source("crm", 100)?;
    /// // An office switchboard: ten records carry it, more than the phone cap of 8.
    /// for i in 0..10 {
    ///     resolver.upsert(RecordInput::new(crm, format!("{i}")).with_key(KindId::PHONE, "020 123 4567"))?;
    /// }
    /// let customer = resolver.customer_of(crm, "0").ok_or("stored")?;
    /// let dot = resolver
    ///     .customer_dot_with(customer, &DotOptions::default().max_neighbors(2))
    ///     .ok_or("live")?;
    /// assert!(dot.contains(r#"label="generic: 10 records, cap 8""#));
    /// assert!(dot.contains(r#"label="+7 more""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn customer_dot_with(&self, customer: CustomerId, options: &DotOptions) -> Option<String> {
        self.parts().customer_dot_with(customer, options)
    }

    /// Hands a call's events to a sink, then the fresh views of every customer they created or
    /// changed and the deletions of every id that ceased to exist. Costs time in the size of
    /// the customers involved.
    ///
    /// # Errors
    /// The sink's first error; later hooks are not called.
    pub fn publish<S: ChangeSink>(
        &self,
        events: &[ChangeEvent],
        config: &ViewConfig,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        sink.apply(events)?;
        for update in self.view_updates(events, config) {
            match update {
                ViewUpdate::Upsert(view) => sink.view(&view)?,
                ViewUpdate::Delete(customer) => sink.view_deleted(customer)?,
            }
        }
        Ok(())
    }
}

impl RefusalStats {
    /// One line per reason, with kind names from `resolver`, for reports:
    ///
    /// ```text
    ///   deny-listed placeholders: 6
    ///   generic (over the kind's cap): 71
    ///   would break the customer_no limit: 74
    ///   ambiguous, full_name limit: 609
    /// ```
    pub fn display<'a>(&'a self, resolver: &'a Resolver) -> impl fmt::Display + 'a {
        DisplayRefusals { stats: self, parts: resolver.parts() }
    }
}

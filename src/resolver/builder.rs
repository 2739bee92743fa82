//! Configuring a resolver: the default phone country, the key kinds and their policies.

use std::sync::Arc;

use crate::behaviour::{EventClass, EventKinds, StageClassifier, StageRules};
use crate::error::ConfigError;
use crate::ids::KindId;
use crate::input::kind::{built_in_spec, KindPolicy, KindSpec, KindTable, BUILT_IN_KINDS};
use crate::input::normalize::{NormalizeContext, Normalizer};
use crate::input::pseudonym::Pseudonymizer;
use crate::input::source::SourceTable;
use crate::input::suppress::SuppressionList;
use crate::journey::{JourneyClock, StageSetup};
use crate::partition::Partition;
use crate::resolver::store::Prepared;
use crate::resolver::Resolver;
use crate::store::events::EventStore;
use crate::store::graph::IdentityGraph;
use crate::touchpoint::TouchpointRules;
use crate::tuning::Tuning;

/// Configures a [`Resolver`]: the default phone country and the key kinds with their policies.
///
/// The built-in kinds (`customer_no`, `email`, `phone`, `cookie`, `device`, `ip`) are present
/// with the defaults of [`built_in_spec`]; [`ResolverBuilder::kind`] adds host kinds and
/// composite kinds or replaces a built-in's spec.
///
/// Setters never fail: [`ResolverBuilder::build`] checks the configuration and returns the
/// first problem a setter met, so a chain of calls ends in one `?`.
///
/// ```
/// use idstitch::{ConfigError, KindPolicy, KindSpec, Normalizer, Resolver};
///
/// let resolver = Resolver::builder()
///     .default_country("NL")
///     .kind("legacy_no", KindSpec::new(Normalizer::Opaque, KindPolicy::new(90).limit(1)))
///     .kind(
///         "name_dob",
///         KindSpec::composite(["given_name", "surname", "date_of_birth"], KindPolicy::new(50).limit(1)),
///     )
///     .policy("ip", KindPolicy::new(5).limit(3).generic_cap(4))
///     .build()?;
/// assert!(resolver.kind_id("legacy_no").is_some());
///
/// let bad = Resolver::builder().default_country("XX").build();
/// assert!(matches!(bad, Err(ConfigError::UnknownCountry(_))));
/// # Ok::<(), idstitch::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ResolverBuilder {
    ctx: NormalizeContext,
    kinds: Vec<(String, KindSpec)>,
    hash_seed: Option<u64>,
    tuning: Tuning,
    /// The prepared key state of the pseudonymisation secret (never the secret itself).
    pseudonymizer: Option<Pseudonymizer>,
    /// The prepared key state of the raw-mode suppression secret (never the secret itself).
    suppression_secret: Option<Pseudonymizer>,
    /// The first problem a setter met, returned by `build`.
    error: Option<ConfigError>,
    /// Built-in event kinds and those the host declared.
    event_kinds: EventKinds,
    /// The stage rules, or the host's classifier in their place.
    stages: StageSetup,
    touchpoints: TouchpointRules,
}

impl Default for ResolverBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ResolverBuilder {
    /// A builder with the built-in kinds and no default phone country.
    pub fn new() -> Self {
        let kinds = (0..KindId::N_BUILT_IN)
            .filter_map(|i| {
                built_in_spec(KindId(i))
                    .map(|spec| (BUILT_IN_KINDS[usize::from(i)].to_string(), spec))
            })
            .collect();
        ResolverBuilder {
            ctx: NormalizeContext::default(),
            kinds,
            hash_seed: None,
            tuning: Tuning::PRODUCTION,
            event_kinds: EventKinds::new(),
            stages: StageSetup::Rules(StageRules::default()),
            touchpoints: TouchpointRules::default(),
            pseudonymizer: None,
            suppression_secret: None,
            error: None,
        }
    }

    /// Fixes the seed of the hash behind the resolver's lookup tables (values to keys,
    /// `(source, external id)` to records), so that runs repeat their memory layout and
    /// instruction counts: for profiling and benchmarks.
    ///
    /// By default every resolver draws a random seed, as `std`'s `HashMap` does, so that
    /// values chosen to collide cannot pile up in one place of a table and slow every lookup
    /// there (hash flooding). Keep the default where values come from outside. Results never
    /// depend on the seed: customers, ids, events and explanations are the same under any.
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let mut runs = Vec::new();
    /// for seed in [Some(7), None] {
    ///     let mut builder = Resolver::builder();
    ///     if let Some(seed) = seed {
    ///         builder.hash_seed(seed);
    ///     }
    ///     let mut resolver = builder.build()?;
    ///     let crm = resolver.add_source("crm", 10)?;
    ///     let changes = resolver.upsert(RecordInput::new(crm, "1").with_key(KindId::EMAIL, "a@x.nl"))?;
    ///     runs.push(changes.events);
    /// }
    /// assert_eq!(runs[0], runs[1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hash_seed(&mut self, seed: u64) -> &mut Self {
        self.hash_seed = Some(seed);
        self
    }

    /// Sets the country (ISO 3166-1 alpha-2, e.g. `"NL"`) for phone numbers written without
    /// a country code. An unknown code makes [`ResolverBuilder::build`] fail with
    /// [`ConfigError::UnknownCountry`].
    pub fn default_country(&mut self, iso_code: &str) -> &mut Self {
        match NormalizeContext::for_country(iso_code) {
            Some(ctx) => self.ctx = ctx,
            None => self.fail(ConfigError::UnknownCountry(iso_code.to_string())),
        }
        self
    }

    /// Adds a kind, or replaces the spec of the kind with this name. An empty name, a
    /// built-in kind made composite or a kind past the 65,535th makes
    /// [`ResolverBuilder::build`] fail.
    pub fn kind(&mut self, name: &str, spec: KindSpec) -> &mut Self {
        let name = name.trim();
        if name.is_empty() {
            self.fail(ConfigError::EmptyKindName);
            return self;
        }
        match self.kinds.iter().position(|(n, _)| n == name) {
            Some(i) if i < usize::from(KindId::N_BUILT_IN) && spec.composite.is_some() => {
                self.fail(ConfigError::BuiltInComposite { kind: name.to_string() });
            }
            Some(i) => self.kinds[i].1 = spec,
            None if self.kinds.len() >= usize::from(u16::MAX) => {
                self.fail(ConfigError::TooManyKinds);
            }
            None => self.kinds.push((name.to_string(), spec)),
        }
        self
    }

    /// Replaces the policy of an existing kind (built-in or added before), keeping its
    /// normaliser. Adds an opaque kind if no kind has this name.
    pub fn policy(&mut self, name: &str, policy: KindPolicy) -> &mut Self {
        let spec = match self.kinds.iter().find(|(n, _)| n == name.trim()) {
            Some((_, spec)) => KindSpec { policy, ..spec.clone() },
            None => KindSpec::new(Normalizer::Opaque, policy),
        };
        self.kind(name, spec)
    }

    /// Pseudonymised mode: the resolver stores every key value as the HMAC-SHA256 of its
    /// normalised value under `secret`, written as 64 lower-case hex digits — the value
    /// [`pseudonym`](crate::pseudonym) computes, and PostgreSQL's
    /// `encode(hmac(value, secret, 'sha256'), 'hex')` or Python's
    /// `hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()`.
    ///
    /// - **Stored:** only pseudonyms. A raw value is normalised (a composite's parts joined
    ///   first), checked against the deny-list and the placeholders, then replaced by its
    ///   pseudonym; it never enters the key arena, the key index or anything else kept, and
    ///   the scratch buffers that held it are zeroed. Attributes and external ids are stored
    ///   as given: a composite kind's parts are attributes, so they are kept like any other.
    /// - **Secret:** never stored. The resolver keeps the HMACs' prepared key states, which
    ///   it needs to hash new values, and no `Debug` output shows the secret or the states.
    /// - **Lookups** that take a key value ([`Resolver::records_with_key`]) take the raw
    ///   value, normalise and hash it as ingest does; a stored pseudonym finds its key too.
    /// - **Shown:** [`Resolver::record_keys`], [`Resolver::key_at`], [`Explanation`]s and
    ///   customer views carry the full pseudonym (hosts join on it). Texts for people —
    ///   [`Resolver::describe`] and the DOT pictures — name a key by its kind and `#` with the
    ///   first 12 hex digits: `email #3f2a9c1b04de`.
    /// - **Partition:** raw mode's: the same customers, ids and change events. Values of one
    ///   kind link in a canonical order, by the 64-bit FNV-1a hash of the normalised value,
    ///   which decides which of two values competing under a limit links. A pseudonym cannot
    ///   tell that hash (ordering by the pseudonym's own hash changed the partition in about
    ///   one random history in eleven), and an unkeyed hash of the raw value stored beside it
    ///   would let anyone confirm guessed values. So each key also keeps an *order tag*: the
    ///   raw value's hash masked with 64 bits of an HMAC of the pseudonym under a key derived
    ///   from the secret, read back when linking. Only if two values of one kind in one
    ///   contested component had the same 64-bit hash would the tie go by pseudonym instead
    ///   of by value.
    ///
    /// An empty secret makes [`ResolverBuilder::build`] fail with
    /// [`ConfigError::EmptySecret`].
    ///
    /// ```
    /// use idstitch::{pseudonym, KindId, RecordInput, Resolver};
    ///
    /// let secret = b"from the host's vault";
    /// let mut resolver = Resolver::builder().default_country("NL").pseudonymize(secret).build()?;
    /// let crm = resolver.add_source("crm", 10)?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "Jan@Example.nl"))?;
    /// resolver.upsert(RecordInput::new(crm, "C-2").with_key(KindId::EMAIL, " jan@example.NL"))?;
    /// assert_eq!(resolver.customer_of(crm, "C-1"), resolver.customer_of(crm, "C-2"));
    ///
    /// // Looked up by the raw value; stored as the pseudonym of the normalised one.
    /// assert_eq!(resolver.records_with_key(KindId::EMAIL, "Jan@Example.nl").len(), 2);
    /// let stored = pseudonym(secret, "jan@example.nl");
    /// assert_eq!(resolver.record_keys(crm, "C-1"), Some(vec![(KindId::EMAIL, stored.as_str())]));
    /// assert!(!format!("{resolver:?}").contains("jan@"));
    ///
    /// assert!(Resolver::builder().pseudonymize("").build().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`Resolver::records_with_key`]: crate::Resolver::records_with_key
    /// [`Resolver::record_keys`]: crate::Resolver::record_keys
    /// [`Resolver::key_at`]: crate::Resolver::key_at
    /// [`Resolver::describe`]: crate::Resolver::describe
    /// [`Explanation`]: crate::Explanation
    pub fn pseudonymize(&mut self, secret: impl AsRef<[u8]>) -> &mut Self {
        match Pseudonymizer::new(secret.as_ref()) {
            Some(p) => self.pseudonymizer = Some(p),
            None => self.fail(ConfigError::EmptySecret),
        }
        self
    }

    /// The secret under which a raw-mode resolver keys its suppression list: erased keys
    /// suppressed by [`Resolver::erase_and_suppress`] are kept as the HMAC-SHA256 of their
    /// normalised values under `secret`, never as values, and every later value is hashed
    /// the same way to be checked (only while the list is non-empty). The secret itself is
    /// not kept, only the HMAC's prepared key state, which no `Debug` output shows.
    ///
    /// Pseudonymised mode ([`ResolverBuilder::pseudonymize`]) needs no such secret: its
    /// list holds the keys' pseudonyms, and this one is then not used (nor stored in
    /// snapshots). A snapshot of a raw-mode resolver with a suppression secret holds a
    /// keyed hash of a fixed label that tells whether a builder holds the same secret:
    /// opening it needs this builder setting again.
    ///
    /// An empty secret makes [`ResolverBuilder::build`] fail with
    /// [`ConfigError::EmptySuppressionSecret`].
    ///
    /// ```
    /// use idstitch::{ConfigError, Resolver};
    ///
    /// let resolver = Resolver::builder().suppression_secret(b"from the host's vault").build()?;
    /// assert_eq!(resolver.n_suppressed(), 0);
    /// let empty = Resolver::builder().suppression_secret("").build();
    /// assert!(matches!(empty, Err(ConfigError::EmptySuppressionSecret)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`Resolver::erase_and_suppress`]: crate::Resolver::erase_and_suppress
    pub fn suppression_secret(&mut self, secret: impl AsRef<[u8]>) -> &mut Self {
        match Pseudonymizer::new(secret.as_ref()) {
            Some(p) => self.suppression_secret = Some(p),
            None => self.fail(ConfigError::EmptySuppressionSecret),
        }
        self
    }

    /// [`ResolverBuilder::suppression_secret`] by its prepared state.
    pub(crate) fn suppression_state(&mut self, secret: Pseudonymizer) -> &mut Self {
        self.suppression_secret = Some(secret);
        self
    }

    /// The suppression secret the resolver uses: the builder's in raw mode, none in
    /// pseudonymised mode (whose list is keyed by the pseudonymisation secret).
    pub(crate) fn effective_suppression_secret(&self) -> Option<&Pseudonymizer> {
        self.suppression_secret.as_ref().filter(|_| self.pseudonymizer.is_none())
    }

    /// The normalisation context as a whole (a snapshot's, when it is opened without a
    /// builder).
    pub(crate) fn context(&mut self, ctx: NormalizeContext) -> &mut Self {
        self.ctx = ctx;
        self
    }

    /// The kinds as configured, in order, and the normalisation context.
    pub(crate) fn config(
        &self,
    ) -> (&[(String, KindSpec)], &NormalizeContext, Option<&Pseudonymizer>) {
        (&self.kinds, &self.ctx, self.pseudonymizer.as_ref())
    }

    /// Keeps the first problem a setter met, for `build`.
    fn fail(&mut self, error: ConfigError) {
        self.error.get_or_insert(error);
    }

    /// Builds an empty resolver.
    ///
    /// # Errors
    /// The first problem a setter met (an unknown country, an empty kind name, a built-in kind
    /// made composite, too many kinds, an empty pseudonymisation or suppression secret), or a problem of the
    /// kinds together (a deny-listed value that does not normalise, a composite part naming
    /// no attribute…).
    pub fn build(&self) -> Result<Resolver, ConfigError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        self.touchpoints.check().map_err(ConfigError::Touchpoints)?;
        let mut kinds = KindTable::new(self.kinds.clone(), &self.ctx)?;
        kinds.pseudonymizer = self.pseudonymizer.clone();
        let kinds = Arc::new(kinds);
        let mut graph =
            IdentityGraph::with_kind_rules(kinds.kind_rules(), self.hash_seed, self.tuning);
        if kinds.is_pseudonymized() {
            graph.keep_order_tags();
        }
        Ok(Resolver {
            graph,
            kinds,
            ctx: self.ctx,
            sources: SourceTable::default(),
            partition: Partition::new(self.tuning),
            prepared: Prepared::default(),
            suppression: Arc::new(SuppressionList::new(
                self.effective_suppression_secret().cloned(),
            )),
            events: EventStore::default(),
            event_kinds: self.event_kinds.clone(),
            journey: JourneyClock::new(self.stages.clone()),
            touches: EventStore::default(),
            touchpoints: Arc::new(self.touchpoints.clone()),
            campaigns: Vec::new(),
        })
    }

    /// Declares a host event kind and its class; the built-in kinds (DESIGN §7) need no
    /// declaration. An event of an undeclared kind cannot be built: [`EventKinds::lookup`]
    /// on the resolver's [`Resolver::event_kinds`] gives the kind of a name.
    ///
    /// ```
    /// use idstitch::behaviour::EventClass;
    /// use idstitch::Resolver;
    ///
    /// let resolver = Resolver::builder().event_kind("webinar", EventClass::Engagement).build()?;
    /// assert!(resolver.event_kinds().lookup("webinar").is_some());
    /// # Ok::<(), idstitch::ConfigError>(())
    /// ```
    ///
    /// `build` fails with [`ConfigError::EventKind`] for a name that is taken or not
    /// `snake_case`.
    pub fn event_kind(&mut self, name: &str, class: EventClass) -> &mut Self {
        if let Err(e) = self.event_kinds.declare(name, class) {
            self.fail(ConfigError::EventKind(e));
        }
        self
    }

    /// Which channels need granted consent and the contact caps (the defaults are DESIGN §9's:
    /// every channel but `banner` needs consent; at most 2 contacts per channel and 4 over all
    /// channels in 7 days, 1 by phone in 30 days).
    ///
    /// `build` fails with [`ConfigError::Touchpoints`] for a cap of 0 or an empty channel name.
    ///
    /// ```
    /// use idstitch::behaviour::Window;
    /// use idstitch::touchpoint::{CapRule, CapScope, TouchpointRules};
    /// use idstitch::Resolver;
    ///
    /// let mut rules = TouchpointRules::default();
    /// rules.caps.push(CapRule::new(CapScope::Channel("invitation".into()), 1, Window::days(90)));
    /// let resolver = Resolver::builder().touchpoint_rules(rules).build()?;
    /// assert_eq!(resolver.touchpoint_rules().caps.len(), 4);
    /// # Ok::<(), idstitch::ConfigError>(())
    /// ```
    pub fn touchpoint_rules(&mut self, rules: TouchpointRules) -> &mut Self {
        self.touchpoints = rules;
        self
    }

    /// The thresholds and windows of the built-in stage rules (the defaults are DESIGN §8's
    /// table); replaces a classifier set by [`ResolverBuilder::stage_classifier`].
    pub fn stage_rules(&mut self, rules: StageRules) -> &mut Self {
        self.stages = StageSetup::Rules(rules);
        self
    }

    /// Classifies journey stages with the host's `classifier` instead of the built-in rules.
    /// A snapshot of such a resolver is opened with a builder given the same classifier
    /// ([`ResolverBuilder::load_snapshot`]).
    pub fn stage_classifier(&mut self, classifier: impl StageClassifier + 'static) -> &mut Self {
        self.stages = StageSetup::Custom(Arc::new(classifier));
        self
    }

    /// The event kinds, stage setup and touchpoint rules, for a snapshot's configuration.
    pub(crate) fn journey_config(&self) -> (&EventKinds, &StageSetup, &TouchpointRules) {
        (&self.event_kinds, &self.stages, &self.touchpoints)
    }

    /// Sets the thresholds where the resolver switches implementations (see [`Tuning`]);
    /// for tests only: results never depend on them.
    #[doc(hidden)]
    pub fn tuning(&mut self, tuning: Tuning) -> &mut Self {
        self.tuning = tuning;
        self
    }
}

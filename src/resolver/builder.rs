//! Configuring a resolver: the default phone country, the key kinds and their policies.

use std::sync::Arc;

use crate::error::ConfigError;
use crate::ids::KindId;
use crate::input::kind::{built_in_spec, KindPolicy, KindSpec, KindTable, BUILT_IN_KINDS};
use crate::input::normalize::{NormalizeContext, Normalizer};
use crate::input::source::SourceTable;
use crate::partition::Partition;
use crate::resolver::store::Prepared;
use crate::resolver::Resolver;
use crate::store::graph::IdentityGraph;
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
    /// The first problem a setter met, returned by `build`.
    error: Option<ConfigError>,
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

    /// Keeps the first problem a setter met, for `build`.
    /// The normalisation context as a whole (a snapshot's, when it is opened without a
    /// builder).
    pub(crate) fn context(&mut self, ctx: NormalizeContext) -> &mut Self {
        self.ctx = ctx;
        self
    }

    /// The kinds as configured, in order, and the normalisation context.
    pub(crate) fn config(&self) -> (&[(String, KindSpec)], &NormalizeContext) {
        (&self.kinds, &self.ctx)
    }

    fn fail(&mut self, error: ConfigError) {
        self.error.get_or_insert(error);
    }

    /// Builds an empty resolver.
    ///
    /// # Errors
    /// The first problem a setter met (an unknown country, an empty kind name, a built-in kind
    /// made composite, too many kinds), or a problem of the kinds together (a deny-listed
    /// value that does not normalise, a composite part naming no attribute…).
    pub fn build(&self) -> Result<Resolver, ConfigError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let kinds = Arc::new(KindTable::new(self.kinds.clone(), &self.ctx)?);
        Ok(Resolver {
            graph: IdentityGraph::with_kind_rules(kinds.kind_rules(), self.hash_seed, self.tuning),
            kinds,
            ctx: self.ctx,
            sources: SourceTable::default(),
            partition: Partition::new(self.tuning),
            prepared: Prepared::default(),
        })
    }

    /// Sets the thresholds where the resolver switches implementations (see [`Tuning`]);
    /// for tests only: results never depend on them.
    #[doc(hidden)]
    pub fn tuning(&mut self, tuning: Tuning) -> &mut Self {
        self.tuning = tuning;
        self
    }
}

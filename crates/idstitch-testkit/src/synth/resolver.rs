//! How the generated data goes into idstitch: the resolver policy it calls for
//! ([`resolver_builder`]) and the ids that turn its records into inputs ([`SynthIds`]).

use super::{SynthEvent, SynthRecord, KINDS, NEWSLETTER_ID, SOURCES};

/// A resolver builder with the policy the generated data calls for: default country NL, the
/// legacy CRM's `legacy_no` kind (one per customer, trusted just below the customer number),
/// the composite kind `name_dob` (given name + surname + date of birth, at most two per
/// customer to allow a typo) and the constraint `full_name` (given name + surname, one per
/// customer, links nothing): two differently named people never become one customer, which
/// is what keeps a family e-mail or a household landline from merging a family. The
/// constraint [`NEWSLETTER_ID`] (one newsletter subscription per customer) does the same for
/// the family members the newsletter knows only by the shared e-mail.
pub fn resolver_builder() -> idstitch::ResolverBuilder {
    use idstitch::{KindPolicy, KindSpec, Normalizer, ResolverBuilder};

    let mut builder = ResolverBuilder::new();
    builder
        .default_country("NL")
        .kind(
            "legacy_no",
            KindSpec::new(Normalizer::CustomerNo, KindPolicy::new(95).limit(1).generic_cap(20)),
        )
        .kind(
            "name_dob",
            KindSpec::composite(
                ["given_name", "surname", "date_of_birth"],
                KindPolicy::new(50).limit(2).generic_cap(3),
            ),
        )
        .kind(
            "full_name",
            KindSpec::composite(
                ["given_name", "surname"],
                KindPolicy::new(0).limit(1).constraint_only(),
            ),
        )
        .kind(
            NEWSLETTER_ID,
            KindSpec::new(Normalizer::Opaque, KindPolicy::new(0).limit(1).constraint_only()),
        );
    builder
}

/// The ids a resolver gave to the generator's sources and kinds, to turn [`SynthRecord`]s
/// into [`RecordInput`](idstitch::RecordInput)s.
///
/// ```
/// use idstitch_testkit::synth::{self, SynthConfig, SynthIds};
///
/// let mut resolver = synth::resolver_builder().build()?;
/// let ids = SynthIds::register(&mut resolver)?;
/// let data = synth::generate(&SynthConfig::new(100, 1));
/// let changes = resolver.ingest(data.records.iter().map(|r| ids.input(r)));
/// assert_eq!(changes.report.records_accepted as usize, data.records.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SynthIds {
    sources: Vec<idstitch::SourceId>,
    kinds: Vec<idstitch::KindId>,
    newsletter_id: idstitch::KindId,
}

impl SynthIds {
    /// Registers the generator's [`SOURCES`] (with their trust ranks) in `resolver`.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateSource`](idstitch::ConfigError::DuplicateSource) if one is
    /// registered already, [`ConfigError::UnknownKind`](idstitch::ConfigError::UnknownKind) if
    /// the resolver lacks a kind of [`KINDS`] or [`NEWSLETTER_ID`] (build it from
    /// [`resolver_builder`]).
    pub fn register(resolver: &mut idstitch::Resolver) -> Result<Self, idstitch::ConfigError> {
        for &(name, trust) in SOURCES {
            resolver.add_source(name, trust)?;
        }
        Self::from_resolver(resolver)
    }

    /// The ids of a resolver where the sources are registered already.
    ///
    /// # Errors
    /// [`ConfigError::UnknownSource`](idstitch::ConfigError::UnknownSource) or
    /// [`ConfigError::UnknownKind`](idstitch::ConfigError::UnknownKind) for a missing one.
    pub fn from_resolver(resolver: &idstitch::Resolver) -> Result<Self, idstitch::ConfigError> {
        let sources = SOURCES
            .iter()
            .map(|&(name, _)| {
                resolver
                    .source_id(name)
                    .ok_or_else(|| idstitch::ConfigError::UnknownSource(name.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let kinds = KINDS
            .iter()
            .map(|&name| {
                resolver
                    .kind_id(name)
                    .ok_or_else(|| idstitch::ConfigError::UnknownKind(name.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let newsletter_id = resolver
            .kind_id(NEWSLETTER_ID)
            .ok_or_else(|| idstitch::ConfigError::UnknownKind(NEWSLETTER_ID.to_string()))?;
        Ok(SynthIds { sources, kinds, newsletter_id })
    }

    /// The id of a generator source by name.
    pub fn source(&self, name: &str) -> Option<idstitch::SourceId> {
        SOURCES.iter().position(|&(n, _)| n == name).map(|i| self.sources[i])
    }

    /// The resolver input for a generated record: its keys, attributes and id, and for a
    /// `newsletter` record one more key of kind [`NEWSLETTER_ID`] valued with its id.
    pub fn input(&self, record: &SynthRecord) -> idstitch::RecordInput {
        let source = self.source(record.source).unwrap_or(idstitch::SourceId::from_raw(u16::MAX));
        let mut keys = record
            .keys
            .iter()
            .map(|(kind, value)| {
                let kind = KINDS
                    .iter()
                    .position(|k| k == kind)
                    .map_or(idstitch::KindId::from_raw(u16::MAX), |i| self.kinds[i]);
                (kind, value.clone())
            })
            .collect::<Vec<_>>();
        if record.source == "newsletter" {
            keys.push((self.newsletter_id, record.external_id.clone()));
        }
        idstitch::RecordInput {
            source,
            external_id: record.external_id.clone(),
            keys,
            attributes: record.attributes.clone(),
        }
    }

    /// The resolver input for a generated event (its kind one of the built-in kinds, its id
    /// the generated number written in decimal).
    pub fn event(&self, event: &SynthEvent) -> idstitch::behaviour::EventInput {
        let source = self.source(event.source).unwrap_or(idstitch::SourceId::from_raw(u16::MAX));
        // Built-in kinds are numbered in the order of the table.
        let kind = (idstitch::behaviour::BUILT_IN_EVENT_KINDS.iter())
            .position(|&(name, _)| name == event.kind)
            .map_or(u16::MAX, |i| i as u16);
        let kind = idstitch::behaviour::EventKind::from_raw(kind);
        let mut input = idstitch::behaviour::EventInput::new(
            source,
            event.external_id.clone(),
            kind,
            idstitch::Timestamp(event.at),
        )
        .with_value(event.value.unwrap_or(0.0))
        .with_id(event.id.to_string());
        input.topic = event.topic.map(str::to_string);
        input.channel = event.channel.map(str::to_string);
        input
    }
}

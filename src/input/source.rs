//! The source systems a resolver knows: their names and trust ranks, by [`SourceId`].

use crate::error::ConfigError;
use crate::ids::SourceId;

#[derive(Clone, Debug)]
struct SourceEntry {
    name: Box<str>,
    trust: u32,
}

/// Registered sources in registration order; a source's id is its position.
#[derive(Clone, Debug, Default)]
pub(crate) struct SourceTable {
    entries: Vec<SourceEntry>,
}

impl SourceTable {
    /// Registers a source; names are trimmed and unique.
    pub fn add(&mut self, name: &str, trust: u32) -> Result<SourceId, ConfigError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ConfigError::EmptySourceName);
        }
        if self.id_of(name).is_some() {
            return Err(ConfigError::DuplicateSource(name.to_string()));
        }
        let id = u16::try_from(self.entries.len()).map_err(|_| ConfigError::TooManySources)?;
        self.entries.push(SourceEntry { name: name.into(), trust });
        Ok(SourceId(id))
    }

    /// The id of the source with this name.
    pub fn id_of(&self, name: &str) -> Option<SourceId> {
        self.entries.iter().position(|s| &*s.name == name).map(|i| SourceId(i as u16))
    }

    /// The name of a source.
    pub fn name(&self, source: SourceId) -> Option<&str> {
        self.entries.get(source.index()).map(|s| &*s.name)
    }

    /// The trust rank of a source.
    pub fn trust(&self, source: SourceId) -> Option<u32> {
        self.entries.get(source.index()).map(|s| s.trust)
    }

    /// Number of sources.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// All sources in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &str)> {
        self.entries.iter().enumerate().map(|(i, s)| (SourceId(i as u16), &*s.name))
    }
}

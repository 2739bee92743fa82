//! Event kinds and their classes: the built-in kinds of the specification and the host's own.

use ahash::AHashMap;

/// What an event says about a customer; the stage rules count events by class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EventClass {
    /// Attention without money: opens, clicks, reads, views, searches, visits, e-mails.
    Engagement,
    /// Money: orders and subscriptions (the value is an amount).
    Purchase,
    /// A request for help (tickets).
    Service,
    /// A step away: unsubscribing, complaining.
    Negative,
}

impl EventClass {
    /// Every class, in declaration order (the order of per-class figures in a summary).
    pub const ALL: [EventClass; 4] =
        [EventClass::Engagement, EventClass::Purchase, EventClass::Service, EventClass::Negative];

    /// The lower-case name (`engagement`, `purchase`, `service`, `negative`).
    pub const fn name(self) -> &'static str {
        match self {
            EventClass::Engagement => "engagement",
            EventClass::Purchase => "purchase",
            EventClass::Service => "service",
            EventClass::Negative => "negative",
        }
    }

    /// Position in [`EventClass::ALL`], for per-class tables.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for EventClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An event kind, in registration order: the built-in kinds have fixed ids (the associated
/// constants), host kinds follow from [`EventKinds::declare`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct EventKind(pub(crate) u16);

impl EventKind {
    /// `newsletter_open` (engagement).
    pub const NEWSLETTER_OPEN: EventKind = EventKind(0);
    /// `newsletter_click` (engagement).
    pub const NEWSLETTER_CLICK: EventKind = EventKind(1);
    /// `article_read` (engagement); the value is the seconds spent reading.
    pub const ARTICLE_READ: EventKind = EventKind(2);
    /// `page_view` (engagement).
    pub const PAGE_VIEW: EventKind = EventKind(3);
    /// `search` (engagement); the topic is the query.
    pub const SEARCH: EventKind = EventKind(4);
    /// `event_visit` (engagement).
    pub const EVENT_VISIT: EventKind = EventKind(5);
    /// `email_exchange` (engagement).
    pub const EMAIL_EXCHANGE: EventKind = EventKind(6);
    /// `order` (purchase); the value is the amount.
    pub const ORDER: EventKind = EventKind(7);
    /// `subscription` (purchase); the value is the amount.
    pub const SUBSCRIPTION: EventKind = EventKind(8);
    /// `ticket` (service).
    pub const TICKET: EventKind = EventKind(9);
    /// `unsubscribe` (negative).
    pub const UNSUBSCRIBE: EventKind = EventKind(10);
    /// `complaint` (negative).
    pub const COMPLAINT: EventKind = EventKind(11);

    /// The kind with this raw id, as a host stored it from [`Self::get`].
    pub const fn from_raw(raw: u16) -> Self {
        EventKind(raw)
    }

    /// The raw id.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The built-in kinds with their classes, in id order.
pub const BUILT_IN_EVENT_KINDS: [(&str, EventClass); 12] = [
    ("newsletter_open", EventClass::Engagement),
    ("newsletter_click", EventClass::Engagement),
    ("article_read", EventClass::Engagement),
    ("page_view", EventClass::Engagement),
    ("search", EventClass::Engagement),
    ("event_visit", EventClass::Engagement),
    ("email_exchange", EventClass::Engagement),
    ("order", EventClass::Purchase),
    ("subscription", EventClass::Purchase),
    ("ticket", EventClass::Service),
    ("unsubscribe", EventClass::Negative),
    ("complaint", EventClass::Negative),
];

/// At most this many kinds, built-in ones included: the event store packs a kind into 12 bits.
pub const MAX_EVENT_KINDS: usize = 4096;

/// Longest kind name, in bytes.
pub const MAX_EVENT_KIND_NAME: usize = 64;

/// Why a host kind could not be declared. Returned by [`EventKinds::declare`], which then
/// changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventKindError {
    /// The name is taken, by a built-in kind or one declared before (with any class).
    #[error("event kind {0:?} is already declared")]
    Duplicate(String),
    /// The name is empty, longer than 64 bytes, or not `snake_case` ASCII (a lower-case
    /// letter, then lower-case letters, digits and `_`): names appear in reasons, reports and
    /// mapping files, where they must read the same everywhere.
    #[error(
        "event kind name {0:?} is not snake_case ASCII of 1 to 64 bytes starting with a letter"
    )]
    BadName(String),
    /// 4,096 kinds are declared already.
    #[error("more than 4096 event kinds")]
    TooMany,
}

/// The event kinds a resolver knows: the built-in ones and those the host declared, each with
/// its class.
///
/// ```
/// use idstitch::behaviour::{EventClass, EventKind, EventKinds};
///
/// let mut kinds = EventKinds::new();
/// let webinar = kinds.declare("webinar", EventClass::Engagement)?;
/// assert_eq!(kinds.lookup("webinar"), Some(webinar));
/// assert_eq!(kinds.class(webinar), Some(EventClass::Engagement));
/// assert_eq!(kinds.lookup("order"), Some(EventKind::ORDER));
/// assert_eq!(kinds.name(EventKind::TICKET), Some("ticket"));
/// assert!(kinds.declare("order", EventClass::Service).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventKinds {
    /// Name and class by kind id.
    kinds: Vec<(Box<str>, EventClass)>,
    /// Kind id by name; only looked up, never iterated.
    by_name: AHashMap<Box<str>, u16>,
}

impl Default for EventKinds {
    fn default() -> Self {
        Self::new()
    }
}

impl EventKinds {
    /// The built-in kinds only.
    pub fn new() -> Self {
        let mut kinds = EventKinds { kinds: Vec::new(), by_name: AHashMap::new() };
        for (name, class) in BUILT_IN_EVENT_KINDS {
            kinds.push(name, class);
        }
        kinds
    }

    fn push(&mut self, name: &str, class: EventClass) -> EventKind {
        let id = self.kinds.len() as u16;
        self.kinds.push((name.into(), class));
        self.by_name.insert(name.into(), id);
        EventKind(id)
    }

    /// Declares a host kind of `class`.
    ///
    /// # Errors
    /// [`EventKindError::BadName`] for a name that is not `snake_case` ASCII of 1 to 64
    /// bytes, [`EventKindError::Duplicate`] for a name already declared,
    /// [`EventKindError::TooMany`] past 4,096 kinds.
    pub fn declare(&mut self, name: &str, class: EventClass) -> Result<EventKind, EventKindError> {
        let bytes = name.as_bytes();
        let well_formed = bytes.len() <= MAX_EVENT_KIND_NAME
            && bytes.first().is_some_and(u8::is_ascii_lowercase)
            && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(EventKindError::BadName(name.to_string()));
        }
        if self.by_name.contains_key(name) {
            return Err(EventKindError::Duplicate(name.to_string()));
        }
        if self.kinds.len() >= MAX_EVENT_KINDS {
            return Err(EventKindError::TooMany);
        }
        Ok(self.push(name, class))
    }

    /// The kind called `name`.
    pub fn lookup(&self, name: &str) -> Option<EventKind> {
        self.by_name.get(name).map(|&id| EventKind(id))
    }

    /// The class of `kind`; `None` for a kind never declared.
    pub fn class(&self, kind: EventKind) -> Option<EventClass> {
        self.kinds.get(usize::from(kind.0)).map(|&(_, class)| class)
    }

    /// The name of `kind`; `None` for a kind never declared.
    pub fn name(&self, kind: EventKind) -> Option<&str> {
        self.kinds.get(usize::from(kind.0)).map(|(name, _)| &**name)
    }

    /// Number of kinds, built-in ones included.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Always `false`: the built-in kinds are always there.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// Every kind with its name and class, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (EventKind, &str, EventClass)> + '_ {
        self.kinds
            .iter()
            .enumerate()
            .map(|(i, (name, class))| (EventKind(i as u16), &**name, *class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_kinds_have_the_specified_classes_and_ids() {
        let kinds = EventKinds::new();
        assert_eq!(kinds.len(), 12);
        for (kind, name, class) in kinds.iter() {
            assert_eq!(kinds.lookup(name), Some(kind));
            assert_eq!(kinds.class(kind), Some(class));
        }
        assert_eq!(kinds.lookup("article_read"), Some(EventKind::ARTICLE_READ));
        assert_eq!(kinds.lookup("complaint"), Some(EventKind::COMPLAINT));
        assert_eq!(kinds.class(EventKind::SUBSCRIPTION), Some(EventClass::Purchase));
        assert_eq!(kinds.class(EventKind::TICKET), Some(EventClass::Service));
        assert_eq!(kinds.class(EventKind::UNSUBSCRIBE), Some(EventClass::Negative));
        assert_eq!(kinds.class(EventKind(12)), None);
    }

    #[test]
    fn host_kinds_are_checked() {
        let mut kinds = EventKinds::new();
        let webinar = kinds.declare("webinar_2", EventClass::Engagement).unwrap();
        assert_eq!(webinar, EventKind(12));
        assert_eq!(
            kinds.declare("webinar_2", EventClass::Purchase),
            Err(EventKindError::Duplicate("webinar_2".into()))
        );
        assert!(matches!(
            kinds.declare("search", EventClass::Service),
            Err(EventKindError::Duplicate(_))
        ));
        for bad in ["", "Webinar", "2fa", "web inar", "é", &"x".repeat(65)] {
            assert!(
                matches!(kinds.declare(bad, EventClass::Service), Err(EventKindError::BadName(_))),
                "{bad}"
            );
        }
        assert_eq!(kinds.len(), 13, "failed declarations change nothing");
        while kinds.len() < MAX_EVENT_KINDS {
            kinds.declare(&format!("k{}", kinds.len()), EventClass::Service).unwrap();
        }
        assert_eq!(kinds.declare("one_more", EventClass::Service), Err(EventKindError::TooMany));
    }
}

//! The pressure report through the façade (DESIGN §9): one pass over the customers, each
//! read once, and the figures accumulated by `touchpoint::pressure`.

use crate::behaviour::Window;
use crate::input::record::Timestamp;
use crate::resolver::Resolver;
use crate::touchpoint::pressure::PressureTally;
use crate::touchpoint::PressureReport;

impl Resolver {
    /// Contact pressure per channel and journey stage as of `now`, counting contacts in
    /// `window` (`now − D days < at ≤ now`): per row the customers in the stage, their
    /// counted contacts on the channel, the customers by contacts received (0, 1, 2–3, ≥ 4),
    /// how many consent allows (reachable), how many a cap holds back (saturated, as
    /// [`Resolver::may_contact`] answers), and how many reachable `engaged`, `customer` and
    /// `loyal` customers had no counted contact on the channel in 30 days (under-reached).
    /// The precise definitions are on [`PressureReport`].
    ///
    /// Stages are classified as of `now` (as [`Resolver::stage`], not the journey clock's
    /// tracked stages). Time: one read of every customer's records, events, statements and
    /// contacts, with a sort of its statements and contacts; a customer costs nothing extra
    /// for the channels it has neither on.
    ///
    /// ```
    /// use idstitch::behaviour::{EventInput, EventKind, Stage, Window};
    /// use idstitch::touchpoint::{ConsentInput, ContactInput};
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let day = |d: i64| Timestamp(1_767_225_600 + d * 86_400);
    /// let mut resolver = Resolver::new();
    /// let shop = resolver.add_source("shop", 100)?;
    /// for (id, email) in [("S-1", "ann@example.nl"), ("S-2", "bob@example.nl")] {
    ///     resolver.upsert(RecordInput::new(shop, id).with_key(KindId::EMAIL, email))?;
    /// }
    /// // Ann bought, subscribed, and had two newsletters this week: the cap holds her.
    /// resolver.record_event(&EventInput::new(shop, "S-1", EventKind::ORDER, day(1)).with_value(20.0))?;
    /// resolver.record_consent(&ConsentInput::granted(shop, "S-1", "newsletter", day(0)))?;
    /// for d in [5, 6] {
    ///     resolver.record_contact(&ContactInput::new(shop, "S-1", "newsletter", day(d)))?;
    /// }
    /// let report = resolver.pressure_report(day(7), Window::days(7));
    /// let ann = report.row("newsletter", Stage::Customer).unwrap();
    /// assert_eq!((ann.customers, ann.contacts, ann.received), (1, 2, [0, 0, 1, 0]));
    /// assert_eq!((ann.reachable, ann.saturated, ann.under_reached), (1, 1, 0));
    /// assert_eq!(ann.saturated_share(), Some(1.0));
    /// // Bob, merely identified, never said yes to the newsletter.
    /// let bob = report.row("newsletter", Stage::Identified).unwrap();
    /// assert_eq!((bob.customers, bob.reachable, bob.saturated_share()), (1, 0, None));
    /// // A banner needs no consent, and Ann saw none in 30 days: under-reached there.
    /// assert_eq!(report.row("banner", Stage::Customer).unwrap().under_reached_share(), Some(1.0));
    /// assert_eq!(report.channels(), ["banner", "email", "invitation", "newsletter", "phone"]);
    /// println!("{report}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pressure_report(&self, now: Timestamp, window: Window) -> PressureReport {
        let mut tally = PressureTally::new(&self.touchpoints, now, window);
        let (mut events, mut statements, mut contacts) = (Vec::new(), Vec::new(), Vec::new());
        for customer in self.partition.customer_ids() {
            let Some(classification) = self.classify_with(customer, now, &mut events) else {
                continue;
            };
            if self.read_touches(customer, &mut statements, &mut contacts).is_err() {
                continue;
            }
            tally.add_customer(classification.stage, &mut statements, &mut contacts);
        }
        tally.finish()
    }
}

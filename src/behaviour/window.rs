//! The one definition of "in the last D days as of `now`" that every figure and rule uses.

use crate::input::record::Timestamp;

/// Seconds in a day: a window of D days is exactly D × 86,400 s (UTC has no DST, and leap
/// seconds are not counted by Unix time).
pub const DAY: i64 = 86_400;

/// "In the last `days` days as of `now`": the half-open interval `now − days × 86,400 s < at ≤
/// now`. An event exactly `days` days old is outside; one second younger is inside; an event
/// after `now` is never inside.
///
/// ```
/// use idstitch::behaviour::Window;
/// use idstitch::Timestamp;
///
/// let now = Timestamp(100 * 86_400);
/// let month = Window::days(30);
/// assert!(!month.contains(Timestamp(70 * 86_400), now), "exactly 30 days old");
/// assert!(month.contains(Timestamp(70 * 86_400 + 1), now));
/// assert!(month.contains(now, now));
/// assert!(!month.contains(Timestamp(now.0 + 1), now), "after now");
/// assert_eq!(month.leaves_at(Timestamp(70 * 86_400 + 1)), Some(Timestamp(100 * 86_400 + 1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct Window(u32);

impl Window {
    /// The last `days` days. `Window::days(0)` holds nothing.
    pub const fn days(days: u32) -> Self {
        Window(days)
    }

    /// The length in days.
    pub const fn len_days(self) -> u32 {
        self.0
    }

    /// The length in seconds.
    pub const fn seconds(self) -> i64 {
        self.0 as i64 * DAY
    }

    /// Whether an event at `at` is in the window as of `now`. Computed in 128 bits, so that
    /// no timestamp near the ends of `i64` wraps around.
    #[inline]
    pub const fn contains(self, at: Timestamp, now: Timestamp) -> bool {
        at.0 <= now.0 && (now.0 as i128 - self.seconds() as i128) < at.0 as i128
    }

    /// [`Window::contains`] for an event at or before `now`, given its age `now − at` (as
    /// `now.0.abs_diff(at.0)`, exact for any two timestamps): one subtraction per event shared
    /// by every window a summary counts.
    #[inline]
    pub(crate) const fn holds_age(self, age: u64) -> bool {
        age < self.seconds() as u64
    }

    /// The first instant at which an event at `at` is no longer in the window (`at` +
    /// length); `None` if that instant is past the end of time.
    #[inline]
    pub const fn leaves_at(self, at: Timestamp) -> Option<Timestamp> {
        match at.0.checked_add(self.seconds()) {
            Some(t) => Some(Timestamp(t)),
            None => None,
        }
    }
}

impl std::fmt::Display for Window {
    /// `the last 30 days` (or `the last day`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 1 {
            f.write_str("the last day")
        } else {
            write!(f, "the last {} days", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_is_half_open_at_its_boundaries() {
        let now = Timestamp(1_700_000_000);
        for days in [7, 30, 90, 180, 365] {
            let w = Window::days(days);
            let edge = now.0 - i64::from(days) * DAY;
            assert!(!w.contains(Timestamp(edge), now), "{days}: exactly D days old is out");
            assert!(w.contains(Timestamp(edge + 1), now), "{days}: one second younger is in");
            assert!(w.contains(now, now));
            assert!(!w.contains(Timestamp(now.0 + 1), now), "{days}: future is out");
            assert_eq!(w.leaves_at(Timestamp(edge + 1)), Some(Timestamp(now.0 + 1)));
        }
        assert!(!Window::days(0).contains(now, now));
    }

    #[test]
    fn an_age_is_in_the_window_as_its_event() {
        for now in [0, 1_700_000_000, i64::MAX, i64::MIN + 5] {
            for days in [0, 1, 7, 30, 365, u32::MAX] {
                let w = Window::days(days);
                for back in [0, 1, w.seconds() - 1, w.seconds(), w.seconds() + 1, i64::MAX] {
                    let at = now.saturating_sub(back.max(0));
                    let (at, now) = (Timestamp(at), Timestamp(now));
                    assert_eq!(
                        w.holds_age(now.0.abs_diff(at.0)),
                        w.contains(at, now),
                        "{now:?} {at:?} {days}"
                    );
                }
            }
        }
    }

    #[test]
    fn extremes_do_not_wrap() {
        let w = Window::days(u32::MAX);
        assert!(w.contains(Timestamp(i64::MIN), Timestamp(i64::MIN)));
        assert!(w.contains(Timestamp(i64::MIN), Timestamp(i64::MIN + 5)));
        assert!(!Window::days(1).contains(Timestamp(i64::MIN), Timestamp(i64::MAX)));
        assert_eq!(w.leaves_at(Timestamp(i64::MAX)), None);
        assert_eq!(Window::days(1).to_string(), "the last day");
        assert_eq!(Window::days(365).to_string(), "the last 365 days");
    }
}

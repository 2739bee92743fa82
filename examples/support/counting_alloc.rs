//! Shared by the scale examples (`scale`, `file_scale`) and the allocation tests
//! (`tests/mapping_*_alloc.rs`): the system allocator, counting live heap bytes, their peak
//! and the allocations made, so that a phase's peak heap (transient buffers included) and its
//! allocations can be printed or checked. The only `unsafe` in the
//! examples, as implementing `GlobalAlloc` requires; the library itself forbids it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The counting allocator; an example installs it with `#[global_allocator]`.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATIONS.fetch_add(1, Relaxed);
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATIONS.fetch_add(1, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
            let live = LIVE.fetch_add(new_size, Relaxed) + new_size;
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }
}

/// What a phase has cost so far, from a [`Phase::start`].
pub struct Phase {
    live_before: usize,
    allocations_before: usize,
}

impl Phase {
    /// Starts measuring a phase: its peak counts from the heap live now.
    pub fn start() -> Phase {
        let live_before = LIVE.load(Relaxed);
        PEAK.store(live_before, Relaxed);
        Phase { live_before, allocations_before: ALLOCATIONS.load(Relaxed) }
    }

    /// The most heap live since the start, above what was live then.
    #[allow(dead_code)] // Each user takes what it needs: the tests count allocations only.
    pub fn peak(&self) -> usize {
        PEAK.load(Relaxed).saturating_sub(self.live_before)
    }

    /// Allocations (and reallocations) made since the start.
    #[allow(dead_code)] // `scale` prints peaks only.
    pub fn allocations(&self) -> usize {
        ALLOCATIONS.load(Relaxed).saturating_sub(self.allocations_before)
    }
}

//! One table of event columns: packed time, kind and channel; value; topic; next in list.
//! The store keeps two, for events without and with an id, so that only events with an id
//! pay for a fingerprint and an owner.

use super::value::Values;
use super::NONE;

/// Rows of one table, each column indexed by row; free rows are linked through `next`.
#[derive(Clone, Debug)]
pub(super) struct Columns {
    pub packed: Vec<u64>,
    pub values: Values,
    pub topic: Vec<u32>,
    pub next: Vec<u32>,
    /// First free row, the rest linked through `next`.
    free: u32,
    /// Rows are numbered below this.
    max_rows: usize,
}

impl Columns {
    /// A table of at most `max_rows` rows.
    pub fn new(max_rows: usize) -> Self {
        Columns {
            packed: Vec::new(),
            values: Values::default(),
            topic: Vec::new(),
            next: Vec::new(),
            free: NONE,
            max_rows,
        }
    }

    /// Whether [`Columns::allocate`] has a row to give.
    pub fn has_room(&self) -> bool {
        self.free != NONE || self.packed.len() < self.max_rows
    }

    /// A zeroed row, not in any list; check [`Columns::has_room`] first.
    pub fn allocate(&mut self) -> u32 {
        if self.free != NONE {
            let row = self.free;
            self.free = self.next[row as usize];
            self.next[row as usize] = NONE;
            return row;
        }
        self.packed.push(0);
        self.values.push();
        self.topic.push(0);
        self.next.push(NONE);
        self.packed.len() as u32 - 1
    }

    /// Sets a row's fields (not `next`). `false` if the value found no room (see
    /// [`Values::set`]); the caller checked [`Values::has_room`].
    pub fn write(&mut self, row: u32, packed: u64, value: f64, topic: u32) -> bool {
        let i = row as usize;
        self.packed[i] = packed;
        self.topic[i] = topic;
        self.values.set(i, value)
    }

    /// Zeroes `row` and makes it free.
    pub fn release(&mut self, row: u32) {
        let i = row as usize;
        self.packed[i] = 0;
        self.topic[i] = 0;
        self.values.clear(i);
        self.next[i] = self.free;
        self.free = row;
    }

    /// Makes room for `additional` more rows.
    pub fn reserve(&mut self, additional: usize) {
        self.packed.reserve(additional);
        self.values.reserve(additional);
        self.topic.reserve(additional);
        self.next.reserve(additional);
    }

    /// Gives back the room of columns more than a quarter empty.
    pub fn trim(&mut self) {
        let len = self.packed.len();
        if self.packed.capacity() > len + len / 4 {
            self.packed.shrink_to_fit();
            self.values.shrink_to_fit();
            self.topic.shrink_to_fit();
            self.next.shrink_to_fit();
        }
    }

    /// Zeroes every buffer before dropping it: they held removed events' times and values.
    pub fn wipe(self) {
        super::compact::wipe_column(self.packed);
        super::compact::wipe_column(self.topic);
        self.values.wipe();
    }

    /// Heap bytes held.
    pub fn memory(&self) -> usize {
        self.packed.capacity() * 8
            + self.values.memory()
            + self.topic.capacity() * 4
            + self.next.capacity() * 4
    }
}

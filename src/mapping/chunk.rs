//! Items handed on a chunk at a time, overwritten in place: [`Chunk`], which every reader of
//! events, consent and contacts fills.

/// The items a reader hands on, a chunk at a time: from the second chunk on they are
/// overwritten in place, so their strings keep their capacity. The CSV, JSON Lines and
/// database sections fill it through [`read_chunks`](super::cells::read_chunks); the mailbox
/// and GA4 readers directly.
pub(crate) struct Chunk<T> {
    items: Vec<T>,
    /// Items of `items` filled for the current chunk.
    filled: usize,
    size: usize,
    /// Items handed on in full chunks so far.
    handed: u64,
}

impl<T> Chunk<T> {
    /// A chunk of `size` items (at least one).
    pub(crate) fn new(size: usize) -> Self {
        let size = size.max(1);
        Chunk { items: Vec::with_capacity(size.min(1 << 16)), filled: 0, size, handed: 0 }
    }

    /// The item to fill next: one of an earlier chunk, or `make`'s while the first chunk
    /// grows. It counts once [`Chunk::commit`] says it is filled.
    pub(crate) fn slot(&mut self, make: impl FnOnce() -> T) -> &mut T {
        if self.filled == self.items.len() {
            self.items.push(make());
        }
        // `filled` is below `items.len()` now: the item pushed or an earlier chunk's.
        &mut self.items[self.filled]
    }

    /// Counts the item [`Chunk::slot`] gave as filled; when that fills the chunk, hands it
    /// to `f` and starts the next.
    ///
    /// # Errors
    /// The error of `f`.
    pub(crate) fn commit<E>(&mut self, f: &mut impl FnMut(&[T]) -> Result<(), E>) -> Result<(), E> {
        self.filled += 1;
        if self.filled >= self.size {
            self.hand(f)?;
        }
        Ok(())
    }

    /// Hands the items filled since the last full chunk to `f`, if there are any: the last,
    /// shorter chunk (`f` never gets an empty one).
    ///
    /// # Errors
    /// The error of `f`.
    pub(crate) fn finish<E>(&mut self, f: &mut impl FnMut(&[T]) -> Result<(), E>) -> Result<(), E> {
        if self.filled > 0 {
            self.hand(f)?;
        }
        Ok(())
    }

    /// Items handed to `f` so far.
    pub(crate) fn handed(&self) -> u64 {
        self.handed
    }

    /// Hands the items filled since the last call to `f`, and starts a new chunk.
    fn hand<E>(&mut self, f: &mut impl FnMut(&[T]) -> Result<(), E>) -> Result<(), E> {
        let filled = std::mem::take(&mut self.filled);
        self.handed += filled as u64;
        f(self.items.get(..filled).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::Chunk;

    /// Every item is handed once, in order, in chunks of the size but the last, which is
    /// shorter and never empty; the items are the slots reused.
    #[test]
    fn hands_every_item_once_in_chunks() {
        for (n, size) in [(0, 3), (1, 3), (3, 3), (7, 3), (7, 1), (5, 0), (4, 100)] {
            let mut chunk: Chunk<String> = Chunk::new(size);
            let mut got: Vec<Vec<String>> = Vec::new();
            let mut f = |items: &[String]| {
                got.push(items.to_vec());
                Ok::<_, ()>(())
            };
            for i in 0..n {
                let slot = chunk.slot(String::new);
                slot.clear();
                slot.push_str(&i.to_string());
                chunk.commit(&mut f).unwrap();
            }
            chunk.finish(&mut f).unwrap();
            let size = size.max(1);
            let want: Vec<Vec<String>> = (0..n)
                .collect::<Vec<usize>>()
                .chunks(size)
                .map(|c| c.iter().map(usize::to_string).collect())
                .collect();
            assert_eq!(got, want, "{n} items in chunks of {size}");
            assert_eq!(chunk.handed(), n as u64);
        }
    }

    #[test]
    fn an_error_of_f_stops_and_is_returned() {
        let mut chunk: Chunk<u32> = Chunk::new(2);
        let mut f = |_: &[u32]| Err("full");
        *chunk.slot(|| 0) = 1;
        assert_eq!(chunk.commit(&mut f), Ok(()));
        *chunk.slot(|| 0) = 2;
        assert_eq!(chunk.commit(&mut f), Err("full"));
    }
}

//! Where the randomness comes from: a stateless hash for per-person facts, SplitMix64 for
//! per-record draws, and keyed permutations of `0..n` for orders and unique numbers.

pub(super) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: a bijection on `u64` with good avalanche.
#[inline]
pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` from the top 53 bits.
#[inline]
pub(super) fn unit(u: u64) -> f64 {
    (u >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[inline]
pub(super) fn chance(u: u64, rate: f64) -> bool {
    unit(u) < rate
}

/// `u` reduced to `0..n` without division bias worth noting.
#[inline]
pub(super) fn below(u: u64, n: u64) -> u64 {
    ((u as u128 * n as u128) >> 64) as u64
}

/// SplitMix64 (Steele, Lea, Flood 2014): the per-record stream of draws.
pub(super) struct SplitMix64(pub(super) u64);

impl SplitMix64 {
    #[inline]
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    #[inline]
    pub(super) fn below(&mut self, n: u64) -> u64 {
        below(self.next(), n)
    }

    #[inline]
    pub(super) fn chance(&mut self, rate: f64) -> bool {
        chance(self.next(), rate)
    }
}

/// A pseudo-random permutation of `0..n`.
///
/// A keyed bijection of the smallest power-of-two range that holds `n` (rounds of multiplying
/// by an odd number, adding a key and xor-shifting, all invertible modulo `2^bits`), walked
/// until it lands inside `0..n` ("cycle walking": at most two steps on average).
#[derive(Clone, Debug)]
pub(super) struct Perm {
    n: u64,
    mask: u64,
    shift: u32,
    /// Odd multipliers and their inverses modulo 2^64, and the added keys, per round.
    mul: [u64; 3],
    inv: [u64; 3],
    add: [u64; 3],
}

impl Perm {
    pub(super) fn new(n: u64, key: u64) -> Self {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(1);
        let mut rng = SplitMix64(key);
        let mul = [rng.next() | 1, rng.next() | 1, rng.next() | 1];
        let add = [rng.next(), rng.next(), rng.next()];
        let inv = mul.map(inverse_odd);
        let mask = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
        Perm { n, mask, shift: (bits / 2).max(1), mul, inv, add }
    }

    #[inline]
    fn encrypt(&self, mut x: u64) -> u64 {
        for round in 0..3 {
            x = x.wrapping_mul(self.mul[round]).wrapping_add(self.add[round]) & self.mask;
            x ^= x >> self.shift;
        }
        x
    }

    fn decrypt(&self, mut x: u64) -> u64 {
        for round in (0..3).rev() {
            // Undo `x ^= x >> shift`: each pass fixes `shift` more high bits.
            let mut y = x;
            for _ in 0..64 / self.shift {
                y = x ^ (y >> self.shift);
            }
            x = y.wrapping_sub(self.add[round]).wrapping_mul(self.inv[round]) & self.mask;
        }
        x
    }

    /// The image of `x < n`.
    #[inline]
    pub(super) fn apply(&self, x: u64) -> u64 {
        let mut y = self.encrypt(x);
        while y >= self.n {
            y = self.encrypt(y);
        }
        y
    }

    /// The preimage of `y < n`.
    pub(super) fn invert(&self, y: u64) -> u64 {
        let mut x = self.decrypt(y);
        while x >= self.n {
            x = self.decrypt(x);
        }
        x
    }
}

/// The inverse of an odd number modulo 2^64 (Newton's iteration, each step doubling the
/// correct low bits).
fn inverse_odd(a: u64) -> u64 {
    let mut x = a; // Correct to 3 bits: a * a = 1 mod 8 for odd a.
    for _ in 0..5 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_bijections() {
        for n in (0..70).chain([1_000, 4_097, 65_536]) {
            let perm = Perm::new(n, n * 31 + 5);
            let mut seen = vec![false; n as usize];
            for x in 0..n {
                let y = perm.apply(x);
                assert!(!seen[y as usize]);
                seen[y as usize] = true;
                assert_eq!(perm.invert(y), x);
            }
        }
    }
}

//! Pairwise quality of a clustering against ground truth, computed from contingency counts
//! (never by enumerating pairs), as record-linkage papers report it.

use std::hash::Hash;

use ahash::AHashMap;

/// Pair counts of a clustering against ground truth.
///
/// A pair of records is *predicted* when both are in one cluster and *actual* when both
/// belong to one true entity; *true positives* are both.
///
/// ```
/// use idstitch_testkit::evaluate::PairCounts;
///
/// // Records: (predicted cluster, true person).
/// let counts = PairCounts::from_labels([(1, 'a'), (1, 'a'), (1, 'b'), (2, 'b')]);
/// assert_eq!((counts.true_positives, counts.predicted, counts.actual), (1, 3, 2));
/// assert!((counts.precision() - 1.0 / 3.0).abs() < 1e-12);
/// assert!((counts.recall() - 0.5).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PairCounts {
    /// Pairs in one cluster that are one entity.
    pub true_positives: u64,
    /// Pairs in one cluster.
    pub predicted: u64,
    /// Pairs that are one entity.
    pub actual: u64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

impl PairCounts {
    /// Counts from `(predicted cluster, true entity)` labels, one per record.
    pub fn from_labels<P, T, I>(labels: I) -> Self
    where
        P: Hash + Eq,
        T: Hash + Eq,
        I: IntoIterator<Item = (P, T)>,
    {
        let mut cells: AHashMap<(P, T), u64> = AHashMap::new();
        for label in labels {
            *cells.entry(label).or_default() += 1;
        }
        let mut by_predicted: AHashMap<&P, u64> = AHashMap::new();
        let mut by_truth: AHashMap<&T, u64> = AHashMap::new();
        let mut true_positives = 0;
        for ((p, t), &n) in &cells {
            true_positives += pairs(n);
            *by_predicted.entry(p).or_default() += n;
            *by_truth.entry(t).or_default() += n;
        }
        PairCounts {
            true_positives,
            predicted: by_predicted.values().map(|&n| pairs(n)).sum(),
            actual: by_truth.values().map(|&n| pairs(n)).sum(),
        }
    }

    /// Share of predicted pairs that are right; 1 when nothing is predicted.
    pub fn precision(&self) -> f64 {
        if self.predicted == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.predicted as f64
        }
    }

    /// Share of actual pairs that were found; 1 when there are none.
    pub fn recall(&self) -> f64 {
        if self.actual == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.actual as f64
        }
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_clustering_scores_one() {
        let c = PairCounts::from_labels([(7, 1), (7, 1), (8, 2), (8, 2), (8, 2), (9, 3)]);
        assert_eq!(c, PairCounts { true_positives: 4, predicted: 4, actual: 4 });
        assert_eq!((c.precision(), c.recall(), c.f1()), (1.0, 1.0, 1.0));
    }

    #[test]
    fn one_big_cluster_has_full_recall_and_low_precision() {
        let c = PairCounts::from_labels([(0, 1), (0, 1), (0, 2), (0, 2)]);
        assert_eq!(c, PairCounts { true_positives: 2, predicted: 6, actual: 2 });
        assert_eq!(c.recall(), 1.0);
        assert!((c.precision() - 1.0 / 3.0).abs() < 1e-12);
        assert!((c.f1() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn singletons_predict_nothing() {
        let c = PairCounts::from_labels([(0, 1), (1, 1), (2, 1)]);
        assert_eq!(c, PairCounts { true_positives: 0, predicted: 0, actual: 3 });
        assert_eq!((c.precision(), c.recall(), c.f1()), (1.0, 0.0, 0.0));
    }
}

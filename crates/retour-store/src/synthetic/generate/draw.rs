//! The draws every phase makes from the generator's one random stream: chances, numbers in
//! a range, picks from a list (weighted or not), ids, and times in office hours.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::{Generator, HOUR, MINUTE};
use crate::synthetic::copy::{Micros, day_of, start_of};

/// Cumulative weights, for [`pick_index`].
pub(super) fn cumulative(weights: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut sum = 0;
    weights
        .into_iter()
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

/// An index drawn with the weights whose running sums are `cumulative`.
pub(super) fn pick_index(rng: &mut ChaCha8Rng, cumulative: &[u64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(1).max(1);
    let draw = rng.random_range(0..total);
    cumulative.partition_point(|&c| c <= draw).min(cumulative.len().saturating_sub(1))
}

impl Generator {
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    /// Uniform in `lo..=hi` (just `lo` when the range is empty).
    pub(super) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { self.rng.random_range(lo..=hi) }
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    pub(super) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let cumulative = cumulative(items.iter().map(|(_, w)| u64::from(*w)));
        items[pick_index(&mut self.rng, &cumulative)].0
    }

    /// Exponentially distributed with this mean.
    pub(super) fn exponential(&mut self, mean: f64) -> f64 {
        let u: f64 = self.rng.random();
        -(1.0 - u).ln() * mean
    }

    /// A UUIDv7 for something that happened at `at`.
    pub(super) fn id_at(&mut self, at: Micros) -> Uuid {
        let bytes: [u8; 10] = self.rng.random();
        let millis = u64::try_from(at.div_euclid(1000)).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
    }

    /// Office hours (07:00–16:00 UTC) of `day`, or of the Monday after a weekend day.
    pub(super) fn office_time(&mut self, mut day: NaiveDate) -> Micros {
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            day = day + Days::new(1);
        }
        start_of(day) + 7 * HOUR + self.between(0, 9 * HOUR - 1)
    }

    /// Office hours between `min` and `max` days after `t`, always later than `t`.
    pub(super) fn after(&mut self, t: Micros, min: i64, max: i64) -> Micros {
        let days = u64::try_from(self.between(min, max)).unwrap_or(0);
        let at = self.office_time(day_of(t) + Days::new(days));
        if at > t { at } else { t + self.between(5 * MINUTE, 2 * HOUR) }
    }
}

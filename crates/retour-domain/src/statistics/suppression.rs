//! Complementary suppression: which figures of an answer are withheld so that no figure over
//! one to four cases can be read off it, directly or by subtraction.
//!
//! Withholding the small figures alone is not enough: with the total 9 and the groups `N: 8`
//! and one withheld group, the withheld group is 1. The rule, for an answer grouped by some
//! dimensions:
//!
//! - every figure over 1 to 4 cases is withheld (*primary*);
//! - the totals a caller can ask for count as published: grouped by canton and status, the
//!   total of each canton, of each status, and the grand total. Each such total and the
//!   groups it sums up (a row, a column, the whole table) form a *line*, and within every line
//!   either nothing is unknown or at least two things are: when exactly one figure of a line is
//!   withheld, the smallest other group with cases of that line is withheld too
//!   (*complementary*); a total over 1 to 4 cases is withheld, as its own answer withholds it;
//! - this repeats until no line has exactly one unknown.
//!
//! The coarser groupings (the totals) are solved first, each exactly as its own answer is, so
//! that what this answer assumes of a total is what the total's answer shows.
//!
//! Groups without cases are not listed, so their zero is known; zero is no one's figure and is
//! never withheld for its own sake. A known zero can still give a figure away (a line whose
//! other groups are all empty), so a complement is chosen that does not leave another line
//! with a single unknown, and when a line has no group with cases left to withhold, a group
//! without cases is listed as withheld instead. A group that equals a published total (the
//! only group of its line), or lies on a line the totals show empty, is never chosen to protect
//! another: that would protect nothing.
//!
//! Grouped by one or two dimensions, no line is left with one unknown. Grouped by three or
//! more, the answers grouped by fewer can together pin a group down (its line's other groups
//! are all published or shown empty by them); such a group is withheld all the same, but no
//! choice within the finer answer can hide it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::MIN_CASES_PER_FIGURE;

/// How many positions beyond a line's listed groups a search for a group without cases looks
/// at. Among its listed groups plus one there is always a position without cases; when that
/// one is pinned (see [`Solver::pinned`]), a few more are tried before the search gives up.
const EMPTY_GROUP_SEARCH: usize = 4;

/// The most dimensions an answer is grouped by (the statistics have six).
pub const MAX_DIMENSIONS: usize = 8;

/// Case counts of one answer: for each grouping (a set of the answer's dimensions, as
/// ascending indices), its groups with their values for those dimensions, in order, and the
/// number of cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts<K> {
    dims: usize,
    groupings: BTreeMap<u32, Vec<(Vec<K>, i64)>>,
}

/// Which groups of which groupings are withheld.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld<K> {
    withheld: BTreeMap<u32, BTreeSet<Vec<K>>>,
    /// Groups without cases, listed as withheld to protect a figure of their line.
    added: BTreeMap<u32, Vec<Vec<K>>>,
}

fn mask(dimensions: &[usize]) -> u32 {
    dimensions.iter().fold(0, |mask, d| mask | (1 << d))
}

fn dims_of(mask: u32) -> Vec<usize> {
    (0..MAX_DIMENSIONS).filter(|d| mask & (1 << d) != 0).collect()
}

fn is_small(cases: i64) -> bool {
    (1..MIN_CASES_PER_FIGURE).contains(&cases)
}

impl<K: Ord + Clone> Counts<K> {
    /// No counts yet, over `dims` dimensions (at most [`MAX_DIMENSIONS`]).
    pub fn new(dims: usize) -> Self {
        assert!(dims <= MAX_DIMENSIONS, "at most {MAX_DIMENSIONS} dimensions");
        Counts { dims, groupings: BTreeMap::new() }
    }

    /// The groups of the grouping by `dimensions` (ascending indices); each key holds the
    /// values of those dimensions in that order.
    pub fn grouping(
        mut self,
        dimensions: &[usize],
        groups: impl IntoIterator<Item = (Vec<K>, i64)>,
    ) -> Self {
        assert!(dimensions.windows(2).all(|w| w[0] < w[1]), "ascending dimensions");
        assert!(dimensions.iter().all(|&d| d < self.dims), "dimensions of the table");
        self.groupings.insert(mask(dimensions), groups.into_iter().collect());
        self
    }

    /// The groups by all `dims` dimensions, and every coarser grouping summed up from them.
    pub fn finest(dims: usize, groups: impl IntoIterator<Item = (Vec<K>, i64)>) -> Self {
        let groups: Vec<(Vec<K>, i64)> = groups.into_iter().collect();
        let mut counts = Counts::new(dims);
        for grouping in 0..1u32 << dims {
            let dimensions = dims_of(grouping);
            let mut sums: BTreeMap<Vec<K>, i64> = BTreeMap::new();
            for (key, cases) in &groups {
                let projected = dimensions.iter().map(|&d| key[d].clone()).collect();
                *sums.entry(projected).or_default() += cases;
            }
            counts.groupings.insert(grouping, sums.into_iter().collect());
        }
        counts
    }

    /// What the rule of this module withholds.
    pub fn withhold(&self) -> Withheld<K> {
        // The values each dimension takes; keys are solved as indices into them.
        let mut values: Vec<BTreeSet<K>> = vec![BTreeSet::new(); self.dims];
        for (&grouping, groups) in &self.groupings {
            for (position, d) in dims_of(grouping).into_iter().enumerate() {
                values[d].extend(groups.iter().map(|(key, _)| key[position].clone()));
            }
        }
        let values: Vec<Vec<K>> = values.into_iter().map(|v| v.into_iter().collect()).collect();
        let sizes: Vec<u32> = values.iter().map(|v| v.len() as u32).collect();
        let mut order: Vec<u32> = self.groupings.keys().copied().collect();
        order.sort_by_key(|g| (g.count_ones(), *g));
        let mut solved: BTreeMap<u32, Level> = BTreeMap::new();
        for grouping in order {
            let dims = dims_of(grouping);
            let groups = self.groupings[&grouping].iter().map(|(key, cases)| {
                let mut encoded = NO_KEY;
                for (position, d) in dims.iter().enumerate() {
                    // Every value is in `values`, collected from these keys.
                    encoded[position] =
                        values[*d].binary_search(&key[position]).unwrap_or_default() as u32;
                }
                (encoded, *cases)
            });
            let level = Level::solve(grouping, groups.collect(), &solved, &sizes);
            solved.insert(grouping, level);
        }
        let mut withheld = Withheld { withheld: BTreeMap::new(), added: BTreeMap::new() };
        for (grouping, level) in solved {
            let decode = |key: &Key| -> Vec<K> {
                level
                    .dims
                    .iter()
                    .enumerate()
                    .map(|(p, &d)| values[d][key[p] as usize].clone())
                    .collect()
            };
            let keys = level.cells.iter().filter(|c| c.withheld).map(|c| decode(&c.key)).collect();
            withheld.withheld.insert(grouping, keys);
            let added = level.cells[level.given..].iter().map(|c| decode(&c.key)).collect();
            withheld.added.insert(grouping, added);
        }
        withheld
    }
}

impl<K: Ord + Clone> Withheld<K> {
    /// Nothing withheld (figures that do not leave SEM).
    pub fn nothing() -> Self {
        Withheld { withheld: BTreeMap::new(), added: BTreeMap::new() }
    }

    /// Whether the group `key` of the grouping by `dimensions` is withheld.
    pub fn is_withheld(&self, dimensions: &[usize], key: &[K]) -> bool {
        self.withheld.get(&mask(dimensions)).is_some_and(|keys| keys.contains(key))
    }

    /// Groups without cases of the grouping by `dimensions` that are listed as withheld.
    pub fn added(&self, dimensions: &[usize]) -> &[Vec<K>] {
        self.added.get(&mask(dimensions)).map_or(&[], Vec::as_slice)
    }
}

/// A group's values as indices into each dimension's values, in the order of the grouping's
/// dimensions; unused places hold `u32::MAX`. Fixed-size, so that looking a group up
/// allocates nothing.
type Key = [u32; MAX_DIMENSIONS];

const NO_KEY: Key = [u32::MAX; MAX_DIMENSIONS];

#[derive(Debug)]
struct Cell {
    key: Key,
    cases: i64,
    withheld: bool,
    /// Withholding it would protect nothing (see [`Solver::pinned`]).
    pinned: bool,
    /// The lines it is part of.
    lines: Vec<usize>,
}

/// One grouping, solved.
#[derive(Debug)]
struct Level {
    dims: Vec<usize>,
    /// The given groups first, then the groups without cases added as withheld.
    cells: Vec<Cell>,
    given: usize,
    index: HashMap<Key, usize>,
}

/// A line: a group of a coarser grouping and the groups of this one it sums up.
#[derive(Debug)]
struct Line {
    coarser: usize,
    key: Key,
    total_withheld: bool,
    /// How many groups (with or without cases) the line spans.
    span: u128,
    parts: Vec<usize>,
    /// Withheld parts, and the total when it is withheld.
    unknown: usize,
    /// Parts with cases that could still be withheld to protect another.
    open: usize,
    /// The line has no group without cases left to withhold (groups are only ever added
    /// and withheld, so this stays true once found).
    no_empty_group: bool,
}

impl Line {
    /// A line whose total is published and that has nothing withheld, nor anything with cases
    /// to withhold but one part: withholding that part would leave it with one unknown.
    fn would_strand(&self) -> bool {
        !self.total_withheld && self.span >= 2 && self.unknown == 0 && self.open <= 1
    }
}

/// A coarser grouping, as seen from the one being solved.
struct Coarser<'a> {
    level: &'a Level,
    /// Where its dimensions are in this grouping's keys.
    positions: Vec<usize>,
    /// Where this grouping's other dimensions are (those a line spans).
    free: Vec<usize>,
    span: u128,
    /// The line of its first group; the others follow in the order of its groups.
    first_line: usize,
}

impl Coarser<'_> {
    fn project(&self, key: &Key) -> Key {
        let mut projected = NO_KEY;
        for (i, &p) in self.positions.iter().enumerate() {
            projected[i] = key[p];
        }
        projected
    }

    /// The line through `key`, when its total is listed (else the line holds no cases).
    fn line(&self, key: &Key) -> Option<usize> {
        self.level.index.get(&self.project(key)).map(|&i| self.first_line + i)
    }
}

/// What to withhold to complete a line.
enum Choice {
    Given(usize),
    Empty(Key),
}

/// Solving one grouping: its groups, its lines, and the coarser groupings already solved.
struct Solver<'a> {
    level: Level,
    coarser: Vec<Coarser<'a>>,
    lines: Vec<Line>,
    sizes: &'a [u32],
    queue: VecDeque<usize>,
    queued: Vec<bool>,
}

impl Level {
    fn solve(
        grouping: u32,
        groups: Vec<(Key, i64)>,
        solved: &BTreeMap<u32, Level>,
        sizes: &[u32],
    ) -> Self {
        let dims = dims_of(grouping);
        // The lines: along each dimension (totals one dimension coarser), and the total.
        let along = |g: u32| g.count_ones() + 1 == grouping.count_ones() || g == 0;
        let mut coarser: Vec<Coarser<'_>> = Vec::new();
        let mut lines = Vec::new();
        for (&g, level) in solved.iter().filter(|(g, _)| **g != grouping && **g & grouping == **g) {
            if !along(g) {
                continue;
            }
            let positions =
                level.dims.iter().map(|d| dims.binary_search(d).unwrap_or_default()).collect();
            let free: Vec<usize> =
                (0..dims.len()).filter(|p| !level.dims.contains(&dims[*p])).collect();
            let span =
                free.iter().fold(1u128, |n, &p| n.saturating_mul(u128::from(sizes[dims[p]])));
            let c = coarser.len();
            coarser.push(Coarser { level, positions, free, span, first_line: lines.len() });
            // Every group of a coarser grouping is the total of one line.
            lines.extend(level.cells.iter().map(|cell| Line {
                coarser: c,
                key: cell.key,
                total_withheld: cell.withheld,
                span,
                parts: Vec::new(),
                unknown: usize::from(cell.withheld),
                open: 0,
                no_empty_group: false,
            }));
        }
        let level = Level {
            dims,
            cells: Vec::with_capacity(groups.len()),
            given: 0,
            index: HashMap::with_capacity(groups.len()),
        };
        let queued = vec![true; lines.len()];
        let queue = (0..lines.len()).collect();
        let mut solver = Solver { level, coarser, lines, sizes, queue, queued };
        for (key, cases) in groups {
            if !solver.level.index.contains_key(&key) {
                solver.add(key, cases, is_small(cases));
            }
        }
        solver.level.given = solver.level.cells.len();
        solver.run();
        solver.level
    }
}

impl Solver<'_> {
    /// Adds a group to the grouping and to its lines.
    fn add(&mut self, key: Key, cases: i64, withheld: bool) -> usize {
        let i = self.level.cells.len();
        let found: Vec<Option<usize>> = self.coarser.iter().map(|c| c.line(&key)).collect();
        let pinned = self.coarser.iter().zip(&found).any(|(coarse, line)| match line {
            None => true,
            Some(l) => !self.lines[*l].total_withheld && coarse.span < 2,
        });
        let lines: Vec<usize> = found.into_iter().flatten().collect();
        for &l in &lines {
            let line = &mut self.lines[l];
            line.parts.push(i);
            line.unknown += usize::from(withheld);
            line.open += usize::from(cases > 0 && !withheld && !pinned);
        }
        self.level.index.insert(key, i);
        self.level.cells.push(Cell { key, cases, withheld, pinned, lines });
        i
    }

    fn withhold(&mut self, i: usize) {
        let cell = &mut self.level.cells[i];
        cell.withheld = true;
        let open = cell.cases > 0 && !cell.pinned;
        for &l in &cell.lines {
            let line = &mut self.lines[l];
            line.unknown += 1;
            line.open -= usize::from(open);
            if !self.queued[l] {
                self.queued[l] = true;
                self.queue.push_back(l);
            }
        }
    }

    /// Withholds complements until no line has exactly one unknown.
    fn run(&mut self) {
        while let Some(l) = self.queue.pop_front() {
            self.queued[l] = false;
            let line = &self.lines[l];
            // A line of one position with a published total: its group is that total, and
            // is never chosen to protect another (`pinned`), so it is never alone withheld.
            if line.unknown != 1 || line.span < 2 && !line.total_withheld {
                continue;
            }
            match self.complement(l) {
                Some(Choice::Given(i)) => self.withhold(i),
                Some(Choice::Empty(key)) => {
                    let i = self.add(key, 0, false);
                    self.withhold(i);
                }
                // Every other position of the line is known from the coarser groupings on
                // their own: nothing in this answer can hide it.
                None => self.lines[l].no_empty_group = true,
            }
        }
    }

    /// Whether withholding the group `key` would protect nothing: some line it is part of
    /// has a published total and no other position, or holds no cases at all.
    fn pinned(&self, key: &Key) -> bool {
        self.coarser.iter().any(|coarse| match coarse.line(key) {
            None => true,
            Some(l) => !self.lines[l].total_withheld && coarse.span < 2,
        })
    }

    /// Whether withholding the group `i` for line `l` would leave another of its lines with
    /// a single unknown and nothing with cases to withhold beside it.
    fn strands(&self, i: usize, l: usize) -> bool {
        self.level.cells[i].lines.iter().any(|&o| o != l && self.lines[o].would_strand())
    }

    /// The group to withhold so that line `l` no longer has exactly one unknown: the smallest
    /// other group with cases that strands no other line; else a group without cases of the
    /// line (one listed, or the first in the order of the values); else the smallest other.
    fn complement(&self, l: usize) -> Option<Choice> {
        let cells = &self.level.cells;
        let open: Vec<usize> = self.lines[l]
            .parts
            .iter()
            .copied()
            .filter(|&p| !cells[p].withheld && !cells[p].pinned)
            .collect();
        let smallest = |candidates: &mut dyn Iterator<Item = usize>| {
            candidates.min_by_key(|&p| (cells[p].cases, cells[p].key))
        };
        let with_cases = |p: &usize| cells[*p].cases > 0;
        let mut safe = open.iter().copied().filter(with_cases).filter(|&p| !self.strands(p, l));
        if let Some(i) = smallest(&mut safe) {
            return Some(Choice::Given(i));
        }
        if let Some(i) = smallest(&mut open.iter().copied().filter(|p| !with_cases(p))) {
            return Some(Choice::Given(i));
        }
        if let Some(key) = self.empty_group(l) {
            return Some(Choice::Empty(key));
        }
        smallest(&mut open.into_iter()).map(Choice::Given)
    }

    /// The first group of line `l` that has no cases, is not listed, and is not pinned.
    fn empty_group(&self, l: usize) -> Option<Key> {
        let line = &self.lines[l];
        if line.no_empty_group {
            return None;
        }
        let coarse = &self.coarser[line.coarser];
        let sizes: Vec<u32> = coarse.free.iter().map(|&p| self.sizes[self.level.dims[p]]).collect();
        if sizes.contains(&0) {
            return None;
        }
        // The line's key holds the coarser grouping's values; the spanned places count up.
        let mut key = NO_KEY;
        for (i, &p) in coarse.positions.iter().enumerate() {
            key[p] = line.key[i];
        }
        for &p in &coarse.free {
            key[p] = 0;
        }
        for _ in 0..line.parts.len() + EMPTY_GROUP_SEARCH {
            if !self.level.index.contains_key(&key) && !self.pinned(&key) {
                return Some(key);
            }
            // The next position: the last spanned dimension turns fastest.
            let mut f = coarse.free.len();
            loop {
                f = f.checked_sub(1)?;
                let p = coarse.free[f];
                key[p] += 1;
                if key[p] < sizes[f] {
                    break;
                }
                key[p] = 0;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one_dimension(groups: &[(&'static str, i64)]) -> Counts<&'static str> {
        Counts::finest(1, groups.iter().map(|&(v, n)| (vec![v], n)))
    }

    #[test]
    fn a_withheld_group_is_not_left_alone_next_to_the_total() {
        // Finding 3: total 9, N 8 and one group of 1.
        let withheld = one_dimension(&[("N", 8), ("F", 1)]).withhold();
        assert!(withheld.is_withheld(&[0], &["F"]));
        assert!(withheld.is_withheld(&[0], &["N"]), "else F = 9 - 8");
        assert!(!withheld.is_withheld(&[], &[]), "the total of 9 is published");
    }

    #[test]
    fn the_smallest_other_group_protects_a_small_one() {
        let withheld = one_dimension(&[("A", 30), ("B", 2), ("C", 7), ("D", 9)]).withhold();
        let hidden: Vec<bool> =
            ["A", "B", "C", "D"].iter().map(|v| withheld.is_withheld(&[0], &[*v])).collect();
        assert_eq!(hidden, [false, true, true, false]);
    }

    #[test]
    fn two_small_groups_protect_each_other_and_large_ones_stay() {
        let withheld = one_dimension(&[("A", 30), ("B", 2), ("C", 3)]).withhold();
        assert!(!withheld.is_withheld(&[0], &["A"]));
        assert!(withheld.is_withheld(&[0], &["B"]) && withheld.is_withheld(&[0], &["C"]));
    }

    #[test]
    fn a_small_total_is_withheld_and_its_only_group_with_it() {
        let withheld = one_dimension(&[("A", 3)]).withhold();
        assert!(withheld.is_withheld(&[], &[]) && withheld.is_withheld(&[0], &["A"]));
        let nothing = Counts::finest(0, [(Vec::<&str>::new(), 0)]).withhold();
        assert!(!nothing.is_withheld(&[], &[]), "zero is no one's figure");
        let five = Counts::finest(0, [(Vec::<&str>::new(), 5)]).withhold();
        assert!(!five.is_withheld(&[], &[]));
    }

    /// What is withheld of a table by two dimensions, and which of its `cells`.
    fn two_dimensions(cells: &[(Vec<&'static str>, i64)]) -> (Withheld<&'static str>, Vec<bool>) {
        let withheld = Counts::finest(2, cells.iter().cloned()).withhold();
        let hidden = cells.iter().map(|(key, _)| withheld.is_withheld(&[0, 1], key)).collect();
        (withheld, hidden)
    }

    #[test]
    fn rows_and_columns_each_keep_two_unknowns() {
        // canton × status: BE has a status of 2; its row needs a second unknown, and so do
        // the columns those two are in.
        let cells = [
            (vec!["BE", "approved"], 2),
            (vec!["BE", "departed"], 20),
            (vec!["BE", "rejected"], 9),
            (vec!["ZH", "approved"], 12),
            (vec!["ZH", "departed"], 15),
            (vec!["ZH", "rejected"], 11),
        ];
        let (withheld, hidden) = two_dimensions(&cells);
        assert_eq!(hidden, [true, false, true, true, false, true]);
        assert!(withheld.added(&[0, 1]).is_empty());
        // The one-dimensional totals are all five or more: published.
        assert!(!withheld.is_withheld(&[1], &["approved"]));
    }

    #[test]
    fn a_group_without_cases_is_withheld_when_a_line_has_nothing_else_to_withhold() {
        // Row A (4 cases) is withheld, and so row B beside it, so B's only group goes too;
        // column z then needs a second unknown: C's 13. Row C's published 26 then needs one
        // more, but C's other group (x) is the only group of column x: withholding it would
        // leave column x with one unknown. C's group without cases (y) is withheld instead.
        let cells = [
            (vec!["A", "y"], 1),
            (vec!["A", "z"], 3),
            (vec!["B", "y"], 13),
            (vec!["C", "x"], 13),
            (vec!["C", "z"], 13),
        ];
        let (withheld, hidden) = two_dimensions(&cells);
        assert_eq!(hidden, [true, true, true, false, true]);
        assert_eq!(withheld.added(&[0, 1]), [vec!["C", "y"]]);
        assert!(withheld.is_withheld(&[0, 1], &["C", "y"]));
        assert!(withheld.is_withheld(&[0], &["A"]) && withheld.is_withheld(&[0], &["B"]));
    }

    #[test]
    fn groupings_given_apart_share_their_total() {
        // The yearly overview: departures by destination and by canton, each against the
        // year's total.
        let counts = Counts::new(2)
            .grouping(&[], [(vec![], 12)])
            .grouping(&[0], [(vec!["IQ"], 10), (vec!["GE"], 2)])
            .grouping(&[1], [(vec!["BE"], 12)]);
        let withheld = counts.withhold();
        assert!(withheld.is_withheld(&[0], &["GE"]) && withheld.is_withheld(&[0], &["IQ"]));
        assert!(!withheld.is_withheld(&[1], &["BE"]) && !withheld.is_withheld(&[], &[]));
    }

    /// Tables over `dims` dimensions of up to `values` values each, most groups empty or small.
    fn tables(
        dims: std::ops::RangeInclusive<usize>,
        values: u8,
    ) -> impl Strategy<Value = (usize, Vec<(Vec<u8>, i64)>)> {
        (dims, 1..=values).prop_flat_map(|(dims, values)| {
            let positions = (values as usize).pow(dims as u32);
            let count = prop_oneof![3 => Just(0i64), 3 => 1i64..=4, 2 => 5i64..=40];
            proptest::collection::vec(count, positions).prop_map(move |counts| {
                let cells = counts
                    .into_iter()
                    .enumerate()
                    .filter(|(_, n)| *n > 0)
                    .map(|(i, n)| {
                        let key = (0..dims)
                            .map(|d| {
                                ((i / (values as usize).pow(d as u32)) % values as usize) as u8
                            })
                            .collect();
                        (key, n)
                    })
                    .collect();
                (dims, cells)
            })
        })
    }

    /// Every figure over 1 to 4 cases is withheld, and groups added without cases have none.
    fn check_primary(counts: &Counts<u8>, withheld: &Withheld<u8>) -> Result<(), TestCaseError> {
        for (&grouping, groups) in &counts.groupings {
            let dimensions = dims_of(grouping);
            for (key, cases) in groups {
                if is_small(*cases) {
                    prop_assert!(withheld.is_withheld(&dimensions, key), "{key:?} of {cases}");
                }
            }
            for key in withheld.added(&dimensions) {
                prop_assert!(!groups.iter().any(|(k, _)| k == key), "added {key:?} has cases");
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn no_withheld_figure_is_the_only_unknown_of_a_line((dims, cells) in tables(1..=2, 6)) {
            let counts = Counts::finest(dims, cells);
            let withheld = counts.withhold();
            check_primary(&counts, &withheld)?;
            for (line, unknowns, _) in lines(&counts, &withheld) {
                prop_assert_ne!(unknowns, 1, "{}", line);
            }
        }

        /// Grouped by three dimensions, the answers by two of them can together give a figure
        /// away (a group of the finer answer is then the difference of published figures and
        /// groups they show empty); no choice within the finer answer changes that. Such a
        /// line is the only kind left with one unknown.
        #[test]
        fn a_line_keeps_one_unknown_only_when_coarser_answers_give_it_away(
            (dims, cells) in tables(3..=3, 4)
        ) {
            let counts = Counts::finest(dims, cells);
            let withheld = counts.withhold();
            check_primary(&counts, &withheld)?;
            for (line, unknowns, known_from_coarser) in lines(&counts, &withheld) {
                prop_assert!(unknowns != 1 || known_from_coarser, "{}", line);
            }
        }
    }

    /// Every line of every grouping of `counts`: a description, how many of the total and its
    /// positions are withheld, and whether every position that is not withheld is known from
    /// a coarser grouping alone (it is the only position of one of its lines there, with that
    /// total published, or a line there shows no cases).
    fn lines(counts: &Counts<u8>, withheld: &Withheld<u8>) -> Vec<(String, usize, bool)> {
        let values: Vec<BTreeSet<u8>> = (0..counts.dims)
            .map(|d| counts.groupings[&(1 << d)].iter().map(|(k, _)| k[0]).collect())
            .collect();
        let cases = |grouping: u32, key: &[u8]| {
            counts.groupings[&grouping].iter().find(|(k, _)| k.as_slice() == key).map(|(_, n)| *n)
        };
        let mut lines = Vec::new();
        for &fine in counts.groupings.keys() {
            let fine_dims = dims_of(fine);
            // Every position of the grouping, with or without cases.
            let mut positions: Vec<Vec<u8>> = vec![Vec::new()];
            for d in &fine_dims {
                positions = positions
                    .into_iter()
                    .flat_map(|p| values[*d].iter().map(move |v| [p.clone(), vec![*v]].concat()))
                    .collect();
            }
            let project = |coarse: u32, key: &[u8]| -> Vec<u8> {
                fine_dims
                    .iter()
                    .zip(key)
                    .filter(|(d, _)| coarse & (1 << **d) != 0)
                    .map(|(_, v)| *v)
                    .collect()
            };
            let known_from_coarser = |key: &[u8]| {
                counts.groupings.keys().filter(|&&g| g != fine && g & fine == g).any(|&coarse| {
                    let total = project(coarse, key);
                    let span: usize = fine_dims
                        .iter()
                        .filter(|d| coarse & (1 << **d) == 0)
                        .map(|d| values[*d].len())
                        .product();
                    cases(coarse, &total).is_none()
                        || span == 1 && !withheld.is_withheld(&dims_of(coarse), &total)
                })
            };
            for &coarse in counts.groupings.keys().filter(|&&g| g != fine && g & fine == g) {
                let mut per_total: BTreeMap<Vec<u8>, (usize, bool)> = BTreeMap::new();
                for key in &positions {
                    let hidden = withheld.is_withheld(&fine_dims, key);
                    let entry = per_total.entry(project(coarse, key)).or_insert((0, true));
                    entry.0 += usize::from(hidden);
                    entry.1 &= hidden || known_from_coarser(key);
                }
                for (total, (hidden, known)) in per_total {
                    let total_hidden = withheld.is_withheld(&dims_of(coarse), &total);
                    let described = format!("{:?}={total:?} in {fine_dims:?}", dims_of(coarse));
                    lines.push((described, hidden + usize::from(total_hidden), known));
                }
            }
        }
        lines
    }
}

//! The generator's output: reproducible from the seed, every status reached, references
//! and identity numbers unique.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use retour_domain::CaseStatus;
use uuid::Uuid;

use super::household::{n_number, zemis_number};
use super::{Generator, Start, default_from};
use crate::synthetic::world;
use crate::synthetic::{Directory, Mission, Service, Staff};

fn staff(n: u128, institution: u128, role: &'static str) -> Staff {
    Staff { user_id: Uuid::from_u128(n), institution_id: Uuid::from_u128(institution), role }
}

/// A directory like the demo's: every canton, the six federal regions, ten missions.
pub(crate) fn directory() -> Directory {
    let mut services = Vec::new();
    for (i, (canton, _)) in world::CANTON_WEIGHTS.iter().enumerate() {
        let i = i as u128;
        services.push(Service {
            id: Uuid::from_u128(100 + i),
            prefix: (*canton).to_owned(),
            canton: Some((*canton).to_owned()),
            federal_region: None,
            counsellor: staff(1000 + i, 100 + i, "counsellor"),
        });
    }
    for (i, (prefix, region)) in
        [("FBE", "Bern"), ("FNW", "Nordwestschweiz"), ("FZH", "Zürich")].iter().enumerate()
    {
        let i = i as u128;
        services.push(Service {
            id: Uuid::from_u128(200 + i),
            prefix: (*prefix).to_owned(),
            canton: None,
            federal_region: Some((*region).to_owned()),
            counsellor: staff(2000 + i, 200 + i, "counsellor"),
        });
    }
    let missions = ["IQ", "GE", "NG", "LK", "TR", "DZ", "UA", "XK", "AF", "TN"]
        .iter()
        .enumerate()
        .map(|(i, country)| Mission {
            country: (*country).to_owned(),
            institution_id: Uuid::from_u128(300 + i as u128),
            officer: staff(3000 + i as u128, 300 + i as u128, "iom_mission_officer"),
        })
        .collect();
    Directory {
        services,
        sem: staff(1, 10, "sem_officer"),
        reviewers: vec![(staff(1, 10, "sem_officer"), 100), (staff(4, 10, "sem_officer"), 60)],
        swissrepat: staff(2, 11, "swissrepat_officer"),
        iom: staff(3, 12, "iom_coordinator"),
        missions,
    }
}

pub(crate) fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).expect("day")
}

fn digests(seed: u64, total: u64) -> Vec<[u8; 32]> {
    let mut generator =
        Generator::new(seed, default_from(), as_of(), total, directory(), Start::default());
    std::iter::from_fn(|| generator.next_batch(250)).map(|b| b.digest()).collect()
}

#[test]
fn the_same_seed_gives_the_same_cases_and_another_seed_others() {
    let first = digests(42, 600);
    assert_eq!(first.len(), 3);
    assert_eq!(first, digests(42, 600));
    assert_ne!(first, digests(43, 600));
}

#[test]
fn every_status_occurs_and_most_cases_are_finished() {
    let total = 20_000;
    let mut generator =
        Generator::new(7, default_from(), as_of(), total, directory(), Start::default());
    let mut statuses: BTreeMap<&str, u64> = BTreeMap::new();
    while let Some(batch) = generator.next_batch(5000) {
        for case in &batch.cases {
            *statuses.entry(case.status.as_str()).or_default() += 1;
        }
    }
    for status in CaseStatus::ALL {
        assert!(statuses.contains_key(status.as_str()), "{status} missing: {statuses:?}");
    }
    eprintln!("{statuses:?}");
    let finished =
        ["closed", "withdrawn", "rejected", "cancelled"].iter().map(|s| statuses[s]).sum::<u64>();
    assert!(finished * 100 > total * 80, "{statuses:?}");
    assert!(statuses["closed"] > statuses["withdrawn"], "{statuses:?}");
    assert!(statuses["closed"] * 100 > total * 45, "{statuses:?}");
}

#[test]
fn references_continue_the_counters_without_gaps() {
    let mut start = Start::default();
    start.counters.insert(("BE".to_owned(), 2026), 41);
    let mut generator = Generator::new(1, default_from(), as_of(), 3000, directory(), start);
    let mut numbers: BTreeMap<(String, i32), Vec<i64>> = BTreeMap::new();
    let mut last = Vec::new();
    while let Some(batch) = generator.next_batch(1000) {
        for case in &batch.cases {
            let mut parts = case.reference.rsplitn(3, '-');
            let number: i64 = parts.next().and_then(|n| n.parse().ok()).expect("number");
            let year: i32 = parts.next().and_then(|y| y.parse().ok()).expect("year");
            let prefix = parts.next().expect("prefix").to_owned();
            numbers.entry((prefix, year)).or_default().push(number);
        }
        last = batch.counters;
    }
    for ((prefix, year), list) in &numbers {
        let first = if (prefix.as_str(), *year) == ("BE", 2026) { 42 } else { 1 };
        let expected: Vec<i64> = (first..first + list.len() as i64).collect();
        assert_eq!(list, &expected, "{prefix}-{year}");
    }
    assert!(!last.is_empty());
}

#[test]
fn identity_numbers_are_unique() {
    let zemis: std::collections::HashSet<String> = (0..200_000).map(zemis_number).collect();
    assert_eq!(zemis.len(), 200_000);
    assert!(zemis.iter().all(|z| z.len() == 8 && !z.starts_with('0')));
    let n: std::collections::HashSet<String> = (0..1_000_000).map(n_number).collect();
    assert_eq!(n.len(), 1_000_000);
    assert_eq!(n_number(0).len(), "N 123 456".len());
}

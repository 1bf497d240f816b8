//! The groups of an answer and what of them is withheld from the caller.

use chrono::NaiveDate;
use retour_domain::statistics::suppression::{Counts, Withheld};
use retour_domain::statistics::{Dimension, StatisticsAccess};
use retour_store::stats::GroupKey;

use crate::ApiError;

use super::*;

/// A group's value of one dimension as the suppression orders it: as the store orders the
/// groups (codes by their bytes, a period by its first day), an empty value last.
pub(super) type Value = (bool, String);

pub(super) fn value(text: Option<&str>) -> Value {
    (text.is_none(), text.unwrap_or_default().to_owned())
}

/// The values of `key` for `dimensions`, in their order.
pub(super) fn values(key: &GroupKey, dimensions: &[Dimension]) -> Vec<Value> {
    dimensions
        .iter()
        .map(|dimension| match dimension {
            Dimension::Canton => value(key.canton.as_deref()),
            Dimension::Programme => value(key.programme.as_deref()),
            Dimension::DestinationCountry => value(key.destination_country.as_deref()),
            Dimension::Status => value(key.status.as_deref()),
            Dimension::ResidenceStatus => value(key.residence_status.as_deref()),
            Dimension::Period => value(key.period_start.map(|d| d.to_string()).as_deref()),
        })
        .collect()
}

/// The group of `values` for `dimensions` (the inverse of [`values`]).
pub(super) fn group_key(values: &[Value], dimensions: &[Dimension]) -> Result<GroupKey, ApiError> {
    let mut key = GroupKey::default();
    for ((empty, text), dimension) in values.iter().zip(dimensions) {
        let text = (!empty).then(|| text.clone());
        match dimension {
            Dimension::Canton => key.canton = text,
            Dimension::Programme => key.programme = text,
            Dimension::DestinationCountry => key.destination_country = text,
            Dimension::Status => key.status = text,
            Dimension::ResidenceStatus => key.residence_status = text,
            Dimension::Period => {
                key.period_start = typed(text.as_deref(), "case_statistics.period", |t| {
                    NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
                })?
            }
        }
    }
    Ok(key)
}

/// What of `counts` is withheld from the caller, worked out off the async runtime: a table
/// of thousands of groups by several dimensions takes a while.
pub(super) async fn withhold(
    access: StatisticsAccess,
    counts: Counts<Value>,
) -> Result<Withheld<Value>, ApiError> {
    if !access.suppress_small_groups {
        return Ok(Withheld::nothing());
    }
    tokio::task::spawn_blocking(move || access.withhold(&counts)).await.map_err(ApiError::internal)
}

/// One group of an answer: its values, its figures (none for a group without cases listed
/// only to be withheld), and whether it is withheld.
pub(super) struct Listed<T> {
    pub(super) values: Vec<Value>,
    pub(super) figures: Option<T>,
    pub(super) withheld: bool,
}

/// The groups of an answer grouped by `dimensions`, each with `cases`, and what the caller
/// may see of them: the withheld ones flagged, and the groups without cases that are withheld
/// to protect another among them, in the order of their values.
pub(super) async fn suppressed<T>(
    access: StatisticsAccess,
    dimensions: &[Dimension],
    groups: Vec<(GroupKey, T)>,
    cases: impl Fn(&T) -> i64,
) -> Result<Vec<Listed<T>>, ApiError> {
    let all: Vec<usize> = (0..dimensions.len()).collect();
    let groups: Vec<(Vec<Value>, T)> =
        groups.into_iter().map(|(key, figures)| (values(&key, dimensions), figures)).collect();
    let counts =
        Counts::finest(dimensions.len(), groups.iter().map(|(v, f)| (v.clone(), cases(f))));
    let withheld = withhold(access, counts).await?;
    let mut listed: Vec<Listed<T>> = groups
        .into_iter()
        .map(|(values, figures)| Listed {
            withheld: withheld.is_withheld(&all, &values),
            values,
            figures: Some(figures),
        })
        .collect();
    let added = withheld.added(&all);
    if !added.is_empty() {
        listed.extend(added.iter().map(|values| Listed {
            values: values.clone(),
            figures: None,
            withheld: true,
        }));
        listed.sort_by(|a, b| a.values.cmp(&b.values));
    }
    Ok(listed)
}

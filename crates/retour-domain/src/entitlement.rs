//! What a household is entitled to: the maximum per assistance component on the planned
//! departure date, each with the rules that produced it as sentences a client can show.
//! Pure: the caller loads the household, the destination's status and the tariffs (of any
//! dates; only those valid on the departure date count) and passes them in.
//!
//! The rules, in order:
//! 1. Only travelling persons count. Minor = under 18 on the planned departure date.
//! 2. A destination on the suspension list on that date: nothing is granted.
//! 3. A visa-exempt destination (except for the status S programme, whose persons mostly come
//!    from a visa-exempt state), or an exclusion ground (crime or repeated offences, obvious
//!    abuse, sufficient assets, assistance already received): travel costs only.
//! 4. Otherwise each component of the programme's tariffs: per-person amounts by category
//!    (the `higher` rate when asked for and defined), plus per-family amounts, then the family
//!    cap (the smallest cap of the tariffs used).
//! 5. Cantonal start-up cash is halved for each person whose stay since entry is under three
//!    months on the departure date. The stay counts from the person's own entry date, or the
//!    principal's when the person has none (e.g. born in Switzerland); with no entry date at
//!    all it is taken as three months or more, since the result is a maximum that SEM may
//!    lower.
//!
//! `total_rappen` adds the components with a maximum; actual costs (travel costs) and amounts
//! decided by SEM (medical) have none and are not in it.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::assistance::{
    AssistanceAmount, AssistanceComponent, EligibilityAnswers, PersonCategory, ProcedurePhase,
    Programme, TariffBasis, TariffRate,
};
use crate::money::Rappen;
use crate::policy::{CaseView, FieldGroup};
use crate::tariff::{Tariff, TariffKey};
use crate::validation::{self, FieldError, Validation};

/// Age from which a person counts as an adult.
const ADULT_AGE: i32 = 18;
/// A stay shorter than this many months halves the cantonal start-up cash.
const SHORT_STAY_MONTHS: u32 = 3;
/// Longest override justification.
pub const JUSTIFICATION_MAX_CHARS: usize = 2_000;

/// One person of the household, as far as the entitlement depends on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdMember {
    pub date_of_birth: NaiveDate,
    /// Date of entry into Switzerland; `None` e.g. when born in Switzerland.
    pub entry_date: Option<NaiveDate>,
    pub travelling: bool,
    /// The principal applicant (whose entry date stands in for members without one).
    pub principal: bool,
}

impl HouseholdMember {
    /// Adult or minor on `date`. Someone born on 29 February comes of age on 1 March in
    /// other years.
    pub fn category_on(&self, date: NaiveDate) -> PersonCategory {
        let mut age = date.year() - self.date_of_birth.year();
        if (date.month(), date.day()) < (self.date_of_birth.month(), self.date_of_birth.day()) {
            age -= 1;
        }
        if age >= ADULT_AGE { PersonCategory::Adult } else { PersonCategory::Minor }
    }
}

/// The destination country and its status on the departure date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// On the visa-exempt list on the date.
    pub visa_exempt: bool,
    /// The reason, when assistance for the country is suspended on the date.
    pub suspension: Option<String>,
}

/// Everything the calculation depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementInput {
    pub programme: Programme,
    /// Needed for the federal-centre programme, whose tariffs depend on it.
    pub phase: Option<ProcedurePhase>,
    pub household: Vec<HouseholdMember>,
    pub destination: Destination,
    /// `None` while the counsellor has not answered; the maximum then assumes no exclusion
    /// ground and says so.
    pub eligibility: Option<EligibilityAnswers>,
    /// Ask for the higher travel-money rate (country or health reasons).
    pub higher_travel_money: bool,
    /// The planned departure date: ages, the stay and the tariffs are taken on this day.
    pub departure_date: NaiveDate,
    /// Tariff versions of any dates; only those valid on `departure_date` count.
    pub tariffs: Vec<Tariff>,
}

/// The maximum for one component, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ComponentEntitlement {
    pub component: AssistanceComponent,
    /// `null`: no maximum — actual costs (travel costs) or decided by SEM (medical).
    pub max_amount_rappen: Option<Rappen>,
    /// The amount comes from EXAMPLE tariffs, not an official table.
    pub is_example: bool,
    /// The rules that produced the amount, as sentences. A sentence derived from data the
    /// reader's role does not see (eligibility answers, the stay since entry, the procedure
    /// phase) is replaced by a neutral one.
    pub explanation: Vec<String>,
    /// For each sentence of `explanation`, the field groups of the case it is derived from
    /// (none: the public tariffs and lists, or data every reader of the case sees).
    #[serde(skip)]
    pub derived_from: Vec<&'static [FieldGroup]>,
}

/// The sentence that stands for explanations a reader's role may not see.
pub const WITHHELD_EXPLANATION: &str =
    "Further rules about this household apply that your role does not see.";

/// Sentences of an explanation with the field groups each is derived from.
#[derive(Debug, Default)]
struct Lines(Vec<(String, &'static [FieldGroup])>);

impl Lines {
    fn push(&mut self, derived_from: &'static [FieldGroup], text: String) {
        self.0.push((text, derived_from));
    }

    fn into_entitlement(
        self,
        component: AssistanceComponent,
        max_amount_rappen: Option<Rappen>,
        is_example: bool,
    ) -> ComponentEntitlement {
        let (explanation, derived_from) = self.0.into_iter().unzip();
        ComponentEntitlement { component, max_amount_rappen, is_example, explanation, derived_from }
    }
}

const ELIGIBILITY: &[FieldGroup] = &[FieldGroup::Eligibility];
const ASYLUM_PROCEDURE: &[FieldGroup] = &[FieldGroup::AsylumProcedure];
const PUBLIC: &[FieldGroup] = &[];

/// What a household is entitled to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Entitlement {
    /// The day whose tariffs and ages were used (the planned departure date).
    pub on: NaiveDate,
    pub components: Vec<ComponentEntitlement>,
    /// The sum of the components with a maximum.
    pub total_rappen: Rappen,
}

impl Entitlement {
    /// The entitlement as a reader with `view` may receive it: each sentence derived from a
    /// field group the view lacks is replaced by [`WITHHELD_EXPLANATION`] (once in a row).
    pub fn as_seen_with(mut self, view: &CaseView) -> Entitlement {
        for component in &mut self.components {
            let mut explanation = Vec::with_capacity(component.explanation.len());
            let mut derived_from = Vec::with_capacity(component.explanation.len());
            for (text, groups) in component.explanation.drain(..).zip(&component.derived_from) {
                if view.allows_all(groups) {
                    explanation.push(text);
                    derived_from.push(*groups);
                } else if explanation.last().map(String::as_str) != Some(WITHHELD_EXPLANATION) {
                    explanation.push(WITHHELD_EXPLANATION.to_owned());
                    derived_from.push(PUBLIC);
                }
            }
            component.explanation = explanation;
            component.derived_from = derived_from;
        }
        self
    }

    pub fn component(&self, component: AssistanceComponent) -> Option<&ComponentEntitlement> {
        self.components.iter().find(|c| c.component == component)
    }
}

/// Why no entitlement could be calculated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementError {
    /// The programme's tariffs depend on the procedure phase, and none was given.
    #[error("the procedure phase is needed: this programme's tariffs depend on it")]
    PhaseRequired,
    /// An amount beyond what an `i64` of Rappen holds: corrupt tariff data.
    #[error("the amounts overflow")]
    Overflow,
}

/// A travelling person as the tariffs see them.
struct Traveller {
    category: PersonCategory,
    /// `None`: no entry date known.
    short_stay: Option<bool>,
}

/// What keeps a component from being granted at all.
enum Block {
    Suspended(String),
    NoTraveller,
}

/// The maximum per component for `input`.
pub fn calculate(input: &EntitlementInput) -> Result<Entitlement, EntitlementError> {
    let date = input.departure_date;
    let tariffs = current_tariffs(input);
    if input.phase.is_none() && tariffs.iter().any(|t| t.phase.is_some()) {
        return Err(EntitlementError::PhaseRequired);
    }
    let travellers = travellers(input);
    let block = if let Some(reason) = &input.destination.suspension {
        Some(Block::Suspended(reason.clone()))
    } else if travellers.is_empty() {
        Some(Block::NoTraveller)
    } else {
        None
    };
    let travel_only = travel_only_reasons(input);

    let mut components = Vec::new();
    for component in AssistanceComponent::ALL {
        let rows: Vec<&Tariff> =
            tariffs.iter().copied().filter(|t| t.component == component).collect();
        if rows.is_empty() {
            continue;
        }
        let entry = match &block {
            Some(Block::Suspended(reason)) => zero(
                component,
                PUBLIC,
                format!(
                    "Return assistance to {} is suspended ({reason}): nothing is granted.",
                    input.destination.country
                ),
            ),
            Some(Block::NoTraveller) => {
                zero(component, PUBLIC, "No person of the household travels.".to_owned())
            }
            None if component != AssistanceComponent::TravelCosts && !travel_only.is_empty() => {
                let mut lines = Lines::default();
                for (text, groups) in &travel_only {
                    lines.push(groups, text.clone());
                }
                lines.into_entitlement(component, Some(Rappen::ZERO), false)
            }
            None => {
                let mut entry = component_entitlement(input, component, &rows, &travellers)?;
                if input.eligibility.is_none() && component != AssistanceComponent::TravelCosts {
                    entry.explanation.push(
                        "Eligibility is not answered yet: this maximum assumes no exclusion \
                         ground."
                            .to_owned(),
                    );
                    entry.derived_from.push(ELIGIBILITY);
                }
                entry
            }
        };
        components.push(entry);
    }
    let total = Rappen::checked_sum(components.iter().filter_map(|c| c.max_amount_rappen))
        .ok_or(EntitlementError::Overflow)?;
    Ok(Entitlement { on: date, components, total_rappen: total })
}

/// The programme's tariffs valid on the date, one version per key (the newest, should the
/// data ever hold two).
fn current_tariffs(input: &EntitlementInput) -> Vec<&Tariff> {
    let mut newest: HashMap<TariffKey, &Tariff> = HashMap::new();
    for tariff in input
        .tariffs
        .iter()
        .filter(|t| t.programme == input.programme && t.applies_on(input.departure_date))
    {
        newest
            .entry(tariff.key())
            .and_modify(|kept| {
                if tariff.valid_from > kept.valid_from {
                    *kept = tariff;
                }
            })
            .or_insert(tariff);
    }
    let mut tariffs: Vec<&Tariff> = newest.into_values().collect();
    // A stable order, so that explanations do not depend on the order of the input.
    tariffs.sort_by_key(|t| {
        (
            t.component,
            t.basis.as_str(),
            t.person_category.map(PersonCategory::as_str),
            t.phase.map(ProcedurePhase::as_str),
            t.rate.as_str(),
        )
    });
    tariffs
}

fn travellers(input: &EntitlementInput) -> Vec<Traveller> {
    let date = input.departure_date;
    let principal_entry = input.household.iter().find(|m| m.principal).and_then(|m| m.entry_date);
    input
        .household
        .iter()
        .filter(|m| m.travelling)
        .map(|m| Traveller {
            category: m.category_on(date),
            short_stay: m.entry_date.or(principal_entry).map(|entry| {
                entry
                    .checked_add_months(Months::new(SHORT_STAY_MONTHS))
                    .is_some_and(|end| date < end)
            }),
        })
        .collect()
}

/// Why only travel costs are granted, each with what it is derived from; empty when
/// financial assistance is possible.
fn travel_only_reasons(input: &EntitlementInput) -> Vec<(String, &'static [FieldGroup])> {
    let mut reasons = Vec::new();
    if input.destination.visa_exempt && input.programme != Programme::StatusS {
        reasons.push((
            format!(
                "{} is on the visa-exempt list: its nationals get travel costs only.",
                input.destination.country
            ),
            PUBLIC,
        ));
    }
    let grounds = input.eligibility.map(|e| e.exclusion_grounds()).unwrap_or_default();
    if !grounds.is_empty() {
        reasons.push((
            format!(
                "Excluded from financial assistance ({}): travel costs only.",
                grounds.join(", ")
            ),
            ELIGIBILITY,
        ));
    }
    if !reasons.is_empty() {
        reasons.push(("SEM may decide otherwise with a justification.".to_owned(), PUBLIC));
    }
    reasons
}

fn zero(
    component: AssistanceComponent,
    derived_from: &'static [FieldGroup],
    reason: String,
) -> ComponentEntitlement {
    let mut lines = Lines::default();
    lines.push(derived_from, reason);
    lines.into_entitlement(component, Some(Rappen::ZERO), false)
}

fn noun(category: Option<PersonCategory>, count: usize) -> String {
    let word = match category {
        Some(PersonCategory::Adult) => "adult",
        Some(PersonCategory::Minor) => "minor",
        None => "person",
    };
    if count == 1 { format!("1 {word}") } else { format!("{count} {word}s") }
}

fn component_entitlement(
    input: &EntitlementInput,
    component: AssistanceComponent,
    rows: &[&Tariff],
    travellers: &[Traveller],
) -> Result<ComponentEntitlement, EntitlementError> {
    let mut explanation = Lines::default();
    let rows: Vec<&Tariff> =
        rows.iter().copied().filter(|t| t.phase.is_none() || t.phase == input.phase).collect();
    // Amounts by procedure phase tell the phase.
    let by_phase = if rows.iter().any(|t| t.phase.is_some()) { ASYLUM_PROCEDURE } else { PUBLIC };
    let higher = input.higher_travel_money && rows.iter().any(|t| t.rate == TariffRate::Higher);
    if higher {
        explanation.push(PUBLIC, "Higher rate for country or health reasons.".to_owned());
    } else if input.higher_travel_money && component == AssistanceComponent::TravelMoney {
        explanation.push(
            PUBLIC,
            "No higher rate is defined for this programme: the standard rate applies.".to_owned(),
        );
    }
    let wanted = if higher { TariffRate::Higher } else { TariffRate::Standard };
    let rows: Vec<&Tariff> = rows.into_iter().filter(|t| t.rate == wanted).collect();
    if rows.is_empty() {
        let phase = input.phase.map_or_else(String::new, |p| format!(" in procedure {p}"));
        let derived_from = if input.phase.is_some() { ASYLUM_PROCEDURE } else { PUBLIC };
        return Ok(zero(
            component,
            derived_from,
            format!("No {} is granted{phase}.", component.label()),
        ));
    }
    let is_example = rows.iter().any(|t| t.is_example);

    let max = if rows.iter().any(|t| t.amount_rappen.is_none()) {
        explanation.push(
            PUBLIC,
            match component {
                AssistanceComponent::TravelCosts => {
                    "Actual ticket costs, paid by SEM, also when no other assistance is granted."
                }
                AssistanceComponent::Medical => {
                    "Amount decided by SEM, on a diagnosis and a prescription (medicines, \
                     treatment after return, medical escort)."
                }
                _ => "Amount decided by SEM.",
            }
            .to_owned(),
        );
        None
    } else {
        Some(capped_amount(input, component, &rows, travellers, by_phase, &mut explanation)?)
    };

    if component == AssistanceComponent::ReintegrationProject {
        explanation.push(
            PUBLIC,
            if input.programme == Programme::Cantonal {
                "Delivered in kind (business, training, housing); SEM may raise it with a \
             justification."
                    .to_owned()
            } else {
                "Delivered in kind (business, training, housing).".to_owned()
            },
        );
    }
    let mut sources: Vec<String> = Vec::new();
    for row in &rows {
        let line = format!("Source: {} (tariff valid from {}).", row.source, row.valid_from);
        if !sources.contains(&line) {
            sources.push(line);
        }
    }
    for source in sources {
        explanation.push(by_phase, source);
    }
    if is_example {
        explanation.push(
            PUBLIC,
            "EXAMPLE values: the official table for this programme is not public.".to_owned(),
        );
    }
    Ok(explanation.into_entitlement(component, max, is_example))
}

/// The sum of per-person and per-family amounts, halved where the stay is short, capped.
fn capped_amount(
    input: &EntitlementInput,
    component: AssistanceComponent,
    rows: &[&Tariff],
    travellers: &[Traveller],
    by_phase: &'static [FieldGroup],
    explanation: &mut Lines,
) -> Result<Rappen, EntitlementError> {
    let halving =
        input.programme == Programme::Cantonal && component == AssistanceComponent::StartupCash;
    // (category of the row, halved, amount per person) → number of persons
    let mut groups: BTreeMap<(u8, bool, Rappen), (Option<PersonCategory>, usize)> = BTreeMap::new();
    let mut without_tariff: BTreeMap<u8, (PersonCategory, usize)> = BTreeMap::new();
    let (mut short, mut unknown) = (0, 0);
    for traveller in travellers {
        let row = rows
            .iter()
            .filter(|t| t.basis == TariffBasis::PerPerson)
            .find(|t| t.person_category == Some(traveller.category))
            .or_else(|| {
                rows.iter()
                    .filter(|t| t.basis == TariffBasis::PerPerson)
                    .find(|t| t.person_category.is_none())
            });
        let Some(row) = row else {
            // Only when some per-person row exists does a person without one matter.
            if rows.iter().any(|t| t.basis == TariffBasis::PerPerson) {
                without_tariff
                    .entry(category_order(Some(traveller.category)))
                    .or_insert((traveller.category, 0))
                    .1 += 1;
            }
            continue;
        };
        let Some(amount) = row.amount_rappen else { continue };
        let halved = halving && traveller.short_stay == Some(true);
        if halving {
            match traveller.short_stay {
                Some(true) => short += 1,
                None => unknown += 1,
                Some(false) => {}
            }
        }
        let amount = if halved { amount.half() } else { amount };
        groups
            .entry((category_order(row.person_category), halved, amount))
            .or_insert((row.person_category, 0))
            .1 += 1;
    }

    let mut terms = Vec::new();
    let mut sum = Rappen::ZERO;
    for ((_, halved, amount), (category, count)) in &groups {
        let count_i64 = i64::try_from(*count).map_err(|_| EntitlementError::Overflow)?;
        let subtotal = amount.checked_mul(count_i64).ok_or(EntitlementError::Overflow)?;
        sum = sum.checked_add(subtotal).ok_or(EntitlementError::Overflow)?;
        let halved = if *halved { " (halved)" } else { "" };
        terms.push(format!("{} × {amount}{halved}", noun(*category, *count)));
    }
    for row in rows.iter().filter(|t| t.basis == TariffBasis::PerFamily) {
        if let Some(amount) = row.amount_rappen {
            sum = sum.checked_add(amount).ok_or(EntitlementError::Overflow)?;
            terms.push(format!("{amount} per household"));
        }
    }
    // A halved amount tells a stay since entry under three months.
    let sum_from = if short > 0 { ASYLUM_PROCEDURE } else { by_phase };
    match terms.as_slice() {
        [] => explanation.push(PUBLIC, format!("No tariff applies: {}.", Rappen::ZERO)),
        [only] if only.ends_with("per household") => explanation
            .push(sum_from, format!("Up to {only} (a single person or a family): {sum}.")),
        _ => explanation.push(sum_from, format!("{} = {sum}.", terms.join(" + "))),
    }
    for (category, count) in without_tariff.values() {
        explanation.push(
            PUBLIC,
            format!("No tariff for {}: nothing for them.", noun(Some(*category), *count)),
        );
    }
    if short > 0 {
        explanation.push(
            ASYLUM_PROCEDURE,
            format!(
                "Stay since entry under {SHORT_STAY_MONTHS} months on the departure date for {}: \
             their start-up cash is halved (cantonal practice).",
                noun(None, short)
            ),
        );
    }
    if unknown > 0 {
        explanation.push(
            ASYLUM_PROCEDURE,
            format!(
                "No entry date recorded for {}: the stay is taken as {SHORT_STAY_MONTHS} months or \
             more.",
                noun(None, unknown)
            ),
        );
    }
    let cap = rows.iter().filter_map(|t| t.family_cap_rappen).min();
    Ok(match cap {
        Some(cap) if sum > cap => {
            explanation.push(sum_from, format!("Family cap {cap} applied."));
            cap
        }
        Some(cap) if sum == cap => {
            explanation.push(PUBLIC, format!("This is the family cap of {cap}."));
            sum
        }
        Some(cap) => {
            explanation.push(PUBLIC, format!("Below the family cap of {cap}."));
            sum
        }
        None => sum,
    })
}

fn category_order(category: Option<PersonCategory>) -> u8 {
    match category {
        Some(PersonCategory::Adult) => 0,
        Some(PersonCategory::Minor) => 1,
        None => 2,
    }
}

/// Checks SEM's approved amounts against the entitlement. An amount above the maximum of its
/// component needs an `override_justification`; a component the entitlement does not offer
/// cannot be approved at all. Field paths are those of the approve action's body
/// (`approved_assistance[i].amount_rappen`). Returns the components approved above the
/// entitlement (approved by override), to be recorded with the decision.
pub fn check_approval(
    entitlement: &Entitlement,
    approved: &[AssistanceAmount],
    override_justification: Option<&str>,
) -> Result<Vec<AssistanceComponent>, Vec<FieldError>> {
    let mut v = Validation::new();
    let justified = match override_justification {
        None => false,
        Some(text) => {
            match validation::text("override_justification", text, JUSTIFICATION_MAX_CHARS) {
                Ok(_) => true,
                // A blank justification is no justification.
                Err(e) if e.code == "required" => false,
                Err(e) => {
                    v.push(e.field, &e.code, e.message);
                    false
                }
            }
        }
    };
    let mut overridden = Vec::new();
    for (i, item) in approved.iter().enumerate() {
        let field = format!("approved_assistance[{i}]");
        if approved[..i].iter().any(|a| a.component == item.component) {
            v.push(
                format!("{field}.component"),
                "duplicate",
                format!("{} is approved twice", item.component),
            );
            continue;
        }
        let Some(entitled) = entitlement.component(item.component) else {
            v.push(
                format!("{field}.component"),
                "not_offered",
                format!("{} is not part of this programme's assistance", item.component),
            );
            continue;
        };
        let amount = item.amount_rappen;
        if amount.is_negative() {
            v.push(
                format!("{field}.amount_rappen"),
                "negative",
                format!("{field}.amount_rappen must not be negative"),
            );
            continue;
        }
        if let Some(max) = entitled.max_amount_rappen
            && amount > max
        {
            if justified {
                overridden.push(item.component);
            } else {
                v.push(
                    format!("{field}.amount_rappen"),
                    "above_entitlement",
                    format!(
                        "{amount} is above the entitlement of {max} for {}; give an \
                         override_justification to approve more",
                        item.component.label()
                    ),
                );
            }
        }
    }
    v.finish(overridden)
}

/// The cash handed over at departure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashPayout {
    pub startup_cash_rappen: Rappen,
    pub travel_money_rappen: Rappen,
}

/// Checks the cash paid at departure against what SEM approved: start-up cash and travel
/// money each within their approved amount (nothing when not approved). Field paths are
/// those of the confirm_departure body (`payout.startup_cash_rappen`).
pub fn check_payout(
    approved: &[AssistanceAmount],
    payout: &CashPayout,
) -> Result<(), Vec<FieldError>> {
    let mut v = Validation::new();
    for (field, component, paid) in [
        (
            "payout.startup_cash_rappen",
            AssistanceComponent::StartupCash,
            payout.startup_cash_rappen,
        ),
        (
            "payout.travel_money_rappen",
            AssistanceComponent::TravelMoney,
            payout.travel_money_rappen,
        ),
    ] {
        if paid.is_negative() {
            v.push(field, "negative", format!("{field} must not be negative"));
            continue;
        }
        let Some(limit) = Rappen::checked_sum(
            approved.iter().filter(|a| a.component == component).map(|a| a.amount_rappen),
        ) else {
            v.push(
                field,
                "above_approval",
                format!("the approved {} overflows", component.label()),
            );
            continue;
        };
        if paid > limit {
            v.push(
                field,
                "above_approval",
                format!("{paid} is more than the {limit} approved for {}", component.label()),
            );
        }
    }
    v.finish(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assistance::{PersonCategory::*, ProcedurePhase::*, Programme::*};
    use AssistanceComponent::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[expect(clippy::too_many_arguments, reason = "one row of a tariff table")]
    fn row(
        programme: Programme,
        component: AssistanceComponent,
        person_category: Option<PersonCategory>,
        phase: Option<ProcedurePhase>,
        rate: TariffRate,
        amount_chf: Option<u32>,
        basis: TariffBasis,
        cap_chf: Option<u32>,
    ) -> Tariff {
        Tariff {
            programme,
            component,
            person_category,
            phase,
            rate,
            amount_rappen: amount_chf.map(Rappen::from_chf),
            basis,
            family_cap_rappen: cap_chf.map(Rappen::from_chf),
            valid_from: if programme == StatusS { date(2022, 3, 12) } else { date(2019, 3, 1) },
            valid_to: None,
            is_example: phase.is_some(),
            source: format!("{programme} {component}"),
        }
    }

    /// The tariffs the migration seeds.
    fn seeded() -> Vec<Tariff> {
        use TariffBasis::{PerFamily as Family, PerPerson as Person};
        use TariffRate::{Higher, Standard};
        let mut rows = Vec::new();
        for programme in [Cantonal, FederalCentre] {
            rows.extend([
                row(programme, TravelMoney, None, None, Standard, Some(100), Person, Some(500)),
                row(programme, TravelMoney, None, None, Higher, Some(500), Person, Some(1_000)),
                row(programme, TravelCosts, None, None, Standard, None, Person, None),
                row(programme, Medical, None, None, Standard, None, Person, None),
            ]);
        }
        rows.extend([
            row(Cantonal, StartupCash, Some(Adult), None, Standard, Some(1_000), Person, None),
            row(Cantonal, StartupCash, Some(Minor), None, Standard, Some(500), Person, None),
            row(Cantonal, ReintegrationProject, None, None, Standard, Some(3_000), Family, None),
            row(StatusS, StartupCash, Some(Adult), None, Standard, Some(500), Person, Some(2_000)),
            row(StatusS, StartupCash, Some(Minor), None, Standard, Some(250), Person, Some(2_000)),
            row(StatusS, TravelCosts, None, None, Standard, None, Person, None),
        ]);
        for (phase, adult, project) in [
            (Phase1, 1_000, Some(3_000)),
            (Phase2, 750, Some(2_000)),
            (Phase3, 500, Some(1_000)),
            (Phase4, 250, None),
        ] {
            let p = Some(phase);
            rows.push(row(
                FederalCentre,
                StartupCash,
                Some(Adult),
                p,
                Standard,
                Some(adult),
                Person,
                None,
            ));
            rows.push(row(
                FederalCentre,
                StartupCash,
                Some(Minor),
                p,
                Standard,
                Some(adult / 2),
                Person,
                None,
            ));
            if let Some(project) = project {
                rows.push(row(
                    FederalCentre,
                    ReintegrationProject,
                    None,
                    p,
                    Standard,
                    Some(project),
                    Family,
                    None,
                ));
            }
        }
        rows
    }

    const DEPARTURE: (i32, u32, u32) = (2026, 12, 15);

    fn departure() -> NaiveDate {
        date(DEPARTURE.0, DEPARTURE.1, DEPARTURE.2)
    }

    fn person(born: NaiveDate, entry: Option<NaiveDate>) -> HouseholdMember {
        HouseholdMember {
            date_of_birth: born,
            entry_date: entry,
            travelling: true,
            principal: false,
        }
    }

    /// `adults` adults and `minors` minors, all entered on `entry`; the first is the principal.
    fn household(adults: usize, minors: usize, entry: NaiveDate) -> Vec<HouseholdMember> {
        let mut members: Vec<_> = (0..adults)
            .map(|_| person(date(1985, 6, 1), Some(entry)))
            .chain((0..minors).map(|_| person(date(2015, 6, 1), Some(entry))))
            .collect();
        if let Some(first) = members.first_mut() {
            first.principal = true;
        }
        members
    }

    fn input(programme: Programme, household: Vec<HouseholdMember>) -> EntitlementInput {
        EntitlementInput {
            programme,
            phase: None,
            household,
            destination: Destination {
                country: "IQ".to_owned(),
                visa_exempt: false,
                suspension: None,
            },
            eligibility: Some(EligibilityAnswers::default()),
            higher_travel_money: false,
            departure_date: departure(),
            tariffs: seeded(),
        }
    }

    fn max(entitlement: &Entitlement, component: AssistanceComponent) -> Option<Option<i64>> {
        entitlement.component(component).map(|c| c.max_amount_rappen.map(Rappen::get))
    }

    fn calc(input: &EntitlementInput) -> Entitlement {
        calculate(input).expect("an entitlement")
    }

    fn long_ago() -> NaiveDate {
        date(2024, 2, 1)
    }

    #[test]
    fn cantonal_family_of_two_adults_and_three_minors_after_a_long_stay() {
        let e = calc(&input(Cantonal, household(2, 3, long_ago())));
        assert_eq!(max(&e, StartupCash), Some(Some(350_000)));
        assert_eq!(max(&e, TravelMoney), Some(Some(50_000)));
        assert_eq!(max(&e, ReintegrationProject), Some(Some(300_000)));
        assert_eq!(max(&e, TravelCosts), Some(None));
        assert_eq!(max(&e, Medical), Some(None));
        assert_eq!(e.total_rappen, Rappen::from_chf(7_000));
        assert_eq!(e.on, departure());
        let startup = &e.component(StartupCash).expect("startup").explanation;
        assert_eq!(startup[0], "2 adults × CHF 1,000.00 + 3 minors × CHF 500.00 = CHF 3,500.00.");
        let travel = &e.component(TravelMoney).expect("travel money").explanation;
        assert_eq!(travel[0], "5 persons × CHF 100.00 = CHF 500.00.");
        assert_eq!(travel[1], "This is the family cap of CHF 500.00.");
        let project = &e.component(ReintegrationProject).expect("project").explanation;
        assert_eq!(
            project[0],
            "Up to CHF 3,000.00 per household (a single person or a family): CHF 3,000.00."
        );
        assert!(e.components.iter().all(|c| !c.is_example));
        let order: Vec<_> = e.components.iter().map(|c| c.component).collect();
        assert_eq!(order, [StartupCash, ReintegrationProject, Medical, TravelMoney, TravelCosts]);
    }

    #[test]
    fn the_same_family_after_a_stay_under_three_months_gets_half_the_startup_cash() {
        let e = calc(&input(Cantonal, household(2, 3, date(2026, 10, 1))));
        assert_eq!(max(&e, StartupCash), Some(Some(175_000)));
        let startup = &e.component(StartupCash).expect("startup").explanation;
        assert_eq!(
            startup[0],
            "2 adults × CHF 500.00 (halved) + 3 minors × CHF 250.00 (halved) = CHF 1,750.00."
        );
        assert!(startup[1].contains("under 3 months") && startup[1].contains("5 persons"));
        // Only the start-up cash is halved.
        assert_eq!(max(&e, TravelMoney), Some(Some(50_000)));
        assert_eq!(max(&e, ReintegrationProject), Some(Some(300_000)));
    }

    #[test]
    fn three_months_to_the_day_is_no_longer_a_short_stay() {
        let e = calc(&input(Cantonal, household(1, 0, date(2026, 9, 15))));
        assert_eq!(max(&e, StartupCash), Some(Some(100_000)));
        let e = calc(&input(Cantonal, household(1, 0, date(2026, 9, 16))));
        assert_eq!(max(&e, StartupCash), Some(Some(50_000)));
    }

    #[test]
    fn the_stay_counts_per_person_and_falls_back_to_the_principals_entry() {
        // The principal arrived long ago; a spouse joined recently; a baby born here has no
        // entry date and counts from the principal's.
        let mut members = household(1, 0, long_ago());
        members.push(person(date(1990, 1, 1), Some(date(2026, 11, 1))));
        members.push(person(date(2026, 5, 1), None));
        let e = calc(&input(Cantonal, members));
        // 1,000 + 500 (spouse halved) + 500 (minor, full)
        assert_eq!(max(&e, StartupCash), Some(Some(200_000)));
        let startup = &e.component(StartupCash).expect("startup").explanation;
        assert_eq!(
            startup[0],
            "1 adult × CHF 1,000.00 + 1 adult × CHF 500.00 (halved) + 1 minor × CHF 500.00 = CHF 2,000.00."
        );
    }

    #[test]
    fn without_any_entry_date_the_stay_is_taken_as_long() {
        let mut members = household(1, 0, long_ago());
        members[0].entry_date = None;
        let e = calc(&input(Cantonal, members));
        assert_eq!(max(&e, StartupCash), Some(Some(100_000)));
        let startup = &e.component(StartupCash).expect("startup").explanation;
        assert!(startup.iter().any(|l| l.starts_with("No entry date recorded for 1 person")));
    }

    #[test]
    fn status_s_family_of_three_adults_and_three_children_is_capped_at_two_thousand() {
        let mut i = input(StatusS, household(3, 3, long_ago()));
        // Most persons with status S come from a visa-exempt state: the programme applies.
        i.destination =
            Destination { country: "UA".to_owned(), visa_exempt: true, suspension: None };
        let e = calc(&i);
        assert_eq!(max(&e, StartupCash), Some(Some(200_000)));
        let startup = &e.component(StartupCash).expect("startup").explanation;
        assert_eq!(startup[0], "3 adults × CHF 500.00 + 3 minors × CHF 250.00 = CHF 2,250.00.");
        assert_eq!(startup[1], "Family cap CHF 2,000.00 applied.");
        // Not halved after a short stay: that is cantonal practice.
        let e = calc(&input(StatusS, household(1, 0, date(2026, 12, 1))));
        assert_eq!(max(&e, StartupCash), Some(Some(50_000)));
        assert_eq!(max(&e, TravelMoney), None);
        assert_eq!(max(&e, TravelCosts), Some(None));
    }

    #[test]
    fn a_single_adult_gets_one_thousand_and_one_hundred() {
        let e = calc(&input(Cantonal, household(1, 0, long_ago())));
        assert_eq!(max(&e, StartupCash), Some(Some(100_000)));
        assert_eq!(max(&e, TravelMoney), Some(Some(10_000)));
        assert_eq!(max(&e, ReintegrationProject), Some(Some(300_000)));
        let travel = &e.component(TravelMoney).expect("travel").explanation;
        assert_eq!(travel[0], "1 person × CHF 100.00 = CHF 100.00.");
        assert_eq!(travel[1], "Below the family cap of CHF 500.00.");
    }

    #[test]
    fn a_visa_exempt_destination_gets_travel_costs_only() {
        let mut i = input(Cantonal, household(2, 3, long_ago()));
        i.destination =
            Destination { country: "RS".to_owned(), visa_exempt: true, suspension: None };
        let e = calc(&i);
        assert_eq!(max(&e, TravelCosts), Some(None));
        for c in [StartupCash, ReintegrationProject, Medical, TravelMoney] {
            assert_eq!(max(&e, c), Some(Some(0)), "{c}");
            assert!(
                e.component(c).expect("listed").explanation[0]
                    .contains("RS is on the visa-exempt list")
            );
        }
        assert_eq!(e.total_rappen, Rappen::ZERO);
    }

    /// The view of swissREPAT: assistance and travel, not the asylum procedure or eligibility.
    fn travel_view() -> CaseView {
        CaseView {
            asylum_procedure: false,
            eligibility: false,
            vulnerabilities: false,
            review: false,
            reintegration: false,
            medical: crate::policy::MedicalView::TravelFitness,
            ..CaseView::FULL
        }
    }

    #[test]
    fn a_reader_without_the_asylum_procedure_does_not_learn_of_a_short_stay() {
        let e = calc(&input(Cantonal, household(2, 3, date(2026, 10, 1))));
        let full = e.clone().as_seen_with(&CaseView::FULL);
        assert_eq!(full, e, "the full view sees every sentence");
        let seen = e.as_seen_with(&travel_view());
        let startup = &seen.component(StartupCash).expect("startup").explanation;
        assert!(
            startup.iter().all(|l| !l.contains("halved") && !l.contains("entry")),
            "{startup:?}"
        );
        assert_eq!(startup[0], WITHHELD_EXPLANATION);
        assert_eq!(startup.iter().filter(|l| *l == WITHHELD_EXPLANATION).count(), 1);
        // What the tariffs alone say stays.
        let travel = &seen.component(TravelMoney).expect("travel").explanation;
        assert_eq!(travel[0], "5 persons × CHF 100.00 = CHF 500.00.");
        // The amounts themselves are assistance data, which this reader sees.
        assert_eq!(max(&seen, StartupCash), Some(Some(175_000)));
    }

    #[test]
    fn a_reader_without_the_eligibility_answers_does_not_learn_of_an_exclusion_ground() {
        let mut i = input(Cantonal, household(1, 0, long_ago()));
        i.eligibility = Some(EligibilityAnswers { criminal_offences: true, ..Default::default() });
        let seen = calc(&i).as_seen_with(&travel_view());
        for component in &seen.components {
            assert!(
                component
                    .explanation
                    .iter()
                    .all(|l| !l.contains("crime") && !l.contains("Excluded")),
                "{:?}",
                component.explanation
            );
            assert_eq!(component.explanation.len(), component.derived_from.len());
        }
        i.eligibility = None;
        let seen = calc(&i).as_seen_with(&travel_view());
        let startup = &seen.component(StartupCash).expect("startup").explanation;
        assert!(startup.iter().all(|l| !l.starts_with("Eligibility")), "{startup:?}");
    }

    #[test]
    fn federal_centre_amounts_by_phase_are_explained_only_with_the_asylum_procedure() {
        let mut i = input(FederalCentre, household(1, 0, long_ago()));
        i.phase = Some(Phase1);
        let e = calc(&i);
        let seen = e.clone().as_seen_with(&travel_view());
        for (full, seen) in e.components.iter().zip(&seen.components) {
            for line in &seen.explanation {
                assert!(!line.contains("phase"), "{line}");
            }
            if full.explanation.iter().any(|l| l.contains("phase")) {
                assert!(seen.explanation.iter().any(|l| l == WITHHELD_EXPLANATION));
            }
            assert!(seen.derived_from.iter().all(|groups| travel_view().allows_all(groups)));
        }
        // The amount per person differs by phase: its sentence is withheld.
        let startup = &seen.component(StartupCash).expect("startup").explanation;
        assert_eq!(startup[0], WITHHELD_EXPLANATION, "{startup:?}");
    }

    #[test]
    fn an_exclusion_ground_leaves_travel_costs_only() {
        let mut i = input(Cantonal, household(1, 0, long_ago()));
        i.eligibility = Some(EligibilityAnswers {
            criminal_offences: true,
            sufficient_assets: true,
            ..Default::default()
        });
        let e = calc(&i);
        assert_eq!(max(&e, StartupCash), Some(Some(0)));
        assert_eq!(max(&e, TravelMoney), Some(Some(0)));
        assert_eq!(max(&e, TravelCosts), Some(None));
        assert_eq!(
            e.component(StartupCash).expect("startup").explanation,
            [
                "Excluded from financial assistance (a crime or repeated offences, sufficient assets of their own): travel costs only.",
                "SEM may decide otherwise with a justification.",
            ]
        );
    }

    #[test]
    fn unanswered_eligibility_is_said_to_be_assumed_clear() {
        let mut i = input(Cantonal, household(1, 0, long_ago()));
        i.eligibility = None;
        let e = calc(&i);
        assert_eq!(max(&e, StartupCash), Some(Some(100_000)));
        assert!(
            e.component(StartupCash)
                .expect("startup")
                .explanation
                .iter()
                .any(|l| l.starts_with("Eligibility is not answered yet"))
        );
        assert!(
            !e.component(TravelCosts)
                .expect("travel")
                .explanation
                .iter()
                .any(|l| l.starts_with("Eligibility"))
        );
    }

    #[test]
    fn a_suspended_destination_gets_nothing_not_even_travel_costs() {
        let mut i = input(Cantonal, household(2, 1, long_ago()));
        i.destination.suspension = Some("security situation".to_owned());
        let e = calc(&i);
        assert!(e.components.iter().all(|c| c.max_amount_rappen == Some(Rappen::ZERO)));
        assert_eq!(
            e.component(TravelCosts).expect("travel").explanation,
            ["Return assistance to IQ is suspended (security situation): nothing is granted."]
        );
    }

    #[test]
    fn persons_who_do_not_travel_do_not_count() {
        let mut members = household(2, 3, long_ago());
        members[1].travelling = false;
        members[4].travelling = false;
        let e = calc(&input(Cantonal, members));
        assert_eq!(max(&e, StartupCash), Some(Some(200_000)));
        assert_eq!(max(&e, TravelMoney), Some(Some(30_000)));
        let mut nobody = household(1, 0, long_ago());
        nobody[0].travelling = false;
        let e = calc(&input(Cantonal, nobody));
        assert!(e.components.iter().all(|c| c.max_amount_rappen == Some(Rappen::ZERO)));
    }

    #[test]
    fn a_minor_is_under_eighteen_on_the_departure_date() {
        let on = departure();
        let turning_18 = person(date(2008, 12, 15), None);
        assert_eq!(turning_18.category_on(on), Adult);
        assert_eq!(person(date(2008, 12, 16), None).category_on(on), Minor);
        let leap = person(date(2008, 2, 29), None);
        assert_eq!(leap.category_on(date(2026, 2, 28)), Minor);
        assert_eq!(leap.category_on(date(2026, 3, 1)), Adult);
        let e = calc(&input(Cantonal, vec![HouseholdMember { principal: true, ..turning_18 }]));
        assert_eq!(max(&e, StartupCash), Some(Some(100_000)));
    }

    #[test]
    fn the_higher_travel_money_rate_applies_when_asked_for() {
        let mut i = input(Cantonal, household(1, 0, long_ago()));
        i.higher_travel_money = true;
        assert_eq!(max(&calc(&i), TravelMoney), Some(Some(50_000)));
        i.household = household(2, 3, long_ago());
        let e = calc(&i);
        assert_eq!(max(&e, TravelMoney), Some(Some(100_000)));
        let travel = &e.component(TravelMoney).expect("travel").explanation;
        assert_eq!(travel[0], "Higher rate for country or health reasons.");
        assert_eq!(travel[1], "5 persons × CHF 500.00 = CHF 2,500.00.");
        assert_eq!(travel[2], "Family cap CHF 1,000.00 applied.");
    }

    #[test]
    fn a_tariff_valid_from_next_year_does_not_apply_today() {
        let mut i = input(Cantonal, household(1, 0, long_ago()));
        for t in
            i.tariffs.iter_mut().filter(|t| t.programme == Cantonal && t.component == StartupCash)
        {
            t.valid_to = Some(date(2027, 1, 1));
        }
        let mut next = row(
            Cantonal,
            StartupCash,
            Some(Adult),
            None,
            TariffRate::Standard,
            Some(1_200),
            TariffBasis::PerPerson,
            None,
        );
        next.valid_from = date(2027, 1, 1);
        i.tariffs.push(next);
        assert_eq!(max(&calc(&i), StartupCash), Some(Some(100_000)));
        i.departure_date = date(2027, 1, 1);
        assert_eq!(max(&calc(&i), StartupCash), Some(Some(120_000)));
        let startup = calc(&i).component(StartupCash).expect("startup").explanation.clone();
        assert!(
            startup.contains(
                &"Source: cantonal startup_cash (tariff valid from 2027-01-01).".to_owned()
            ),
            "{startup:?}"
        );
    }

    #[test]
    fn federal_centre_amounts_depend_on_the_phase_and_are_examples() {
        let mut i = input(FederalCentre, household(2, 1, long_ago()));
        assert_eq!(calculate(&i), Err(EntitlementError::PhaseRequired));
        i.phase = Some(Phase1);
        let e = calc(&i);
        assert_eq!(max(&e, StartupCash), Some(Some(250_000)));
        assert_eq!(max(&e, ReintegrationProject), Some(Some(300_000)));
        assert!(e.component(StartupCash).expect("startup").is_example);
        assert!(!e.component(TravelMoney).expect("travel").is_example);
        assert!(
            e.component(StartupCash)
                .expect("startup")
                .explanation
                .iter()
                .any(|l| l.starts_with("EXAMPLE values"))
        );
        // No increase by SEM is mentioned outside the cantonal programme.
        assert!(
            !e.component(ReintegrationProject)
                .expect("project")
                .explanation
                .iter()
                .any(|l| l.contains("raise"))
        );
        i.phase = Some(Phase4);
        let e = calc(&i);
        assert_eq!(max(&e, StartupCash), Some(Some(62_500)));
        assert_eq!(max(&e, ReintegrationProject), Some(Some(0)));
        assert_eq!(
            e.component(ReintegrationProject).expect("project").explanation,
            ["No reintegration project is granted in procedure phase_4."]
        );
        // Not halved after a short stay: that is cantonal practice.
        i.household = household(1, 0, date(2026, 12, 1));
        assert_eq!(max(&calc(&i), StartupCash), Some(Some(25_000)));
    }

    #[test]
    fn persons_of_a_category_without_a_tariff_get_nothing_and_are_named() {
        let mut i = input(Cantonal, household(1, 2, long_ago()));
        i.tariffs.retain(|t| !(t.component == StartupCash && t.person_category == Some(Minor)));
        let e = calc(&i);
        assert_eq!(max(&e, StartupCash), Some(Some(100_000)));
        assert!(
            e.component(StartupCash)
                .expect("startup")
                .explanation
                .contains(&"No tariff for 2 minors: nothing for them.".to_owned())
        );
    }

    fn entitlement_of_two_adults() -> Entitlement {
        calc(&input(Cantonal, household(2, 0, long_ago())))
    }

    fn amount(component: AssistanceComponent, chf: u32) -> AssistanceAmount {
        AssistanceAmount { component, amount_rappen: Rappen::from_chf(chf) }
    }

    #[test]
    fn an_approval_within_the_entitlement_passes() {
        let e = entitlement_of_two_adults();
        let approved = [
            amount(StartupCash, 2_000),
            amount(TravelMoney, 150),
            amount(TravelCosts, 1_840),
            amount(Medical, 400),
        ];
        assert_eq!(check_approval(&e, &approved, None), Ok(vec![]));
        assert_eq!(check_approval(&e, &[], None), Ok(vec![]));
    }

    #[test]
    fn an_approval_above_the_entitlement_needs_a_justification() {
        let e = entitlement_of_two_adults();
        let approved = [amount(StartupCash, 1_000), amount(ReintegrationProject, 5_000)];
        let errors = check_approval(&e, &approved, None).expect_err("above");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "approved_assistance[1].amount_rappen");
        assert_eq!(errors[0].code, "above_entitlement");
        assert_eq!(
            errors[0].message,
            "CHF 5,000.00 is above the entitlement of CHF 3,000.00 for reintegration project; give an override_justification to approve more"
        );
        let blank = check_approval(&e, &approved, Some("  ")).expect_err("blank is none");
        assert_eq!(blank[0].code, "above_entitlement");
        assert_eq!(
            check_approval(&e, &approved, Some("Business plan for a bakery, costed by IOM")),
            Ok(vec![ReintegrationProject])
        );
    }

    #[test]
    fn an_approval_names_every_invalid_item() {
        let e = entitlement_of_two_adults();
        let mut negative = amount(TravelMoney, 0);
        negative.amount_rappen = Rappen::new(-1);
        let approved = [amount(StartupCash, 1_000), amount(StartupCash, 500), negative];
        let long = "x".repeat(JUSTIFICATION_MAX_CHARS + 1);
        let errors = check_approval(&e, &approved, Some(&long)).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("override_justification", "too_long"),
                ("approved_assistance[1].component", "duplicate"),
                ("approved_assistance[2].amount_rappen", "negative"),
            ]
        );
        let status_s = calc(&input(StatusS, household(1, 0, long_ago())));
        let errors = check_approval(&status_s, &[amount(TravelMoney, 100)], Some("because"))
            .expect_err("not offered");
        assert_eq!(errors[0].field, "approved_assistance[0].component");
        assert_eq!(errors[0].code, "not_offered");
    }

    #[test]
    fn an_excluded_household_can_get_more_than_zero_only_by_override() {
        let mut i = input(Cantonal, household(1, 0, long_ago()));
        i.eligibility = Some(EligibilityAnswers { prior_assistance: true, ..Default::default() });
        let e = calc(&i);
        let approved = [amount(StartupCash, 500), amount(TravelCosts, 900)];
        assert_eq!(
            check_approval(&e, &approved, None).expect_err("zero")[0].field,
            "approved_assistance[0].amount_rappen"
        );
        assert_eq!(check_approval(&e, &approved, Some("hardship")), Ok(vec![StartupCash]));
    }

    #[test]
    fn a_payout_within_the_approval_passes() {
        let approved =
            [amount(StartupCash, 1_000), amount(TravelMoney, 100), amount(TravelCosts, 800)];
        let payout = CashPayout {
            startup_cash_rappen: Rappen::from_chf(1_000),
            travel_money_rappen: Rappen::from_chf(50),
        };
        assert_eq!(check_payout(&approved, &payout), Ok(()));
        let nothing =
            CashPayout { startup_cash_rappen: Rappen::ZERO, travel_money_rappen: Rappen::ZERO };
        assert_eq!(check_payout(&[], &nothing), Ok(()));
    }

    #[test]
    fn a_payout_above_the_approval_or_negative_is_refused() {
        let approved = [amount(StartupCash, 1_000)];
        let payout = CashPayout {
            startup_cash_rappen: Rappen::new(100_001),
            travel_money_rappen: Rappen::from_chf(100),
        };
        let errors = check_payout(&approved, &payout).expect_err("above");
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("payout.startup_cash_rappen", "above_approval"),
                ("payout.travel_money_rappen", "above_approval")
            ]
        );
        assert_eq!(
            errors[1].message,
            "CHF 100.00 is more than the CHF 0.00 approved for travel money"
        );
        let negative =
            CashPayout { startup_cash_rappen: Rappen::new(-5), travel_money_rappen: Rappen::ZERO };
        let errors = check_payout(&approved, &negative).expect_err("negative");
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code.as_str()),
            ("payout.startup_cash_rappen", "negative")
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn any_date(from_year: i32, to_year: i32) -> impl Strategy<Value = NaiveDate> {
            (from_year..=to_year, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| date(y, m, d))
        }

        fn any_member() -> impl Strategy<Value = HouseholdMember> {
            (any_date(1940, 2026), proptest::option::of(any_date(2015, 2026)), any::<bool>())
                .prop_map(|(born, entry, travelling)| HouseholdMember {
                    date_of_birth: born,
                    entry_date: entry,
                    travelling,
                    principal: false,
                })
        }

        fn any_eligibility() -> impl Strategy<Value = Option<EligibilityAnswers>> {
            proptest::option::of(
                (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
                    |(criminal_offences, abuse, sufficient_assets, prior_assistance)| {
                        EligibilityAnswers {
                            criminal_offences,
                            abuse,
                            sufficient_assets,
                            prior_assistance,
                        }
                    },
                ),
            )
        }

        /// The seeded tariffs with random amounts, and one random family cap per
        /// (programme, component) shared by its rows, as in real tariff tables.
        fn any_tariffs() -> impl Strategy<Value = Vec<Tariff>> {
            let n = seeded().len();
            (
                proptest::collection::vec(proptest::option::of(0u32..5_000), n),
                proptest::collection::vec(proptest::option::of(0u32..3_000), 15),
            )
                .prop_map(|(amounts, caps)| {
                    let mut rows = seeded();
                    for (row, amount) in rows.iter_mut().zip(amounts) {
                        if row.amount_rappen.is_some() {
                            row.amount_rappen = Some(Rappen::from_chf(amount.unwrap_or(0)));
                        }
                        let p =
                            Programme::ALL.iter().position(|p| *p == row.programme).unwrap_or(0);
                        let c = AssistanceComponent::ALL
                            .iter()
                            .position(|c| *c == row.component)
                            .unwrap_or(0);
                        row.family_cap_rappen = caps[p * 5 + c].map(Rappen::from_chf);
                    }
                    rows
                })
        }

        fn any_input() -> impl Strategy<Value = EntitlementInput> {
            (
                proptest::sample::select(Programme::ALL.to_vec()),
                proptest::sample::select(ProcedurePhase::ALL.to_vec()),
                proptest::collection::vec(any_member(), 1..8),
                any::<bool>(),
                any_eligibility(),
                any::<bool>(),
                any_date(2026, 2028),
                any_tariffs(),
            )
                .prop_map(
                    |(
                        programme,
                        phase,
                        mut household,
                        visa_exempt,
                        eligibility,
                        higher,
                        on,
                        tariffs,
                    )| {
                        household[0].principal = true;
                        EntitlementInput {
                            programme,
                            phase: Some(phase),
                            household,
                            destination: Destination {
                                country: "XK".to_owned(),
                                visa_exempt,
                                suspension: None,
                            },
                            eligibility,
                            higher_travel_money: higher,
                            departure_date: on,
                            tariffs,
                        }
                    },
                )
        }

        /// `a` is at least `b`; no maximum (actual costs) is more than any amount.
        fn at_least(a: Option<Rappen>, b: Option<Rappen>) -> bool {
            match (a, b) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => a >= b,
            }
        }

        proptest! {
            #[test]
            fn a_larger_household_never_gets_less(input in any_input(), extra in any_member()) {
                let smaller = calc(&input);
                let mut larger = input.clone();
                larger.household.push(extra);
                let larger = calc(&larger);
                prop_assert!(larger.total_rappen >= smaller.total_rappen);
                prop_assert_eq!(larger.components.len(), smaller.components.len());
                for (l, s) in larger.components.iter().zip(&smaller.components) {
                    prop_assert_eq!(l.component, s.component);
                    prop_assert!(at_least(l.max_amount_rappen, s.max_amount_rappen), "{:?} < {:?}", l, s);
                }
            }

            #[test]
            fn a_family_cap_is_never_exceeded(input in any_input()) {
                let e = calc(&input);
                for c in &e.components {
                    let cap = input.tariffs.iter()
                        .filter(|t| t.programme == input.programme && t.component == c.component)
                        .filter_map(|t| t.family_cap_rappen)
                        .max();
                    if let (Some(cap), Some(max)) = (cap, c.max_amount_rappen) {
                        prop_assert!(max <= cap, "{:?} above {}", c, cap);
                    }
                }
            }

            #[test]
            fn a_visa_exempt_destination_yields_travel_costs_only(mut input in any_input()) {
                prop_assume!(input.programme != StatusS);
                input.destination.visa_exempt = true;
                let e = calc(&input);
                prop_assert_eq!(e.total_rappen, Rappen::ZERO);
                for c in e.components.iter().filter(|c| c.component != TravelCosts) {
                    prop_assert_eq!(c.max_amount_rappen, Some(Rappen::ZERO));
                }
            }

            #[test]
            fn the_result_only_depends_on_the_tariffs_valid_on_the_date(
                input in any_input(),
                others in proptest::collection::vec((any_tariffs(), any::<bool>(), 1u64..2_000), 1..3),
            ) {
                let expected = calc(&input);
                let mut noisy = input.clone();
                // Versions that ended by the departure date or start after it, in any order.
                for (rows, before, days) in others {
                    for mut t in rows {
                        if before {
                            t.valid_to = Some(input.departure_date - chrono::Days::new(days % 30));
                            t.valid_from = input.departure_date - chrono::Days::new(days + 30);
                        } else {
                            t.valid_from = input.departure_date + chrono::Days::new(days);
                        }
                        noisy.tariffs.insert(0, t);
                    }
                }
                noisy.tariffs.reverse();
                let mut valid = input.clone();
                valid.tariffs.retain(|t| t.applies_on(input.departure_date));
                prop_assert_eq!(calc(&noisy), expected.clone());
                prop_assert_eq!(calc(&valid), expected);
            }
        }
    }
}

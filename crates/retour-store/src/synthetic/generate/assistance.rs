//! The assistance in Rappen: what the counselling service requests, roughly by the tariffs
//! (domain.md, "Programmes and assistance"), and what SEM approves of it.

use chrono::{Datelike, Days};

use super::Generator;
use super::household::Person;
use super::opening::Plan;
use crate::synthetic::copy::{Micros, day_of};

/// Assistance amounts in Rappen, by component, in a fixed order.
pub(super) type Amounts = Vec<(&'static str, i64)>;

pub(super) fn amount_of(amounts: &Amounts, component: &str) -> i64 {
    amounts.iter().find(|(c, _)| *c == component).map_or(0, |(_, a)| *a)
}

impl Generator {
    /// The assistance the counselling service asks for, roughly by the tariffs; amounts in
    /// Rappen.
    pub(super) fn requested(&mut self, plan: &Plan<'_>, submit_at: Micros) -> Amounts {
        let on = plan.planned.unwrap_or(day_of(submit_at) + Days::new(45));
        let travellers: Vec<&Person> = plan.persons.iter().filter(|p| p.travelling).collect();
        let minor = |p: &Person| {
            let age = on.year()
                - p.birth.year()
                - i32::from((on.month(), on.day()) < (p.birth.month(), p.birth.day()));
            age < 18
        };
        let minors = travellers.iter().filter(|p| minor(p)).count() as i64;
        let adults = travellers.len() as i64 - minors;
        let mut amounts = Amounts::new();
        // Travel costs: the actual tickets, children for less.
        let mut fares = 0;
        for person in &travellers {
            let fare = self.between(plan.fare.0, plan.fare.1) / 10 * 10;
            fares += if minor(person) { fare * 3 / 4 } else { fare };
        }
        let medical_amount =
            (plan.medical && self.chance(0.4)).then(|| self.between(5, 60) * 100 * 100);
        if plan.programme == "status_s" {
            amounts.push(("startup_cash", ((adults * 500 + minors * 250) * 100).min(200_000)));
            amounts.push(("travel_costs", fares * 100));
            return amounts;
        }
        if plan.visa_exempt {
            if let Some(amount) = medical_amount {
                amounts.push(("medical", amount));
            }
            amounts.push(("travel_costs", fares * 100));
            return amounts;
        }
        let (adult, child, project) = match plan.phase {
            Some("phase_1") => (1000, 500, 3000),
            Some("phase_2") => (750, 375, 2000),
            Some("phase_3") => (500, 250, 1000),
            Some(_) => (250, 125, 0),
            None => (1000, 500, 3000),
        };
        let mut startup = (adults * adult + minors * child) * 100;
        let entry = plan.persons.first().map(|p| p.entry).unwrap_or(on);
        if plan.programme == "cantonal" && (on - entry).num_days() < 90 {
            startup /= 2;
        }
        amounts.push(("startup_cash", startup));
        if plan.mission.is_some() && project > 0 && self.chance(0.55) {
            let amount = if plan.phase.is_some() {
                project
            } else {
                self.weighted(&[(3000, 70), (2000, 15), (1500, 10), (4500, 5)])
            };
            amounts.push(("reintegration_project", amount * 100));
        }
        if let Some(amount) = medical_amount {
            amounts.push(("medical", amount));
        }
        let persons = travellers.len() as i64;
        let travel_money = if plan.medical || self.chance(0.05) {
            (persons * 500).min(1000)
        } else {
            (persons * 100).min(500)
        };
        amounts.push(("travel_money", travel_money * 100));
        amounts.push(("travel_costs", fares * 100));
        amounts
    }

    /// SEM's approved amounts: as requested, now and then a project cut down; and the
    /// components granted above the tariff (a larger project, medical costs for a
    /// visa-exempt national).
    pub(super) fn approved(
        &mut self,
        plan: &Plan<'_>,
        requested: &Amounts,
    ) -> (Amounts, Vec<&'static str>) {
        let mut overridden = Vec::new();
        let approved = requested
            .iter()
            .map(|&(component, amount)| {
                let amount = match component {
                    "reintegration_project" if amount > 300_000 => {
                        overridden.push(component);
                        amount
                    }
                    "reintegration_project" if self.chance(0.08) => 200_000.min(amount),
                    "medical" if plan.visa_exempt => {
                        overridden.push(component);
                        amount
                    }
                    _ => amount,
                };
                (component, amount)
            })
            .collect();
        (approved, overridden)
    }
}

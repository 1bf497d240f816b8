//! Retour's rules, free of I/O: who the actors are, what their roles allow, what a case is,
//! and how input is parsed into values that are valid by construction.

pub mod actor;
pub mod administration;
pub mod assistance;
pub mod calendar;
pub mod canton;
pub mod case;
pub mod country;
pub mod deadline;
pub mod document;
pub mod entitlement;
pub mod event;
pub mod governance;
pub mod information;
pub mod institution;
pub mod lifecycle;
pub mod macros;
pub mod money;
pub mod password;
pub mod person;
pub mod policy;
pub mod reclaim;
pub mod records;
pub mod reintegration;
pub mod role;
pub mod statistics;
pub mod status;
pub mod tariff;
pub mod validation;
pub mod workflow;

pub use actor::{Actor, ActorKind, Scope};
pub use canton::Canton;
pub use country::CountryCode;
pub use institution::InstitutionKind;
pub use money::Rappen;
pub use password::Password;
pub use person::{NNumber, Person, Relationship, ZemisNumber};
pub use role::Role;
pub use status::CaseStatus;
pub use validation::{FieldError, Validation};
pub use workflow::{Action, TransitionContext, TransitionError, TransitionRequest};

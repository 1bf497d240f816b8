//! One module per command of `retour` (the command line itself is in `cli`).

pub(crate) mod admin;
pub(crate) mod audit;
pub(crate) mod deadlines;
pub(crate) mod seed;
pub(crate) mod serve;

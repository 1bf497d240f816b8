//! What the suites share, in one place: the app under test and its requests (`app`), cases
//! and households (`cases`), the workflow (`workflow`), and rows written straight into the
//! database for statistics (`fixtures`).

pub mod app;
pub mod cases;
pub mod documents;
pub mod fixtures;
pub mod s3;
pub mod workflow;

pub use app::*;
pub use cases::*;
pub use documents::*;
pub use workflow::*;

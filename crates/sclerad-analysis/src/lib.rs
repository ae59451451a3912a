//! The sclerad analysis plan (`docs/analysis-plan.md`): from a
//! validated cohort to the numbers of the paper's results section.
//!
//! [`analyze`] takes a [`Cohort`] that has passed validation and the
//! [`Settings`], and returns [`Results`] — the `results.json` contract.
//! Every statistic comes from `sclerad-stats`, which matches R.

pub mod adjusted;
pub mod agreement;
mod analyze;
pub mod results;
pub mod settings;
pub mod table1;
mod variables;

pub use agreement::{agreement, agreement_at};
pub use analyze::{analyze, AnalysisError, InputInfo};
pub use results::Results;
pub use settings::{Settings, SettingsError};
pub use variables::{BINARY_CLINICAL, HAND_LESIONS, SPINE_FLAGS};

#[doc(no_inline)]
pub use sclerad_model::Cohort;

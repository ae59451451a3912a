//! The study settings: every choice the analysis plan marks *(setting)*.
//! Read from a TOML file, validated, and echoed into the results.

use serde::{Deserialize, Serialize};

/// The settings of one analysis. Every field has the plan's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Yates' continuity correction for the 2×2 chi-square (default false).
    pub yates: bool,
    /// The chi-square test is used when every expected count is at least
    /// this (default 5); otherwise Fisher's exact test.
    pub min_expected_count: f64,
    /// The Welch t-test is used when both Shapiro–Wilk p-values are at least
    /// this (default 0.05); otherwise Mann–Whitney.
    pub normality_alpha: f64,
    /// Maximum days between the hand radiograph and the CT ("within the
    /// same year", default 365).
    pub imaging_window_days: i64,
    /// Leave out patients outside the window or not meeting ACR/EULAR 2013.
    pub exclude_ineligible: bool,
    /// Reader whose readings give the lesion flags (default: `consensus`,
    /// else the only reader).
    pub reader: Option<String>,
    /// Confidence level of every interval (default 0.95).
    pub conf_level: f64,
    /// How PAH was defined, for the report (the analysis uses the `pah`
    /// column as recorded).
    pub pah_definition: String,
    /// The variables of Table 1, in its order (default: every variable of
    /// [`crate::table1::TABLE1_VARIABLES`]); a variable no analysed patient
    /// has a value of is left out of the table.
    pub table1_variables: Vec<String>,
    /// The covariates of the adjusted models (default: age, sex, subset,
    /// disease duration; see [`crate::adjusted::ADJUSTMENT_COVARIATES`]).
    pub adjust_for: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            yates: false,
            min_expected_count: 5.0,
            normality_alpha: 0.05,
            imaging_window_days: 365,
            exclude_ineligible: false,
            reader: None,
            conf_level: 0.95,
            pah_definition:
                "PAH confirmed by right heart catheterisation, as recorded in the pah column"
                    .to_string(),
            table1_variables: crate::table1::TABLE1_VARIABLES
                .iter()
                .map(|v| v.to_string())
                .collect(),
            adjust_for: crate::adjusted::DEFAULT_ADJUST_FOR
                .iter()
                .map(|v| v.to_string())
                .collect(),
        }
    }
}

/// A settings file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Not valid TOML, or an unknown key, or a value of the wrong type.
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// What the parser said, with line and column.
        message: String,
    },
    /// A value out of its range.
    #[error("{file}: {key} = {value}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

impl Settings {
    /// Parses and checks a settings file's text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Settings, SettingsError> {
        let settings: Settings = toml::from_str(text).map_err(|e| SettingsError::Syntax {
            file: file.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        settings.check(file)?;
        Ok(settings)
    }

    /// Checks every value's range.
    pub fn check(&self, file: &str) -> Result<(), SettingsError> {
        let invalid = |key, value: String, reason| SettingsError::Invalid {
            file: file.to_string(),
            key,
            value,
            reason,
        };
        if !(self.min_expected_count.is_finite() && self.min_expected_count >= 0.0) {
            return Err(invalid(
                "min_expected_count",
                self.min_expected_count.to_string(),
                "must be a number ≥ 0",
            ));
        }
        if !(self.normality_alpha > 0.0 && self.normality_alpha < 1.0) {
            return Err(invalid(
                "normality_alpha",
                self.normality_alpha.to_string(),
                "must lie strictly between 0 and 1",
            ));
        }
        if !(0..=3650).contains(&self.imaging_window_days) {
            return Err(invalid(
                "imaging_window_days",
                self.imaging_window_days.to_string(),
                "must be between 0 and 3650 days",
            ));
        }
        if !(self.conf_level > 0.5 && self.conf_level < 1.0) {
            return Err(invalid(
                "conf_level",
                self.conf_level.to_string(),
                "must lie strictly between 0.5 and 1",
            ));
        }
        for (i, v) in self.table1_variables.iter().enumerate() {
            if !crate::table1::TABLE1_VARIABLES.contains(&v.as_str()) {
                return Err(invalid(
                    "table1_variables",
                    format!("{v:?}"),
                    "is not a Table 1 variable (age_years, sex_female, disease_duration_years, mrss, digital_ulcers, ild_ct, restrictive_syndrome, fvc_pct_pred, tlc_pct_pred, dlco_pct_pred, pah, mpap_mmhg, pawp_mmhg, pvr_wu, anti_centromere, anti_scl70, anti_rnap3, death, ct_type)",
                ));
            }
            if self.table1_variables[..i].contains(v) {
                return Err(invalid(
                    "table1_variables",
                    format!("{v:?}"),
                    "is named twice",
                ));
            }
        }
        for (i, v) in self.adjust_for.iter().enumerate() {
            if !crate::adjusted::ADJUSTMENT_COVARIATES.contains(&v.as_str()) {
                return Err(invalid(
                    "adjust_for",
                    format!("{v:?}"),
                    "is not a covariate the adjusted models can take (age_years, sex_female, subset_dcssc, disease_duration_years, digital_ulcers, ild_ct, restrictive_syndrome, pah)",
                ));
            }
            if self.adjust_for[..i].contains(v) {
                return Err(invalid("adjust_for", format!("{v:?}"), "is named twice"));
            }
        }
        if self.reader.as_deref().is_some_and(|r| r.trim().is_empty()) {
            return Err(invalid(
                "reader",
                "\"\"".into(),
                "must name a reader, or be left out",
            ));
        }
        Ok(())
    }

    /// The settings as TOML, for a template file.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_plan() {
        let s = Settings::from_toml("", "s.toml").expect("empty is default");
        assert_eq!(s, Settings::default());
        assert!(!s.yates);
        assert_eq!(s.min_expected_count, 5.0);
        assert_eq!(s.imaging_window_days, 365);
    }

    #[test]
    fn values_are_read_and_checked() {
        let s = Settings::from_toml(
            "yates = true\nreader = \"rad1\"\nimaging_window_days = 180\n",
            "s.toml",
        )
        .expect("valid");
        assert!(s.yates);
        assert_eq!(s.reader.as_deref(), Some("rad1"));
        assert_eq!(s.imaging_window_days, 180);
        let e = Settings::from_toml("yates = \"maybe\"", "s.toml").expect_err("type");
        assert!(
            e.to_string().contains("s.toml") && e.to_string().contains("yates"),
            "{e}"
        );
        let e = Settings::from_toml("yate = true", "s.toml").expect_err("unknown key");
        assert!(e.to_string().contains("yate"), "{e}");
        let e = Settings::from_toml("normality_alpha = 1.5", "s.toml").expect_err("range");
        assert!(e.to_string().contains("normality_alpha"), "{e}");
        let e = Settings::from_toml("conf_level = 0.3", "s.toml").expect_err("range");
        assert!(e.to_string().contains("conf_level"), "{e}");
        let s = Settings::from_toml("table1_variables = [\"mrss\", \"ct_type\"]", "s.toml")
            .expect("a shorter Table 1");
        assert_eq!(s.table1_variables, ["mrss", "ct_type"]);
        let e = Settings::from_toml("table1_variables = [\"bmi\"]", "s.toml").expect_err("unknown");
        assert!(
            e.to_string().contains("table1_variables") && e.to_string().contains("bmi"),
            "{e}"
        );
        let e = Settings::from_toml("table1_variables = [\"mrss\", \"mrss\"]", "s.toml")
            .expect_err("twice");
        assert!(e.to_string().contains("named twice"), "{e}");
    }

    #[test]
    fn a_template_reads_back() {
        let s = Settings {
            reader: Some("consensus".into()),
            ..Settings::default()
        };
        assert_eq!(
            Settings::from_toml(&s.to_toml(), "t.toml").expect("round trip"),
            s
        );
    }
}

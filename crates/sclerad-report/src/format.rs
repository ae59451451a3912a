//! Every number and label shown to a reader is formatted here, so that the
//! HTML report and the SVG figures always agree.
//!
//! Conventions (journal style):
//! - p-values: three decimals, `<0.001` below 0.001, `>0.999` at the top;
//! - percentages: one decimal;
//! - ratios (odds ratios, hazard ratios): two decimals, two significant
//!   digits below 0.01, no decimals from 100 up; `∞` for an infinite ratio;
//! - means, SDs, medians and quartiles: one decimal; kappa: two decimals;
//! - a missing value is an em dash; negative numbers use the minus sign.
//!
//! Exported tables (CSV, xlsx) do not use these: they carry full precision
//! ([`full_precision`]).

use sclerad_analysis::results::TestName;

/// What is shown for a missing value.
pub const MISSING: &str = "—";

/// Escapes text for HTML and SVG (element content and quoted attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed
            // in XML 1.0; drop them rather than produce an invalid SVG.
            c if c.is_control() && c != '\t' && c != '\n' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Replaces an ASCII hyphen-minus leading a number by the minus sign.
fn minus(text: String) -> String {
    match text.strip_prefix('-') {
        Some(rest) => format!("\u{2212}{rest}"),
        None => text,
    }
}

/// A number with a fixed number of decimals (minus sign, no `-0.0`).
pub fn fixed(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    // `-0.0` after rounding reads as a negative number: drop the sign.
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        return text[1..].to_string();
    }
    minus(text)
}

/// An optional number with a fixed number of decimals, or [`MISSING`].
pub fn fixed_opt(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(x) if x.is_finite() => fixed(x, decimals),
        _ => MISSING.to_string(),
    }
}

/// A p-value: `0.003`, `0.048`, `<0.001`, `>0.999`; [`MISSING`] when absent.
pub fn p_value(p: Option<f64>) -> String {
    match p {
        Some(p) if p.is_finite() => {
            if p < 0.001 {
                "<0.001".to_string()
            } else if p >= 0.9995 {
                ">0.999".to_string()
            } else {
                format!("{p:.3}")
            }
        }
        _ => MISSING.to_string(),
    }
}

/// A p-value in a sentence: `p = 0.003`, `p < 0.001`.
pub fn p_phrase(p: Option<f64>) -> String {
    let text = p_value(p);
    match text.chars().next() {
        Some(c @ ('<' | '>')) => format!("p {c} {}", &text[c.len_utf8()..]),
        _ => format!("p = {text}"),
    }
}

/// A percentage with one decimal, without the `%` sign.
pub fn percent(x: Option<f64>) -> String {
    fixed_opt(x, 1)
}

/// A ratio (odds ratio, hazard ratio): `24.10`, `0.35`, `0.09`, `0.0043`,
/// `301`.
pub fn ratio(x: f64) -> String {
    if !x.is_finite() {
        return if x > 0.0 {
            "∞".to_string()
        } else {
            MISSING.to_string()
        };
    }
    let a = x.abs();
    if a == 0.0 {
        "0".to_string()
    } else if a >= 99.995 {
        fixed(x, 0)
    } else if a >= 0.01 {
        fixed(x, 2)
    } else {
        // Two significant digits: 0.0043, 0.00012.
        let digits = (-a.log10().floor()) as usize + 1;
        fixed(x, digits.min(12))
    }
}

/// An optional ratio, or [`MISSING`].
pub fn ratio_opt(x: Option<f64>) -> String {
    x.map_or_else(|| MISSING.to_string(), ratio)
}

/// An interval `[low–high]` of ratios; an absent upper bound of an
/// infinite-ratio interval reads `∞`.
pub fn ratio_interval(low: Option<f64>, high: Option<f64>, high_infinite: bool) -> String {
    let high = match high {
        Some(h) => ratio(h),
        None if high_infinite => "∞".to_string(),
        None => MISSING.to_string(),
    };
    format!("[{}–{}]", ratio_opt(low), high)
}

/// A ratio with its interval, e.g. `24.10 [2.90–300]`, or `∞ [3.10–∞]`.
pub fn ratio_with_ci(
    estimate: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
    infinite: bool,
) -> String {
    match (estimate, infinite) {
        (_, true) => format!("∞ {}", ratio_interval(low, high, true)),
        (Some(e), false) => format!("{} {}", ratio(e), ratio_interval(low, high, false)),
        (None, false) => MISSING.to_string(),
    }
}

/// `mean ± sd` with one decimal.
pub fn mean_sd(mean: Option<f64>, sd: Option<f64>) -> String {
    match (mean, sd) {
        (Some(m), Some(s)) => format!("{} ± {}", fixed(m, 1), fixed(s, 1)),
        (Some(m), None) => fixed(m, 1),
        _ => MISSING.to_string(),
    }
}

/// `median [Q1–Q3]` with one decimal.
pub fn median_iqr(median: Option<f64>, q1: Option<f64>, q3: Option<f64>) -> String {
    match (median, q1, q3) {
        (Some(m), Some(a), Some(b)) => format!("{} [{}–{}]", fixed(m, 1), fixed(a, 1), fixed(b, 1)),
        (Some(m), _, _) => fixed(m, 1),
        _ => MISSING.to_string(),
    }
}

/// `n/denominator`.
pub fn fraction(n: u64, denominator: u64) -> String {
    format!("{n}/{denominator}")
}

/// `n (percent%)` with one decimal, or `n` alone when the percent is absent.
pub fn count_percent(n: u64, percent: Option<f64>) -> String {
    match percent {
        Some(p) if p.is_finite() => format!("{n} ({}%)", fixed(p, 1)),
        _ => n.to_string(),
    }
}

/// `n/denominator (percent%)`; percent computed here from the counts.
pub fn fraction_percent(n: u64, denominator: u64) -> String {
    if denominator == 0 {
        return format!("{n}/0");
    }
    let p = 100.0 * n as f64 / denominator as f64;
    format!("{n}/{denominator} ({}%)", fixed(p, 1))
}

/// A percent interval `low–high` with one decimal.
pub fn percent_interval(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(l), Some(h)) => format!("{}–{}", fixed(l, 1), fixed(h, 1)),
        _ => MISSING.to_string(),
    }
}

/// Cohen's kappa `κ ± se` with two decimals.
pub fn kappa(kappa: Option<f64>, se: Option<f64>) -> String {
    match (kappa, se) {
        (Some(k), Some(s)) => format!("{} ± {}", fixed(k, 2), fixed(s, 2)),
        (Some(k), None) => fixed(k, 2),
        _ => MISSING.to_string(),
    }
}

/// The agreement band of a kappa, as in the domain notes: below 0.4 poor,
/// 0.4 to 0.7 moderate, above 0.7 good.
pub fn kappa_band(kappa: Option<f64>) -> &'static str {
    match kappa {
        Some(k) if k.is_finite() && k > 0.7 => "good",
        Some(k) if k.is_finite() && k >= 0.4 => "moderate",
        Some(k) if k.is_finite() => "poor",
        _ => MISSING,
    }
}

/// The confidence level as a label, e.g. `95% CI`.
pub fn ci_label(conf_level: f64) -> String {
    let pct = conf_level * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{}% CI", pct.round() as i64)
    } else {
        format!("{}% CI", fixed(pct, 1))
    }
}

/// A test's name in words.
pub fn test_name(test: TestName, yates: bool) -> &'static str {
    match test {
        TestName::ChiSquare if yates => "Chi-square test (Yates)",
        TestName::ChiSquare => "Chi-square test",
        TestName::FisherExact => "Fisher's exact test",
        TestName::WelchT => "Welch's t-test",
        TestName::MannWhitney => "Mann–Whitney U test",
        TestName::NotComputable => "not computable",
    }
}

/// The code of a test as written in `results.json` (`fisher_exact`, …).
pub fn test_code(test: TestName) -> &'static str {
    match test {
        TestName::ChiSquare => "chi_square",
        TestName::FisherExact => "fisher_exact",
        TestName::WelchT => "welch_t",
        TestName::MannWhitney => "mann_whitney",
        TestName::NotComputable => "not_computable",
    }
}

/// A number for an exported table: the shortest text that reads back as
/// the same `f64` (Rust's round-trip formatting, exponent for very small or
/// large magnitudes, e.g. `1e-12`).
pub fn full_precision(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        String::new()
    }
}

/// A coordinate in an SVG: at most two decimals, trailing zeros dropped.
pub fn coord(x: f64) -> String {
    if !x.is_finite() {
        return "0".to_string();
    }
    let text = format!("{x:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The label of an analysis variable, e.g. `acro_osteolysis` →
/// `Acro-osteolysis`; unknown names are shown as written, underscores as
/// spaces.
pub fn variable_label(name: &str) -> String {
    let known = match name {
        "calcinosis" => "Calcinosis",
        "acro_osteolysis" => "Acro-osteolysis",
        "periarticular_calcification" => "Periarticular calcification",
        "erosion" => "Erosion",
        "joint_space_narrowing" => "Joint space narrowing",
        "subluxation" => "Subluxation",
        "flexion_contracture" => "Flexion contracture",
        "spine_any" => "Any spinal calcification",
        "spine_anterior" => "Spine: anterior",
        "spine_canal" => "Spine: canal",
        "spine_foraminal" => "Spine: foraminal",
        "spine_posterior" => "Spine: posterior",
        "age_years" => "Age, years",
        "sex_female" => "Women",
        "disease_duration_years" => "Disease duration, years",
        "digital_ulcers" => "Digital ulcers",
        "ild_ct" => "ILD on CT",
        "restrictive_syndrome" => "Restrictive syndrome",
        "pah" => "PAH",
        "death" => "Death",
        "subset_dcssc" => "dcSSc (vs lcSSc)",
        "mrss" => "mRSS",
        "fvc_pct_pred" => "FVC, % predicted",
        "tlc_pct_pred" => "TLC, % predicted",
        "dlco_pct_pred" => "DLCO, % predicted",
        "mpap_mmhg" => "mPAP, mmHg",
        "pawp_mmhg" => "PAWP, mmHg",
        "pvr_wu" => "PVR, Wood units",
        "anti_centromere" => "Anti-centromere antibodies",
        "anti_scl70" => "Anti-Scl-70 antibodies",
        "anti_rnap3" => "Anti-RNA polymerase III antibodies",
        "ct_type" => "CT type",
        "thoracic" => "Thoracic",
        "tap" => "Thoraco-abdomino-pelvic",
        "lumbar" => "Lumbar",
        "anterior" => "Anterior",
        "canal" => "Canal",
        "foraminal" => "Foraminal",
        "posterior" => "Posterior",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An analysis variable inside a sentence ("patients with …"), e.g.
/// `spine_canal` → `canal calcification`.
pub fn variable_phrase(name: &str) -> String {
    match name {
        "spine_any" => "any spinal calcification".to_string(),
        "spine_anterior" => "anterior spinal calcification".to_string(),
        "spine_canal" => "canal calcification".to_string(),
        "spine_foraminal" => "foraminal calcification".to_string(),
        "spine_posterior" => "posterior spinal calcification".to_string(),
        "ild_ct" => "ILD on CT".to_string(),
        "pah" => "PAH".to_string(),
        "subset_dcssc" => "dcSSc".to_string(),
        other => variable_label(other).to_lowercase(),
    }
}

/// The label of a comparison family.
pub fn family_label(family: &str) -> String {
    match family {
        "subset" => "Cutaneous subset (dcSSc vs lcSSc)".to_string(),
        "hand_duration" => "Hand lesions and disease duration".to_string(),
        "hand_ulcers" => "Hand lesions and digital ulcers".to_string(),
        "axial_peripheral" => "Axial (spine) and peripheral (hand) lesions".to_string(),
        "prognosis" => "Prognosis: lesions and ILD, PAH, death".to_string(),
        other => variable_label(other),
    }
}

/// A vertebral level code (`t7`) in upper case (`T7`).
pub fn level_label(level: &str) -> String {
    level.to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values() {
        assert_eq!(p_value(Some(0.003)), "0.003");
        assert_eq!(p_value(Some(0.0499)), "0.050");
        assert_eq!(p_value(Some(0.00099)), "<0.001");
        assert_eq!(p_value(Some(0.001)), "0.001");
        assert_eq!(p_value(Some(1.0)), ">0.999");
        assert_eq!(p_value(Some(0.42)), "0.420");
        assert_eq!(p_value(None), MISSING);
        assert_eq!(p_value(Some(f64::NAN)), MISSING);
        assert_eq!(p_phrase(Some(0.0001)), "p < 0.001");
        assert_eq!(p_phrase(Some(0.012)), "p = 0.012");
    }

    #[test]
    fn ratios() {
        assert_eq!(ratio(24.1), "24.10");
        assert_eq!(ratio(0.35), "0.35");
        assert_eq!(ratio(0.0432), "0.04");
        assert_eq!(ratio(0.09), "0.09");
        assert_eq!(ratio(0.00123), "0.0012");
        assert_eq!(ratio(300.0), "300");
        assert_eq!(ratio(0.0), "0");
        assert_eq!(ratio(f64::INFINITY), "∞");
        assert_eq!(ratio_with_ci(None, Some(3.1), None, true), "∞ [3.10–∞]");
        assert_eq!(
            ratio_with_ci(Some(2.0), Some(0.5), Some(8.0), false),
            "2.00 [0.50–8.00]"
        );
        assert_eq!(ratio_with_ci(None, None, None, false), MISSING);
    }

    #[test]
    fn numbers() {
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(fixed(-0.25, 2), "\u{2212}0.25");
        assert_eq!(percent(Some(25.974)), "26.0");
        assert_eq!(mean_sd(Some(56.94), Some(11.26)), "56.9 ± 11.3");
        assert_eq!(
            median_iqr(Some(8.0), Some(4.0), Some(13.5)),
            "8.0 [4.0–13.5]"
        );
        assert_eq!(fraction_percent(20, 77), "20/77 (26.0%)");
        assert_eq!(kappa(Some(0.81), Some(0.05)), "0.81 ± 0.05");
        assert_eq!(ci_label(0.95), "95% CI");
        assert_eq!(ci_label(0.975), "97.5% CI");
        assert_eq!(full_precision(0.1), "0.1");
        assert_eq!(full_precision(1e-12), "1e-12");
        assert_eq!(full_precision(77.0), "77.0");
        assert_eq!(full_precision(f64::NAN), "");
        assert_eq!(coord(1.005), "1");
        assert_eq!(coord(12.5), "12.5");
        assert_eq!(coord(-0.001), "0");
    }

    #[test]
    fn kappa_bands() {
        assert_eq!(kappa_band(Some(0.39)), "poor");
        assert_eq!(kappa_band(Some(0.4)), "moderate");
        assert_eq!(kappa_band(Some(0.7)), "moderate");
        assert_eq!(kappa_band(Some(0.71)), "good");
        assert_eq!(kappa_band(Some(-0.1)), "poor");
        assert_eq!(kappa_band(None), MISSING);
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b"), "ab");
    }

    #[test]
    fn labels() {
        assert_eq!(variable_label("acro_osteolysis"), "Acro-osteolysis");
        assert_eq!(variable_label("erre_periarticular"), "Erre periarticular");
        assert_eq!(level_label("t7"), "T7");
    }
}

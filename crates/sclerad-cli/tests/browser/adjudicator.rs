//! The adjudicator: an open disagreement settled by accepting one reader's
//! reading; it leaves the open list and is the consensus in the export.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::harness::{Browser, Demo, Env};

/// The export's consensus rows, each as its cells after `patient_id`.
fn consensus_rows(demo: &Demo) -> BTreeSet<Vec<String>> {
    let export = demo.api_get(demo.user("analyst", 0), "/api/studies/nancy-demo/export");
    let mut out = BTreeSet::new();
    for table in ["hand_readings", "spine_readings"] {
        for row in export[table]["rows"].as_array().expect("rows") {
            let cells: Vec<String> = row
                .as_array()
                .expect("a row")
                .iter()
                .map(|c| c.as_str().unwrap_or_default().to_string())
                .collect();
            if cells[1] == "consensus" {
                out.insert(cells);
            }
        }
    }
    out
}

/// A finding as the disagreements endpoint returns it, as an export row
/// (the format's columns after `patient_id`).
fn as_row(patient: &str, modality: &str, f: Option<&Value>) -> Vec<String> {
    let columns: &[&str] = if modality == "ct" {
        &["level", "segment", "foraminal", "side", "morphology"]
    } else {
        &["side", "site", "lesion", "grade"]
    };
    let mut row = vec![patient.to_string(), "consensus".to_string()];
    for c in columns {
        row.push(match f.map(|f| &f[*c]) {
            None if (*c == "lesion" || *c == "segment") => "none".into(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
            _ => String::new(),
        });
    }
    row
}

/// Open and resolved disagreements, as the list page counts them.
async fn counts(b: &Browser<'_>) -> (usize, usize) {
    let mut out = [0usize; 2];
    for (i, attr) in ["data-open", "data-resolved"].into_iter().enumerate() {
        out[i] = b
            .attr("[data-open]", attr)
            .await
            .and_then(|v| v.parse().ok())
            .expect("a count");
    }
    (out[0], out[1])
}

#[test]
fn an_adjudicator_accepts_a_reading_and_the_consensus_is_in_the_export() {
    let Some(env) = Env::start() else { return };
    let before = consensus_rows(&env.demo);
    let accepted = env.run(async {
        let b = env.browser().await;
        b.login(env.demo.user("adjudicator", 0)).await;
        b.goto("/adjudicate").await;
        b.shot("adjudicator-studies").await;
        b.axe("the adjudicator's studies").await;
        b.click("[data-study=nancy-demo]").await;
        b.wait_path("/adjudicate/nancy-demo").await;
        b.shot("adjudicator-disagreements").await;
        b.axe("the disagreements").await;
        let (open, resolved) = counts(&b).await;
        assert!(open > 0, "the demo leaves disagreements open");
        assert_eq!(b.count("tr[data-state=open]").await, open);
        // Open ones first.
        let states = b
            .strings("return [...document.querySelectorAll('tr[data-state]')].map(t => t.dataset.state);")
            .await;
        assert!(states.windows(2).all(|w| w != ["resolved", "open"]), "{states:?}");

        let exam = b
            .attr("tr[data-state=open]", "data-exam")
            .await
            .expect("an exam id");
        b.click(&format!("tr[data-exam='{exam}'] a")).await;
        b.wait_path(&format!("/adjudicate/nancy-demo/{exam}")).await;
        assert!(b.count("tr[data-differs]").await > 0, "the differences are listed");
        // Each reading on the same drawing (hands) or grid (spine), where
        // they differ marked.
        let on_drawings = b.count("[data-compare-site][data-differs]").await
            + b.count("td[data-compare-cell][data-differs]").await;
        assert!(on_drawings > 0, "the differences are marked on the drawing");
        b.shot("adjudicator-exam").await;
        b.axe("an exam to adjudicate").await;

        // What the disagreements endpoint says of this exam, as a script
        // would read it.
        let (status, list) = b.fetch("/api/studies/nancy-demo/disagreements").await;
        assert_eq!(status, 200, "{list}");
        let entry = list
            .as_array()
            .expect("a list")
            .iter()
            .find(|d| d["exam_id"].as_i64().map(|id| id.to_string()).as_deref() == Some(exam.as_str()))
            .cloned()
            .expect("the exam in the API");
        assert_eq!(entry["resolved"], json!(false));
        if entry["modality"] == "hand_radiograph" {
            let drawings = entry["readings"].as_array().expect("readings").len();
            assert_eq!(b.count("[data-reader-drawing]").await, drawings);
        }
        let reader = entry["readings"][0]["reader"].as_str().expect("a reader").to_string();
        b.click(&format!("[data-action=accept][data-reader='{reader}']"))
            .await;
        b.wait_path("/adjudicate/nancy-demo").await;
        let (open_after, resolved_after) = counts(&b).await;
        assert_eq!(
            (open_after, resolved_after),
            (open - 1, resolved + 1),
            "the exam left the open list"
        );
        let state = b.attr(&format!("tr[data-exam='{exam}']"), "data-state").await;
        assert_eq!(state.as_deref(), Some("resolved"));
        b.shot("adjudicator-resolved").await;
        b.close().await;
        entry
    });
    // The export has exactly the accepted reader's findings as a new
    // consensus, for one patient.
    let after = consensus_rows(&env.demo);
    let added: Vec<&Vec<String>> = after.difference(&before).collect();
    assert!(!added.is_empty(), "no new consensus row in the export");
    let patient = added[0][0].clone();
    assert!(added.iter().all(|r| r[0] == patient), "{added:?}");
    assert!(before.iter().all(|r| r[0] != patient || after.contains(r)));
    let modality = accepted["modality"].as_str().expect("modality");
    let findings = accepted["readings"][0]["findings"]
        .as_array()
        .expect("findings");
    let mut expected: BTreeSet<Vec<String>> = findings
        .iter()
        .map(|f| as_row(&patient, modality, Some(f)))
        .collect();
    if findings.is_empty() {
        expected.insert(as_row(&patient, modality, None));
    }
    let added: BTreeSet<Vec<String>> = added.into_iter().cloned().collect();
    assert_eq!(added, expected);
}

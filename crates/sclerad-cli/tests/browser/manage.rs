//! The data manager in the browser: a bundle uploaded as a new study, its
//! problems shown by row and column, nothing imported until it is valid.

use crate::harness::Env;

/// As the data manager of `sclerad demo --serve`: upload a malformed
/// bundle and see each problem's row and column, then the valid bundle,
/// imported as a new study.
#[test]
fn the_data_manager_uploads_a_bundle_and_sees_each_problem_where_it_is() {
    let Some(env) = Env::start() else { return };
    let manager = env.demo.user("data_manager", 0).clone();
    let good = tempfile::tempdir().expect("temp");
    sclerad_bundle::write_folder(&sclerad_synth::nancy_demo(), good.path()).expect("bundle");
    // The same bundle with two bad cells: row 4's age, row 6's subset.
    let bad = tempfile::tempdir().expect("temp");
    let text = std::fs::read_to_string(good.path().join("patients.csv")).expect("read");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header = lines[0].clone();
    let columns: Vec<&str> = header.split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).expect(name);
    let (age, subset) = (at("age_years"), at("subset"));
    for (row, column, value) in [(4, age, "about 60"), (6, subset, "diffuse?")] {
        let mut cells: Vec<String> = lines[row - 1].split(',').map(String::from).collect();
        assert_eq!(cells.len(), columns.len(), "a plain row");
        cells[column] = value.into();
        lines[row - 1] = cells.join(",");
    }
    std::fs::write(bad.path().join("patients.csv"), lines.join("\n") + "\n").expect("write");
    for table in ["hand_readings.csv", "spine_readings.csv"] {
        std::fs::copy(good.path().join(table), bad.path().join(table)).expect("copy");
    }
    let files = |dir: &std::path::Path| {
        ["patients.csv", "hand_readings.csv", "spine_readings.csv"]
            .map(|f| dir.join(f).display().to_string())
            .join("\n")
    };
    env.run(async {
        let b = env.browser().await;
        b.login(&manager).await;
        b.wait_path("/manage").await;
        b.shot("manage-studies").await;
        b.axe("the studies page").await;
        b.click("[data-action=import-page]").await;
        b.wait_path("/manage/import").await;
        assert_eq!(b.count("form[data-form=import] input[type=file]").await, 1);
        b.shot("manage-import").await;
        b.axe("the import form").await;
        b.find("form[data-form=import] input[name=study]")
            .await
            .send_keys("second cohort")
            .await
            .expect("type");
        b.find("input[type=file]")
            .await
            .send_keys(&files(bad.path()))
            .await
            .expect("choose the files");
        b.click("[data-action=import]").await;
        b.wait(
            "document.querySelector('[data-outcome=refused]')",
            "the refusal",
        )
        .await;
        let errors = b
            .strings(
                "return [...document.querySelectorAll('tr[data-severity=error]')].map(r => r.dataset.file + ':' + r.dataset.row + ':' + r.dataset.column)",
            )
            .await;
        assert_eq!(
            errors,
            ["patients.csv:4:age_years", "patients.csv:6:subset"],
            "each problem at its row and column"
        );
        b.shot("manage-import-refused").await;
        b.axe("a refused import").await;
        // Nothing was imported: the name is still free, and the valid
        // bundle goes in under it (the study name kept in the form).
        assert_eq!(
            b.attr("input[name=study]", "value").await.as_deref(),
            Some("second cohort")
        );
        b.find("input[type=file]")
            .await
            .send_keys(&files(good.path()))
            .await
            .expect("choose the files");
        b.click("[data-action=import]").await;
        b.wait(
            "document.querySelector('[data-outcome=imported]')",
            "the import",
        )
        .await;
        b.shot("manage-import-done").await;
        b.axe("an import").await;
        b.goto("/manage").await;
        b.wait(
            "document.querySelector('tr[data-study=\"second cohort\"]')",
            "the new study",
        )
        .await;
        b.close().await;
    });
    let cookie = env.demo.session(&manager);
    let (status, _, body) = env.demo.http(
        "GET",
        "/api/studies/second%20cohort/patients?limit=1",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(status, 200, "{body}");
}

/// As the data manager of `sclerad demo --serve`: grow the demo study
/// from its row of the studies page, a reading it holds refused at its
/// row, then five new patients with their readings added.
#[test]
fn the_data_manager_adds_patients_to_a_study() {
    let Some(env) = Env::start() else { return };
    let manager = env.demo.user("data_manager", 0).clone();
    // Five of the demo's patients under new ids, with their readings.
    let whole = sclerad_bundle::TextTables::of(&sclerad_synth::nancy_demo());
    let mut added = whole.clone();
    let ids: Vec<String> = whole.patients.rows[..5]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    added.patients.rows.truncate(5);
    for table in [&mut added.hand_readings, &mut added.spine_readings]
        .into_iter()
        .flatten()
    {
        table.rows.retain(|r| ids.contains(&r[0]));
    }
    for row in added.patients.rows.iter_mut().chain(
        [&mut added.hand_readings, &mut added.spine_readings]
            .into_iter()
            .flatten()
            .flat_map(|t| t.rows.iter_mut()),
    ) {
        row[0] = format!("NEW-{}", row[0]);
    }
    let good = tempfile::tempdir().expect("temp");
    added.write_folder(good.path()).expect("write");
    // The same with a reading the study holds: its first hand reading row.
    let mut held = added.clone();
    let first = whole.hand_readings.as_ref().expect("hand").rows[0].clone();
    held.hand_readings
        .as_mut()
        .expect("hand")
        .rows
        .insert(0, first);
    let bad = tempfile::tempdir().expect("temp");
    held.write_folder(bad.path()).expect("write");
    let files = |dir: &std::path::Path| {
        ["patients.csv", "hand_readings.csv", "spine_readings.csv"]
            .map(|f| dir.join(f).display().to_string())
            .join("\n")
    };
    env.run(async {
        let b = env.browser().await;
        b.login(&manager).await;
        b.wait_path("/manage").await;
        b.click("tr[data-study] [data-action=append-page]").await;
        b.wait_path("/manage/append").await;
        let before: usize = b
            .attr("[data-study-patients]", "data-study-patients")
            .await
            .and_then(|n| n.parse().ok())
            .expect("the study's patients");
        b.shot("manage-append").await;
        b.axe("the append form").await;
        b.find("form[data-form=append] input[type=file]")
            .await
            .send_keys(&files(bad.path()))
            .await
            .expect("choose the files");
        b.click("[data-action=append]").await;
        b.wait(
            "document.querySelector('[data-outcome=refused]')",
            "the refusal",
        )
        .await;
        let errors = b
            .strings(
                "return [...document.querySelectorAll('tr[data-severity=error]')].map(r => r.dataset.file + ':' + r.dataset.row + ':' + r.dataset.column)",
            )
            .await;
        assert_eq!(
            errors,
            ["hand_readings.csv:2:reader"],
            "the reading held, at its row"
        );
        b.shot("manage-append-refused").await;
        b.axe("a refused append").await;
        b.find("form[data-form=append] input[type=file]")
            .await
            .send_keys(&files(good.path()))
            .await
            .expect("choose the files");
        b.click("[data-action=append]").await;
        b.wait(
            "document.querySelector('[data-outcome=appended]')",
            "the append",
        )
        .await;
        assert_eq!(
            b.attr("[data-study-patients]", "data-study-patients")
                .await
                .as_deref(),
            Some((before + 5).to_string().as_str())
        );
        b.shot("manage-append-done").await;
        b.axe("an append").await;
        b.close().await;
    });
}

/// As the data manager of `sclerad demo --serve`: the demo study's
/// patients, searched; one record edited with a bad value (refused at its
/// field), then saved; and an edit from a second tab, made on the version
/// before, shown beside the stored one.
#[test]
fn the_data_manager_edits_a_patient_and_meets_a_conflict() {
    let Some(env) = Env::start() else { return };
    let manager = env.demo.user("data_manager", 0).clone();
    env.run(async {
        let b = env.browser().await;
        b.login(&manager).await;
        b.wait_path("/manage").await;
        b.click("tr[data-study] [data-action=patients]").await;
        b.wait_path("/manage/patients").await;
        assert!(b.count("tr[data-patient]").await > 10);
        b.shot("manage-patients").await;
        b.axe("the patients list").await;
        b.find("#q").await.send_keys("NCY00").await.expect("type");
        b.click("[data-action=search]").await;
        b.wait(
            "document.querySelector('[data-matched=\"9\"]')",
            "the nine ids with NCY00",
        )
        .await;
        b.click("tr[data-patient=NCY002] [data-action=open-patient]").await;
        b.wait_path("/manage/patient").await;
        let at = b.client.current_url().await.expect("url");
        let patient_url = format!("{}?{}", at.path(), at.query().unwrap_or_default());
        b.shot("manage-patient").await;
        b.axe("a patient's record").await;
        let field = "form[data-form=patient] input[name=subset]";
        let input = b.find(field).await;
        input.clear().await.expect("clear");
        input.send_keys("diffuse?").await.expect("type");
        b.click("[data-action=save-patient]").await;
        b.wait(
            "document.querySelector('[data-problem=subset]')",
            "the refusal at the field",
        )
        .await;
        assert_eq!(
            b.attr(field, "aria-invalid").await.as_deref(),
            Some("true")
        );
        b.shot("manage-patient-refused").await;
        b.axe("a refused edit").await;
        let input = b.find(field).await;
        input.clear().await.expect("clear");
        input.send_keys("lcssc").await.expect("type");
        b.click("[data-action=save-patient]").await;
        b.wait(
            "document.querySelector('[data-notice]')",
            "the saved notice",
        )
        .await;
        // A second tab, opened on this version, saves first; this one's
        // edit then meets the newer version.
        let other = env.browser().await;
        other.login(&manager).await;
        other.wait_path("/manage").await;
        other.goto(&patient_url).await;
        let age = "form[data-form=patient] input[name=mrss]";
        let input = other.find(age).await;
        input.clear().await.expect("clear");
        input.send_keys("30").await.expect("type");
        let mine = b.find(age).await;
        mine.clear().await.expect("clear");
        mine.send_keys("12").await.expect("type");
        other.click("[data-action=save-patient]").await;
        other
            .wait("document.querySelector('[data-notice]')", "the other save")
            .await;
        other.close().await;
        b.click("[data-action=save-patient]").await;
        b.wait(
            "document.querySelector('[data-conflict]')",
            "the conflict",
        )
        .await;
        assert_eq!(
            b.strings("return [...document.querySelectorAll('[data-stored]')].map(e => e.dataset.stored + '=' + e.querySelector('code').textContent)")
                .await,
            ["mrss=30"]
        );
        b.shot("manage-patient-conflict").await;
        b.axe("a conflicting edit").await;
        b.click("[data-action=save-patient]").await;
        b.wait(
            "document.querySelector('[data-notice]')",
            "mine saved over it",
        )
        .await;
        assert_eq!(b.attr(age, "value").await.as_deref(), Some("12"));
        b.close().await;
    });
}

/// As the admin then the data manager of `sclerad demo --serve`: a new
/// reader gets a worklist of three patients' hand radiographs, then the
/// rest of the study's hand radiographs, without the first three again;
/// the progress table shows both.
#[test]
fn the_data_manager_builds_a_partial_worklist_and_grows_it() {
    let Some(env) = Env::start() else { return };
    let admin = env.demo.user("admin", 0).clone();
    let manager = env.demo.user("data_manager", 0).clone();
    env.run(async {
        let b = env.browser().await;
        b.login(&admin).await;
        b.goto("/admin/users").await;
        b.find("#name")
            .await
            .send_keys("rx-new")
            .await
            .expect("type");
        b.find("#password")
            .await
            .send_keys("a long enough secret")
            .await
            .expect("type");
        b.js("document.querySelector('#role').value = 'reader';", vec![])
            .await;
        b.click("[data-action=create-user]").await;
        b.wait(
            "document.querySelector('tr[data-user=\"rx-new\"]')",
            "the new reader",
        )
        .await;
        b.close().await;

        let b = env.browser().await;
        b.login(&manager).await;
        b.wait_path("/manage").await;
        b.click("tr[data-study] [data-action=worklists]").await;
        b.wait_path("/manage/worklists").await;
        assert!(b.count("tr[data-reader]").await >= 2, "the demo's readers");
        b.shot("manage-worklists").await;
        b.axe("the worklists page").await;
        // Waits for the page that shows rx-new with `expected` readings (a
        // notice alone may be the page before's).
        let assign = |patients: &'static str, expected: usize| {
            let b = &b;
            async move {
                b.click("input[name=reader][value=rx-new]").await;
                b.js(
                    "document.querySelector('#exams').value = 'hand_radiograph';",
                    vec![],
                )
                .await;
                let share = b.find("#repeat_percent").await;
                share.clear().await.expect("clear");
                share.send_keys("0").await.expect("type");
                let list = b.find("#patients").await;
                list.clear().await.expect("clear");
                if !patients.is_empty() {
                    list.send_keys(patients).await.expect("type");
                }
                b.click("[data-action=build-worklists]").await;
                b.wait(
                    &format!(
                        "document.querySelector('[data-notice]') && document.querySelector('tr[data-reader=\"rx-new\"][data-assigned=\"{expected}\"]')"
                    ),
                    "the new readings in the progress table",
                )
                .await;
            }
        };
        assign("NCY001\nNCY002\nNCY003", 3).await;
        b.shot("manage-worklists-partial").await;
        b.axe("a partial worklist made").await;
        // Every hand radiograph once: the 74 the worklist lacked.
        assign("", 77).await;
        let notice = b
            .strings("return [document.querySelector('[data-notice]').textContent]")
            .await;
        assert_eq!(notice, ["74 readings assigned."], "only what rx-new lacked");
        b.close().await;
    });
}

/// As the data manager: a study from a REDCap records export, a bad value
/// shown at its row and REDCap field first; then a mapping suggested from a
/// centre's dictionary, in a form.
#[test]
fn the_data_manager_brings_a_study_from_redcap() {
    let Some(env) = Env::start() else { return };
    let manager = env.demo.user("data_manager", 0).clone();
    let dictionary = sclerad_redcap::format_dictionary();
    let mut header: Vec<String> = dictionary.fields.iter().map(|f| f.name.clone()).collect();
    header.push(format!("{}_complete", sclerad_redcap::FORM));
    let given = |sex: &str| -> String {
        let mut out = header.join(",") + "\n";
        for (i, sex) in [("R01", "female"), ("R02", sex), ("R03", "male")] {
            let cells: Vec<&str> = header
                .iter()
                .map(|field| match field.as_str() {
                    "patient_id" => i,
                    "sex" => sex,
                    "subset" => "lcssc",
                    "age_years" => "58",
                    "disease_duration_years" => "7.5",
                    "digital_ulcers" | "ild_ct" | "pah" | "death" => "0",
                    f if f.ends_with("_complete") => "2",
                    _ => "",
                })
                .collect();
            out.push_str(&(cells.join(",") + "\n"));
        }
        out
    };
    let dir = tempfile::tempdir().expect("temp");
    let bad = dir.path().join("bad-records.csv");
    std::fs::write(&bad, given("unknown")).expect("write");
    let good = dir.path().join("records.csv");
    std::fs::write(&good, given("female")).expect("write");
    let centre = dir.path().join("centre-dictionary.csv");
    std::fs::write(
        &centre,
        sclerad_redcap::DICTIONARY_HEADERS
            .map(|h| {
                if h.contains(',') {
                    format!("\"{h}\"")
                } else {
                    h.to_string()
                }
            })
            .join(",")
            + "\nrecord_id,ssc,,text,Record ID,,,,,,,,,,,,,\n\
               sexe,ssc,,radio,Sex,\"1, Female | 2, Male\",,,,,,,,,,,,\n\
               ulceres,ssc,,yesno,Digital ulcers,,,,,,,,,,,,,\n",
    )
    .expect("write");
    env.run(async {
        let b = env.browser().await;
        b.login(&manager).await;
        b.wait_path("/manage").await;
        b.click("[data-action=redcap-page]").await;
        b.wait_path("/manage/redcap").await;
        b.shot("manage-redcap").await;
        b.axe("the REDCap page").await;
        let study = b.find("form[data-form=redcap] input[name=study]").await;
        study.send_keys("from redcap").await.expect("type");
        b.find("#records")
            .await
            .send_keys(&bad.display().to_string())
            .await
            .expect("choose");
        b.click("[data-action=redcap-import]").await;
        b.wait(
            "document.querySelector('[data-outcome=refused]')",
            "the refusal",
        )
        .await;
        assert_eq!(
            b.count("tr[data-file='bad-records.csv'][data-row='3'][data-column=sex]")
                .await,
            1,
            "the second patient's sex, at row 3"
        );
        b.shot("manage-redcap-refused").await;
        b.axe("a refused export").await;
        let study = b.find("form[data-form=redcap] input[name=study]").await;
        study.clear().await.expect("clear");
        study.send_keys("from redcap").await.expect("type");
        b.find("#records")
            .await
            .send_keys(&good.display().to_string())
            .await
            .expect("choose");
        b.click("[data-action=redcap-import]").await;
        b.wait(
            "document.querySelector('[data-outcome=imported]')",
            "the import",
        )
        .await;
        b.shot("manage-redcap-imported").await;
        b.goto("/manage").await;
        assert_eq!(b.count("tr[data-study='from redcap']").await, 1);
        b.goto("/manage/redcap/mapping").await;
        b.find("#dictionary")
            .await
            .send_keys(&centre.display().to_string())
            .await
            .expect("choose");
        b.click("[data-action=suggest-mapping]").await;
        b.wait(
            "document.querySelector('form[data-form=redcap-mapping]')",
            "the mapping form",
        )
        .await;
        assert!(b.count("tr[data-field=sexe][data-choice='1']").await == 1);
        b.shot("manage-redcap-mapping").await;
        b.axe("the mapping form").await;
        b.close().await;
    });
}

/// As the data manager: the demo study's images page; a zip holding a
/// radiograph that may show burned-in text, uploaded with its map, is
/// quarantined with its reason in the report, and stored when uploaded
/// again with the override ticked.
#[test]
fn the_data_manager_takes_images_in_and_meets_a_quarantine() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    let Some(env) = Env::start() else { return };
    let manager = env.demo.user("data_manager", 0).clone();
    let cohort = sclerad_synth::nancy_demo();
    let patient = &cohort.patients[0];
    let hospital_id = sclerad_synth::images::hospital_id(&patient.patient_id);
    let hospital = sclerad_dicom::synthetic::Hospital {
        patient_id: hospital_id.clone(),
        patient_name: "DOE^JANE".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1950, 2, 3).expect("date"),
        sex: "F".into(),
        accession_number: "A1".into(),
        institution: "Hospital".into(),
        referring_physician: "DR^WHO".into(),
        date: patient.hand_xray_date.expect("a radiograph date"),
        seed: "burned-in test".into(),
    };
    let pixels: Vec<u16> = (0..40 * 30).map(|i| (i % 4000) as u16).collect();
    let mut burned = sclerad_dicom::synthetic::radiograph(&hospital, 30, 40, 0.5, &pixels, true);
    burned.put(DataElement::new(
        dicom_dictionary_std::tags::BURNED_IN_ANNOTATION,
        VR::CS,
        PrimitiveValue::from("YES"),
    ));
    let mut bytes = Vec::new();
    burned.write_all(&mut bytes).expect("write");
    let dir = tempfile::tempdir().expect("temp");
    let archive = dir.path().join("from-pacs.zip");
    std::fs::write(
        &archive,
        sclerad_bundle::zip(&[("IM0001.dcm", &bytes)]).expect("zip"),
    )
    .expect("write");
    let map = dir.path().join("map.csv");
    std::fs::write(
        &map,
        format!(
            "dicom_patient_id,patient_id\n{hospital_id},{}\n",
            patient.patient_id
        ),
    )
    .expect("write");
    env.run(async {
        let b = env.browser().await;
        b.login(&manager).await;
        b.wait_path("/manage").await;
        b.click("tr[data-study=nancy-demo] [data-action=images]").await;
        b.wait_path("/manage/images").await;
        assert!(b.count("tr[data-exam-images]").await > 0, "the demo's images");
        b.shot("manage-images").await;
        b.axe("the images page").await;
        let send = |allow: bool| {
            let b = &b;
            let (archive, map) = (archive.display().to_string(), map.display().to_string());
            async move {
                b.find("#map").await.send_keys(&map).await.expect("choose");
                b.find("#files").await.send_keys(&archive).await.expect("choose");
                if allow {
                    b.click("input[name=allow_burned_in]").await;
                }
                b.click("[data-action=import-images]").await;
                // The report this upload gives (not the page before's).
                let stored = if allow { 1 } else { 0 };
                b.wait(
                    &format!("document.querySelector('[data-report][data-stored=\"{stored}\"]')"),
                    "the de-identification report",
                )
                .await;
            }
        };
        send(false).await;
        assert_eq!(
            b.count("tr[data-image-line][data-outcome=quarantined][data-source='from-pacs.zip!IM0001.dcm']")
                .await,
            1
        );
        b.shot("manage-images-quarantined").await;
        b.axe("a report with a quarantine").await;
        send(true).await;
        assert_eq!(
            b.count("tr[data-image-line][data-outcome=stored]").await,
            1,
            "stored on the override"
        );
        b.shot("manage-images-overridden").await;
        b.close().await;
    });
}

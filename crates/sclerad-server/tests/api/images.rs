//! The image viewer's routes and the images API, in-process: a study whose
//! CT and radiograph were taken in through `sclerad-dicom`'s intake, read
//! by the reader whose code it is and no one else, rendered as PNG, the HU
//! of a known spot, marks checked against the exam's images, the data
//! manager's image check.

use super::web::{csrf_of, log_in, page_of};
use super::*;
use sclerad_dicom::intake::{ExamDates, Intake, Intaker, Map};
use sclerad_dicom::synthetic::{ct_slice, radiograph, Hospital};

fn hospital(id: &str, date: &str, seed: &str) -> Hospital {
    Hospital {
        patient_id: id.into(),
        patient_name: "DOE^JANE".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1950, 2, 3).expect("date"),
        sex: "F".into(),
        accession_number: "A1".into(),
        institution: "Hospital".into(),
        referring_physician: "DR^WHO".into(),
        date: chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date"),
        seed: seed.into(),
    }
}

/// P01's thoracic CT (8 slices of 32 × 32, 2 mm pixels, a 1,200 HU spot at
/// the centre of slice 3, from the bottom) dated as the bundle says, and
/// P02's radiograph dated four days after its `hand_xray_date`, taken into
/// study `s`.
async fn with_images(f: &Fixture) {
    let patients = f.store.patients(study_id(f).await).await.expect("patients");
    let mut files = Vec::new();
    for s in 0..8 {
        let hu: Vec<i16> = (0..32 * 32)
            .map(|i| {
                if s == 3 && (i / 32, i % 32) == (16, 16) {
                    1200
                } else {
                    40
                }
            })
            .collect();
        files.push((
            patients[0].ct.id,
            ct_slice(
                &hospital("H1", "2017-06-02", "p1"),
                s,
                32,
                32,
                2.0,
                s as f64 * 5.0,
                5.0,
                &hu,
            ),
        ));
    }
    files.push((
        patients[1].hand_radiograph.id,
        a_radiograph("H2", "2016-01-14", "p2"),
    ));
    assert_eq!(take_in(f, files).await, 9);
}

async fn study_id(f: &Fixture) -> i64 {
    f.store.study("s").await.expect("read").expect("s").id
}

/// A 40 × 30 MONOCHROME1 radiograph of hospital patient `id`.
fn a_radiograph(id: &str, date: &str, seed: &str) -> dicom_object::DefaultDicomObject {
    let pixels: Vec<u16> = (0..40 * 30).map(|i| (i % 4000) as u16).collect();
    radiograph(&hospital(id, date, seed), 30, 40, 0.5, &pixels, true)
}

/// Takes `files` (exam id, instance) into study `s` through the intake
/// (map H1 → P01, H2 → P02), in one import; the number stored.
async fn take_in(f: &Fixture, files: Vec<(i64, dicom_object::DefaultDicomObject)>) -> usize {
    let study = f.store.study("s").await.expect("read").expect("s");
    let patients = f.store.patients(study.id).await.expect("patients");
    let secret = f
        .store
        .image_secret(&Actor::command_line("test"), study.id)
        .await
        .expect("secret");
    let secret = sclerad_dicom::StudySecret::new(secret.0);
    let header: Vec<String> = vec!["dicom_patient_id".into(), "patient_id".into()];
    let rows = vec![
        (2, vec!["H1".to_string(), "P01".to_string()]),
        (3, vec!["H2".to_string(), "P02".to_string()]),
    ];
    let map = Map::from_table(&header, &rows, |p| p.starts_with('P')).expect("map");
    let parse = |d: &Option<String>| {
        d.as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let dates: std::collections::HashMap<String, ExamDates> = patients
        .iter()
        .map(|p| {
            (
                p.patient_id.clone(),
                ExamDates {
                    hand_radiograph: parse(&p.hand_radiograph.date),
                    ct: parse(&p.ct.date),
                },
            )
        })
        .collect();
    let intaker = Intaker {
        map: &map,
        secret: &secret,
        patients: &dates,
        options: sclerad_dicom::Options::default(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    for (exam_id, file) in files {
        let Intake::Prepared(p) = intaker.instance(&file) else {
            panic!("not prepared");
        };
        let p = *p;
        tx.send(sclerad_store::ImageFeed::Image(sclerad_store::NewImage {
            exam_id,
            sop_instance_uid: p.sop_instance_uid,
            series_uid: p.series_uid,
            sop_class_uid: p.sop_class_uid,
            modality: p.modality,
            instance_number: p.instance_number,
            position: p.position,
            rows: p.rows,
            columns: p.columns,
            frames: p.frames,
            overridden: p.overridden,
            date_gap_days: p.date_gap_days,
            body_part: p.body_part,
            data: p.data,
        }))
        .await
        .expect("feed");
    }
    tx.send(sclerad_store::ImageFeed::End(Default::default()))
        .await
        .expect("end");
    drop(tx);
    let summary = f
        .store
        .import_images(&Actor::command_line("test"), study.id, rx)
        .await
        .expect("import");
    summary.stored
}

pub(super) async fn images_are_read_through_the_readers_code_only(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    with_images(&f).await;
    f.assign(0.0).await;
    let app = &f.app;
    let rita = log_in(app, "rita").await;
    let rolf = log_in(app, "rolf").await;
    // Rita's CTs: find the one with images (P01's).
    let mut ct = None;
    for item in f.worklist("rita").await {
        if item["modality"] != "ct" {
            continue;
        }
        let code = item["code"].as_str().expect("code").to_string();
        let p = page_of(app, &format!("/read/{code}"), &rita).await;
        if p.contains("data-kind=\"ct\"") {
            ct = Some((code, p));
        }
    }
    let (code, html) = ct.expect("a CT with images on rita's worklist");
    assert!(
        html.contains("data-viewer") && html.contains("data-slices=\"8\""),
        "{html}"
    );
    // The spot: slice 3 from the bottom, its centre.
    let hu = send(
        app,
        Request::get(format!("/read/{code}/hu?plane=axial&index=3&x=16&y=16"))
            .header(header::COOKIE, format!("sclerad_session={rita}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(hu.status, StatusCode::OK, "{}", hu.text);
    assert_eq!(hu.json()["hu"], json!(1200));
    for path in [
        format!("/read/{code}/ct/axial/3"),
        format!("/read/{code}/ct/axial/3?slab=10&window=bone"),
        format!("/read/{code}/ct/sagittal/16?window=soft"),
    ] {
        let png = send(
            app,
            Request::get(&path)
                .header(header::COOKIE, format!("sclerad_session={rita}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(png.status, StatusCode::OK, "{path}: {}", png.text);
        assert_eq!(png.headers[header::CONTENT_TYPE], "image/png");
        assert!(png.headers[header::CACHE_CONTROL]
            .to_str()
            .expect("text")
            .starts_with("private"));
    }
    let status = |path: String, cookie: String| async move {
        send(
            app,
            Request::get(&path)
                .header(header::COOKIE, format!("sclerad_session={cookie}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .status
    };
    // Out of range, a bad window, another reader's code, another role,
    // no session.
    assert_eq!(
        status(format!("/read/{code}/ct/axial/99"), rita.clone()).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(format!("/read/{code}/ct/axial/1?window=40"), rita.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        status(format!("/read/{code}/ct/axial/1"), rolf.clone()).await,
        StatusCode::NOT_FOUND
    );
    let dm = log_in_to_start(app, "dm").await;
    assert_eq!(
        status(format!("/read/{code}/ct/axial/1"), dm).await,
        StatusCode::FORBIDDEN
    );
    let anonymous = send(
        app,
        Request::get(format!("/read/{code}/ct/axial/1"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);

    // A mark on one of the exam's slices is kept; one on an image of
    // another exam, or outside the image, is refused.
    let uids: Vec<String> = html
        .split("data-uids=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the slices' UIDs")
        .split(' ')
        .map(String::from)
        .collect();
    assert_eq!(uids.len(), 8);
    let csrf = csrf_of(&html);
    let save = |mark: String| {
        let csrf = csrf.clone();
        let code = code.clone();
        let rita = rita.clone();
        async move {
            let form = format!(
                "csrf={csrf}&version=0&action=save&finding=t4%3Acanal&{}",
                mark
            );
            send(
                app,
                Request::post(format!("/read/{code}"))
                    .header(header::COOKIE, format!("sclerad_session={rita}"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(form))
                    .expect("request"),
            )
            .await
        }
    };
    let outside = save(format!("mark%3At4%3Acanal={}+40+3", uids[3])).await;
    assert_eq!(
        outside.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        outside.text
    );
    assert!(
        outside.text.contains("outside the 32 × 32 image"),
        "{}",
        outside.text
    );
    let foreign = save("mark%3At4%3Acanal=2.25.12345+4+3".into()).await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        foreign.text.contains("not an image of this exam"),
        "{}",
        foreign.text
    );
    let kept = save(format!("mark%3At4%3Acanal={}+16.5+16", uids[3])).await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.text);
    let item = f
        .ok(Method::GET, &format!("/api/worklist/{code}"), "rita", None)
        .await;
    assert_eq!(
        item["findings"],
        json!([{"level": "t4", "segment": "canal", "image_uid": uids[3], "x": 16.5, "y": 16.0}])
    );
    // The page keeps the mark for the next save, and the export has it.
    let again = page_of(app, &format!("/read/{code}"), &rita).await;
    assert!(
        again.contains(&format!(
            "name=\"mark:t4:canal\" value=\"{} 16.5 16\"",
            uids[3]
        )),
        "{again}"
    );
    let export = f.ok(Method::GET, "/api/studies/s/export", "dm", None).await;
    let spine = &export["spine_readings"];
    let columns: Vec<&str> = spine["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    for c in ["image_uid", "x", "y"] {
        assert!(columns.contains(&c), "{columns:?}");
    }
    assert!(spine.to_string().contains(&uids[3]), "{spine}");

    // The data manager's check: P02's radiograph four days late.
    let images = f.ok(Method::GET, "/api/studies/s/images", "dm", None).await;
    let list = images.as_array().expect("a list");
    let p01_ct = list
        .iter()
        .find(|e| e["patient_id"] == "P01" && e["exam"] == "ct")
        .expect("P01's CT");
    assert_eq!(
        (p01_ct["instances"].clone(), p01_ct["series"].clone()),
        (json!(8), json!(1))
    );
    assert_eq!(p01_ct["date_gap_days"], json!(0));
    // Its ct_levels is empty: 8 slices 5 mm apart from C7 down (a
    // thoracic CT) make C7 and T1.
    assert_eq!(p01_ct["proposed_ct_levels"], json!("c7-t1"), "{p01_ct}");
    assert_eq!(
        p01_ct["problems"][0]["code"],
        json!("ct-levels-proposed"),
        "{p01_ct}"
    );
    let p02_hand = list
        .iter()
        .find(|e| e["patient_id"] == "P02" && e["exam"] == "hand_radiograph")
        .expect("P02's radiograph");
    assert_eq!(p02_hand["date_gap_days"], json!(4));
    assert_eq!(
        p02_hand["problems"][0]["code"],
        json!("image-date-mismatch"),
        "{p02_hand}"
    );
    assert!(
        p02_hand["problems"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("4 days after the bundle's hand_xray_date")),
        "{p02_hand}"
    );
    let p01_hand = list
        .iter()
        .find(|e| e["patient_id"] == "P01" && e["exam"] == "hand_radiograph")
        .expect("P01's radiograph");
    assert_eq!(
        p01_hand["problems"][0]["code"],
        json!("exam-without-images")
    );

    // Images taken in while the server runs show on an exam it has shown
    // without images (and so has in its cache).
    let mut radiographs = 0;
    let mut hands = Vec::new();
    for item in f.worklist("rita").await {
        if item["modality"] == "hand_radiograph" {
            let code = item["code"].as_str().expect("code").to_string();
            let p = page_of(app, &format!("/read/{code}"), &rita).await;
            radiographs += usize::from(p.contains("data-kind=\"radiograph\""));
            hands.push(code);
        }
    }
    assert_eq!(radiographs, 1, "P02's only");
    let p01 = f
        .store
        .patients(study_id(&f).await)
        .await
        .expect("patients")[0]
        .hand_radiograph
        .id;
    let taken = take_in(&f, vec![(p01, a_radiograph("H1", "2017-03-01", "p1"))]).await;
    assert_eq!(taken, 1);
    let mut now = 0;
    for code in &hands {
        let p = page_of(app, &format!("/read/{code}"), &rita).await;
        now += usize::from(p.contains("data-kind=\"radiograph\""));
    }
    assert_eq!(now, 2, "P01's radiograph shows once taken in");
}

/// Logs `name` in (a role whose start page is not the worklist).
async fn log_in_to_start(app: &Router, name: &str) -> String {
    super::web::log_in_to(app, name, "/").await
}

/// An instance's bytes as a file.
fn file_bytes(object: &dicom_object::DefaultDicomObject) -> Vec<u8> {
    let mut bytes = Vec::new();
    object.write_all(&mut bytes).expect("write");
    bytes
}

/// The data manager's images page: a zip uploaded with the map, one
/// radiograph stored and one that may show burned-in text quarantined, the
/// report a line each; a folder under the server's images root named
/// instead (one outside it refused), its quarantined file overridden once
/// its pixels are said checked, then stored; the exams table.
pub(super) async fn data_manager_takes_images_in_from_the_page(store: Arc<dyn Store>) {
    use super::web::{download, page, upload};
    let root = tempfile::tempdir().expect("root");
    let f = fixture(Arc::clone(&store)).await;
    let app = router(
        AppState::new(
            Arc::clone(&store),
            Config {
                images_root: Some(root.path().to_path_buf()),
                ..Config::default()
            },
        )
        .expect("state"),
    );
    let app = &app;
    let dm = log_in(app, "dm").await;
    let studies = page_of(app, "/manage", &dm).await;
    assert!(
        studies.contains("href=\"/manage/images?study=s\" data-action=\"images\""),
        "{studies}"
    );
    let form = page_of(app, "/manage/images?study=s", &dm).await;
    assert!(
        form.contains("data-form=\"images\"") && form.contains("name=\"folder\""),
        "{form}"
    );
    assert!(form.contains("data-instances=\"0\""), "{form}");
    let csrf = csrf_of(&form);
    let plain = file_bytes(&a_radiograph("H2", "2016-01-14", "p2"));
    let mut burned = a_radiograph("H2", "2016-01-14", "p2-burned");
    burned.put(dicom_core::DataElement::new(
        dicom_dictionary_std::tags::BURNED_IN_ANNOTATION,
        dicom_core::VR::CS,
        dicom_core::PrimitiveValue::from("YES"),
    ));
    let burned = file_bytes(&burned);
    let archive = sclerad_bundle::zip(&[("IM1.dcm", &plain), ("IM2.dcm", &burned)]).expect("zip");
    let map = b"dicom_patient_id,patient_id\nH1,P01\nH2,P02\n";
    let sent = upload(
        app,
        "/manage/images",
        &dm,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("study", None, b"s"),
            ("map", Some("map.csv"), map),
            ("files", Some("batch.zip"), &archive),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.html);
    assert!(
        sent.html.contains(
            "data-stored=\"1\" data-unchanged=\"0\" data-quarantined=\"1\" data-refused=\"0\""
        ),
        "{}",
        sent.html
    );
    assert!(
        sent.html
            .contains("data-outcome=\"stored\" data-source=\"batch.zip!IM1.dcm\""),
        "{}",
        sent.html
    );
    assert!(sent
        .html
        .contains("data-outcome=\"quarantined\" data-source=\"batch.zip!IM2.dcm\""));
    assert!(sent.html.contains("Burned In Annotation"), "the reason");
    assert!(
        !sent.html.contains("data-override="),
        "an upload is not kept to override"
    );
    assert!(sent.html.contains("data-instances=\"1\""), "{}", sent.html);

    // A folder on the server: its quarantined file, overridden.
    std::fs::create_dir_all(root.path().join("batch2")).expect("dir");
    std::fs::write(root.path().join("batch2/burned.dcm"), &burned).expect("write");
    let form = |folder: &str| {
        vec![
            ("csrf", None, csrf.as_bytes().to_vec()),
            ("study", None, b"s".to_vec()),
            ("map", Some("map.csv"), map.to_vec()),
            ("folder", None, folder.as_bytes().to_vec()),
        ]
    };
    let dm_ref = &dm;
    let send = |fields: Vec<(&'static str, Option<&'static str>, Vec<u8>)>| async move {
        let parts: Vec<(&str, Option<&str>, &[u8])> = fields
            .iter()
            .map(|(a, b, c)| (*a, *b, c.as_slice()))
            .collect();
        upload(app, "/manage/images", dm_ref, &parts).await
    };
    let outside = send(form("../")).await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        outside.html.contains("data-problem=\"folder\""),
        "{}",
        outside.html
    );
    let folder = send(form("batch2")).await;
    assert_eq!(folder.status, StatusCode::OK, "{}", folder.html);
    assert!(
        folder.html.contains("data-quarantined=\"1\""),
        "{}",
        folder.html
    );
    assert!(
        folder.html.contains("data-override=\"batch2/burned.dcm\""),
        "{}",
        folder.html
    );
    let csrf_field = format!("csrf={}", sclerad_server::web::encode(&csrf));
    let map_field = format!(
        "map_text={}",
        sclerad_server::web::encode(std::str::from_utf8(map).expect("text"))
    );
    let unchecked = page(
        app,
        Method::POST,
        "/manage/images/override",
        Some(&dm),
        Some(&format!(
            "{csrf_field}&study=s&map_name=map.csv&{map_field}&file=batch2%2Fburned.dcm"
        )),
    )
    .await;
    assert_eq!(
        unchecked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unchecked.html
    );
    let overridden = page(
        app,
        Method::POST,
        "/manage/images/override",
        Some(&dm),
        Some(&format!(
            "{csrf_field}&study=s&map_name=map.csv&{map_field}&file=batch2%2Fburned.dcm&checked=1"
        )),
    )
    .await;
    assert_eq!(overridden.status, StatusCode::OK, "{}", overridden.html);
    assert!(
        overridden.html.contains("data-stored=\"1\""),
        "{}",
        overridden.html
    );
    assert!(
        overridden
            .html
            .contains("stored on the override for burned-in text"),
        "{}",
        overridden.html
    );
    assert!(
        overridden
            .html
            .contains("data-patient=\"P02\" data-exam=\"hand_radiograph\" data-instances=\"2\""),
        "{}",
        overridden.html
    );
    assert!(overridden
        .html
        .contains("data-image-problem=\"burned-in-override\""));
    let escaped = page(
        app,
        Method::POST,
        "/manage/images/override",
        Some(&dm),
        Some(&format!("{csrf_field}&study=s&map_name=map.csv&{map_field}&file=..%2F..%2Fetc%2Fpasswd&checked=1")),
    )
    .await;
    assert_eq!(escaped.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Other roles do not reach it.
    let reader = log_in(app, "rita").await;
    let refused = download(app, "/manage/images?study=s", &reader).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    drop(f);
    sclerad_store_tests::conformance::verified(store.as_ref()).await;
}

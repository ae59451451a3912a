//! The viewer beside the forms, on the demo's synthetic images (whose
//! content agrees with the readings): a reader scrolls a CT to the level a
//! calcification was drawn at, finds it by its HU, and marks it; a hand
//! radiograph shows with its own window, MONOCHROME1 inverted.

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::key::Key;
use sclerad_model::{SpineSegment, SpineSide};
use serde_json::json;

use crate::harness::{Browser, Env};

/// A reader's CT exam and the consensus spine finding its images show.
struct Truth {
    code: String,
    level: sclerad_model::VertebralLevel,
    segment: SpineSegment,
    side: Option<SpineSide>,
}

/// From behind the pages (the demo's store and its cohort): one of
/// `reader`'s CT exams whose consensus has a canal calcification (not
/// foraminal), which the demo's images draw.
fn a_canal_calcification(db: &std::path::Path, reader: &str) -> Truth {
    let cohort = sclerad_synth::nancy_demo();
    let spine = cohort.spine_readings.as_ref().expect("spine readings");
    let rows: Vec<(String, String)> = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}?mode=ro", db.display()))
                .await
                .expect("the demo's store");
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT a.code, p.patient_id FROM assignments a JOIN users u ON u.id = a.reader_id \
                 JOIN exams e ON e.id = a.exam_id JOIN patients p ON p.id = e.patient_ref \
                 WHERE u.name = $1 AND e.modality = 'ct' AND a.kind = 'primary' ORDER BY a.position",
            )
            .bind(reader)
            .fetch_all(&pool)
            .await
            .expect("assignments");
            pool.close().await;
            rows
        });
    for (code, patient) in rows {
        let found = spine.rows.iter().find(|r| {
            r.patient_id == patient
                && r.reader == "consensus"
                && r.segment == Some(SpineSegment::Canal)
                && r.foraminal != Some(true)
                && r.level.is_some()
        });
        if let Some(r) = found {
            return Truth {
                code,
                level: r.level.expect("a level"),
                segment: SpineSegment::Canal,
                side: r.side,
            };
        }
    }
    panic!("no CT of {reader} with a canal calcification in its consensus");
}

/// Where the image pixel (x, y) of `img` lies, as an offset from the
/// element's centre in CSS pixels (how WebDriver places a pointer).
async fn offset_of(b: &Browser<'_>, css: &str, x: f64, y: f64) -> (f64, f64) {
    let v = b
        .js(
            "const i = document.querySelector(arguments[0]); const r = i.getBoundingClientRect();
             return [r.width / i.naturalWidth, r.height / i.naturalHeight, r.width, r.height];",
            vec![json!(css)],
        )
        .await;
    let n = |i: usize| v[i].as_f64().expect("a number");
    ((x + 0.5) * n(0) - n(2) / 2.0, (y + 0.5) * n(1) - n(3) / 2.0)
}

async fn pointer(b: &Browser<'_>, css: &str, (x, y): (f64, f64), click: bool) {
    let element = b.find(css).await;
    let mut actions = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element,
        duration: None,
        x,
        y,
    });
    if click {
        actions = actions
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
    }
    b.client
        .perform_actions(actions)
        .await
        .expect("pointer actions");
}

/// The check: a reader scrolls the demo CT (keys), finds the
/// calcification the readings put there (its HU under the cursor), ticks
/// it on the form and marks it on the image; the API then holds the mark
/// (the slice's instance and the point), and the mark is drawn again
/// after a reload.
#[test]
fn a_reader_scrolls_the_ct_finds_the_calcification_and_marks_it() {
    let Some(env) = Env::start() else { return };
    let reader = env.demo.user("reader", 0).clone();
    let truth = a_canal_calcification(&env.demo.db, &reader.name);
    let ((px, py), shown) =
        sclerad_synth::images::spine_spot(truth.level, truth.segment, false, truth.side);
    env.run(async {
        let b = env.browser().await;
        b.viewport(1600, 1000).await;
        b.login(&reader).await;
        b.goto(&format!("/read/{}", truth.code)).await;
        let loaded = "(() => { const i = document.querySelector('img[data-plane=axial]'); return i.complete && i.naturalWidth > 0; })()";
        b.wait(loaded, "the axial slice").await;
        b.axe("a CT exam with its images").await;
        // The slice to reach, by its position along the normal.
        let positions: Vec<f64> = b
            .attr("[data-stage][data-kind=ct]", "data-positions")
            .await
            .expect("positions")
            .split(' ')
            .map(|p| p.parse().expect("a position"))
            .collect();
        let target = positions
            .iter()
            .position(|p| (p - shown[0]).abs() < 0.05)
            .expect("the calcification's slice is in the series");
        let mut at: usize = b
            .attr("[data-stage][data-kind=ct]", "data-slice-index")
            .await
            .expect("slice")
            .parse()
            .expect("a number");
        // Scrolled by keys, as a reader would.
        b.find("body").await.click().await.expect("focus the page");
        while at != target {
            let key = if target > at { Key::PageUp } else { Key::PageDown };
            b.keys(&char::from(key).to_string()).await;
            let now: usize = b
                .js("return Number(document.querySelector('img[data-plane=axial]').getAttribute('data-slice-shown'));", vec![])
                .await
                .as_u64()
                .expect("the slice shown") as usize;
            assert_ne!(now, at, "the key moved the slice");
            at = now;
        }
        b.wait(loaded, "the target slice").await;
        assert_eq!(
            b.js("return document.querySelector('[data-position]').textContent;", vec![]).await,
            json!(format!("{:.1}", positions[target]))
        );
        // The HU under the cursor at the spot: a calcification.
        let spot = offset_of(&b, "img[data-plane=axial]", px, py).await;
        pointer(&b, "img[data-plane=axial]", spot, false).await;
        b.wait(
            "Number(document.querySelector('[data-hu]').textContent) > 1000",
            "the calcification's HU",
        )
        .await;
        b.shot("viewer-ct-calcification").await;
        // Tick it on the form, then mark it on the image (k, then a click).
        let level = truth.level.code();
        let cell = format!("td[data-level={level}][data-segment=canal] input[type=checkbox]");
        b.click(&cell).await;
        b.keys("k").await;
        assert_eq!(b.attr("[data-mark-mode]", "aria-pressed").await.as_deref(), Some("true"));
        pointer(&b, "img[data-plane=axial]", spot, true).await;
        b.wait(
            "document.querySelector('[data-overlay] circle[data-mark-key]') !== null",
            "the mark drawn",
        )
        .await;
        let uid = b.attr("img[data-plane=axial]", "data-instance").await.expect("uid");
        // Autosaved: the API holds the finding with its mark.
        let mut finding = json!(null);
        for _ in 0..100 {
            let (status, item) = b.fetch(&format!("/api/worklist/{}", truth.code)).await;
            assert_eq!(status, 200, "{item}");
            if let Some(f) = item["findings"]
                .as_array()
                .and_then(|fs| fs.iter().find(|f| f["image_uid"].is_string()))
            {
                finding = f.clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(finding["level"], json!(level), "{finding}");
        assert_eq!(finding["segment"], json!("canal"), "{finding}");
        assert_eq!(finding["image_uid"], json!(uid), "{finding}");
        let (x, y) = (
            finding["x"].as_f64().expect("x"),
            finding["y"].as_f64().expect("y"),
        );
        assert!((x - px).abs() <= 1.5 && (y - py).abs() <= 1.5, "{finding} vs ({px}, {py})");
        b.shot("viewer-ct-marked").await;
        // After a reload (the address kept the slice), the mark is drawn.
        b.client.refresh().await.expect("reload");
        b.wait(loaded, "the slice after reload").await;
        b.wait(
            &format!("document.querySelector('[data-overlay] circle[data-mark-key=\"{level}:canal\"]') !== null"),
            "the mark after reload",
        )
        .await;
        b.close().await;
    });
}

/// A hand radiograph opens at its own window, MONOCHROME1 shown with bone
/// white; invert and a window by Shift+drag re-render it.
#[test]
fn a_hand_radiograph_shows_with_bone_white_and_can_be_windowed() {
    let Some(env) = Env::start() else { return };
    env.run(async {
        let b = env.browser().await;
        b.viewport(1600, 1000).await;
        b.login(env.demo.user("reader", 0)).await;
        b.goto("/read").await;
        let code = b
            .js(
                "const row = [...document.querySelectorAll('tr[data-code]')]
                    .find(tr => tr.cells[2].textContent.startsWith('Hand'));
                 return row.dataset.code;",
                vec![],
            )
            .await;
        let code = code.as_str().expect("a hand exam").to_string();
        b.goto(&format!("/read/{code}")).await;
        let loaded = "(() => { const i = document.querySelector('img[data-plane=radiograph]'); return i.complete && i.naturalWidth > 0; })()";
        b.wait(loaded, "the radiograph").await;
        b.axe("a hand exam with its radiograph").await;
        b.shot("viewer-hand").await;
        // Grey levels read back from the image: bone (the radius, bottom
        // middle of the right hand) brighter than the air around.
        let grey = "(() => { const i = document.querySelector('img[data-plane=radiograph]');
            const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
            const g = c.getContext('2d'); g.drawImage(i, 0, 0);
            const at = (x, y) => g.getImageData(x, y, 1, 1).data[0];
            return [at(Math.round(i.naturalWidth * 0.222), i.naturalHeight - 5), at(5, 5)]; })()";
        let levels = b.js(&format!("return {grey};"), vec![]).await;
        let (bone, air) = (levels[0].as_u64().expect("grey"), levels[1].as_u64().expect("grey"));
        assert!(bone > 180 && air < 60, "bone {bone}, air {air}");
        b.click("[data-invert]").await;
        b.wait(loaded, "the inverted radiograph").await;
        b.wait(
            "document.querySelector('img[data-plane=radiograph]').src.includes('invert=true')",
            "the inverted image asked for",
        )
        .await;
        b.wait(loaded, "the inverted radiograph").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let levels = b.js(&format!("return {grey};"), vec![]).await;
        let (bone, air) = (levels[0].as_u64().expect("grey"), levels[1].as_u64().expect("grey"));
        assert!(bone < 80 && air > 190, "inverted: bone {bone}, air {air}");
        b.close().await;
    });
}

/// Each reader's save, through the reading form as the page posts it: one
/// canal calcification at `level`, marked on `uid` at (x, y).
async fn save_marked(b: &Browser<'_>, code: &str, level: &str, uid: &str, x: f64, y: f64) {
    b.goto(&format!("/read/{code}")).await;
    let status = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const f = document.querySelector('form.reading');
             const body = new URLSearchParams();
             body.set('csrf', f.querySelector('input[name=csrf]').value);
             body.set('version', f.querySelector('input[name=version]').value);
             body.set('action', 'save');
             body.append('finding', arguments[0] + ':canal');
             body.set('mark:' + arguments[0] + ':canal', arguments[1] + ' ' + arguments[2] + ' ' + arguments[3]);
             fetch(f.getAttribute('action'), { method: 'POST', body, redirect: 'manual' }).then(r => r.text().then(t => done([r.status, t.slice(0, 600), location.pathname])));",
            vec![json!(level), json!(uid), json!(x), json!(y)],
        )
        .await
        .expect("the save script");
    // The form answers a save with a redirect to the page.
    assert!(
        status[0] == json!(0) || status[0] == json!(303),
        "save: {status}"
    );
}

/// The adjudicator sees every reader's marks on the same slice, each
/// named, on the exam's page.
#[test]
fn an_adjudicator_sees_every_readers_marks_on_the_same_image() {
    let Some(env) = Env::start() else { return };
    let (r1, r2) = (
        env.demo.user("reader", 0).clone(),
        env.demo.user("reader", 1).clone(),
    );
    // An open CT disagreement both readers have on their worklists, and
    // one of its slices (from behind the pages).
    let (exam, codes, uid, level) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}?mode=ro", env.demo.db.display()))
                .await
                .expect("store");
            let (exam, levels): (i64, String) = sqlx::query_as(
                "SELECT e.id, e.ct_type FROM exams e JOIN patients p ON p.id = e.patient_ref \
                 WHERE e.modality = 'ct' AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.exam_id = e.id \
                 AND r.reader = 'consensus') AND EXISTS (SELECT 1 FROM images i WHERE i.exam_id = e.id) \
                 ORDER BY e.id LIMIT 1",
            )
            .fetch_one(&pool)
            .await
            .expect("an open CT");
            let mut codes = Vec::new();
            for reader in [&r1.name, &r2.name] {
                let code: String = sqlx::query_scalar(
                    "SELECT a.code FROM assignments a JOIN users u ON u.id = a.reader_id \
                     WHERE a.exam_id = $1 AND u.name = $2 AND a.kind = 'primary'",
                )
                .bind(exam)
                .bind(reader)
                .fetch_one(&pool)
                .await
                .expect("both readers read it");
                codes.push(code);
            }
            let uid: String = sqlx::query_scalar(
                "SELECT sop_instance_uid FROM images WHERE exam_id = $1 ORDER BY position DESC LIMIT 1",
            )
            .bind(exam)
            .fetch_one(&pool)
            .await
            .expect("a slice");
            pool.close().await;
            let covered = sclerad_model::ct_coverage(Some(&levels), None).expect("coverage");
            let top = covered.iter().next().expect("a level").code();
            (exam, codes, uid, top)
        });
    env.run(async {
        let b = env.browser().await;
        b.viewport(1600, 1000).await;
        for (reader, code, x) in [(&r1, &codes[0], 30.0), (&r2, &codes[1], 60.0)] {
            b.login(reader).await;
            save_marked(&b, code, &level, &uid, x, 40.0).await;
            let (_, item) = b.fetch(&format!("/api/worklist/{code}")).await;
            assert_eq!(item["findings"][0]["image_uid"], json!(uid), "{item}");
            b.goto("/logout").await;
            b.client.delete_all_cookies().await.expect("log out");
        }
        b.login(env.demo.user("adjudicator", 0)).await;
        // The top slice (the most superior: the last index).
        b.goto(&format!("/adjudicate/nancy-demo/{exam}")).await;
        let last = b
            .attr("[data-stage][data-kind=ct]", "data-slices")
            .await
            .and_then(|n| n.parse::<usize>().ok())
            .expect("slices")
            - 1;
        b.goto(&format!("/adjudicate/nancy-demo/{exam}?slice={last}")).await;
        b.wait(
            "(() => { const i = document.querySelector('img[data-plane=axial]'); return i.complete && i.naturalWidth > 0; })()",
            "the slice",
        )
        .await;
        for reader in [&r1.name, &r2.name] {
            assert_eq!(
                b.count(&format!("[data-overlay] circle[data-mark-reader='{reader}']")).await,
                1,
                "{reader}'s mark"
            );
        }
        b.axe("an adjudicator's CT with the readers' marks").await;
        b.shot("adjudicator-ct-marks").await;
        b.close().await;
    });
}

//! The reader: a hand radiograph read by clicking the drawing, a spine CT
//! read by keyboard, nothing lost on reload, a conflict from a second tab.

use fantoccini::key::Key;
use serde_json::{json, Value};

use crate::harness::{Browser, Env};

/// Open, from the worklist, the first unread exam whose description starts
/// with `what` (as a reader would: by its link); its code.
async fn open_from_worklist(b: &Browser<'_>, what: &str) -> String {
    b.goto("/read").await;
    let code = b
        .js(
            "const row = [...document.querySelectorAll('tr[data-code]')]
                .find(tr => !tr.classList.contains('read') && tr.cells[2].textContent.startsWith(arguments[0]));
             return row ? row.dataset.code : null;",
            vec![json!(what)],
        )
        .await;
    let code = code
        .as_str()
        .unwrap_or_else(|| panic!("no unread {what:?} exam in the worklist"))
        .to_string();
    b.click(&format!("tr[data-code='{code}'] a")).await;
    b.wait_path(&format!("/read/{code}")).await;
    code
}

/// The reader's saved findings of `code`, from the API.
async fn saved(b: &Browser<'_>, code: &str) -> (i64, Vec<Value>) {
    let (status, item) = b.fetch(&format!("/api/worklist/{code}")).await;
    assert_eq!(status, 200, "{item}");
    (
        item["version"].as_i64().expect("version"),
        item["findings"].as_array().expect("findings").clone(),
    )
}

/// The issue's own check: left tuft D2 → acro-osteolysis (joint lesions
/// not offered there), grade 2, save; the API shows it under those codes,
/// and the drawing shows it at a glance.
#[test]
fn a_reader_reads_a_hand_radiograph_by_clicking_the_drawing() {
    let Some(env) = Env::start() else { return };
    env.run(async {
        let b = env.browser().await;
        b.login(env.demo.user("reader", 0)).await;
        b.goto("/read").await;
        b.shot("reader-worklist").await;
        b.axe("the worklist").await;
        let progress = b.attr("[data-progress]", "data-progress").await;
        assert!(
            progress.as_deref().is_some_and(|p| p.starts_with("0/")),
            "{progress:?}"
        );
        let code = open_from_worklist(&b, "Hand radiograph").await;
        assert_eq!(b.count("[data-site-panel] [data-lesion]").await, 0);
        b.shot("reader-hand-exam").await;
        b.axe("a hand exam, no site chosen").await;

        b.click("[data-side=left][data-site=tuft_d2]").await;
        b.wait(
            "document.querySelector('[data-site-panel] [data-lesion=acro_osteolysis]')",
            "the tuft's lesions",
        )
        .await;
        // Choosing a site does not reload the page, and says where it is.
        assert_eq!(b.path().await, format!("/read/{code}?site=left%3Atuft_d2"));
        for joint in ["erosion", "joint_space_narrowing", "subluxation"] {
            assert_eq!(
                b.count(&format!("[data-site-panel] [data-lesion={joint}]"))
                    .await,
                0,
                "{joint} offered at a tuft"
            );
        }
        b.click("[data-site-panel] [data-lesion=acro_osteolysis]").await;
        b.click(".lesion-choice:has([data-lesion=acro_osteolysis]) [data-grade='2']")
            .await;
        let letters = b
            .find("[data-side=left][data-site=tuft_d2] text")
            .await
            .text()
            .await
            .expect("letters");
        assert_eq!(letters, "A2", "the drawing shows the mark");
        b.shot("reader-hand-site").await;
        b.axe("a hand exam, a site chosen").await;

        b.click("[data-action=save]").await;
        b.wait(
            "document.querySelector('.notice') && document.querySelector('.notice').textContent.includes('aved')",
            "the saved notice",
        )
        .await;
        let (_, findings) = saved(&b, &code).await;
        assert_eq!(
            findings,
            [json!({"side": "left", "site": "tuft_d2", "lesion": "acro_osteolysis", "grade": 2})],
            "the API shows the finding under the format's codes"
        );
        // After the save the drawing still shows it, and the worklist counts it.
        let marked = b.attr("[data-side=left][data-site=tuft_d2]", "class").await;
        assert!(marked.unwrap_or_default().contains("marked"));
        b.shot("reader-hand-saved").await;
        b.goto("/read").await;
        let row = b.attr(&format!("tr[data-code='{code}']"), "class").await;
        assert_eq!(row.as_deref(), Some("read"));
        let progress = b.attr("[data-progress]", "data-progress").await;
        assert!(
            progress.as_deref().is_some_and(|p| p.starts_with("1/")),
            "{progress:?}"
        );
        // "Nothing found" is its own action: the next hand exam, no mark.
        let other = open_from_worklist(&b, "Hand radiograph").await;
        b.click("[data-action=nothing-found]").await;
        b.wait(
            "document.querySelector('.notice')",
            "the nothing-found notice",
        )
        .await;
        let (version, findings) = saved(&b, &other).await;
        assert!(findings.is_empty() && version == 1, "{version} {findings:?}");
        b.close().await;
    });
}

/// A thoracic CT: levels the CT does not cover are "not seen" and cannot be
/// marked, by mouse or keys; T8 canal with foraminal extension is marked by
/// keyboard alone, autosaved, still there after a reload, saved with `s`.
#[test]
fn a_reader_reads_a_spine_ct_by_keyboard() {
    let Some(env) = Env::start() else { return };
    env.run(async {
        let b = env.browser().await;
        b.login(env.demo.user("reader", 0)).await;
        let code = open_from_worklist(&b, "Spine on thoracic CT").await;
        b.shot("reader-spine-exam").await;
        b.axe("a spine exam").await;

        // C3 is outside a thoracic CT: shown, not markable.
        let c3 = b.find("td[data-level=c3][data-segment=canal]").await;
        assert_eq!(c3.text().await.expect("text"), "not seen");
        assert_eq!(b.count("td[data-level=c3] input").await, 0);
        assert_eq!(b.count("tr[data-level-row=c3].unseen").await, 1);
        b.click("td[data-level=c3][data-segment=canal]").await;

        // Down from the first covered level to T8, right to the canal.
        let covered = b
            .strings("return [...document.querySelectorAll('tr[data-level-row]:not(.unseen)')].map(r => r.dataset.levelRow);")
            .await;
        let t8 = covered
            .iter()
            .position(|l| l == "t8")
            .expect("T8 is covered by a thoracic CT");
        b.js("document.activeElement.blur();", vec![]).await;
        b.keys(&Key::Down).await; // focuses the first covered cell
        for _ in 0..t8 {
            b.keys(&Key::Down).await;
        }
        b.keys(&Key::Right).await;
        let at = b
            .js(
                "const td = document.activeElement.closest('td'); return td ? td.dataset.level + ' ' + td.dataset.segment : null;",
                vec![],
            )
            .await;
        assert_eq!(at, json!("t8 canal"));
        b.keys(&Key::Space).await;
        b.keys("o").await;
        assert_eq!(
            b.js(
                "return document.querySelector('[data-foraminal=t8]').checked;",
                vec![]
            )
            .await,
            json!(true)
        );
        // The foraminal toggle exists only in the canal.
        assert_eq!(
            b.count("td[data-segment=anterior] [data-foraminal], td[data-segment=posterior] [data-foraminal]")
                .await,
            0
        );
        b.wait(
            "document.querySelector('[data-autosave-status]').textContent.startsWith('Saved automatically')",
            "the autosave",
        )
        .await;
        b.shot("reader-spine-autosaved").await;
        let (version, findings) = saved(&b, &code).await;
        assert_eq!(version, 1);
        assert_eq!(
            findings,
            [json!({"level": "t8", "segment": "canal", "foraminal": true})]
        );

        // Nothing lost on reload.
        b.client.refresh().await.expect("reload");
        b.wait("document.readyState === 'complete'", "the reload")
            .await;
        assert_eq!(
            b.js(
                "return [document.querySelector('td[data-level=t8][data-segment=canal] input[name=finding]').checked,
                         document.querySelector('[data-foraminal=t8]').checked];",
                vec![]
            )
            .await,
            json!([true, true])
        );
        // `s` saves (a plain form post, with the version the autosave left).
        b.js("document.activeElement.blur();", vec![]).await;
        b.keys("s").await;
        b.wait("document.querySelector('.notice')", "the saved notice")
            .await;
        let (version, findings) = saved(&b, &code).await;
        assert_eq!(version, 2);
        assert_eq!(findings.len(), 1, "{findings:?}");
        // `u`: the next unread exam.
        b.js("document.activeElement.blur();", vec![]).await;
        b.keys("u").await;
        b.wait(
            &format!("location.pathname.startsWith('/read/') && location.pathname !== '/read/{code}'"),
            "the next unread exam",
        )
        .await;
        b.close().await;
    });
}

/// Two tabs on one exam: the second saves; the first, stale, is told and
/// keeps its marks on purpose; the second, now stale, takes the saved ones.
/// Never a silent overwrite.
#[test]
fn a_save_from_a_second_tab_is_a_conflict_the_reader_resolves() {
    let Some(env) = Env::start() else { return };
    env.run(async {
        let b = env.browser().await;
        b.login(env.demo.user("reader", 1)).await;
        let code = open_from_worklist(&b, "Hand radiograph").await;
        let first = b.client.window().await.expect("this tab");

        let second = b.client.new_window(true).await.expect("a second tab");
        b.client
            .switch_to_window(second.handle.clone())
            .await
            .expect("to the second tab");
        b.goto(&format!("/read/{code}?site=right%3Amcp_d2")).await;
        b.click("[data-site-panel] [data-lesion=erosion]").await;
        b.click("[data-action=save]").await;
        b.wait("document.querySelector('.notice')", "the second tab's save")
            .await;
        let (version, _) = saved(&b, &code).await;
        assert_eq!(version, 1);

        // The first tab still holds version 0.
        b.client
            .switch_to_window(first.clone())
            .await
            .expect("back to the first tab");
        b.click("[data-side=left][data-site=wrist]").await;
        b.click("[data-site-panel] [data-lesion=erosion]").await;
        b.wait("document.querySelector('[data-conflict]')", "the conflict")
            .await;
        b.shot("reader-conflict").await;
        b.axe("a conflict").await;
        let (version, findings) = saved(&b, &code).await;
        assert_eq!(version, 1, "the stale save was refused");
        assert_eq!(
            findings,
            [json!({"side": "right", "site": "mcp_d2", "lesion": "erosion"})]
        );
        b.click("[data-action=keep-mine]").await;
        b.wait(
            "!document.querySelector('[data-conflict]') && document.querySelector('[data-autosave-status]').textContent.startsWith('Saved automatically')",
            "my marks saved",
        )
        .await;
        let (version, findings) = saved(&b, &code).await;
        assert_eq!(version, 2);
        assert_eq!(
            findings,
            [json!({"side": "left", "site": "wrist", "lesion": "erosion"})],
            "what this tab showed is what was kept"
        );

        // The second tab is stale now: it takes the saved reading instead.
        b.client
            .switch_to_window(second.handle)
            .await
            .expect("to the second tab");
        b.click("[data-site-panel] [data-lesion=joint_space_narrowing]").await;
        b.wait("document.querySelector('[data-conflict]')", "the conflict")
            .await;
        b.click("[data-action=load-saved]").await;
        b.wait(
            "!document.querySelector('[data-conflict]') && document.readyState === 'complete'",
            "the saved reading",
        )
        .await;
        let marked = b
            .js(
                "return [...document.querySelectorAll('a.site.marked')].map(a => a.dataset.side + ':' + a.dataset.site);",
                vec![],
            )
            .await;
        assert_eq!(marked, json!(["left:wrist"]));
        let (version, _) = saved(&b, &code).await;
        assert_eq!(version, 2, "loading the saved reading saves nothing");
        b.close().await;
    });
}

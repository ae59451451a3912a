//! Every page: the login page for anyone without a session, nothing that
//! identifies a patient on any page a reader reaches, readable on a tablet.

use serde_json::Value;

use crate::harness::Env;

/// Every page, without a session, sends the browser to the login page,
/// which then brings the reader back where they were going.
#[test]
fn without_a_session_every_page_sends_the_browser_to_the_login_page() {
    let Some(env) = Env::start() else { return };
    env.run(async {
        let b = env.browser().await;
        for path in [
            "/",
            "/read",
            "/read/next",
            "/read/H-NOSUCHCODE",
            "/adjudicate",
            "/adjudicate/nancy-demo",
            "/adjudicate/nancy-demo/1",
        ] {
            b.goto(path).await;
            b.wait_path("/login").await;
            let at = b.path().await;
            assert!(at.starts_with("/login?next="), "{path} → {at}");
            assert_eq!(b.count("input[name=name]").await, 1);
            assert_eq!(b.count("input[name=password]").await, 1);
        }
        b.shot("login").await;
        b.axe("the login page").await;
        // A wrong password: said plainly, on the same form.
        let reader = env.demo.user("reader", 0);
        b.goto("/login?next=%2Fread").await;
        b.submit_login(&reader.name, "not the password").await;
        b.wait("document.querySelector('.problem')", "the refusal")
            .await;
        b.shot("login-refused").await;
        b.axe("a refused login").await;
        // The right one goes where the reader was going.
        b.submit_login(&reader.name, &reader.password).await;
        b.wait_path("/read").await;
        b.close().await;
    });
}

/// First start, as the person who installed sclerad meets it: the link
/// `sclerad serve` printed on an empty store, a refusal shown at its field,
/// the first admin created, a login, and the link gone.
#[test]
fn the_first_admin_is_created_from_the_printed_link() {
    let Some((env, link)) = Env::first_start() else {
        return;
    };
    env.run(async {
        let b = env.browser().await;
        b.goto(&link).await;
        b.wait(
            "document.querySelector('form[data-form=first-admin]')",
            "the form",
        )
        .await;
        b.shot("first-start").await;
        b.axe("the first-start page").await;
        let fill = |password: &'static str, again: &'static str| {
            let b = &b;
            async move {
                for (field, text) in [("name", "root"), ("password", password), ("again", again)] {
                    let input = b.find(&format!("input[name={field}]")).await;
                    input.clear().await.expect("clear");
                    input.send_keys(text).await.expect("type");
                }
                b.click("[data-action=create-admin]").await;
            }
        };
        fill("a long first passphrase", "a long other passphrase").await;
        b.wait(
            "document.querySelector('[data-problem=again]')",
            "the refusal at the field",
        )
        .await;
        b.shot("first-start-refused").await;
        b.axe("a refused first start").await;
        fill("a long first passphrase", "a long first passphrase").await;
        b.wait_path("/login").await;
        b.submit_login("root", "a long first passphrase").await;
        b.wait_path("/admin/users").await;
        b.goto(&link).await;
        b.wait("document.readyState === 'complete'", "the page")
            .await;
        let (status, _, _) = env.demo.http("GET", &link, &[], "");
        assert_eq!(status, 404, "the link works once");
        b.close().await;
    });
}

/// Every patient id and every date of the demo bundle, as a page could
/// spell it, and the names of the other readers.
fn needles() -> Vec<String> {
    let cohort = sclerad_synth::nancy_demo();
    let mut out = Vec::new();
    for p in &cohort.patients {
        out.push(p.patient_id.clone());
        for d in [
            p.birth_date,
            p.onset_date,
            p.hand_xray_date,
            p.ct_date,
            p.death_date,
            p.last_followup_date,
        ]
        .into_iter()
        .flatten()
        {
            out.push(d.format("%Y-%m-%d").to_string());
            out.push(d.format("%d/%m/%Y").to_string());
            out.push(d.format("%d.%m.%Y").to_string());
        }
    }
    out.extend(["rad1", "rad2", "reader2"].map(String::from));
    out.sort();
    out.dedup();
    out
}

/// Blinding is structural: no page, script, title, header or error reader1
/// can reach holds a patient id, a date of the study or another reader's
/// name — read both as the browser shows it (after the script ran) and as
/// the server sent it (headers included).
#[test]
fn no_page_a_reader_reaches_carries_a_patient_id_or_a_date() {
    let Some(env) = Env::start() else { return };
    let needles = needles();
    assert!(needles.len() > 300, "{}", needles.len());
    let reader = env.demo.user("reader", 0);
    let mut paths: Vec<String> = env.run(async {
        let b = env.browser().await;
        b.login(reader).await;
        b.goto("/read").await;
        let codes = b
            .strings(
                "return [...document.querySelectorAll('tr[data-code]')].map(t => t.dataset.code);",
            )
            .await;
        assert!(codes.len() > 77, "{}", codes.len());
        let mut paths = vec![
            "/".to_string(),
            "/read".into(),
            "/read/next".into(),
            "/read/H-NOSUCHCODE".into(),
            "/adjudicate".into(),
            "/adjudicate/nancy-demo".into(),
            "/adjudicate/nancy-demo/1".into(),
            "/assets/sclerad.js".into(),
            "/assets/sclerad.css".into(),
            "/api/worklist".into(),
            "/api/me".into(),
        ];
        for code in &codes {
            paths.push(format!("/read/{code}"));
            if code.starts_with('H') {
                paths.push(format!("/read/{code}?site=right%3Amcp_d3"));
            }
        }
        for path in &paths {
            b.goto(path).await;
            let seen = b
                .js(
                    "return document.title + '\\n' + document.documentElement.outerHTML;",
                    vec![],
                )
                .await;
            let seen = seen.as_str().unwrap_or_default();
            for n in &needles {
                assert!(!seen.contains(n.as_str()), "{path} shows {n}");
            }
        }
        // The error pages a reader meets are pages too, and accessible.
        b.goto("/adjudicate").await;
        b.shot("reader-forbidden").await;
        b.axe("a forbidden page").await;
        b.goto("/read/H-NOSUCHCODE").await;
        b.shot("reader-not-found").await;
        b.axe("an unknown exam").await;
        b.goto("/").await;
        b.shot("reader-home").await;
        b.axe("the home page").await;
        b.close().await;
        paths
    });
    // As sent, headers and all (and what a failed save answers).
    paths.push("/read/H-NOSUCHCODE".into());
    let cookie = env.demo.session(reader);
    for path in &paths {
        let (status, head, body) = env.demo.http("GET", path, &[("Cookie", &cookie)], "");
        assert!(status != 0 && status != 500, "{path}: {status}");
        for n in &needles {
            assert!(
                !head.contains(n.as_str()) && !body.contains(n.as_str()),
                "{path} sends {n}"
            );
        }
    }
}

/// A tablet held upright (820×1180): the hand and spine forms fit the
/// width, nothing to scroll sideways.
#[test]
fn the_reading_forms_fit_a_tablet() {
    let Some(env) = Env::start() else { return };
    env.run(async {
        let b = env.browser().await;
        b.viewport(820, 1180).await;
        b.login(env.demo.user("reader", 0)).await;
        b.goto("/read").await;
        let first = |what: &'static str| {
            format!(
                "const r = [...document.querySelectorAll('tr[data-code]')].find(t => t.cells[2].textContent.startsWith('{what}')); return r && r.dataset.code;"
            )
        };
        let hand = b.js(&first("Hand"), vec![]).await;
        let spine = b.js(&first("Spine"), vec![]).await;
        for (name, path) in [
            ("tablet-worklist", "/read".to_string()),
            (
                "tablet-hand-exam",
                format!("/read/{}?site=left%3Apip_d3", hand.as_str().expect("a hand exam")),
            ),
            (
                "tablet-spine-exam",
                format!("/read/{}", spine.as_str().expect("a spine exam")),
            ),
        ] {
            b.goto(&path).await;
            let widths: Value = b
                .js(
                    "return [document.documentElement.scrollWidth, window.innerWidth];",
                    vec![],
                )
                .await;
            let (scroll, inner) = (widths[0].as_u64(), widths[1].as_u64());
            assert!(scroll <= inner, "{path}: {widths} (scrolls sideways)");
            if name == "tablet-hand-exam" {
                // Every site of both hands, each big enough to touch
                // (WCAG 2.5.8: 24 CSS pixels).
                let sizes = b
                    .numbers("return [...document.querySelectorAll('a.site circle.hit')].map(c => c.getBoundingClientRect().width);")
                    .await;
                assert_eq!(sizes.len(), 2 * sclerad_model::HandSite::ALL.len());
                let smallest = sizes.iter().copied().fold(f64::INFINITY, f64::min);
                assert!(smallest >= 24.0, "a site {smallest:.1} px wide");
            }
            b.shot(name).await;
            b.axe(name).await;
        }
        b.close().await;
    });
}

//! The web pages, in-process: login and its redirects, the reader's
//! worklist and reading forms (saves, conflicts, "nothing found", CT
//! coverage), roles, CSRF, headers, and blinding (no page a reader reaches
//! carries a patient id or a date).

use super::*;

/// A page's reply, with the session cookie it sets, if any.
pub(super) struct Page {
    pub(super) status: StatusCode,
    location: Option<String>,
    cookie: Option<String>,
    pub(super) html: String,
    csp: Option<String>,
}

pub(super) async fn page(
    app: &Router,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Page {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, format!("sclerad_session={c}"));
    }
    let body = match form {
        Some(f) => {
            r = r.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(f.to_string())
        }
        None => Body::empty(),
    };
    let reply = send(app, r.body(body).expect("request")).await;
    let header_text = |name| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    Page {
        status: reply.status,
        location: header_text(header::LOCATION),
        cookie: header_text(header::SET_COOKIE).and_then(|c| {
            c.strip_prefix("sclerad_session=")
                .and_then(|c| c.split(';').next())
                .filter(|c| !c.is_empty())
                .map(String::from)
        }),
        csp: header_text(header::CONTENT_SECURITY_POLICY),
        html: reply.text,
    }
}

/// The page script's save: the form's fields without its CSRF field, the
/// token in the `X-CSRF-Token` header; the status and the JSON reply.
async fn autosave(
    app: &Router,
    uri: &str,
    cookie: &str,
    csrf: &str,
    form: &str,
) -> (StatusCode, Value) {
    let r = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::COOKIE, format!("sclerad_session={cookie}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-csrf-token", csrf)
        .body(Body::from(format!("action=autosave&{form}")))
        .expect("request");
    let reply = send(app, r).await;
    let json = serde_json::from_str(&reply.text).unwrap_or_else(|_| panic!("JSON: {}", reply.text));
    (reply.status, json)
}

fn enc(text: &str) -> String {
    sclerad_server::web::encode(text)
}

/// Logs `name` in through the login form; the session cookie.
pub(super) async fn log_in(app: &Router, name: &str) -> String {
    log_in_to(app, name, "/read").await
}

/// Logs `name` in through the login form, coming back to `next`.
pub(super) async fn log_in_to(app: &Router, name: &str, next: &str) -> String {
    let form = format!(
        "name={}&password={}&next={}",
        enc(name),
        enc(PASSWORD),
        enc(next)
    );
    let reply = page(app, Method::POST, "/login", None, Some(&form)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.html);
    assert_eq!(reply.location.as_deref(), Some(next));
    reply.cookie.expect("a session cookie")
}

/// The value of the hidden CSRF field of a page's forms.
pub(super) fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().expect("value").to_string()
}

/// A page's HTML as `cookie`'s user gets it (200 expected).
pub(super) async fn page_of(app: &Router, uri: &str, cookie: &str) -> String {
    let reply = page(app, Method::GET, uri, Some(cookie), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.html);
    reply.html
}

/// The drawn site `side:site` of a hand form: its `<a …>` element.
fn site<'a>(html: &'a str, side: &str, site: &str) -> &'a str {
    let tag = format!("data-side=\"{side}\" data-site=\"{site}\"");
    let at = html
        .find(&tag)
        .unwrap_or_else(|| panic!("no site {side}:{site}"));
    let start = html[..at].rfind("<a ").expect("the site's link");
    let end = html[start..].find("</a>").expect("link end") + start;
    &html[start..end]
}

/// The chosen site's lesions of a hand form.
fn panel(html: &str) -> &str {
    let start = html.find("data-site-panel").expect("the site panel");
    let end = html[start..].find("</fieldset>").expect("panel end") + start;
    &html[start..end]
}

/// The `<tr …>` element of `html` whose opening tag holds `attributes`.
fn row<'a>(html: &'a str, attributes: &str) -> &'a str {
    let start = html
        .find(&format!("<tr {attributes}"))
        .unwrap_or_else(|| panic!("no row {attributes}"));
    let end = html[start..].find("</tr>").expect("row end") + start;
    &html[start..end]
}

pub(super) async fn reader_pages_read_save_and_stay_blind(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.assign(0.0).await;
    let app = &f.app;

    // Without a session every page sends the browser to log in, and back.
    let away = page(app, Method::GET, "/read", None, None).await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.location.as_deref(), Some("/login?next=%2Fread"));
    for path in ["/", "/read/next", "/read/ANYCODE"] {
        let away = page(app, Method::GET, path, None, None).await;
        assert_eq!(away.status, StatusCode::SEE_OTHER, "{path}");
    }
    let login = page(app, Method::GET, "/login?next=%2Fread", None, None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.html.contains("name=\"name\"") && login.html.contains("name=\"password\""));
    let csp = login.csp.expect("a CSP");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    // A redirect after login only to this site.
    let elsewhere = page(
        app,
        Method::GET,
        "/login?next=%2F%2Fevil.example",
        None,
        None,
    )
    .await;
    assert!(elsewhere.html.contains("name=\"next\" value=\"/\""));
    let wrong = "name=rita&password=nope-nope-nope&next=%2Fread";
    let refused = page(app, Method::POST, "/login", None, Some(wrong)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.html.contains("Wrong name or password") && refused.cookie.is_none());

    // A login posted from another site is refused (no session yet to
    // carry a CSRF token; the browser says where the form came from).
    let form = format!("name=rita&password={}", enc(PASSWORD));
    let cross = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(form))
        .expect("request");
    let cross = send(app, cross).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert!(cross.headers.get(header::SET_COOKIE).is_none());

    let rita = log_in(app, "rita").await;
    let list = page(app, Method::GET, "/read", Some(&rita), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    let items = f.worklist("rita").await;
    assert!(!items.is_empty());
    for item in &items {
        let code = item["code"].as_str().expect("code");
        assert!(
            list.html.contains(&format!("data-code=\"{code}\"")),
            "{code}"
        );
    }
    assert!(list
        .html
        .contains(&format!("data-progress=\"0/{}\"", items.len())));
    let csrf = csrf_of(&list.html);

    // Blinding: no page the reader reaches names a patient or a date.
    let study = f.store.study("s").await.expect("read").expect("s");
    let patients = f.store.patients(study.id).await.expect("patients");
    let mut secrets: Vec<String> = Vec::new();
    for p in &patients {
        secrets.push(p.patient_id.clone());
        secrets.extend(p.hand_radiograph.date.clone());
        secrets.extend(p.ct.date.clone());
        secrets.extend(
            p.cells
                .values()
                .filter(|v| v.len() >= 8 && v.contains('-'))
                .cloned(),
        );
    }
    let blind = |html: &str, what: &str| {
        for secret in &secrets {
            assert!(!html.contains(secret.as_str()), "{what} shows {secret:?}");
        }
    };
    blind(&list.html, "the worklist");

    let hand = items
        .iter()
        .find(|i| i["modality"] == "hand_radiograph")
        .expect("a hand exam");
    let code = hand["code"].as_str().expect("code");
    let uri = format!("/read/{code}");
    let form = page(app, Method::GET, &uri, Some(&rita), None).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    blind(&form.html, "the hand form");
    // Both hands as the PA view shows them: the patient's right hand on
    // the viewer's left, every site a link that chooses it; no lesion is
    // offered before a site is chosen.
    let x_of = |link: &str| -> i32 {
        let at = link.find("cx=\"").expect("cx") + 4;
        link[at..]
            .split('"')
            .next()
            .expect("x")
            .parse()
            .expect("a number")
    };
    assert!(x_of(site(&form.html, "right", "tuft_d1")) < x_of(site(&form.html, "left", "tuft_d1")));
    assert!(form.html.find("data-hand=\"right\"") < form.html.find("data-hand=\"left\""));
    for side in ["right", "left"] {
        for s in sclerad_model::HandSite::ALL {
            assert!(site(&form.html, side, s.code()).contains("href=\"?site="));
        }
    }
    assert!(!form.html.contains("data-lesion="));
    // Choosing a site offers only the lesions the format allows there.
    let tuft = page(
        app,
        Method::GET,
        &format!("{uri}?site=left%3Atuft_d2"),
        Some(&rita),
        None,
    )
    .await;
    assert!(site(&tuft.html, "left", "tuft_d2").contains("aria-current=\"true\""));
    let offered = panel(&tuft.html);
    assert!(offered.contains("Left hand · Tuft D2"), "{offered}");
    assert!(
        offered.contains("data-lesion=\"acro_osteolysis\"") && offered.contains("data-grade=\"2\"")
    );
    assert!(
        !tuft.html.contains("data-lesion=\"erosion\""),
        "joint lesions are not offered at a tuft"
    );
    let pip = page(
        app,
        Method::GET,
        &format!("{uri}?site=right%3Apip_d3"),
        Some(&rita),
        None,
    )
    .await;
    let offered = panel(&pip.html);
    assert!(
        offered.contains("data-lesion=\"erosion\"")
            && !pip.html.contains("data-lesion=\"acro_osteolysis\"")
    );

    // A save needs the form's CSRF field.
    let finding =
        "finding=left%3Atuft_d2%3Aacro_osteolysis&grade%3Aleft%3Atuft_d2%3Aacro_osteolysis=2";
    let forged = format!("csrf=forged&version=0&action=save&{finding}");
    let refused = page(app, Method::POST, &uri, Some(&rita), Some(&forged)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let save = format!("csrf={csrf}&version=0&action=save&site=left%3Atuft_d2&{finding}");
    let saved = page(app, Method::POST, &uri, Some(&rita), Some(&save)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(
        saved.location,
        Some(format!("{uri}?saved=true&site=left%3Atuft_d2"))
    );
    let stored = f
        .ok(Method::GET, &format!("/api/worklist/{code}"), "rita", None)
        .await;
    assert_eq!(
        stored["findings"],
        json!([{"side": "left", "site": "tuft_d2", "lesion": "acro_osteolysis", "grade": 2}])
    );
    let shown = page(
        app,
        Method::GET,
        saved.location.as_deref().expect("back to the form"),
        Some(&rita),
        None,
    )
    .await;
    assert!(shown.html.contains("Saved."));
    // What is recorded shows on the drawing (a letter and grade at the
    // site), in the list beside it, and with the site chosen in its panel.
    let drawn = site(&shown.html, "left", "tuft_d2");
    assert!(
        drawn.contains("class=\"site marked current\"") && drawn.contains(">A2</text>"),
        "{drawn}"
    );
    assert!(shown
        .html
        .contains("<li>Left hand, Tuft D2: Acro-osteolysis, grade 2</li>"));
    let offered = panel(&shown.html);
    assert!(offered.contains(
        "value=\"left:tuft_d2:acro_osteolysis\" data-lesion=\"acro_osteolysis\" checked"
    ));
    assert!(offered.contains("value=\"2\" data-grade=\"2\" checked"));
    // With another site chosen, the finding is carried as a hidden field,
    // so that saving that site keeps it.
    let other = page(
        app,
        Method::GET,
        &format!("{uri}?site=right%3Amcp_d2"),
        Some(&rita),
        None,
    )
    .await;
    assert!(other.html.contains(
        "<input type=\"hidden\" name=\"finding\" value=\"left:tuft_d2:acro_osteolysis\" data-kept>"
    ));
    assert!(other.html.contains(
        "<input type=\"hidden\" name=\"grade:left:tuft_d2:acro_osteolysis\" value=\"2\" data-kept>"
    ));
    assert!(site(&other.html, "left", "tuft_d2").contains("class=\"site marked\""));

    // The same form sent again (a second tab) is a conflict, not an
    // overwrite: the reader's marks come back with the version saved now.
    let stale = page(app, Method::POST, &uri, Some(&rita), Some(&save)).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.html.contains("saved elsewhere"));
    assert!(stale.html.contains("name=\"version\" value=\"1\""));
    // The page script saves as the reader marks: the CSRF token in a
    // header, the reply in JSON; a stale version is a conflict with the
    // version saved now, never an overwrite; nothing marked is not saved.
    let two =
        "finding=left%3Atuft_d2%3Aacro_osteolysis&finding=right%3Asoft_tissue_d3%3Acalcinosis";
    let (status, reply) = autosave(app, &uri, &rita, "forged", &format!("version=1&{two}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    let (status, reply) = autosave(app, &uri, &rita, &csrf, &format!("version=1&{two}")).await;
    assert_eq!(
        (status, reply),
        (StatusCode::OK, json!({"version": 2, "findings": 2}))
    );
    let (status, reply) = autosave(app, &uri, &rita, &csrf, &format!("version=1&{two}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(reply["current_version"], 2);
    let (status, reply) = autosave(app, &uri, &rita, &csrf, "version=2").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply["message"]
        .as_str()
        .expect("message")
        .contains("Nothing found"));
    let stored = f
        .ok(Method::GET, &format!("/api/worklist/{code}"), "rita", None)
        .await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["findings"].as_array().map(Vec::len), Some(2));

    // An empty save is not "nothing found"; "nothing found" is explicit.
    let empty = format!("csrf={csrf}&version=2&action=save");
    let refused = page(app, Method::POST, &uri, Some(&rita), Some(&empty)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let nothing = format!("csrf={csrf}&version=2&action=nothing-found");
    let saved = page(app, Method::POST, &uri, Some(&rita), Some(&nothing)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let stored = f
        .ok(Method::GET, &format!("/api/worklist/{code}"), "rita", None)
        .await;
    assert_eq!(
        (stored["read"].clone(), stored["findings"].clone()),
        (json!(true), json!([]))
    );
    // A finding the format does not allow at a site is refused by name.
    let joint = format!("csrf={csrf}&version=3&action=save&finding=left%3Atuft_d2%3Aerosion");
    let refused = page(app, Method::POST, &uri, Some(&rita), Some(&joint)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("erosion"), "{}", refused.html);

    // The spine form: levels the CT did not cover cannot be marked.
    let (ct, covered) = items
        .iter()
        .filter(|i| i["modality"] == "ct")
        .find_map(|i| {
            sclerad_model::ct_coverage(i["ct_type"].as_str(), i["ct_levels"].as_str())
                .map(|c| (i, c))
        })
        .expect("a CT exam of known coverage");
    let code = ct["code"].as_str().expect("code");
    let uri = format!("/read/{code}");
    let form = page(app, Method::GET, &uri, Some(&rita), None).await;
    assert_eq!(form.status, StatusCode::OK);
    blind(&form.html, "the spine form");
    let (seen, unseen): (Vec<_>, Vec<_>) =
        sclerad_model::VertebralLevel::all().partition(|l| covered.contains(*l));
    let unseen = unseen
        .first()
        .expect("a CT that does not cover every level")
        .code();
    let seen = seen
        .iter()
        .find(|l| l.code() == "t8")
        .copied()
        .unwrap_or(seen[0])
        .code();
    let unseen_row = row(&form.html, &format!("data-level-row=\"{unseen}\""));
    assert!(unseen_row.contains("not seen") && !unseen_row.contains("type=\"checkbox\""));
    let seen_row = row(&form.html, &format!("data-level-row=\"{seen}\""));
    assert!(seen_row.contains(&format!("data-foraminal=\"{seen}\"")));
    assert_eq!(
        seen_row.matches("data-foraminal").count(),
        1,
        "foraminal only within canal"
    );
    // Canal with its foraminal extension; then foraminal alone, which
    // marks the canal it belongs to.
    for (version, marks) in [
        (0, format!("finding={seen}%3Acanal&foraminal%3A{seen}=1")),
        (1, format!("foraminal%3A{seen}=1")),
    ] {
        let form = format!("csrf={csrf}&version={version}&action=save&{marks}");
        let saved = page(app, Method::POST, &uri, Some(&rita), Some(&form)).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
        let stored = f
            .ok(Method::GET, &format!("/api/worklist/{code}"), "rita", None)
            .await;
        assert_eq!(
            stored["findings"],
            json!([{"level": seen, "segment": "canal", "foraminal": true}]),
            "{marks}"
        );
    }
    // Side and morphology, optional, belong to their level and segment.
    let detailed = format!(
        "csrf={csrf}&version=2&action=save&finding={seen}%3Aposterior\
         &side%3A{seen}%3Aposterior=left&morphology%3A{seen}%3Aposterior=nodular\
         &side%3A{seen}%3Aanterior=right"
    );
    let saved = page(app, Method::POST, &uri, Some(&rita), Some(&detailed)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let stored = f
        .ok(Method::GET, &format!("/api/worklist/{code}"), "rita", None)
        .await;
    assert_eq!(
        stored["findings"],
        json!([{"level": seen, "segment": "posterior", "side": "left", "morphology": "nodular"}])
    );
    let shown = page(app, Method::GET, &uri, Some(&rita), None).await;
    let seen_row = row(&shown.html, &format!("data-level-row=\"{seen}\""));
    assert!(
        seen_row.contains("<option value=\"nodular\" selected>"),
        "{seen_row}"
    );
    let outside = format!("csrf={csrf}&version=3&action=save&finding={unseen}%3Aanterior");
    let refused = page(app, Method::POST, &uri, Some(&rita), Some(&outside)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = page(app, Method::GET, "/read", Some(&rita), None).await;
    assert!(list
        .html
        .contains(&format!("data-progress=\"2/{}\"", items.len())));
    blind(&list.html, "the worklist");

    // Another reader's exam code is not found in this reader's pages.
    let rolf_code = f.worklist("rolf").await[0]["code"]
        .as_str()
        .expect("code")
        .to_string();
    let theirs = page(
        app,
        Method::GET,
        &format!("/read/{rolf_code}"),
        Some(&rita),
        None,
    )
    .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // Pages are for their role: a data manager gets 403, and a start page.
    let dm = log_in(app, "dm").await;
    let forbidden = page(app, Method::GET, "/read", Some(&dm), None).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(forbidden.html.contains("for the role reader"));
    let home = page(app, Method::GET, "/", Some(&dm), None).await;
    assert_eq!(home.location.as_deref(), Some("/manage"));
    let home = page(app, Method::GET, "/", Some(&rita), None).await;
    assert_eq!(home.location.as_deref(), Some("/read"));

    // Logging out needs the CSRF field, and ends the session.
    let refused = page(app, Method::POST, "/logout", Some(&rita), Some("csrf=no")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out = page(
        app,
        Method::POST,
        "/logout",
        Some(&rita),
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    let away = page(app, Method::GET, "/read", Some(&rita), None).await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
}

pub(super) async fn adjudicator_pages_compare_accept_and_resolve(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.assign(0.0).await;
    let app = &f.app;
    // rita sees graded calcinosis on every hand, rolf nothing.
    for (reader, hand) in [
        (
            "rita",
            json!([{"side": "right", "site": "soft_tissue_d3", "lesion": "calcinosis", "grade": 2}]),
        ),
        ("rolf", json!([])),
    ] {
        for item in f.worklist(reader).await {
            if item["modality"] == "hand_radiograph" {
                let code = item["code"].as_str().expect("code");
                let body = json!({"version": 0, "findings": hand});
                f.ok(
                    Method::PUT,
                    &format!("/api/worklist/{code}"),
                    reader,
                    Some(&body),
                )
                .await;
            }
        }
    }
    let api = f.disagreements().await;
    let (open, resolved) = api.open_and_resolved();
    assert!(open >= 2, "{}", api.text);

    let adj = log_in_to(app, "adj", "/").await;
    let home = page(app, Method::GET, "/", Some(&adj), None).await;
    assert_eq!(home.location.as_deref(), Some("/adjudicate"));
    let studies = page(app, Method::GET, "/adjudicate", Some(&adj), None).await;
    assert!(
        studies.html.contains("href=\"/adjudicate/s\""),
        "{}",
        studies.html
    );
    let list = page(app, Method::GET, "/adjudicate/s", Some(&adj), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(list.html.contains(&format!(
        "data-open=\"{open}\" data-resolved=\"{resolved}\""
    )));
    // Open ones first.
    let states: Vec<&str> = list
        .html
        .match_indices("data-state=\"")
        .map(|(i, _)| &list.html[i + 12..i + 16])
        .collect();
    assert!(
        states
            .windows(2)
            .all(|w| !(w[0] == "reso" && w[1] == "open")),
        "{states:?}"
    );
    let items = api.json();
    let hands: Vec<&Value> = items
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| d["resolved"] == false && d["modality"] == "hand_radiograph")
        .filter(|d| {
            d["readings"]
                .as_array()
                .expect("r")
                .iter()
                .any(|r| r["reader"] == "rita")
        })
        .collect();
    assert!(hands.len() >= 2);
    let exam = hands[0]["exam_id"].as_i64().expect("id");
    let uri = format!("/adjudicate/s/{exam}");
    let shown = page(app, Method::GET, &uri, Some(&adj), None).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(
        shown.html.contains("data-reader=\"rita\"") && shown.html.contains("data-reader=\"rolf\"")
    );
    assert!(
        shown.html.contains("data-differs=\"true\"")
            && shown.html.contains("Right · Soft tissue D3 · Calcinosis")
    );
    assert!(shown.html.contains("✓ grade 2"));
    // Each reading on its own copy of the same drawing (the imported
    // readers' too); the site where rita and rolf differ ringed on every
    // copy.
    let readings = hands[0]["readings"].as_array().expect("readings").len();
    assert_eq!(shown.html.matches("data-reader-drawing=").count(), readings);
    assert!(
        shown.html.contains("data-reader-drawing=\"rita\"")
            && shown.html.contains("data-reader-drawing=\"rolf\""),
        "{}",
        shown.html
    );
    let differing =
        "data-compare-site=\"right:soft_tissue_d3\" data-differs=\"true\"><circle class=\"ring\"";
    assert_eq!(shown.html.matches(differing).count(), readings);
    assert!(shown.html.contains("Reading by rita: 1 finding;"));
    assert!(shown.html.contains("Reading by rolf: 0 findings;"));
    // The flags in words, not codes.
    let flags = shown
        .html
        .split_once("The readers disagree on: <strong>")
        .and_then(|(_, rest)| rest.split_once("</strong>"))
        .map(|(flags, _)| flags)
        .expect("the flags");
    assert!(
        flags.contains("calcinosis") && !flags.contains('_'),
        "{flags}"
    );
    let csrf = csrf_of(&shown.html);
    let readers: Vec<&str> = hands[0]["readings"]
        .as_array()
        .expect("readings")
        .iter()
        .map(|r| r["reader"].as_str().expect("reader"))
        .collect();
    let at = readers.iter().position(|r| *r == "rita").expect("rita");
    let accept = format!("csrf={csrf}&version=0&action=accept%3A{at}");
    let forged = page(
        app,
        Method::POST,
        &uri,
        Some(&adj),
        Some("csrf=x&version=0&action=accept%3A0"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let saved = page(app, Method::POST, &uri, Some(&adj), Some(&accept)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location.as_deref(), Some("/adjudicate/s"));
    let after = f.disagreements().await;
    assert_eq!(after.open_and_resolved(), (open - 1, resolved + 1));
    let done = after.json();
    let done = done
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["exam_id"] == exam)
        .expect("still listed, as resolved")
        .clone();
    assert_eq!(done["resolved"], true);
    assert_eq!(
        done["consensus"],
        json!([{"side": "right", "site": "soft_tissue_d3", "lesion": "calcinosis", "grade": 2}])
    );
    // "Nothing found" with findings marked is refused, not saved.
    let exam2 = hands[1]["exam_id"].as_i64().expect("id");
    let contradictory = format!(
        "csrf={csrf}&version=0&action=nothing-found&finding=left%3Atuft_d1%3Aacro_osteolysis"
    );
    let refused = page(
        app,
        Method::POST,
        &format!("/adjudicate/s/{exam2}"),
        Some(&adj),
        Some(&contradictory),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert_eq!(
        f.disagreements().await.open_and_resolved(),
        (open - 1, resolved + 1)
    );
    // The same form again is a conflict, not an overwrite.
    let stale = page(app, Method::POST, &uri, Some(&adj), Some(&accept)).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    // Or the consensus edited on the form.
    let exam = hands[1]["exam_id"].as_i64().expect("id");
    let uri = format!("/adjudicate/s/{exam}");
    let edit = format!(
        "csrf={csrf}&version=0&action=save&finding=left%3Atuft_d1%3Aacro_osteolysis&grade%3Aleft%3Atuft_d1%3Aacro_osteolysis=1"
    );
    let saved = page(app, Method::POST, &uri, Some(&adj), Some(&edit)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let list = page(app, Method::GET, "/adjudicate/s", Some(&adj), None).await;
    assert!(list.html.contains(&format!(
        "data-open=\"{}\" data-resolved=\"{}\"",
        open - 2,
        resolved + 2
    )));
    let shown = page(app, Method::GET, &uri, Some(&adj), None).await;
    assert!(shown.html.contains("Left · Tuft D1 · Acro-osteolysis"));
    assert!(site(&shown.html, "left", "tuft_d1").contains(">A1</text>"));
    // The consensus is the study's reading `consensus` in the export.
    let export = f
        .ok(Method::GET, "/api/studies/s/export", "stat", None)
        .await;
    let hand_rows = export["hand_readings"]["rows"].to_string();
    assert!(hand_rows.contains("\"consensus\""), "{hand_rows}");
    // Other roles are refused; unknown exams are 404 pages.
    for who in ["rita", "dm"] {
        let cookie = log_in_to(app, who, "/").await;
        let refused = page(app, Method::GET, "/adjudicate/s", Some(&cookie), None).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}");
    }
    let missing = page(app, Method::GET, "/adjudicate/s/nope", Some(&adj), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.html.contains("<h1>"));
}

/// The pages' route × role matrix: each page answers its role, 403 to
/// every other (admins too: an admin is not a reader), and sends a browser
/// without a session to the login page.
pub(super) async fn page_route_role_matrix(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.assign(0.0).await;
    let app = &f.app;
    let code = f.worklist("rita").await[0]["code"]
        .as_str()
        .expect("code")
        .to_string();
    let exam = f.disagreements().await.json()[0]["exam_id"].clone();
    let read = format!("/read/{code}");
    let adjudicate = format!("/adjudicate/s/{exam}");
    // (method, path, the one role the page is for).
    let pages: Vec<(Method, &str, Role)> = vec![
        (Method::GET, "/read", Role::Reader),
        (Method::GET, "/read/next", Role::Reader),
        (Method::GET, &read, Role::Reader),
        (Method::POST, &read, Role::Reader),
        (Method::GET, "/adjudicate", Role::Adjudicator),
        (Method::GET, "/adjudicate/s", Role::Adjudicator),
        (Method::GET, &adjudicate, Role::Adjudicator),
        (Method::POST, &adjudicate, Role::Adjudicator),
        (Method::GET, "/manage", Role::DataManager),
        (Method::GET, "/manage/import", Role::DataManager),
        (Method::POST, "/manage/import", Role::DataManager),
        (Method::GET, "/manage/append?study=s", Role::DataManager),
        (Method::POST, "/manage/append", Role::DataManager),
        (Method::GET, "/manage/patients?study=s", Role::DataManager),
        (
            Method::GET,
            "/manage/patient?study=s&id=P01",
            Role::DataManager,
        ),
        (Method::POST, "/manage/patient", Role::DataManager),
        (Method::GET, "/manage/worklists?study=s", Role::DataManager),
        (Method::POST, "/manage/worklists", Role::DataManager),
        (Method::GET, "/manage/export?study=s", Role::DataManager),
        (Method::GET, "/manage/images?study=s", Role::DataManager),
        (Method::POST, "/manage/images", Role::DataManager),
        (Method::POST, "/manage/images/override", Role::DataManager),
        (Method::GET, "/manage/redcap", Role::DataManager),
        (Method::POST, "/manage/redcap", Role::DataManager),
        (
            Method::GET,
            "/manage/redcap/dictionary.csv",
            Role::DataManager,
        ),
        (Method::GET, "/manage/redcap/mapping", Role::DataManager),
        (Method::POST, "/manage/redcap/mapping", Role::DataManager),
        (
            Method::POST,
            "/manage/redcap/mapping.csv",
            Role::DataManager,
        ),
        (Method::GET, "/analysis", Role::Analyst),
        (Method::GET, "/analysis/agreement?study=s", Role::Analyst),
        (Method::GET, "/analysis/export?study=s", Role::Analyst),
        (Method::GET, "/analysis/runs?study=s", Role::Analyst),
        (Method::POST, "/analysis/runs", Role::Analyst),
        (Method::GET, "/analysis/runs/1", Role::Analyst),
        (Method::POST, "/analysis/runs/1/reproduce", Role::Analyst),
        (Method::GET, "/analysis/runs/1/input.zip", Role::Analyst),
        (
            Method::GET,
            "/analysis/runs/1/files/results.json",
            Role::Analyst,
        ),
        (Method::GET, "/admin/users", Role::Admin),
        (Method::POST, "/admin/users", Role::Admin),
        (Method::POST, "/admin/users/1", Role::Admin),
        (Method::GET, "/admin/tokens", Role::Admin),
        (Method::POST, "/admin/tokens/1/revoke", Role::Admin),
        (Method::GET, "/admin/audit", Role::Admin),
        (Method::GET, "/admin/audit/verify", Role::Admin),
    ];
    let mut cookies = Vec::new();
    for (name, role) in USERS {
        cookies.push((name, role, log_in_to(app, name, "/").await));
    }
    for (method, path, role) in &pages {
        let form = (*method == Method::POST).then_some("csrf=x&version=0&action=save");
        let away = page(app, method.clone(), path, None, form).await;
        assert_eq!(
            away.status,
            StatusCode::SEE_OTHER,
            "{method} {path} without a session"
        );
        assert!(away
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/login?next=")));
        for (name, user_role, cookie) in &cookies {
            let reply = page(app, method.clone(), path, Some(cookie), form).await;
            if user_role == role {
                // Its own role gets past the role check (a forged form then
                // meets the CSRF check: 403 too, but for that reason).
                assert!(
                    !reply.html.contains("this page is for the role"),
                    "{method} {path} as {name}: {}",
                    reply.status
                );
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} as {name}"
                );
                assert!(
                    reply.html.contains("this page is for the role"),
                    "{method} {path} as {name}"
                );
            }
        }
    }
    // Every role has a start page; the login page and the stylesheet need
    // no session.
    for (name, _, cookie) in &cookies {
        let home = page(app, Method::GET, "/", Some(cookie), None).await;
        assert!(
            home.status == StatusCode::OK || home.status == StatusCode::SEE_OTHER,
            "{name}"
        );
    }
    // Every role has its account page (password, own tokens), and its
    // forms; without a session, the login page.
    let everyone: [(Method, &str); 4] = [
        (Method::GET, "/account"),
        (Method::POST, "/account/password"),
        (Method::POST, "/account/tokens"),
        (Method::POST, "/account/tokens/1/revoke"),
    ];
    for (method, path) in &everyone {
        let form = (*method == Method::POST).then_some("csrf=x");
        let away = page(app, method.clone(), path, None, form).await;
        assert_eq!(away.status, StatusCode::SEE_OTHER, "{method} {path}");
        for (name, _, cookie) in &cookies {
            let reply = page(app, method.clone(), path, Some(cookie), form).await;
            if *method == Method::GET {
                assert_eq!(reply.status, StatusCode::OK, "{path} as {name}");
            } else {
                // Past the role check, a forged form meets the CSRF check.
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path} as {name}");
                assert!(
                    reply.html.contains("this form is out of date"),
                    "{path} as {name}"
                );
            }
        }
    }
    for path in ["/login", "/assets/sclerad.css"] {
        assert_eq!(
            page(app, Method::GET, path, None, None).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
}

/// What stands between `open` and `close` in `text` (`<kbd>` keys).
fn keys_in(text: &str, open: &str, close: &str) -> std::collections::BTreeSet<String> {
    text.split(open)
        .skip(1)
        .filter_map(|rest| rest.split_once(close).map(|(key, _)| key.to_string()))
        .collect()
}

/// docs/reading.md lists exactly the keyboard shortcuts the pages list.
#[test]
fn the_reading_guide_lists_every_shortcut_of_the_pages() {
    let template = include_str!("../../templates/shortcuts.html");
    let guide = include_str!("../../../../docs/reading.md");
    let table = guide
        .split_once("<!-- shortcuts -->")
        .and_then(|(_, rest)| rest.split_once("<!-- /shortcuts -->"))
        .map(|(table, _)| table)
        .expect("docs/reading.md: a table between <!-- shortcuts --> and <!-- /shortcuts -->");
    // The first column of each row: the keys.
    let documented: std::collections::BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix('|'))
        .filter_map(|l| l.split('|').next())
        .flat_map(|keys| {
            // `a` `b`: every other piece between backticks.
            keys.split('`')
                .skip(1)
                .step_by(2)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let on_pages = keys_in(template, "<kbd>", "</kbd>");
    assert!(on_pages.len() >= 10, "{on_pages:?}");
    assert_eq!(
        documented, on_pages,
        "docs/reading.md's shortcuts (left) differ from templates/shortcuts.html's (right)"
    );
}

/// First start: an empty store gets a one-time link; its form refuses a
/// bad password or name at the field, keeping the link; a good one creates
/// the admin, who then logs in; the link is then gone, and a store with
/// users never gets one.
pub(super) async fn first_start_creates_one_admin_once(store: Arc<dyn Store>) {
    let state = AppState::new(Arc::clone(&store), Config::default()).expect("state");
    let path = state
        .first_start_path()
        .await
        .expect("users read")
        .expect("an empty store gets a link");
    assert!(path.starts_with("/setup/") && path.len() > 30, "{path}");
    let app = router(state.clone());
    let form_page = page(&app, Method::GET, &path, None, None).await;
    assert_eq!(form_page.status, StatusCode::OK, "{}", form_page.html);
    assert!(form_page.html.contains("data-form=\"first-admin\""));
    assert!(form_page.csp.is_some());
    let wrong = page(&app, Method::GET, "/setup/not-the-secret", None, None).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let post = |form: String| {
        let app = app.clone();
        let path = path.clone();
        async move { page(&app, Method::POST, &path, None, Some(&form)).await }
    };
    let form = |name: &str, password: &str, again: &str| {
        format!(
            "name={}&password={}&again={}",
            enc(name),
            enc(password),
            enc(again)
        )
    };
    for (fields, field, says) in [
        (
            form("root", PASSWORD, "something else"),
            "again",
            "The two passwords differ.",
        ),
        (
            form("root", "short", "short"),
            "password",
            "at least 10 characters",
        ),
        (form("consensus", PASSWORD, PASSWORD), "name", "consensus"),
    ] {
        let refused = post(fields).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.html
        );
        assert!(
            refused.html.contains(&format!("data-problem=\"{field}\""))
                && refused.html.contains(says)
                && refused.html.contains(&format!(
                    "id=\"{field}\" name=\"{field}\" aria-invalid=\"true\" aria-describedby=\"problem\""
                ))
                && refused.html.matches("aria-invalid").count() == 1,
            "{field}: {}",
            refused.html
        );
        assert!(
            store.users().await.expect("users").is_empty(),
            "nothing made"
        );
    }
    let made = post(form("root", PASSWORD, PASSWORD)).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.html);
    assert_eq!(made.location.as_deref(), Some("/login?next=%2F"));
    let users = store.users().await.expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0].name.as_str(), users[0].role),
        ("root", Role::Admin)
    );
    log_in_to(&app, "root", "/").await;
    // Used: gone, for a look and for a second admin alike.
    assert_eq!(
        page(&app, Method::GET, &path, None, None).await.status,
        StatusCode::NOT_FOUND
    );
    let again = post(form("second", PASSWORD, PASSWORD)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(store.users().await.expect("users").len(), 1);
    assert!(state.first_start_path().await.expect("read").is_none());
    let events = store.audit_events(0, 100).await.expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.action == "create" && e.entity == "user" && e.actor == "web:first-start"),
        "the trail names the first start"
    );
}

/// The user of `name`, from the store.
async fn user_named(store: &dyn Store, name: &str) -> sclerad_store::User {
    store
        .credentials(name)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("no user {name}"))
        .user
}

/// The admin's pages: users created (refused at the field when bad),
/// disabled (their session and token stop at once) and enabled, given a
/// role, their password reset; the last admin kept; every token listed
/// and revoked; the audit trail filtered, paged, verified, its head shown.
pub(super) async fn admin_pages_manage_users_tokens_and_the_trail(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let app = &f.app;
    let root = log_in_to(app, "root", "/").await;
    let home = page(app, Method::GET, "/", Some(&root), None).await;
    assert_eq!(home.location.as_deref(), Some("/admin/users"));
    let users = page_of(app, "/admin/users", &root).await;
    let csrf = csrf_of(&users);
    for (name, _) in USERS {
        let tr = row(&users, &format!("data-user=\"{name}\""));
        assert!(tr.contains("data-action=\"disable\""), "{name}: {tr}");
        assert!(tr.contains("data-status=\"active\""), "{name}");
    }
    assert!(users.contains("data-form=\"create-user\""));

    // Disable rita: her open session and her API token stop at once.
    let rita_session = log_in(app, "rita").await;
    let rita = user_named(store.as_ref(), "rita").await;
    let token_works = |who: &'static str| {
        let f = &f;
        async move { f.call(Method::GET, "/api/me", Some(who), None).await.status }
    };
    assert_eq!(token_works("rita").await, StatusCode::OK);
    let change = |id: i64, form: String| {
        let app = app.clone();
        let root = root.clone();
        async move {
            page(
                &app,
                Method::POST,
                &format!("/admin/users/{id}"),
                Some(&root),
                Some(&form),
            )
            .await
        }
    };
    let forged = change(rita.id, "csrf=forged&action=disable".into()).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!user_named(store.as_ref(), "rita").await.disabled);
    let disabled = change(rita.id, format!("csrf={csrf}&action=disable")).await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER, "{}", disabled.html);
    let shown = disabled.location.expect("to the users page");
    assert_eq!(shown, "/admin/users?done=disabled&user=rita");
    let after = page_of(app, &shown, &root).await;
    assert!(after.contains("rita is disabled"), "{after}");
    let tr = row(&after, "data-user=\"rita\"");
    assert!(tr.contains("data-status=\"disabled\"") && tr.contains("data-action=\"enable\""));
    let stopped = page(app, Method::GET, "/read", Some(&rita_session), None).await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER);
    assert!(stopped.location.is_some_and(|l| l.starts_with("/login")));
    assert_eq!(token_works("rita").await, StatusCode::UNAUTHORIZED);
    let login = format!("name=rita&password={}&next=%2Fread", enc(PASSWORD));
    let refused = page(app, Method::POST, "/login", None, Some(&login)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Enabled again: she logs in; the revoked token stays revoked.
    let enabled = change(rita.id, format!("csrf={csrf}&action=enable")).await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    log_in(app, "rita").await;
    assert_eq!(token_works("rita").await, StatusCode::UNAUTHORIZED);

    // A new role ends the sessions made under the old one.
    let rolf = user_named(store.as_ref(), "rolf").await;
    let rolf_session = log_in(app, "rolf").await;
    let promoted = change(rolf.id, format!("csrf={csrf}&action=role&role=adjudicator")).await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.html);
    assert_eq!(
        user_named(store.as_ref(), "rolf").await.role,
        Role::Adjudicator
    );
    let old = page(app, Method::GET, "/read", Some(&rolf_session), None).await;
    assert_eq!(old.status, StatusCode::SEE_OTHER);
    let bad_role = change(rolf.id, format!("csrf={csrf}&action=role&role=king")).await;
    assert_eq!(bad_role.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_role.html.contains("data-problem=\"user\""));
    // A reset password: the new one logs in, the old one no longer.
    let new_password = "a brand new secret";
    let short = change(
        rolf.id,
        format!("csrf={csrf}&action=reset-password&password=short"),
    )
    .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.html.contains("rolf: ") && short.html.contains("at least 10 characters"));
    let reset = change(
        rolf.id,
        format!(
            "csrf={csrf}&action=reset-password&password={}",
            enc(new_password)
        ),
    )
    .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    let with_old = format!("name=rolf&password={}&next=%2F", enc(PASSWORD));
    assert_eq!(
        page(app, Method::POST, "/login", None, Some(&with_old))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let with_new = format!("name=rolf&password={}&next=%2F", enc(new_password));
    assert_eq!(
        page(app, Method::POST, "/login", None, Some(&with_new))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // The last enabled admin cannot be disabled or demoted.
    let me = user_named(store.as_ref(), "root").await;
    for form in [
        format!("csrf={csrf}&action=disable"),
        format!("csrf={csrf}&action=role&role=reader"),
    ] {
        let kept = change(me.id, form).await;
        assert_eq!(
            kept.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            kept.html
        );
        assert!(kept.html.contains("data-problem=\"user\"") && kept.html.contains("admin"));
    }
    let me_now = user_named(store.as_ref(), "root").await;
    assert!(!me_now.disabled && me_now.role == Role::Admin);

    // Creating users: each bad field refused at that field, nothing made.
    let create = |form: String| {
        let app = app.clone();
        let root = root.clone();
        async move { page(&app, Method::POST, "/admin/users", Some(&root), Some(&form)).await }
    };
    let count = store.users().await.expect("users").len();
    for (name, role, password, field) in [
        ("Consensus", "reader", PASSWORD, "name"),
        ("rita", "reader", PASSWORD, "name"),
        ("nina", "king", PASSWORD, "role"),
        ("nina", "reader", "short", "password"),
    ] {
        let form = format!(
            "csrf={csrf}&name={}&role={role}&password={}",
            enc(name),
            enc(password)
        );
        let refused = create(form).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name} {role}"
        );
        assert!(
            refused.html.contains(&format!("data-problem=\"{field}\""))
                && refused.html.contains(&format!(
                    "id=\"{field}\" name=\"{field}\" aria-invalid=\"true\""
                ))
                && refused.html.matches("aria-invalid").count() == 1,
            "{name} {role}: {}",
            refused.html
        );
        assert!(
            refused.html.contains(&format!("value=\"{name}\"")),
            "the name is kept"
        );
    }
    assert_eq!(store.users().await.expect("users").len(), count);
    let made = create(format!(
        "csrf={csrf}&name=nina&role=analyst&password={}",
        enc(PASSWORD)
    ))
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.html);
    assert_eq!(user_named(store.as_ref(), "nina").await.role, Role::Analyst);
    log_in_to(app, "nina", "/").await;

    // Tokens: every user's listed with its owner; one revoked stops.
    let tokens = page_of(app, "/admin/tokens", &root).await;
    let dm_row = row(&tokens, "data-token=\"");
    assert!(dm_row.contains("data-action=\"revoke\""));
    let dm = user_named(store.as_ref(), "dm").await;
    let dm_token = store.tokens(dm.id).await.expect("tokens")[0].id;
    assert!(tokens.contains(&format!("<tr data-token=\"{dm_token}\" data-owner=\"dm\"")));
    assert!(
        !tokens.contains("data-owner=\"rita\""),
        "rita's was revoked"
    );
    assert_eq!(token_works("dm").await, StatusCode::OK);
    let revoke = page(
        app,
        Method::POST,
        &format!("/admin/tokens/{dm_token}/revoke"),
        Some(&root),
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(revoke.status, StatusCode::SEE_OTHER);
    assert_eq!(
        revoke.location.as_deref(),
        Some("/admin/tokens?done=revoked&user=dm")
    );
    assert_eq!(token_works("dm").await, StatusCode::UNAUTHORIZED);
    let gone = page(
        app,
        Method::POST,
        &format!("/admin/tokens/{dm_token}/revoke"),
        Some(&root),
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // The audit view: newest first; filtered by who and what; its head.
    let audit = page_of(app, "/admin/audit", &root).await;
    let (head_seq, head_hash) = store.audit_head().await.expect("head").expect("events");
    assert!(audit.contains(&format!("data-anchor>{head_seq}:{head_hash}</code>")));
    let first = audit.find("<tr data-event=").expect("events");
    assert!(audit[first..].starts_with(&format!("<tr data-event=\"{head_seq}\"")));
    let disables = page_of(app, "/admin/audit?actor=root&action=disable", &root).await;
    let rows: Vec<&str> = disables.split("<tr data-event=").skip(1).collect();
    assert_eq!(rows.len(), 1, "one disable by root (of rita): {disables}");
    assert!(rows[0].contains("<td data-actor>root</td>") && rows[0].contains("user"));
    let by_record = page_of(
        app,
        &format!("/admin/audit?entity=user&record={}", rita.id),
        &root,
    )
    .await;
    let whats: Vec<&str> = by_record
        .split("<td data-what>")
        .skip(1)
        .filter_map(|r| r.split('<').next())
        .collect();
    assert!(
        whats.contains(&"disable") && whats.contains(&"enable") && whats.contains(&"create"),
        "{whats:?}"
    );
    let bad_day = page(
        app,
        Method::GET,
        "/admin/audit?from=3%2F12%2F2026",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(bad_day.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_day.html.contains("data-problem=\"from\"") && bad_day.html.contains("2026-12-03"));
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let within = page_of(
        app,
        &format!("/admin/audit?from={today}&until={today}"),
        &root,
    )
    .await;
    assert!(within.contains(&format!("<tr data-event=\"{head_seq}\"")));
    let none = page_of(app, "/admin/audit?until=2000-01-01", &root).await;
    assert!(none.contains("data-empty"));
    // Paging back: more than a page of events, the link goes on.
    for _ in 0..60 {
        let r = change(rita.id, format!("csrf={csrf}&action=disable")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = change(rita.id, format!("csrf={csrf}&action=enable")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    let filtered = "/admin/audit?actor=root&entity=user";
    let first_page = page_of(app, filtered, &root).await;
    assert_eq!(first_page.matches("<tr data-event=").count(), 100);
    let older = first_page
        .split("href=\"")
        .find_map(|h| {
            h.split_once("\" data-action=\"older\"")
                .map(|(l, _)| l.replace("&#38;", "&").replace("&amp;", "&"))
        })
        .expect("an older page");
    assert!(
        older.starts_with("/admin/audit?actor=root&entity=user&before="),
        "{older}"
    );
    let second = page_of(app, &older, &root).await;
    let second_rows = second.matches("<tr data-event=").count();
    assert!(second_rows >= 20, "{second_rows}");
    assert!(
        second.contains("<td data-actor>root</td>") && !second.contains("<td data-actor>test</td>")
    );

    // Verify: intact, saying what it cannot prove without an anchor; with
    // the head as an anchor; a malformed anchor refused; a wrong one fails.
    let intact = page_of(app, "/admin/audit/verify?run=1", &root).await;
    assert!(intact.contains("data-verdict=\"intact\"") && intact.contains("Without an anchor"));
    let anchored = page_of(
        app,
        &format!("/admin/audit/verify?run=1&anchors={head_seq}%3A{head_hash}"),
        &root,
    )
    .await;
    assert!(
        anchored.contains("data-verdict=\"intact\"") && !anchored.contains("Without an anchor")
    );
    let malformed = page(
        app,
        Method::GET,
        "/admin/audit/verify?run=1&anchors=12",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(malformed.html.contains("data-problem=\"anchors\""));
    let wrong = page_of(
        app,
        &format!(
            "/admin/audit/verify?run=1&anchors={head_seq}%3A{}",
            "0".repeat(64)
        ),
        &root,
    )
    .await;
    assert!(wrong.contains("data-verdict=\"broken\""), "{wrong}");
}

/// Every user's account page: the password changed (wrong current,
/// differing or short new ones refused at the field, nothing changed),
/// every session then ended; API tokens made (the secret shown once,
/// working at once), listed, revoked.
pub(super) async fn users_change_their_password_and_keep_their_tokens(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let app = &f.app;
    let stat = log_in_to(app, "stat", "/").await;
    let account = page_of(app, "/account", &stat).await;
    assert!(account.contains("data-form=\"password\"") && account.contains("data-form=\"token\""));
    let csrf = csrf_of(&account);
    let post = |uri: &'static str, form: String| {
        let app = app.clone();
        let stat = stat.clone();
        async move { page(&app, Method::POST, uri, Some(&stat), Some(&form)).await }
    };
    let new_password = "another good secret";
    for (current, new, again, field) in [
        ("wrong password!", new_password, new_password, "current"),
        (PASSWORD, new_password, "something else", "again"),
        (PASSWORD, "short", "short", "new"),
    ] {
        let form = format!(
            "csrf={csrf}&current={}&new={}&again={}",
            enc(current),
            enc(new),
            enc(again)
        );
        let refused = post("/account/password", form).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(
            refused.html.contains(&format!("data-problem=\"{field}\""))
                && refused
                    .html
                    .contains(&format!("id=\"{field}\" name=\"{field}\""))
                && refused.html.matches("aria-invalid").count() == 1,
            "{field}: {}",
            refused.html
        );
    }
    // Still the old password (the wrong one counted as a failed login).
    let other = log_in_to(app, "stat", "/").await;

    // A token: shown once, works, listed, revoked.
    let too_long = post(
        "/account/tokens",
        format!("csrf={csrf}&label=scripts&days=100000"),
    )
    .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.html.contains("data-problem=\"days\"") && too_long.html.contains("365"));
    let not_days = post(
        "/account/tokens",
        format!("csrf={csrf}&label=scripts&days=soon"),
    )
    .await;
    assert!(not_days.html.contains("data-problem=\"days\""));
    let no_label = post("/account/tokens", format!("csrf={csrf}&label=&days=")).await;
    assert!(no_label.html.contains("data-problem=\"label\""));
    let made = post(
        "/account/tokens",
        format!("csrf={csrf}&label=nightly+export&days=30"),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.html);
    let at = made.html.find("data-secret").expect("the secret shown");
    let before = &made.html[..at];
    let secret = before
        .rsplit("value=\"")
        .next()
        .and_then(|v| v.split('"').next())
        .expect("secret")
        .to_string();
    assert!(secret.len() > 30, "{secret}");
    let me = send(app, request(Method::GET, "/api/me", Some(&secret), None)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["name"], "stat");
    let listed = page_of(app, "/account", &stat).await;
    assert!(!listed.contains(&secret), "the secret is shown only once");
    let stat_user = user_named(store.as_ref(), "stat").await;
    let mine = store.tokens(stat_user.id).await.expect("tokens");
    let made_id = mine
        .iter()
        .find(|t| t.label == "nightly export")
        .expect("listed")
        .id;
    assert!(listed.contains(&format!("data-token=\"{made_id}\"")));
    // Another user's token cannot be revoked from one's own page.
    let dm = user_named(store.as_ref(), "dm").await;
    let dm_token = store.tokens(dm.id).await.expect("tokens")[0].id;
    let not_mine = page(
        app,
        Method::POST,
        &format!("/account/tokens/{dm_token}/revoke"),
        Some(&stat),
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(not_mine.status, StatusCode::NOT_FOUND);
    assert_eq!(store.tokens(dm.id).await.expect("tokens").len(), 1);
    let revoked = page(
        app,
        Method::POST,
        &format!("/account/tokens/{made_id}/revoke"),
        Some(&stat),
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let me = send(app, request(Method::GET, "/api/me", Some(&secret), None)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    // The change: every session ends (this one and the other), the new
    // password logs in; asked to, the API tokens are revoked too.
    let form = format!(
        "csrf={csrf}&current={}&new={}&again={}&end_tokens=on",
        enc(PASSWORD),
        enc(new_password),
        enc(new_password)
    );
    // The wrong current password above locked the login for a moment.
    let mut changed = post("/account/password", form.clone()).await;
    for _ in 0..40 {
        if changed.status != StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        changed = post("/account/password", form.clone()).await;
    }
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.html);
    assert_eq!(changed.location.as_deref(), Some("/login?next=%2F"));
    for session in [&stat, &other] {
        let ended = page(app, Method::GET, "/account", Some(session), None).await;
        assert_eq!(ended.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(
        f.call(Method::GET, "/api/me", Some("stat"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let with_new = format!("name=stat&password={}&next=%2F", enc(new_password));
    assert_eq!(
        page(app, Method::POST, "/login", None, Some(&with_new))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

/// A `multipart/form-data` body of `parts` (name, file name, content):
/// its content type and bytes.
pub(super) fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----scleradTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts a multipart form as `cookie`'s user.
pub(super) async fn upload(
    app: &Router,
    uri: &str,
    cookie: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> Page {
    let (content_type, body) = multipart(parts);
    let r = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::COOKIE, format!("sclerad_session={cookie}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("request");
    let reply = send(app, r).await;
    Page {
        status: reply.status,
        location: None,
        cookie: None,
        csp: None,
        html: reply.text,
    }
}

/// The data manager creates a study by uploading its bundle: a malformed
/// one is refused with each problem's file, row and column and nothing
/// imported; a forged form, bad names and files are refused; a valid one
/// (CSV files, or a workbook) is imported as `sclerad import` would.
pub(super) async fn data_manager_uploads_a_bundle_as_a_new_study(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let app = &f.app;
    let dm = log_in_to(app, "dm", "/").await;
    let home = page(app, Method::GET, "/", Some(&dm), None).await;
    assert_eq!(home.location.as_deref(), Some("/manage"));
    let studies = page_of(app, "/manage", &dm).await;
    assert!(
        row(&studies, "data-study=\"s\"").contains("data-action=\"patients\">3</a>"),
        "{studies}"
    );
    let form = page_of(app, "/manage/import", &dm).await;
    assert!(form.contains("data-form=\"import\"") && form.contains("type=\"file\""));
    assert!(form.contains("name=\"study\""));
    let csrf = csrf_of(&form);

    let dir = tempfile::tempdir().expect("temp");
    sclerad_bundle::write_folder(&sclerad_synth::nancy_demo(), dir.path()).expect("bundle");
    let file = |name: &str| std::fs::read(dir.path().join(name)).expect("read");
    let (patients, hand, spine) = (
        file("patients.csv"),
        file("hand_readings.csv"),
        file("spine_readings.csv"),
    );
    let text = String::from_utf8(patients.clone()).expect("UTF-8");
    let (header, rest) = text.split_once('\n').expect("rows");
    let columns: Vec<&str> = header.trim_end().split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).expect(name);
    let mut lines: Vec<Vec<String>> = rest
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert!(
        lines[..2].iter().all(|l| l.len() == columns.len()),
        "plain rows: {header}\n{}",
        &rest[..rest.len().min(400)]
    );
    // Row 2: an age that is not a number; row 3: a sex not in the list.
    lines[0][at("age_years")] = "sixty-one".into();
    lines[1][at("sex")] = "X".into();
    let body: Vec<String> = lines.iter().map(|l| l.join(",")).collect();
    let broken = format!("{}\n{}\n", header.trim_end(), body.join("\n"));
    let studies_before = store.studies().await.expect("studies").len();

    let refused = upload(
        app,
        "/manage/import",
        &dm,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("study", None, b"new"),
            ("date_format", None, b"iso"),
            ("files", Some("patients.csv"), broken.as_bytes()),
            ("files", Some("hand_readings.csv"), &hand),
            ("files", Some("spine_readings.csv"), &spine),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("data-outcome=\"refused\""),
        "{}",
        refused.html
    );
    let age = row(
        &refused.html,
        "class=\"error\" data-severity=\"error\" data-file=\"patients.csv\" data-row=\"2\" data-column=\"age_years\"",
    );
    assert!(age.contains("sixty-one"), "{age}");
    let sex = row(
        &refused.html,
        "class=\"error\" data-severity=\"error\" data-file=\"patients.csv\" data-row=\"3\" data-column=\"sex\"",
    );
    assert!(sex.contains("<code>X</code>"), "{sex}");
    assert_eq!(
        refused.html.matches("data-severity=\"error\"").count(),
        2,
        "only those two: {}",
        refused.html
    );
    assert_eq!(
        store.studies().await.expect("studies").len(),
        studies_before,
        "nothing imported"
    );

    // Refused before anything is read: a form without its token; a name
    // taken or empty; files that are not a bundle.
    let forged = upload(
        app,
        "/manage/import",
        &dm,
        &[
            ("study", None, b"new"),
            ("files", Some("patients.csv"), &patients),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    for (study, files, field, says) in [
        (
            "s",
            vec![("patients.csv", &patients[..])],
            "study",
            "already",
        ),
        ("  ", vec![("patients.csv", &patients[..])], "study", ""),
        (
            "new",
            vec![("hand_readings.csv", &hand[..])],
            "files",
            "not one bundle",
        ),
        (
            "new",
            vec![("passwd", &b"root:x:0:0"[..])],
            "files",
            "not a bundle file",
        ),
        (
            "new",
            vec![
                ("patients.csv", &patients[..]),
                ("Patients.csv", &patients[..]),
            ],
            "files",
            "twice",
        ),
        ("new", vec![], "files", "Choose the bundle"),
    ] {
        let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![
            ("csrf", None, csrf.as_bytes()),
            ("study", None, study.as_bytes()),
        ];
        for (name, content) in &files {
            parts.push(("files", Some(name), content));
        }
        let reply = upload(app, "/manage/import", &dm, &parts).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{study} {files:?}"
        );
        assert!(
            reply.html.contains(&format!("data-problem=\"{field}\"")) && reply.html.contains(says),
            "{study}: {}",
            reply.html
        );
        assert!(reply
            .html
            .contains(&format!("id=\"{field}\" name=\"{field}\"")));
    }
    assert_eq!(
        store.studies().await.expect("studies").len(),
        studies_before
    );

    // The valid bundle: imported, as the command line would.
    let imported = upload(
        app,
        "/manage/import",
        &dm,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("study", None, "nancy 2".as_bytes()),
            ("files", Some("patients.csv"), &patients),
            ("files", Some("hand_readings.csv"), &hand),
            ("files", Some("spine_readings.csv"), &spine),
        ],
    )
    .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.html);
    assert!(imported.html.contains("data-outcome=\"imported\""));
    let study = store
        .study("nancy 2")
        .await
        .expect("read")
        .expect("imported");
    // What `sclerad import` stores of the same folder.
    let (loaded, _) = sclerad_bundle::load(
        dir.path(),
        &sclerad_bundle::ReadOptions::default(),
        &sclerad_model::ValidateOptions::default(),
    )
    .expect("load");
    store
        .import_study(
            &Actor::command_line("test"),
            "cli",
            &StudyImport::from_cohort(&loaded.cohort),
        )
        .await
        .expect("import");
    let original = store.study("cli").await.expect("read").expect("cli");
    let mut both = Vec::new();
    for s in [&study, &original] {
        both.push(sclerad_store::to_tables(
            &s.columns,
            &store.patients(s.id).await.expect("patients"),
            &store.readings(s.id).await.expect("readings"),
        ));
    }
    assert_eq!(both[0], both[1], "the same study as the command line's");
    let events = store
        .audit_search(
            &sclerad_store::AuditFilter {
                action: Some("import".into()),
                actor: Some("dm".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .expect("events");
    assert_eq!(events.len(), 1, "the import is the data manager's");
    let studies = page_of(app, "/manage", &dm).await;
    assert!(studies.contains("data-study=\"nancy 2\""));
}

/// `tables` split by patient: the first `keep` patients with their
/// readings, and the others with theirs.
fn split_tables(
    tables: &sclerad_bundle::TextTables,
    keep: usize,
) -> (sclerad_bundle::TextTables, sclerad_bundle::TextTables) {
    use sclerad_bundle::TextTable;
    let kept: std::collections::HashSet<&str> = tables.patients.rows[..keep]
        .iter()
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(tables.patients.columns[0], "patient_id");
    let part = |t: &TextTable, first: bool| TextTable {
        columns: t.columns.clone(),
        rows: t
            .rows
            .iter()
            .filter(|r| kept.contains(r[0].as_str()) == first)
            .cloned()
            .collect(),
    };
    let half = |first: bool| sclerad_bundle::TextTables {
        patients: part(&tables.patients, first),
        hand_readings: tables.hand_readings.as_ref().map(|t| part(t, first)),
        spine_readings: tables.spine_readings.as_ref().map(|t| part(t, first)),
    };
    (half(true), half(false))
}

/// Rows of each table in a canonical order.
fn sorted_tables(mut t: sclerad_bundle::TextTables) -> sclerad_bundle::TextTables {
    t.patients.rows.sort();
    for r in [&mut t.hand_readings, &mut t.spine_readings]
        .into_iter()
        .flatten()
    {
        r.rows.sort();
    }
    t
}

/// The data manager grows a study from its row of the studies page: the
/// files checked with the study's records, a patient id it has refused at
/// its row with nothing added, then the rest of the cohort added, giving
/// the study the whole bundle would have.
pub(super) async fn data_manager_grows_a_study_from_its_page(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let app = &f.app;
    let dm = log_in_to(app, "dm", "/").await;
    let whole = sclerad_bundle::TextTables::of(&sclerad_synth::nancy_demo());
    let (first, rest) = split_tables(&whole, 70);
    store
        .import_study(
            &Actor::command_line("test"),
            "grow me",
            &StudyImport::from_tables(&first),
        )
        .await
        .expect("import");
    let studies = page_of(app, "/manage", &dm).await;
    let link = row(&studies, "data-study=\"grow me\"");
    assert!(
        link.contains("href=\"/manage/append?study=grow+me\" data-action=\"append-page\""),
        "{link}"
    );
    let form = page_of(app, "/manage/append?study=grow+me", &dm).await;
    assert!(form.contains("data-form=\"append\""), "{form}");
    assert!(form.contains("name=\"study\" value=\"grow me\""), "{form}");
    assert!(form.contains("data-study-patients=\"70\""), "{form}");
    let csrf = csrf_of(&form);
    let missing = page(
        app,
        Method::GET,
        "/manage/append?study=nope",
        Some(&dm),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let files = |tables: &sclerad_bundle::TextTables| {
        let dir = tempfile::tempdir().expect("temp");
        tables.write_folder(dir.path()).expect("write");
        let read = |name: &str| std::fs::read(dir.path().join(name)).expect(name);
        (
            read("patients.csv"),
            read("hand_readings.csv"),
            read("spine_readings.csv"),
        )
    };
    // The rest, and one of the study's own patients again (its last row).
    let mut again = rest.clone();
    again.patients.rows.push(first.patients.rows[3].clone());
    let (patients, hand, spine) = files(&again);
    let send = |patients: Vec<u8>, with_csrf: bool| {
        let (hand, spine, csrf, dm) = (hand.clone(), spine.clone(), csrf.clone(), dm.clone());
        async move {
            let mut parts: Vec<(&str, Option<&str>, &[u8])> = Vec::new();
            if with_csrf {
                parts.push(("csrf", None, csrf.as_bytes()));
            }
            parts.extend([
                ("study", None, &b"grow me"[..]),
                ("date_format", None, &b"iso"[..]),
                ("files", Some("patients.csv"), &patients[..]),
                ("files", Some("hand_readings.csv"), &hand[..]),
                ("files", Some("spine_readings.csv"), &spine[..]),
            ]);
            upload(app, "/manage/append", &dm, &parts).await
        }
    };
    let refused = send(patients.clone(), true).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("data-outcome=\"refused\""),
        "{}",
        refused.html
    );
    let duplicate = format!(
        "data-severity=\"error\" data-file=\"patients.csv\" data-row=\"{}\" data-column=\"patient_id\"",
        again.patients.rows.len() + 1
    );
    assert!(
        refused.html.contains(&duplicate),
        "{duplicate}: {}",
        refused.html
    );
    assert!(
        !refused.html.contains("data-file=\"the study"),
        "the study's own rows are not the appender's: {}",
        refused.html
    );
    let study = store.study("grow me").await.expect("read").expect("study");
    assert_eq!(store.patients(study.id).await.expect("patients").len(), 70);
    let forged = send(patients, false).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let (patients, hand2, spine2) = files(&rest);
    assert_eq!(
        (&hand2, &spine2),
        (&hand, &spine),
        "the same readings files"
    );
    let added = send(patients, true).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.html);
    assert!(
        added.html.contains("data-outcome=\"appended\""),
        "{}",
        added.html
    );
    assert!(
        added.html.contains("it has 77 patients now"),
        "{}",
        added.html
    );
    let grown = sclerad_store::to_tables(
        &study.columns,
        &store.patients(study.id).await.expect("patients"),
        &store.readings(study.id).await.expect("readings"),
    );
    assert_eq!(
        grown.patients.rows, whole.patients.rows,
        "the patients in the bundle's order"
    );
    assert_eq!(
        sorted_tables(grown),
        sorted_tables(whole),
        "the whole bundle"
    );
    let events = store
        .audit_search(
            &sclerad_store::AuditFilter {
                action: Some("append".into()),
                actor: Some("dm".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .expect("events");
    assert_eq!(events.len(), 1, "the append is the data manager's");
    let studies = page_of(app, "/manage", &dm).await;
    assert!(
        row(&studies, "data-study=\"grow me\"").contains("data-action=\"patients\">77</a>"),
        "{studies}"
    );
}

/// The data manager's patients: listed with the values each record lacks,
/// searched, and edited through a form checked with the bundle's rules —
/// every refused value at its field, nothing saved; a valid change saved
/// as a new version; an edit of an outdated version shown beside the
/// stored one, saved over it only when sent again.
pub(super) async fn data_manager_lists_and_edits_patients(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let app = &f.app;
    let dm = log_in_to(app, "dm", "/").await;
    let studies = page_of(app, "/manage", &dm).await;
    assert!(
        row(&studies, "data-study=\"s\"")
            .contains("href=\"/manage/patients?study=s\" data-action=\"patients\""),
        "{studies}"
    );
    let list = page_of(app, "/manage/patients?study=s", &dm).await;
    assert_eq!(list.matches("<tr data-patient=").count(), 3, "{list}");
    let p03 = row(&list, "data-patient=\"P03\" data-complete=\"no\"");
    for lacking in [
        "age_years or birth_date",
        "hand_xray_date",
        "ct_type",
        "death",
    ] {
        assert!(
            p03.contains(&format!("data-missing-value=\"{lacking}\"")),
            "{lacking}: {p03}"
        );
    }
    let p01 = row(&list, "data-patient=\"P01\"");
    assert!(!p01.contains("data-missing-value=\"ct_type\""), "{p01}");
    let found = page_of(app, "/manage/patients?study=s&q=p0", &dm).await;
    assert!(found.contains("data-matched=\"3\""), "{found}");
    let found = page_of(app, "/manage/patients?study=s&q=02", &dm).await;
    assert!(found.contains("data-matched=\"1\""), "{found}");
    assert!(found.contains("<tr data-patient=\"P02\""), "{found}");
    let missing = page(
        app,
        Method::GET,
        "/manage/patients?study=nope",
        Some(&dm),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let missing = page(
        app,
        Method::GET,
        "/manage/patient?study=s&id=P99",
        Some(&dm),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let form = page_of(app, "/manage/patient?study=s&id=P01", &dm).await;
    assert!(form.contains("data-form=\"patient\""), "{form}");
    assert!(form.contains("name=\"version\" value=\"1\""), "{form}");
    assert!(form.contains("name=\"age_years\" value=\"61\""), "{form}");
    let csrf = csrf_of(&form);
    let post = |fields: &[(&str, &str)]| {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let body = format!("csrf={}&study=s&id=P01&{}", enc(&csrf), body.join("&"));
        let dm = dm.clone();
        async move { page(app, Method::POST, "/manage/patient", Some(&dm), Some(&body)).await }
    };
    let study = store.study("s").await.expect("read").expect("s");
    let stored = || async {
        store
            .patient(study.id, "P01")
            .await
            .expect("read")
            .expect("P01")
    };
    let bad = post(&[
        ("version", "1"),
        ("age_years", "sixty"),
        ("subset", "diffuse?"),
        ("sex", "female"),
    ])
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    assert!(bad.html.contains("data-refused=\"2\""), "{}", bad.html);
    for field in ["age_years", "subset"] {
        assert!(
            bad.html.contains(&format!("data-problem=\"{field}\"")),
            "{field}: {}",
            bad.html
        );
    }
    assert!(
        bad.html
            .contains("value=\"sixty\" maxlength=\"10000\" aria-invalid=\"true\""),
        "the value kept, marked: {}",
        bad.html
    );
    assert_eq!(stored().await.version, 1, "nothing saved");

    let saved = post(&[("version", "1"), ("age_years", "62"), ("sex", "female")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(
        saved.location.as_deref(),
        Some("/manage/patient?study=s&id=P01&saved=1")
    );
    let now = stored().await;
    assert_eq!(
        (now.version, now.cells.get("age_years").map(String::as_str)),
        (2, Some("62"))
    );
    let shown = page_of(app, "/manage/patient?study=s&id=P01&saved=1", &dm).await;
    assert!(shown.contains("data-notice>Saved: version 2."), "{shown}");
    let unchanged = post(&[("version", "2"), ("age_years", "62")]).await;
    assert_eq!(
        unchanged.location.as_deref(),
        Some("/manage/patient?study=s&id=P01&saved=0")
    );
    assert_eq!(stored().await.version, 2);

    // An edit made on version 1, after version 2 was saved.
    let stale = post(&[("version", "1"), ("age_years", "63"), ("death", "yes")]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.html);
    assert!(
        stale
            .html
            .contains("data-conflict data-based-on=\"1\" data-current=\"2\""),
        "{}",
        stale.html
    );
    assert!(
        stale
            .html
            .contains("data-stored=\"age_years\">Stored now: <code>62</code>"),
        "{}",
        stale.html
    );
    assert!(
        stale.html.contains("name=\"age_years\" value=\"63\""),
        "the edit kept: {}",
        stale.html
    );
    assert!(
        stale.html.contains("name=\"version\" value=\"2\""),
        "{}",
        stale.html
    );
    assert_eq!(stored().await.version, 2, "nothing saved");
    let replaced = post(&[("version", "2"), ("age_years", "63"), ("death", "yes")]).await;
    assert_eq!(replaced.status, StatusCode::SEE_OTHER, "{}", replaced.html);
    let now = stored().await;
    assert_eq!(
        (
            now.version,
            now.cells.get("age_years").map(String::as_str),
            now.cells.get("death").map(String::as_str)
        ),
        (3, Some("63"), Some("yes"))
    );
    let forged = page(
        app,
        Method::POST,
        "/manage/patient",
        Some(&dm),
        Some("csrf=nope&study=s&id=P01&version=3&age_years=1"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(stored().await.version, 3);
    let events = store
        .audit_search(
            &sclerad_store::AuditFilter {
                actor: Some("dm".into()),
                entity: Some("patient".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .expect("events");
    assert_eq!(events.len(), 2, "two saves, the data manager's: {events:?}");

    // A kept column named like one of the form's own fields: its input is
    // named after it too, and read as its own.
    let tables = sclerad_bundle::TextTables {
        patients: sclerad_store_tests::conformance::table(
            &["patient_id", "sex", "subset", "version"],
            &[&["K01", "female", "lcssc", "form v1"]],
        ),
        ..Default::default()
    };
    store
        .import_study(
            &Actor::command_line("test"),
            "kept",
            &StudyImport::from_tables(&tables),
        )
        .await
        .expect("import");
    let form = page_of(app, "/manage/patient?study=kept&id=K01", &dm).await;
    assert!(
        form.contains("name=\"version\" value=\"form v1\""),
        "{form}"
    );
    let body = format!(
        "csrf={}&study=kept&id=K01&version=1&patient_id=K01&sex=male&subset=lcssc&version=form+v2",
        enc(&csrf_of(&form))
    );
    let saved = page(app, Method::POST, "/manage/patient", Some(&dm), Some(&body)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let kept = store.study("kept").await.expect("read").expect("kept");
    let k01 = store
        .patient(kept.id, "K01")
        .await
        .expect("read")
        .expect("K01");
    assert_eq!(k01.version, 2);
    assert_eq!(
        k01.cells.get("version").map(String::as_str),
        Some("form v2")
    );
    assert_eq!(k01.cells.get("sex").map(String::as_str), Some("male"));
}

/// The data manager builds a worklist for one reader over two patients'
/// hand radiographs, is refused (at the field) a repeat of it, an unknown
/// patient, no reader, an absurd repeat share, then grows it by the
/// patient left out; the progress follows the reader's saves.
pub(super) async fn data_manager_builds_partial_worklists(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let app = &f.app;
    let dm = log_in_to(app, "dm", "/").await;
    let studies = page_of(app, "/manage", &dm).await;
    assert!(
        row(&studies, "data-study=\"s\"").contains("href=\"/manage/worklists?study=s\""),
        "{studies}"
    );
    let form = page_of(app, "/manage/worklists?study=s", &dm).await;
    assert!(form.contains("data-form=\"worklists\""), "{form}");
    assert!(form.contains("name=\"reader\" value=\"rita\""), "{form}");
    assert!(!form.contains("value=\"stat\""), "only readers: {form}");
    assert!(
        form.contains("<p data-empty>No reader has a worklist"),
        "{form}"
    );
    let csrf = csrf_of(&form);
    let post = |fields: &[(&str, &str)]| {
        let mut body = format!("csrf={}&study=s", enc(&csrf));
        for (k, v) in fields {
            body.push_str(&format!("&{}={}", enc(k), enc(v)));
        }
        let dm = dm.clone();
        async move {
            page(
                app,
                Method::POST,
                "/manage/worklists",
                Some(&dm),
                Some(&body),
            )
            .await
        }
    };
    let rita_hands = |patients: &'static str, skip: bool| {
        let mut fields = vec![
            ("reader", "rita"),
            ("exams", "hand_radiograph"),
            ("repeat_percent", "0"),
            ("patients", patients),
        ];
        if skip {
            fields.push(("skip_assigned", "1"));
        }
        fields
    };
    let made = post(&rita_hands("P01,\nP02", true)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.html);
    assert!(
        made.html.contains("data-notice>2 readings assigned."),
        "{}",
        made.html
    );
    assert!(
        made.html
            .contains("data-reader=\"rita\" data-assigned=\"2\" data-read=\"0\""),
        "{}",
        made.html
    );
    assert!(!made.html.contains("data-reader=\"rolf\""), "{}", made.html);
    for (fields, field, says) in [
        (
            rita_hands("P01", false),
            "skip_assigned",
            "nothing was assigned",
        ),
        (rita_hands("P01 P77", true), "patients", "P77"),
        (
            vec![
                ("exams", "both"),
                ("repeat_percent", "10"),
                ("patients", ""),
            ],
            "reader",
            "at least one reader",
        ),
        (
            vec![
                ("reader", "rolf"),
                ("exams", "both"),
                ("repeat_percent", "80"),
            ],
            "repeat_percent",
            "0 to 50",
        ),
    ] {
        let refused = post(&fields).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            refused.html
        );
        assert!(
            refused.html.contains(&format!("data-problem=\"{field}\""))
                && refused.html.contains(says),
            "{field}: {}",
            refused.html
        );
    }
    assert_eq!(
        f.worklist("rita").await.len(),
        2,
        "nothing assigned by the refusals"
    );
    assert!(f.worklist("rolf").await.is_empty());

    // Every patient, only what rita lacks: P03.
    let grown = post(&rita_hands("", true)).await;
    assert_eq!(grown.status, StatusCode::CREATED, "{}", grown.html);
    assert!(
        grown.html.contains("data-notice>1 readings assigned."),
        "{}",
        grown.html
    );
    let list = f.worklist("rita").await;
    assert_eq!(list.len(), 3);
    let code = list[0]["code"].as_str().expect("code").to_string();
    f.ok(
        Method::PUT,
        &format!("/api/worklist/{code}"),
        "rita",
        Some(&json!({"version": 0, "findings": [{"side": "left", "site": "tuft_d2", "lesion": "acro_osteolysis", "grade": 2}]})),
    )
    .await;
    let shown = page_of(app, "/manage/worklists?study=s", &dm).await;
    assert!(
        shown.contains("data-reader=\"rita\" data-assigned=\"3\" data-read=\"1\""),
        "{shown}"
    );
    let nothing = post(&rita_hands("", true)).await;
    assert!(nothing.html.contains("Nothing to add"), "{}", nothing.html);
}

/// A GET's status, headers and raw body (a download).
pub(super) async fn download(app: &Router, uri: &str, cookie: &str) -> super::Reply {
    let r = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header(header::COOKIE, format!("sclerad_session={cookie}"))
        .body(Body::empty())
        .expect("request");
    send(app, r).await
}

/// The analyst's pages: studies with their agreement and runs; a run of the
/// analysis on a study's current data with the settings form (refused
/// settings and a bundle with errors keep nothing); the kept run's page,
/// files and report; its results.json the analysis of the study's export
/// as `sclerad analyze` reads it; reproduced from the kept bundle; the
/// study's data changed since is said; the form filled from a run.
pub(super) async fn analyst_runs_the_analysis_and_reproduces_it(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let app = &f.app;
    let nancy = sclerad_bundle::TextTables::of(&sclerad_synth::nancy_demo());
    let study = store
        .import_study(
            &Actor::command_line("test"),
            "nancy",
            &StudyImport::from_tables(&nancy),
        )
        .await
        .expect("import")
        .study;
    let stat = log_in_to(app, "stat", "/").await;
    let home = page(app, Method::GET, "/", Some(&stat), None).await;
    assert_eq!(home.location.as_deref(), Some("/analysis"));
    let studies = page_of(app, "/analysis", &stat).await;
    let nancy_row = row(&studies, "data-study=\"nancy\"");
    assert!(
        nancy_row.contains("href=\"/analysis/agreement?study=nancy\" data-action=\"agreement\"")
            && nancy_row.contains("href=\"/analysis/runs?study=nancy\" data-action=\"analysis\"")
            && nancy_row.contains("data-download=\"bundle\""),
        "{nancy_row}"
    );

    // The agreement dashboard: the analysis's rows.
    let agreement = page_of(app, "/analysis/agreement?study=nancy", &stat).await;
    let loaded = sclerad_store::read_study(
        &study.columns,
        &store.patients(study.id).await.expect("patients"),
        &store.readings(study.id).await.expect("readings"),
    );
    let expected = sclerad_analysis::agreement(&loaded.cohort);
    assert!(!expected.is_empty());
    assert_eq!(
        agreement.matches("<tr data-agreement").count(),
        expected.len(),
        "{agreement}"
    );
    let first = &expected[0];
    assert!(
        agreement.contains(&format!(
            "data-variable=\"{}\" data-readers=\"{}|{}\" data-kappa=\"{}\"",
            first.variable,
            first.reader_a,
            first.reader_b,
            first.kappa.map_or(String::new(), |k| format!("{k:.2}"))
        )),
        "{agreement}"
    );

    // The form; refused settings keep nothing.
    let form = page_of(app, "/analysis/runs?study=nancy", &stat).await;
    assert!(form.contains("data-form=\"analysis\""), "{form}");
    assert!(form.contains("data-action=\"run-analysis\""), "{form}");
    assert!(form.contains("name=\"conf_level\" inputmode=\"decimal\" value=\"0.95\""));
    let csrf = csrf_of(&form);
    let post = |study: &str, conf: &str| {
        let body = format!(
            "csrf={}&study={}&reader=&conf_level={}&imaging_window_days=365&min_expected_count=5&normality_alpha=0.05&pah_definition=",
            enc(&csrf),
            enc(study),
            enc(conf)
        );
        let stat = stat.clone();
        async move {
            page(
                app,
                Method::POST,
                "/analysis/runs",
                Some(&stat),
                Some(&body),
            )
            .await
        }
    };
    let refused = post("nancy", "2").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.html.contains("data-problem=\"conf_level\""),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("id=\"conf_level\" name=\"conf_level\" inputmode=\"decimal\" value=\"2\" aria-invalid=\"true\""));
    // The fixture's study lacks required columns: the bundle's errors.
    let broken = post("s", "0.95").await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        broken.html.contains("data-problem=\"bundle\"")
            && broken.html.contains("data-table=\"problems\"")
            && broken.html.contains("data-column=\"digital_ulcers\""),
        "{}",
        broken.html
    );
    for s in store.studies().await.expect("studies") {
        assert!(store.analysis_runs(s.id).await.expect("runs").is_empty());
    }

    // A run: kept, and its page.
    let ran = post("nancy", "0.9").await;
    assert_eq!(ran.status, StatusCode::SEE_OTHER, "{}", ran.html);
    let runs = store.analysis_runs(study.id).await.expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let at = format!("/analysis/runs/{}", run.id);
    assert_eq!(ran.location.as_deref(), Some(at.as_str()));
    assert_eq!(run.actor, "stat");
    assert_eq!(run.patients, 77);
    assert!(
        run.settings.contains("conf_level = 0.9"),
        "{}",
        run.settings
    );
    let shown = page_of(app, &at, &stat).await;
    for file in ["results.json", "report.html", "tables/tables.xlsx", "input"] {
        assert!(
            shown.contains(&format!("data-download=\"{file}\"")),
            "{file}: {shown}"
        );
    }
    assert!(shown.contains("data-download=\"figures/"), "{shown}");
    assert!(shown.contains("data-download=\"tables/") && shown.contains(".csv\""));
    assert!(shown.contains("<iframe class=\"report\""), "{shown}");
    assert!(shown.contains("data-data=\"unchanged\""), "{shown}");
    let csp = page(app, Method::GET, &at, Some(&stat), None)
        .await
        .csp
        .expect("a policy");
    assert!(csp.contains("frame-src 'self'"), "{csp}");

    // results.json is the analysis of the study's export, read from a
    // folder as `sclerad analyze` reads it.
    let results = download(app, &format!("{at}/files/results.json"), &stat).await;
    assert_eq!(results.status, StatusCode::OK);
    assert!(results.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("text")
        .starts_with("attachment"));
    let export = download(app, "/analysis/export?study=nancy", &stat).await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.headers[header::CONTENT_TYPE], "application/zip");
    let files = sclerad_bundle::unzip("export.zip", &export.bytes, 1 << 30, 1 << 30).expect("zip");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir(dir.path().join("nancy")).expect("dir");
    for (name, bytes) in &files {
        assert!(name.starts_with("nancy/"), "in the study's folder: {name}");
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    let folder = dir.path().join("nancy");
    let settings = sclerad_analysis::Settings {
        conf_level: 0.9,
        ..sclerad_analysis::Settings::default()
    };
    let check = sclerad_model::ValidateOptions {
        reader: None,
        imaging_window_days: 365,
        reader_required: true,
    };
    let (loaded, _) =
        sclerad_bundle::load(&folder, &sclerad_bundle::ReadOptions::default(), &check)
            .expect("load");
    let input = sclerad_analysis::InputInfo {
        path: "nancy".into(),
        sha256: sclerad_bundle::fingerprint(&folder, 1 << 30).expect("fingerprint"),
    };
    let direct = sclerad_analysis::analyze(&loaded.cohort, &settings, &input).expect("analyse");
    assert_eq!(
        results.text,
        serde_json::to_string_pretty(&direct).expect("json")
    );
    assert_eq!(run.input_sha256, input.sha256);
    // The kept input is that bundle.
    let kept = download(app, &format!("{at}/input.zip"), &stat).await;
    let kept = sclerad_bundle::unzip("in.zip", &kept.bytes, 1 << 30, 1 << 30).expect("zip");
    let exported: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| (n.trim_start_matches("nancy/").to_string(), b.clone()))
        .collect();
    assert_eq!(kept, exported);
    // The report, framed by its run's page only, under its own policy.
    let report = download(app, &format!("{at}/files/report.html"), &stat).await;
    assert_eq!(report.status, StatusCode::OK);
    let policy = report.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("text");
    assert!(
        policy.contains("sandbox") && policy.contains("frame-ancestors 'self'"),
        "{policy}"
    );
    assert_eq!(report.headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    assert!(report.text.contains("<html"), "a report");
    let none = download(app, &format!("{at}/files/nope.csv"), &stat).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);

    // Reproduced from the kept bundle, whatever the study's data is now.
    let mut p = store
        .patient(study.id, "NCY001")
        .await
        .expect("read")
        .expect("NCY001");
    p.cells.insert("age_years".into(), "70".into());
    store
        .update_patient(&Actor::command_line("test"), study.id, &p, p.version)
        .await
        .expect("edit");
    let changed = page_of(app, &at, &stat).await;
    assert!(changed.contains("data-data=\"changed\""), "{changed}");
    let csrf = csrf_of(&changed);
    let again = page(
        app,
        Method::POST,
        &format!("{at}/reproduce"),
        Some(&stat),
        Some(&format!("csrf={}", enc(&csrf))),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.html);
    assert!(
        again.html.contains("data-reproduced=\"identical\""),
        "{}",
        again.html
    );
    // The form filled from the run.
    let refill = page_of(
        app,
        &format!("/analysis/runs?study=nancy&from={}", run.id),
        &stat,
    )
    .await;
    assert!(refill.contains("name=\"conf_level\" inputmode=\"decimal\" value=\"0.9\""));
    assert!(
        refill.contains(&format!("<tr data-run=\"{}\">", run.id)),
        "{refill}"
    );
    // The data manager downloads the same bundle (the edited one, now).
    let dm = log_in_to(app, "dm", "/").await;
    let manage = page_of(app, "/manage", &dm).await;
    assert!(row(&manage, "data-study=\"nancy\"")
        .contains("href=\"/manage/export?study=nancy\" data-download=\"bundle\""));
    let theirs = download(app, "/manage/export?study=nancy", &dm).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_ne!(theirs.bytes, export.bytes, "the edit is in it");
    sclerad_store_tests::conformance::verified(store.as_ref()).await;
}

/// The patients of `cohort` as a REDCap raw records export of a project
/// made from sclerad's dictionary (1/0 for yes/no, the format's codes,
/// Y-M-D dates, the form's `_complete` column), written here independently
/// of the importer.
fn redcap_records(cohort: &sclerad_model::Cohort) -> String {
    let dictionary = sclerad_redcap::format_dictionary();
    let text = sclerad_bundle::TextTables::of(cohort);
    let at = |field: &str| {
        let column = sclerad_redcap::column_of_field(field)
            .expect("a column")
            .code();
        text.patients.columns.iter().position(|c| c == column)
    };
    let quote = |cells: Vec<String>| {
        cells
            .iter()
            .map(|c| {
                if c.contains([',', '"', '\n']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
            + "\n"
    };
    let mut header: Vec<String> = dictionary.fields.iter().map(|f| f.name.clone()).collect();
    header.push(format!("{}_complete", sclerad_redcap::FORM));
    let mut out = quote(header);
    for row in &text.patients.rows {
        let mut cells: Vec<String> = dictionary
            .fields
            .iter()
            .map(|f| {
                let value = at(&f.name).map_or("", |i| row[i].as_str());
                match (f.field_type, value) {
                    (sclerad_redcap::FieldType::YesNo, "yes") => "1".to_string(),
                    (sclerad_redcap::FieldType::YesNo, "no") => "0".to_string(),
                    (_, v) => v.to_string(),
                }
            })
            .collect();
        cells.push("2".into());
        out.push_str(&quote(cells));
    }
    out
}

/// The data manager's REDCap pages: sclerad's dictionary to download; a
/// records export with a bad value refused at its row and field with
/// nothing imported; the corrected export imported as a new study with the
/// patients of the original bundle; the same downloaded as a zip bundle; a
/// centre's dictionary gives a mapping form, and the edited mapping
/// downloads as a file, a refused row shown at its row.
pub(super) async fn data_manager_imports_a_study_from_redcap(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let app = &f.app;
    let dm = log_in_to(app, "dm", "/").await;
    let studies = page_of(app, "/manage", &dm).await;
    assert!(studies.contains("href=\"/manage/redcap\" data-action=\"redcap-page\""));
    let form = page_of(app, "/manage/redcap", &dm).await;
    assert!(form.contains("data-form=\"redcap\""), "{form}");
    let csrf = csrf_of(&form);
    let dictionary = download(app, "/manage/redcap/dictionary.csv", &dm).await;
    assert_eq!(dictionary.status, StatusCode::OK);
    assert_eq!(dictionary.text, sclerad_redcap::dictionary_csv());

    let cohort = sclerad_synth::nancy_demo();
    let records = redcap_records(&cohort);
    // Row 4 of the export (its third patient): a sex REDCap would not have.
    let mut lines: Vec<String> = records.lines().map(String::from).collect();
    lines[3] = lines[3]
        .replacen(",female,", ",woman,", 1)
        .replacen(",male,", ",man,", 1);
    let bad = lines.join("\n") + "\n";
    let refused = upload(
        app,
        "/manage/redcap",
        &dm,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("study", None, b"from redcap"),
            ("records", Some("records.csv"), bad.as_bytes()),
            (
                "dictionary",
                Some("dictionary.csv"),
                dictionary.text.as_bytes(),
            ),
            ("date_format", None, b"ymd"),
            ("action", None, b"import"),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("data-outcome=\"refused\""),
        "{}",
        refused.html
    );
    assert!(
        refused
            .html
            .contains("data-file=\"records.csv\" data-row=\"4\" data-column=\"sex\""),
        "{}",
        refused.html
    );
    assert_eq!(
        refused
            .html
            .matches("data-row=\"4\" data-column=\"sex\"")
            .count(),
        1,
        "the refused cell once, not again as a missing value: {}",
        refused.html
    );
    assert!(store.study("from redcap").await.expect("read").is_none());

    // The export as REDCap wrote it: a new study, the bundle's patients.
    let imported = upload(
        app,
        "/manage/redcap",
        &dm,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("study", None, b"from redcap"),
            ("records", Some("records.csv"), records.as_bytes()),
            ("dictionary", None, b""),
            ("action", None, b"import"),
        ],
    )
    .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.html);
    assert!(
        imported
            .html
            .contains("data-outcome=\"imported\">Imported study “from redcap”: 77 patients."),
        "{}",
        imported.html
    );
    let study = store
        .study("from redcap")
        .await
        .expect("read")
        .expect("imported");
    let stored = sclerad_store::read_study(
        &study.columns,
        &store.patients(study.id).await.expect("patients"),
        &[],
    );
    assert_eq!(stored.cohort.patients.len(), cohort.patients.len());
    for (a, b) in stored.cohort.patients.iter().zip(&cohort.patients) {
        assert_eq!(
            (
                a.patient_id.as_str(),
                a.sex,
                a.subset,
                a.age_years,
                a.hand_xray_date,
                a.death
            ),
            (
                b.patient_id.as_str(),
                b.sex,
                b.subset,
                b.age_years,
                b.hand_xray_date,
                b.death
            ),
        );
    }
    // Or as a bundle to download: the same patients.csv.
    let (content_type, body) = multipart(&[
        ("csrf", None, csrf.as_bytes()),
        ("records", Some("records.csv"), records.as_bytes()),
        ("action", None, b"bundle"),
    ]);
    let r = Request::builder()
        .method(Method::POST)
        .uri("/manage/redcap")
        .header(header::COOKIE, format!("sclerad_session={dm}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("request");
    let zipped = send(app, r).await;
    assert_eq!(zipped.status, StatusCode::OK, "{}", zipped.text);
    assert_eq!(zipped.headers[header::CONTENT_TYPE], "application/zip");
    let files = sclerad_bundle::unzip("b.zip", &zipped.bytes, 1 << 30, 1 << 30).expect("zip");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "patients.csv");
    let expected = sclerad_store::to_tables(
        &study.columns,
        &store.patients(study.id).await.expect("patients"),
        &[],
    );
    assert_eq!(files[0].1, expected.files()[0].1);

    // A centre's own project: its dictionary, a suggested mapping.
    let centre = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation\n\
        record_id,ssc,,text,Record ID,,,,,,,,,,,,,\n\
        sexe,ssc,,radio,Sex,\"1, Female | 2, Male\",,,,,,,,,,,,\n\
        ulceres,ssc,,yesno,Digital ulcers,,,,,,,,,,,,,\n";
    let mapping_form = page_of(app, "/manage/redcap/mapping", &dm).await;
    assert!(mapping_form.contains("data-form=\"redcap-dictionary\""));
    let suggested = upload(
        app,
        "/manage/redcap/mapping",
        &dm,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("dictionary", Some("centre.csv"), centre.as_bytes()),
        ],
    )
    .await;
    assert_eq!(suggested.status, StatusCode::OK, "{}", suggested.html);
    assert!(
        suggested.html.contains("data-form=\"redcap-mapping\""),
        "{}",
        suggested.html
    );
    assert!(
        suggested
            .html
            .contains("data-field=\"sexe\" data-choice=\"1\""),
        "{}",
        suggested.html
    );
    // The form as sent back, its rows in order; then one column misspelt.
    let rows = sclerad_redcap::suggest_mapping(
        &sclerad_redcap::read_dictionary("centre.csv", centre.as_bytes()).0,
    )
    .rows;
    let body = |column_of: &dyn Fn(&sclerad_redcap::MappingRow) -> String| {
        let mut body = format!(
            "csrf={}&dictionary=centre.csv&dictionary_csv={}",
            enc(&csrf),
            enc(centre)
        );
        for r in &rows {
            body.push_str(&format!(
                "&field={}&choice={}&label={}&column={}&value={}",
                enc(&r.redcap_field),
                enc(&r.choice),
                enc(&r.redcap_label),
                enc(&column_of(r)),
                enc(&r.value)
            ));
        }
        body
    };
    let sent = body(&|r| r.column.clone());
    let file = page(
        app,
        Method::POST,
        "/manage/redcap/mapping.csv",
        Some(&dm),
        Some(&sent),
    )
    .await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.html);
    let expected = sclerad_redcap::Mapping {
        file: "mapping.csv".into(),
        rows: rows.clone(),
    }
    .to_csv();
    assert_eq!(file.html, expected);
    let misspelt = body(&|r| {
        if r.redcap_field == "ulceres" && r.choice.is_empty() {
            "digital_ulcer".into()
        } else {
            r.column.clone()
        }
    });
    let again = page(
        app,
        Method::POST,
        "/manage/redcap/mapping.csv",
        Some(&dm),
        Some(&misspelt),
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.html
    );
    let at = rows
        .iter()
        .position(|r| r.redcap_field == "ulceres" && r.choice.is_empty())
        .expect("the ulcers row")
        + 2;
    assert!(
        again.html.contains(&format!(
            "data-file=\"mapping.csv\" data-row=\"{at}\" data-column=\"column\""
        )),
        "{}",
        again.html
    );
    sclerad_store_tests::conformance::verified(store.as_ref()).await;
}

//! The admin in the browser: users disabled (their session and token stop
//! at once), created and given a role; every token, the audit trail and
//! its verification; and every user's own password and tokens page.

use crate::harness::Env;

/// As the admin of `sclerad demo --serve`: disable a reader, whose session
/// and API token then fail at once; create a user; look at the tokens, the
/// audit trail filtered to the admin's own changes, and its verification.
#[test]
fn the_admin_disables_a_user_whose_session_and_token_stop_at_once() {
    let Some(env) = Env::start() else { return };
    let admin = env.demo.user("admin", 0).clone();
    let reader = env.demo.user("reader", 1).clone();
    // The reader's open session, and a token made from it.
    let cookie = env.demo.session(&reader);
    let made = env.demo.http(
        "POST",
        "/api/tokens",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/json"),
            ("X-CSRF-Token", &csrf_of_session(&env, &cookie)),
        ],
        r#"{"label": "my script"}"#,
    );
    assert_eq!(made.0, 201, "a token: {}", made.2);
    let token: serde_json::Value = serde_json::from_str(&made.2).expect("JSON");
    let bearer = format!("Bearer {}", token["token"].as_str().expect("token"));
    let me = |headers: &[(&str, &str)]| env.demo.http("GET", "/api/me", headers, "").0;
    assert_eq!(me(&[("Cookie", &cookie)]), 200);
    assert_eq!(me(&[("Authorization", &bearer)]), 200);

    env.run(async {
        let b = env.browser().await;
        b.login(&admin).await;
        b.wait_path("/admin/users").await;
        b.shot("admin-users").await;
        b.axe("the users page").await;
        let row = format!("tr[data-user=\"{}\"]", reader.name);
        b.click(&format!("{row} [data-action=disable]")).await;
        b.wait("document.querySelector('[data-notice]')", "the notice")
            .await;
        assert_eq!(b.count(&format!("{row} [data-status=disabled]")).await, 1);
        b.shot("admin-user-disabled").await;
        b.axe("the users page after a disable").await;
    });
    assert_eq!(
        me(&[("Cookie", &cookie)]),
        401,
        "the session stopped at once"
    );
    assert_eq!(me(&[("Authorization", &bearer)]), 401, "the token too");

    env.run(async {
        let b = env.browser().await;
        b.login(&admin).await;
        b.goto("/admin/users").await;
        // A refused name, at its field; then a good one.
        for (name, ok) in [("consensus", false), ("nurse", true)] {
            let input = b.find("#name").await;
            input.clear().await.expect("clear");
            input.send_keys(name).await.expect("type");
            b.find("#password")
                .await
                .send_keys("a long enough secret")
                .await
                .expect("type");
            b.js(
                "document.querySelector('#role').value = 'data_manager';",
                vec![],
            )
            .await;
            b.click("[data-action=create-user]").await;
            if ok {
                b.wait(
                    "document.querySelector('tr[data-user=nurse]')",
                    "the new user's row",
                )
                .await;
            } else {
                b.wait(
                    "document.querySelector('[data-problem=name]') && document.querySelector('#name[aria-invalid=true]')",
                    "the refusal at the name",
                )
                .await;
                b.shot("admin-user-refused").await;
                b.axe("a refused new user").await;
            }
        }
        b.goto("/admin/tokens").await;
        b.wait("document.querySelector('h1')", "the tokens page")
            .await;
        b.shot("admin-tokens").await;
        b.axe("the tokens page").await;
        b.goto("/admin/audit").await;
        b.find("#actor")
            .await
            .send_keys(&admin.name)
            .await
            .expect("type");
        b.click("[data-action=filter]").await;
        b.wait(
            "location.search.includes('actor=') && document.querySelector('tr[data-event]')",
            "the filtered trail",
        )
        .await;
        let actors = b
            .strings("return [...document.querySelectorAll('td[data-actor]')].map(td => td.textContent)")
            .await;
        assert!(!actors.is_empty() && actors.iter().all(|a| *a == admin.name), "{actors:?}");
        let whats = b
            .strings("return [...document.querySelectorAll('td[data-what]')].map(td => td.textContent)")
            .await;
        assert!(whats.contains(&"disable".to_string()) && whats.contains(&"create".to_string()), "{whats:?}");
        b.shot("admin-audit").await;
        b.axe("the audit trail").await;
        b.click("[data-action=verify-page]").await;
        b.wait_path("/admin/audit/verify").await;
        let anchor = b
            .strings("return [document.querySelector('[data-anchor]').textContent]")
            .await;
        b.find("#anchors")
            .await
            .send_keys(&anchor[0])
            .await
            .expect("type");
        b.click("[data-action=verify]").await;
        b.wait(
            "document.querySelector('[data-verdict=intact]')",
            "the verdict",
        )
        .await;
        b.shot("admin-verify").await;
        b.axe("the verification").await;
        b.close().await;
    });
}

/// The CSRF token of a session, from a page it can see.
fn csrf_of_session(env: &Env, cookie: &str) -> String {
    let (status, _, html) = env.demo.http("GET", "/account", &[("Cookie", cookie)], "");
    assert_eq!(status, 200, "the account page: {html}");
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().expect("value").to_string()
}

/// Any user's own page: a token made (its secret shown once, working),
/// then the password changed, which ends the session.
#[test]
fn a_user_makes_a_token_and_changes_their_password() {
    let Some(env) = Env::start() else { return };
    let analyst = env.demo.user("analyst", 0).clone();
    let secret = env.run(async {
        let b = env.browser().await;
        b.login(&analyst).await;
        b.click("[data-link=account]").await;
        b.wait_path("/account").await;
        b.shot("account").await;
        b.axe("the account page").await;
        b.find("#label")
            .await
            .send_keys("nightly analysis")
            .await
            .expect("type");
        b.click("[data-action=create-token]").await;
        b.wait("document.querySelector('[data-secret]')", "the new token")
            .await;
        b.shot("account-token").await;
        b.axe("the account page with a new token").await;
        let secret = b.attr("[data-secret]", "value").await.expect("value");
        for (field, text) in [
            ("current", analyst.password.as_str()),
            ("new", "the analyst's new passphrase"),
            ("again", "the analyst's new passphrase"),
        ] {
            b.find(&format!("#{field}"))
                .await
                .send_keys(text)
                .await
                .expect("type");
        }
        b.click("[data-action=change-password]").await;
        b.wait_path("/login").await;
        b.submit_login(&analyst.name, "the analyst's new passphrase")
            .await;
        b.wait_path("/analysis").await;
        b.close().await;
        secret
    });
    let bearer = format!("Bearer {secret}");
    let (status, _, body) = env
        .demo
        .http("GET", "/api/me", &[("Authorization", &bearer)], "");
    assert_eq!(
        status, 200,
        "the token works (not revoked: unasked): {body}"
    );
}

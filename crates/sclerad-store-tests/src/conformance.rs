//! The behaviour every back end must show, as one suite of checks that each
//! back end's tests run against a real database
//! ([`conformance_tests!`](crate::conformance_tests)).
//!
//! Each check takes a freshly migrated, empty store and panics with a
//! message naming what went wrong.

use std::sync::Arc;

use sclerad_bundle::{TextTable, TextTables};

use sclerad_model::Finding;
use sclerad_store::{
    blinding, to_tables, verify_audit, Actor, Cells, Modality, ReadingKind, Role, Store,
    StoreError, Study, StudyImport,
};

/// A text table from string literals.
pub fn table(columns: &[&str], rows: &[&[&str]]) -> TextTable {
    TextTable {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    }
}

/// A small bundle with every kind of cell: exam columns, an unknown column,
/// quotes, non-ASCII text, and readings from two readers and a consensus.
pub fn sample_tables() -> TextTables {
    TextTables {
        patients: table(
            &[
                "patient_id",
                "sex",
                "age_years",
                "subset",
                "hand_xray_date",
                "ct_date",
                "ct_type",
                "ct_levels",
                "death",
                "centre_note",
            ],
            &[
                &[
                    "P01",
                    "female",
                    "61",
                    "lcssc",
                    "2017-03-01",
                    "2017-06-02",
                    "thoracic",
                    "",
                    "no",
                    "Nancy, \"A\"",
                ],
                &[
                    "P02",
                    "male",
                    "48.5",
                    "dcssc",
                    "2016-01-10",
                    "2016-02-11",
                    "lumbar",
                    "t12-s1",
                    "yes",
                    "épaule",
                ],
                &[
                    "P03",
                    "female",
                    "",
                    "lcssc",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "<script>alert(1)</script>",
                ],
            ],
        ),
        hand_readings: Some(table(
            &[
                "patient_id",
                "reader",
                "side",
                "site",
                "lesion",
                "grade",
                "comment",
            ],
            &[
                &[
                    "P01",
                    "ana",
                    "left",
                    "tuft_d2",
                    "calcinosis",
                    "2",
                    "'; DROP TABLE patients; --",
                ],
                &["P01", "ben", "left", "tuft_d2", "calcinosis", "", ""],
                &["P02", "ana", "", "", "none", "", ""],
                &["P01", "ana", "right", "tuft_d1", "acro_osteolysis", "", ""],
                &["P02", "consensus", "", "", "none", "", ""],
            ],
        )),
        spine_readings: Some(table(
            &[
                "patient_id",
                "reader",
                "level",
                "segment",
                "foraminal",
                "side",
                "morphology",
            ],
            &[
                &["P02", "ana", "l4", "canal", "yes", "left", "punctate"],
                &["P01", "ana", "", "none", "", "", ""],
            ],
        )),
    }
}

/// Rows of each readings table in a canonical order, for comparing a round
/// trip (a reading's rows come back together).
pub fn sorted(mut tables: TextTables) -> TextTables {
    for t in [&mut tables.hand_readings, &mut tables.spine_readings]
        .into_iter()
        .flatten()
    {
        t.rows.sort();
    }
    tables
}

fn admin() -> Actor {
    Actor::command_line("test")
}

/// Verifies the trail and the data against it (panics if they do not
/// check out); returns the number of change events (row digest events not
/// counted).
pub async fn verified(store: &dyn Store) -> i64 {
    let proved = match verify_audit(store).await {
        Ok(Ok(proved)) => proved,
        Ok(Err(failure)) => panic!("audit trail does not prove the data: {failure}"),
        Err(e) => panic!("audit trail unreadable: {e}"),
    };
    let mut changes = 0;
    let mut after = 0;
    loop {
        let page = store.audit_events(after, 10_000).await.expect("events");
        let Some(last) = page.last() else { break };
        after = last.seq;
        changes += page
            .iter()
            .filter(|e| e.action != sclerad_store::proof::DIGEST_ACTION)
            .count() as i64;
    }
    assert_eq!(after, proved.events, "every event checked");
    changes
}

/// Users, login bookkeeping, sessions and API tokens.
pub async fn users_sessions_tokens(store: &dyn Store) {
    let alice = store
        .create_user(&admin(), "alice", Role::Reader, "$argon2id$hash")
        .await
        .expect("create user");
    assert_eq!(alice.role, Role::Reader);
    match store.create_user(&admin(), "alice", Role::Admin, "x").await {
        Err(StoreError::AlreadyExists { what }) => assert!(what.contains("alice"), "{what}"),
        other => panic!("duplicate user: {other:?}"),
    }
    // One name in every spelling a person would take for it.
    for look_alike in ["Alice", "ALICE", "ａｌｉｃｅ", " alice "] {
        match store
            .create_user(&admin(), look_alike, Role::Admin, "x")
            .await
        {
            Err(StoreError::AlreadyExists { what }) => assert!(what.contains("alice"), "{what}"),
            other => panic!("{look_alike:?} beside alice: {other:?}"),
        }
    }
    for posing in ["\u{430}lice", "\u{202e}alice", "Consensus"] {
        assert!(
            matches!(
                store.create_user(&admin(), posing, Role::Admin, "x").await,
                Err(StoreError::Invalid { .. })
            ),
            "{posing:?}"
        );
    }
    let creds = store
        .credentials("alice")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(creds.password_hash, "$argon2id$hash");
    assert_eq!(creds.failed_logins, 0);
    store
        .record_login(alice.id, false, Some("2030-01-01T00:00:00.000000Z"))
        .await
        .expect("failure recorded");
    store
        .record_login(alice.id, false, None)
        .await
        .expect("failure recorded");
    let creds = store
        .credentials("alice")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(creds.failed_logins, 2);
    assert_eq!(
        creds.locked_until.as_deref(),
        Some("2030-01-01T00:00:00.000000Z")
    );
    store
        .record_login(alice.id, true, None)
        .await
        .expect("success");
    let creds = store
        .credentials("alice")
        .await
        .expect("read")
        .expect("found");
    assert_eq!((creds.failed_logins, creds.locked_until), (0, None));
    assert!(store.credentials("nobody").await.expect("read").is_none());

    store
        .create_session(alice.id, "h1", "csrf1", "2026-12-01T00:00:00.000000Z")
        .await
        .expect("session");
    let s = store
        .session("h1", "2026-11-30T00:00:00.000000Z")
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        (s.user.name.as_str(), s.csrf_token.as_str()),
        ("alice", "csrf1")
    );
    assert!(
        store
            .session("h1", "2026-12-02T00:00:00.000000Z")
            .await
            .expect("read")
            .is_none(),
        "expired sessions are not returned"
    );
    store.delete_session("h1").await.expect("delete");
    assert!(store
        .session("h1", "2026-11-30T00:00:00.000000Z")
        .await
        .expect("read")
        .is_none());

    let token = store
        .create_token(
            &admin(),
            alice.id,
            "scripts",
            "tokenhash",
            "2026-12-31T00:00:00.000000Z",
        )
        .await
        .expect("token");
    assert_eq!(token.label, "scripts");
    assert_eq!(token.expires_at, "2026-12-31T00:00:00.000000Z");
    let before = "2026-12-30T23:59:59.999999Z";
    let after = "2026-12-31T00:00:00.000001Z";
    let owner = store.token_user("tokenhash", before).await.expect("read");
    assert_eq!(owner.map(|u| u.name), Some("alice".into()));
    assert!(
        store
            .token_user("tokenhash", after)
            .await
            .expect("read")
            .is_none(),
        "an expired token is no token"
    );
    assert!(store
        .token_user("other", before)
        .await
        .expect("read")
        .is_none());
    assert_eq!(store.tokens(alice.id).await.expect("list").len(), 1);
    assert!(
        matches!(
            store
                .revoke_token(&admin(), token.id, Some(alice.id + 1))
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "only the owner's token"
    );
    store
        .revoke_token(&admin(), token.id, Some(alice.id))
        .await
        .expect("revoke");
    assert!(store
        .token_user("tokenhash", before)
        .await
        .expect("read")
        .is_none());
    assert!(store.tokens(alice.id).await.expect("list").is_empty());
    assert_eq!(store.users().await.expect("list").len(), 1);
    assert_eq!(
        verified(store).await,
        3,
        "user creation, token creation and revocation are audited"
    );

    // Ending every session of a user, tokens on request; a new password
    // ends them all at once.
    let live = "2026-12-30T00:00:00.000000Z";
    let later = "2027-01-01T00:00:00.000000Z";
    for h in ["s1", "s2"] {
        store
            .create_session(alice.id, h, "c", later)
            .await
            .expect("session");
    }
    store
        .create_token(&admin(), alice.id, "t", "t1", later)
        .await
        .expect("token");
    assert_eq!(
        store
            .end_sessions(&admin(), alice.id, false)
            .await
            .expect("end"),
        0
    );
    for h in ["s1", "s2"] {
        assert!(store.session(h, live).await.expect("read").is_none(), "{h}");
    }
    assert!(store.token_user("t1", live).await.expect("read").is_some());
    store
        .create_session(alice.id, "s3", "c", later)
        .await
        .expect("session");
    store
        .set_password(&admin(), alice.id, "$argon2id$new", true)
        .await
        .expect("password");
    assert!(store.session("s3", live).await.expect("read").is_none());
    assert!(store.token_user("t1", live).await.expect("read").is_none());
    let creds = store
        .credentials("alice")
        .await
        .expect("read")
        .expect("alice");
    assert_eq!(creds.password_hash, "$argon2id$new");
    assert!(matches!(
        store.set_password(&admin(), 999_999, "x", false).await,
        Err(StoreError::NotFound { .. })
    ));
    // token, revocation of all, the password change
    assert_eq!(verified(store).await, 6);
}

/// Disabling a user ends what the user could do at once, enabling gives
/// back the login (not the tokens), a new role ends the old role's
/// sessions; the last admin is kept; and every change is proven.
pub async fn users_are_disabled_and_given_roles(store: &dyn Store, raw: &RawSql) {
    let boss = store
        .create_user(&admin(), "boss", Role::Admin, "$argon2id$b")
        .await
        .expect("admin");
    let rita = store
        .create_user(&admin(), "rita", Role::Reader, "$argon2id$r")
        .await
        .expect("reader");
    let (live, later) = ("2026-12-30T00:00:00.000000Z", "2027-01-01T00:00:00.000000Z");
    store
        .create_session(rita.id, "s1", "c", later)
        .await
        .expect("session");
    store
        .create_token(&admin(), rita.id, "t", "t1", later)
        .await
        .expect("token");
    assert!(!rita.disabled);

    let off = store
        .set_disabled(&Actor::user(&boss), rita.id, true)
        .await
        .expect("disable");
    assert!(off.disabled && off.name == "rita");
    assert!(store.session("s1", live).await.expect("read").is_none());
    assert!(store.token_user("t1", live).await.expect("read").is_none());
    assert!(store.tokens(rita.id).await.expect("tokens").is_empty());
    let creds = store
        .credentials("rita")
        .await
        .expect("read")
        .expect("rita");
    assert!(creds.user.disabled, "login sees the user is disabled");
    // A session made for a disabled user (as a login racing the disable
    // would) is refused all the same, and so is a token.
    store
        .create_session(rita.id, "s2", "c", later)
        .await
        .expect("session");
    store
        .create_token(&admin(), rita.id, "t", "t2", later)
        .await
        .expect("token");
    assert!(store.session("s2", live).await.expect("read").is_none());
    assert!(store.token_user("t2", live).await.expect("read").is_none());
    let listed = store.users().await.expect("users");
    let states: Vec<(&str, bool)> = listed
        .iter()
        .map(|u| (u.name.as_str(), u.disabled))
        .collect();
    assert_eq!(states, [("boss", false), ("rita", true)]);
    // Disabled again: nothing changes, nothing is recorded.
    let before = verified(store).await;
    store
        .set_disabled(&admin(), rita.id, true)
        .await
        .expect("again");
    assert_eq!(verified(store).await, before);

    // Enabled: the session made while disabled works again, as a login
    // would; the tokens revoked at the disable stay revoked.
    let on = store
        .set_disabled(&admin(), rita.id, false)
        .await
        .expect("enable");
    assert!(!on.disabled);
    assert!(store.session("s2", live).await.expect("read").is_some());
    assert!(store.token_user("t1", live).await.expect("read").is_none());

    // A new role ends the sessions and tokens of the old one.
    let made = store
        .set_role(&admin(), rita.id, Role::Adjudicator)
        .await
        .expect("role");
    assert_eq!(made.role, Role::Adjudicator);
    assert!(store.session("s2", live).await.expect("read").is_none());
    assert!(store.token_user("t2", live).await.expect("read").is_none());

    // The only admin who can log in is kept.
    for refused in [
        store.set_disabled(&admin(), boss.id, true).await,
        store.set_role(&admin(), boss.id, Role::Reader).await,
    ] {
        match refused {
            Err(StoreError::Invalid { message, .. }) => {
                assert!(message.contains("only admin"), "{message}")
            }
            other => panic!("the last admin taken away: {other:?}"),
        }
    }
    store
        .set_role(&admin(), rita.id, Role::Admin)
        .await
        .expect("a second admin");
    store
        .set_disabled(&admin(), boss.id, true)
        .await
        .expect("now boss can be disabled");
    for missing in [
        store.set_disabled(&admin(), 999_999, true).await,
        store.set_role(&admin(), 999_999, Role::Reader).await,
    ] {
        assert!(
            matches!(missing, Err(StoreError::NotFound { .. })),
            "{missing:?}"
        );
    }
    // The trail tells who did what.
    let events = store.audit_events(0, 1000).await.expect("events");
    let actions: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.entity == "user" && e.action != "create")
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("disable", "boss"),
            ("enable", "cli:test"),
            ("role", "cli:test"),
            ("role", "cli:test"),
            ("disable", "cli:test"),
        ]
    );
    verify_audit(store).await.expect("read").expect("intact");

    // A disabled user enabled in the database, behind sclerad's back.
    raw("DELETE FROM disabled_users WHERE user_id = (SELECT id FROM users WHERE name = 'boss')")
        .await;
    let (first, count) = row_failure(store).await;
    assert_eq!((first.table, count), ("disabled_users", 1), "{first}");
    assert!(first.reason.contains("deleted outside sclerad"), "{first}");
}

/// Import keeps every cell and reading; export gives the same tables.
pub async fn import_export_round_trip(store: &dyn Store) {
    let tables = sample_tables();
    let import = StudyImport::from_tables(&tables);
    let summary = store
        .import_study(&admin(), "nancy", &import)
        .await
        .expect("import");
    assert_eq!((summary.patients, summary.readings), (3, 6));
    let study = store.study("nancy").await.expect("read").expect("study");
    assert_eq!(study.columns, import.columns);
    let patients = store.patients(study.id).await.expect("patients");
    let readings = store.readings(study.id).await.expect("readings");
    let kinds: Vec<ReadingKind> = readings.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ReadingKind::Consensus)
            .count(),
        1
    );
    let back = to_tables(&study.columns, &patients, &readings);
    assert_eq!(sorted(back), sorted(tables.clone()));

    let p2 = store
        .patient(study.id, "P02")
        .await
        .expect("read")
        .expect("P02");
    assert_eq!(p2.ct.ct_levels.as_deref(), Some("t12-s1"));
    assert_eq!(
        p2.cells.get("centre_note").map(String::as_str),
        Some("épaule")
    );

    match store.import_study(&admin(), "nancy", &import).await {
        Err(StoreError::AlreadyExists { what }) => assert!(what.contains("nancy"), "{what}"),
        other => panic!("second import under the same name: {other:?}"),
    }
    assert_eq!(store.studies().await.expect("list").len(), 1);
    assert_eq!(verified(store).await, 1);
}

/// A study grows: new patients after its own, readings of new and of
/// existing patients; a study changed since the check, a reading it holds
/// or has assigned, a patient id it has, or other columns are refused
/// with nothing written.
pub async fn append_grows_a_study(store: &dyn Store) {
    let study = sample_study(store).await;
    let before = verified(store).await;
    let sample = sample_tables();
    let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let added = |patients: Vec<Vec<String>>, hand: Vec<Vec<String>>| TextTables {
        patients: TextTable {
            columns: sample.patients.columns.clone(),
            rows: patients,
        },
        hand_readings: Some(TextTable {
            columns: sample.hand_readings.as_ref().expect("hand").columns.clone(),
            rows: hand,
        }),
        spine_readings: Some(TextTable {
            columns: sample
                .spine_readings
                .as_ref()
                .expect("spine")
                .columns
                .clone(),
            rows: Vec::new(),
        }),
    };
    let p04 = row(&[
        "P04",
        "male",
        "70",
        "dcssc",
        "2018-01-02",
        "2018-02-03",
        "thoracic",
        "",
        "no",
        "",
    ]);
    let tables = added(
        vec![p04.clone()],
        vec![
            row(&["P04", "ana", "left", "tuft_d3", "calcinosis", "1", ""]),
            row(&["P03", "ben", "", "", "none", "", ""]),
        ],
    );
    let summary = store
        .append_to_study(&admin(), "s", &StudyImport::from_tables(&tables), 3)
        .await
        .expect("append");
    assert_eq!((summary.patients, summary.readings), (1, 2));
    let patients = store.patients(study.id).await.expect("patients");
    let ids: Vec<&str> = patients.iter().map(|p| p.patient_id.as_str()).collect();
    assert_eq!(ids, ["P01", "P02", "P03", "P04"], "after the study's own");
    let readings = store.readings(study.id).await.expect("readings");
    let back = to_tables(&study.columns, &patients, &readings);
    let mut expected = sample.clone();
    expected.patients.rows.push(p04.clone());
    expected
        .hand_readings
        .as_mut()
        .expect("hand")
        .rows
        .extend(tables.hand_readings.clone().expect("hand").rows);
    assert_eq!(sorted(back), sorted(expected));
    assert_eq!(verified(store).await, before + 1, "one append event");
    let appended = store
        .audit_events(0, 10_000)
        .await
        .expect("trail")
        .into_iter()
        .filter(|e| e.action == "append")
        .count();
    assert_eq!(appended, 1);

    let refused = |what: &str, result: sclerad_store::StoreResult<sclerad_store::ImportSummary>| {
        let n = patients.len();
        let what = what.to_string();
        async move {
            let now = store.patients(study.id).await.expect("patients").len();
            assert_eq!(now, n, "{what}: nothing written");
            result
        }
    };
    let p05 = row(&["P05", "female", "50", "lcssc", "", "", "", "", "", ""]);
    // Checked when the study had 3 patients: it has 4 now.
    let late = added(vec![p05.clone()], Vec::new());
    let result = store
        .append_to_study(&admin(), "s", &StudyImport::from_tables(&late), 3)
        .await;
    match refused("a stale check", result).await {
        Err(StoreError::Conflict {
            expected: 3,
            current: 4,
            ..
        }) => {}
        other => panic!("a stale check: {other:?}"),
    }
    // ana's reading of P01 is in the study.
    let again = added(
        vec![p05.clone()],
        vec![row(&["P01", "ana", "", "", "none", "", ""])],
    );
    let result = store
        .append_to_study(&admin(), "s", &StudyImport::from_tables(&again), 4)
        .await;
    match refused("a reading held", result).await {
        Err(StoreError::Invalid { field, message }) => {
            assert_eq!(field, "reader");
            assert!(
                message.contains("ana") && message.contains("P01"),
                "{message}"
            );
        }
        other => panic!("a reading held: {other:?}"),
    }
    // An assigned, unread reading counts as held.
    let reader = store
        .create_user(&admin(), "rx-cy", Role::Reader, "h")
        .await
        .expect("reader");
    let p04_exam = patients[3].hand_radiograph.id;
    store
        .create_assignments(
            &admin(),
            study.id,
            &[sclerad_store::NewAssignment {
                exam_id: p04_exam,
                reader_id: reader.id,
                code: "APPEND-1".into(),
                position: 0,
                kind: ReadingKind::Primary,
            }],
        )
        .await
        .expect("assign");
    let assigned = added(
        Vec::new(),
        vec![row(&["P04", "rx-cy", "", "", "none", "", ""])],
    );
    let result = store
        .append_to_study(&admin(), "s", &StudyImport::from_tables(&assigned), 4)
        .await;
    assert!(
        matches!(
            refused("an assigned reading", result).await,
            Err(StoreError::Invalid { .. })
        ),
        "an assigned reading"
    );
    // A patient id the study has.
    let twice = added(vec![p04.clone()], Vec::new());
    let result = store
        .append_to_study(&admin(), "s", &StudyImport::from_tables(&twice), 4)
        .await;
    match refused("a patient held", result).await {
        Err(StoreError::AlreadyExists { what }) => assert!(what.contains("\"s\""), "{what}"),
        other => panic!("a patient held: {other:?}"),
    }
    // Columns other than the study's.
    let mut other = added(vec![p05.clone()], Vec::new());
    other.patients.columns[9] = "centre".into();
    let result = store
        .append_to_study(&admin(), "s", &StudyImport::from_tables(&other), 4)
        .await;
    assert!(
        matches!(
            refused("other columns", result).await,
            Err(StoreError::Invalid { .. })
        ),
        "other columns"
    );
    assert!(matches!(
        store
            .append_to_study(&admin(), "nope", &StudyImport::from_tables(&late), 0)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // And a valid one still goes in after the refusals.
    store
        .append_to_study(&admin(), "s", &StudyImport::from_tables(&late), 4)
        .await
        .expect("append P05");
    let patients = store.patients(study.id).await.expect("patients");
    assert_eq!(patients.last().map(|p| p.patient_id.as_str()), Some("P05"));
    verified(store).await;
}

/// Worklists over chosen patients, grown later by the patients not on
/// them yet, and each reader's progress.
pub async fn worklists_grow_with_chosen_patients(store: &dyn Store) {
    let study = sample_study(store).await;
    let mut ids = Vec::new();
    for name in ["rx-a", "rx-b"] {
        ids.push(
            store
                .create_user(&admin(), name, Role::Reader, "h")
                .await
                .expect("reader"),
        );
    }
    let readers = vec!["rx-a".to_string(), "rx-b".to_string()];
    let request = |patients: Option<&[&str]>, skip_assigned: bool| blinding::WorklistRequest {
        readers: readers.clone(),
        exams: blinding::ExamChoice::HandRadiograph,
        repeat_share: 0.0,
        patients: patients.map(|p| p.iter().map(|s| s.to_string()).collect()),
        skip_assigned,
    };
    let progress = || async {
        blinding::progress(store, study.id)
            .await
            .expect("progress")
            .into_iter()
            .map(|p| (p.reader, p.assigned, p.read, p.repeats))
            .collect::<Vec<_>>()
    };
    let two = request(Some(&["P01", "P02"]), false);
    assert_eq!(
        blinding::assign(store, &admin(), study.id, &two)
            .await
            .expect("assign"),
        4
    );
    assert_eq!(
        progress().await,
        [("rx-a".into(), 2, 0, 0), ("rx-b".into(), 2, 0, 0)]
    );
    // The same exams again: refused, nothing assigned.
    assert!(matches!(
        blinding::assign(store, &admin(), study.id, &two).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    // Every patient, leaving out what each reader has: P03 only.
    let grow = request(None, true);
    assert_eq!(
        blinding::assign(store, &admin(), study.id, &grow)
            .await
            .expect("grow"),
        2
    );
    assert_eq!(
        blinding::assign(store, &admin(), study.id, &grow)
            .await
            .expect("again"),
        0,
        "nothing left to add"
    );
    let list = store.worklist(ids[0].id).await.expect("worklist");
    assert_eq!(list.len(), 3);
    assert_eq!(
        list.iter().map(|w| w.position).collect::<Vec<_>>(),
        [0, 1, 2],
        "the new exam after the list"
    );
    let saved = store
        .save_reading(
            &Actor::user(&ids[0]),
            ids[0].id,
            &list[2].code,
            &[hand("left", "tuft_d1", "calcinosis", None)],
            0,
        )
        .await
        .expect("save");
    assert_eq!(saved.version, 1);
    assert_eq!(
        progress().await,
        [("rx-a".into(), 3, 1, 0), ("rx-b".into(), 3, 0, 0)]
    );
    match blinding::assign(
        store,
        &admin(),
        study.id,
        &request(Some(&["P01", "P77"]), true),
    )
    .await
    {
        Err(StoreError::Invalid { field, message }) => {
            assert_eq!(field, "patients[1]");
            assert!(message.contains("P77"), "{message}");
        }
        other => panic!("an unknown patient: {other:?}"),
    }
    verified(store).await;
}

/// A failing import leaves nothing behind.
pub async fn failed_import_writes_nothing(store: &dyn Store) {
    // A reading of a patient the study does not have: refused at the end,
    // after the study, its patients and exams were inserted.
    let mut tables = sample_tables();
    let hand = tables.hand_readings.as_mut().expect("hand readings");
    let mut stray = hand.rows[0].clone();
    stray[0] = "P99".into();
    hand.rows.push(stray);
    let import = StudyImport::from_tables(&tables);
    let result = store.import_study(&admin(), "broken", &import).await;
    assert!(
        matches!(result, Err(StoreError::Invalid { .. })),
        "{result:?}"
    );
    assert!(store.study("broken").await.expect("read").is_none());
    assert!(store.studies().await.expect("list").is_empty());
    assert_eq!(verified(store).await, 0, "no event for a refused import");
}

/// Optimistic locking of patient edits.
pub async fn patient_edits_are_versioned(store: &dyn Store) {
    let study = sample_study(store).await;
    let mut p = store
        .patient(study.id, "P01")
        .await
        .expect("read")
        .expect("P01");
    assert_eq!(p.version, 1);
    p.cells.insert("death".into(), "yes".into());
    p.ct.ct_levels = Some("c1-l2".into());
    let saved = store
        .update_patient(&admin(), study.id, &p, 1)
        .await
        .expect("first edit");
    assert_eq!(saved.version, 2);
    assert_eq!(saved.ct.ct_levels.as_deref(), Some("c1-l2"));

    // A CT type on the hand radiograph has nowhere to go: it is not kept.
    let mut odd = saved.clone();
    odd.hand_radiograph.ct_type = Some("thoracic".into());
    let odd = store
        .update_patient(&admin(), study.id, &odd, 2)
        .await
        .expect("edit");
    assert_eq!(odd.hand_radiograph.ct_type, None);
    assert_eq!(odd.ct.ct_levels.as_deref(), Some("c1-l2"));

    let mut stale = p.clone();
    stale.cells.insert("death".into(), "no".into());
    match store.update_patient(&admin(), study.id, &stale, 1).await {
        Err(StoreError::Conflict {
            expected: 1,
            current: 3,
            ..
        }) => {}
        other => panic!("stale edit: {other:?}"),
    }
    let now = store
        .patient(study.id, "P01")
        .await
        .expect("read")
        .expect("P01");
    assert_eq!(
        now.cells.get("death").map(String::as_str),
        Some("yes"),
        "no lost update"
    );

    let mut ghost = p.clone();
    ghost.patient_id = "P77".into();
    assert!(matches!(
        store.update_patient(&admin(), study.id, &ghost, 1).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(verified(store).await, 3);
}

/// The sample bundle imported as study `s`.
async fn sample_study(store: &dyn Store) -> Study {
    let tables = sample_tables();
    let import = StudyImport::from_tables(&tables);
    store
        .import_study(&admin(), "s", &import)
        .await
        .expect("import")
        .study
}

fn cells(pairs: &[(&str, &str)]) -> Cells {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A hand finding at `site`.
fn hand(side: &str, site: &str, lesion: &str, grade: Option<u8>) -> Finding {
    Finding {
        side: Some(side.into()),
        site: Some(site.into()),
        lesion: Some(lesion.into()),
        grade,
        ..Finding::default()
    }
}

/// A spine finding at `level`.
fn spine(level: &str, segment: &str) -> Finding {
    Finding {
        level: Some(level.into()),
        segment: Some(segment.into()),
        ..Finding::default()
    }
}

/// Assignments, worklists, blinded saves and consensus.
pub async fn blinded_reading_workflow(store: &dyn Store) {
    let study = sample_study(store).await;
    let ana = store
        .create_user(&admin(), "rx-ana", Role::Reader, "h")
        .await
        .expect("reader");
    let ben = store
        .create_user(&admin(), "rx-ben", Role::Reader, "h")
        .await
        .expect("reader");
    let analyst = store
        .create_user(&admin(), "stat", Role::Analyst, "h")
        .await
        .expect("analyst");
    let patients = store.patients(study.id).await.expect("patients");
    let exams: Vec<(i64, char)> = patients
        .iter()
        .map(|p| (p.hand_radiograph.id, 'H'))
        .collect();
    let mut rng = blinding::Shuffler::new(11);
    let plan = blinding::plan(
        &exams,
        &[ana.id, ben.id],
        0.34,
        &Default::default(),
        &mut rng,
    )
    .expect("plan");
    let n = store
        .create_assignments(&admin(), study.id, &plan)
        .await
        .expect("assign");
    assert_eq!(n, 8, "3 exams + 1 repeat for each of two readers");

    let bad =
        blinding::plan(&exams, &[analyst.id], 0.0, &Default::default(), &mut rng).expect("plan");
    assert!(
        matches!(
            store.create_assignments(&admin(), study.id, &bad).await,
            Err(StoreError::Invalid { .. })
        ),
        "only readers get worklists"
    );
    let again =
        blinding::plan(&exams, &[ana.id], 0.0, &Default::default(), &mut rng).expect("plan");
    assert!(
        matches!(
            store.create_assignments(&admin(), study.id, &again).await,
            Err(StoreError::AlreadyExists { .. })
        ),
        "an exam is assigned once per reader and kind"
    );

    let list = store.worklist(ana.id).await.expect("worklist");
    assert_eq!(list.len(), 4);
    assert!(list.windows(2).all(|w| w[0].position < w[1].position));
    assert!(list.iter().all(|w| w.findings.is_none() && w.version == 0));
    assert!(list.iter().all(|w| w.modality == Modality::HandRadiograph));

    let code = list[0].code.clone();
    let seen = vec![hand("Left", "TUFT_D1", "calcinosis", None)];
    let saved = store
        .save_reading(&Actor::user(&ana), ana.id, &code, &seen, 0)
        .await
        .expect("save");
    assert_eq!(saved.version, 1);
    let canonical = vec![cells(&[
        ("side", "left"),
        ("site", "tuft_d1"),
        ("lesion", "calcinosis"),
    ])];
    assert_eq!(
        saved.findings.as_ref(),
        Some(&canonical),
        "stored as the format's canonical cells"
    );
    // The format's rules, checked inside the save: nothing is written.
    let misplaced = vec![hand("left", "wrist", "acro_osteolysis", None)];
    match store
        .save_reading(&Actor::user(&ana), ana.id, &code, &misplaced, 1)
        .await
    {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "findings[0].site"),
        other => panic!("acro-osteolysis at the wrist: {other:?}"),
    }
    let ct_finding = vec![spine("l4", "canal")];
    assert!(
        matches!(
            store
                .save_reading(&Actor::user(&ana), ana.id, &code, &ct_finding, 1)
                .await,
            Err(StoreError::Invalid { .. })
        ),
        "a CT finding on a hand radiograph"
    );
    match store
        .save_reading(&Actor::user(&ana), ana.id, &code, &[], 0)
        .await
    {
        Err(StoreError::Conflict { current: 1, .. }) => {}
        other => panic!("stale save: {other:?}"),
    }
    assert!(
        matches!(
            store
                .save_reading(&Actor::user(&ben), ben.id, &code, &seen, 0)
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "a reader cannot reach another reader's code"
    );

    // Saves that all start from version 0: only the first lands.
    let code2 = list[1].code.clone();
    let mut outcomes = Vec::new();
    for i in 0..8 {
        let f = vec![hand("right", "tuft_d2", "calcinosis", Some(i % 4))];
        outcomes.push(
            store
                .save_reading(&Actor::user(&ana), ana.id, &code2, &f, 0)
                .await,
        );
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);

    let exam = patients[0].hand_radiograph.id;
    let agreed = vec![hand("left", "tuft_d1", "calcinosis", None)];
    let c = store
        .save_consensus(&admin(), study.id, exam, &agreed, 0)
        .await
        .expect("consensus");
    assert_eq!(
        (c.reader.as_str(), c.kind, c.version),
        ("consensus", ReadingKind::Consensus, 1)
    );
    assert!(matches!(
        store
            .save_consensus(&admin(), study.id, exam, &agreed, 0)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store
            .save_consensus(&admin(), study.id, exam, &[spine("t4", "canal")], 1)
            .await,
        Err(StoreError::Invalid { .. })
    ));
    let c2 = store
        .save_consensus(&admin(), study.id, exam, &[], 1)
        .await
        .expect("second consensus");
    assert_eq!(c2.version, 2);
    assert!(matches!(
        store
            .save_consensus(&admin(), study.id, 999_999, &agreed, 0)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        matches!(
            store
                .save_consensus(&admin(), study.id + 1, exam, &agreed, 0)
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "an exam of another study"
    );

    let readings = store.readings(study.id).await.expect("readings");
    let repeats = readings
        .iter()
        .filter(|r| r.kind == ReadingKind::Repeat)
        .count();
    assert_eq!(repeats, 2);
    // import, 3 users, assign, save, save, consensus ×2
    assert_eq!(verified(store).await, 9);
}

/// Many writers at once on one record: every save either lands on the
/// version it read or is refused; the final version counts the landings.
pub async fn concurrent_writers_lose_nothing(store: Arc<dyn Store>) {
    let study = sample_study(store.as_ref()).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut landed = 0;
            for _ in 0..5 {
                let Ok(Some(mut p)) = store.patient(study.id, "P01").await else {
                    panic!("patient read failed")
                };
                let version = p.version;
                let count: i64 = p
                    .cells
                    .get("edits")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                p.cells.insert("edits".into(), (count + 1).to_string());
                p.cells.insert(format!("writer_{i}"), "x".into());
                match store.update_patient(&admin(), study.id, &p, version).await {
                    Ok(_) => landed += 1,
                    Err(StoreError::Conflict { .. }) => {}
                    Err(e) => panic!("writer {i}: {e}"),
                }
            }
            landed
        }));
    }
    let mut landed = 0;
    for t in tasks {
        landed += t.await.expect("writer task");
    }
    let p = store
        .patient(study.id, "P01")
        .await
        .expect("read")
        .expect("P01");
    assert!(landed >= 1);
    assert_eq!(
        p.version,
        1 + landed,
        "every landed edit bumped the version once"
    );
    assert_eq!(
        p.cells.get("edits").map(String::as_str),
        Some(landed.to_string().as_str()),
        "each landed edit saw the previous one: no lost update"
    );
    assert_eq!(verified(store.as_ref()).await, 1 + landed);
}

/// Patient edits and consensus saves on the same patient at once: each
/// either lands or is refused as a conflict, never fails in the database
/// (no deadlock between the patient, exam and reading rows).
pub async fn edits_and_consensus_never_deadlock(store: Arc<dyn Store>) {
    let study = sample_study(store.as_ref()).await;
    let p = store
        .patient(study.id, "P02")
        .await
        .expect("read")
        .expect("P02");
    let ct = p.ct.id;
    let editor = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for i in 0..25 {
                let Ok(Some(mut p)) = store.patient(study.id, "P02").await else {
                    panic!("read failed")
                };
                let version = p.version;
                p.cells.insert("age_years".into(), format!("{}", 40 + i));
                match store.update_patient(&admin(), study.id, &p, version).await {
                    Ok(_) | Err(StoreError::Conflict { .. }) => {}
                    Err(e) => panic!("patient edit failed: {e}"),
                }
            }
        })
    };
    let adjudicator = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut version = 0;
            for i in 0..25 {
                let segment = ["anterior", "canal", "posterior"][i % 3];
                let f = vec![spine("l4", segment)];
                match store
                    .save_consensus(&admin(), study.id, ct, &f, version)
                    .await
                {
                    Ok(r) => version = r.version,
                    Err(StoreError::Conflict { current, .. }) => version = current,
                    Err(e) => panic!("consensus failed: {e}"),
                }
            }
        })
    };
    editor.await.expect("editor");
    adjudicator.await.expect("adjudicator");
    verified(store.as_ref()).await;
}

/// Readers saving at once (their saves share transactions): each save of
/// a distinct exam lands; of many saves of one exam from the same version,
/// exactly one lands; every landed save is audited once.
pub async fn concurrent_saves_land_once(store: Arc<dyn Store>) {
    let study = sample_study(store.as_ref()).await;
    let reader = store
        .create_user(&admin(), "rx", Role::Reader, "h")
        .await
        .expect("reader");
    let patients = store.patients(study.id).await.expect("patients");
    let exams: Vec<(i64, char)> = patients
        .iter()
        .flat_map(|p| [(p.hand_radiograph.id, 'H'), (p.ct.id, 'C')])
        .collect();
    let plan = blinding::plan(
        &exams,
        &[reader.id],
        0.0,
        &Default::default(),
        &mut blinding::Shuffler::new(5),
    )
    .expect("plan");
    store
        .create_assignments(&admin(), study.id, &plan)
        .await
        .expect("assign");
    let mut tasks = tokio::task::JoinSet::new();
    for (i, a) in plan.iter().enumerate() {
        // Eight saves of the first exam, one of each of the others.
        let copies = if i == 0 { 8 } else { 1 };
        for _ in 0..copies {
            let store = Arc::clone(&store);
            let code = a.code.clone();
            let actor = Actor::user(&reader);
            // Nothing found; the copies of one save differ only in when
            // they arrive.
            let f: Vec<Finding> = Vec::new();
            tasks.spawn(
                async move { (i, store.save_reading(&actor, reader.id, &code, &f, 0).await) },
            );
        }
    }
    let outcomes = tasks.join_all().await;
    let landed = |i: usize| {
        outcomes
            .iter()
            .filter(|(j, r)| *j == i && r.is_ok())
            .count()
    };
    assert_eq!(landed(0), 1, "one of the eight saves of one exam");
    assert!(
        outcomes
            .iter()
            .filter(|(j, r)| *j == 0 && r.is_err())
            .all(|(_, r)| matches!(r, Err(StoreError::Conflict { current: 1, .. }))),
        "{outcomes:?}"
    );
    for i in 1..plan.len() {
        assert_eq!(landed(i), 1, "exam {i}");
    }
    let list = store.worklist(reader.id).await.expect("worklist");
    assert!(list.iter().all(|w| w.version == 1 && w.findings.is_some()));
    // import, user, assign, then one event per landed save.
    assert_eq!(verified(store.as_ref()).await, 3 + plan.len() as i64);
}

/// Runs SQL on the store's database past its interface (a connection of
/// the test's own), as someone with the file or a database login would.
pub type RawSql = dyn Fn(&'static str) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    + Send
    + Sync;

async fn row_failure(store: &dyn Store) -> (sclerad_store::RowMismatch, u64) {
    match verify_audit(store).await.expect("read") {
        Err(sclerad_store::AuditFailure::Rows { first, count }) => (first, count),
        other => panic!("expected a row mismatch, got {other:?}"),
    }
}

/// Direct edits of the data tables (a user's role, a patient's cells, a
/// consensus reading, an added row, a deleted row) fail verification, which
/// names the first row that differs; undoing the edit makes it pass again.
pub async fn direct_edits_are_named(store: &dyn Store, raw: &RawSql) {
    let rita = store
        .create_user(&admin(), "rita", Role::Reader, "$argon2id$hash")
        .await
        .expect("user");
    let tables = sample_tables();
    let import = StudyImport::from_tables(&tables);
    let summary = store
        .import_study(&admin(), "s", &import)
        .await
        .expect("import");
    let exams = store.patients(summary.study.id).await.expect("patients");
    let exam_id = exams[0].hand_radiograph.id;
    let consensus = store
        .readings(summary.study.id)
        .await
        .expect("readings")
        .into_iter()
        .find(|r| r.kind == ReadingKind::Consensus && r.exam_id == exam_id)
        .map_or(0, |r| r.version);
    store
        .save_consensus(
            &Actor::user(&rita),
            summary.study.id,
            exam_id,
            &[],
            consensus,
        )
        .await
        .expect("consensus");
    let proved = verify_audit(store).await.expect("read").expect("intact");
    assert!(proved.rows >= 1 + 1 + 3 + 6, "{proved:?}");

    // A reader made admin in the database.
    raw("UPDATE users SET role = 'admin' WHERE name = 'rita'").await;
    let (first, count) = row_failure(store).await;
    assert_eq!((first.table, first.id, count), ("users", rita.id, 1));
    assert!(
        first.to_string().contains("(name \"rita\")")
            && first.reason.contains("changed outside sclerad"),
        "{first}"
    );
    raw("UPDATE users SET role = 'reader' WHERE name = 'rita'").await;
    assert_eq!(verify_audit(store).await.expect("read"), Ok(proved));

    // A patient's sex and the consensus reading, changed and put back.
    raw("CREATE TABLE saved_patients AS SELECT id, cells FROM patients").await;
    raw("CREATE TABLE saved_readings AS SELECT id, findings FROM readings").await;
    raw("UPDATE patients SET cells = replace(cells, 'female', 'male') WHERE patient_id = 'P03'")
        .await;
    raw("UPDATE readings SET findings = NULL WHERE kind = 'consensus'").await;
    let (first, count) = row_failure(store).await;
    // One patient, and the consensus readings of both exams that have one.
    assert_eq!((first.table, count), ("patients", 3), "{first}");
    assert!(first.named.contains("\"P03\""), "{first}");
    raw(
        "UPDATE patients SET cells = (SELECT cells FROM saved_patients s WHERE s.id = patients.id)",
    )
    .await;
    let (first, count) = row_failure(store).await;
    assert_eq!((first.table, count), ("readings", 2), "{first}");
    assert!(first.named.contains("consensus"), "{first}");
    raw("UPDATE readings SET findings = (SELECT findings FROM saved_readings s WHERE s.id = readings.id)")
        .await;
    assert_eq!(verify_audit(store).await.expect("read"), Ok(proved));

    // A user added behind the store's back, then a reading deleted.
    raw("INSERT INTO users (name, role, password_hash, created_at) VALUES ('mallory', 'admin', 'x', 't')")
        .await;
    let (first, _) = row_failure(store).await;
    assert!(first.reason.contains("not in the audit trail"), "{first}");
    raw("DELETE FROM users WHERE name = 'mallory'").await;
    assert_eq!(verify_audit(store).await.expect("read"), Ok(proved));
    raw("DELETE FROM readings WHERE kind = 'imported' AND id = (SELECT MAX(id) FROM readings WHERE kind = 'imported')")
        .await;
    let (first, count) = row_failure(store).await;
    assert_eq!((first.table, count), ("readings", 1), "{first}");
    assert!(first.reason.contains("deleted outside sclerad"), "{first}");
}

/// A run of the analysis is kept with its archives and proven: listed
/// newest first, its archives read back byte for byte, an `analyse` event on
/// the study; an edited run row fails verification, naming it; a run of a
/// study that does not exist is refused.
pub async fn analysis_runs_are_kept_and_proven(store: &dyn Store, raw: &RawSql) {
    use sclerad_store::{NewAnalysisRun, RunArchive};
    let study = sample_study(store).await;
    let run = |n: u8| NewAnalysisRun {
        settings: format!("conf_level = 0.9{n}\n"),
        software_version: "0.1.0".into(),
        input_sha256: format!("{n:064}"),
        results_sha256: "r".repeat(64),
        patients: 4,
        input: vec![n; 1000],
        outputs: (0..=255).collect(),
    };
    let first = store
        .save_analysis_run(&admin(), study.id, run(1))
        .await
        .expect("first run");
    let second = store
        .save_analysis_run(&admin(), study.id, run(2))
        .await
        .expect("second run");
    assert_eq!(first.actor, "cli:test");
    assert_eq!(first.patients, 4);
    assert_eq!(first.settings, "conf_level = 0.91\n");
    let listed = store.analysis_runs(study.id).await.expect("runs");
    assert_eq!(listed, vec![second.clone(), first.clone()], "newest first");
    assert_eq!(
        store.analysis_run(first.id).await.expect("run"),
        Some(first.clone())
    );
    assert_eq!(store.analysis_run(first.id + 100).await.expect("run"), None);
    let input = store
        .analysis_run_archive(first.id, RunArchive::Input)
        .await
        .expect("input");
    assert_eq!(input, Some(vec![1; 1000]));
    let outputs = store
        .analysis_run_archive(second.id, RunArchive::Outputs)
        .await
        .expect("outputs")
        .expect("kept");
    assert_eq!(outputs, (0..=255).collect::<Vec<u8>>());
    assert_eq!(
        first.outputs_sha256,
        sclerad_model::hex(&<sha2::Sha256 as sha2::Digest>::digest(&outputs))
    );
    let events = store.audit_events(0, 1000).await.expect("events");
    let analysed: Vec<_> = events.iter().filter(|e| e.action == "analyse").collect();
    assert_eq!(analysed.len(), 2);
    assert_eq!(analysed[0].entity, "study");
    assert!(
        analysed[0]
            .after
            .as_deref()
            .is_some_and(|a| a.contains(&first.input_sha256)),
        "{:?}",
        analysed[0]
    );
    let proved = verify_audit(store).await.expect("read").expect("intact");
    raw("UPDATE analysis_runs SET results_sha256 = 'forged' WHERE id = (SELECT MIN(id) FROM analysis_runs)")
        .await;
    let (row, count) = row_failure(store).await;
    assert_eq!((row.table, row.id, count), ("analysis_runs", first.id, 1));
    raw("UPDATE analysis_runs SET results_sha256 = (SELECT results_sha256 FROM analysis_runs WHERE id = (SELECT MAX(id) FROM analysis_runs))")
        .await;
    assert_eq!(verify_audit(store).await.expect("read"), Ok(proved));
    let missing = store
        .save_analysis_run(&admin(), study.id + 100, run(3))
        .await
        .expect_err("no such study");
    assert!(
        matches!(missing, StoreError::NotFound { .. }),
        "{missing:?}"
    );
    assert_eq!(store.analysis_runs(study.id).await.expect("runs").len(), 2);
}

fn new_image(
    exam_id: i64,
    uid: &str,
    position: Option<f64>,
    data: &[u8],
) -> sclerad_store::NewImage {
    sclerad_store::NewImage {
        exam_id,
        sop_instance_uid: uid.into(),
        series_uid: "2.25.9".into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        modality: "CT".into(),
        instance_number: Some(1),
        position,
        rows: 2,
        columns: 2,
        frames: 1,
        overridden: None,
        date_gap_days: Some(-3),
        body_part: Some("CHEST".into()),
        data: data.to_vec(),
    }
}

/// Feeds `images` (then the end, unless `end` is false) to an import.
async fn feed_images(
    store: &dyn Store,
    study_id: i64,
    images: Vec<sclerad_store::NewImage>,
    end: bool,
) -> sclerad_store::StoreResult<sclerad_store::ImageImportSummary> {
    use sclerad_store::{ImageFeed, ImageTally};
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let producer = tokio::spawn(async move {
        for image in images {
            if tx.send(ImageFeed::Image(image)).await.is_err() {
                return;
            }
        }
        if end {
            let tally = ImageTally {
                quarantined: 1,
                refused: 0,
                skipped: 2,
            };
            let _ = tx.send(ImageFeed::End(tally)).await;
        }
    });
    let result = store.import_images(&admin(), study_id, rx).await;
    producer.await.expect("producer");
    result
}

/// Images: a secret per study, stored once and audited; instances stored
/// with their exam, an import run again storing nothing twice, a UID
/// with other bytes refused, an interrupted import storing nothing, an
/// exam's slices in position order, and the bytes proven by the trail.
pub async fn images_are_stored_once_and_proven(store: &dyn Store, raw: &RawSql) {
    use sclerad_store::ImageStored;
    let study = sample_study(store).await;
    let secret = store
        .image_secret(&admin(), study.id)
        .await
        .expect("secret");
    assert_eq!(
        store.image_secret(&admin(), study.id).await.expect("again"),
        secret,
        "one secret per study"
    );
    assert!(matches!(
        store.image_secret(&admin(), study.id + 100).await,
        Err(StoreError::NotFound { .. })
    ));
    let patients = store.patients(study.id).await.expect("patients");
    let ct = patients[0].ct.id;
    let hand = patients[1].hand_radiograph.id;
    let first = vec![
        new_image(ct, "2.25.1", Some(12.5), b"slice at 12.5"),
        new_image(ct, "2.25.2", Some(-3.0), b"slice at -3"),
        new_image(hand, "2.25.3", None, b"radiograph"),
    ];
    let summary = feed_images(store, study.id, first.clone(), true)
        .await
        .expect("import");
    assert_eq!((summary.stored, summary.unchanged), (3, 0));
    assert!(summary
        .results
        .iter()
        .all(|r| matches!(r, ImageStored::New(_))));
    let again = feed_images(store, study.id, first.clone(), true)
        .await
        .expect("again");
    assert_eq!((again.stored, again.unchanged), (0, 3), "{again:?}");
    assert_eq!(again.digest, summary.digest, "same instances, same digest");
    let changed = feed_images(
        store,
        study.id,
        vec![new_image(ct, "2.25.1", Some(12.5), b"other bytes")],
        true,
    )
    .await
    .expect("import");
    assert!(
        matches!(&changed.results[..], [ImageStored::Refused(why)] if why.contains("other content")),
        "{changed:?}"
    );
    // Interrupted (no end) and a foreign exam: nothing stored.
    let interrupted = feed_images(
        store,
        study.id,
        vec![new_image(ct, "2.25.4", Some(0.0), b"new")],
        false,
    )
    .await;
    assert!(
        matches!(&interrupted, Err(StoreError::Invalid { message, .. }) if message.contains("interrupted")),
        "{interrupted:?}"
    );
    let foreign = feed_images(
        store,
        study.id,
        vec![new_image(ct + 1000, "2.25.5", None, b"x")],
        true,
    )
    .await;
    assert!(
        matches!(foreign, Err(StoreError::Invalid { .. })),
        "{foreign:?}"
    );
    let slices = store.exam_images(ct).await.expect("exam images");
    let uids: Vec<&str> = slices.iter().map(|i| i.sop_instance_uid.as_str()).collect();
    assert_eq!(uids, ["2.25.2", "2.25.1"], "ordered by position");
    assert_eq!(slices[1].position, Some(12.5));
    assert_eq!(slices[1].bytes, 13);
    assert_eq!(
        store
            .image_data(slices[1].id)
            .await
            .expect("data")
            .as_deref(),
        Some(&b"slice at 12.5"[..])
    );
    assert_eq!(store.image_data(-1).await.expect("none"), None);
    let all = store.images_after(study.id, 0, 2).await.expect("page");
    assert_eq!(all.len(), 2);
    let rest = store
        .images_after(study.id, all[1].id, 10)
        .await
        .expect("page");
    assert_eq!(rest.len(), 1);
    // Secret, three imports (and their digests) proven; the bytes too.
    let imports = store
        .audit_events(0, 10_000)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.entity == "images" && e.action == "import")
        .count();
    assert_eq!(imports, 3);
    let events = store.audit_events(0, 10_000).await.expect("events");
    assert!(
        events
            .iter()
            .all(|e| !e.after.as_deref().unwrap_or("").contains(&secret.to_hex())),
        "no event carries the secret"
    );
    verify_audit(store).await.expect("read").expect("intact");
    raw(
        "UPDATE images SET data = (SELECT data FROM images WHERE sop_instance_uid = '2.25.1') \
         WHERE sop_instance_uid = '2.25.3'",
    )
    .await;
    let (first, count) = row_failure(store).await;
    assert_eq!((first.table, count), ("images", 1), "{first}");
    assert!(first.reason.contains("DICOM bytes"), "{first}");
    raw("DELETE FROM images WHERE sop_instance_uid = '2.25.3'").await;
    let (first, _) = row_failure(store).await;
    assert!(first.reason.contains("deleted outside sclerad"), "{first}");
}

/// The audit search: newest first, each filter field exact, `from` and
/// `until` bounding the time, paging back by `before`, and records cut to
/// a bounded length.
pub async fn audit_search_filters_and_pages(store: &dyn Store) {
    use sclerad_store::AuditFilter;
    let boss = store
        .create_user(&admin(), "boss", Role::Admin, "$argon2id$b")
        .await
        .expect("admin");
    let mut made = Vec::new();
    for name in ["rita", "rolf", "ruth"] {
        made.push(
            store
                .create_user(&Actor::user(&boss), name, Role::Reader, "$argon2id$r")
                .await
                .expect("reader"),
        );
    }
    store
        .set_disabled(&Actor::user(&boss), made[1].id, true)
        .await
        .expect("disable");
    let all = store
        .audit_search(&AuditFilter::default(), None, 100)
        .await
        .expect("search");
    let whole = store.audit_events(0, 100).await.expect("events");
    assert_eq!(all.len(), whole.len());
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    let mut newest_first: Vec<i64> = whole.iter().map(|e| e.seq).collect();
    newest_first.reverse();
    assert_eq!(seqs, newest_first, "newest first");

    let by_boss = AuditFilter {
        actor: Some("boss".into()),
        action: Some("create".into()),
        entity: Some("user".into()),
        ..AuditFilter::default()
    };
    let created = store
        .audit_search(&by_boss, None, 100)
        .await
        .expect("search");
    assert_eq!(created.len(), 3, "{created:?}");
    assert!(created
        .iter()
        .all(|e| e.actor == "boss" && e.action == "create"));
    // Paged back: two, then the one before them.
    let first = store.audit_search(&by_boss, None, 2).await.expect("page");
    let rest = store
        .audit_search(&by_boss, Some(first[1].seq), 2)
        .await
        .expect("page");
    assert_eq!((first.len(), rest.len()), (2, 1));
    assert_eq!(rest[0].seq, created[2].seq);

    let record = AuditFilter {
        entity: Some("user".into()),
        entity_id: Some(made[1].id.to_string()),
        ..AuditFilter::default()
    };
    let rolf = store
        .audit_search(&record, None, 100)
        .await
        .expect("search");
    let actions: Vec<&str> = rolf.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.len() >= 2 && actions.contains(&"create"),
        "{actions:?}"
    );
    assert!(rolf.iter().all(|e| e.entity_id == made[1].id.to_string()));

    let at = &all[0].at;
    let none_later = AuditFilter {
        from: Some(format!("{at}~")),
        ..AuditFilter::default()
    };
    assert!(store
        .audit_search(&none_later, None, 100)
        .await
        .expect("search")
        .is_empty());
    let before_all = AuditFilter {
        until: Some(whole[0].at.clone()),
        ..AuditFilter::default()
    };
    assert!(store
        .audit_search(&before_all, None, 100)
        .await
        .expect("search")
        .is_empty());
    let within = AuditFilter {
        from: Some(whole[0].at.clone()),
        until: Some(format!("{at}~")),
        ..AuditFilter::default()
    };
    assert_eq!(
        store
            .audit_search(&within, None, 100)
            .await
            .expect("search")
            .len(),
        whole.len()
    );
    let nobody = AuditFilter {
        actor: Some("nobody".into()),
        ..AuditFilter::default()
    };
    assert!(store
        .audit_search(&nobody, None, 100)
        .await
        .expect("search")
        .is_empty());

    // A large record comes back cut to SEARCH_RECORD_CHARS characters.
    let tables = sample_tables();
    store
        .import_study(&admin(), "s", &StudyImport::from_tables(&tables))
        .await
        .expect("import");
    // An edit whose record holds a long (free-text) cell, with a letter
    // of two bytes at the cut: cut by characters, not bytes.
    let study = store.study("s").await.expect("read").expect("s");
    let mut p = store
        .patient(study.id, "P01")
        .await
        .expect("read")
        .expect("P01");
    p.cells.insert("note".into(), "é".repeat(5000));
    store
        .update_patient(&admin(), study.id, &p, p.version)
        .await
        .expect("edit");
    let edits = AuditFilter {
        entity: Some("patient".into()),
        ..AuditFilter::default()
    };
    let cut = store.audit_search(&edits, None, 100).await.expect("search");
    assert_eq!(cut.len(), 1, "{cut:?}");
    let full = store.audit_events(0, 1000).await.expect("events");
    let longest = full
        .iter()
        .filter_map(|e| e.after.as_ref().map(|a| a.chars().count()))
        .max()
        .unwrap_or(0);
    let cut_longest = cut
        .iter()
        .chain(
            &store
                .audit_search(&AuditFilter::default(), None, 1000)
                .await
                .expect("search"),
        )
        .filter_map(|e| e.after.as_ref().map(|a| a.chars().count()))
        .max()
        .unwrap_or(0);
    assert!(
        longest > sclerad_store::audit::SEARCH_RECORD_CHARS,
        "the trail holds a record longer than a search returns ({longest})"
    );
    assert!(
        cut_longest <= sclerad_store::audit::SEARCH_RECORD_CHARS,
        "{cut_longest}"
    );
    assert_eq!(
        cut_longest,
        longest.min(sclerad_store::audit::SEARCH_RECORD_CHARS)
    );
}

/// Runs every check of the suite as its own test, for a back end whose
/// tests provide `async fn $open() -> Option<Arc<dyn Store>>` returning a
/// fresh, empty store (`None` only when the back end's tests were skipped
/// on purpose), and `async fn $raw() -> Option<(Arc<dyn Store>,
/// Box<RawSql>)>`, a fresh store with a raw connection to its database.
#[macro_export]
macro_rules! conformance_tests {
    ($open:path, $raw:path) => {
        mod conformance {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn users_sessions_tokens() {
                let Some(store) = $open().await else { return };
                $crate::conformance::users_sessions_tokens(store.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn import_export_round_trip() {
                let Some(store) = $open().await else { return };
                $crate::conformance::import_export_round_trip(store.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn worklists_grow_with_chosen_patients() {
                let Some(store) = $open().await else { return };
                $crate::conformance::worklists_grow_with_chosen_patients(store.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn analysis_runs_are_kept_and_proven() {
                let Some((store, raw)) = $raw().await else {
                    return;
                };
                $crate::conformance::analysis_runs_are_kept_and_proven(
                    store.as_ref(),
                    raw.as_ref(),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn append_grows_a_study() {
                let Some(store) = $open().await else { return };
                $crate::conformance::append_grows_a_study(store.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn failed_import_writes_nothing() {
                let Some(store) = $open().await else { return };
                $crate::conformance::failed_import_writes_nothing(store.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn patient_edits_are_versioned() {
                let Some(store) = $open().await else { return };
                $crate::conformance::patient_edits_are_versioned(store.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn blinded_reading_workflow() {
                let Some(store) = $open().await else { return };
                $crate::conformance::blinded_reading_workflow(store.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn edits_and_consensus_never_deadlock() {
                let Some(store) = $open().await else { return };
                $crate::conformance::edits_and_consensus_never_deadlock(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_saves_land_once() {
                let Some(store) = $open().await else { return };
                $crate::conformance::concurrent_saves_land_once(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn direct_edits_are_named() {
                let Some((store, raw)) = $raw().await else {
                    return;
                };
                $crate::conformance::direct_edits_are_named(store.as_ref(), raw.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn users_are_disabled_and_given_roles() {
                let Some((store, raw)) = $raw().await else {
                    return;
                };
                $crate::conformance::users_are_disabled_and_given_roles(
                    store.as_ref(),
                    raw.as_ref(),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn audit_search_filters_and_pages() {
                let Some(store) = $open().await else { return };
                $crate::conformance::audit_search_filters_and_pages(store.as_ref()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn images_are_stored_once_and_proven() {
                let Some((store, raw)) = $raw().await else {
                    return;
                };
                $crate::conformance::images_are_stored_once_and_proven(
                    store.as_ref(),
                    raw.as_ref(),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_writers_lose_nothing() {
                let Some(store) = $open().await else { return };
                $crate::conformance::concurrent_writers_lose_nothing(store).await;
            }
        }
    };
}

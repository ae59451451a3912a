-- sclerad study store, SQLite schema 1.
-- Times are RFC 3339 text (UTC, microseconds); cells and findings are JSON
-- text with sorted keys, exactly as hashed into the audit trail.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'data_manager', 'reader', 'adjudicator', 'analyst')),
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE studies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    columns    TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE patients (
    id         INTEGER PRIMARY KEY,
    study_id   INTEGER NOT NULL REFERENCES studies (id),
    ordinal    INTEGER NOT NULL,
    patient_id TEXT NOT NULL,
    cells      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    UNIQUE (study_id, patient_id)
);

CREATE TABLE exams (
    id          INTEGER PRIMARY KEY,
    patient_ref INTEGER NOT NULL REFERENCES patients (id),
    modality    TEXT NOT NULL CHECK (modality IN ('hand_radiograph', 'ct')),
    exam_date   TEXT,
    ct_type     TEXT,
    ct_levels   TEXT,
    UNIQUE (patient_ref, modality)
);

CREATE TABLE assignments (
    id         INTEGER PRIMARY KEY,
    exam_id    INTEGER NOT NULL REFERENCES exams (id),
    reader_id  INTEGER NOT NULL REFERENCES users (id),
    code       TEXT NOT NULL UNIQUE,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('primary', 'repeat')),
    created_at TEXT NOT NULL,
    UNIQUE (exam_id, reader_id, kind)
);
CREATE INDEX assignments_reader ON assignments (reader_id, position);

CREATE TABLE readings (
    id            INTEGER PRIMARY KEY,
    exam_id       INTEGER NOT NULL REFERENCES exams (id),
    reader        TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('imported', 'primary', 'repeat', 'consensus')),
    assignment_id INTEGER UNIQUE REFERENCES assignments (id),
    findings      TEXT,
    version       INTEGER NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX readings_exam ON readings (exam_id);
CREATE UNIQUE INDEX readings_one_consensus ON readings (exam_id) WHERE kind = 'consensus';

CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

-- The chain head: one row, updated in the transaction of every event.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The trail is append-only for the application; the hash chain catches
-- anyone who drops these triggers to edit it.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

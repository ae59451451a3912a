-- Images (PostgreSQL): de-identified DICOM instances, each of one exam, and the study
-- secret that keys their de-identification (UID replacement, date
-- offsets, pseudonyms). The original files are never stored. Both tables
-- are proven by row digests; an image's bytes by the SHA-256 in its row.
-- date_gap_days: the source's date less the bundle's exam date, in days,
-- as checked at import before any date was shifted (NULL: either missing).
CREATE TABLE study_secrets (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id   BIGINT NOT NULL UNIQUE REFERENCES studies (id),
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE images (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id         BIGINT NOT NULL REFERENCES studies (id),
    exam_id          BIGINT NOT NULL REFERENCES exams (id),
    sop_instance_uid TEXT NOT NULL,
    series_uid       TEXT NOT NULL,
    sop_class_uid    TEXT NOT NULL,
    modality         TEXT NOT NULL,
    instance_number  BIGINT,
    position         DOUBLE PRECISION,
    pixel_rows       BIGINT NOT NULL,
    pixel_columns    BIGINT NOT NULL,
    frames           BIGINT NOT NULL,
    bytes            BIGINT NOT NULL,
    sha256           TEXT NOT NULL,
    overridden       TEXT,
    date_gap_days    BIGINT,
    body_part        TEXT,
    created_at       TEXT NOT NULL,
    data             BYTEA NOT NULL,
    UNIQUE (study_id, sop_instance_uid)
);
CREATE INDEX images_exam ON images (exam_id, series_uid, position, instance_number);

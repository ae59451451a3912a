-- Analysis runs (PostgreSQL): each run of the analysis plan on a study's data, kept so
-- that any earlier result can be reopened and reproduced. `input` is the
-- study's bundle as analysed (a zip of its CSV files), `outputs` every file
-- the run wrote (results.json, report.html, tables, figures) as a zip.
-- Proven by row digests; the two archives by the SHA-256s in the row
-- (input_sha256 is the bundle's fingerprint, as `sclerad analyze` gives it).
CREATE TABLE analysis_runs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id         BIGINT NOT NULL REFERENCES studies (id),
    actor            TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    settings         TEXT NOT NULL,
    software_version TEXT NOT NULL,
    input_sha256     TEXT NOT NULL,
    input_zip_sha256 TEXT NOT NULL,
    results_sha256   TEXT NOT NULL,
    outputs_sha256   TEXT NOT NULL,
    patients         BIGINT NOT NULL,
    input            BYTEA NOT NULL,
    outputs          BYTEA NOT NULL
);
CREATE INDEX analysis_runs_study ON analysis_runs (study_id, id);

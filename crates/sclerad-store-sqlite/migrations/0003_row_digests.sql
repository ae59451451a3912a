-- From this version on, every transaction that writes rows of the proven
-- tables (users, api_tokens, studies, patients, exams, assignments,
-- readings) appends row digest events to the audit trail, so that
-- `sclerad audit verify` proves the rows, not only the trail. The schema
-- does not change: applying this migration appends, in the same
-- transaction, the digests of every row already present (actor
-- "sclerad:migration"), from which point the trail vouches for them.
SELECT 1;

-- Failed sign-ins per account and per client address (issue 15), counted
-- here so that every `roster serve` process on this database counts the
-- same attempts. `key` is the hex SHA-256 of the kind and the value, never
-- a username or address in clear. A row lives one 15-minute window (the
-- background job deletes expired ones); the server keeps at most 100,000.
-- Keep in step with ../postgres/0006_sign_in_attempts.sql: the queries are shared.

CREATE TABLE sign_in_attempts (
    key          TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    attempts     INTEGER NOT NULL
);
CREATE INDEX sign_in_attempts_window ON sign_in_attempts (window_start);

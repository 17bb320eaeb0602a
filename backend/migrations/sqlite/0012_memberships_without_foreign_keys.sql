-- Memberships without foreign keys; why, and what holds instead, in
-- ../postgres/0012_….sql. SQLite cannot drop a constraint, so the table is
-- rebuilt. Keep in step with ../postgres/0012_….sql.

CREATE TABLE user_memberships_new (
    user_pk INTEGER NOT NULL,              -- users.id
    node_id INTEGER NOT NULL,              -- hierarchy_nodes.id
    PRIMARY KEY (user_pk, node_id)
) WITHOUT ROWID;
INSERT INTO user_memberships_new (user_pk, node_id)
    SELECT user_pk, node_id FROM user_memberships;
DROP TABLE user_memberships;
ALTER TABLE user_memberships_new RENAME TO user_memberships;
CREATE INDEX user_memberships_node ON user_memberships (node_id);

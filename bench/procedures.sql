-- Reference for bench/procedures.sh: the raw PostgreSQL transactions one
-- birth procedure needs, without HTTP, rules or the audit hash chain. One
-- pgbench "transaction" is a whole procedure: the submission, and for each
-- of the three steps the claim, the completion with its effect and the
-- handler that queues the next step; each block is its own transaction, as
-- in cancuoc, and every state change writes an audit row and an outbox row.
\set m random(1, 100000)
\set pid random(1, 9000000000000000000)
BEGIN;
INSERT INTO ref_procedures (id, status, version, doc) VALUES (:pid, 'open', 1, '{"kind":"birth","application":{"full_name":"Nguyễn Minh An"}}');
INSERT INTO ref_steps (procedure_id, no, status, version, doc) VALUES (:pid, 1, 'pending', 1, '{"name":"birth_registration"}');
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'procedure.submit', 'x'), ('p', 'procedure.task_create', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.submitted', '{}'), ('procedure.task_created', '{}');
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :pid || '-s', '{}');
COMMIT;
-- step 1: civil status registers the birth (child, parent's new version, certificate)
BEGIN;
UPDATE ref_steps SET status = 'claimed', version = 2 WHERE procedure_id = :pid AND no = 1 AND version = 1;
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'procedure.step_claim', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.step_claimed', '{}');
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :pid || '-c1', '{}');
COMMIT;
BEGIN;
SELECT doc FROM ref_procedures WHERE id = :pid;
SELECT doc FROM ref_citizens WHERE pin = :m::text;
INSERT INTO ref_citizens (pin, version, doc) VALUES (:pid, 1, '{"full_name":"Nguyễn Minh An"}');
INSERT INTO ref_versions (pin, version, doc) VALUES (:pid, 1, '{"full_name":"Nguyễn Minh An"}');
UPDATE ref_citizens SET version = version + 1 WHERE pin = :m::text;
INSERT INTO ref_versions (pin, version, doc) VALUES (:m || '-' || :pid, 2, '{}');
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'citizen.register_birth', 'x'), ('p', 'citizen.update', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('citizen.born', '{}'), ('citizen.updated', '{}');
INSERT INTO ref_documents (kind, number, pin) VALUES ('birth_certificate', :pid, :pid);
UPDATE ref_steps SET status = 'completed', version = 3 WHERE procedure_id = :pid AND no = 1 AND version = 2;
UPDATE ref_procedures SET version = 2 WHERE id = :pid AND version = 1;
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'procedure.step_complete', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.step_completed', '{}');
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :pid || '-d1', '{}');
COMMIT;
BEGIN;
SELECT doc FROM ref_procedures WHERE id = :pid;
INSERT INTO ref_steps (procedure_id, no, status, version, doc) VALUES (:pid, 2, 'pending', 1, '{"name":"permanent_residence"}') ON CONFLICT DO NOTHING;
INSERT INTO ref_audit (actor, action, pin) VALUES ('w', 'procedure.task_create', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.task_created', '{}');
COMMIT;
-- step 2: police register the residence (the child's new version)
BEGIN;
UPDATE ref_steps SET status = 'claimed', version = 2 WHERE procedure_id = :pid AND no = 2 AND version = 1;
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'procedure.step_claim', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.step_claimed', '{}');
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :pid || '-c2', '{}');
COMMIT;
BEGIN;
SELECT doc FROM ref_procedures WHERE id = :pid;
SELECT doc FROM ref_citizens WHERE pin = :m::text;
UPDATE ref_citizens SET version = 2, doc = '{"household":"h"}' WHERE pin = :pid::text AND version = 1;
INSERT INTO ref_versions (pin, version, doc) VALUES (:pid, 2, '{}');
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'residence.update', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('citizen.updated', '{}');
UPDATE ref_steps SET status = 'completed', version = 3 WHERE procedure_id = :pid AND no = 2 AND version = 2;
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'procedure.step_complete', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.step_completed', '{}');
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :pid || '-d2', '{}');
COMMIT;
BEGIN;
SELECT doc FROM ref_procedures WHERE id = :pid;
INSERT INTO ref_steps (procedure_id, no, status, version, doc) VALUES (:pid, 3, 'pending', 1, '{"name":"health_insurance_card"}') ON CONFLICT DO NOTHING;
INSERT INTO ref_audit (actor, action, pin) VALUES ('w', 'procedure.task_create', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.task_created', '{}');
COMMIT;
-- step 3: social insurance issues the health card; the handler closes the file
BEGIN;
UPDATE ref_steps SET status = 'claimed', version = 2 WHERE procedure_id = :pid AND no = 3 AND version = 1;
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'procedure.step_claim', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.step_claimed', '{}');
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :pid || '-c3', '{}');
COMMIT;
BEGIN;
SELECT doc FROM ref_procedures WHERE id = :pid;
INSERT INTO ref_documents (kind, number, pin) VALUES ('health_card', :pid, :pid);
UPDATE ref_steps SET status = 'completed', version = 3 WHERE procedure_id = :pid AND no = 3 AND version = 2;
INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'procedure.step_complete', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.step_completed', '{}');
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :pid || '-d3', '{}');
COMMIT;
BEGIN;
SELECT doc FROM ref_procedures WHERE id = :pid;
SELECT doc FROM ref_steps WHERE procedure_id = :pid;
UPDATE ref_procedures SET status = 'completed', version = 3 WHERE id = :pid AND version = 2;
INSERT INTO ref_audit (actor, action, pin) VALUES ('w', 'procedure.complete', 'x');
INSERT INTO ref_outbox (type, data) VALUES ('procedure.completed', '{}');
COMMIT;

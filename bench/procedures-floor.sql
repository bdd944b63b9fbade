-- Floor for bench/procedures.sh: the rows cancuoc writes per birth procedure
-- on PostgreSQL (bench/out/procedures/pg-batch.tables.txt with TABLE_STATS=1:
-- the file, its three steps, the child's record and the parent's new
-- version, the versions, the household and residence entry, two documents,
-- the idempotent answers, 14 audit entries and 14 outbox events), written
-- in the fewest durable transactions the procedure's shape allows and with
-- set-based statements: each file's submission is its own transaction (the
-- counter submits one file per call), and each agency's claim and
-- completion of a batch of @B@ files is one transaction. Log rows are
-- written once (no queue, no sequencer, no hash chain), no HTTP, no rules.
-- One pgbench "transaction" is a whole batch of @B@ procedures; the lines
-- marked SUBMIT are repeated for k = 1..@B@ by bench/procedures.sh.
\set base random(1, 100000000000000)
\set m random(1, 99900)
-- SUBMIT BEGIN;
-- SUBMIT INSERT INTO ref_procedures (id, status, version, doc) VALUES (:base * 64 + @K@, 'open', 1, '{"kind":"birth","application":{"full_name":"Nguyễn Minh An","mother":"x","father":"y","place_of_birth":"Bệnh viện Phụ sản Hà Nội"}}');
-- SUBMIT INSERT INTO ref_steps (procedure_id, no, status, version, doc) VALUES (:base * 64 + @K@, 1, 'pending', 1, '{"name":"birth_registration","agency":"civil_status"}');
-- SUBMIT INSERT INTO ref_audit (actor, action, pin) VALUES ('p', 'procedure.submit', 'x'), ('p', 'procedure.task_create', 'x');
-- SUBMIT INSERT INTO ref_outbox (type, data) VALUES ('procedure.submitted', '{}'), ('procedure.task_created', '{}');
-- SUBMIT INSERT INTO ref_requests (principal, key, body) VALUES ('p', (:base * 64 + @K@) || '-s', '{}');
-- SUBMIT COMMIT;
-- step 1, civil status: claim the batch, then register the births
BEGIN;
UPDATE ref_steps SET status = 'claimed', version = 2 WHERE procedure_id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND no = 1 AND version = 1;
INSERT INTO ref_audit (actor, action, pin) SELECT 'p', 'procedure.step_claim', 'x' FROM generate_series(1, @B@);
INSERT INTO ref_outbox (type, data) SELECT 'procedure.step_claimed', '{}' FROM generate_series(1, @B@);
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :base || '-c1', '{}');
COMMIT;
BEGIN;
SELECT p.doc, s.doc FROM ref_procedures p JOIN ref_steps s ON s.procedure_id = p.id WHERE p.id BETWEEN :base * 64 + 1 AND :base * 64 + @B@;
SELECT doc FROM ref_citizens WHERE pin = ANY (ARRAY(SELECT (:m + g)::text FROM generate_series(1, @B@) g));
INSERT INTO ref_citizens (pin, version, doc) SELECT (:base * 64 + g)::text, 1, '{"full_name":"Nguyễn Minh An","mother":"x"}' FROM generate_series(1, @B@) g;
INSERT INTO ref_versions (pin, version, doc) SELECT (:base * 64 + g)::text, 1, '{"full_name":"Nguyễn Minh An"}' FROM generate_series(1, @B@) g;
UPDATE ref_citizens SET version = version + 1 WHERE pin = ANY (ARRAY(SELECT (:m + g)::text FROM generate_series(1, @B@) g));
INSERT INTO ref_versions (pin, version, doc) SELECT (:m + g) || '-' || (:base * 64 + g), 2, '{}' FROM generate_series(1, @B@) g;
INSERT INTO ref_documents (kind, number, pin) SELECT 'birth_certificate', (:base * 64 + g)::text, (:base * 64 + g)::text FROM generate_series(1, @B@) g;
UPDATE ref_steps SET status = 'completed', version = 3 WHERE procedure_id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND no = 1 AND version = 2;
INSERT INTO ref_steps (procedure_id, no, status, version, doc) SELECT :base * 64 + g, 2, 'pending', 1, '{"name":"permanent_residence","agency":"police"}' FROM generate_series(1, @B@) g;
UPDATE ref_procedures SET version = 2 WHERE id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND version = 1;
INSERT INTO ref_audit (actor, action, pin) SELECT 'p', a, 'x' FROM generate_series(1, @B@), unnest(ARRAY['citizen.register_birth', 'citizen.update', 'procedure.step_complete', 'procedure.task_create']) a;
INSERT INTO ref_outbox (type, data) SELECT t, '{}' FROM generate_series(1, @B@), unnest(ARRAY['citizen.born', 'citizen.updated', 'procedure.step_completed', 'procedure.task_created']) t;
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :base || '-d1', '{}');
COMMIT;
-- step 2, police: claim, then register the newborns' permanent residence
BEGIN;
UPDATE ref_steps SET status = 'claimed', version = 2 WHERE procedure_id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND no = 2 AND version = 1;
INSERT INTO ref_audit (actor, action, pin) SELECT 'p', 'procedure.step_claim', 'x' FROM generate_series(1, @B@);
INSERT INTO ref_outbox (type, data) SELECT 'procedure.step_claimed', '{}' FROM generate_series(1, @B@);
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :base || '-c2', '{}');
COMMIT;
BEGIN;
SELECT p.doc, s.doc FROM ref_procedures p JOIN ref_steps s ON s.procedure_id = p.id WHERE p.id BETWEEN :base * 64 + 1 AND :base * 64 + @B@;
SELECT doc FROM ref_citizens WHERE pin = ANY (ARRAY(SELECT (:base * 64 + g)::text FROM generate_series(1, @B@) g));
INSERT INTO ref_households (id, doc) SELECT (:base * 64 + g)::text, '{"head":"x","province":"01"}' FROM generate_series(1, @B@) g;
INSERT INTO ref_residence (pin, doc) SELECT (:base * 64 + g)::text, '{"kind":"permanent","household":"h"}' FROM generate_series(1, @B@) g;
UPDATE ref_citizens SET version = 2, doc = '{"full_name":"Nguyễn Minh An","household":"h"}' WHERE pin = ANY (ARRAY(SELECT (:base * 64 + g)::text FROM generate_series(1, @B@) g)) AND version = 1;
INSERT INTO ref_versions (pin, version, doc) SELECT (:base * 64 + g)::text, 2, '{}' FROM generate_series(1, @B@) g;
UPDATE ref_steps SET status = 'completed', version = 3 WHERE procedure_id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND no = 2 AND version = 2;
INSERT INTO ref_steps (procedure_id, no, status, version, doc) SELECT :base * 64 + g, 3, 'pending', 1, '{"name":"health_insurance_card","agency":"social_insurance"}' FROM generate_series(1, @B@) g;
UPDATE ref_procedures SET version = 3 WHERE id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND version = 2;
INSERT INTO ref_audit (actor, action, pin) SELECT 'p', a, 'x' FROM generate_series(1, @B@), unnest(ARRAY['residence.update', 'procedure.step_complete', 'procedure.task_create']) a;
INSERT INTO ref_outbox (type, data) SELECT t, '{}' FROM generate_series(1, @B@), unnest(ARRAY['citizen.updated', 'procedure.step_completed', 'procedure.task_created']) t;
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :base || '-d2', '{}');
COMMIT;
-- step 3, social insurance: claim, then issue the health cards and close the files
BEGIN;
UPDATE ref_steps SET status = 'claimed', version = 2 WHERE procedure_id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND no = 3 AND version = 1;
INSERT INTO ref_audit (actor, action, pin) SELECT 'p', 'procedure.step_claim', 'x' FROM generate_series(1, @B@);
INSERT INTO ref_outbox (type, data) SELECT 'procedure.step_claimed', '{}' FROM generate_series(1, @B@);
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :base || '-c3', '{}');
COMMIT;
BEGIN;
SELECT p.doc, s.doc FROM ref_procedures p JOIN ref_steps s ON s.procedure_id = p.id WHERE p.id BETWEEN :base * 64 + 1 AND :base * 64 + @B@;
INSERT INTO ref_documents (kind, number, pin) SELECT 'health_card', (:base * 64 + g)::text, (:base * 64 + g)::text FROM generate_series(1, @B@) g;
UPDATE ref_steps SET status = 'completed', version = 3 WHERE procedure_id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND no = 3 AND version = 2;
UPDATE ref_procedures SET status = 'completed', version = 4 WHERE id BETWEEN :base * 64 + 1 AND :base * 64 + @B@ AND version = 3;
INSERT INTO ref_audit (actor, action, pin) SELECT 'p', a, 'x' FROM generate_series(1, @B@), unnest(ARRAY['procedure.step_complete', 'procedure.complete']) a;
INSERT INTO ref_outbox (type, data) SELECT t, '{}' FROM generate_series(1, @B@), unnest(ARRAY['procedure.step_completed', 'procedure.completed']) t;
INSERT INTO ref_requests (principal, key, body) VALUES ('p', :base || '-d3', '{}');
COMMIT;

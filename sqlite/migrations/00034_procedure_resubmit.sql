-- A file is refused when a step sent back to the applicant is not
-- resubmitted within 7 working days of the rejection (issue 5, Decree
-- 63/2024), no longer 7 working days after submission whatever the
-- agencies did: resubmit_by is that time while a step waits for the
-- applicant (NULL otherwise), and the sweep selects the open files past
-- it. The deadline column stays: it is now the chain's due date, shown to
-- the applicant, and refuses nothing. (00035 on PostgreSQL.)
--
-- Upgrade: an open file waiting for a resubmission gets its deadline then
-- (7 working days after submission) as resubmit_by. The rejection's time
-- is recorded (in its outbox event and audit entry) but in no column this
-- SQL can read. The old deadline is earlier than 7 working days after the
-- rejection by as many working days as the rejection came after the
-- submission: acceptable for the few files in
-- flight at the upgrade, which the old rule would have refused then.
--
-- procedures_open (status, deadline) served only the old sweep by
-- deadline; nothing selects files by deadline now (the sweep uses
-- procedures_resubmit), so it is dropped.

-- +goose Up
ALTER TABLE procedures ADD COLUMN resubmit_by INTEGER;
UPDATE procedures SET resubmit_by = deadline, doc = json_set(doc, '$.resubmit_by', json_extract(doc, '$.deadline'))
    WHERE status = 'open' AND EXISTS (SELECT 1 FROM procedure_steps s
        WHERE s.procedure_id = procedures.id AND s.status = 'rejected');
CREATE INDEX procedures_resubmit ON procedures (status, resubmit_by) WHERE resubmit_by IS NOT NULL;
DROP INDEX procedures_open;

-- +goose Down
CREATE INDEX procedures_open ON procedures (status, deadline);
DROP INDEX procedures_resubmit;
ALTER TABLE procedures DROP COLUMN resubmit_by;

-- A file is refused when a step sent back to the applicant is not
-- resubmitted within 7 working days of the rejection (issue 5, Decree
-- 63/2024), no longer 7 working days after submission whatever the
-- agencies did: resubmit_by is that time while a step waits for the
-- applicant (NULL otherwise), and the sweep selects the open files past
-- it. The deadline column stays: it is now the chain's due date, shown to
-- the applicant, and refuses nothing. (00035 on PostgreSQL.)
--
-- Upgrade: an open file waiting for a resubmission keeps the time it had
-- (its deadline then); the rejection's own time was not recorded.

-- +goose Up
ALTER TABLE procedures ADD COLUMN resubmit_by INTEGER;
UPDATE procedures SET resubmit_by = deadline, doc = json_set(doc, '$.resubmit_by', json_extract(doc, '$.deadline'))
    WHERE status = 'open' AND EXISTS (SELECT 1 FROM procedure_steps s
        WHERE s.procedure_id = procedures.id AND s.status = 'rejected');
CREATE INDEX procedures_resubmit ON procedures (status, resubmit_by) WHERE resubmit_by IS NOT NULL;

-- +goose Down
DROP INDEX procedures_resubmit;
ALTER TABLE procedures DROP COLUMN resubmit_by;

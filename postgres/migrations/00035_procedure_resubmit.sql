-- A file is refused when a step sent back to the applicant is not
-- resubmitted within 7 working days of the rejection (issue 5, Decree
-- 63/2024), no longer 7 working days after submission whatever the
-- agencies did: resubmit_by is that time while a step waits for the
-- applicant (NULL otherwise), and the sweep selects the open files past
-- it. The deadline column stays: it is now the chain's due date, shown to
-- the applicant, and refuses nothing. (00034 on SQLite.)
--
-- Upgrade: an open file waiting for a resubmission keeps the time it had
-- (its deadline then); the rejection's own time was not recorded.

-- +goose Up
ALTER TABLE procedures ADD COLUMN resubmit_by timestamptz;
UPDATE procedures p SET resubmit_by = deadline,
        doc = (doc::jsonb || jsonb_build_object('resubmit_by', doc->'deadline'))::json
    WHERE status = 'open' AND EXISTS (SELECT 1 FROM procedure_steps s
        WHERE s.procedure_id = p.id AND s.status = 'rejected');
CREATE INDEX procedures_resubmit ON procedures (status, resubmit_by) WHERE resubmit_by IS NOT NULL;

-- +goose Down
DROP INDEX procedures_resubmit;
ALTER TABLE procedures DROP COLUMN resubmit_by;

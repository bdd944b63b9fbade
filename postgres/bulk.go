package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// BulkInsert writes many new citizens with their first version in one
// transaction, by COPY into citizens and citizen_versions, and loaded (when
// not nil) into the sequencer's queue with them. Conflict "pin_taken" if a
// PIN exists (in the table or twice in the batch); nothing is then written.
// Invalid if a version carries no record.
func (s *Store) BulkInsert(ctx context.Context, versions []*cancuoc.CitizenVersion, loaded *cancuoc.Event) error {
	const op = "postgres.BulkInsert"
	if len(versions) == 0 {
		return nil
	}
	for _, v := range versions {
		if v == nil || v.Citizen == nil {
			return cancuoc.InvalidField(op, "record", "record_missing",
				"Mỗi phiên bản phải kèm hồ sơ công dân.", "Every version must carry the citizen record.")
		}
	}
	// Each record is encoded as COPY asks for its row: pgx builds the COPY
	// stream in its own goroutine, so the JSON encoding overlaps with the
	// server's work instead of preceding it. The second COPY reuses it.
	docs := make([][]byte, len(versions))
	changes := make([][]byte, len(versions))
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"citizens"},
			[]string{"pin", "version", "name_key", "birth_year", "birth_month", "birth_day", "sex",
				"life_status", "home_province", "home_commune", "household_id", "created_at", "updated_at", "doc", "quality"},
			pgx.CopyFromSlice(len(versions), func(i int) ([]any, error) {
				v := versions[i]
				var err error
				if changes[i], docs[i], err = versionRow(v); err != nil {
					return nil, err
				}
				c := v.Citizen
				return []any{string(c.PIN), c.Version, c.NameKey, int16(c.BirthDate.Year), int16(c.BirthDate.Month),
					int16(c.BirthDate.Day), string(c.Sex), string(c.LifeStatus), c.Home.Province, c.Home.Commune,
					householdID(c), ts(c.CreatedAt), ts(c.UpdatedAt), docs[i], cancuoc.QualityFlags(c)}, nil
			}))
		if err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"citizen_versions"},
			[]string{"pin", "version", "at", "actor", "agency", "reason", "legal_basis", "changes", "doc"},
			pgx.CopyFromSlice(len(versions), func(i int) ([]any, error) {
				v := versions[i]
				return []any{string(v.PIN), v.Version, ts(v.At), v.Actor, v.Agency, v.Reason, v.LegalBasis,
					changes[i], docs[i]}, nil
			}))
		if err != nil || loaded == nil {
			return err
		}
		b := &pgx.Batch{}
		queueEvents(b, []cancuoc.Event{*loaded})
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		err = dbErr(op, err)
		if cancuoc.KindOf(err) == cancuoc.Conflict {
			// The only unique keys COPY can hit are the PIN ones.
			return pinTaken(op)
		}
		return err
	}
	if loaded == nil {
		return nil
	}
	// Committed: the sequencer gives the event its place.
	return cancuoc.WithOp(op, s.conn.appended(ctx, true))
}

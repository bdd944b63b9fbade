package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/cancuoc/cancuoc"
	sqlite3 "modernc.org/sqlite/lib"
)

// bulkChunk is the number of rows per multi-row INSERT. Each statement
// call costs a round through database/sql and the driver; binding many rows
// per call amortises it; past a few dozen rows it gains nothing measurable
// on this machine (15 columns × 64 rows stays far below SQLite's
// 32766-parameter limit).
const bulkChunk = 64

// BulkInsert writes new citizens with their first version in one
// transaction, through prepared multi-row INSERTs, and loaded (when not
// nil) with them.
// Conflict "pin_taken" if a PIN exists or repeats in the batch; then
// nothing of the batch is written.
func (s *Store) BulkInsert(ctx context.Context, versions []*cancuoc.CitizenVersion, loaded *cancuoc.Event) error {
	const op = "sqlite.BulkInsert"
	if len(versions) == 0 {
		return nil
	}
	for _, v := range versions {
		if v.Citizen == nil || v.Citizen.PIN != v.PIN {
			return cancuoc.InvalidField(op, "record", "version_record_mismatch",
				"Mỗi phiên bản phải kèm hồ sơ có cùng số định danh.",
				"Each version must carry its record, with the same PIN.")
		}
	}
	// Encoding JSON costs about as much as SQLite's inserts, so one
	// goroutine encodes the next chunk while this one writes the last.
	stop := make(chan struct{})
	defer close(stop)
	chunks := make(chan encoded, 2)
	go func() {
		defer close(chunks)
		for start := 0; start < len(versions); start += bulkChunk {
			e := encodeChunk(versions[start:min(start+bulkChunk, len(versions))])
			select {
			case chunks <- e:
			case <-stop:
				return
			}
			if e.err != nil {
				return
			}
		}
	}()
	return s.inTx(ctx, func(o *ops) error {
		tx, ok := sqlTx(o.w)
		if !ok {
			return errors.New("sqlite: bulk import outside a transaction")
		}
		var cit, ver *sql.Stmt // prepared for full chunks
		defer func() {
			if cit != nil {
				cit.Close()
			}
			if ver != nil {
				ver.Close()
			}
		}()
		for c := range chunks {
			if c.err != nil {
				return cancuoc.WithOp(op, c.err)
			}
			var err error
			if c.n == bulkChunk {
				if cit == nil {
					if cit, err = tx.PrepareContext(ctx, bulkSQL("citizens", citizenCols, citizenParams, bulkChunk)); err != nil {
						return dbErr(op, err)
					}
					if ver, err = tx.PrepareContext(ctx, bulkSQL("citizen_versions", versionCols, versionParams, bulkChunk)); err != nil {
						return dbErr(op, err)
					}
				}
				_, err = cit.ExecContext(ctx, c.cargs...)
				if err == nil {
					_, err = ver.ExecContext(ctx, c.vargs...)
				}
			} else {
				_, err = tx.ExecContext(ctx, bulkSQL("citizens", citizenCols, citizenParams, c.n), c.cargs...)
				if err == nil {
					_, err = tx.ExecContext(ctx, bulkSQL("citizen_versions", versionCols, versionParams, c.n), c.vargs...)
				}
			}
			switch {
			case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
				return pinTaken(op)
			case err != nil:
				return dbErr(op, err)
			}
		}
		if loaded != nil {
			return o.AppendEvent(ctx, loaded)
		}
		return nil
	})
}

// encoded is one chunk of a bulk insert, ready to bind.
type encoded struct {
	n            int
	cargs, vargs []any
	err          error
}

func encodeChunk(vs []*cancuoc.CitizenVersion) encoded {
	e := encoded{n: len(vs), cargs: make([]any, 0, len(vs)*14), vargs: make([]any, 0, len(vs)*9)}
	for _, v := range vs {
		doc, err := citizenDoc(v.Citizen)
		if err != nil {
			e.err = err
			return e
		}
		e.cargs = append(e.cargs, citizenRow(v.Citizen, doc)...)
		row, err := versionRow(v, doc)
		if err != nil {
			e.err = err
			return e
		}
		e.vargs = append(e.vargs, row...)
	}
	return e
}

const versionParams = `(?, ?, ?, ?, ?, ?, ?, ?, ?)`

// bulkSQL is an INSERT of n rows.
func bulkSQL(table, cols, params string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(params)
	}
	return b.String()
}

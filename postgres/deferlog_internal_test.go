package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

// roundTrips is a querier that counts what would reach the server.
type roundTrips struct {
	execs   []string
	batches []int // statements per batch
	fail    bool
}

func (r *roundTrips) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	r.execs = append(r.execs, sql)
	return pgconn.CommandTag{}, nil
}
func (r *roundTrips) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errors.New("not used")
}
func (r *roundTrips) QueryRow(context.Context, string, ...any) pgx.Row { return nil }
func (r *roundTrips) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	r.batches = append(r.batches, b.Len())
	return closedBatch{fail: r.fail}
}
func (r *roundTrips) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errors.New("not used")
}

type closedBatch struct{ fail bool }

func (closedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, nil }
func (closedBatch) Query() (pgx.Rows, error)         { return nil, errors.New("not used") }
func (closedBatch) QueryRow() pgx.Row                { return nil }
func (closedBatch) Tx() pgx.Tx                       { return nil }
func (b closedBatch) Close() error {
	if b.fail {
		return errors.New("insert failed")
	}
	return nil
}

// TestLogWritesRideTheNextRoundTrip: in a transaction, a state change's
// audit entry and event are not sent on their own but with the next
// savepoint statement, in one batch; a savepoint rolled back drops its
// own; a failing batch fails the savepoint's work.
func TestLogWritesRideTheNextRoundTrip(t *testing.T) {
	ctx := t.Context()
	q := &roundTrips{}
	c := &conn{q: q}
	entry := func() *cancuoc.AuditEntry {
		return &cancuoc.AuditEntry{At: time.Now(), Actor: "a", Action: "procedure.step_complete", Outcome: "ok"}
	}
	event := func() *cancuoc.Event {
		return &cancuoc.Event{ID: "ev", Type: "procedure.step_completed", At: time.Now()}
	}
	if err := c.AppendAudit(ctx, entry()); err != nil {
		t.Fatal(err)
	}
	if err := c.AppendEvent(ctx, event()); err != nil {
		t.Fatal(err)
	}
	if len(q.execs)+len(q.batches) != 0 {
		t.Fatalf("log writes sent at once: %v %v", q.execs, q.batches)
	}
	err := c.Savepoint(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendAudit(ctx, entry()); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, event())
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two batches: the writes before with SAVEPOINT, the savepoint's with
	// RELEASE.
	if len(q.execs) != 0 || len(q.batches) != 2 || q.batches[0] != 3 || q.batches[1] != 3 {
		t.Fatalf("execs %v, batches %v; want two batches of 3", q.execs, q.batches)
	}
	err = c.Savepoint(ctx, func(tx cancuoc.Tx) error {
		_ = tx.AppendEvent(ctx, event())
		return errors.New("item refused")
	})
	if err == nil || c.logBatch != nil {
		t.Fatalf("refused savepoint: %v, queued %v", err, c.logBatch)
	}
	if err := c.execWithLog(ctx, ""); err != nil || len(q.batches) != 2 {
		t.Fatalf("the refused savepoint's event was sent: %v %v", err, q.batches)
	}
	q.fail = true
	err = c.Savepoint(ctx, func(tx cancuoc.Tx) error { return tx.AppendEvent(ctx, event()) })
	if err == nil || !c.appendedRows {
		t.Fatalf("a failing log write: %v", err)
	}
}

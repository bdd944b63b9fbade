package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

// roundTrips is a querier that records what would reach the server: one
// line per round trip, its statements' first words joined by " + ".
type roundTrips struct {
	trips []string
	fail  bool // every statement fails
}

func firstWords(sql string) string {
	f := strings.Fields(sql)
	return strings.Join(f[:min(len(f), 3)], " ")
}

func (r *roundTrips) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	r.trips = append(r.trips, firstWords(sql))
	if r.fail {
		return pgconn.CommandTag{}, errors.New("statement failed")
	}
	return pgconn.CommandTag{}, nil
}
func (r *roundTrips) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errors.New("not used")
}
func (r *roundTrips) QueryRow(context.Context, string, ...any) pgx.Row { return nil }
func (r *roundTrips) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	var words []string
	for _, q := range b.QueuedQueries {
		words = append(words, firstWords(q.SQL))
	}
	r.trips = append(r.trips, strings.Join(words, " + "))
	if r.fail {
		return failedBatch{errors.New("statement failed")}
	}
	return okBatch{}
}
func (r *roundTrips) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errors.New("not used")
}

type okBatch struct{}

// okRow is a returned row that scans into nothing.
type okRow struct{}

func (okRow) Scan(...any) error { return nil }

func (okBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, nil }
func (okBatch) Query() (pgx.Rows, error)         { return nil, errors.New("not used") }
func (okBatch) QueryRow() pgx.Row                { return okRow{} }
func (okBatch) Tx() pgx.Tx                       { return nil }
func (okBatch) Close() error                     { return nil }

// TestHeldStatementsRideTheNextRoundTrip: in a transaction, the BEGIN
// and a savepoint's start are not sent on their own but with the next
// statement waited for, in order; the log writes, one insert for both queues,
// go with the next savepoint statement or the COMMIT; a savepoint that fails before anything was sent
// costs no round trip, and one that fails after rolls back to its own
// name; a failing held write fails the savepoint's work.
func TestHeldStatementsRideTheNextRoundTrip(t *testing.T) {
	ctx := t.Context()
	q := &roundTrips{}
	p := &pipe{q: q}
	p.hold(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	c := &conn{q: p, pipe: p}
	entry := func() *cancuoc.AuditEntry {
		return &cancuoc.AuditEntry{At: time.Now(), Actor: "a", Action: "procedure.step_complete", Outcome: "ok"}
	}
	event := func() *cancuoc.Event {
		return &cancuoc.Event{ID: "ev", Type: "procedure.step_completed", At: time.Now()}
	}
	want := func(trips ...string) {
		t.Helper()
		if strings.Join(q.trips, "\n") != strings.Join(trips, "\n") {
			t.Fatalf("round trips:\n%s\nwant:\n%s", strings.Join(q.trips, "\n"), strings.Join(trips, "\n"))
		}
	}
	// A run of log writes becomes one insert, for both queues.
	for range 3 {
		if err := c.AppendAudit(ctx, entry(), entry()); err != nil {
			t.Fatal(err)
		}
		if err := c.AppendEvent(ctx, event()); err != nil {
			t.Fatal(err)
		}
	}
	want()
	// The savepoint's log writes, before and after its statement, go with
	// its RELEASE, one insert for both queues.
	err := c.Savepoint(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendEvent(ctx, event()); err != nil {
			return err
		}
		if _, err := c.q.Exec(ctx, `UPDATE procedure_steps SET x`); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, entry()); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, event())
	})
	if err != nil {
		t.Fatal(err)
	}
	want("BEGIN ISOLATION LEVEL + INSERT INTO log_pending + SAVEPOINT cancuoc_item1 + UPDATE procedure_steps SET",
		"INSERT INTO log_pending + RELEASE SAVEPOINT cancuoc_item1")

	// Refused before any statement: nothing sent, its writes forgotten.
	refused := errors.New("item refused")
	err = c.Savepoint(ctx, func(tx cancuoc.Tx) error {
		_ = tx.AppendEvent(ctx, event())
		return refused
	})
	if err != refused || p.held() != 0 {
		t.Fatalf("refused savepoint: %v, %d held", err, p.held())
	}
	want(q.trips...)
	// Refused after a statement, nested in one that succeeds: rolled back
	// to its own name, its held write dropped.
	err = c.Savepoint(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendEvent(ctx, event()); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if _, err := c.q.Exec(ctx, `UPDATE procedures SET x`); err != nil {
				return err
			}
			_ = tx.AppendEvent(ctx, event())
			return refused
		}); err != refused {
			t.Errorf("inner savepoint: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want("BEGIN ISOLATION LEVEL + INSERT INTO log_pending + SAVEPOINT cancuoc_item1 + UPDATE procedure_steps SET",
		"INSERT INTO log_pending + RELEASE SAVEPOINT cancuoc_item1",
		"SAVEPOINT cancuoc_item1 + INSERT INTO log_pending + SAVEPOINT cancuoc_item2 + UPDATE procedures SET",
		// The rollback alone (Savepoint says why), its RELEASE with the next.
		"ROLLBACK TO SAVEPOINT",
		"RELEASE SAVEPOINT cancuoc_item2 + RELEASE SAVEPOINT cancuoc_item1")

	q.fail = true
	err = c.Savepoint(ctx, func(tx cancuoc.Tx) error { return tx.AppendEvent(ctx, event()) })
	if err == nil || !c.appendedRows {
		t.Fatalf("a failing log write: %v", err)
	}
}

// TestLoginWritesRideTheCommit: a passkey login's writes (the login, the
// passkey's counter, the session, the finished request), and the token's
// (the code's claim, the token), go to the server with BEGIN and COMMIT in
// one round trip: none is judged by a check of
// its answer in Go (the counter's update raises in SQL when the passkey is
// unknown; the login's insert has no condition). A savepoint started
// after such a raising write waits for its answer first, so that a
// failure before the SAVEPOINT is not taken for the savepoint's.
func TestLoginWritesRideTheCommit(t *testing.T) {
	ctx := t.Context()
	q := &roundTrips{}
	p := &pipe{q: q}
	p.hold(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	c := &conn{q: p, pipe: p}
	now := time.Now()
	if err := c.AppendLogin(ctx, &cancuoc.LoginRecord{AccountID: "a", At: now}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdatePasskey(ctx, &cancuoc.Passkey{ID: []byte{1}, Credential: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := c.InsertLoginSession(ctx, &cancuoc.LoginSession{Hash: []byte{2}, CreatedAt: now, ExpiresAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := c.InsertAuthRequest(ctx, &cancuoc.AuthRequest{ID: "r", CreatedAt: now, ExpiresAt: now, Doc: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := "BEGIN ISOLATION LEVEL + INSERT INTO logins + WITH u AS + INSERT INTO oidc_sessions + INSERT INTO oidc_auth_requests + COMMIT"
	if got := strings.Join(q.trips, "\n"); got != want {
		t.Errorf("round trips:\n%s\nwant:\n%s", got, want)
	}

	// The token's: the code's claim (raising when the code is not there
	// unused), the token, COMMIT.
	q = &roundTrips{}
	p = &pipe{q: q}
	p.hold(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	c = &conn{q: p, pipe: p}
	if err := c.UseAuthCode(ctx, []byte("code")); err != nil {
		t.Fatal(err)
	}
	if err := c.InsertToken(ctx, &cancuoc.Token{ID: "t", Kind: cancuoc.TokenAccess, CreatedAt: now, ExpiresAt: now, Doc: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.commit(ctx); err != nil {
		t.Fatal(err)
	}
	want = "BEGIN ISOLATION LEVEL + WITH c AS + INSERT INTO oidc_tokens + COMMIT"
	if got := strings.Join(q.trips, "\n"); got != want {
		t.Errorf("round trips of the token:\n%s\nwant:\n%s", got, want)
	}

	q = &roundTrips{}
	p = &pipe{q: q}
	c = &conn{q: p, pipe: p}
	if err := c.UpdatePasskey(ctx, &cancuoc.Passkey{ID: []byte{1}, Credential: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Savepoint(ctx, func(tx cancuoc.Tx) error {
		_, err := c.q.Exec(ctx, `UPDATE procedures SET x`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want = "WITH u AS\nSAVEPOINT cancuoc_item1 + UPDATE procedures SET\nRELEASE SAVEPOINT cancuoc_item1"
	if got := strings.Join(q.trips, "\n"); got != want {
		t.Errorf("round trips with a savepoint:\n%s\nwant:\n%s", got, want)
	}
}

// TestClaimedStepUpdatesAreHeld: the updates of steps the transaction
// locked (a batch claim's selection) from the version read under the lock
// go with the next statement waited for, not a round trip each, and their
// rows are still checked when the answers come (this querier answers that
// no row changed: a refusal).
func TestClaimedStepUpdatesAreHeld(t *testing.T) {
	ctx := t.Context()
	q := &roundTrips{}
	p := &pipe{q: q}
	c := &conn{q: p, pipe: p}
	for _, id := range []string{"p1", "p2"} {
		c.lockStep(id, 1, 1)
		st := &cancuoc.ProcedureStep{ProcedureID: id, No: 1, Status: cancuoc.StepClaimed, Version: 2}
		if err := c.UpdateStep(ctx, st, 1); err != nil {
			t.Fatal(err)
		}
		st.Version = 3 // again, from the version it wrote
		if err := c.UpdateStep(ctx, st, 2); err != nil {
			t.Fatal(err)
		}
		// Each claim's audit entry and event.
		if err := c.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "a", Action: "procedure.step_claim", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
		if err := c.AppendEvent(ctx, &cancuoc.Event{ID: "ev-" + id, Type: "procedure.step_claimed", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if len(q.trips) != 0 {
		t.Fatalf("round trips before the next statement: %q", q.trips)
	}
	// The claims' log writes stay one insert, for both queues.
	if n := p.held(); n != 5 {
		t.Errorf("%d statements held, want 4 updates and one insert for both queues", n)
	}
	_, err := c.q.Exec(ctx, `SELECT 1`)
	if got, want := strings.Join(q.trips, "\n"), strings.Repeat("UPDATE procedure_steps SET + ", 4)+
		"INSERT INTO log_pending + SELECT 1"; got != want {
		t.Errorf("round trips:\n%s\nwant:\n%s", got, want)
	}
	if cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("a held update that changed no row: %v, want Conflict", err)
	}
}

// TestOwnVersionIsHeld: the history row of the version the transaction
// stored the record at goes with the next statement; a second one of that
// version, and one of another version, are sent at once.
func TestOwnVersionIsHeld(t *testing.T) {
	ctx := t.Context()
	q := &roundTrips{}
	p := &pipe{q: q}
	c := &conn{q: p, pipe: p}
	pin := cancuoc.PIN("001095000001")
	c.wroteCitizen(pin, 2)
	v := &cancuoc.CitizenVersion{PIN: pin, Version: 2, At: time.Now(), Actor: "a", Citizen: &cancuoc.Citizen{PIN: pin, Version: 2}}
	if err := c.AppendVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	if len(q.trips) != 0 {
		t.Fatalf("round trips for the own version's row: %q", q.trips)
	}
	// Sent at once, behind the held one (this querier answers that no row
	// was inserted: a duplicate, refused at once, and the held row's check
	// fails the transaction).
	err := c.AppendVersion(ctx, v)
	if got, want := strings.Join(q.trips, "\n"), "INSERT INTO citizen_versions + INSERT INTO citizen_versions"; got != want {
		t.Errorf("round trips:\n%s\nwant:\n%s", got, want)
	}
	if cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("second row of the version: %v, want Conflict", err)
	}
}

// TestWholeTransactionWithoutBeginCommit: a transaction whose statements
// are all still held at its end goes without BEGIN and COMMIT, as one
// implicit transaction (pipe.finish); one with a savepoint, a judged
// write or a round trip before the end keeps them, and so does every
// transaction where the server's default isolation is not the BEGIN's.
func TestWholeTransactionWithoutBeginCommit(t *testing.T) {
	ctx := t.Context()
	now := time.Now()
	run := func(implicit bool, fn func(c *conn) error) string {
		t.Helper()
		q := &roundTrips{}
		p := &pipe{q: q, implicit: implicit}
		p.hold(beginSQL)
		c := &conn{q: p, pipe: p}
		if err := fn(c); err != nil {
			t.Fatal(err)
		}
		if _, err := p.commit(ctx); err != nil {
			t.Fatal(err)
		}
		return strings.Join(q.trips, "\n")
	}
	login := func(c *conn) error {
		if err := c.AppendLogin(ctx, &cancuoc.LoginRecord{AccountID: "a", At: now}); err != nil {
			return err
		}
		if err := c.UpdatePasskey(ctx, &cancuoc.Passkey{ID: []byte{1}, Credential: []byte(`{}`)}); err != nil {
			return err
		}
		if err := c.InsertLoginSession(ctx, &cancuoc.LoginSession{Hash: []byte{2}, CreatedAt: now, ExpiresAt: now}); err != nil {
			return err
		}
		return c.InsertAuthRequest(ctx, &cancuoc.AuthRequest{ID: "r", CreatedAt: now, ExpiresAt: now, Doc: []byte(`{}`)})
	}
	token := func(c *conn) error {
		if err := c.UseAuthCode(ctx, []byte("code")); err != nil {
			return err
		}
		if err := c.InsertToken(ctx, &cancuoc.Token{ID: "t", Kind: cancuoc.TokenAccess, CreatedAt: now, ExpiresAt: now, Doc: []byte(`{}`)}); err != nil {
			return err
		}
		return c.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Action: "oidc.token", PIN: "012345678901"})
	}
	for _, tc := range []struct {
		name     string
		implicit bool
		fn       func(*conn) error
		want     string
	}{
		{"login", true, login, "INSERT INTO logins + WITH u AS + INSERT INTO oidc_sessions + INSERT INTO oidc_auth_requests"},
		{"token", true, token, "WITH c AS + INSERT INTO oidc_tokens + INSERT INTO log_pending"},
		{"login, other default isolation", false, login,
			"BEGIN ISOLATION LEVEL + INSERT INTO logins + WITH u AS + INSERT INTO oidc_sessions + INSERT INTO oidc_auth_requests + COMMIT"},
		{"judged write", true, func(c *conn) error {
			return c.later(ctx, "op", `UPDATE x SET y`, nil, func(pgconn.CommandTag) error { return nil })
		}, "BEGIN ISOLATION LEVEL + UPDATE x SET\nCOMMIT"},
		{"read before the end", true, func(c *conn) error {
			if err := login(c); err != nil {
				return err
			}
			_, err := c.q.Exec(ctx, `UPDATE x SET y`)
			return err
		}, "BEGIN ISOLATION LEVEL + INSERT INTO logins + WITH u AS + INSERT INTO oidc_sessions + INSERT INTO oidc_auth_requests + UPDATE x SET\nCOMMIT"},
		{"savepoint", true, func(c *conn) error {
			return c.Savepoint(ctx, func(cancuoc.Tx) error { return c.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Action: "a"}) })
		}, "BEGIN ISOLATION LEVEL + SAVEPOINT cancuoc_item1 + INSERT INTO log_pending + RELEASE SAVEPOINT cancuoc_item1\nCOMMIT"},
	} {
		if got := run(tc.implicit, tc.fn); got != tc.want {
			t.Errorf("%s: round trips:\n%s\nwant:\n%s", tc.name, got, tc.want)
		}
	}
}

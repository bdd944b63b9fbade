package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// RunDispatch runs the conformance tests of the ConsumerStore (the event
// dispatcher's cursors). open is as for Run.
func RunDispatch(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"CursorNew", testCursorNew},
		{"CursorAdvance", testCursorAdvance},
		{"CursorReset", testCursorReset},
		{"CursorConcurrent", testCursorConcurrent},
		{"CursorInTx", testCursorInTx},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func cursorIs(t *testing.T, s cancuoc.Tx, name string, want int64) {
	t.Helper()
	got, err := s.Cursor(t.Context(), name)
	if err != nil {
		t.Fatalf("Cursor(%s): %v", name, err)
	}
	if got != want {
		t.Errorf("Cursor(%s) = %d, want %d", name, got, want)
	}
}

func testCursorNew(t *testing.T, s cancuoc.Store) {
	cursorIs(t, s, "never-seen", 0)
	cs, err := s.Cursors(t.Context())
	if err != nil || len(cs) != 0 {
		t.Errorf("Cursors on an empty store = %v, %v", cs, err)
	}
}

func testCursorAdvance(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for _, step := range []struct {
		seq, want int64
	}{{5, 5}, {9, 9}, {7, 9}, {9, 9}, {0, 9}, {12, 12}} {
		if err := s.AdvanceCursor(ctx, "a", step.seq); err != nil {
			t.Fatalf("AdvanceCursor(%d): %v", step.seq, err)
		}
		cursorIs(t, s, "a", step.want)
	}
	if err := s.AdvanceCursor(ctx, "b", 3); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "AdvanceCursor(-1)", s.AdvanceCursor(ctx, "c", -1), cancuoc.Invalid, "seq_negative")
	cs, err := s.Cursors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
		if c.UpdatedAt.IsZero() {
			t.Errorf("%s: no UpdatedAt", c.Name)
		}
	}
	if !slices.Equal(names, []string{"a", "b"}) || cs[0].Seq != 12 || cs[1].Seq != 3 {
		t.Errorf("Cursors = %+v", cs)
	}
}

func testCursorReset(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if err := s.AdvanceCursor(ctx, "a", 40); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetCursor(ctx, "a", 10); err != nil {
		t.Fatal(err)
	}
	cursorIs(t, s, "a", 10)
	if err := s.ResetCursor(ctx, "new", 7); err != nil {
		t.Fatal(err)
	}
	cursorIs(t, s, "new", 7)
	wantErr(t, "ResetCursor(-1)", s.ResetCursor(ctx, "a", -1), cancuoc.Invalid, "seq_negative")
	cursorIs(t, s, "a", 10)
}

// testCursorConcurrent races advances from many goroutines, as nodes
// running the same consumer would: the cursor ends at the highest.
func testCursorConcurrent(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 16*10)
	for g := range 16 {
		wg.Go(func() {
			for i := range 10 {
				if err := s.AdvanceCursor(ctx, "shared", int64(g*10+i+1)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AdvanceCursor: %v", err)
	}
	cursorIs(t, s, "shared", 160)
}

// testCursorInTx checks that a cursor moves with the transaction it is
// written in: a handler that writes to the same database can advance its
// cursor together with its effects.
func testCursorInTx(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AdvanceCursor(ctx, "tx", 5); err != nil {
			return err
		}
		cursorIs(t, tx, "tx", 5)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	cursorIs(t, s, "tx", 0)
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.AdvanceCursor(ctx, "tx", 6) }); err != nil {
		t.Fatal(err)
	}
	cursorIs(t, s, "tx", 6)
}

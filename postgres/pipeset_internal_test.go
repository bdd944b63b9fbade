package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// TestNewRowsOfABatchGathered: under DeferRefusals the new rows of a batch
// of births (the police step's households and residence entries, the
// civil-status step's newborns) are held, one statement per kind for the
// whole batch, households before entries before records (setOrder), sent
// with the next statement waited for; a second write of a row in an open
// run seals the runs first, so it goes in a statement of its own after
// them; and the household of a record read ahead is answered without a
// round trip, until the transaction writes it.
func TestNewRowsOfABatchGathered(t *testing.T) {
	ctx := t.Context()
	q := &roundTrips{}
	p := &pipe{q: q}
	c := &conn{q: p, pipe: p}
	c.DeferRefusals(true)
	now := time.Now()
	c.keepHousehold("h-0", []byte(`{"id":"h-0","version":3}`))
	c.keepHousehold("h-none", nil)
	for i := range 3 {
		n := string(rune('0' + i))
		pin := cancuoc.PIN("00109500000" + n)
		if i == 0 {
			h, err := c.Household(ctx, "h-0")
			if err != nil || h.ID != "h-0" || h.Version != 3 {
				t.Fatalf("a household read ahead: %+v, %v", h, err)
			}
			if _, err := c.Household(ctx, "h-none"); cancuoc.KindOf(err) != cancuoc.NotFound {
				t.Fatalf("a household read ahead as none: %v, want not found", err)
			}
		}
		err := c.InsertHousehold(ctx, &cancuoc.Household{ID: "h-" + n, Version: 1, HeadPIN: pin, UpdatedAt: now})
		if err == nil {
			err = c.AppendResidence(ctx, &cancuoc.ResidenceEntry{ID: "e-" + n, PIN: pin, At: now})
		}
		if err == nil {
			err = c.InsertCitizen(ctx, &cancuoc.Citizen{PIN: pin, Version: 1, CreatedAt: now, UpdatedAt: now})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(q.trips) != 0 {
		t.Fatalf("round trips before the next statement: %q", q.trips)
	}
	held := func() []string {
		var out []string
		p.sealRuns()
		for _, qq := range p.pending.QueuedQueries {
			kind := firstWords(strings.TrimPrefix(qq.SQL, "WITH w AS ("))
			if strings.Contains(qq.SQL, "unnest(") {
				kind += " (gathered)"
			}
			out = append(out, kind)
		}
		return out
	}
	want := "INSERT INTO households (gathered)\nINSERT INTO residence_entries (gathered)\nINSERT INTO citizens (gathered)"
	if got := strings.Join(held(), "\n"); got != want {
		t.Errorf("held:\n%s\nwant:\n%s", got, want)
	}
	// A household the transaction wrote is read again from the server
	// (h-5 kept as none is forgotten by its insert);
	// a second insert of a record held in an open run goes after the run.
	p.pending.QueuedQueries = nil
	c.keepHousehold("h-5", nil)
	if err := c.InsertHousehold(ctx, &cancuoc.Household{ID: "h-5", Version: 1, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	pin := cancuoc.PIN("001095000009")
	for range 2 {
		if err := c.InsertCitizen(ctx, &cancuoc.Citizen{PIN: pin, Version: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	want = "INSERT INTO households\nINSERT INTO citizens\nINSERT INTO citizens"
	if got := strings.Join(held(), "\n"); got != want {
		t.Errorf("held:\n%s\nwant:\n%s", got, want)
	}
	if _, ok := c.takeHousehold("h-5"); ok {
		t.Error("household h-5 kept (as none) after the transaction inserted it")
	}

	// Households the transaction read are updated in one statement; one
	// it did not read is updated at once (it may not exist).
	p.pending.QueuedQueries = nil
	for _, id := range []string{"h-a", "h-b"} {
		c.keepHousehold(id, []byte(`{"id":"`+id+`","version":1}`))
		h, err := c.Household(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		h.Version = 2
		if err := c.UpdateHousehold(ctx, h, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(held(), "\n"), "UPDATE households h (gathered)"; got != want {
		t.Errorf("held:\n%s\nwant:\n%s", got, want)
	}
	p.pending.QueuedQueries = nil
	q.fail = true // this querier answers no row counts: the update's answer is an error
	if err := c.UpdateHousehold(ctx, &cancuoc.Household{ID: "h-unread", Version: 2}, 1); err == nil {
		t.Error("an update of a household not read was held")
	}
	if got, want := strings.Join(q.trips, "\n"), "UPDATE households SET"; got != want {
		t.Errorf("round trips of an update of a household not read:\n%s\nwant:\n%s", got, want)
	}
}

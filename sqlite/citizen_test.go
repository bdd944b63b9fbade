package sqlite

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestUpdateCitizenColumns: UpdateCitizen sets only the columns that
// change; after updates that change any mix of them (or none), every
// column holds what citizenRow gives for the record, and the indexes agree
// with the table (integrity_check).
func TestUpdateCitizenColumns(t *testing.T) {
	s := openTxLogStore(t)
	ctx := t.Context()
	c := storetest.Citizen(storetest.PIN(1))
	if err := s.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	changes := []func(c *cancuoc.Citizen, i int){
		func(c *cancuoc.Citizen, i int) {
			c.FullName, c.NameKey = fmt.Sprintf("Tên %d", i), fmt.Sprintf("ten %d", i)
		},
		func(c *cancuoc.Citizen, i int) { c.BirthDate.Day = 1 + i%28 },
		func(c *cancuoc.Citizen, i int) { c.BirthDate.Month = i % 13 },
		func(c *cancuoc.Citizen, i int) { c.BirthDate.Year = 1950 + i%70 },
		func(c *cancuoc.Citizen, i int) { c.Sex = []cancuoc.Sex{cancuoc.Male, cancuoc.Female}[i%2] },
		func(c *cancuoc.Citizen, i int) { c.Home.Commune = fmt.Sprintf("%05d", 26700+i%9) },
		func(c *cancuoc.Citizen, i int) {
			if i%3 == 0 {
				c.Household = nil
			} else {
				c.Household = &cancuoc.HouseholdLink{ID: fmt.Sprintf("HH-%d", i%4), HeadPIN: c.PIN}
			}
		},
		func(c *cancuoc.Citizen, i int) { c.Ethnicity = []string{"", "01"}[i%2] }, // a quality flag
		func(c *cancuoc.Citizen, i int) { c.Origin = nil },                        // the document only
	}
	for i := range 200 {
		n := c.Clone()
		for _, ch := range changes {
			if r.IntN(3) == 0 {
				ch(n, i)
			}
		}
		n.Version, n.UpdatedAt = c.Version+1, c.UpdatedAt.Add(time.Minute)
		if err := s.UpdateCitizen(ctx, n, c.Version); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		c = n
		doc, err := citizenDoc(c)
		if err != nil {
			t.Fatal(err)
		}
		want := citizenRow(c, doc)
		got := make([]any, len(want))
		dest := make([]any, len(want))
		for k := range got {
			dest[k] = &got[k]
		}
		if err := s.read.QueryRowContext(ctx, `SELECT `+citizenCols+` FROM citizens WHERE pin = ?`, string(c.PIN)).Scan(dest...); err != nil {
			t.Fatal(err)
		}
		for k := range want {
			if k == citizenColDoc {
				if string(got[k].(string)) != string(doc) {
					t.Fatalf("update %d: the stored document differs", i)
				}
				continue
			}
			// Compared as text, not with sameColumn, which is under test.
			if fmt.Sprint(got[k]) != fmt.Sprint(want[k]) {
				t.Fatalf("update %d: column %d holds %v, want %v", i, k, got[k], want[k])
			}
		}
	}
	var ok string
	if err := s.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
	// A stale version and an unknown PIN are refused as before.
	stale := c.Clone()
	stale.Version++
	if err := s.UpdateCitizen(ctx, stale, c.Version-1); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("stale update: %v, want Conflict", err)
	}
	unknown := storetest.Citizen(storetest.PIN(2))
	if err := s.UpdateCitizen(ctx, unknown, 1); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("unknown PIN: %v, want NotFound", err)
	}
}

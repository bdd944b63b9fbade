package registry

import (
	"bytes"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// diffVariants are records that differ from a full one in every way a
// diff must see or must not: each field changed, set, cleared, a nil
// slice against an empty one (alike when left out), a place's derived
// unit, the map of other facts, bookkeeping only.
func diffVariants() []*cancuoc.Citizen {
	full := storetest.Citizen(cancuoc.PIN("001090000001"))
	derive(full)
	out := []*cancuoc.Citizen{full, storetest.Minimal("001090000002", "Lê Thị Ba", "le thi ba"), {}}
	edit := func(f func(c *cancuoc.Citizen)) {
		c := full.Clone()
		f(c)
		out = append(out, c)
	}
	edit(func(c *cancuoc.Citizen) { c.FullName = `Nguyễn "Văn" <Bốn> & \ ` })
	edit(func(c *cancuoc.Citizen) { c.PIN = "001090000009" })
	edit(func(c *cancuoc.Citizen) { c.OtherNames = []string{} })
	edit(func(c *cancuoc.Citizen) { c.OtherNames = []string{"Tí"} })
	edit(func(c *cancuoc.Citizen) { c.BirthDate = cancuoc.Date{Year: 1990} })
	edit(func(c *cancuoc.Citizen) { c.BirthDate = cancuoc.Date{} })
	edit(func(c *cancuoc.Citizen) { c.Sex = cancuoc.Female })
	edit(func(c *cancuoc.Citizen) { c.BirthPlace = nil })
	edit(func(c *cancuoc.Citizen) {
		p := *c.PermanentResidence
		p.Today = &cancuoc.UnitRef{Province: "01", Commune: "00004"}
		c.PermanentResidence = &p
	})
	edit(func(c *cancuoc.Citizen) { c.PermanentResidence = &cancuoc.Place{} })
	edit(func(c *cancuoc.Citizen) { c.Cards = nil })
	edit(func(c *cancuoc.Citizen) { c.Cards = []cancuoc.Card{} })
	edit(func(c *cancuoc.Citizen) {
		c.Cards = append(c.Cards, cancuoc.Card{Number: "001090000001", Kind: "can_cuoc", Status: cancuoc.CardValid})
	})
	edit(func(c *cancuoc.Citizen) {
		c.Children = append(c.Children, cancuoc.Relative{PIN: "001225000001", Name: "Bé"})
	})
	edit(func(c *cancuoc.Citizen) { c.Children = []cancuoc.Relative{} })
	edit(func(c *cancuoc.Citizen) { c.Mother = &cancuoc.Relative{} })
	edit(func(c *cancuoc.Citizen) { c.Household = &cancuoc.HouseholdLink{ID: "hh_1", Relation: "con"} })
	edit(func(c *cancuoc.Citizen) { c.Household = &cancuoc.HouseholdLink{} })
	edit(func(c *cancuoc.Citizen) {
		c.TemporaryResidence = &cancuoc.TemporaryResidence{Place: cancuoc.Place{Era: cancuoc.Era34, Province: "01"}}
	})
	edit(func(c *cancuoc.Citizen) { c.TemporaryAbsence = &cancuoc.TemporaryAbsence{Reason: "đi làm"} })
	edit(func(c *cancuoc.Citizen) {
		c.LifeStatus, c.DeathDate = cancuoc.Dead, cancuoc.Date{Year: 2025, Month: 1, Day: 2}
	})
	edit(func(c *cancuoc.Citizen) { c.MissingSince = cancuoc.Date{Year: 2024} })
	edit(func(c *cancuoc.Citizen) { c.Other = map[string]string{} })
	edit(func(c *cancuoc.Citizen) { c.Other = map[string]string{"b": "2", "a": "1"} })
	edit(func(c *cancuoc.Citizen) { c.Phone, c.Email = "0901234567", "a@b.vn" })
	edit(func(c *cancuoc.Citizen) {
		c.Version, c.NameKey, c.Home = 7, "x", cancuoc.UnitRef{Province: "79"}
		c.CreatedAt, c.UpdatedAt = time.Unix(1, 0), time.Unix(2, 0)
	})
	return out
}

// TestDiffFieldByField: comparing field by field gives exactly the diff
// of the two records encoded whole, for every pair of variants, also when
// restricted to some fields (the protected ones).
func TestDiffFieldByField(t *testing.T) {
	if recordFields() == nil {
		t.Fatal("cancuoc.Citizen's fields are not compared one by one: every diff encodes whole records")
	}
	vs := diffVariants()
	for i, a := range vs {
		for j, b := range vs {
			for _, only := range [][]string{nil, protected} {
				got, err := diffOf(a, b, only)
				if err != nil {
					t.Fatal(err)
				}
				want, err := diffJSON(a, b, only)
				if err != nil {
					t.Fatal(err)
				}
				if !sameChanges(got, want) {
					t.Errorf("variants %d → %d (only %v): diff %s, want %s", i, j, only, changesString(got), changesString(want))
				}
			}
		}
	}
}

func sameChanges(a, b []cancuoc.FieldChange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Field != b[i].Field || !bytes.Equal(a[i].Old, b[i].Old) || !bytes.Equal(a[i].New, b[i].New) {
			return false
		}
	}
	return true
}

func changesString(ch []cancuoc.FieldChange) string {
	var b bytes.Buffer
	for _, c := range ch {
		b.WriteString(c.Field + ": " + string(c.Old) + " → " + string(c.New) + "; ")
	}
	return b.String()
}

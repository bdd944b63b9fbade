package oidc

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/synth"
)

// TestClaimsCitizenDecodesAsRecord: the fields userinfo decodes from a
// stored record (name, birth date, possibly partial, sex, current
// residence) come out exactly as the whole record's decode gives them, for
// a synthetic population with every kind of record in it.
func TestClaimsCitizenDecodesAsRecord(t *testing.T) {
	n := 0
	err := synth.Generate(context.Background(), synth.Config{Citizens: 2000, Seed: 7, Now: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		func(batch []*cancuoc.Citizen) error {
			for _, c := range batch {
				doc, err := json.Marshal(c)
				if err != nil {
					return err
				}
				var full cancuoc.Citizen
				var part claimsCitizen
				if err := json.Unmarshal(doc, &full); err != nil {
					return err
				}
				if err := json.Unmarshal(doc, &part); err != nil {
					return err
				}
				want := claimsCitizen{FullName: full.FullName, BirthDate: full.BirthDate, Sex: full.Sex, CurrentResidence: full.CurrentResidence}
				if !reflect.DeepEqual(part, want) {
					t.Fatalf("%s: claims fields %+v, record's %+v", c.PIN, part, want)
				}
				if !part.BirthDate.Complete() {
					n++
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records with a partial birth date", n)
}

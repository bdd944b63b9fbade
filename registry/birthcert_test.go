package registry_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// TestRegisterBirthIssuesCertificate: a birth registration made directly
// issues the electronic birth certificate record with the PIN, in the same
// transaction: a registration rolled back leaves neither.
func TestRegisterBirthIssuesCertificate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		w := newWorld(t, b)
		birth := registry.Birth{FullName: "Bùi Minh Khang", BirthDate: cancuoc.Date{Year: 2025, Month: 7, Day: 1}, Sex: cancuoc.Male,
			Registration: *place34(hanoi, baDinh, ""), Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}}
		c, err := w.svc.RegisterBirth(ctx, w.admin, birth)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := w.store.IssuedDocuments(ctx, c.PIN)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("KS.2025.%s", c.PIN)
		if len(docs) != 1 || docs[0].Kind != registry.DocBirthCertificate || docs[0].Number != want || docs[0].PIN != c.PIN ||
			docs[0].ProcedureID != "" || docs[0].IssuedAt.IsZero() {
			t.Fatalf("documents after registration = %+v, want one birth certificate %s", docs, want)
		}
		if registry.BirthCertificateNumber(c) != want {
			t.Errorf("BirthCertificateNumber = %s, want %s", registry.BirthCertificateNumber(c), want)
		}

		// Inside a transaction that fails afterwards: no PIN, no certificate.
		var rolled *cancuoc.Citizen
		boom := errors.New("later failure")
		err = w.store.InTx(ctx, func(tx cancuoc.Tx) error {
			var err error
			if rolled, err = w.svc.RegisterBirthTx(ctx, tx, w.admin, birth); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || rolled == nil {
			t.Fatalf("InTx = %v, %v", rolled, err)
		}
		if _, err := w.store.Citizen(ctx, rolled.PIN); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("rolled-back birth: citizen read %v, want NotFound", err)
		}
		if docs, err := w.store.IssuedDocuments(ctx, rolled.PIN); err != nil || len(docs) != 0 {
			t.Errorf("rolled-back birth left documents %+v, %v", docs, err)
		}
	})
}

package residence_test

import (
	"context"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
)

// TestRefusedMarriageAudited: an officer who covers only one party learns
// from a refusal that the other is married or not their spouse (review
// finding 6); the attempt must be in both parties' access logs even though
// nothing changed.
func TestRefusedMarriageAudited(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		day := cancuoc.Date{Year: 2026, Month: 3, Day: 8}
		why := registry.Meta{Reason: "Đăng ký kết hôn", LegalBasis: "Giấy chứng nhận kết hôn 7/2026"}
		man := w.adult(t, "Nguyễn Văn An", cancuoc.Male, baDinh)
		far := w.adult(t, "Lê Thị Cúc", cancuoc.Female, ngocHa)
		husband := w.adult(t, "Phạm Văn Đức", cancuoc.Male, ngocHa)
		if _, err := w.svc.Marry(ctx, w.ngocHa, residence.Marriage{A: husband.PIN, B: far.PIN, Date: day, Meta: why}); err != nil {
			t.Fatal(err)
		}
		_, err := w.svc.Marry(ctx, w.baDinh, residence.Marriage{A: man.PIN, B: far.PIN, Date: day, Meta: why})
		wantErr(t, "probe by marriage", err, cancuoc.Conflict, "already_married")
		_, err = w.svc.Divorce(ctx, w.baDinh, residence.Divorce{A: man.PIN, B: far.PIN, Date: day, Meta: why})
		wantErr(t, "probe by divorce", err, cancuoc.Conflict, "not_spouses")
		_, err = w.svc.Marry(ctx, w.baDinh, residence.Marriage{A: man.PIN, B: "001090000001", Date: day, Meta: why})
		wantErr(t, "unknown party", err, cancuoc.Invalid, "party_unknown")

		for _, pin := range []cancuoc.PIN{man.PIN, far.PIN} {
			es, err := w.store.AuditFor(ctx, pin, 50)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range es {
				if e.Actor == w.baDinh.ID && (e.Action == "marriage.refused" || e.Action == "divorce.refused") {
					got[e.Action] = e.Outcome
				}
			}
			if got["marriage.refused"] != "already_married" || got["divorce.refused"] != "not_spouses" {
				t.Errorf("%s's access log lacks the refused attempts: %v", pin, got)
			}
		}
		if es, _ := w.store.AuditFor(ctx, "001090000001", 10); len(es) != 0 {
			t.Errorf("entries under a PIN with no record: %+v", es)
		}
	})
}

package residence_test

import (
	"context"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/residence"
)

// TestRegistrationNeedsOwnRequest: an officer cannot move a person into a
// household of their commune, or make them head of a new one, without the
// person's own request, or for a minor a parent's (review finding 5). The
// refused moves change nothing; the accepted request is recorded on the
// membership and the residence entry.
func TestRegistrationNeedsOwnRequest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		h, head, wife := family(t, w)
		// An adult of another commune, with a household of her own.
		far := w.adult(t, "Lê Thị Cúc", cancuoc.Female, ngocHa)
		farHome, err := w.svc.CreateHousehold(ctx, w.ngocHa, residence.NewHousehold{Address: home(ngocHa), HeadPIN: far.PIN,
			Request: asks(far.PIN), Meta: why})
		if err != nil {
			t.Fatal(err)
		}
		consent := &cancuoc.HeadConsent{By: head.PIN, At: now0, Method: "written"}
		before := w.current(t, far.PIN)
		for _, tc := range []struct {
			name string
			req  *cancuoc.HeadConsent
			code string
		}{
			{"no request", nil, "request_required"},
			{"request by the head", &cancuoc.HeadConsent{By: head.PIN, At: now0, Method: "written"}, "request_not_person"},
			{"request by no one", &cancuoc.HeadConsent{At: now0, Method: "written"}, "request_not_person"},
			{"request in the future", &cancuoc.HeadConsent{By: far.PIN, At: now0.Add(time.Hour), Method: "written"}, "request_time"},
			{"request without time", &cancuoc.HeadConsent{By: far.PIN, Method: "written"}, "request_time"},
			{"request by law", &cancuoc.HeadConsent{By: far.PIN, At: now0, Method: "by_law"}, "request_method"},
		} {
			_, err := w.svc.JoinHousehold(ctx, w.baDinh, h.ID, residence.Join{PIN: far.PIN, Relation: "khác", Consent: consent,
				Request: tc.req, Meta: why})
			wantErr(t, tc.name, err, cancuoc.Invalid, tc.code)
		}
		_, err = w.svc.CreateHousehold(ctx, w.baDinh, residence.NewHousehold{Address: home(baDinh), HeadPIN: far.PIN, Meta: why})
		wantErr(t, "new household without request", err, cancuoc.Invalid, "request_required")
		_, err = w.svc.CreateHousehold(ctx, w.baDinh, residence.NewHousehold{Address: home(baDinh), HeadPIN: far.PIN,
			Request: asks(wife.PIN), Meta: why})
		wantErr(t, "new household on another's request", err, cancuoc.Invalid, "request_not_person")
		if after := w.current(t, far.PIN); after.Version != before.Version || after.Household.ID != farHome.ID {
			t.Errorf("refused moves changed the record: version %d → %d, household %+v", before.Version, after.Version, after.Household)
		}

		// A minor: the request of a parent named in the record, not of
		// another adult (here the head, who is no parent of hers).
		girl := w.person(t, "Lê Thị Dung", cancuoc.Female, cancuoc.Date{Year: 2018, Month: 3, Day: 4}, hanoi, ngocHa, far)
		_, err = w.svc.JoinHousehold(ctx, w.baDinh, h.ID, residence.Join{PIN: girl.PIN, Relation: "khác", Consent: consent,
			Request: asks(head.PIN), Meta: why})
		wantErr(t, "minor on a non-parent's request", err, cancuoc.Invalid, "request_not_person")
		mother := &cancuoc.HeadConsent{By: far.PIN, At: now0.Add(-time.Hour), Method: "vneid"}
		got, err := w.svc.JoinHousehold(ctx, w.baDinh, h.ID, residence.Join{PIN: girl.PIN, Relation: "khác", Consent: consent,
			Request: mother, Meta: why})
		if err != nil {
			t.Fatalf("minor on her mother's request: %v", err)
		}
		m, _ := got.Member(girl.PIN)
		if m.Request == nil || m.Request.By != far.PIN || m.Request.Method != "vneid" || !m.Request.At.Equal(now0.Add(-time.Hour)) {
			t.Errorf("membership's request: %+v", m.Request)
		}
		stored, _ := w.store.Household(ctx, h.ID)
		if m, _ := stored.Member(girl.PIN); m.Request == nil || m.Request.By != far.PIN {
			t.Errorf("stored membership's request: %+v", m.Request)
		}
		hist, err := w.store.ResidenceHistory(ctx, girl.PIN)
		if err != nil || len(hist) == 0 || hist[len(hist)-1].Request == nil || hist[len(hist)-1].Request.By != far.PIN {
			t.Errorf("residence entry's request: %+v, %v", hist, err)
		}
	})
}

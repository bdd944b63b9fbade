package residence_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/residence"
)

func vn(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, residence.Zone) }

// TestStayDeadline is the rule of vietnam.md §5 in Asia/Ho_Chi_Minh time.
func TestStayDeadline(t *testing.T) {
	for _, tc := range []struct {
		name              string
		arrival, notified time.Time
		deadline          time.Time
		onTime            bool
		late              time.Duration
	}{
		{"morning arrival, notified at once", vn(10, 9, 0), vn(10, 9, 5), vn(10, 23, 0), true, 0},
		{"early hours count as the same day", vn(10, 0, 30), vn(10, 22, 59), vn(10, 23, 0), true, 0},
		{"22:59 arrival, notified at 23:00 exactly", vn(10, 22, 59), vn(10, 23, 0), vn(10, 23, 0), true, 0},
		{"22:59 arrival, notified at 23:01", vn(10, 22, 59), vn(10, 23, 1), vn(10, 23, 0), false, time.Minute},
		{"23:00 arrival goes to 08:00 next day", vn(10, 23, 0), vn(11, 7, 59), vn(11, 8, 0), true, 0},
		{"23:30 arrival notified 08:30", vn(10, 23, 30), vn(11, 8, 30), vn(11, 8, 0), false, 30 * time.Minute},
		{"last day of the month", time.Date(2026, 3, 31, 23, 45, 0, 0, residence.Zone), vn(31, 23, 50),
			time.Date(2026, 4, 1, 8, 0, 0, 0, residence.Zone), true, 0},
		{"a day late", vn(10, 12, 0), vn(11, 23, 0), vn(10, 23, 0), false, 24 * time.Hour},
		// An instant given in UTC is judged by the time in Vietnam: 16:30 UTC is 23:30 there.
		{"UTC input", time.Date(2026, 3, 10, 16, 30, 0, 0, time.UTC), time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC), vn(11, 8, 0), true, 0},
		{"UTC input before the cutoff", time.Date(2026, 3, 10, 15, 59, 0, 0, time.UTC), time.Date(2026, 3, 10, 16, 30, 0, 0, time.UTC),
			vn(10, 23, 0), false, 30 * time.Minute},
		{"notified before arrival", vn(10, 14, 0), vn(10, 13, 30), vn(10, 23, 0), true, 0},
	} {
		got := residence.CheckStay(tc.arrival, tc.notified)
		if !got.Deadline.Equal(tc.deadline) || got.OnTime != tc.onTime || got.LateBy != tc.late {
			t.Errorf("%s: got deadline %v on time %v late %v; want %v %v %v", tc.name, got.Deadline.In(residence.Zone), got.OnTime, got.LateBy,
				tc.deadline, tc.onTime, tc.late)
		}
	}
}

// FuzzStayDeadline checks the rule's invariants for any instant: the
// deadline follows the arrival by at most 23 hours, falls at 23:00 or
// 08:00 in Vietnam, and lateness is the time past it.
func FuzzStayDeadline(f *testing.F) {
	f.Add(int64(1773118800), int64(60))
	f.Add(int64(1773158400), int64(-3600))
	f.Add(int64(0), int64(86400*3))
	f.Fuzz(func(t *testing.T, arrival, delay int64) {
		if arrival < -1e11 || arrival > 1e11 || delay < -1e9 || delay > 1e9 {
			return
		}
		a := time.Unix(arrival, 0)
		n := a.Add(time.Duration(delay) * time.Second)
		got := residence.CheckStay(a, n)
		d := got.Deadline.In(residence.Zone)
		if !got.Deadline.After(a) || got.Deadline.Sub(a) > 23*time.Hour {
			t.Fatalf("deadline %v for arrival %v", d, a.In(residence.Zone))
		}
		if !(d.Hour() == 23 || d.Hour() == 8) || d.Minute() != 0 || d.Second() != 0 {
			t.Fatalf("deadline at %v", d)
		}
		if got.OnTime != !n.After(got.Deadline) || (got.OnTime && got.LateBy != 0) || (!got.OnTime && got.LateBy != n.Sub(got.Deadline)) {
			t.Fatalf("timeliness %+v for notification at %v", got, n)
		}
	})
}

// FuzzParseRelation: any input is either refused or one of the listed
// relationships.
func FuzzParseRelation(f *testing.F) {
	for _, s := range []string{"con", " vợ ", "con dâu", "bạn", "", "con\u0300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := residence.ParseRelation("test", "relation", s)
		if err != nil {
			if cancuoc.KindOf(err) != cancuoc.Invalid {
				t.Fatalf("error %v is not Invalid", err)
			}
			return
		}
		for _, x := range residence.Relations {
			if r == x {
				return
			}
		}
		t.Fatalf("accepted %q as %q", s, r)
	})
}

func TestNotifyStay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		hotel := w.principal(t, cancuoc.RoleLodging, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
		guest := w.adult(t, "Lê Thị Thu", cancuoc.Female, ngocHa)
		st := residence.Stay{Reference: "B-001", Host: "Khách sạn Ba Đình", Place: home(baDinh), Arrival: vn(9, 23, 30),
			Guests: []cancuoc.StayGuest{{PIN: guest.PIN}, {Name: "John Smith", Document: "P1234567"}}}
		w.clock.Set(vn(10, 8, 45))
		n, err := w.svc.NotifyStay(ctx, hotel, st)
		if err != nil {
			t.Fatal(err)
		}
		if n.OnTime || n.LateBy != 45*60 || !n.Deadline.Equal(vn(10, 8, 0)) {
			t.Errorf("late notification: %+v", n)
		}
		again, err := w.svc.NotifyStay(ctx, hotel, st)
		if err != nil || again.ID != n.ID {
			t.Errorf("retry: %+v, %v; want the first notification", again, err)
		}
		if es, _ := w.store.AuditFor(ctx, guest.PIN, 5); len(es) == 0 || es[0].Action != "residence.stay_notified" || es[0].Actor != hotel.ID {
			t.Errorf("guest's access log: %+v", es)
		}
		other := st
		other.Place, other.Reference = home(ngocHa), ""
		_, err = w.svc.NotifyStay(ctx, hotel, other)
		wantErr(t, "hotel outside its commune", err, cancuoc.Forbidden, "outside_jurisdiction")
		for _, tc := range []struct {
			name string
			mod  func(*residence.Stay)
			code string
		}{
			{"no guests", func(s *residence.Stay) { s.Guests = nil }, "guests_count"},
			{"guest without identity", func(s *residence.Stay) { s.Guests = []cancuoc.StayGuest{{Name: "A"}} }, "guest_identity"},
			{"bad PIN", func(s *residence.Stay) { s.Guests = []cancuoc.StayGuest{{PIN: "123"}} }, "pin_format"},
			{"future arrival", func(s *residence.Stay) { s.Arrival = vn(10, 12, 0) }, "arrival_future"},
			{"30 days", func(s *residence.Stay) { s.Departure = cancuoc.Date{Year: 2026, Month: 4, Day: 8} }, "stay_too_long"},
			{"control character", func(s *residence.Stay) { s.Host = "a\x00b" }, "text_invalid"},
			{"old units", func(s *residence.Stay) { s.Place.Era = cancuoc.Era63 }, "place_units_required"},
		} {
			s := st
			s.Reference = ""
			tc.mod(&s)
			_, err := w.svc.NotifyStay(ctx, hotel, s)
			wantErr(t, tc.name, err, cancuoc.Invalid, tc.code)
		}
		// A citizen host notifies at home only.
		if _, err := w.svc.NotifyStayAsCitizen(ctx, guest.PIN, other); err != nil {
			t.Errorf("citizen at home: %v", err)
		}
		_, err = w.svc.NotifyStayAsCitizen(ctx, guest.PIN, st)
		wantErr(t, "citizen elsewhere", err, cancuoc.Forbidden, "not_host_residence")
		// A private host's PIN never reaches the guest's access log.
		host := w.adult(t, "Phạm Văn Chủ", cancuoc.Male, ngocHa)
		hosted, err := w.svc.NotifyStayAsCitizen(ctx, host.PIN, other)
		if err != nil {
			t.Fatal(err)
		}
		if es, _ := w.store.AuditFor(ctx, guest.PIN, 1); len(es) != 1 || es[0].Actor != "citizen-host:"+hosted.ID ||
			strings.Contains(es[0].Actor, string(host.PIN)) {
			t.Errorf("guest's access log names the host: %+v", es)
		}
		// The commune lists its notifications; another commune's officer cannot.
		list, err := w.svc.Stays(ctx, w.baDinh, residence.StayList{Late: true})
		if err != nil || len(list) != 1 || list[0].ID != n.ID {
			t.Errorf("late stays of Ba Đình: %+v, %v", list, err)
		}
		_, err = w.svc.Stays(ctx, w.ngocHa, residence.StayList{Commune: baDinh})
		wantErr(t, "another commune's list", err, cancuoc.Forbidden, "outside_jurisdiction")
		_, err = w.svc.NotifyStay(ctx, w.principal(t, cancuoc.RoleAuditor, cancuoc.Jurisdiction{}), other)
		wantErr(t, "auditor", err, cancuoc.Forbidden, "role_forbidden")
	})
}

// TestStayConcurrent: notifications sent at once are all stored once, each
// with its audit entry and event, and a reference sent by many callers at
// once is stored once and answered with the same notification.
func TestStayConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		hotel := w.principal(t, cancuoc.RoleLodging, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
		guest := w.adult(t, "Lê Thị Thu", cancuoc.Female, ngocHa)
		w.clock.Set(vn(10, 12, 0))
		seq := w.lastSeq(t)
		const callers, each = 20, 4
		var wg sync.WaitGroup
		ids := make(chan string, callers*(each+1))
		for g := range callers {
			wg.Go(func() {
				for i := range each + 1 {
					ref := fmt.Sprintf("g%d-%d", g, i)
					if i == each {
						ref = "shared"
					}
					n, err := w.svc.NotifyStay(ctx, hotel, residence.Stay{Reference: ref, Place: home(baDinh), Arrival: vn(10, 11, 0),
						Guests: []cancuoc.StayGuest{{PIN: guest.PIN}}})
					if err != nil {
						t.Errorf("notify %s: %v", ref, err)
						return
					}
					if ref == "shared" {
						ids <- n.ID
					}
				}
			})
		}
		wg.Wait()
		close(ids)
		shared := map[string]bool{}
		for id := range ids {
			shared[id] = true
		}
		if len(shared) != 1 {
			t.Errorf("the shared reference gave %d notifications", len(shared))
		}
		list, err := w.svc.Stays(ctx, w.admin, residence.StayList{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != callers*each+1 { // fits in one page of 100
			t.Errorf("%d notifications stored, want %d", len(list), callers*each+1)
		}
		events := 0
		for _, e := range w.eventTypes(t, seq) {
			if e == cancuoc.EventStayNotified {
				events++
			}
		}
		if events != callers*each+1 {
			t.Errorf("%d stay events, want %d", events, callers*each+1)
		}
		es, _ := w.store.AuditFor(ctx, guest.PIN, 1000)
		notified := 0
		for _, e := range es {
			if e.Action == "residence.stay_notified" {
				notified++
			}
		}
		if notified != callers*each+1 {
			t.Errorf("%d audit entries for the guest, want %d", notified, callers*each+1)
		}
	})
}

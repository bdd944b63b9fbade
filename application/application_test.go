package application_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/stats"
)

func tempFiling(pin cancuoc.PIN, com string) application.Filing {
	return application.Filing{Kind: cancuoc.AppTemporaryResidence, PIN: pin, Payload: raw(application.TemporaryRequest{
		Place: cancuoc.Place{Province: hanoi, Commune: com, Detail: "số 5 phố Đội Cấn"},
		Until: cancuoc.Date{Year: 2027, Month: 3, Day: 1}, Note: "Đi làm"})}
}

// A citizen of Ngọc Hà asks for temporary residence in Ba Đình: only Ba
// Đình's officers see and decide it; an officer elsewhere is refused and
// the refusal is in the person's access log; the approval registers the
// temporary residence with the application as the person's request, once.
func TestTemporaryApproval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lan := w.adult(t, "Trần Thị Lan", cancuoc.Female, ngocHa)
		a, err := w.svc.File(ctx, as(lan), tempFiling("", baDinh))
		if err != nil {
			t.Fatal(err)
		}
		if a.Unit != (cancuoc.UnitRef{Province: hanoi, Commune: baDinh}) || a.FiledBy != lan.PIN || a.Status != cancuoc.AppSubmitted {
			t.Errorf("filed: %+v", a)
		}
		// Tuesday 10:00 + 3 working days: the end of Friday 13 March.
		if want := time.Date(2026, 3, 13, 23, 59, 59, 0, residence.Zone); !a.Due.Equal(want) {
			t.Errorf("due %v, want %v", a.Due.In(residence.Zone), want)
		}
		q, err := w.svc.Queue(ctx, w.ngocHa, application.Queue{})
		if err != nil || len(q) != 0 {
			t.Errorf("Ngọc Hà's queue: %v %v", q, err)
		}
		q, err = w.svc.Queue(ctx, w.baDinh, application.Queue{Kind: cancuoc.AppTemporaryResidence})
		if err != nil || len(q) != 1 || q[0].ID != a.ID {
			t.Fatalf("Ba Đình's queue: %v %v", q, err)
		}
		_, err = w.svc.Get(ctx, w.ngocHa, a.ID, "")
		wantErr(t, "read outside the jurisdiction", err, cancuoc.Forbidden, "outside_jurisdiction")
		_, err = w.svc.Approve(ctx, w.hcmProv, a.ID, application.Decision{Reason: "Đủ điều kiện"})
		wantErr(t, "approval in another province", err, cancuoc.Forbidden, "outside_jurisdiction")
		_, err = w.svc.Approve(ctx, w.auditor, a.ID, application.Decision{Reason: "Đủ điều kiện"})
		wantErr(t, "approval by an auditor", err, cancuoc.Forbidden, "role_forbidden")
		if got := w.audits(t, lan.PIN, "application.approve"); len(got) != 1 || got[0].Outcome != "outside_jurisdiction" || got[0].Actor != w.hcmProv.ID {
			t.Errorf("refused approval not logged: %+v", got)
		}
		if got := w.audits(t, lan.PIN, "application.read"); len(got) != 1 || got[0].Outcome != "outside_jurisdiction" {
			t.Errorf("refused read not logged: %+v", got)
		}
		_, err = w.svc.Approve(ctx, w.baDinh, a.ID, application.Decision{})
		wantErr(t, "approval without a reason", err, cancuoc.Invalid, "reason_required")

		got, err := w.svc.Approve(ctx, w.baDinh, a.ID, application.Decision{Version: a.Version, Reason: "Đủ điều kiện đăng ký tạm trú"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != cancuoc.AppApproved || got.DecidedBy != w.baDinh.ID || got.DecidedAt == nil || got.Version != 2 {
			t.Errorf("approved: %+v", got)
		}
		rec := w.current(t, lan.PIN)
		if rec.TemporaryResidence == nil || rec.TemporaryResidence.Place.Commune != baDinh || rec.TemporaryResidence.Until != (cancuoc.Date{Year: 2027, Month: 3, Day: 1}) {
			t.Errorf("record's temporary residence: %+v", rec.TemporaryResidence)
		}
		hist, _ := w.store.ResidenceHistory(ctx, lan.PIN)
		if len(hist) != 1 || hist[0].Request == nil || hist[0].Request.By != lan.PIN || hist[0].Request.Method != "vneid" ||
			!strings.Contains(hist[0].LegalBasis, a.ID) {
			t.Errorf("residence entries: %+v", hist)
		}
		_, err = w.svc.Approve(ctx, w.baDinh, a.ID, application.Decision{Reason: "Lần nữa"})
		wantErr(t, "second approval", err, cancuoc.Conflict, "application_closed")
		_, err = w.svc.Reject(ctx, w.baDinh, a.ID, application.Decision{Reason: "Lần nữa"})
		wantErr(t, "rejection after approval", err, cancuoc.Conflict, "application_closed")
		if hist, _ := w.store.ResidenceHistory(ctx, lan.PIN); len(hist) != 1 {
			t.Errorf("%d residence entries after retries, want 1", len(hist))
		}
		mine, err := w.svc.Mine(ctx, as(lan))
		if err != nil || len(mine) != 1 || mine[0].Status != cancuoc.AppApproved {
			t.Errorf("citizen's list: %v %v", mine, err)
		}
	})
}

// Racing approvals of one application: one wins, the effect happens once.
func TestApprovalRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lan := w.adult(t, "Trần Thị Lan", cancuoc.Female, ngocHa)
		a, err := w.svc.File(ctx, as(lan), tempFiling("", baDinh))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = w.svc.Approve(ctx, w.baDinh, a.ID, application.Decision{Reason: "Đủ điều kiện"})
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if k := cancuoc.KindOf(err); k != cancuoc.Conflict && k != cancuoc.Unavailable {
				t.Errorf("losing approval: %v", err)
			}
		}
		hist, _ := w.store.ResidenceHistory(ctx, lan.PIN)
		if wins != 1 || len(hist) != 1 {
			t.Errorf("%d approvals won, %d residence entries; want 1 and 1", wins, len(hist))
		}
	})
}

// Bad requests are refused when filed, with the field to fix.
func TestFilingChecks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lan := w.adult(t, "Trần Thị Lan", cancuoc.Female, ngocHa)
		stranger := w.adult(t, "Lê Văn Nam", cancuoc.Male, baDinh)
		file := func(f application.Filing) error { _, err := w.svc.File(ctx, as(lan), f); return err }
		wantErr(t, "officer filing", func() error { _, err := w.svc.File(ctx, w.baDinh, tempFiling("", baDinh)); return err }(),
			cancuoc.Forbidden, "citizen_only")
		wantErr(t, "unknown kind", file(application.Filing{Kind: "passport"}), cancuoc.Invalid, "kind_unknown")
		wantErr(t, "unknown field", file(application.Filing{Kind: cancuoc.AppTemporaryResidence, Payload: []byte(`{"plaec":{}}`)}),
			cancuoc.Invalid, "unknown_field")
		wantErr(t, "temporary residence in the permanent commune", file(tempFiling("", ngocHa)), cancuoc.Invalid, "temporary_in_permanent_commune")
		long := tempFiling("", baDinh)
		long.Payload = raw(application.TemporaryRequest{Place: cancuoc.Place{Province: hanoi, Commune: baDinh, Detail: "x"},
			Until: cancuoc.Date{Year: 2029, Month: 1, Day: 1}})
		wantErr(t, "three years", file(long), cancuoc.Invalid, "temporary_too_long")
		wantErr(t, "for a stranger", func() error { _, err := w.svc.File(ctx, as(lan), tempFiling(stranger.PIN, ngocHa)); return err }(),
			cancuoc.Forbidden, "not_guardian")
		corr := func(changes string, reason string) application.Filing {
			return application.Filing{Kind: cancuoc.AppCorrection, Payload: []byte(`{"changes":` + changes + `,"reason":"` + reason + `"}`)}
		}
		wantErr(t, "correction of the life status", file(corr(`{"life_status":"dead"}`, "sai")), cancuoc.Invalid, "field_not_correctable")
		wantErr(t, "correction without reason", file(corr(`{"blood_type":"A+"}`, "")), cancuoc.Invalid, "reason_required")
		wantErr(t, "invalid blood type", file(corr(`{"blood_type":"Z"}`, "sai")), cancuoc.Invalid, "")
		wantErr(t, "nothing changes", file(corr(`{"full_name":"Trần Thị Lan"}`, "sai")), cancuoc.Invalid, "nothing_changes")
		wantErr(t, "permanent without proof", file(application.Filing{Kind: cancuoc.AppPermanentResidence,
			Payload: raw(application.PermanentRequest{Address: &cancuoc.Place{Province: hanoi, Commune: baDinh, Detail: "x"}})}),
			cancuoc.Invalid, "proof_required")
		if err := file(tempFiling("", baDinh)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "a second open one", file(tempFiling("", baDinh)), cancuoc.Conflict, "application_open")
	})
}

// A parent files for a child under 14: the child joins the parent's new
// household with the parent's request recorded.
func TestGuardianAndHousehold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		mai := w.adult(t, "Phạm Thị Mai", cancuoc.Female, ngocHa)
		child := w.person(t, "Phạm Minh An", cancuoc.Male, cancuoc.Date{Year: 2020, Month: 1, Day: 2}, hanoi, ngocHa, mai)
		hh, err := w.svc.File(ctx, as(mai), application.Filing{Kind: cancuoc.AppPermanentResidence, Payload: raw(application.PermanentRequest{
			Address: &cancuoc.Place{Province: hanoi, Commune: baDinh, Detail: "số 9 phố Kim Mã"}, Proof: "Giấy chứng nhận quyền sử dụng đất số AB 123"})})
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.svc.Approve(ctx, w.baDinh, hh.ID, application.Decision{Reason: "Chỗ ở hợp pháp"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Result == "" || w.current(t, mai.PIN).Household == nil || w.current(t, mai.PIN).Household.ID != got.Result {
			t.Fatalf("household not created: %+v", got)
		}
		join := application.Filing{Kind: cancuoc.AppPermanentResidence, PIN: child.PIN, Payload: raw(application.PermanentRequest{
			HouseholdID: got.Result, Relation: "con", Consent: &cancuoc.HeadConsent{By: mai.PIN, At: now0, Method: "vneid"}, Proof: "Chủ hộ là mẹ"})}
		stranger := w.adult(t, "Lê Văn Nam", cancuoc.Male, baDinh)
		_, err = w.svc.File(ctx, as(stranger), join)
		wantErr(t, "a stranger files for the child", err, cancuoc.Forbidden, "not_guardian")
		j, err := w.svc.File(ctx, as(mai), join)
		if err != nil {
			t.Fatal(err)
		}
		if j.FiledBy != mai.PIN || j.PIN != child.PIN || j.Unit.Commune != baDinh {
			t.Errorf("child's application: %+v", j)
		}
		if _, err := w.svc.Approve(ctx, w.baDinh, j.ID, application.Decision{Reason: "Con nhập hộ mẹ"}); err != nil {
			t.Fatal(err)
		}
		c := w.current(t, child.PIN)
		if c.Household == nil || c.Household.ID != got.Result || c.PermanentResidence.Commune != baDinh {
			t.Errorf("child's record: %+v %+v", c.Household, c.PermanentResidence)
		}
		hist, _ := w.store.ResidenceHistory(ctx, child.PIN)
		if len(hist) == 0 || hist[len(hist)-1].Request == nil || hist[len(hist)-1].Request.By != mai.PIN {
			t.Errorf("child's entry does not record the mother's request: %+v", hist)
		}
	})
}

// Corrections and level 2: approved through the registry and eid by the
// officer of the person's home; a rejection tells the citizen why.
func TestCorrectionLevel2Reject(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lan := w.adult(t, "Trần Thị Lan", cancuoc.Female, ngocHa)
		c, err := w.svc.File(ctx, as(lan), application.Filing{Kind: cancuoc.AppCorrection,
			Payload: []byte(`{"changes":{"blood_type":"A+"},"reason":"Kết quả xét nghiệm nhóm máu của bệnh viện"}`)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Approve(ctx, w.baDinh, c.ID, application.Decision{Reason: "Đúng"})
		wantErr(t, "correction by another commune", err, cancuoc.Forbidden, "outside_jurisdiction")
		if _, err := w.svc.Approve(ctx, w.ngocHa, c.ID, application.Decision{Reason: "Đã đối chiếu giấy xét nghiệm"}); err != nil {
			t.Fatal(err)
		}
		if got := w.current(t, lan.PIN).BloodType; got != "A+" {
			t.Errorf("blood type %q after the correction", got)
		}
		l2, err := w.svc.File(ctx, as(lan), application.Filing{Kind: cancuoc.AppEIDLevel2, Payload: []byte(`{"note":"Tôi sẽ đến trụ sở"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Approve(ctx, w.ngocHa, l2.ID, application.Decision{Reason: "Đã kiểm tra thẻ và khuôn mặt"}); err != nil {
			t.Fatal(err)
		}
		if acc, _ := w.store.AccountByPIN(ctx, lan.PIN); acc.Level != cancuoc.Level2 {
			t.Errorf("account level %d", acc.Level)
		}
		_, err = w.svc.File(ctx, as(lan), application.Filing{Kind: cancuoc.AppEIDLevel2})
		wantErr(t, "level 2 again", err, cancuoc.Conflict, "already_level2")

		r, err := w.svc.File(ctx, as(lan), application.Filing{Kind: cancuoc.AppCorrection,
			Payload: []byte(`{"changes":{"phone":"+84912000111"},"reason":"Số mới"}`)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Reject(ctx, w.ngocHa, r.ID, application.Decision{})
		wantErr(t, "rejection without a reason", err, cancuoc.Invalid, "reason_required")
		if _, err := w.svc.Reject(ctx, w.ngocHa, r.ID, application.Decision{Reason: "Cần xác nhận số điện thoại bằng mã OTP"}); err != nil {
			t.Fatal(err)
		}
		mine, _ := w.svc.Mine(ctx, as(lan))
		found := false
		for _, a := range mine {
			if a.ID == r.ID {
				found = a.Status == cancuoc.AppRejected && strings.Contains(a.Reason, "OTP")
			}
		}
		if !found || w.current(t, lan.PIN).Phone == "+84912000111" {
			t.Errorf("rejection not shown, or applied: %+v", mine)
		}
	})
}

// Withdrawal by the applicant only; overdue applications in the queue
// and in the statistics.
func TestWithdrawOverdueStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lan := w.adult(t, "Trần Thị Lan", cancuoc.Female, ngocHa)
		nam := w.adult(t, "Lê Văn Nam", cancuoc.Male, ngocHa)
		a, err := w.svc.File(ctx, as(lan), tempFiling("", baDinh))
		if err != nil {
			t.Fatal(err)
		}
		b, err := w.svc.File(ctx, as(nam), tempFiling("", baDinh))
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Withdraw(ctx, as(nam), a.ID)
		wantErr(t, "withdrawal by another citizen", err, cancuoc.NotFound, "application_not_found")
		_, err = w.svc.Get(ctx, as(nam), a.ID, "")
		wantErr(t, "another citizen's application", err, cancuoc.NotFound, "application_not_found")
		if _, err := w.svc.Withdraw(ctx, as(lan), a.ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Approve(ctx, w.baDinh, a.ID, application.Decision{Reason: "x"})
		wantErr(t, "approval of a withdrawn one", err, cancuoc.Conflict, "application_closed")

		w.clock.Set(time.Date(2026, 3, 16, 9, 0, 0, 0, residence.Zone)) // Monday after the due Friday
		q, err := w.svc.Queue(ctx, w.baDinh, application.Queue{Overdue: true})
		if err != nil || len(q) != 1 || q[0].ID != b.ID || !q[0].Overdue(w.clock.Now()) {
			t.Errorf("overdue queue: %v %v", q, err)
		}
		st := stats.New(stats.WithTTL(0), stats.WithMinCount(1))
		application.Register(st, w.store, w.clock.Now)
		f, err := st.Figures(ctx, "applications-temporary-residence", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Rows {
			if r.Code == hanoi && (r.Value != 2 || r.Parts[2] != 1 || r.Parts[3] != 1) {
				t.Errorf("Hà Nội: %+v", r)
			}
		}
		if f.Total.Value != 2 {
			t.Errorf("total %+v", f.Total)
		}
	})
}

// A child joins, by a parent's online application, a household known only
// from its members' records (imported paper household books): the filing
// is checked against the household the register opens from them.
func TestJoinRecordOnlyHousehold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		const hid = "HH-PAPER-1"
		mai := w.adult(t, "Đỗ Thị Mai", cancuoc.Female, baDinh)
		if _, err := w.reg.Update(ctx, w.admin, mai.PIN, w.current(t, mai.PIN).Version,
			registry.Meta{Reason: "Nạp sổ hộ khẩu giấy", LegalBasis: "Luật Cư trú 2020, Điều 38"}, func(c *cancuoc.Citizen) error {
				c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: hanoi, Commune: baDinh, Detail: "số 3 phố Đội Cấn"}
				c.Household = &cancuoc.HouseholdLink{ID: hid, HeadPIN: c.PIN, HeadName: c.FullName, Relation: cancuoc.RelationHead}
				return nil
			}); err != nil {
			t.Fatal(err)
		}
		child := w.person(t, "Đỗ Minh Khang", cancuoc.Male, cancuoc.Date{Year: 2021, Month: 4, Day: 5}, hanoi, ngocHa, mai)
		j, err := w.svc.File(ctx, as(mai), application.Filing{Kind: cancuoc.AppPermanentResidence, PIN: child.PIN,
			Payload: raw(application.PermanentRequest{HouseholdID: hid, Relation: "con",
				Consent: &cancuoc.HeadConsent{By: mai.PIN, At: now0, Method: "vneid"}, Proof: "Chủ hộ là mẹ"})})
		if err != nil {
			t.Fatalf("joining a household known from the records: %v", err)
		}
		if _, err := w.svc.Approve(ctx, w.baDinh, j.ID, application.Decision{Reason: "Con nhập hộ mẹ"}); err != nil {
			t.Fatal(err)
		}
		if c := w.current(t, child.PIN); c.Household == nil || c.Household.ID != hid {
			t.Errorf("child's household: %+v", c.Household)
		}
	})
}

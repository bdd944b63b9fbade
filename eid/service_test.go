package eid

import (
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/storetest"
)

func TestRegistrationRules(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		dead := e.citizen(t, 20, "Trần Văn Mất", cancuoc.Date{Year: 1950, Month: 1, Day: 2}, e.adult.Home)
		dead.LifeStatus, dead.DeathDate, dead.Version = cancuoc.Dead, cancuoc.Date{Year: 2025}, 2
		if err := st.UpdateCitizen(ctx, dead, 1); err != nil {
			t.Fatal(err)
		}
		partial := e.citizen(t, 21, "Lê Thị Năm", cancuoc.Date{Year: 1960}, e.adult.Home)
		a := e.adult
		for _, tc := range []struct {
			name string
			r    Registration
			kind cancuoc.Kind
			code string
		}{
			{"unknown PIN", Registration{PIN: "001090999999", FullName: a.FullName, BirthDate: a.BirthDate, Phone: "0912345678"}, cancuoc.Invalid, "registry_mismatch"},
			{"wrong name", Registration{PIN: a.PIN, FullName: "Nguyễn Văn Đạt", BirthDate: a.BirthDate, Phone: "0912345678"}, cancuoc.Invalid, "registry_mismatch"},
			{"wrong birth date", Registration{PIN: a.PIN, FullName: a.FullName, BirthDate: cancuoc.Date{Year: 1990, Month: 5, Day: 18}, Phone: "0912345678"}, cancuoc.Invalid, "registry_mismatch"},
			{"dead", Registration{PIN: dead.PIN, FullName: dead.FullName, BirthDate: dead.BirthDate, Phone: "0912345678"}, cancuoc.Forbidden, "citizen_dead"},
			{"child", Registration{PIN: e.child.PIN, FullName: e.child.FullName, BirthDate: e.child.BirthDate, Phone: "0912345678"}, cancuoc.Forbidden, "too_young"},
			{"bad phone", Registration{PIN: a.PIN, FullName: a.FullName, BirthDate: a.BirthDate, Phone: "024 3825 1234"}, cancuoc.Invalid, "phone_format"},
			{"bad email", Registration{PIN: a.PIN, FullName: a.FullName, BirthDate: a.BirthDate, Phone: "0912345678", Email: "duc at example"}, cancuoc.Invalid, "email_format"},
		} {
			_, err := e.s.StartRegistration(ctx, tc.r, "192.0.2.1")
			wantKind(t, tc.name, err, tc.kind, tc.code)
		}
		// Name without diacritics, other case and spacing, matches.
		if _, err := e.s.StartRegistration(ctx, Registration{PIN: a.PIN, FullName: "  nguyen VAN   duc", BirthDate: a.BirthDate, Phone: "+84 912 345 678"}, "192.0.2.1"); err != nil {
			t.Errorf("diacritic-free name: %v", err)
		}
		// A year-only record accepts any date in that year.
		if _, err := e.s.StartRegistration(ctx, Registration{PIN: partial.PIN, FullName: partial.FullName, BirthDate: cancuoc.Date{Year: 1960, Month: 7, Day: 1}, Phone: "0987654321"}, "192.0.2.1"); err != nil {
			t.Errorf("partial birth date: %v", err)
		}
		if e.sms.count("+84912345678") != 1 {
			t.Errorf("refused registrations sent codes: %d messages", e.sms.count("+84912345678"))
		}
	})
}

func TestRegistrationFlow(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		r := Registration{PIN: e.adult.PIN, FullName: e.adult.FullName, BirthDate: e.adult.BirthDate, Phone: "0912 345 678", Email: "duc@example.vn"}
		p, err := e.s.StartRegistration(ctx, r, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if p.SentTo != "***678" {
			t.Errorf("SentTo %q", p.SentTo)
		}
		code := e.sms.last(t, "+84912345678")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		// Form errors are checked before the code is spent.
		_, err = e.s.ConfirmRegistration(ctx, p.ChallengeID, code, "short", photo(t))
		wantKind(t, "short password", err, cancuoc.Invalid, "password_length")
		_, err = e.s.ConfirmRegistration(ctx, p.ChallengeID, code, testPassword, Photo{ContentType: "image/jpeg", Data: photo(t).Data})
		wantKind(t, "mislabelled photo", err, cancuoc.Invalid, "photo_type")
		_, err = e.s.ConfirmRegistration(ctx, p.ChallengeID, code, testPassword, Photo{ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nnot really")})
		wantKind(t, "broken photo", err, cancuoc.Invalid, "photo_invalid")
		_, err = e.s.ConfirmRegistration(ctx, p.ChallengeID, wrong, testPassword, photo(t))
		wantKind(t, "wrong code", err, cancuoc.Invalid, "invalid_code")

		a, err := e.s.ConfirmRegistration(ctx, p.ChallengeID, code, testPassword, photo(t))
		if err != nil {
			t.Fatal(err)
		}
		if a.Level != cancuoc.Level1 || a.Status != cancuoc.AccountActive || a.Phone != "+84912345678" || a.Email != "duc@example.vn" || a.PIN != e.adult.PIN {
			t.Errorf("account %+v", a)
		}
		// Single use.
		_, err = e.s.ConfirmRegistration(ctx, p.ChallengeID, code, testPassword, photo(t))
		wantKind(t, "code reused", err, cancuoc.Invalid, "challenge_expired")
		if ph, err := st.FacePhoto(ctx, a.ID); err != nil || ph.ContentType != "image/png" || len(ph.SHA256) != 32 {
			t.Errorf("photo: %+v, %v", ph, err)
		}
		// One account per PIN.
		_, err = e.s.StartRegistration(ctx, r, "192.0.2.1")
		wantKind(t, "second registration", err, cancuoc.Conflict, "account_exists")
		got, err := e.s.VerifyPassword(ctx, e.adult.PIN, testPassword, "192.0.2.1")
		if err != nil || got.ID != a.ID {
			t.Fatalf("VerifyPassword: %v, %v", got, err)
		}
		evs, _ := st.EventsAfter(ctx, 0, 100)
		if len(evs) == 0 || evs[len(evs)-1].Type != cancuoc.EventAccountCreated {
			t.Errorf("no account.created event: %v", evs)
		}
	})
}

func TestOTPLimits(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		r := Registration{PIN: e.adult.PIN, FullName: e.adult.FullName, BirthDate: e.adult.BirthDate, Phone: "0912345678"}
		// Attempts are limited: after five wrong codes even the right one fails.
		p, _ := e.s.StartRegistration(ctx, r, "192.0.2.1")
		code := e.sms.last(t, "+84912345678")
		for range 5 {
			_, _ = e.s.ConfirmRegistration(ctx, p.ChallengeID, "999999x", testPassword, photo(t))
		}
		_, err := e.s.ConfirmRegistration(ctx, p.ChallengeID, code, testPassword, photo(t))
		wantKind(t, "after 5 wrong codes", err, cancuoc.Invalid, "challenge_expired")
		// Short-lived: the code expires.
		p, _ = e.s.StartRegistration(ctx, r, "192.0.2.1")
		code = e.sms.last(t, "+84912345678")
		e.clock.Add(5*time.Minute + time.Second)
		_, err = e.s.ConfirmRegistration(ctx, p.ChallengeID, code, testPassword, photo(t))
		wantKind(t, "expired code", err, cancuoc.Invalid, "challenge_expired")
		if n, err := st.DeleteChallenges(ctx, e.clock.Now()); err != nil || n != 2 {
			t.Errorf("DeleteChallenges = %d, %v", n, err)
		}
	})
}

// TestLockout checks the growing delay per account and per source with an
// injected clock, and that a correct password during the delay is refused.
func TestLockout(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st, func(c *Config) {
			c.AccountLockout = LockoutPolicy{Free: 3, Base: 30 * time.Second, Max: 10 * time.Minute, Window: 24 * time.Hour}
			c.SourceLockout = LockoutPolicy{Free: 10, Base: 10 * time.Second, Max: time.Minute, Window: time.Hour}
		})
		ctx := t.Context()
		e.register(t, e.adult, "0912345678")
		pin := e.adult.PIN
		for i := 1; i <= 3; i++ {
			_, err := e.s.VerifyPassword(ctx, pin, "sai", "198.51.100."+string(rune('0'+i)))
			wantKind(t, "wrong password", err, cancuoc.Unauthenticated, "invalid_credentials")
		}
		// The 4th failure starts a 30 s delay, the 5th 60 s.
		_, err := e.s.VerifyPassword(ctx, pin, "sai", "198.51.100.4")
		wantKind(t, "4th", err, cancuoc.Unauthenticated, "invalid_credentials")
		_, err = e.s.VerifyPassword(ctx, pin, testPassword, "198.51.100.5")
		wantKind(t, "right password during delay", err, cancuoc.Unavailable, "locked_out")
		if err != nil && !strings.Contains(err.(*cancuoc.Error).MessageEN, "30 seconds") {
			t.Errorf("message %q does not give the delay", err.(*cancuoc.Error).MessageEN)
		}
		e.clock.Add(31 * time.Second)
		_, err = e.s.VerifyPassword(ctx, pin, "sai", "198.51.100.6")
		wantKind(t, "5th", err, cancuoc.Unauthenticated, "invalid_credentials")
		e.clock.Add(31 * time.Second)
		_, err = e.s.VerifyPassword(ctx, pin, testPassword, "198.51.100.7")
		wantKind(t, "30 s into a 60 s delay", err, cancuoc.Unavailable, "locked_out")
		e.clock.Add(30 * time.Second)
		if _, err := e.s.VerifyPassword(ctx, pin, testPassword, "198.51.100.7"); err != nil {
			t.Fatalf("after the delay: %v", err)
		}
		// Success cleared the account's count.
		if th, _ := st.Throttle(ctx, accountKey(mustAccount(t, e, pin).ID)); th.Failures != 0 {
			t.Errorf("failures after success: %d", th.Failures)
		}

		// Per source: one address trying many PINs is slowed down even
		// though no single account reaches its limit.
		src := "203.0.113.50"
		for i := range 11 {
			_, err := e.s.VerifyPassword(ctx, storetestPIN(100+i), "x", src)
			wantKind(t, "spray", err, cancuoc.Unauthenticated, "invalid_credentials")
		}
		_, err = e.s.VerifyPassword(ctx, pin, testPassword, src)
		wantKind(t, "sprayer's source", err, cancuoc.Unavailable, "locked_out")
		if _, err := e.s.VerifyPassword(ctx, pin, testPassword, "203.0.113.51"); err != nil {
			t.Errorf("another source: %v", err)
		}
		e.clock.Add(11 * time.Second)
		if _, err := e.s.VerifyPassword(ctx, pin, testPassword, src); err != nil {
			t.Errorf("source after its delay: %v", err)
		}
	})
}

func TestLevelDelays(t *testing.T) {
	p := LockoutPolicy{Free: 2, Base: time.Second, Max: 5 * time.Second}
	for n, want := range []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
	if got := p.Delay(1000); got != 5*time.Second {
		t.Errorf("Delay(1000) = %v", got)
	}
}

func TestStatusAfterPassword(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		if _, err := e.s.Lock(ctx, a, a.PIN); err != nil {
			t.Fatal(err)
		}
		// A wrong password learns nothing about the lock; the right one does.
		_, err := e.s.VerifyPassword(ctx, a.PIN, "sai", "")
		wantKind(t, "wrong password on locked", err, cancuoc.Unauthenticated, "invalid_credentials")
		_, err = e.s.VerifyPassword(ctx, a.PIN, testPassword, "")
		wantKind(t, "locked", err, cancuoc.Forbidden, "account_locked")
		_, err = e.s.Lock(ctx, a, a.PIN)
		wantKind(t, "lock twice", err, cancuoc.Forbidden, "account_locked")

		// Unlock: officer of the right place only, with a reason.
		far := officer(cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: "79"})
		_, err = e.s.Unlock(ctx, far, a.PIN, "kiểm tra trực tiếp")
		wantKind(t, "other province", err, cancuoc.Forbidden, "outside_jurisdiction")
		ministry := officer(cancuoc.RoleMinistrySystem, cancuoc.Jurisdiction{})
		_, err = e.s.Unlock(ctx, ministry, a.PIN, "x")
		wantKind(t, "ministry", err, cancuoc.Forbidden, "role_forbidden")
		local := officer(cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: "01", Commune: "00004"})
		_, err = e.s.Unlock(ctx, local, a.PIN, "")
		wantKind(t, "no reason", err, cancuoc.Invalid, "reason_required")
		if _, err := e.s.Unlock(ctx, local, a.PIN, "Kiểm tra CCCD tại trụ sở"); err != nil {
			t.Fatal(err)
		}
		_, err = e.s.Unlock(ctx, local, a.PIN, "again")
		wantKind(t, "unlock twice", err, cancuoc.Conflict, "not_locked")
		if _, err := e.s.VerifyPassword(ctx, a.PIN, testPassword, ""); err != nil {
			t.Errorf("after unlock: %v", err)
		}
	})
}

func TestLevel2(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		for _, tc := range []struct {
			name string
			p    *cancuoc.Principal
			kind cancuoc.Kind
			code string
		}{
			{"other commune", officer(cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: "01", Commune: "00008"}), cancuoc.Forbidden, "outside_jurisdiction"},
			{"auditor", officer(cancuoc.RoleAuditor, cancuoc.Jurisdiction{}), cancuoc.Forbidden, "role_forbidden"},
			{"nobody", nil, cancuoc.Unauthenticated, "unauthenticated"},
		} {
			_, err := e.s.GrantLevel2(ctx, tc.p, a.PIN, "kiểm tra trực tiếp")
			wantKind(t, tc.name, err, tc.kind, tc.code)
		}
		p := officer(cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: "01"})
		got, err := e.s.GrantLevel2(ctx, p, a.PIN, "Đối chiếu vân tay và khuôn mặt")
		if err != nil {
			t.Fatal(err)
		}
		if got.Level != cancuoc.Level2 || got.Level2 == nil || got.Level2.By != p.ID || got.Level2.Method != "in_person" || got.Version != a.Version+1 {
			t.Errorf("after grant: %+v %+v", got, got.Level2)
		}
		_, err = e.s.GrantLevel2(ctx, p, a.PIN, "again")
		wantKind(t, "twice", err, cancuoc.Conflict, "already_level2")
		entries, _ := st.AuditFor(ctx, a.PIN, 10)
		found := false
		for _, en := range entries {
			found = found || (en.Action == "eid.level2" && en.Actor == p.ID && en.Purpose == "Đối chiếu vân tay và khuôn mặt")
		}
		if !found {
			t.Errorf("no audit entry of the grant: %+v", entries)
		}
	})
}

func TestLevel2ByChip(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		good := ChipEvidence{PIN: a.PIN, DocumentNumber: string(a.PIN[3:]), Access: "pace", PassiveAuth: true, ChipAuth: true,
			FaceMatch: true, Verifier: "mrtd", VerifiedAt: e.clock.Now().Add(-time.Minute)}
		for _, tc := range []struct {
			name string
			mod  func(*ChipEvidence)
			code string
		}{
			{"other card", func(c *ChipEvidence) { c.PIN = e.child.PIN }, "chip_pin_mismatch"},
			{"no PA", func(c *ChipEvidence) { c.PassiveAuth = false }, "chip_not_genuine"},
			{"no AA/CA", func(c *ChipEvidence) { c.ChipAuth = false }, "chip_clone_check"},
			{"no face", func(c *ChipEvidence) { c.FaceMatch = false }, "face_mismatch"},
			{"stale", func(c *ChipEvidence) { c.VerifiedAt = e.clock.Now().Add(-time.Hour) }, "chip_evidence_stale"},
		} {
			ev := good
			tc.mod(&ev)
			wantKind(t, tc.name, e.s.RaiseToLevel2ByChip(ctx, a.PIN, ev), cancuoc.Invalid, tc.code)
		}
		if err := e.s.RaiseToLevel2ByChip(ctx, a.PIN, good); err != nil {
			t.Fatal(err)
		}
		got, _ := e.s.AccountByPIN(ctx, a.PIN)
		if got.Level != cancuoc.Level2 || got.Level2.Method != "chip" || got.Level2.By != "chip:mrtd" {
			t.Errorf("after chip: %+v", got.Level2)
		}
	})
}

func TestChildren(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		g := e.register(t, e.adult, "0912345678")
		req := ChildRequest{PIN: e.child.PIN, Password: "mật khẩu của con"}
		_, err := e.s.CreateChildAccount(ctx, g, req)
		wantKind(t, "level 1 guardian", err, cancuoc.Forbidden, "level2_required")
		g, err = e.s.GrantLevel2(ctx, officer(cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{}), g.PIN, "kiểm tra trực tiếp")
		if err != nil {
			t.Fatal(err)
		}
		stranger := e.citizen(t, 30, "Phạm Văn Lạ", cancuoc.Date{Year: 1985, Month: 1, Day: 1}, e.adult.Home)
		sa := e.register(t, stranger, "0987000111")
		sa, _ = e.s.GrantLevel2(ctx, officer(cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{}), sa.PIN, "kiểm tra")
		_, err = e.s.CreateChildAccount(ctx, sa, req)
		wantKind(t, "not the parent", err, cancuoc.Invalid, "not_guardian")
		teen := e.citizen(t, 31, "Nguyễn Văn Lớn", cancuoc.Date{Year: 2010, Month: 1, Day: 1}, e.adult.Home)
		teen.Father, teen.Version = &cancuoc.Relative{PIN: g.PIN}, 2
		if err := st.UpdateCitizen(ctx, teen, 1); err != nil {
			t.Fatal(err)
		}
		_, err = e.s.CreateChildAccount(ctx, g, ChildRequest{PIN: teen.PIN, Password: "mật khẩu của con"})
		wantKind(t, "16 years old", err, cancuoc.Forbidden, "not_a_child")

		child, err := e.s.CreateChildAccount(ctx, g, req)
		if err != nil {
			t.Fatal(err)
		}
		if child.Level != cancuoc.Level1 || child.GuardianPIN != g.PIN || child.Phone != g.Phone {
			t.Errorf("child account %+v", child)
		}
		_, err = e.s.CreateChildAccount(ctx, g, req)
		wantKind(t, "twice", err, cancuoc.Conflict, "account_exists")
		kids, err := e.s.Children(ctx, g)
		if err != nil || len(kids) != 1 || kids[0].ID != child.ID {
			t.Errorf("Children = %v, %v", kids, err)
		}
		// The child logs in; the guardian sees it, a stranger does not.
		if _, err := e.s.VerifyPassword(ctx, child.PIN, "mật khẩu của con", ""); err != nil {
			t.Fatal(err)
		}
		if err := e.s.RecordLogin(ctx, child.ID, "cong-dich-vu-cong", []string{"pwd"}, "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
		logins, err := e.s.ChildLogins(ctx, g, child.PIN, 10)
		if err != nil || len(logins) != 1 || logins[0].ClientID != "cong-dich-vu-cong" {
			t.Errorf("ChildLogins = %v, %v", logins, err)
		}
		_, err = e.s.ChildLogins(ctx, sa, child.PIN, 10)
		wantKind(t, "stranger", err, cancuoc.NotFound, "")
		// The guardian may lock the child's account.
		if _, err := e.s.Lock(ctx, g, child.PIN); err != nil {
			t.Errorf("guardian lock: %v", err)
		}
		_, err = e.s.Lock(ctx, sa, g.PIN)
		wantKind(t, "lock another's", err, cancuoc.Forbidden, "not_holder")
	})
}

func TestOrganisations(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		boss := e.register(t, e.adult, "0912345678")
		_, err := e.s.CreateOrganisation(ctx, boss, "Bệnh viện Đa khoa")
		wantKind(t, "level 1", err, cancuoc.Forbidden, "level2_required")
		boss, _ = e.s.GrantLevel2(ctx, officer(cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{}), boss.PIN, "kiểm tra")
		org, err := e.s.CreateOrganisation(ctx, boss, "  Bệnh viện   Đa khoa ")
		if err != nil {
			t.Fatal(err)
		}
		if org.Kind != cancuoc.AccountOrganisation || org.Level != cancuoc.LevelNone || org.OrgName != "Bệnh viện Đa khoa" || org.PIN != "" {
			t.Errorf("org %+v", org)
		}
		clerk := e.citizen(t, 40, "Đỗ Thị Văn Thư", cancuoc.Date{Year: 1995, Month: 2, Day: 3}, e.adult.Home)
		ca := e.register(t, clerk, "0977000222")
		_, err = e.s.AddOrgMember(ctx, ca, org.ID, boss.PIN, cancuoc.OrgMember)
		wantKind(t, "not admin", err, cancuoc.Forbidden, "not_org_admin")
		_, err = e.s.AddOrgMember(ctx, boss, org.ID, clerk.PIN, "owner")
		wantKind(t, "bad role", err, cancuoc.Invalid, "role_unknown")
		_, err = e.s.AddOrgMember(ctx, boss, org.ID, "001095999999", cancuoc.OrgMember)
		wantKind(t, "no account", err, cancuoc.Invalid, "member_no_account")
		if _, err := e.s.AddOrgMember(ctx, boss, org.ID, clerk.PIN, cancuoc.OrgMember); err != nil {
			t.Fatal(err)
		}
		ms, err := e.s.OrgMembers(ctx, ca, org.ID)
		if err != nil || len(ms) != 2 {
			t.Fatalf("OrgMembers = %v, %v", ms, err)
		}
		if role, err := e.s.ActsFor(ctx, ca.ID, org.ID); err != nil || role != cancuoc.OrgMember {
			t.Errorf("ActsFor = %q, %v", role, err)
		}
		_, err = e.s.AddOrgMember(ctx, ca, org.ID, clerk.PIN, cancuoc.OrgAdmin)
		wantKind(t, "member promotes self", err, cancuoc.Forbidden, "not_org_admin")
		_, err = e.s.OrgMembers(ctx, ca, boss.ID)
		wantKind(t, "citizen as org", err, cancuoc.NotFound, "")
	})
}

func TestPasswordReset(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		// Unknown PINs get an answer of the same shape and no SMS.
		before := e.sms.count("+84912345678")
		p, err := e.s.StartPasswordReset(ctx, "001090999999", "192.0.2.1")
		if err != nil || p.ChallengeID == "" {
			t.Errorf("unknown PIN: %+v, %v", p, err)
		}
		p, err = e.s.StartPasswordReset(ctx, a.PIN, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if e.sms.count("+84912345678") != before+1 {
			t.Fatal("no code sent to the verified phone")
		}
		// Failed attempts before the reset are forgotten by it.
		for range 8 {
			_, _ = e.s.VerifyPassword(ctx, a.PIN, "sai", "")
		}
		if err := e.s.ConfirmPasswordReset(ctx, p.ChallengeID, e.sms.last(t, "+84912345678"), "mật khẩu mới 456"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.VerifyPassword(ctx, a.PIN, "mật khẩu mới 456", ""); err != nil {
			t.Errorf("new password: %v", err)
		}
		_, err = e.s.VerifyPassword(ctx, a.PIN, testPassword, "")
		wantKind(t, "old password", err, cancuoc.Unauthenticated, "invalid_credentials")
	})
}

func TestPasswordRehash(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		old, _ := st.Secrets(ctx, a.ID)
		// The deployment raises the cost: the next login upgrades the hash.
		cfg := e.s.Config()
		cfg.Password = PasswordParams{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
		s2, err := New(st, e.sms, cfg, WithClock(e.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s2.VerifyPassword(ctx, a.PIN, testPassword, ""); err != nil {
			t.Fatal(err)
		}
		now, _ := st.Secrets(ctx, a.ID)
		if now.PasswordHash == old.PasswordHash || !strings.Contains(now.PasswordHash, "m=8192,t=1,p=1") {
			t.Errorf("hash not upgraded: %q", now.PasswordHash)
		}
		if _, err := s2.VerifyPassword(ctx, a.PIN, testPassword, ""); err != nil {
			t.Errorf("after upgrade: %v", err)
		}
	})
}

func TestTOTP(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		if has, _ := e.s.HasTOTP(ctx, a.ID); has {
			t.Fatal("HasTOTP before enrolment")
		}
		err := e.s.VerifyTOTP(ctx, a.ID, "123456", "")
		wantKind(t, "not enrolled", err, cancuoc.Unauthenticated, "invalid_otp")
		en, err := e.s.BeginTOTP(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(en.URI, "otpauth://totp/") || !strings.Contains(en.URI, "secret="+en.Secret) || strings.Contains(en.URI, string(a.PIN)) {
			t.Errorf("URI %q", en.URI)
		}
		code, _ := TOTPCode(en.Secret, e.clock.Now(), 6)
		wantKind(t, "wrong first code", e.s.ConfirmTOTP(ctx, a, en.ChallengeID, flip(code)), cancuoc.Invalid, "invalid_code")
		if err := e.s.ConfirmTOTP(ctx, a, en.ChallengeID, code); err != nil {
			t.Fatal(err)
		}
		if has, _ := e.s.HasTOTP(ctx, a.ID); !has {
			t.Fatal("HasTOTP after enrolment")
		}
		// The enrolment code's step is used: the same code is a replay.
		wantKind(t, "replay of enrolment code", e.s.VerifyTOTP(ctx, a.ID, code, ""), cancuoc.Unauthenticated, "invalid_otp")
		e.clock.Add(30 * time.Second)
		code, _ = TOTPCode(en.Secret, e.clock.Now(), 6)
		if err := e.s.VerifyTOTP(ctx, a.ID, code, "192.0.2.1"); err != nil {
			t.Fatalf("VerifyTOTP: %v", err)
		}
		wantKind(t, "replay", e.s.VerifyTOTP(ctx, a.ID, code, ""), cancuoc.Unauthenticated, "invalid_otp")
		// Guessing is throttled like passwords.
		for range 8 {
			_ = e.s.VerifyTOTP(ctx, a.ID, "000000", "")
		}
		// The next step's code (accepted for clock drift) is refused now.
		code, _ = TOTPCode(en.Secret, e.clock.Now().Add(30*time.Second), 6)
		wantKind(t, "locked out", e.s.VerifyTOTP(ctx, a.ID, code, ""), cancuoc.Unavailable, "locked_out")
	})
}

func TestRegistryEvents(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		other := e.citizen(t, 50, "Vũ Văn Sống", cancuoc.Date{Year: 1980, Month: 1, Day: 1}, e.adult.Home)
		b := e.register(t, other, "0966000333")
		// The registry writes these events with the changes; read them
		// from the outbox as the dispatcher will.
		emit := func(c *cancuoc.Citizen, typ string, mod func(*cancuoc.Citizen)) {
			n := c.Clone()
			mod(n)
			n.Version = c.Version + 1
			if err := st.InTx(ctx, func(tx cancuoc.Tx) error {
				if err := tx.UpdateCitizen(ctx, n, c.Version); err != nil {
					return err
				}
				return tx.AppendEvent(ctx, &cancuoc.Event{ID: "ev-" + typ + string(c.PIN), Type: typ, PIN: c.PIN, Version: n.Version, Actor: "p_x", At: e.clock.Now()})
			}); err != nil {
				t.Fatal(err)
			}
			*c = *n
		}
		emit(e.adult, cancuoc.EventCitizenMissing, func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Missing })
		emit(other, cancuoc.EventCitizenDied, func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Dead })
		emit(e.adult, cancuoc.EventCitizenUpdated, func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Alive })
		evs, err := st.EventsAfter(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for pass := range 2 { // twice: handling is idempotent
			for _, ev := range evs {
				if err := e.s.HandleRegistryEvent(ctx, ev); err != nil {
					t.Fatalf("pass %d, %s: %v", pass, ev.Type, err)
				}
			}
		}
		// Missing suspends; alive again lifts it. Death closes, for good.
		acc, _ := e.s.AccountByPIN(ctx, a.PIN)
		if acc.Status != cancuoc.AccountActive {
			t.Errorf("returned citizen: %s", acc.Status)
		}
		acc, _ = e.s.AccountByPIN(ctx, b.PIN)
		if acc.Status != cancuoc.AccountClosed {
			t.Errorf("dead citizen: %s", acc.Status)
		}
		_, err = e.s.VerifyPassword(ctx, b.PIN, testPassword, "")
		wantKind(t, "closed", err, cancuoc.Forbidden, "account_closed")
		// Handling only the missing event leaves the account suspended.
		for _, ev := range evs {
			if ev.Type == cancuoc.EventCitizenMissing {
				c2 := e.adult.Clone()
				c2.LifeStatus, c2.Version = cancuoc.Missing, e.adult.Version+1
				if err := st.UpdateCitizen(ctx, c2, e.adult.Version); err != nil {
					t.Fatal(err)
				}
				if err := e.s.HandleRegistryEvent(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
		}
		acc, _ = e.s.AccountByPIN(ctx, a.PIN)
		if acc.Status != cancuoc.AccountSuspended {
			t.Errorf("missing citizen: %s", acc.Status)
		}
		_, err = e.s.VerifyPassword(ctx, a.PIN, testPassword, "")
		wantKind(t, "suspended", err, cancuoc.Forbidden, "account_suspended")
		// An update that names the fields it changed, none of them the
		// life status, lifts nothing (even with the record alive again).
		alive := e.adult.Clone()
		alive.Version = e.adult.Version + 2
		if err := st.UpdateCitizen(ctx, alive, e.adult.Version+1); err != nil {
			t.Fatal(err)
		}
		upd := cancuoc.Event{ID: "ev-other", Type: cancuoc.EventCitizenUpdated, PIN: a.PIN, Data: []byte(`{"fields":["household"]}`)}
		if err := e.s.HandleRegistryEvent(ctx, upd); err != nil {
			t.Fatal(err)
		}
		if acc, _ = e.s.AccountByPIN(ctx, a.PIN); acc.Status != cancuoc.AccountSuspended {
			t.Errorf("after an update of other fields: %s", acc.Status)
		}
	})
}

func mustAccount(t *testing.T, e *env, pin cancuoc.PIN) *cancuoc.Account {
	t.Helper()
	a, err := e.s.AccountByPIN(t.Context(), pin)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func storetestPIN(n int) cancuoc.PIN {
	p, _ := cancuoc.NewPIN("001", cancuoc.Male, 1990, uint32(n))
	return p
}

// flip changes a code's last digit.
func flip(code string) string {
	b := []byte(code)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}

// TestRegistryEventWithoutAccountWritesNothing: a registry event about a
// person without an account (most of them: newborns) is settled on a read,
// not a write transaction each.
func TestRegistryEventWithoutAccountWritesNothing(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		counted := &storetest.TxCounter{Store: st}
		e := newEnv(t, counted)
		ctx := t.Context()
		before := counted.Count()
		for _, typ := range []string{cancuoc.EventCitizenUpdated, cancuoc.EventCitizenMissing, cancuoc.EventCitizenDied} {
			if err := e.s.HandleRegistryEvent(ctx, cancuoc.Event{ID: "ev-" + typ, Type: typ, PIN: e.child.PIN}); err != nil {
				t.Fatal(err)
			}
		}
		if n := counted.Count() - before; n != 0 {
			t.Errorf("%d write transactions for a person without an account, want 0", n)
		}
	})
}

// TestRegistryEventReplay: an account follows the citizen's record as it
// is when an event is handled, so old events delivered again (a consumer
// recreated from the stream's start, a redelivery) neither lift the
// holder's lock nor suspend or close the account of someone alive; and a
// lock outlasts a declaration of missing.
func TestRegistryEventReplay(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		emit := func(typ string, life cancuoc.LifeStatus) cancuoc.Event {
			n := e.adult.Clone()
			n.LifeStatus, n.Version = life, e.adult.Version+1
			if err := st.UpdateCitizen(ctx, n, e.adult.Version); err != nil {
				t.Fatal(err)
			}
			*e.adult = *n
			return cancuoc.Event{ID: "ev-" + typ + string(n.PIN) + string(life), Type: typ, PIN: n.PIN, Version: n.Version, Actor: "p_x", At: e.clock.Now()}
		}
		handle := func(evs ...cancuoc.Event) {
			t.Helper()
			for _, ev := range evs {
				if err := e.s.HandleRegistryEvent(ctx, ev); err != nil {
					t.Fatalf("%s: %v", ev.Type, err)
				}
			}
		}
		missing := emit(cancuoc.EventCitizenMissing, cancuoc.Missing)
		handle(missing)
		if s := mustAccount(t, e, a.PIN).Status; s != cancuoc.AccountSuspended {
			t.Fatalf("missing: %s, want suspended", s)
		}
		back := emit(cancuoc.EventCitizenUpdated, cancuoc.Alive)
		handle(back)
		acc := mustAccount(t, e, a.PIN)
		if acc.Status != cancuoc.AccountActive {
			t.Fatalf("back: %s, want active", acc.Status)
		}
		if _, err := e.s.Lock(ctx, acc, a.PIN); err != nil {
			t.Fatal(err)
		}
		handle(missing, back) // delivered again, in order
		if s := mustAccount(t, e, a.PIN).Status; s != cancuoc.AccountLocked {
			t.Errorf("old events again after the holder's lock: %s, want locked", s)
		}
		// Missing while locked: the lock stays, and so after the return.
		handle(emit(cancuoc.EventCitizenMissing, cancuoc.Missing), emit(cancuoc.EventCitizenUpdated, cancuoc.Alive))
		if s := mustAccount(t, e, a.PIN).Status; s != cancuoc.AccountLocked {
			t.Errorf("missing and back while locked: %s, want locked", s)
		}
		// A death record corrected: its event again closes nothing.
		died := emit(cancuoc.EventCitizenDied, cancuoc.Dead)
		emit(cancuoc.EventCitizenUpdated, cancuoc.Alive)
		handle(died)
		if s := mustAccount(t, e, a.PIN).Status; s == cancuoc.AccountClosed {
			t.Errorf("a corrected death's event closed the account")
		}
	})
}

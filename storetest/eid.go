package storetest

import (
	"bytes"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunEID runs the conformance suite of cancuoc.AccountStore: accounts,
// secrets, passkeys, challenges, throttles, photos, logins and
// organisation members. open is as for Run.
func RunEID(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"AccountRoundTrip", testAccountRoundTrip},
		{"AccountOnePerPIN", testAccountOnePerPIN},
		{"AccountUpdate", testAccountUpdate},
		{"AccountsByGuardian", testAccountsByGuardian},
		{"Secrets", testSecrets},
		{"Passkeys", testPasskeys},
		{"AccountPasskeysConsent", testAccountPasskeysConsent},
		{"Challenges", testChallenges},
		{"ChallengeRace", testChallengeRace},
		{"Throttle", testThrottle},
		{"ThrottleConcurrent", testThrottleConcurrent},
		{"FacePhoto", testFacePhoto},
		{"Logins", testLogins},
		{"OrgMembers", testOrgMembers},
		{"AccountTxRollback", testAccountTxRollback},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// Account returns a level-1 citizen account for pin, fixture style.
func Account(id string, pin cancuoc.PIN) *cancuoc.Account {
	return &cancuoc.Account{ID: id, Kind: cancuoc.AccountCitizen, PIN: pin, Level: cancuoc.Level1,
		Status: cancuoc.AccountActive, Phone: "+84912345678", Email: "duc@example.vn",
		CreatedAt: T0, UpdatedAt: T0, Version: 1}
}

func sameAccount(t *testing.T, what string, got, want *cancuoc.Account) {
	t.Helper()
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
		t.Errorf("%s: times %v/%v, want %v/%v", what, g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt)
	}
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if (g.Level2 == nil) != (w.Level2 == nil) {
		t.Errorf("%s: level2 %+v, want %+v", what, g.Level2, w.Level2)
		return
	}
	if g.Level2 != nil {
		gl, wl := *g.Level2, *w.Level2
		if !gl.At.Equal(wl.At) {
			t.Errorf("%s: level2.at %v, want %v", what, gl.At, wl.At)
		}
		gl.At, wl.At = time.Time{}, time.Time{}
		if gl != wl {
			t.Errorf("%s: level2 %+v, want %+v", what, gl, wl)
		}
		g.Level2, w.Level2 = nil, nil
	}
	if g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func testAccountRoundTrip(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	a := Account("a1", PIN(1))
	a.Level2 = &cancuoc.LevelGrant{Method: "in_person", By: "p_officer", Reason: "kiểm tra trực tiếp", At: T0}
	a.Level = cancuoc.Level2
	if err := s.InsertAccount(ctx, a); err != nil {
		t.Fatalf("InsertAccount: %v", err)
	}
	got, err := s.Account(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	sameAccount(t, "Account", got, a)
	got, err = s.AccountByPIN(ctx, PIN(1))
	if err != nil {
		t.Fatal(err)
	}
	sameAccount(t, "AccountByPIN", got, a)
	org := &cancuoc.Account{ID: "o1", Kind: cancuoc.AccountOrganisation, Status: cancuoc.AccountActive,
		OrgName: "Bệnh viện Bạch Mai", CreatedAt: T0, UpdatedAt: T0, Version: 1}
	if err := s.InsertAccount(ctx, org); err != nil {
		t.Fatalf("InsertAccount org: %v", err)
	}
	got, err = s.Account(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	sameAccount(t, "organisation", got, org)
	_, err = s.Account(ctx, "nope")
	wantErr(t, "Account unknown", err, cancuoc.NotFound, "")
	_, err = s.AccountByPIN(ctx, PIN(2))
	wantErr(t, "AccountByPIN unknown", err, cancuoc.NotFound, "")
	wantErr(t, "InsertAccount same ID", s.InsertAccount(ctx, Account("a1", PIN(3))), cancuoc.Conflict, "duplicate")
}

func testAccountOnePerPIN(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if err := s.InsertAccount(ctx, Account("a1", PIN(1))); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "second open account", s.InsertAccount(ctx, Account("a2", PIN(1))), cancuoc.Conflict, "account_exists")
	// Close the first: a new one may then be opened, and AccountByPIN
	// prefers it to the closed one.
	a, _ := s.Account(ctx, "a1")
	a.Status, a.Version = cancuoc.AccountClosed, 2
	if err := s.UpdateAccount(ctx, a, 1); err != nil {
		t.Fatal(err)
	}
	b := Account("a2", PIN(1))
	b.CreatedAt = T0.Add(-time.Hour) // older than the closed one: order is by status first
	if err := s.InsertAccount(ctx, b); err != nil {
		t.Fatalf("after closing: %v", err)
	}
	got, err := s.AccountByPIN(ctx, PIN(1))
	if err != nil || got.ID != "a2" {
		t.Fatalf("AccountByPIN = %+v, %v; want a2", got, err)
	}
	// Reopening the closed one now would make two open accounts.
	a.Status, a.Version = cancuoc.AccountActive, 3
	wantErr(t, "reopen", s.UpdateAccount(ctx, a, 2), cancuoc.Conflict, "account_exists")

	// Racing registrations of one PIN: exactly one wins.
	errs := race(func(i int) error {
		return s.InsertAccount(ctx, Account("r"+string(rune('a'+i)), PIN(9)))
	})
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantErr(t, "racing insert", err, cancuoc.Conflict, "account_exists")
		}
	}
	if ok != 1 {
		t.Errorf("%d racing registrations succeeded, want 1", ok)
	}
}

func testAccountUpdate(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	a := Account("a1", PIN(1))
	if err := s.InsertAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	n := *a
	n.Level, n.Version, n.UpdatedAt = cancuoc.Level2, 2, T0.Add(time.Hour)
	n.Level2 = &cancuoc.LevelGrant{Method: "chip", By: "chip:pace+pa", Reason: "NFC", At: T0.Add(time.Hour)}
	if err := s.UpdateAccount(ctx, &n, 1); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Account(ctx, "a1")
	sameAccount(t, "after update", got, &n)
	wantErr(t, "stale", s.UpdateAccount(ctx, &n, 1), cancuoc.Conflict, "stale_version")
	u := Account("zz", PIN(2))
	wantErr(t, "unknown", s.UpdateAccount(ctx, u, 1), cancuoc.NotFound, "")
}

func testAccountsByGuardian(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	g := PIN(1)
	for i, id := range []string{"c2", "c1"} {
		a := Account(id, PINFor("001", cancuoc.Female, 2018, 10+i))
		a.GuardianPIN, a.CreatedAt = g, T0.Add(time.Duration(i)*time.Minute)
		if err := s.InsertAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AccountsByGuardian(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "c2" || got[1].ID != "c1" {
		t.Errorf("AccountsByGuardian = %v, want c2, c1 (oldest first)", got)
	}
	got, err = s.AccountsByGuardian(ctx, PIN(5))
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("no children: %v, %v; want empty, not nil", got, err)
	}
}

func testSecrets(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if err := s.InsertAccount(ctx, Account("a1", PIN(1))); err != nil {
		t.Fatal(err)
	}
	got, err := s.Secrets(ctx, "a1")
	if err != nil || got.AccountID != "a1" || got.PasswordHash != "" {
		t.Fatalf("empty secrets: %+v, %v", got, err)
	}
	want := &cancuoc.AccountSecrets{AccountID: "a1", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", PasswordSetAt: T0}
	for _, step := range []int64{0, 58000000} {
		want.TOTPLastStep = step
		if step != 0 {
			want.TOTPSecret = "JBSWY3DPEHPK3PXP"
		}
		if err := s.PutSecrets(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.Secrets(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if !got.PasswordSetAt.Equal(want.PasswordSetAt) {
			t.Errorf("PasswordSetAt %v, want %v", got.PasswordSetAt, want.PasswordSetAt)
		}
		g, w := *got, *want
		g.PasswordSetAt, w.PasswordSetAt = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("Secrets = %+v, want %+v", g, w)
		}
	}
}

func testPasskeys(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if err := s.InsertAccount(ctx, Account("a1", PIN(1))); err != nil {
		t.Fatal(err)
	}
	p1 := &cancuoc.Passkey{ID: []byte{0, 1, 2, 0xff}, AccountID: "a1", Name: "điện thoại", Credential: []byte(`{"id":"AAEC_w","signCount":0}`), CreatedAt: T0}
	p2 := &cancuoc.Passkey{ID: []byte{9}, AccountID: "a1", Credential: []byte(`{}`), CreatedAt: T0.Add(time.Second)}
	for _, p := range []*cancuoc.Passkey{p1, p2} {
		if err := s.InsertPasskey(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "duplicate", s.InsertPasskey(ctx, p1), cancuoc.Conflict, "duplicate")
	p1.Credential, p1.LastUsedAt = []byte(`{"id":"AAEC_w","signCount":7}`), T0.Add(time.Hour)
	if err := s.UpdatePasskey(ctx, p1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "update unknown", s.UpdatePasskey(ctx, &cancuoc.Passkey{ID: []byte{7}, Credential: []byte(`{}`)}), cancuoc.NotFound, "")
	got, err := s.Passkeys(ctx, "a1")
	if err != nil || len(got) != 2 {
		t.Fatalf("Passkeys = %v, %v", got, err)
	}
	if !bytes.Equal(got[0].ID, p1.ID) || !sameJSON(got[0].Credential, p1.Credential) || !got[0].LastUsedAt.Equal(p1.LastUsedAt) ||
		got[0].Name != p1.Name || !got[0].CreatedAt.Equal(T0) {
		t.Errorf("first passkey %+v, want %+v", got[0], p1)
	}
	if !got[1].LastUsedAt.IsZero() {
		t.Errorf("unused passkey has LastUsedAt %v", got[1].LastUsedAt)
	}
	got, err = s.Passkeys(ctx, "other")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("no passkeys: %v, %v; want empty", got, err)
	}

	// The account with its passkeys, in one read: the same as Account and
	// Passkeys; an account without passkeys has an empty list; an unknown
	// account is NotFound.
	acc, pks, err := s.AccountPasskeys(ctx, "a1")
	want, _ := s.Account(ctx, "a1")
	if err != nil || acc == nil || !reflect.DeepEqual(acc, want) || len(pks) != 2 {
		t.Fatalf("AccountPasskeys = %+v, %v, %v; want %+v and 2 passkeys", acc, pks, err, want)
	}
	all, _ := s.Passkeys(ctx, "a1")
	for i := range all {
		if !bytes.Equal(pks[i].ID, all[i].ID) || pks[i].AccountID != "a1" || pks[i].Name != all[i].Name ||
			!sameJSON(pks[i].Credential, all[i].Credential) || !pks[i].CreatedAt.Equal(all[i].CreatedAt) ||
			!pks[i].LastUsedAt.Equal(all[i].LastUsedAt) {
			t.Errorf("AccountPasskeys passkey %d = %+v, want %+v", i, pks[i], all[i])
		}
	}
	if err := s.InsertAccount(ctx, Account("a2", PIN(2))); err != nil {
		t.Fatal(err)
	}
	if acc, pks, err := s.AccountPasskeys(ctx, "a2"); err != nil || acc == nil || acc.ID != "a2" || pks == nil || len(pks) != 0 {
		t.Errorf("AccountPasskeys without passkeys = %+v, %v, %v; want the account and none", acc, pks, err)
	}
	_, _, err = s.AccountPasskeys(ctx, "unknown")
	wantErr(t, "AccountPasskeys unknown", err, cancuoc.NotFound, "")
}

func testChallenges(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	c := &cancuoc.Challenge{ID: "ch1", Purpose: "register", PIN: PIN(1), Phone: "+84912345678",
		CodeHash: []byte{1, 2, 3}, Data: []byte(`{"full_name":"Nguyễn Văn Đức"}`), CreatedAt: T0, ExpiresAt: T0.Add(5 * time.Minute)}
	if err := s.InsertChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "duplicate", s.InsertChallenge(ctx, c), cancuoc.Conflict, "duplicate")
	got, err := s.Challenge(ctx, "ch1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Purpose != c.Purpose || got.PIN != c.PIN || got.Phone != c.Phone || !bytes.Equal(got.CodeHash, c.CodeHash) ||
		!sameJSON(got.Data, c.Data) || !got.ExpiresAt.Equal(c.ExpiresAt) || !got.CreatedAt.Equal(T0) || got.UsedAt != nil || got.Attempts != 0 {
		t.Errorf("Challenge = %+v, want %+v", got, c)
	}
	c.Attempts = 1
	if err := s.UpdateChallenge(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "stale attempts", s.UpdateChallenge(ctx, c, 0), cancuoc.Conflict, "stale_version")
	used := T0.Add(time.Minute)
	c.Attempts, c.UsedAt = 2, &used
	if err := s.UpdateChallenge(ctx, c, 1); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Challenge(ctx, "ch1")
	if got.Attempts != 2 || got.UsedAt == nil || !got.UsedAt.Equal(used) {
		t.Errorf("after use: %+v", got)
	}
	c.Attempts = 3
	wantErr(t, "used", s.UpdateChallenge(ctx, c, 2), cancuoc.Conflict, "stale_version")
	wantErr(t, "unknown", s.UpdateChallenge(ctx, &cancuoc.Challenge{ID: "x"}, 0), cancuoc.NotFound, "")
	_, err = s.Challenge(ctx, "x")
	wantErr(t, "Challenge unknown", err, cancuoc.NotFound, "")

	// A challenge without optional parts.
	if err := s.InsertChallenge(ctx, &cancuoc.Challenge{ID: "ch2", Purpose: "webauthn", AccountID: "a1", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Challenge(ctx, "ch2")
	if err != nil || got.CodeHash != nil || got.Data != nil || got.AccountID != "a1" {
		t.Errorf("bare challenge: %+v, %v", got, err)
	}
	n, err := s.DeleteChallenges(ctx, T0.Add(10*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("DeleteChallenges = %d, %v; want 1", n, err)
	}
	if _, err := s.Challenge(ctx, "ch2"); err != nil {
		t.Errorf("unexpired challenge deleted: %v", err)
	}
}

// testChallengeRace: of many guesses racing on one challenge with the same
// previous attempt count, exactly one is counted.
func testChallengeRace(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	c := &cancuoc.Challenge{ID: "ch", Purpose: "register", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}
	if err := s.InsertChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	errs := race(func(int) error {
		n := *c
		n.Attempts = 1
		return s.UpdateChallenge(ctx, &n, 0)
	})
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantErr(t, "racing update", err, cancuoc.Conflict, "stale_version")
		}
	}
	if ok != 1 {
		t.Errorf("%d racing updates succeeded, want 1", ok)
	}
}

func testThrottle(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	got, err := s.Throttle(ctx, "acct:a1")
	if err != nil || got.Failures != 0 || got.Key != "acct:a1" {
		t.Fatalf("empty throttle: %+v, %v", got, err)
	}
	for i := 1; i <= 3; i++ {
		at := T0.Add(time.Duration(i) * time.Minute)
		got, err := s.AddFailure(ctx, "acct:a1", at, T0)
		if err != nil || got.Failures != i || !got.LastFailure.Equal(at) {
			t.Fatalf("AddFailure %d: %+v, %v", i, got, err)
		}
	}
	got, _ = s.Throttle(ctx, "acct:a1")
	if got.Failures != 3 || !got.LastFailure.Equal(T0.Add(3*time.Minute)) {
		t.Errorf("Throttle = %+v", got)
	}
	// The last failure is older than resetBefore: counting starts again.
	got, err = s.AddFailure(ctx, "acct:a1", T0.Add(48*time.Hour), T0.Add(24*time.Hour))
	if err != nil || got.Failures != 1 {
		t.Errorf("after the window: %+v, %v; want 1", got, err)
	}
	if err := s.ClearThrottle(ctx, "acct:a1"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Throttle(ctx, "acct:a1")
	if got.Failures != 0 {
		t.Errorf("after clear: %+v", got)
	}
	if err := s.ClearThrottle(ctx, "never"); err != nil {
		t.Errorf("clear unknown: %v", err)
	}
}

func testThrottleConcurrent(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	var mu sync.Mutex
	var counts []int
	errs := race(func(int) error {
		th, err := s.AddFailure(ctx, "src:203.0.113.9", T0, T0.Add(-time.Hour))
		if err == nil {
			mu.Lock()
			counts = append(counts, th.Failures)
			mu.Unlock()
		}
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("racing failures returned counts %v; want 1..%d, each once", counts, len(counts))
		}
	}
	got, _ := s.Throttle(ctx, "src:203.0.113.9")
	if got.Failures != len(errs) {
		t.Errorf("Failures = %d, want %d", got.Failures, len(errs))
	}
}

func testFacePhoto(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if err := s.InsertAccount(ctx, Account("a1", PIN(1))); err != nil {
		t.Fatal(err)
	}
	_, err := s.FacePhoto(ctx, "a1")
	wantErr(t, "no photo", err, cancuoc.NotFound, "")
	p := &cancuoc.FacePhoto{AccountID: "a1", ContentType: "image/jpeg", Data: []byte{0xff, 0xd8, 0, 1, 2}, SHA256: []byte{9, 9}, CreatedAt: T0}
	for range 2 {
		if err := s.PutFacePhoto(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.FacePhoto(ctx, "a1")
	if err != nil || got.ContentType != p.ContentType || !bytes.Equal(got.Data, p.Data) || !bytes.Equal(got.SHA256, p.SHA256) || !got.CreatedAt.Equal(T0) {
		t.Errorf("FacePhoto = %+v, %v", got, err)
	}
}

func testLogins(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	var want []*cancuoc.LoginRecord
	for i, amr := range [][]string{{"pwd", "otp"}, {"hwk"}, nil} {
		l := &cancuoc.LoginRecord{AccountID: "a1", At: T0.Add(time.Duration(i) * time.Minute), ClientID: "portal", AMR: amr, Source: "198.51.100.7"}
		if err := s.AppendLogin(ctx, l); err != nil {
			t.Fatal(err)
		}
		if l.ID == 0 {
			t.Fatal("AppendLogin did not set the ID")
		}
		if amr == nil {
			l.AMR = []string{}
		}
		want = append(want, l)
	}
	if err := s.AppendLogin(ctx, &cancuoc.LoginRecord{AccountID: "other", At: T0}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Logins(ctx, "a1", 2)
	if err != nil || len(got) != 2 {
		t.Fatalf("Logins = %v, %v", got, err)
	}
	for i, g := range got {
		w := want[len(want)-1-i]
		if g.ID != w.ID || !g.At.Equal(w.At) || g.ClientID != w.ClientID || !reflect.DeepEqual(g.AMR, w.AMR) || g.Source != w.Source {
			t.Errorf("login %d = %+v, want %+v", i, g, w)
		}
	}
	got, _ = s.Logins(ctx, "a1", 0)
	if len(got) != 3 {
		t.Errorf("Logins with no limit: %d, want 3", len(got))
	}
}

func testOrgMembers(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	org := &cancuoc.Account{ID: "o1", Kind: cancuoc.AccountOrganisation, Status: cancuoc.AccountActive, OrgName: "Ngân hàng A",
		CreatedAt: T0, UpdatedAt: T0, Version: 1}
	for _, a := range []*cancuoc.Account{org, Account("a1", PIN(1)), Account("a2", PIN(2))} {
		if err := s.InsertAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	m1 := &cancuoc.OrgMembership{OrgID: "o1", AccountID: "a1", Role: cancuoc.OrgAdmin, AddedBy: "a1", AddedAt: T0}
	m2 := &cancuoc.OrgMembership{OrgID: "o1", AccountID: "a2", Role: cancuoc.OrgMember, AddedBy: "a1", AddedAt: T0.Add(time.Minute)}
	for _, m := range []*cancuoc.OrgMembership{m1, m2} {
		if err := s.PutOrgMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	m2.Role = cancuoc.OrgAdmin
	if err := s.PutOrgMember(ctx, m2); err != nil {
		t.Fatal(err)
	}
	got, err := s.OrgMember(ctx, "o1", "a2")
	if err != nil || got.Role != cancuoc.OrgAdmin || !got.AddedAt.Equal(m2.AddedAt) || got.AddedBy != "a1" {
		t.Errorf("OrgMember = %+v, %v", got, err)
	}
	_, err = s.OrgMember(ctx, "o1", "zz")
	wantErr(t, "not a member", err, cancuoc.NotFound, "")
	all, err := s.OrgMembers(ctx, "o1")
	if err != nil || len(all) != 2 || all[0].AccountID != "a1" || all[1].AccountID != "a2" {
		t.Errorf("OrgMembers = %v, %v", all, err)
	}
	org2 := &cancuoc.Account{ID: "o2", Kind: cancuoc.AccountOrganisation, Status: cancuoc.AccountActive, OrgName: "Bệnh viện B",
		CreatedAt: T0, UpdatedAt: T0, Version: 1}
	if err := s.InsertAccount(ctx, org2); err != nil {
		t.Fatal(err)
	}
	if err := s.PutOrgMember(ctx, &cancuoc.OrgMembership{OrgID: "o2", AccountID: "a2", Role: cancuoc.OrgMember, AddedBy: "a2",
		AddedAt: T0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	mine, err := s.MembershipsOf(ctx, "a2")
	if err != nil || len(mine) != 2 || mine[0].OrgID != "o1" || mine[0].Role != cancuoc.OrgAdmin || mine[1].OrgID != "o2" {
		t.Errorf("MembershipsOf(a2) = %v, %v", mine, err)
	}
	if mine, err := s.MembershipsOf(ctx, "zz"); err != nil || len(mine) != 0 || mine == nil {
		t.Errorf("MembershipsOf(none) = %#v, %v; want an empty list", mine, err)
	}
}

// testAccountTxRollback: account writes roll back with the transaction.
func testAccountTxRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := cancuoc.E(cancuoc.Invalid, "test", "boom", "", "")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertAccount(ctx, Account("a1", PIN(1))); err != nil {
			return err
		}
		if err := tx.PutSecrets(ctx, &cancuoc.AccountSecrets{AccountID: "a1", PasswordHash: "h"}); err != nil {
			return err
		}
		if _, err := tx.AddFailure(ctx, "acct:a1", T0, T0); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("InTx = %v, want the function's error", err)
	}
	if _, err := s.Account(ctx, "a1"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("account survived rollback: %v", err)
	}
	if th, _ := s.Throttle(ctx, "acct:a1"); th.Failures != 0 {
		t.Errorf("throttle survived rollback: %+v", th)
	}
}

// testAccountPasskeysConsent: the account, its passkeys and its citizen's
// consent for one client in one read — the same as AccountPasskeys and
// Consent; no consent for that client (though for another, or another
// citizen's for it) is nil; a revoked consent comes with its revocation;
// an account without passkeys still has its consent; an unknown account
// is NotFound.
func testAccountPasskeysConsent(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for i, id := range []string{"a1", "a2"} {
		if err := s.InsertAccount(ctx, Account(id, PIN(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range []byte{1, 2} {
		p := &cancuoc.Passkey{ID: []byte{b}, AccountID: "a1", Credential: []byte(`{}`), CreatedAt: T0.Add(time.Duration(i) * time.Second)}
		if err := s.InsertPasskey(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	same := func(label, id, client string) *cancuoc.Consent {
		t.Helper()
		acc, pks, cs, err := s.AccountPasskeysConsent(ctx, id, client)
		wantAcc, wantPks, _ := s.AccountPasskeys(ctx, id)
		if err != nil || !reflect.DeepEqual(acc, wantAcc) || len(pks) != len(wantPks) {
			t.Fatalf("%s: AccountPasskeysConsent = %+v, %d passkeys, %v; want %+v and %d", label, acc, len(pks), err, wantAcc, len(wantPks))
		}
		for i := range pks {
			if !bytes.Equal(pks[i].ID, wantPks[i].ID) || !pks[i].CreatedAt.Equal(wantPks[i].CreatedAt) {
				t.Errorf("%s: passkey %d = %+v, want %+v", label, i, pks[i], wantPks[i])
			}
		}
		want, err := s.Consent(ctx, acc.PIN, client)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			want = nil
		}
		if (cs == nil) != (want == nil) || cs != nil && (cs.PIN != want.PIN || cs.ClientID != want.ClientID ||
			!slices.Equal(cs.Scopes, want.Scopes) || !cs.GrantedAt.Equal(want.GrantedAt) ||
			(cs.RevokedAt == nil) != (want.RevokedAt == nil) || cs.RevokedAt != nil && !cs.RevokedAt.Equal(*want.RevokedAt)) {
			t.Errorf("%s: consent = %+v, Consent = %+v", label, cs, want)
		}
		return cs
	}
	if cs := same("no consent", "a1", "portal"); cs != nil {
		t.Errorf("no consent: %+v", cs)
	}
	for _, c := range []*cancuoc.Consent{
		{PIN: PIN(1), ClientID: "bank", Scopes: []string{"openid"}, GrantedAt: T0},
		{PIN: PIN(2), ClientID: "portal", Scopes: []string{"openid", "profile"}, GrantedAt: T0},
	} {
		if err := s.PutConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if cs := same("another client's and another citizen's", "a1", "portal"); cs != nil {
		t.Errorf("another client's or citizen's consent returned: %+v", cs)
	}
	if cs := same("given", "a1", "bank"); cs == nil || !slices.Equal(cs.Scopes, []string{"openid"}) {
		t.Errorf("given consent: %+v", cs)
	}
	if cs := same("without passkeys", "a2", "portal"); cs == nil || len(cs.Scopes) != 2 {
		t.Errorf("consent of an account without passkeys: %+v", cs)
	}
	if err := s.RevokeConsent(ctx, PIN(1), "bank", T0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if cs := same("revoked", "a1", "bank"); cs == nil || cs.RevokedAt == nil {
		t.Errorf("revoked consent: %+v", cs)
	}
	_, _, _, err := s.AccountPasskeysConsent(ctx, "unknown", "bank")
	wantErr(t, "AccountPasskeysConsent unknown", err, cancuoc.NotFound, "")
}

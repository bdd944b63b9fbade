package eid

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
)

// openSession stores a login session for a, as the provider or the portal
// does at login, and returns its hash.
func (e *env) openSession(t *testing.T, a *cancuoc.Account, tag string) []byte {
	t.Helper()
	now := e.clock.Now()
	h := []byte("session-" + tag + "-" + string(a.PIN))
	if err := e.store.InsertLoginSession(t.Context(), &cancuoc.LoginSession{Hash: h, PIN: a.PIN, AccountID: a.ID,
		AMR: []string{"pwd"}, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (e *env) wantEnded(t *testing.T, what string, h []byte, ended bool) {
	t.Helper()
	s, err := e.store.LoginSession(t.Context(), h)
	if err != nil {
		t.Fatal(err)
	}
	if (s.EndedAt != nil) != ended {
		t.Errorf("%s: session ended = %v, want %v", what, s.EndedAt != nil, ended)
	}
}

// TestChangesEndSessions: a lock, a suspension or closure from the
// registry, and a password reset end every login session of the holder,
// so a stolen session cookie stops working; an unrelated holder's
// sessions stay.
func TestChangesEndSessions(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		other := e.citizen(t, 51, "Vũ Văn Khác", cancuoc.Date{Year: 1980, Month: 1, Day: 1}, e.adult.Home)
		b := e.register(t, other, "0966000444")
		keep := e.openSession(t, b, "keep")

		// Password reset.
		h := e.openSession(t, a, "reset")
		p, err := e.s.StartPasswordReset(ctx, a.PIN, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.ConfirmPasswordReset(ctx, p.ChallengeID, e.sms.last(t, "+84912345678"), "mật khẩu mới 456"); err != nil {
			t.Fatal(err)
		}
		e.wantEnded(t, "password reset", h, true)

		// Lock by the holder.
		h = e.openSession(t, a, "lock")
		if _, err := e.s.Lock(ctx, a, a.PIN); err != nil {
			t.Fatal(err)
		}
		e.wantEnded(t, "lock", h, true)
		local := officer(cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: "01", Commune: "00004"})
		if _, err := e.s.Unlock(ctx, local, a.PIN, "Kiểm tra CCCD tại trụ sở"); err != nil {
			t.Fatal(err)
		}

		// Suspension (declared missing), then closure (death): the record
		// changed, as the registry writes it with its event.
		for _, ch := range []struct {
			typ  string
			life cancuoc.LifeStatus
		}{{cancuoc.EventCitizenMissing, cancuoc.Missing}, {cancuoc.EventCitizenDied, cancuoc.Dead}} {
			typ, life := ch.typ, ch.life
			h = e.openSession(t, a, typ)
			n := e.adult.Clone()
			n.LifeStatus, n.Version = life, e.adult.Version+1
			if err := st.UpdateCitizen(ctx, n, e.adult.Version); err != nil {
				t.Fatal(err)
			}
			*e.adult = *n
			if err := e.s.HandleRegistryEvent(ctx, cancuoc.Event{ID: "ev-" + typ, Type: typ, PIN: a.PIN}); err != nil {
				t.Fatal(err)
			}
			e.wantEnded(t, typ, h, true)
		}
		e.wantEnded(t, "another holder", keep, false)
	})
}

package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/card"
	"github.com/cancuoc/cancuoc/chipcheck"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/mrtd"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/storetest"
)

// chipClock is the clock of the chip checker, moved forward to expire
// challenges.
type chipClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *chipClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *chipClock) add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type chipEnv struct {
	*eidEnv
	store                   cancuoc.Store
	ca                      *mrtd.TestCA
	clock                   *chipClock
	bank, hospital, auditor string
	holder, other, expired  *cancuoc.Citizen
}

// newChipEnv serves the API with chip verification over store, trusting a
// fresh test CSCA, with a bank's and a hospital's counter systems, Ba
// Đình's officer and three card holders living in Ba Đình.
func newChipEnv(t *testing.T, store cancuoc.Store) *chipEnv {
	t.Helper()
	ctx := t.Context()
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	sms := &outbox{}
	cfg := eid.DefaultConfig()
	cfg.Password = eid.FastTestPasswordParams()
	es, err := eid.New(store, sms, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := mrtd.NewTestCA(mrtd.ECDSAP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	clock := &chipClock{}
	check := chipcheck.New(store, w, ca.Trust, chipcheck.WithEID(es), chipcheck.WithClock(clock.now))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	httpapi.New(reg, log).WithEID(es).WithChip(check, card.New(reg)).Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	e := &chipEnv{eidEnv: &eidEnv{t: t, srv: srv, sms: sms}, store: store, ca: ca, clock: clock}
	for _, x := range []struct {
		dst *string
		np  registry.NewPrincipal
	}{
		{&e.officer, registry.NewPrincipal{Name: "Công an phường Ba Đình", Role: cancuoc.RoleCommuneOfficer, Agency: "Công an phường Ba Đình",
			Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00004"}}},
		{&e.bank, registry.NewPrincipal{Name: "Ngân hàng A", Role: cancuoc.RoleMinistrySystem}},
		{&e.hospital, registry.NewPrincipal{Name: "Bệnh viện B", Role: cancuoc.RoleMinistrySystem}},
		{&e.auditor, registry.NewPrincipal{Name: "Thanh tra", Role: cancuoc.RoleAuditor}},
	} {
		if _, *x.dst, err = reg.CreatePrincipal(ctx, nil, x.np); err != nil {
			t.Fatal(err)
		}
	}
	e.holder, e.other, e.expired = storetest.Holder(storetest.PIN(1)), storetest.Holder(storetest.PIN(2)), storetest.Holder(storetest.PIN(3))
	e.other.Phone, e.expired.Phone = "", ""
	// A card whose validity ended last year, still marked valid: the sweep
	// has not run, the date decides.
	e.expired.Cards[1].ExpiresOn = cancuoc.DateOf(time.Now().AddDate(-1, 0, 0))
	for _, c := range []*cancuoc.Citizen{e.holder, e.other, e.expired} {
		if err := store.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e.adult = e.holder
	return e
}

// personalize makes the chip of c's current card, signed by ca.
func (e *chipEnv) personalize(t *testing.T, ca *mrtd.TestCA, c *cancuoc.Citizen) *mrtd.TestCard {
	t.Helper()
	k, err := ca.Personalize(c, mrtd.CardOptions{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (e *chipEnv) citizen(t *testing.T, pin cancuoc.PIN) *cancuoc.Citizen {
	t.Helper()
	c, err := e.store.Citizen(t.Context(), pin)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verify asks for a challenge as auth, lets the card answer it (with sign
// replacing the chip's answer when set) and posts the verification.
func (e *chipEnv) verify(t *testing.T, auth string, k *mrtd.TestCard, extra map[string]any) (chipcheck.Verdict, chipcheck.Challenge, []byte) {
	t.Helper()
	var ch chipcheck.Challenge
	e.do("POST", "/v1/chip/challenges", auth, nil).want(t, http.StatusCreated, &ch)
	sig, err := k.RespondActive(ch.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"chip": k.Chip, "challenge_id": ch.ID, "aa_signature": sig, "access": "pace", "purpose": "mở tài khoản"}
	for key, v := range extra {
		body[key] = v
	}
	var v chipcheck.Verdict
	e.do("POST", "/v1/chip/verifications", auth, body).want(t, http.StatusOK, &v)
	return v, ch, sig
}

func reasons(v chipcheck.Verdict) []string {
	var out []string
	for _, r := range v.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func wantRefused(t *testing.T, v chipcheck.Verdict, codes ...string) {
	t.Helper()
	got := reasons(v)
	if v.Accepted {
		t.Fatalf("accepted, want refused for %v", codes)
	}
	for _, c := range codes {
		if !slices.Contains(got, c) {
			t.Fatalf("reasons %v, want %q among them", got, c)
		}
	}
}

func TestChipVerification(t *testing.T) {
	testkit.Stores(t, "httpapi_chip", testChipVerification)
}

func testChipVerification(t *testing.T, store cancuoc.Store) {
	e := newChipEnv(t, store)
	bank := "key:" + e.bank
	good := e.personalize(t, e.ca, e.holder)

	t.Run("genuine card at a bank", func(t *testing.T) {
		v, _, _ := e.verify(t, bank, good, nil)
		if !v.Accepted || len(v.Reasons) != 0 || v.Passive != chipcheck.Passed || v.Active != chipcheck.Passed || v.Registry != chipcheck.Passed {
			t.Fatalf("verdict %+v", v)
		}
		if v.PIN != e.holder.PIN || v.Card == nil || v.Card.Status != cancuoc.CardValid || v.Card.IssuedOn != e.holder.Cards[1].IssuedOn {
			t.Fatalf("pin %s card %+v", v.PIN, v.Card)
		}
		if len(v.Fields) < 8 || v.Level2 != "" {
			t.Fatalf("fields %+v level2 %q", v.Fields, v.Level2)
		}
		kinds := map[string]bool{}
		for _, i := range v.ChipAuthentication {
			kinds[i.Kind] = true
		}
		if !kinds["active_authentication"] || !kinds["chip_authentication_public_key"] {
			t.Fatalf("DG14 infos %+v", v.ChipAuthentication)
		}
		entries, err := e.store.AuditFor(t.Context(), e.holder.PIN, 5)
		if err != nil || len(entries) == 0 {
			t.Fatalf("audit %v %v", entries, err)
		}
		a := entries[0]
		if a.Action != chipcheck.ActionVerify || a.Outcome != "ok" || a.Purpose != "mở tài khoản" || !slices.Contains(a.Fields, "cards") {
			t.Fatalf("audit entry %+v", a)
		}
	})

	t.Run("without active authentication", func(t *testing.T) {
		var v chipcheck.Verdict
		e.do("POST", "/v1/chip/verifications", bank, map[string]any{"chip": good.Chip, "purpose": "khám bệnh"}).want(t, http.StatusOK, &v)
		if !v.Accepted || v.Active != chipcheck.NotPerformed {
			t.Fatalf("verdict %+v", v)
		}
	})

	t.Run("replayed challenge", func(t *testing.T) {
		_, ch, sig := e.verify(t, bank, good, nil)
		var v chipcheck.Verdict
		e.do("POST", "/v1/chip/verifications", bank, map[string]any{"chip": good.Chip, "challenge_id": ch.ID, "aa_signature": sig}).
			want(t, http.StatusOK, &v)
		wantRefused(t, v, "aa.challenge_unknown")
		if v.Active != chipcheck.Failed {
			t.Fatalf("active %q", v.Active)
		}
		entries, _ := e.store.AuditFor(t.Context(), e.holder.PIN, 1)
		if len(entries) != 1 || entries[0].Outcome != "refused:aa.challenge_unknown" {
			t.Fatalf("audit %+v", entries)
		}
	})

	t.Run("challenge of another caller", func(t *testing.T) {
		var ch chipcheck.Challenge
		e.do("POST", "/v1/chip/challenges", "key:"+e.hospital, nil).want(t, http.StatusCreated, &ch)
		sig, _ := good.RespondActive(ch.Challenge)
		var v chipcheck.Verdict
		e.do("POST", "/v1/chip/verifications", bank, map[string]any{"chip": good.Chip, "challenge_id": ch.ID, "aa_signature": sig}).
			want(t, http.StatusOK, &v)
		wantRefused(t, v, "aa.challenge_not_yours")
	})

	t.Run("expired challenge", func(t *testing.T) {
		var ch chipcheck.Challenge
		e.do("POST", "/v1/chip/challenges", bank, nil).want(t, http.StatusCreated, &ch)
		e.clock.add(chipcheck.DefaultChallengeTTL + time.Second)
		defer e.clock.add(-chipcheck.DefaultChallengeTTL - time.Second)
		sig, _ := good.RespondActive(ch.Challenge)
		var v chipcheck.Verdict
		e.do("POST", "/v1/chip/verifications", bank, map[string]any{"chip": good.Chip, "challenge_id": ch.ID, "aa_signature": sig}).
			want(t, http.StatusOK, &v)
		wantRefused(t, v, "aa.challenge_expired")
	})

	t.Run("wrong active-authentication signature", func(t *testing.T) {
		clone := e.personalize(t, e.ca, e.holder) // same data, another chip key: a clone's answer
		var ch chipcheck.Challenge
		e.do("POST", "/v1/chip/challenges", bank, nil).want(t, http.StatusCreated, &ch)
		sig, _ := clone.RespondActive(ch.Challenge)
		var v chipcheck.Verdict
		e.do("POST", "/v1/chip/verifications", bank, map[string]any{"chip": good.Chip, "challenge_id": ch.ID, "aa_signature": sig}).
			want(t, http.StatusOK, &v)
		wantRefused(t, v, "aa.signature")
		if v.Passive != chipcheck.Passed || v.Registry != chipcheck.Passed {
			t.Fatalf("passive %q registry %q", v.Passive, v.Registry)
		}
	})

	t.Run("unknown CSCA", func(t *testing.T) {
		foreign, err := mrtd.NewTestCA(mrtd.ECDSAP256, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		v, _, _ := e.verify(t, bank, e.personalize(t, foreign, e.holder), nil)
		wantRefused(t, v, "csca.known")
		if v.Passive != chipcheck.Failed || v.Registry != chipcheck.NotPerformed || v.Fields != nil {
			t.Fatalf("verdict %+v", v)
		}
	})

	t.Run("tampered DG13", func(t *testing.T) {
		k := e.personalize(t, e.ca, e.holder)
		dg13 := append([]byte(nil), k.Chip.DataGroups[13]...)
		dg13[len(dg13)-3] ^= 0x01
		k.Chip.DataGroups[13] = dg13
		v, _, _ := e.verify(t, bank, k, nil)
		wantRefused(t, v, "dg13.hash")
		if v.Registry != chipcheck.NotPerformed {
			t.Fatalf("registry compared with forged data: %q", v.Registry)
		}
	})

	t.Run("registry mismatch", func(t *testing.T) {
		c := e.holder.Clone()
		c.FullName = "Nguyễn Văn Đúc"
		c.BirthDate = cancuoc.Date{Year: 1990, Month: 5, Day: 18}
		v, _, _ := e.verify(t, bank, e.personalize(t, e.ca, c), nil)
		wantRefused(t, v, "registry.full_name", "registry.birth_date")
		if slices.Contains(reasons(v), "registry.sex") || v.Passive != chipcheck.Passed || v.Registry != chipcheck.Failed {
			t.Fatalf("verdict %+v", v)
		}
	})

	t.Run("unknown card", func(t *testing.T) {
		c := e.holder.Clone()
		c.Cards[1].IssuedOn = cancuoc.Date{Year: 2025, Month: 7, Day: 16}
		v, _, _ := e.verify(t, bank, e.personalize(t, e.ca, c), nil)
		wantRefused(t, v, "card.unknown")
	})

	t.Run("replaced and lost cards", func(t *testing.T) {
		old := e.personalize(t, e.ca, e.other)
		officer := "key:" + e.officer
		pin := string(e.other.PIN)
		e.do("POST", "/v1/citizens/"+pin+"/cards", "key:"+e.bank, map[string]any{"version": 1, "reason": "cấp đổi", "legal_basis": "Luật Căn cước"}).
			problem(t, http.StatusForbidden, "role_forbidden")
		e.do("POST", "/v1/citizens/"+pin+"/cards", officer, map[string]any{"version": 1}).problem(t, http.StatusBadRequest, "reason_required")
		var issued struct {
			Version int64        `json:"version"`
			Card    cancuoc.Card `json:"card"`
		}
		e.do("POST", "/v1/citizens/"+pin+"/cards", officer, map[string]any{"version": 1, "reason": "cấp đổi thẻ", "legal_basis": "Luật Căn cước 2023, điều 24"}).
			want(t, http.StatusCreated, &issued)
		if issued.Version != 2 || issued.Card.Status != cancuoc.CardValid || issued.Card.IssuedBy != "Công an phường Ba Đình" ||
			issued.Card.ExpiresOn != cancuoc.CardExpiry(e.other.BirthDate, time.Now()) {
			t.Fatalf("issued %+v", issued)
		}
		v, _, _ := e.verify(t, bank, old, nil)
		wantRefused(t, v, "card.replaced")

		current := e.personalize(t, e.ca, e.citizen(t, e.other.PIN))
		if v, _, _ = e.verify(t, bank, current, nil); !v.Accepted {
			t.Fatalf("new card refused: %v", reasons(v))
		}
		e.do("POST", "/v1/citizens/"+pin+"/cards/lost", officer, map[string]any{"version": 2, "reason": "mất thẻ", "legal_basis": "Luật Căn cước 2023, điều 24"}).
			want(t, http.StatusOK, nil)
		v, _, _ = e.verify(t, bank, current, nil)
		wantRefused(t, v, "card.lost")
		e.do("POST", "/v1/citizens/"+pin+"/cards/lost", officer, map[string]any{"version": 3, "reason": "mất thẻ", "legal_basis": "x"}).
			problem(t, http.StatusBadRequest, "no_valid_card")
	})

	t.Run("expired card", func(t *testing.T) {
		v, _, _ := e.verify(t, bank, e.personalize(t, e.ca, e.expired), nil)
		wantRefused(t, v, "card.expired")
	})

	t.Run("holder's app raises the account to level 2", func(t *testing.T) {
		holder := e.registerAdult(t)
		v, _, _ := e.verify(t, holder, good, nil)
		if !v.Accepted || v.Level2 != "face_mismatch" {
			t.Fatalf("without a face match: accepted %v level2 %q %v", v.Accepted, v.Level2, reasons(v))
		}
		v, _, _ = e.verify(t, holder, good, map[string]any{"face_matched": true})
		if !v.Accepted || v.Level2 != "raised" {
			t.Fatalf("accepted %v level2 %q %v", v.Accepted, v.Level2, reasons(v))
		}
		var acc cancuoc.Account
		e.do("GET", "/v1/eid/account", holder, nil).want(t, http.StatusOK, &acc)
		if acc.Level != cancuoc.Level2 || acc.Level2 == nil || acc.Level2.Method != "chip" {
			t.Fatalf("account %+v", acc)
		}
		if v, _, _ = e.verify(t, holder, good, map[string]any{"face_matched": true}); v.Level2 != "already_level2" {
			t.Fatalf("again: %q", v.Level2)
		}
		// The app checks its own holder's card only.
		v, _, _ = e.verify(t, holder, e.personalize(t, e.ca, e.expired), nil)
		wantRefused(t, v, "not_holder")
		if v.Registry != chipcheck.NotPerformed {
			t.Fatalf("registry read for another person: %q", v.Registry)
		}
	})

	t.Run("callers and bad requests", func(t *testing.T) {
		e.do("POST", "/v1/chip/challenges", "", nil).problem(t, http.StatusUnauthorized, "api_key_missing")
		e.do("POST", "/v1/chip/challenges", "key:"+e.auditor, nil).problem(t, http.StatusForbidden, "role_forbidden")
		e.do("POST", "/v1/chip/verifications", "key:"+e.auditor, map[string]any{"chip": good.Chip}).problem(t, http.StatusForbidden, "role_forbidden")
		e.do("POST", "/v1/chip/verifications", bank, map[string]any{"chip": map[string]any{"data_groups": good.Chip.DataGroups}}).
			problem(t, http.StatusBadRequest, "sod_required")
		e.do("POST", "/v1/chip/verifications", bank, map[string]any{"chip": good.Chip, "challenge_id": "abc"}).
			problem(t, http.StatusBadRequest, "aa_incomplete")
		e.do("POST", "/v1/chip/verifications", bank, []byte(`{"chip":{"sod":"AA==","data_groups":{"x":"AA=="}}}`)).
			problem(t, http.StatusBadRequest, "json_type")
		e.do("POST", "/v1/chip/verifications", bank, []byte(`{"chip":{"sod":"AA==","data_groups":{"17":"AA=="}}}`)).
			problem(t, http.StatusBadRequest, "data_group_number")
		var v chipcheck.Verdict
		e.do("POST", "/v1/chip/verifications", bank, []byte(`{"chip":{"sod":"AA==","data_groups":{"1":"AA=="}}}`)).want(t, http.StatusOK, &v)
		wantRefused(t, v, "sod.parse")
	})
}

// TestChipUnavailable checks the routes answer 503 when not wired.
func TestChipUnavailable(t *testing.T) {
	e := newEIDEnv(t)
	e.do("POST", "/v1/chip/challenges", "key:"+e.officer, nil).problem(t, http.StatusServiceUnavailable, "chip_unavailable")
}

package eid

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/storetest"
)

// smsBox is the one test double: it stands for the SMS gateway, at the edge
// of the system, and keeps the messages for the test to read.
type smsBox struct {
	mu   sync.Mutex
	msgs map[string][]string
}

func (b *smsBox) Send(_ context.Context, phone, msg string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.msgs == nil {
		b.msgs = map[string][]string{}
	}
	b.msgs[phone] = append(b.msgs[phone], msg)
	return nil
}

var codeRE = regexp.MustCompile(`\b\d{6}\b`)

// last returns the code in the last message to phone.
func (b *smsBox) last(t *testing.T, phone string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.msgs[phone]
	if len(m) == 0 {
		t.Fatalf("no SMS to %s", phone)
	}
	return codeRE.FindString(m[len(m)-1])
}

func (b *smsBox) count(phone string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs[phone])
}

type env struct {
	s     *Service
	store cancuoc.Store
	sms   *smsBox
	clock *testkit.Clock
	// Registry fixtures: an adult (guardian) in Hà Nội 01/00004 and his
	// daughter aged 7.
	adult, child *cancuoc.Citizen
}

// now is in the registry fixtures' future: the adult is 35, the child 7.
var testNow = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, st cancuoc.Store, mod ...func(*Config)) *env {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Password = FastTestPasswordParams()
	for _, m := range mod {
		m(&cfg)
	}
	e := &env{store: st, sms: &smsBox{}, clock: testkit.NewClock(testNow)}
	s, err := New(st, e.sms, cfg, WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	e.adult = storetest.Citizen(storetest.PIN(1))
	childPIN := storetest.PINFor("001", cancuoc.Female, 2018, 3)
	e.child = storetest.Minimal(childPIN, "Nguyễn Thị Mai", "nguyen thi mai")
	e.child.BirthDate = cancuoc.Date{Year: 2018, Month: 3, Day: 1}
	e.child.Father = &cancuoc.Relative{PIN: e.adult.PIN, Name: e.adult.FullName}
	e.child.Home = e.adult.Home
	for _, c := range []*cancuoc.Citizen{e.adult, e.child} {
		if err := st.InsertCitizen(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// citizen inserts one more adult record.
func (e *env) citizen(t *testing.T, n int, name string, birth cancuoc.Date, home cancuoc.UnitRef) *cancuoc.Citizen {
	t.Helper()
	c := storetest.Minimal(storetest.PINFor("001", cancuoc.Male, birth.Year, n), name, "")
	c.BirthDate, c.Home = birth, home
	if err := e.store.InsertCitizen(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func photo(t *testing.T) Photo {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 80, 100))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(1, 1, color.White)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return Photo{ContentType: "image/png", Data: buf.Bytes()}
}

const testPassword = "mật khẩu dài 123"

// register runs a whole level-1 registration of c.
func (e *env) register(t *testing.T, c *cancuoc.Citizen, phone string) *cancuoc.Account {
	t.Helper()
	p, err := e.s.StartRegistration(t.Context(), Registration{PIN: c.PIN, FullName: c.FullName, BirthDate: c.BirthDate, Phone: phone}, "192.0.2.1")
	if err != nil {
		t.Fatalf("StartRegistration: %v", err)
	}
	norm, _ := NormalizePhone("", phone)
	a, err := e.s.ConfirmRegistration(t.Context(), p.ChallengeID, e.sms.last(t, norm), testPassword, photo(t))
	if err != nil {
		t.Fatalf("ConfirmRegistration: %v", err)
	}
	return a
}

func officer(role cancuoc.Role, j cancuoc.Jurisdiction) *cancuoc.Principal {
	return &cancuoc.Principal{ID: "p_" + string(role) + j.Province + j.Commune, Role: role, Jurisdiction: j}
}

func wantKind(t *testing.T, what string, err error, kind cancuoc.Kind, code string) {
	t.Helper()
	var e *cancuoc.Error
	if err == nil || !errors.As(err, &e) {
		t.Errorf("%s: error %v (%T), want %v %q", what, err, err, kind, code)
		return
	}
	if e.Kind != kind || (code != "" && e.Code != code) {
		t.Errorf("%s: %v %q (%v), want %v %q", what, e.Kind, e.Code, err, kind, code)
	}
}

package wallet_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sdjwt"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/statuslist"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/wallet"
)

const base = "https://id.example.vn"

// env is a wallet over an in-memory SQLite store, with a clock tests move.
type env struct {
	t     *testing.T
	store cancuoc.Store
	w     *wallet.Service
	clock *testkit.Clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st)
}

// onBothStores runs fn on SQLite and on PostgreSQL (skipped loudly
// without CANCUOC_TEST_POSTGRES).
func onBothStores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newEnvOn(t, pgtest.Open(t, "wallet_test"))) })
}

// newEnvOn is a wallet over st.
func newEnvOn(t *testing.T, st cancuoc.Store) *env {
	t.Helper()
	var err error
	e := &env{t: t, store: st, clock: testkit.NewClock(time.Now().UTC())}
	e.w, err = wallet.New(st, wallet.Config{BaseURL: base, Secret: []byte("a server secret of test"), ListSize: 1 << 12}, wallet.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// holder is a citizen with an account and a wallet key.
type holder struct {
	pin cancuoc.PIN
	acc *cancuoc.Account
	key *ecdsa.PrivateKey
}

func (e *env) citizen(n int, level cancuoc.AccountLevel, guardian cancuoc.PIN) *holder {
	e.t.Helper()
	ctx := e.t.Context()
	c := storetest.Citizen(storetest.PIN(n))
	if guardian != "" {
		// A child of seven whom the registry gives this guardian.
		c = e.child(n, guardian, e.clock.Now().Year()-7)
	}
	if err := e.store.InsertCitizen(ctx, c); err != nil {
		e.t.Fatal(err)
	}
	acc := &cancuoc.Account{ID: "acc-" + c.PIN.String(), Kind: cancuoc.AccountCitizen, PIN: c.PIN, Level: level,
		Status: cancuoc.AccountActive, GuardianPIN: guardian, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(), Version: 1}
	if err := e.store.InsertAccount(ctx, acc); err != nil {
		e.t.Fatal(err)
	}
	return &holder{pin: c.PIN, acc: acc}
}

// setLife changes the holder's life status in the registry, as the
// registry does with the event that tells it.
func (e *env) setLife(pin cancuoc.PIN, life cancuoc.LifeStatus) {
	e.t.Helper()
	ctx := e.t.Context()
	c, err := e.store.Citizen(ctx, pin)
	if err != nil {
		e.t.Fatal(err)
	}
	n := c.Clone()
	n.LifeStatus, n.Version = life, c.Version+1
	if err := e.store.UpdateCitizen(ctx, n, c.Version); err != nil {
		e.t.Fatal(err)
	}
}

// child is the record of a citizen born in year whose legal
// representative in the registry is guardian (none when "").
func (e *env) child(n int, guardian cancuoc.PIN, year int) *cancuoc.Citizen {
	c := storetest.Minimal(storetest.PINFor("001", cancuoc.Female, year, n), "Nguyễn Thị Bé", "nguyen thi be")
	c.BirthDate = cancuoc.Date{Year: year, Month: 3, Day: 1}
	if guardian != "" {
		c.Guardian = &cancuoc.Relative{PIN: guardian, Name: "Nguyễn Thị Mẹ"}
	}
	return c
}

func (e *env) registerKey(by *holder, forPIN cancuoc.PIN) (*ecdsa.PrivateKey, []*wallet.DocumentView) {
	e.t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := json.Marshal(&jose.JSONWebKey{Key: k.Public()})
	_, reissued, err := e.w.RegisterHolderKey(e.t.Context(), by.acc, forPIN, raw)
	if err != nil {
		e.t.Fatal(err)
	}
	return k, reissued
}

var (
	transport = &cancuoc.Principal{ID: "p-transport", Role: cancuoc.RoleMinistrySystem, Agency: "transport"}
	police    = &cancuoc.Principal{ID: "p-police", Role: cancuoc.RoleMinistrySystem, Agency: "police"}
	admin     = &cancuoc.Principal{ID: "p-admin", Role: cancuoc.RoleNationalAdmin}
	bank      = &cancuoc.Principal{ID: "p-bank", Role: cancuoc.RoleMinistrySystem, Agency: "bank"}
)

func licence(pin cancuoc.PIN) wallet.IssueRequest {
	return wallet.IssueRequest{Type: "driver_licence", PIN: pin.String(), Claims: map[string]any{
		"family_name": "Nguyễn", "given_name": "Văn An", "birth_date": "1990-02-01", "licence_number": "790123456789",
		"categories": []any{"A1", "B2"}, "issue_date": "2024-05-06", "issuing_authority": "Cục Cảnh sát giao thông"}}
}

// present plays the wallet app: prepare on the server, sign on the phone.
func (e *env) present(h *holder, key *ecdsa.PrivateKey, id string, nonce, aud string, claims ...string) string {
	e.t.Helper()
	p, err := e.w.PreparePresentation(e.t.Context(), h.acc, id, wallet.PresentRequest{Claims: claims, Nonce: nonce, Audience: aud})
	if err != nil {
		e.t.Fatal(err)
	}
	return signKB(e.t, p, key)
}

func signKB(t *testing.T, p *wallet.Prepared, key *ecdsa.PrivateKey) string {
	t.Helper()
	h := sha256.Sum256([]byte(p.SigningInput))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return p.SDJWT + p.SigningInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (e *env) check(pres, nonce, aud string) *wallet.Verdict {
	return e.w.Checker(e.t.Context()).Check(pres, wallet.Expect{Nonce: nonce, Audience: aud, RequireKB: true})
}

func TestIssuePresentVerifyLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	key, _ := e.registerKey(an, "")
	doc, err := e.w.Issue(ctx, transport, licence(an.pin))
	if err != nil {
		t.Fatal(err)
	}
	mine, err := e.w.MyDocuments(ctx, an.acc, "")
	if err != nil || len(mine) != 1 || mine[0].ID != doc.ID || mine[0].NameVI != "Giấy phép lái xe" {
		t.Fatalf("list %v %v", mine, err)
	}
	shown, err := e.w.MyDocument(ctx, an.acc, doc.ID)
	if err != nil || len(shown.Claims) != 7 || shown.Claims[0].LabelVI != "Họ" || shown.SDJWT == "" {
		t.Fatalf("show %+v %v", shown, err)
	}

	pres := e.present(an, key, doc.ID, "nonce-12345", "https://bank.example", "given_name", "categories")
	v := e.check(pres, "nonce-12345", "https://bank.example")
	if !v.Valid || v.Status != "valid" || v.Type != "driver_licence" || len(v.Claims) != 2 || v.Claims[0].Name != "given_name" {
		t.Fatalf("verdict %+v", v)
	}
	if v.Issuer != base+"/issuers/transport" {
		t.Errorf("issuer %s", v.Issuer)
	}

	// Suspended, reinstated, revoked: the status list says so at once.
	for _, step := range []struct {
		to   cancuoc.DocumentStatus
		code string
	}{{cancuoc.DocumentSuspended, "document_suspended"}, {cancuoc.DocumentValid, ""}, {cancuoc.DocumentRevoked, "document_revoked"}} {
		if _, err := e.w.SetStatus(ctx, transport, doc.ID, step.to, "test"); err != nil {
			t.Fatal(err)
		}
		if step.to == cancuoc.DocumentRevoked {
			break // a revoked document is not presented any more; checked below
		}
		pres := e.present(an, key, doc.ID, "nonce-abcdefg", "aud", "given_name")
		if v := e.check(pres, "nonce-abcdefg", "aud"); v.Code != step.code || v.Valid != (step.code == "") {
			t.Fatalf("after %s: %+v", step.to, v)
		}
	}
	if v := e.check(pres, "nonce-12345", "https://bank.example"); v.Valid || v.Code != "document_revoked" {
		t.Fatalf("revoked: %+v", v)
	}
	if _, err := e.w.SetStatus(ctx, transport, doc.ID, cancuoc.DocumentValid, ""); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("reinstating a revoked document: %v", err)
	}
	// Every change left its audit entry and event.
	evs, _ := e.store.EventsAfter(ctx, 0, 100)
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	want := "document.issued,document.suspended,document.reinstated,document.revoked"
	if strings.Join(types, ",") != want {
		t.Errorf("events %v, want %s", types, want)
	}
	audit, _ := e.store.AuditFor(ctx, an.pin, 100)
	if len(audit) < 6 {
		t.Errorf("audit entries %d", len(audit))
	}
}

func TestIssueRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	nokey := e.citizen(2, cancuoc.Level1, "")
	e.registerKey(an, "")
	bad := licence(an.pin)
	bad.Claims = map[string]any{"given_name": "An"}
	unknown := licence(an.pin)
	unknown.Claims["shoe_size"] = "42"
	wrongKind := licence(an.pin)
	wrongKind.Claims["birth_date"] = "01/02/1990"
	for name, c := range map[string]struct {
		p    *cancuoc.Principal
		req  wallet.IssueRequest
		kind cancuoc.Kind
		code string
	}{
		"other agency":       {bank, licence(an.pin), cancuoc.Forbidden, "issuance_not_allowed"},
		"police for licence": {police, licence(an.pin), cancuoc.Forbidden, "issuance_not_allowed"},
		"missing claims":     {transport, bad, cancuoc.Invalid, "claim_required"},
		"unknown claim":      {transport, unknown, cancuoc.Invalid, "claim_unknown"},
		"bad date":           {transport, wrongKind, cancuoc.Invalid, "claim_kind"},
		"no wallet key":      {transport, licence(nokey.pin), cancuoc.Conflict, "holder_key_missing"},
		"unknown type":       {transport, wallet.IssueRequest{Type: "passport", PIN: an.pin.String()}, cancuoc.Invalid, "type_unknown"},
		"no such citizen":    {transport, licence(storetest.PIN(77)), cancuoc.NotFound, "citizen_not_found"},
	} {
		_, err := e.w.Issue(ctx, c.p, c.req)
		var ce *cancuoc.Error
		if cancuoc.KindOf(err) != c.kind || !errorsAs(err, &ce) || ce.Code != c.code {
			t.Errorf("%s: %v, want %v %s", name, err, c.kind, c.code)
		}
	}
	if _, err := e.w.Issue(ctx, admin, licence(an.pin)); err != nil {
		t.Errorf("a national administrator may issue every type: %v", err)
	}
}

func errorsAs(err error, target **cancuoc.Error) bool {
	e, ok := err.(*cancuoc.Error)
	if ok {
		*target = e
	}
	return ok
}

// The electronic identity card takes its claims from the registry and is
// issued only to level-2 accounts.
func TestIdentityCardLevel2(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	l1 := e.citizen(1, cancuoc.Level1, "")
	l2 := e.citizen(2, cancuoc.Level2, "")
	e.registerKey(l1, "")
	key2, _ := e.registerKey(l2, "")
	req := wallet.IssueRequest{Type: "eid_card", PIN: l1.pin.String(), Claims: map[string]any{"full_name": "Giả Mạo"}}
	if _, err := e.w.Issue(ctx, police, req); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Fatalf("level 1: %v", err)
	}
	req.PIN = l2.pin.String()
	doc, err := e.w.Issue(ctx, police, req)
	if err != nil {
		t.Fatal(err)
	}
	pres := e.present(l2, key2, doc.ID, "nonce-eid-123", "aud", "full_name", "pin")
	v := e.check(pres, "nonce-eid-123", "aud")
	c := storetest.Citizen(l2.pin)
	if !v.Valid || v.Claims[0].Value != l2.pin.String() || v.Claims[1].Value != c.FullName {
		t.Fatalf("verdict %+v", v)
	}
}

func TestDeathRevokesEverything(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	key, _ := e.registerKey(an, "")
	d1, _ := e.w.Issue(ctx, transport, licence(an.pin))
	d2, err := e.w.Issue(ctx, admin, wallet.IssueRequest{Type: "health_book", PIN: an.pin.String(),
		Claims: map[string]any{"full_name": "Nguyễn Văn An", "birth_date": "1990-02-01", "updated_on": "2026-01-01", "allergies": []any{"penicillin"}}})
	if err != nil {
		t.Fatal(err)
	}
	pres := e.present(an, key, d2.ID, "nonce-health-1", "https://hospital.example", "allergies")
	ev := cancuoc.Event{Type: cancuoc.EventCitizenDied, PIN: an.pin}
	e.setLife(an.pin, cancuoc.Dead)
	for range 2 { // delivered twice: at least once
		if err := e.w.HandleRegistryEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{d1.ID, d2.ID} {
		d, _ := e.store.Document(ctx, id)
		if d.Status != cancuoc.DocumentRevoked || d.Reason != "holder_died" {
			t.Errorf("%s: %s %s", id, d.Status, d.Reason)
		}
	}
	if v := e.check(pres, "nonce-health-1", "https://hospital.example"); v.Code != "document_revoked" {
		t.Errorf("verdict %+v", v)
	}
}

// A missing declaration suspends the valid documents; the person's return
// reinstates them, but not a document its issuer suspended itself.
func TestMissingSuspendsUntilBack(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	e.registerKey(an, "")
	d1, _ := e.w.Issue(ctx, transport, licence(an.pin))
	d2, _ := e.w.Issue(ctx, transport, licence(an.pin))
	if _, err := e.w.SetStatus(ctx, transport, d2.ID, cancuoc.DocumentSuspended, "points"); err != nil {
		t.Fatal(err)
	}
	status := func(id string) cancuoc.DocumentStatus {
		d, _ := e.store.Document(ctx, id)
		return d.Status
	}
	missing := cancuoc.Event{Type: cancuoc.EventCitizenMissing, PIN: an.pin}
	e.setLife(an.pin, cancuoc.Missing)
	if err := e.w.HandleRegistryEvent(ctx, missing); err != nil {
		t.Fatal(err)
	}
	if status(d1.ID) != cancuoc.DocumentSuspended || status(d2.ID) != cancuoc.DocumentSuspended {
		t.Fatalf("missing: %s %s", status(d1.ID), status(d2.ID))
	}
	// An update that names the fields it changed, none of them the life
	// status (a new address, a new child), is no return.
	other := cancuoc.Event{Type: cancuoc.EventCitizenUpdated, PIN: an.pin, Data: json.RawMessage(`{"fields":["household","children"]}`)}
	if err := e.w.HandleRegistryEvent(ctx, other); err != nil {
		t.Fatal(err)
	}
	if status(d1.ID) != cancuoc.DocumentSuspended {
		t.Fatalf("after an update of other fields: %s", status(d1.ID))
	}
	back := cancuoc.Event{Type: cancuoc.EventCitizenUpdated, PIN: an.pin, Data: json.RawMessage(`{"fields":["life_status","missing_since"]}`)}
	e.setLife(an.pin, cancuoc.Alive)
	for _, ev := range []cancuoc.Event{back, {Type: cancuoc.EventCitizenUpdated, PIN: an.pin}} {
		if err := e.w.HandleRegistryEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if status(d1.ID) != cancuoc.DocumentValid || status(d2.ID) != cancuoc.DocumentSuspended {
		t.Fatalf("back: %s %s", status(d1.ID), status(d2.ID))
	}
	// Old events delivered again (a consumer recreated from the stream's
	// start) follow the record as it is now: the holder is alive, so
	// neither the declaration of missing nor a death since corrected
	// changes a document.
	for _, ev := range []cancuoc.Event{missing, {Type: cancuoc.EventCitizenDied, PIN: an.pin}} {
		if err := e.w.HandleRegistryEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if status(d1.ID) != cancuoc.DocumentValid || status(d2.ID) != cancuoc.DocumentSuspended {
		t.Errorf("old events again: %s %s, want valid suspended", status(d1.ID), status(d2.ID))
	}
}

// A guardian registers the child's wallet key, sees and presents the
// child's documents; a stranger sees nothing.
func TestGuardianPresentsChildsDocument(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	mum := e.citizen(1, cancuoc.Level2, "")
	child := e.citizen(2, cancuoc.Level1, mum.pin)
	stranger := e.citizen(3, cancuoc.Level2, "")
	childKey, _ := e.registerKey(mum, child.pin)
	doc, err := e.w.Issue(ctx, admin, wallet.IssueRequest{Type: "birth_certificate", PIN: child.pin.String(), Claims: map[string]any{
		"full_name": "Nguyễn Thị Bé", "pin": child.pin.String(), "birth_date": "2024-03-01", "sex": "female", "place_of_birth": "Hà Nội",
		"nationality": "VNM", "registration_number": "123/2024", "registered_on": "2024-03-10", "registration_authority": "UBND phường Ba Đình"}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.w.MyDocuments(ctx, mum.acc, child.pin)
	if err != nil || len(list) != 1 {
		t.Fatalf("guardian's view: %v %v", list, err)
	}
	pres := e.present(mum, childKey, doc.ID, "nonce-school-1", "https://school.example", "full_name", "birth_date")
	if v := e.check(pres, "nonce-school-1", "https://school.example"); !v.Valid {
		t.Fatalf("verdict %+v", v)
	}
	if _, err := e.w.MyDocuments(ctx, stranger.acc, child.pin); cancuoc.KindOf(err) != cancuoc.Forbidden {
		t.Errorf("stranger lists: %v", err)
	}
	if _, err := e.w.MyDocument(ctx, stranger.acc, doc.ID); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("stranger shows: %v", err)
	}
	if _, err := e.w.PreparePresentation(ctx, stranger.acc, doc.ID, wallet.PresentRequest{Nonce: "nonce-xyz-123", Audience: "a"}); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("stranger presents: %v", err)
	}
}

// A new phone: registering a new key reissues the documents to it; the
// old ones are revoked and the old key cannot present any more.
func TestNewKeyReissues(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	oldKey, _ := e.registerKey(an, "")
	doc, _ := e.w.Issue(ctx, transport, licence(an.pin))
	oldPres := e.present(an, oldKey, doc.ID, "nonce-old-123", "aud", "given_name")
	newKey, reissued := e.registerKey(an, "")
	if len(reissued) != 1 || reissued[0].ID == doc.ID {
		t.Fatalf("reissued %v", reissued)
	}
	old, _ := e.store.Document(ctx, doc.ID)
	if old.Status != cancuoc.DocumentRevoked || old.ReplacedBy != reissued[0].ID {
		t.Errorf("old %+v", old)
	}
	if v := e.check(oldPres, "nonce-old-123", "aud"); v.Code != "document_revoked" {
		t.Errorf("old presentation: %+v", v)
	}
	p := e.present(an, newKey, reissued[0].ID, "nonce-new-123", "aud", "given_name")
	if v := e.check(p, "nonce-new-123", "aud"); !v.Valid {
		t.Errorf("new: %+v", v)
	}
	// Signed with the old key, the new document's presentation fails.
	pr, _ := e.w.PreparePresentation(ctx, an.acc, reissued[0].ID, wallet.PresentRequest{Claims: []string{"given_name"}, Nonce: "nonce-new-456", Audience: "aud"})
	if v := e.check(signKB(t, pr, oldKey), "nonce-new-456", "aud"); v.Code != sdjwt.CodeKBSignature {
		t.Errorf("old key on new document: %+v", v)
	}
}

func TestExpiredDocument(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	key, _ := e.registerKey(an, "")
	req := licence(an.pin)
	exp := e.clock.Now().Add(time.Hour)
	req.ExpiresAt = &exp
	doc, err := e.w.Issue(ctx, transport, req)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Hour)
	pres := e.present(an, key, doc.ID, "nonce-late-123", "aud", "given_name")
	if v := e.check(pres, "nonce-late-123", "aud"); v.Code != sdjwt.CodeExpired {
		t.Errorf("verdict %+v", v)
	}
}

func TestStatusListPublished(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	e.registerKey(an, "")
	doc, _ := e.w.Issue(ctx, transport, licence(an.pin))
	if _, err := e.w.SetStatus(ctx, transport, doc.ID, cancuoc.DocumentSuspended, "points"); err != nil {
		t.Fatal(err)
	}
	md, err := e.w.Metadata(ctx, "transport")
	if err != nil || md.Issuer != base+"/issuers/transport" || len(md.JWKS.Keys) != 1 {
		t.Fatalf("metadata %+v %v", md, err)
	}
	tok, ttl, err := e.w.StatusListToken(ctx, "transport", doc.StatusList)
	if err != nil || ttl != 5*time.Minute {
		t.Fatal(err)
	}
	keys := func(iss, kid string) (*jose.JSONWebKey, error) { return &md.JWKS.Key(kid)[0], nil }
	c, l, err := statuslist.Verify(tok, e.w.StatusURI("transport", doc.StatusList), base+"/issuers/transport", keys, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := l.Get(int(doc.StatusIndex)); v != statuslist.Suspended || c.TTL != 300 || l.Len() != 1<<12 {
		t.Errorf("status %d ttl %d len %d", v, c.TTL, l.Len())
	}
	if _, _, err := e.w.StatusListToken(ctx, "nobody", 0); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("unknown agency: %v", err)
	}
	if _, err := e.w.TypeMetadataOf("driver_licence"); err != nil {
		t.Error(err)
	}
}

func TestOnlinePresentationDirectPost(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	key, _ := e.registerKey(an, "")
	doc, _ := e.w.Issue(ctx, transport, licence(an.pin))
	req, err := e.w.CreateVPRequest(ctx, bank, "driver_licence", []string{"given_name", "categories"})
	if err != nil {
		t.Fatal(err)
	}
	seen, err := e.w.VPRequestFor(ctx, nil, req.ID)
	if err != nil || seen.Nonce != req.Nonce || seen.ResponseMode != "direct_post" {
		t.Fatalf("wallet's view %+v %v", seen, err)
	}
	// A presentation made for another request is refused (replay).
	other, _ := e.w.CreateVPRequest(ctx, bank, "driver_licence", []string{"given_name"})
	replay := e.present(an, key, doc.ID, other.Nonce, other.ClientID, "given_name", "categories")
	pres := e.present(an, key, doc.ID, seen.Nonce, seen.ClientID, "given_name", "categories")
	v, err := e.w.RespondVP(ctx, req.ID, pres, "")
	if err != nil || !v.Valid {
		t.Fatalf("response %+v %v", v, err)
	}
	if _, err := e.w.RespondVP(ctx, req.ID, pres, ""); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("second response: %v", err)
	}
	res, err := e.w.VPRequestFor(ctx, bank, req.ID)
	if err != nil || res.Verdict == nil || !res.Verdict.Valid {
		t.Fatalf("verifier's result %+v %v", res, err)
	}
	if _, err := e.w.VPRequestFor(ctx, police, req.ID); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("another verifier read the result: %v", err)
	}
	third, _ := e.w.CreateVPRequest(ctx, bank, "driver_licence", nil)
	if v, _ := e.w.RespondVP(ctx, third.ID, replay, ""); v.Valid || v.Code != sdjwt.CodeKBNonce {
		t.Errorf("replayed: %+v", v)
	}
	short := e.present(an, key, doc.ID, other.Nonce, other.ClientID, "given_name")
	if v, _ := e.w.RespondVP(ctx, other.ID, short, ""); !v.Valid {
		t.Errorf("other: %+v", v)
	}
}

func TestQRRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	an := e.citizen(1, cancuoc.Level1, "")
	key, _ := e.registerKey(an, "")
	doc, _ := e.w.Issue(ctx, transport, licence(an.pin))
	pres := e.present(an, key, doc.ID, "nonce-qr-1234", "https://police.example", "given_name", "family_name", "categories")
	img, err := wallet.QRPNG(pres, 4)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(decoded)
	// The image is the code alone with its quiet zone (a pure barcode): read
	// as such, not searched for as in a photograph, whose finder-pattern
	// search missed about one in twelve of these random presentations.
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("the QR code does not scan: %v", err)
	}
	if res.GetText() != pres {
		t.Fatal("scanned text differs from the presentation")
	}
	if v := e.check(res.GetText(), "nonce-qr-1234", "https://police.example"); !v.Valid {
		t.Errorf("scanned presentation: %+v", v)
	}
	svg, err := wallet.QRSVG(pres)
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("M4 4h1v1h-1z")) {
		t.Errorf("svg %.80s %v", svg, err)
	}
	if _, err := wallet.QRPNG(strings.Repeat("x", wallet.MaxQR+1), 4); cancuoc.KindOf(err) != cancuoc.Invalid {
		t.Errorf("oversized: %v", err)
	}
}

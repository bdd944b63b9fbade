package statuslist

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
)

// The draft's example of a 1-bit list: statuses 1,0,0,1,1,1,0,1 at 0..7
// and 1,1,0,0,1,0,1,0 at 8..15 are the bytes 0xB9 0xA3.
func TestBitOrderOneBit(t *testing.T) {
	l, _ := New(1, 16)
	for i, v := range []byte{1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1} {
		if err := l.Set(i, v); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(l.data, []byte{0xB9, 0xA3}) {
		t.Fatalf("bytes % x", l.data)
	}
}

// The draft's 2-bit example: 1,2,0,3 → 0xC9; 0,1,0,2 → 0x44; 1,1,1,3 → 0xF9.
func TestBitOrderTwoBits(t *testing.T) {
	l, _ := New(2, 12)
	for i, v := range []byte{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3} {
		if err := l.Set(i, v); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(l.data, []byte{0xC9, 0x44, 0xF9}) {
		t.Fatalf("bytes % x", l.data)
	}
	e := l.Encode()
	back, err := Decode(e)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		a, _ := l.Get(i)
		b, _ := back.Get(i)
		if a != b {
			t.Fatalf("entry %d: %d != %d", i, a, b)
		}
	}
	if err := l.Set(12, 1); cancuoc.KindOf(err) != cancuoc.Invalid {
		t.Errorf("out of range: %v", err)
	}
	if err := l.Set(0, 4); cancuoc.KindOf(err) != cancuoc.Invalid {
		t.Errorf("too wide: %v", err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	var bomb bytes.Buffer
	w := zlib.NewWriter(&bomb)
	_, _ = w.Write(make([]byte, MaxBytes+10))
	_ = w.Close()
	for name, e := range map[string]Encoded{
		"bits":   {Bits: 3, Lst: "eNrbuRgAAhcBXQ"},
		"base64": {Bits: 1, Lst: "***"},
		"zlib":   {Bits: 1, Lst: base64.RawURLEncoding.EncodeToString([]byte("plain"))},
		"bomb":   {Bits: 1, Lst: base64.RawURLEncoding.EncodeToString(bomb.Bytes())},
	} {
		if _, err := Decode(e); cancuoc.KindOf(err) != cancuoc.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTokenSignVerify(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := &jose.JSONWebKey{Key: k.Public(), KeyID: "s1"}
	const justice = "https://id.example.vn/issuers/justice"
	// The verifier trusts two issuers: justice (key s1) and transport
	// (key t1); a key is found only under its own issuer.
	tk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpub := &jose.JSONWebKey{Key: tk.Public(), KeyID: "t1"}
	keys := func(iss, kid string) (*jose.JSONWebKey, error) {
		switch {
		case iss == justice && kid == "s1":
			return pub, nil
		case iss == "https://id.example.vn/issuers/transport" && kid == "t1":
			return tpub, nil
		}
		return nil, errors.New("unknown")
	}
	l, _ := New(2, 1<<16)
	_ = l.Set(40000, Suspended)
	now := time.Now()
	tok, err := Sign(k, "s1", "https://id.example.vn/issuers/justice", "https://id.example.vn/statuslists/justice/0", l, now, 5*time.Minute, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, got, err := Verify(tok, "https://id.example.vn/statuslists/justice/0", justice, keys, now)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := got.Get(40000); v != Suspended || c.TTL != 300 {
		t.Fatalf("status %d ttl %d", v, c.TTL)
	}
	if _, _, err := Verify(tok, "https://id.example.vn/statuslists/justice/1", justice, keys, now); err == nil {
		t.Error("accepted for another URI")
	}
	if _, _, err := Verify(tok, "https://id.example.vn/statuslists/justice/0", justice, keys, now.Add(25*time.Hour)); err == nil {
		t.Error("accepted when expired")
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged, _ := Sign(other, "s1", "x", "https://id.example.vn/statuslists/justice/0", l, now, time.Minute, time.Hour)
	if _, _, err := Verify(forged, "https://id.example.vn/statuslists/justice/0", justice, keys, now); err == nil {
		t.Error("accepted a forged list")
	}
	// Bound to the document's issuer: transport's list at justice's URI,
	// whether it names itself, names justice or names no one, is refused;
	// so is justice's own list under another subject, or with no URI.
	uri := "https://id.example.vn/statuslists/justice/0"
	for _, iss := range []string{"https://id.example.vn/issuers/transport", justice, ""} {
		other, _ := Sign(tk, "t1", iss, uri, l, now, time.Minute, time.Hour)
		_, _, err := Verify(other, uri, justice, keys, now)
		if code := errCode(err); code != "statuslist_unknown_key" {
			t.Errorf("transport's key, iss %q: %v", iss, err)
		}
	}
	named, _ := Sign(k, "s1", "https://id.example.vn/issuers/transport", uri, l, now, time.Minute, time.Hour)
	if _, _, err := Verify(named, uri, justice, keys, now); errCode(err) != "statuslist_issuer" {
		t.Errorf("justice's key naming another issuer: %v", err)
	}
	if _, _, err := Verify(tok, uri, "https://id.example.vn/issuers/transport", keys, now); errCode(err) != "statuslist_unknown_key" {
		t.Errorf("justice's list for a transport document: %v", err)
	}
	if _, _, err := Verify(tok, "", justice, keys, now); errCode(err) != "statuslist_reference" {
		t.Errorf("no URI: %v", err)
	}
}

// FuzzDecode: arbitrary lists never panic and never exceed the bound.
func FuzzDecode(f *testing.F) {
	l, _ := New(2, 100)
	_ = l.Set(3, 1)
	f.Add(2, l.Encode().Lst)
	f.Add(1, "eNrbuRgAAhcBXQ")
	f.Add(8, "")
	f.Fuzz(func(t *testing.T, bits int, lst string) {
		got, err := Decode(Encoded{Bits: bits, Lst: lst})
		if err == nil && (len(got.data) > MaxBytes || got.Len() == 0) {
			t.Fatal("accepted an out-of-bounds list")
		}
	})
}

// FuzzVerify: arbitrary tokens never panic.
func FuzzVerify(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	l, _ := New(1, 64)
	tok, _ := Sign(k, "s1", "i", "u", l, time.Now(), time.Minute, time.Hour)
	f.Add(tok)
	f.Add("a.b.c")
	keys := func(string, string) (*jose.JSONWebKey, error) { return &jose.JSONWebKey{Key: k.Public()}, nil }
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = Verify(s, "u", "i", keys, time.Now())
	})
}

// The draft's published encodings decode to its example bytes.
func TestDecodeDraftExamples(t *testing.T) {
	for _, c := range []struct {
		bits int
		lst  string
		want []byte
	}{{1, "eNrbuRgAAhcBXQ", []byte{0xB9, 0xA3}}, {2, "eNo76fITAAPfAgc", []byte{0xC9, 0x44, 0xF9}}} {
		l, err := Decode(Encoded{Bits: c.bits, Lst: c.lst})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l.data, c.want) {
			t.Errorf("%s: % x", c.lst, l.data)
		}
	}
}

func errCode(err error) string {
	var e *cancuoc.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

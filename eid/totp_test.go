package eid

import (
	"encoding/base32"
	"testing"
	"time"
)

// TestTOTPRFC6238 checks the SHA-1 test vectors of RFC 6238, appendix B
// (secret "12345678901234567890", 8 digits).
func TestTOTPRFC6238(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := TOTPCode(secret, time.Unix(tc.unix, 0), 8)
		if err != nil || got != tc.want {
			t.Errorf("T=%d: %q, %v; want %q", tc.unix, got, err, tc.want)
		}
	}
}

func TestMatchTOTP(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1111111111, 0)
	code, _ := TOTPCode(secret, now, 6)
	if got := matchTOTP(secret, code, now); got != now.Unix()/30 {
		t.Errorf("current step: %d", got)
	}
	// One step of drift either way is accepted; two are not.
	if got := matchTOTP(secret, code, now.Add(30*time.Second)); got != now.Unix()/30 {
		t.Errorf("one step later: %d", got)
	}
	if got := matchTOTP(secret, code, now.Add(-30*time.Second)); got != now.Unix()/30 {
		t.Errorf("one step earlier: %d", got)
	}
	if got := matchTOTP(secret, code, now.Add(61*time.Second)); got != -1 {
		t.Errorf("two steps later accepted: %d", got)
	}
	if got := matchTOTP(secret, "000000", now); got != -1 && code != "000000" {
		t.Errorf("wrong code accepted")
	}
}

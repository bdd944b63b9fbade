package mrtd

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// ChallengeSize is the length of an active-authentication challenge: the
// INTERNAL AUTHENTICATE command carries 8 bytes (Doc 9303 Part 11 §6.1).
const ChallengeSize = 8

// ChallengeStore issues active-authentication challenges and accepts each
// back once, within its lifetime. A response to a challenge the server did
// not issue, or to one already used, proves nothing: a recorded response
// could be replayed by a clone. It keeps challenges in memory, so a node
// must verify the challenges it issued (a shared store comes with the API).
type ChallengeStore struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]pending
}

type pending struct {
	challenge []byte
	expires   time.Time
}

// NewChallengeStore returns a store whose challenges live ttl and which
// holds at most max outstanding challenges, so a flood of requests cannot
// grow it without bound.
func NewChallengeStore(ttl time.Duration, max int) *ChallengeStore {
	return &ChallengeStore{ttl: ttl, max: max, m: map[string]pending{}}
}

// Issue draws a fresh challenge and an identifier to return it with. It
// fails with kind Unavailable when max challenges are outstanding.
func (s *ChallengeStore) Issue(now time.Time) (id string, challenge []byte, err error) {
	const op = "mrtd.ChallengeStore.Issue"
	challenge = make([]byte, ChallengeSize)
	idb := make([]byte, 16)
	rand.Read(challenge) // crypto/rand.Read never fails (Go 1.24+)
	rand.Read(idb)
	id = hex.EncodeToString(idb)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		for k, p := range s.m {
			if !now.Before(p.expires) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= s.max {
			return "", nil, cancuoc.E(cancuoc.Unavailable, op, "aa_challenges_full",
				"Hệ thống đang bận, vui lòng thử lại.", "Too many outstanding challenges; try again shortly.")
		}
	}
	s.m[id] = pending{challenge: challenge, expires: now.Add(s.ttl)}
	return id, append([]byte(nil), challenge...), nil
}

// Take returns the challenge of id and forgets it, so it can be used once.
// An unknown, used or expired identifier is kind Invalid.
func (s *ChallengeStore) Take(id string, now time.Time) ([]byte, error) {
	const op = "mrtd.ChallengeStore.Take"
	s.mu.Lock()
	p, ok := s.m[id]
	delete(s.m, id)
	s.mu.Unlock()
	if !ok {
		return nil, cancuoc.InvalidField(op, "challenge_id", "aa_challenge_unknown",
			"Mã thử thách không tồn tại hoặc đã được dùng.", "The challenge is unknown or was already used.")
	}
	if !now.Before(p.expires) {
		return nil, cancuoc.InvalidField(op, "challenge_id", "aa_challenge_expired",
			"Mã thử thách đã hết hạn.", "The challenge has expired.")
	}
	return p.challenge, nil
}

// Len returns the number of outstanding challenges.
func (s *ChallengeStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// CheckActive adds the active-authentication check to a Result: the chip's
// signature over challenge must verify with the DG15 key (which passive
// authentication proved part of the card). For ECDSA keys the hash comes
// from DG14's ActiveAuthenticationInfo.
func (r *Result) CheckActive(challenge, signature []byte) {
	if r.AAKey == nil {
		r.add("aa.signature", false, "no active-authentication key (DG15) to verify with")
		return
	}
	err := VerifyActive(r.AAKey, r.Chip.ActiveAuthHash(), challenge, signature)
	r.add("aa.signature", err == nil, ifElse(err == nil, r.AAKey.Algorithm, errDetail(err)))
}

// VerifyActive checks an active-authentication response: for ECDSA a plain
// r‖s signature (BSI TR-03111) over the challenge hashed with h; for RSA
// an ISO/IEC 9796-2 digital signature scheme 1 signature with message
// recovery, whose recovered hash must cover the chip's nonce and the
// challenge.
func VerifyActive(key *PublicKey, h crypto.Hash, challenge, signature []byte) error {
	switch k := key.Key.(type) {
	case *ecdsa.PublicKey:
		if h == 0 {
			return errors.New("DG14 names no hash for ECDSA active authentication")
		}
		size := (k.Curve.Params().N.BitLen() + 7) / 8
		if len(signature) != 2*size {
			return fmt.Errorf("ECDSA response of %d bytes, not %d", len(signature), 2*size)
		}
		d := h.New()
		d.Write(challenge)
		rr := new(big.Int).SetBytes(signature[:size])
		ss := new(big.Int).SetBytes(signature[size:])
		if !ecdsa.Verify(k, d.Sum(nil), rr, ss) {
			return errors.New("ECDSA active-authentication signature does not verify")
		}
		return nil
	case *rsa.PublicKey:
		return verifyISO9796(k, challenge, signature)
	}
	return fmt.Errorf("active authentication with a %s key", key.Algorithm)
}

// iso9796Hashes maps the hash identifiers of ISO/IEC 10118-3, used in the
// two-byte trailer, to hashes.
var iso9796Hashes = map[byte]crypto.Hash{0x33: crypto.SHA1, 0x34: crypto.SHA256, 0x35: crypto.SHA512, 0x36: crypto.SHA384, 0x38: crypto.SHA224}

// verifyISO9796 recovers the message representative of an ISO/IEC 9796-2
// scheme 1 signature (partial recovery) and checks header, trailer and the
// hash over the recovered part M1 and the challenge M2.
func verifyISO9796(k *rsa.PublicKey, challenge, sig []byte) error {
	size := k.Size()
	if len(sig) != size {
		return fmt.Errorf("RSA response of %d bytes, not %d", len(sig), size)
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(k.N) >= 0 {
		return errors.New("RSA response is not below the modulus")
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(k.E)), k.N).FillBytes(make([]byte, size))
	// Header: the top two bits 01, then 1 for partial recovery, then
	// padding bits that end in the nibble A (RFC-free summary of
	// ISO/IEC 9796-2 §8.1). Chips use a one-byte 0x6A header.
	if m[0] != 0x6A {
		return fmt.Errorf("recovered message header %02X is not 6A (partial recovery)", m[0])
	}
	var h crypto.Hash
	trailer := 1
	switch {
	case m[size-1] == 0xBC:
		h = crypto.SHA1
	case m[size-1] == 0xCC:
		var ok bool
		if h, ok = iso9796Hashes[m[size-2]]; !ok {
			return fmt.Errorf("trailer %02X%02X names an unknown hash", m[size-2], m[size-1])
		}
		trailer = 2
	default:
		return fmt.Errorf("recovered message trailer %02X is neither BC nor CC", m[size-1])
	}
	hl := h.Size()
	if size < 1+hl+trailer+1 {
		return errors.New("modulus too small for the hash")
	}
	m1 := m[1 : size-hl-trailer]
	digest := m[size-hl-trailer : size-trailer]
	d := h.New()
	d.Write(m1)
	d.Write(challenge)
	if subtle.ConstantTimeCompare(d.Sum(nil), digest) != 1 {
		return errors.New("recovered hash does not cover the chip's nonce and the challenge")
	}
	return nil
}

// signISO9796 is the chip's side of verifyISO9796, for test cards: it
// signs the challenge with SHA-256 (trailer 34CC) and a random nonce M1
// filling the rest of the modulus.
func signISO9796(k *rsa.PrivateKey, challenge []byte) ([]byte, error) {
	size := k.Size()
	h := crypto.SHA256
	m1 := make([]byte, size-1-h.Size()-2)
	rand.Read(m1)
	d := h.New()
	d.Write(m1)
	d.Write(challenge)
	var m bytes.Buffer
	m.WriteByte(0x6A)
	m.Write(m1)
	m.Write(d.Sum(nil))
	m.Write([]byte{0x34, 0xCC})
	// m starts with 0x6A, below any modulus whose top byte is 0x80 or
	// more, which every key of a multiple of 8 bits has.
	c := new(big.Int).Exp(new(big.Int).SetBytes(m.Bytes()), k.D, k.N)
	return c.FillBytes(make([]byte, size)), nil
}

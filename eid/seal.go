package eid

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// TOTP secrets are stored sealed: AES-256-GCM under a key derived with
// HKDF-SHA256 from the server secret, the account ID as associated data (a
// sealed secret copied to another account's row does not open), and the
// secret's ID in the stored form so that the server secret can change:
//
//	sealed:<secret id>:<base64url(nonce ‖ ciphertext ‖ tag)>
//
// A row sealed under an older secret (Config.OldSecrets), or stored in
// clear by an earlier version, is opened and sealed again under the current
// secret the next time the code is checked.
const sealedPrefix = "sealed:"

// sealer holds the AEADs of the current secret and of older ones.
type sealer struct {
	current string
	aeads   map[string]cipher.AEAD
	limit   []byte // HMAC key naming rate-limit counters
}

func deriveKey(secret []byte, purpose string) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, "cancuoc eid "+purpose, 32)
}

func newSealer(cfg Config) (*sealer, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("eid: the server secret (Config.Secret) must be at least 32 bytes")
	}
	id := cfg.SecretID
	if id == "" {
		id = "1"
	}
	if strings.ContainsAny(id, ":") {
		return nil, errors.New("eid: a secret ID must not contain ':'")
	}
	s := &sealer{current: id, aeads: map[string]cipher.AEAD{}}
	add := func(id string, secret []byte) error {
		k, err := deriveKey(secret, "totp sealing")
		if err != nil {
			return err
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return err
		}
		s.aeads[id] = aead
		return nil
	}
	if err := add(id, cfg.Secret); err != nil {
		return nil, err
	}
	for oid, sec := range cfg.OldSecrets {
		if oid == id || strings.ContainsAny(oid, ":") || len(sec) < 32 {
			return nil, fmt.Errorf("eid: old secret %q must have another ID without ':' and at least 32 bytes", oid)
		}
		if err := add(oid, sec); err != nil {
			return nil, err
		}
	}
	var err error
	if s.limit, err = deriveKey(cfg.Secret, "rate limit keys"); err != nil {
		return nil, err
	}
	return s, nil
}

// seal encrypts plain for the row of owner under the current secret.
func (s *sealer) seal(owner, plain string) (string, error) {
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := aead.Seal(nonce, nonce, []byte(plain), []byte(owner))
	return sealedPrefix + s.current + ":" + base64.RawURLEncoding.EncodeToString(ct), nil
}

// open decrypts a stored value of owner's row. stale reports that it
// should be sealed again: stored in clear, or under an old secret.
func (s *sealer) open(owner, stored string) (plain string, stale bool, err error) {
	if stored == "" {
		return "", false, nil
	}
	if !strings.HasPrefix(stored, sealedPrefix) {
		return stored, true, nil // written in clear before sealing existed
	}
	id, enc, ok := strings.Cut(stored[len(sealedPrefix):], ":")
	aead := s.aeads[id]
	if !ok || aead == nil {
		return "", false, fmt.Errorf("eid: a TOTP secret is sealed under secret %q, which this server does not have (Config.OldSecrets)", id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", false, errors.New("eid: a sealed TOTP secret is malformed")
	}
	b, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(owner))
	if err != nil {
		return "", false, errors.New("eid: a sealed TOTP secret does not open (wrong secret or moved row)")
	}
	return string(b), id != s.current, nil
}

// limitKey names a rate-limit counter without writing the phone number or
// PIN it counts into the database: an HMAC under a server key, which a dump
// of the table cannot reverse by trying every number.
func (s *sealer) limitKey(kind, value string) string {
	m := hmac.New(sha256.New, s.limit)
	m.Write([]byte(kind + "\x00" + value))
	return "sms:" + kind + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// Package seal encrypts secrets kept in the database (signing keys) with
// AES-256-GCM under a key derived from the server secret, so that a dump of
// the database alone cannot sign anything. The record's ID is the
// associated data: a sealed value moved to another row does not open.
//
// The OpenID provider seals its keys the same way (oidc/keys.go, written
// before this package); the wallet's issuer keys use this one.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"

	"golang.org/x/crypto/hkdf"
)

// Sealer seals and opens values.
type Sealer struct{ aead cipher.AEAD }

// New derives an AES-256-GCM key for purpose (e.g. "wallet issuer keys")
// from the server secret with HKDF-SHA256, so one secret serves several
// capabilities without their sealed values opening each other's.
func New(secret []byte, purpose string) (*Sealer, error) {
	if len(secret) < 16 {
		return nil, errors.New("seal: the server secret must be at least 16 bytes")
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte("cancuoc seal: "+purpose)), key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain for the record id.
func (s *Sealer) Seal(id string, plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(id)), nil
}

// Open decrypts a value sealed for id.
func (s *Sealer) Open(id string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("seal: sealed value too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], []byte(id))
}

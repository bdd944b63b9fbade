package eid

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id parameters (RFC 9106) used for new
// password hashes. Every hash records the parameters it was made with, so
// raising them later only changes new hashes; an old hash is upgraded at the
// holder's next successful login.
type PasswordParams struct {
	// Memory in KiB. More memory is what makes guessing on GPUs and ASICs
	// expensive.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultPasswordParams follow OWASP's current recommendation for argon2id
// (19 MiB, 2 passes, 1 thread): about 30–60 ms per hash on one core of a
// server, slow for a guesser and affordable at login rates. Deployments with
// more memory per login may raise Memory (RFC 9106's second recommended
// option is 64 MiB, 3 passes).
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// validate refuses parameters too weak to be a password hash, so that a
// configuration typo cannot silently weaken every account.
func (p PasswordParams) validate() error {
	switch {
	case p.Memory < 8*1024 && !testParams(p):
		return errors.New("argon2id memory must be at least 8 MiB")
	case p.Time < 1:
		return errors.New("argon2id time must be at least 1")
	case p.Threads < 1:
		return errors.New("argon2id threads must be at least 1")
	case p.SaltLen < 16:
		return errors.New("argon2id salt must be at least 16 bytes")
	case p.KeyLen < 16:
		return errors.New("argon2id key must be at least 16 bytes")
	}
	return nil
}

// FastTestPasswordParams are cheap parameters for tests only; New accepts them
// because tests would otherwise spend most of their time hashing.
func FastTestPasswordParams() PasswordParams {
	return PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func testParams(p PasswordParams) bool { return p == FastTestPasswordParams() }

var b64 = base64.RawStdEncoding

// HashPassword returns the PHC string of password under p:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<hash>, base64
// without padding, the format of the reference implementation.
func HashPassword(password string, p PasswordParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errHashFormat is a stored hash that cannot be read: a fault of ours.
var errHashFormat = errors.New("eid: password hash is not an argon2id PHC string")

// parseHash reads a PHC string into its parameters, salt and key.
func parseHash(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errHashFormat
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, errHashFormat
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errHashFormat
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errHashFormat
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errHashFormat
		}
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, errHashFormat
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, errHashFormat
	}
	// Bounds stop a corrupted or hostile stored value from asking for
	// gigabytes of memory or hours of work.
	if p.Memory == 0 || p.Memory > 4*1024*1024 || p.Time == 0 || p.Time > 100 || p.Threads == 0 ||
		len(salt) < 8 || len(key) < 16 || len(key) > 1024 {
		return p, nil, nil, errHashFormat
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches the PHC string, and
// whether the hash should be recomputed because its parameters differ from
// want. An unreadable hash is an error, not a mismatch.
func VerifyPassword(encoded, password string, want PasswordParams) (ok, rehash bool, err error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != want, nil
}

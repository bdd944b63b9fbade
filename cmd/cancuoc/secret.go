package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// dataSecret returns a server secret of at least 32 bytes: given (hex, from
// the flag named flag), or kept in the data directory's file name so that
// what it seals or derives survives restarts; made on first start. The file
// appears whole or not at all (written aside, then linked into place), so
// two processes starting at once agree on one and neither reads it half
// written.
func dataSecret(given, flag, dataDir, name, what string) ([]byte, error) {
	if given != "" {
		b, err := hex.DecodeString(given)
		if err != nil || len(b) < 32 {
			return nil, fmt.Errorf("-%s must be at least 32 bytes in hex", flag)
		}
		return b, nil
	}
	path := filepath.Join(dataDir, name)
	if b, err := readSecret(path, what); !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dataDir, "."+name+"-*")
	if err != nil {
		return nil, fmt.Errorf("store the %s: %w", what, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hex.EncodeToString(b) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("store the %s: %w", what, err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Chmod(0o600), tmp.Close()); err != nil {
		return nil, fmt.Errorf("store the %s: %w", what, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readSecret(path, what) // another process made it first
	} else if err != nil {
		return nil, fmt.Errorf("store the %s: %w", what, err)
	}
	return b, nil
}

// readSecret reads a kept secret, refusing one that is not 32 or more
// bytes of hex rather than running with a weak or empty key.
func readSecret(path, what string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("the %s in %s is damaged (want at least 32 bytes in hex); restore it from a backup", what, path)
	}
	return b, nil
}

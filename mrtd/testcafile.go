package mrtd

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of a saved test CA.
const (
	testCAAlgFile  = "algorithm"
	testCACSCAFile = "csca.pem"
	testCADSFile   = "document-signer.pem"
	testCAKeyFile  = "keys.pem" // CSCA key then document-signer key, PKCS#8
)

// Save writes the test CA to dir (created 0700): the certificates, the
// algorithm and both private keys (mode 0600), so that a server and the
// personalization command share one test CSCA across restarts. Brainpool
// keys cannot be saved (PKCS#8 in crypto/x509 does not know the curves).
func (ca *TestCA) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var keys []byte
	for _, k := range []crypto.Signer{ca.csca.key, ca.ds.key} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return fmt.Errorf("test CA with %s keys cannot be saved: %w", ca.Algorithm, err)
		}
		keys = append(keys, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{testCAAlgFile, []byte(string(ca.Algorithm) + "\n"), 0o644},
		{testCACSCAFile, ca.CSCAPEM(), 0o644},
		{testCADSFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.DS.Raw}), 0o644},
		{testCAKeyFile, keys, 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// LoadTestCA reads a test CA saved by Save.
func LoadTestCA(dir string) (*TestCA, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	alg, err := read(testCAAlgFile)
	if err != nil {
		return nil, err
	}
	ca := &TestCA{Algorithm: KeyAlgorithm(strings.TrimSpace(string(alg)))}
	keysPEM, err := read(testCAKeyFile)
	if err != nil {
		return nil, err
	}
	var keys []crypto.Signer
	for {
		var b *pem.Block
		if b, keysPEM = pem.Decode(keysPEM); b == nil {
			break
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", testCAKeyFile, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: key %T cannot sign", testCAKeyFile, k)
		}
		keys = append(keys, s)
	}
	if len(keys) != 2 {
		return nil, fmt.Errorf("%s: %d keys, want 2", testCAKeyFile, len(keys))
	}
	ca.csca, ca.ds = signer{keys[0], ca.Algorithm}, signer{keys[1], ca.Algorithm}
	ca.Trust = NewTrustStore()
	for _, f := range []struct {
		name string
		dst  **Certificate
		add  bool
	}{{testCACSCAFile, &ca.CSCA, true}, {testCADSFile, &ca.DS, false}} {
		data, err := read(f.name)
		if err != nil {
			return nil, err
		}
		b, _ := pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: no PEM certificate", f.name)
		}
		if f.add {
			*f.dst, err = ca.Trust.AddCertificate(b.Bytes)
		} else {
			*f.dst, err = ParseCertificate(b.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if err := ca.DS.CheckSignatureFrom(ca.CSCA); err != nil {
		return nil, fmt.Errorf("%s: not signed by the CSCA in %s: %w", testCADSFile, testCACSCAFile, err)
	}
	return ca, nil
}

// OpenTestCA loads the test CA of dir, or makes one with alg at now and
// saves it there when dir holds none. created reports the latter.
func OpenTestCA(dir string, alg KeyAlgorithm, now time.Time) (ca *TestCA, created bool, err error) {
	ca, err = LoadTestCA(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ca, false, err
	}
	if ca, err = NewTestCA(alg, now); err != nil {
		return nil, false, err
	}
	return ca, true, ca.Save(dir)
}

// AAKeyPEM returns the chip's active-authentication private key (PKCS#8
// PEM), so that an integration partner can answer challenges as the chip.
func (c *TestCard) AAKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.aaKey)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

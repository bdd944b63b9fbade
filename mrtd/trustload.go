package mrtd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// LoadPath adds the CSCAs and CRLs of a file or of every file in a
// directory: PEM files (certificates, CRLs) first, then ICAO master lists
// (DER CMS, usually *.ml), whose signers must chain to a CSCA loaded
// before (a master list is a way to receive CSCAs, not a reason to trust
// them). It returns how many certificates were added in all.
func (s *TrustStore) LoadPath(path string, now time.Time) (int, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	files := []string{path}
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return 0, err
		}
		files = files[:0]
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(files)
	}
	var lists []string
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return n, err
		}
		if !bytes.Contains(data, []byte("-----BEGIN")) {
			lists = append(lists, f)
			continue
		}
		certs, _, err := s.AddPEM(data)
		if err != nil {
			return n, fmt.Errorf("%s: %w", f, err)
		}
		n += certs
	}
	for _, f := range lists {
		data, err := os.ReadFile(f)
		if err != nil {
			return n, err
		}
		m, err := s.AddMasterList(data, now)
		if err != nil {
			return n, fmt.Errorf("%s: %w", f, err)
		}
		n += m
	}
	return n, nil
}

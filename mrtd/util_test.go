package mrtd

import (
	"encoding/pem"
	"os"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

package wallet_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc/wallet"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite docs/wallet-types.md from wallet.Types")

// TestTypesDoc: docs/wallet-types.md, the documented claim schema of every
// document type, is what wallet.Types says (go test ./wallet -run
// TestTypesDoc -update-doc rewrites it).
func TestTypesDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Wallet document types and their claims\n\n")
	b.WriteString("Generated from `wallet.Types` by `go test ./wallet -run TestTypesDoc -update-doc`; the test fails when\n")
	b.WriteString("this file and the code disagree. Every claim is selectively disclosable (SD-JWT VC, `dc+sd-jwt`);\n")
	b.WriteString("`iss`, `iat`, `exp`, `vct`, `cnf` and `status` are in the clear. The same schema, with the labels, is\n")
	b.WriteString("served as SD-JWT VC Type Metadata at `BASE/vct/TYPE` and listed at `GET /v1/wallet/types`.\n")
	for _, id := range wallet.TypeIDs() {
		ty := wallet.Types[id]
		fmt.Fprintf(&b, "\n## `%s`: %s / %s\n\n", ty.ID, ty.NameVI, ty.NameEN)
		fmt.Fprintf(&b, "Issuer `BASE/issuers/%s`; valid %s unless the issuer sets an earlier expiry", ty.Agency, validity(ty.Validity))
		if ty.FromRegistry {
			b.WriteString("; claims taken from the registry, not from the request")
		}
		if ty.Level2 {
			b.WriteString("; only for an active level-2 electronic identity account")
		}
		b.WriteString(".\n\n| claim | nhãn (tiếng Việt) | label (English) | kind | required |\n|---|---|---|---|---|\n")
		for _, c := range ty.Claims {
			req := ""
			if c.Required {
				req = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Name, c.LabelVI, c.LabelEN, c.Kind, req)
		}
	}
	const path = "../docs/wallet-types.md"
	if *updateDoc {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != b.String() {
		t.Fatalf("%s is out of date (%v): go test ./wallet -run TestTypesDoc -update-doc", path, err)
	}
}

func validity(d time.Duration) string {
	const year = 365 * 24 * time.Hour
	if d%year == 0 {
		return fmt.Sprintf("%d year(s)", d/year)
	}
	return fmt.Sprintf("%d days", d/(24*time.Hour))
}

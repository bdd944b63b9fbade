package auditlog

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// The Certificate Transparency test vectors (RFC 6962 reference
// implementation): eight leaves, the roots of every prefix, and some
// inclusion and consistency proofs.
var (
	ctLeaves = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
		"606162636465666768696a6b6c6d6e6f"}
	ctRoots = []string{
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	ctInclusion = []struct {
		index, size int64
		proof       []string
	}{
		{0, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{5, 8, []string{"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{2, 3, []string{"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
		{1, 5, []string{"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	}
	ctConsistency = []struct {
		size1, size2 int64
		proof        []string
	}{
		{1, 1, nil},
		{1, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{6, 8, []string{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{2, 5, []string{"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	}
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ctLeafHashes(t *testing.T) [][]byte {
	var out [][]byte
	for _, l := range ctLeaves {
		out = append(out, HashLeaf(unhex(t, l)))
	}
	return out
}

// memRange is the tree hash of a range of leaves held in memory, by the
// recursive definition: the reference the proofs are built against.
func memRange(leaves [][]byte) rangeFunc {
	return func(lo, hi int64) ([]byte, error) { return RootFromLeaves(leaves[lo:hi]), nil }
}

func hexes(p [][]byte) []string {
	var out []string
	for _, h := range p {
		out = append(out, hex.EncodeToString(h))
	}
	return out
}

func TestRFC6962Vectors(t *testing.T) {
	leaves := ctLeafHashes(t)
	for n := 0; n <= len(leaves); n++ {
		if got := hex.EncodeToString(RootFromLeaves(leaves[:n])); got != ctRoots[n] {
			t.Errorf("root of %d leaves = %s, want %s", n, got, ctRoots[n])
		}
		f := &Frontier{}
		for _, l := range leaves[:n] {
			f.Append(l)
		}
		if got := hex.EncodeToString(f.Root()); got != ctRoots[n] {
			t.Errorf("frontier root of %d leaves = %s, want %s", n, got, ctRoots[n])
		}
	}
	for _, v := range ctInclusion {
		p, err := inclusionPath(v.index, 0, v.size, memRange(leaves[:v.size]))
		if err != nil {
			t.Fatal(err)
		}
		if got := hexes(p); !equalStrings(got, v.proof) {
			t.Errorf("inclusion proof of %d in %d = %v, want %v", v.index, v.size, got, v.proof)
		}
		if err := VerifyInclusion(leaves[v.index], v.index, v.size, p, unhex(t, ctRoots[v.size])); err != nil {
			t.Errorf("inclusion %d in %d does not verify", v.index, v.size)
		}
	}
	for _, v := range ctConsistency {
		var p [][]byte
		if v.size1 != v.size2 {
			var err error
			if p, err = subproof(v.size1, 0, v.size2, true, memRange(leaves[:v.size2])); err != nil {
				t.Fatal(err)
			}
		}
		if got := hexes(p); !equalStrings(got, v.proof) {
			t.Errorf("consistency proof %d→%d = %v, want %v", v.size1, v.size2, got, v.proof)
		}
		if err := VerifyConsistency(v.size1, v.size2, unhex(t, ctRoots[v.size1]), unhex(t, ctRoots[v.size2]), p); err != nil {
			t.Errorf("consistency %d→%d does not verify", v.size1, v.size2)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestProofsExhaustive checks every inclusion and consistency proof of
// every tree up to 40 leaves, and that a changed leaf, root or proof hash
// fails.
func TestProofsExhaustive(t *testing.T) {
	const max = 40
	leaves := make([][]byte, max)
	for i := range leaves {
		leaves[i] = HashLeaf([]byte{byte(i), byte(i * 7)})
	}
	roots := make([][]byte, max+1)
	for n := range roots {
		roots[n] = RootFromLeaves(leaves[:n])
	}
	flip := func(b []byte) []byte { c := bytes.Clone(b); c[0] ^= 1; return c }
	for n := int64(1); n <= max; n++ {
		mth := memRange(leaves[:n])
		for i := range n {
			p, err := inclusionPath(i, 0, n, mth)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(leaves[i], i, n, p, roots[n]); err != nil {
				t.Fatalf("inclusion %d/%d: %v", i, n, err)
			}
			if VerifyInclusion(flip(leaves[i]), i, n, p, roots[n]) == nil || VerifyInclusion(leaves[i], i, n, p, flip(roots[n])) == nil {
				t.Fatalf("inclusion %d/%d verifies a changed leaf or root", i, n)
			}
			if len(p) > 0 {
				q := append([][]byte{}, p...)
				q[len(q)-1] = flip(q[len(q)-1])
				if VerifyInclusion(leaves[i], i, n, q, roots[n]) == nil {
					t.Fatalf("inclusion %d/%d verifies a changed proof", i, n)
				}
			}
			if n > 1 && VerifyInclusion(leaves[i], (i+1)%n, n, p, roots[n]) == nil {
				t.Fatalf("inclusion %d/%d verifies at another index", i, n)
			}
		}
		for m := int64(1); m < n; m++ {
			p, err := subproof(m, 0, n, true, mth)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyConsistency(m, n, roots[m], roots[n], p); err != nil {
				t.Fatalf("consistency %d→%d: %v", m, n, err)
			}
			if VerifyConsistency(m, n, flip(roots[m]), roots[n], p) == nil || VerifyConsistency(m, n, roots[m], flip(roots[n]), p) == nil {
				t.Fatalf("consistency %d→%d verifies a changed root", m, n)
			}
		}
		// The frontier of every size continues to the same root.
		for m := int64(0); m <= n; m++ {
			var hs [][]byte
			for _, r := range frontierRanges(m) {
				hs = append(hs, RootFromLeaves(leaves[r[0]:r[1]]))
			}
			f, err := NewFrontier(m, hs)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range leaves[m:n] {
				f.Append(l)
			}
			if !bytes.Equal(f.Root(), roots[n]) {
				t.Fatalf("frontier %d continued to %d: wrong root", m, n)
			}
		}
	}
}

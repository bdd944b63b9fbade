package clientaddr

import (
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
)

func TestParse(t *testing.T) {
	r, err := Parse(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8,, ::ffff:172.16.0.0/108")
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"10.1.2.3": true, "11.0.0.1": false, "192.0.2.7": true, "192.0.2.8": false,
		"fd00::1": true, "2001:db8::1": false, "::ffff:10.9.9.9": true, "172.16.5.5": true, "172.32.0.1": false,
	} {
		if got := r.Trusts(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Trusts(%s) = %v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1/8/1", "fe80::1%eth0", "1.2.3"} {
		_, err := Parse(bad)
		if cancuoc.KindOf(err) != cancuoc.Invalid || !strings.Contains(err.Error(), bad) {
			t.Errorf("Parse(%q): %v, want an Invalid error naming it", bad, err)
		}
	}
	if r, err := Parse(""); err != nil || r.Trusts(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("empty list: %v %v", r, err)
	}
}

func TestAddr(t *testing.T) {
	r, err := Parse("10.0.0.0/8, 2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		remote string
		xff    []string
		trust  *Resolver
		want   string
	}{
		{"no proxies configured: header ignored", "203.0.113.9:4000", []string{"198.51.100.1"}, nil, "203.0.113.9"},
		{"peer not a proxy: header ignored", "203.0.113.9:4000", []string{"198.51.100.1"}, r, "203.0.113.9"},
		{"one proxy", "10.0.0.2:4000", []string{"198.51.100.1"}, r, "198.51.100.1"},
		{"client prepends a forged address", "10.0.0.2:4000", []string{"6.6.6.6, 198.51.100.1"}, r, "198.51.100.1"},
		{"two proxies", "10.0.0.2:4000", []string{"198.51.100.1, 10.0.0.3"}, r, "198.51.100.1"},
		{"several headers in order", "10.0.0.2:4000", []string{"6.6.6.6", "198.51.100.1, 10.0.0.3"}, r, "198.51.100.1"},
		{"all trusted: left-most", "10.0.0.2:4000", []string{"10.0.0.5, 10.0.0.3"}, r, "10.0.0.5"},
		{"no header behind a proxy", "10.0.0.2:4000", nil, r, "10.0.0.2"},
		{"garbage after a trusted hop", "10.0.0.2:4000", []string{"198.51.100.1, not-an-ip"}, r, "10.0.0.2"},
		{"port in the header", "10.0.0.2:4000", []string{"198.51.100.1:5555"}, r, "198.51.100.1"},
		{"IPv6", "[2001:db8:ffff::1]:443", []string{"2001:db8:1::7"}, r, "2001:db8:1::7"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:443", []string{"198.51.100.1"}, r, "198.51.100.1"},
		{"zone rejected", "10.0.0.2:4000", []string{"fe80::1%eth0"}, r, "10.0.0.2"},
		{"unparsable peer", "pipe", []string{"198.51.100.1"}, r, "pipe"},
	}
	for _, c := range cases {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.remote
		for _, v := range c.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := c.trust.Addr(req); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// FuzzAddr: any X-Forwarded-For gives an address that is either the peer
// or one written in the header, never a panic, and never a trusted proxy
// unless every hop was one.
func FuzzAddr(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "6.6.6.6, 198.51.100.1, 10.0.0.3", "", ",,,", "[::1]:80, 10.0.0.1", "fe80::1%25eth0",
		strings.Repeat("1.1.1.1,", 100), "::ffff:10.0.0.1", "1.2.3.4:99999"} {
		f.Add(s)
	}
	r, _ := Parse("10.0.0.0/8")
	f.Fuzz(func(t *testing.T, xff string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "10.0.0.2:1234"
		req.Header.Set("X-Forwarded-For", xff)
		got := r.Addr(req)
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("Addr = %q, not an address", got)
		}
		if got == "10.0.0.2" {
			return
		}
		// The hops read from the right up to the first that does not parse.
		var hops []string
		parts := strings.Split(xff, ",")
		for i := len(parts) - 1; i >= 0; i-- {
			a, ok := parseHost(strings.TrimSpace(parts[i]))
			if !ok {
				break
			}
			hops = append(hops, a.String())
		}
		if !slices.Contains(hops, got) {
			t.Fatalf("Addr = %q, neither the peer nor a hop of %q", got, xff)
		}
		if r.Trusts(netip.MustParseAddr(got)) {
			for _, h := range hops {
				if !r.Trusts(netip.MustParseAddr(h)) {
					t.Fatalf("Addr = %q, a trusted proxy, though %s in %q is not", got, h, xff)
				}
			}
		}
	})
}

// FuzzParse: a configured list either parses or gives an Invalid error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7, fd00::/8", "x", "/", "::ffff:1.2.3.4/120"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil && cancuoc.KindOf(err) != cancuoc.Invalid {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if err == nil && r == nil {
			t.Fatal("nil resolver without error")
		}
	})
}

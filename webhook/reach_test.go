package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestReachable(t *testing.T) {
	c := Config{AllowNets: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	for addr, want := range map[string]bool{
		"203.162.4.190":   true,  // public
		"2001:4860::8888": true,  // public v6
		"127.0.0.1":       false, // loopback without AllowHTTPDev
		"::1":             false,
		"169.254.169.254": false, // cloud metadata
		"10.1.2.3":        false, // private, not allowed
		"10.20.5.6":       true,  // private, in AllowNets
		"192.168.1.1":     false,
		"172.16.0.1":      false,
		"100.64.0.1":      false, // shared address space
		"fd00::1":         false, // unique local
		"fe80::1":         false,
		"0.0.0.0":         false,
		"224.0.0.1":       false,
		"::ffff:10.1.2.3": false, // v4-mapped private
	} {
		if got := c.reachable(netip.MustParseAddr(addr)); got != want {
			t.Errorf("reachable(%s) = %v, want %v", addr, got, want)
		}
	}
	c.AllowHTTPDev = true
	if !c.reachable(netip.MustParseAddr("127.0.0.1")) {
		t.Error("loopback refused in development")
	}
}

// The check runs at dial time, after name resolution: a name that resolves
// to a refused address is refused however it was written in the URL.
func TestDialerRefusesAfterResolution(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Config{Timeout: time.Second}.dialer().DialContext(ctx, "tcp", net.JoinHostPort("localhost", port))
	if !errors.Is(err, errUnreachable) {
		t.Fatalf("dial localhost = %v, want the refusal", err)
	}
	conn, err := Config{Timeout: time.Second, AllowHTTPDev: true}.dialer().DialContext(ctx, "tcp", net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatalf("dial localhost in development: %v", err)
	}
	conn.Close()
}

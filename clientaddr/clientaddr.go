// Package clientaddr finds the address of the client behind trusted
// reverse proxies, for lockout and rate limits per source address.
//
// X-Forwarded-For is written by whoever sends the request, so only the
// entries appended by proxies we run can be believed. Each proxy appends
// the address of its peer, so reading from the right, the first address
// that is not one of our proxies is the client as far as we can know; what
// lies to its left was written by that client and may be anything. Without
// configured proxies the header is ignored and the peer address is the
// client.
package clientaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// Resolver maps a request to its client's address. The zero value and nil
// trust no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse reads a comma-separated list of trusted proxy networks, in CIDR
// notation or as single addresses ("10.0.0.0/8, 192.0.2.7, fd00::/8").
// An empty list trusts no proxy.
func Parse(list string) (*Resolver, error) {
	r := &Resolver{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var (
			p   netip.Prefix
			err error
		)
		if strings.Contains(item, "/") {
			p, err = netip.ParsePrefix(item)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(item); err == nil && a.Zone() == "" {
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
		}
		if err != nil || !p.IsValid() {
			return nil, cancuoc.InvalidField("clientaddr.Parse", "trusted_proxies", "proxy_cidr_invalid",
				"Danh sách proxy tin cậy phải là các mạng CIDR hoặc địa chỉ IP, cách nhau bởi dấu phẩy (ví dụ 10.0.0.0/8, 192.0.2.7): \""+item+"\" không hợp lệ.",
				"Trusted proxies must be CIDR networks or IP addresses separated by commas (e.g. 10.0.0.0/8, 192.0.2.7): \""+item+"\" is not one.")
		}
		r.trusted = append(r.trusted, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
	}
	return r, nil
}

// unmappedBits keeps an IPv4-mapped prefix (::ffff:10.0.0.0/104) meaning
// the same IPv4 network once unmapped.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

// Trusts reports whether addr is one of the trusted proxies.
func (r *Resolver) Trusts(addr netip.Addr) bool {
	if r == nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Addr is the client's address for req: the peer address, or, when the
// peer is a trusted proxy, the right-most address of X-Forwarded-For that
// is not a trusted proxy. When every forwarded address is trusted, the
// left-most is the client; an entry that does not parse ends the walk at
// the last address that did, since a trusted proxy writes only addresses.
func (r *Resolver) Addr(req *http.Request) string {
	peer, ok := parseHost(req.RemoteAddr)
	if !ok {
		return req.RemoteAddr
	}
	if !r.Trusts(peer) {
		return peer.String()
	}
	client := peer
	hops := req.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parseHost(strings.TrimSpace(parts[j]))
			if !ok {
				return client.String()
			}
			client = a
			if !r.Trusts(a) {
				return a.String()
			}
		}
	}
	return client.String()
}

// parseHost reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:5000", "[2001:db8::1]:443", "2001:db8::1").
func parseHost(s string) (netip.Addr, bool) {
	if len(s) == 0 || len(s) > 64 {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

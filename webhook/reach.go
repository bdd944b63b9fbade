package webhook

import (
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/cancuoc/cancuoc"
)

// Webhook URLs are given by partners, so the server must not become their
// way into networks only it can reach (server-side request forgery): the
// loopback, link-local (cloud metadata at 169.254.169.254), private,
// shared (100.64/10), unique-local, unspecified and multicast ranges are
// refused unless the operator lists the network in Config.AllowNets (a
// government network of private addresses, say). The check runs on every
// connection the worker dials, after DNS, so a name that later resolves to
// a refused address (DNS rebinding) is refused too; at subscription it
// refuses such IP literals early, with a clear error.

// errUnreachable is the dial error for a refused address.
var errUnreachable = errors.New("webhook: the receiver's address is in a network webhooks may not reach (loopback, link-local, private or reserved); an operator can allow a network with --webhook-allow-net")

var sharedRange = netip.MustParsePrefix("100.64.0.0/10")

// reachable reports whether a webhook may be delivered to ip.
func (c Config) reachable(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range c.AllowNets {
		if n.Contains(ip) {
			return true
		}
	}
	switch {
	case ip.IsLoopback():
		return c.AllowHTTPDev
	case ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(),
		ip.IsMulticast(), ip.IsUnspecified(), sharedRange.Contains(ip), !ip.IsValid():
		return false
	}
	return true
}

// control is the dialer's check of the address it is about to connect to.
func (c Config) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if !c.reachable(ap.Addr()) {
		return errUnreachable
	}
	return nil
}

// dialer connects only to reachable addresses.
func (c Config) dialer() *net.Dialer {
	return &net.Dialer{Timeout: c.Timeout, KeepAlive: 30e9, Control: c.control}
}

// checkHost refuses a URL whose host is an IP literal webhooks may not reach.
func (c Config) checkHost(host string) error {
	ip, err := netip.ParseAddr(host)
	if err != nil || c.reachable(ip) {
		return nil
	}
	return cancuoc.InvalidField("webhook.CheckURL", "url", "url_unreachable",
		"Địa chỉ webhook thuộc mạng nội bộ hoặc dành riêng (loopback, link-local, mạng riêng); chỉ quản trị vận hành mới cho phép được mạng riêng (--webhook-allow-net).",
		"The webhook URL points into a loopback, link-local, private or reserved network; only an operator can allow a private network (--webhook-allow-net).")
}

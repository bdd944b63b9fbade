package main

import (
	"flag"

	"github.com/cancuoc/cancuoc/clientaddr"
)

// bindProxies registers --trusted-proxies: the reverse proxies (load
// balancers, TLS terminators) whose X-Forwarded-For is believed when
// finding a client's address for lockout and rate limits. Without it the
// header is ignored: anyone could otherwise write any address into it and
// escape the per-source limits.
func bindProxies(fs *flag.FlagSet, getenv func(string) string) func() (*clientaddr.Resolver, error) {
	var list string
	fs.StringVar(&list, "trusted-proxies", getenv("CANCUOC_TRUSTED_PROXIES"),
		"comma-separated CIDRs or addresses of trusted reverse proxies whose X-Forwarded-For is believed, e.g. 10.0.0.0/8; empty ignores the header (CANCUOC_TRUSTED_PROXIES)")
	return func() (*clientaddr.Resolver, error) { return clientaddr.Parse(list) }
}

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/statuslist"
	"github.com/cancuoc/cancuoc/wallet"
)

// cmdVerifyDoc checks a presented document. With --keys (issuer metadata
// saved from /.well-known/jwt-vc-issuer/…) and --status (status lists
// saved from /statuslists/…) it needs no network; otherwise it fetches what
// is missing from the issuer's URLs, unless --offline.
func cmdVerifyDoc(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify-doc", flag.ContinueOnError)
	var keyFiles, statusFiles stringList
	fs.Var(&keyFiles, "keys", "issuer metadata (JSON with issuer and jwks) or a JWKS, saved beforehand; repeatable")
	fs.Var(&statusFiles, "status", "a status list token (statuslist+jwt) saved beforehand; repeatable")
	nonce := fs.String("nonce", "", "the nonce you asked the holder to sign")
	aud := fs.String("aud", "", "your identifier, the audience the holder signed for")
	noKB := fs.Bool("no-kb", false, "accept a presentation without the holder's key binding")
	offline := fs.Bool("offline", false, "never use the network: what --keys and --status lack fails the check")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cancuoc verify-doc [--keys FILE]... [--status FILE]... [--nonce N --aud A] [--offline] [--json] FILE|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("give one presentation file, or - for standard input")
	}
	pres, err := readInput(fs.Arg(0))
	if err != nil {
		return err
	}
	v, err := newOfflineChecker(keyFiles, statusFiles, !*offline)
	if err != nil {
		return err
	}
	verdict := v.Check(pres, wallet.Expect{Nonce: *nonce, Audience: *aud, RequireKB: !*noKB})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(verdict)
	} else {
		printVerdict(stdout, verdict)
	}
	if !verdict.Valid {
		return &cancuoc.Error{Kind: cancuoc.Invalid, Code: verdict.Code, MessageVI: verdict.MessageVI,
			MessageEN: "not valid (" + verdict.Code + "): " + verdict.MessageEN}
	}
	return nil
}

func readInput(name string) (string, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	return strings.TrimSpace(string(b)), err
}

func printVerdict(w io.Writer, v *wallet.Verdict) {
	if v.Valid {
		fmt.Fprintf(w, "HỢP LỆ / VALID: %s / %s\n", v.MessageVI, v.MessageEN)
	} else {
		fmt.Fprintf(w, "KHÔNG HỢP LỆ / NOT VALID [%s]: %s / %s\n", v.Code, v.MessageVI, v.MessageEN)
	}
	if v.NameVI != "" {
		fmt.Fprintf(w, "%s / %s\n", v.NameVI, v.NameEN)
	}
	if v.Issuer != "" {
		fmt.Fprintf(w, "bên cấp / issuer: %s\n", v.Issuer)
	}
	if !v.ExpiresAt.IsZero() {
		fmt.Fprintf(w, "hết hạn / expires: %s\n", v.ExpiresAt.Format(time.DateOnly))
	}
	for _, c := range v.Claims {
		fmt.Fprintf(w, "  %s / %s: %v\n", c.LabelVI, c.LabelEN, c.Value)
	}
}

// issuerKeys are keys by issuer ("" for a bare JWKS: any issuer).
type issuerKeys map[string][]jose.JSONWebKey

func (k issuerKeys) add(raw []byte) error {
	var one wallet.IssuerMetadata
	var many []wallet.IssuerMetadata
	switch {
	case json.Unmarshal(raw, &many) == nil && len(many) > 0:
	case json.Unmarshal(raw, &one) == nil && one.Issuer != "":
		many = []wallet.IssuerMetadata{one}
	default:
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) == 0 {
			return errors.New("neither issuer metadata nor a JWKS")
		}
		many = []wallet.IssuerMetadata{{JWKS: set}}
	}
	for _, m := range many {
		k[m.Issuer] = append(k[m.Issuer], m.JWKS.Keys...)
	}
	return nil
}

func (k issuerKeys) find(iss, kid string) *jose.JSONWebKey {
	for _, owner := range []string{iss, ""} {
		for _, key := range k[owner] {
			if key.KeyID == kid {
				return &key
			}
		}
	}
	return nil
}

// newOfflineChecker builds a checker from saved files, fetching what they
// lack when online.
func newOfflineChecker(keyFiles, statusFiles []string, online bool) (*wallet.Checker, error) {
	keys := issuerKeys{}
	for _, f := range keyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := keys.add(b); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	keyFunc := func(iss, kid string) (*jose.JSONWebKey, error) {
		if k := keys.find(iss, kid); k != nil {
			return k, nil
		}
		if !online {
			return nil, errors.New("no saved key")
		}
		u, err := url.Parse(iss)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, errors.New("issuer is not a URL")
		}
		b, err := fetch(client, u.Scheme+"://"+u.Host+"/.well-known/jwt-vc-issuer"+u.Path)
		if err != nil {
			return nil, err
		}
		var m wallet.IssuerMetadata
		if err := json.Unmarshal(b, &m); err != nil || m.Issuer != iss {
			return nil, errors.New("issuer metadata does not name this issuer")
		}
		keys[iss] = m.JWKS.Keys
		if k := keys.find(iss, kid); k != nil {
			return k, nil
		}
		return nil, errors.New("key not published")
	}
	tokens := map[string]string{}
	for _, f := range statusFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c statuslist.Claims
		parts := strings.Split(strings.TrimSpace(string(b)), ".")
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s: not a status list token", f)
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil || json.Unmarshal(raw, &c) != nil || c.Subject == "" {
			return nil, fmt.Errorf("%s: not a status list token", f)
		}
		tokens[c.Subject] = strings.TrimSpace(string(b))
	}
	status := func(uri, iss string) (*statuslist.List, error) {
		tok, ok := tokens[uri]
		if !ok {
			if !online {
				return nil, errors.New("no saved status list for " + uri)
			}
			b, err := fetch(client, uri)
			if err != nil {
				return nil, err
			}
			tok = string(b)
		}
		// The list must be the document's issuer's: its keys, not the keys
		// of whoever the token says signed it.
		_, l, err := statuslist.Verify(tok, uri, iss, statuslist.KeyFunc(keyFunc), time.Now())
		return l, err
	}
	return &wallet.Checker{Keys: keyFunc, Status: status, Now: time.Now}, nil
}

func fetch(c *http.Client, u string) ([]byte, error) {
	res, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return io.ReadAll(io.LimitReader(res.Body, statuslist.MaxBytes*2))
}

// Command partnertoken plays a partner's system for the match benchmark:
//
//	partnertoken keygen -key KEY.json -jwks JWKS.json   (an ES256 key and its public JWKS)
//	partnertoken token -key KEY.json -client ID -issuer URL
//
// token signs a private_key_jwt assertion, exchanges it at the issuer's
// token endpoint (client credentials grant) and prints the access token.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc/oidc"
)

const kid = "bench-1"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: partnertoken keygen|token [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	keyFile := fs.String("key", "", "private key file (JWK)")
	jwksFile := fs.String("jwks", "", "public JWKS file to write (keygen)")
	client := fs.String("client", "", "client ID (token)")
	issuer := fs.String("issuer", "", "issuer URL (token)")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "keygen":
		err = keygen(*keyFile, *jwksFile)
	case "token":
		err = token(*keyFile, *client, *issuer)
	default:
		err = errors.New("unknown command " + os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "partnertoken:", err)
		os.Exit(1)
	}
}

func keygen(keyFile, jwksFile string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	priv, err := json.Marshal(jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: "ES256"})
	if err != nil {
		return err
	}
	pub, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		return err
	}
	return os.WriteFile(jwksFile, pub, 0o644)
}

func token(keyFile, client, issuer string) error {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(raw, &jwk); err != nil {
		return err
	}
	k, ok := jwk.Key.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("not an EC private key")
	}
	a, err := oidc.SignClientAssertion(k, jose.ES256, kid, client, issuer, time.Minute)
	if err != nil {
		return err
	}
	res, err := http.PostForm(issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil {
		return err
	}
	if tok.AccessToken == "" {
		return fmt.Errorf("token endpoint: %d %s %s", res.StatusCode, tok.Error, tok.Description)
	}
	fmt.Println(tok.AccessToken)
	return nil
}

// Command portal runs the example public-service portal against a cancuoc
// OpenID provider:
//
//	PORTAL_ISSUER=http://127.0.0.1:8080/oidc PORTAL_CLIENT_ID=portal \
//	PORTAL_CLIENT_SECRET=ccs_… go run ./examples/portal/cmd/portal
//
// Register the client first with
// `cancuoc admin create-client --id portal --name "Cổng dịch vụ công" --purpose "…" --redirect-uri http://localhost:9000/callback`.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/cancuoc/cancuoc/examples/portal"
)

func main() {
	addr := env("PORTAL_ADDR", "localhost:9000")
	p, err := portal.New(context.Background(), portal.Config{
		Issuer:       env("PORTAL_ISSUER", "http://127.0.0.1:8080/oidc"),
		ClientID:     env("PORTAL_CLIENT_ID", "portal"),
		ClientSecret: os.Getenv("PORTAL_CLIENT_SECRET"),
		RedirectURL:  "http://" + addr + "/callback",
		ACRValues:    os.Getenv("PORTAL_ACR_VALUES"),
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("portal on http://%s", addr)
	srv := &http.Server{Addr: addr, Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

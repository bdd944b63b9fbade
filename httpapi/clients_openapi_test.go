package httpapi

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/sqlite"
)

// otherRouteSources are the functions outside this package whose routes
// cmd/cancuoc mounts on the JSON API, by file: TestOpenAPIRoutes reads
// their patterns as it reads API.Routes.
var otherRouteSources = map[string]string{"../oidc/clients.go": "ClientsAPI"}

// mountOtherRoutes mounts those routes on mux as cmd/cancuoc does.
func mountOtherRoutes(t *testing.T, mux *http.ServeMux) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := oidc.New(st, nil, oidc.Config{Issuer: "http://localhost/oidc", Secret: []byte(strings.Repeat("s", 32)), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	p.ClientsAPI(func(*http.Request) (*cancuoc.Principal, error) { return nil, nil }, func(http.ResponseWriter, *http.Request, error) {})(mux)
}

// TestOpenAPIClientSchemas checks the client registration schemas against
// the Go types the clients API reads and writes.
func TestOpenAPIClientSchemas(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	created := append(jsonFields(reflect.TypeFor[cancuoc.Client]()), "client_secret")
	checkSchemaProperties(t, doc, map[string][]string{
		"NewClient":     jsonFields(reflect.TypeFor[oidc.NewClient]()),
		"Client":        jsonFields(reflect.TypeFor[cancuoc.Client]()),
		"CreatedClient": created,
		"ClientList":    {"items"},
	})
}

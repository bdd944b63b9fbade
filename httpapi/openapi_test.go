package httpapi

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/wallet"
)

// openapi is the part of the document the tests look at.
type openapi struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	} `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas"`
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) (openapi, any) {
	t.Helper()
	var doc openapi
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	var generic any
	if err := json.Unmarshal(OpenAPI(), &generic); err != nil {
		t.Fatal(err)
	}
	return doc, generic
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true,
	"head": true, "patch": true, "trace": true}

// routesInSource reads the patterns API.Routes registers from api.go, so a
// route added there without documentation fails TestOpenAPIRoutes.
func routesInSource(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	// Routes and the per-capability methods it calls (eidRoutes, …), in
	// any file of the package.
	names, _ := filepath.Glob("*.go")
	var decls []ast.Decl
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		decls = append(decls, f.Decls...)
	}
	// Routes other packages serve on the same API (mounted by cmd/cancuoc):
	// the OpenID provider's client registration.
	for file, fnName := range otherRouteSources {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == fnName {
				fn.Name.Name += "Routes"
				decls = append(decls, fn)
			}
		}
	}
	var out []string
	for _, d := range decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || !strings.HasSuffix(fn.Name.Name, "Routes") || fn.Recv == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") || len(call.Args) == 0 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: route pattern is not a string literal; the OpenAPI test cannot read it", fset.Position(call.Pos()))
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			out = append(out, p)
			return true
		})
	}
	if len(out) == 0 {
		t.Fatal("found no routes in API.Routes")
	}
	return out
}

func TestOpenAPIVersionAndInfo(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(doc.OpenAPI) {
		t.Errorf(`"openapi" = %q, want 3.1.x`, doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("info needs title and version: %+v", doc.Info)
	}
	// Vietnamese first, English second.
	vi, en := strings.Index(doc.Info.Description, "dân cư"), strings.Index(doc.Info.Description, "population registry")
	if vi < 0 || en < 0 || vi > en {
		t.Errorf("info.description must be in Vietnamese first, then English")
	}
	for _, s := range []string{"bearerAuth", "apiKeyHeader"} {
		if _, ok := doc.Components.SecuritySchemes[s]; !ok {
			t.Errorf("security scheme %s missing", s)
		}
	}
}

// TestOpenAPIRoutes checks that the document describes exactly the routes
// API.Routes registers: the patterns read from api.go, and each documented
// operation answered by the real mux under the same pattern.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	var documented []string
	for path, item := range doc.Paths {
		for m := range item {
			if httpMethods[m] {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	registered := routesInSource(t)
	sort.Strings(documented)
	sort.Strings(registered)
	if !slices.Equal(documented, registered) {
		for _, r := range registered {
			if !slices.Contains(documented, r) {
				t.Errorf("route %q is registered but not in openapi.json", r)
			}
		}
		for _, d := range documented {
			if !slices.Contains(registered, d) {
				t.Errorf("operation %q is in openapi.json but not registered", d)
			}
		}
	}

	mux := http.NewServeMux()
	New(nil, slog.New(slog.NewTextHandler(io.Discard, nil))).Routes(mux)
	mountOtherRoutes(t, mux)
	param := regexp.MustCompile(`\{[^}/]+\}`)
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		r := httptest.NewRequest(method, param.ReplaceAllString(path, "x1"), nil)
		if _, pat := mux.Handler(r); pat != op {
			t.Errorf("the mux serves %s with pattern %q, want %q", op, pat, op)
		}
	}
}

// TestOpenAPIStructure checks what a validator would: every $ref resolves,
// every path parameter is declared, every operation has responses.
func TestOpenAPIStructure(t *testing.T) {
	doc, generic := loadOpenAPI(t)
	root := generic.(map[string]any)
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if resolve(root, ref) == nil {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
			}
			for k, c := range x {
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range x {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(root, "#")

	param := regexp.MustCompile(`\{([^}/]+)\}`)
	for path, item := range doc.Paths {
		for m, raw := range item {
			if !httpMethods[m] {
				continue
			}
			var op struct {
				OperationID string           `json:"operationId"`
				Parameters  []map[string]any `json:"parameters"`
				Responses   map[string]any   `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", m, path, err)
			}
			if op.OperationID == "" || len(op.Responses) == 0 {
				t.Errorf("%s %s: needs an operationId and responses", m, path)
			}
			declared := map[string]bool{}
			for _, p := range op.Parameters {
				if ref, ok := p["$ref"].(string); ok {
					p, _ = resolve(root, ref).(map[string]any)
				}
				if p["in"] == "path" {
					declared[p["name"].(string)] = true
					if p["required"] != true {
						t.Errorf("%s %s: path parameter %v must be required", m, path, p["name"])
					}
				}
			}
			for _, want := range param.FindAllStringSubmatch(path, -1) {
				if !declared[want[1]] {
					t.Errorf("%s %s: path parameter %s is not declared", m, path, want[1])
				}
				delete(declared, want[1])
			}
			for extra := range declared {
				t.Errorf("%s %s: declares path parameter %s absent from the path", m, path, extra)
			}
		}
	}
}

func resolve(root map[string]any, ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = root
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[part]; !ok {
			return nil
		}
	}
	return cur
}

// TestOpenAPICitizenFields checks that the Citizen schema has every JSON
// field of cancuoc.Citizen and no other, each numbered by the Law on
// Identity (art. 9) where the law lists it, in both languages.
func TestOpenAPICitizenFields(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	var citizen struct {
		Properties map[string]struct {
			Description string `json:"description"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Citizen"], &citizen); err != nil {
		t.Fatal(err)
	}
	// Every field appears when non-empty: marshal a record with all set.
	var all map[string]json.RawMessage
	raw, _ := json.Marshal(fullCitizen())
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	derived := map[string]bool{"version": true, "name_key": true, "home": true, "created_at": true, "updated_at": true}
	for f := range all {
		p, ok := citizen.Properties[f]
		if !ok {
			t.Errorf("Citizen field %q is missing from the schema", f)
			continue
		}
		if derived[f] {
			continue
		}
		if !strings.Contains(p.Description, "Điều 9") || !strings.Contains(p.Description, "art. 9") {
			t.Errorf("Citizen field %q: description must give its number in art. 9 in Vietnamese and English: %q", f, p.Description)
		}
	}
	for f := range citizen.Properties {
		if _, ok := all[f]; !ok {
			t.Errorf("schema property %q is not a field of cancuoc.Citizen", f)
		}
	}
}

// TestOpenAPIProblemCodes checks that the Problem schema lists every
// problem code the code base can answer with. Codes are found in the Go
// sources as string literals passed as the parameter named "code" of a
// function (cancuoc.E, cancuoc.InvalidField, local helpers like bad or
// conflict) or as the Code field of an Error literal.
func TestOpenAPIProblemCodes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	var problem struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Problem"], &problem); err != nil {
		t.Fatal(err)
	}
	// One package per line, so that branches adding one merge cleanly.
	codes := problemCodesInSource(t,
		"..",
		".",
		"../registry",
		"../audit",
		"../sqlite",
		"../postgres",
		"../eid",
		"../workflow",
		"../partner",
		"../residence",
		"../card",
		"../chipcheck",
		"../stats",
		"../wallet",
		"../sdjwt",
		"../statuslist",
		"../reconcile",
		"../webhook",
		"../application",
	)
	for _, must := range []string{"pin_format", "stale_version", "outside_jurisdiction", "unknown_field", "api_key_missing"} {
		if !slices.Contains(codes, must) {
			t.Errorf("the source scan missed %q; the scan is broken", must)
		}
	}
	for _, c := range codes {
		if !strings.Contains(problem.Description, "`"+c+"`") {
			t.Errorf("problem code %q is used in the code base but not listed in the Problem schema of openapi.json", c)
		}
	}
}

var codeLike = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)+$|^[a-z]+$`)

func problemCodesInSource(t *testing.T, dirs ...string) []string {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, d := range dirs {
		names, _ := filepath.Glob(filepath.Join(d, "*.go"))
		for _, n := range names {
			if strings.HasSuffix(n, "_test.go") {
				continue
			}
			src, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, n, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	// Index of the parameter named "code" of every function, declared or
	// bound to a local name (bad := func(field, code, vi, en string) …).
	codeParam := func(ft *ast.FuncType) int {
		i := 0
		for _, fld := range ft.Params.List {
			for _, n := range fld.Names {
				if n.Name == "code" {
					return i
				}
				i++
			}
			if len(fld.Names) == 0 {
				i++
			}
		}
		return -1
	}
	global := map[string]int{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
				if i := codeParam(fn.Type); i >= 0 {
					global[fn.Name.Name] = i
				}
			}
		}
	}
	seen := map[string]bool{}
	add := func(e ast.Expr) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return
		}
		if s, err := strconv.Unquote(lit.Value); err == nil && codeLike.MatchString(s) {
			seen[s] = true
		}
	}
	for _, f := range files {
		for _, d := range f.Decls {
			// Package-level variables hold codes too (var errBadKey = cancuoc.E(…)).
			local := map[string]int{}
			ast.Inspect(d, func(n ast.Node) bool {
				if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
					for i, rhs := range as.Rhs {
						if fl, ok := rhs.(*ast.FuncLit); ok {
							if id, ok := as.Lhs[i].(*ast.Ident); ok {
								if j := codeParam(fl.Type); j >= 0 {
									local[id.Name] = j
								}
							}
						}
					}
				}
				return true
			})
			ast.Inspect(d, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					var name string
					switch f := x.Fun.(type) {
					case *ast.Ident:
						name = f.Name
					case *ast.SelectorExpr:
						name = f.Sel.Name
					}
					i, ok := local[name]
					if !ok {
						i, ok = global[name]
					}
					if ok && i < len(x.Args) {
						add(x.Args[i])
					}
				case *ast.KeyValueExpr:
					if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Code" {
						add(x.Value)
					}
				}
				return true
			})
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPISchemasMatchTypes checks each schema's properties against the
// JSON fields of the Go type it documents, so a field added to a type (or
// renamed) fails here until the document follows.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	checkSchemaFields(t, doc, map[string]reflect.Type{
		"Citizen":            reflect.TypeFor[cancuoc.Citizen](),
		"Place":              reflect.TypeFor[cancuoc.Place](),
		"UnitRef":            reflect.TypeFor[cancuoc.UnitRef](),
		"Relative":           reflect.TypeFor[cancuoc.Relative](),
		"Card":               reflect.TypeFor[cancuoc.Card](),
		"TemporaryResidence": reflect.TypeFor[cancuoc.TemporaryResidence](),
		"TemporaryAbsence":   reflect.TypeFor[cancuoc.TemporaryAbsence](),
		"HouseholdLink":      reflect.TypeFor[cancuoc.HouseholdLink](),
		"FieldChange":        reflect.TypeFor[cancuoc.FieldChange](),
		"CitizenVersion":     reflect.TypeFor[cancuoc.CitizenVersion](),
		"PopulationCount":    reflect.TypeFor[cancuoc.PopulationCount](),
		"Principal":          reflect.TypeFor[cancuoc.Principal](),
		"Jurisdiction":       reflect.TypeFor[cancuoc.Jurisdiction](),
		"Birth":              reflect.TypeFor[registry.Birth](),
		"Death":              reflect.TypeFor[registry.Death](),
		"Missing":            reflect.TypeFor[registry.Missing](),
		"NewPrincipal":       reflect.TypeFor[registry.NewPrincipal](),
		"UpdateRequest":      reflect.TypeFor[updateRequest](),
		"SearchPage":         reflect.TypeFor[searchPage](),
		"Problem":            reflect.TypeFor[Problem](),
		"Unit":               reflect.TypeFor[admin.Unit](),
		"Code":               reflect.TypeFor[admin.Code](),
		"Partner":            reflect.TypeFor[cancuoc.Partner](),
		"PartnerPolicy":      reflect.TypeFor[cancuoc.PartnerPolicy](),
		"Quota":              reflect.TypeFor[cancuoc.Quota](),
		"NewPartner":         reflect.TypeFor[partner.NewPartner](),
		"PartnerChange":      reflect.TypeFor[partner.Change](),
		"MatchRequest":       reflect.TypeFor[partner.MatchRequest](),
		"AddressQuery":       reflect.TypeFor[partner.AddressQuery](),
		"MatchResult":        reflect.TypeFor[partner.MatchResult](),
		"PartnerConsent":     reflect.TypeFor[cancuoc.PartnerConsent](),
		"ConsentRequest":     reflect.TypeFor[partner.ConsentRequest](),
		"Release":            reflect.TypeFor[partner.Release](),
		"MyConsents":         reflect.TypeFor[myConsentsView](),
		"StatsFigures":       reflect.TypeFor[stats.Figures](),
		"StatsRow":           reflect.TypeFor[stats.Row](),
		"StatsMeasure":       reflect.TypeFor[stats.Info](),
		"StatsColumn":        reflect.TypeFor[stats.Column](),
		"StatsPeriod":        reflect.TypeFor[cancuoc.PeriodCount](),
		"PartnerStats":       reflect.TypeFor[stats.PartnerResult](),
		"PartnerStatsList":   reflect.TypeFor[stats.PartnerResults](),
		"Document":           reflect.TypeFor[cancuoc.Document](),
		"HolderKey":          reflect.TypeFor[cancuoc.HolderKey](),
		"IssueRequest":       reflect.TypeFor[wallet.IssueRequest](),
		"PresentRequest":     reflect.TypeFor[wallet.PresentRequest](),
		"Prepared":           reflect.TypeFor[wallet.Prepared](),
		"LabelledClaim":      reflect.TypeFor[wallet.LabelledClaim](),
		"Verdict":            reflect.TypeFor[wallet.Verdict](),
		"VPRequest":          reflect.TypeFor[wallet.VPRequest](),
		"DocType":            reflect.TypeFor[wallet.DocType](),
		"VerifyRequest":      reflect.TypeFor[verifyRequest](),
		"Filing":             reflect.TypeFor[application.Filing](),
		"Decision":           reflect.TypeFor[application.Decision](),
	})
}

// checkSchemaFields checks each named schema's properties against the JSON
// fields of its Go type.
func checkSchemaFields(t *testing.T, doc openapi, types map[string]reflect.Type) {
	t.Helper()
	fields := make(map[string][]string, len(types))
	for name, typ := range types {
		fields[name] = jsonFields(typ)
	}
	checkSchemaProperties(t, doc, fields)
}

// checkSchemaProperties checks that each named schema documents exactly the
// given properties.
func checkSchemaProperties(t *testing.T, doc openapi, want map[string][]string) {
	t.Helper()
	for name, fields := range want {
		var schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(doc.Components.Schemas[name], &schema); err != nil || schema.Properties == nil {
			t.Errorf("schema %s missing or without properties: %v", name, err)
			continue
		}
		documented := slices.Sorted(maps.Keys(schema.Properties))
		fields = slices.Sorted(slices.Values(fields))
		if !slices.Equal(documented, fields) {
			t.Errorf("schema %s has properties %v; its type has JSON fields %v", name, documented, fields)
		}
	}
}

// jsonFields lists the JSON names encoding/json gives t's fields, with
// untagged embedded structs flattened.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

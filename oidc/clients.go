package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
)

// NewClient is a client registration as an administrator submits it.
type NewClient struct {
	ID                     string          `json:"id"`
	Name                   string          `json:"name"`
	Purpose                string          `json:"purpose"`
	Kind                   string          `json:"kind"`        // confidential (default) or public
	AuthMethod             string          `json:"auth_method"` // client_secret_basic (default), private_key_jwt, none
	JWKS                   json.RawMessage `json:"jwks,omitempty"`
	RedirectURIs           []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs []string        `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string        `json:"grant_types,omitempty"` // default authorization_code, refresh_token
	Scopes                 []string        `json:"scopes,omitempty"`      // extra scopes, e.g. ["pid"]
	Sector                 string          `json:"sector,omitempty"`
	MinLevel               int             `json:"min_level,omitempty"` // 1 (default) or 2
	IDTokenAlg             string          `json:"id_token_alg,omitempty"`
	PartnerID              string          `json:"partner_id,omitempty"`
}

var clientIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

func invalid(field, code, vi, en string) error {
	return cancuoc.InvalidField("oidc.CreateClient", field, code, vi, en)
}

// validRedirect accepts absolute https URIs without fragment, and http only
// for loopback hosts (development, native apps).
func validRedirect(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Fragment != "" || u.Host == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}

func (n *NewClient) build() (*cancuoc.Client, error) {
	c := &cancuoc.Client{ID: n.ID, Name: strings.TrimSpace(n.Name), Purpose: strings.TrimSpace(n.Purpose),
		Kind: cancuoc.ClientKind(n.Kind), AuthMethod: n.AuthMethod, JWKS: n.JWKS, RedirectURIs: n.RedirectURIs,
		PostLogoutRedirectURIs: n.PostLogoutRedirectURIs, GrantTypes: n.GrantTypes, Scopes: n.Scopes, Sector: n.Sector,
		MinLevel: n.MinLevel, IDTokenAlg: n.IDTokenAlg, PartnerID: n.PartnerID}
	if !clientIDPattern.MatchString(c.ID) {
		return nil, invalid("id", "client_id_invalid", "Mã ứng dụng gồm 3–64 ký tự a-z, 0-9, '.', '_', '-'.",
			"A client ID is 3–64 characters a-z, 0-9, '.', '_', '-'.")
	}
	if c.Name == "" || c.Purpose == "" {
		return nil, invalid("purpose", "name_purpose_required", "Cần tên ứng dụng và mục đích sử dụng dữ liệu.",
			"A client needs a name and a stated purpose.")
	}
	if c.Kind == "" {
		c.Kind = cancuoc.ClientConfidential
	}
	if c.AuthMethod == "" {
		c.AuthMethod = cancuoc.ClientAuthSecretBasic
		if c.Kind == cancuoc.ClientPublic {
			c.AuthMethod = cancuoc.ClientAuthNone
		}
	}
	switch {
	case c.Kind == cancuoc.ClientPublic && c.AuthMethod != cancuoc.ClientAuthNone,
		c.Kind == cancuoc.ClientConfidential && c.AuthMethod != cancuoc.ClientAuthSecretBasic && c.AuthMethod != cancuoc.ClientAuthPrivateKeyJWT,
		c.Kind != cancuoc.ClientPublic && c.Kind != cancuoc.ClientConfidential:
		return nil, invalid("auth_method", "auth_method_invalid",
			"Ứng dụng công khai dùng 'none'; ứng dụng bảo mật dùng client_secret_basic hoặc private_key_jwt.",
			"A public client uses 'none'; a confidential one client_secret_basic or private_key_jwt.")
	}
	if c.AuthMethod == cancuoc.ClientAuthPrivateKeyJWT {
		var set jose.JSONWebKeySet
		if len(c.JWKS) == 0 || json.Unmarshal(c.JWKS, &set) != nil || len(set.Keys) == 0 {
			return nil, invalid("jwks", "jwks_invalid", "private_key_jwt cần bộ khoá công khai (JWKS) hợp lệ.",
				"private_key_jwt needs a valid public key set (JWKS).")
		}
		for _, k := range set.Keys {
			if !k.IsPublic() || k.KeyID == "" {
				return nil, invalid("jwks", "jwks_invalid", "Mỗi khoá cần kid và chỉ là khoá công khai.",
					"Every key needs a kid and must be public only.")
			}
		}
	} else {
		c.JWKS = nil
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{cancuoc.GrantAuthorizationCode, cancuoc.GrantRefreshToken}
	}
	for _, g := range c.GrantTypes {
		if g != cancuoc.GrantAuthorizationCode && g != cancuoc.GrantRefreshToken && g != cancuoc.GrantClientCredentials {
			return nil, invalid("grant_types", "grant_type_invalid", "Loại cấp quyền không được hỗ trợ.", "Unsupported grant type.")
		}
	}
	if c.HasGrant(cancuoc.GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		return nil, invalid("redirect_uris", "redirect_uri_required", "Cần ít nhất một địa chỉ chuyển hướng.", "At least one redirect URI is required.")
	}
	for _, u := range slices.Concat(c.RedirectURIs, c.PostLogoutRedirectURIs) {
		if !validRedirect(u) {
			return nil, invalid("redirect_uris", "redirect_uri_invalid",
				"Địa chỉ chuyển hướng phải là URL https tuyệt đối (http chỉ cho localhost), không có #.",
				"Redirect URIs must be absolute https URLs (http only for localhost), without a fragment.")
		}
	}
	for _, s := range c.Scopes {
		if s != ScopePID && s != ScopeAccount && s != ScopeOrg {
			return nil, invalid("scopes", "scope_invalid", "Phạm vi bổ sung không được hỗ trợ.", "Unsupported extra scope.")
		}
	}
	if c.MinLevel == 0 {
		c.MinLevel = 1
	}
	if c.MinLevel != 1 && c.MinLevel != 2 {
		return nil, invalid("min_level", "min_level_invalid", "Mức độ tối thiểu là 1 hoặc 2.", "The minimum level is 1 or 2.")
	}
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = AlgES256
	}
	if c.IDTokenAlg != AlgES256 && c.IDTokenAlg != AlgRS256 {
		return nil, invalid("id_token_alg", "alg_invalid", "Thuật toán ký là ES256 hoặc RS256.", "The signing algorithm is ES256 or RS256.")
	}
	return c, nil
}

// CreateClient registers a client. Only a national administrator may (a
// nil actor is the operator at the console). The secret of a
// client_secret_basic client is returned once and only its hash kept.
// Invalid for a bad registration, Forbidden for another role, Conflict if
// the ID is taken.
func (p *Provider) CreateClient(ctx context.Context, actor *cancuoc.Principal, n NewClient) (*cancuoc.Client, string, error) {
	const op = "oidc.CreateClient"
	if actor != nil && actor.Role != cancuoc.RoleNationalAdmin {
		return nil, "", cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
			"Chỉ quản trị viên quốc gia được đăng ký ứng dụng.", "Only a national administrator may register clients.")
	}
	c, err := n.build()
	if err != nil {
		return nil, "", err
	}
	var secret string
	if c.AuthMethod == cancuoc.ClientAuthSecretBasic {
		secret = "ccs_" + randomID(32)
		c.SecretHash = hashValue(secret)
	}
	c.CreatedAt = p.now()
	actorID := "console"
	if actor != nil {
		actorID = actor.ID
	}
	err = p.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertClient(ctx, c); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: c.CreatedAt, Actor: actorID, Action: "oidc.client.create",
			Purpose: c.ID, Outcome: "ok"})
	})
	if err != nil {
		return nil, "", cancuoc.WithOp(op, err)
	}
	return c, secret, nil
}

// Clients lists the registered clients.
func (p *Provider) Clients(ctx context.Context) ([]*cancuoc.Client, error) {
	return p.store.Clients(ctx)
}

// ClientsAPI serves POST /v1/clients and GET /v1/clients for
// administrators. authenticate resolves the request's API key (the
// registry's Authenticate); errors are written by writeError, the JSON API's
// problem writer, so they look like every other API error.
func (p *Provider) ClientsAPI(authenticate func(*http.Request) (*cancuoc.Principal, error),
	writeError func(http.ResponseWriter, *http.Request, error)) func(mux *http.ServeMux) {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("POST /v1/clients", func(w http.ResponseWriter, r *http.Request) {
			actor, err := authenticate(r)
			if err != nil {
				writeError(w, r, err)
				return
			}
			var n NewClient
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&n); err != nil {
				writeError(w, r, cancuoc.E(cancuoc.Invalid, "oidc.CreateClient", "json_invalid",
					"Nội dung JSON không hợp lệ.", "The JSON body is invalid."))
				return
			}
			c, secret, err := p.CreateClient(r.Context(), actor, n)
			if err != nil {
				writeError(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(struct {
				*cancuoc.Client
				Secret string `json:"client_secret,omitempty"`
			}{c, secret})
		})
		mux.HandleFunc("GET /v1/clients", func(w http.ResponseWriter, r *http.Request) {
			actor, err := authenticate(r)
			if err != nil {
				writeError(w, r, err)
				return
			}
			if actor.Role != cancuoc.RoleNationalAdmin {
				writeError(w, r, cancuoc.E(cancuoc.Forbidden, "oidc.Clients", "role_forbidden",
					"Chỉ quản trị viên quốc gia xem được danh sách ứng dụng.", "Only a national administrator may list clients."))
				return
			}
			cs, err := p.Clients(r.Context())
			if err != nil {
				writeError(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(map[string]any{"items": cs})
		})
	}
}

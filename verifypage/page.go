// Package verifypage is the server-rendered verifier page: a person (a
// police officer at a checkpoint, a clerk at a counter) pastes or scans a
// presentation and sees the verdict and the disclosed claims, in
// Vietnamese first with English. No script: html/template, embedded.
package verifypage

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/cancuoc/cancuoc/wallet"
)

//go:embed templates/verify.html
var files embed.FS

var page = template.Must(template.ParseFS(files, "templates/verify.html"))

// maxForm bounds the pasted presentation.
const maxForm = 512 << 10

type view struct {
	Presentation string
	Nonce        string
	Audience     string
	RequireKB    bool
	Verdict      *wallet.Verdict
	Error        string
}

// Routes adds GET and POST /verify to mux.
func Routes(mux *http.ServeMux, s *wallet.Service, log *slog.Logger) {
	mux.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) {
		render(w, log, http.StatusOK, view{RequireKB: true})
	})
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			render(w, log, http.StatusBadRequest, view{RequireKB: true, Error: "Biểu mẫu quá lớn hoặc không hợp lệ. / The form is too large or malformed."})
			return
		}
		v := view{Presentation: strings.TrimSpace(r.PostForm.Get("presentation")), Nonce: r.PostForm.Get("nonce"),
			Audience: r.PostForm.Get("aud"), RequireKB: r.PostForm.Get("require_kb") != ""}
		if v.Presentation == "" {
			v.Error = "Hãy dán bản trình bày (SD-JWT). / Paste a presentation (SD-JWT)."
			render(w, log, http.StatusBadRequest, v)
			return
		}
		v.Verdict = s.Checker(r.Context()).Check(v.Presentation, wallet.Expect{Nonce: v.Nonce, Audience: v.Audience, RequireKB: v.RequireKB})
		render(w, log, http.StatusOK, v)
	})
}

func render(w http.ResponseWriter, log *slog.Logger, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		log.Error("verifier page", "err", err)
	}
}

// Package verifypage is the server-rendered verifier page: a person (a
// police officer at a checkpoint, a clerk at a counter) pastes or scans a
// presentation and sees the verdict and the disclosed claims, in
// Vietnamese, or in English when asked (?lang=en, remembered in the same
// cookie as the other pages'). No script: html/template, embedded.
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

var page = template.Must(template.New("verify.html").Funcs(template.FuncMap{
	// t picks the text of the page's language.
	"t": func(lang, vi, en string) string {
		if lang == "en" {
			return en
		}
		return vi
	},
}).ParseFS(files, "templates/verify.html"))

// cookieLang is the web pages' language cookie (web/site.go), so a
// visitor's choice holds across the site.
const cookieLang = "cancuoc_lang"

// lang is the page language: ?lang= (remembered in the cookie), else the
// cookie, else Vietnamese.
func lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "vi" {
		http.SetCookie(w, &http.Cookie{Name: cookieLang, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(cookieLang); err == nil && c.Value == "en" {
		return "en"
	}
	return "vi"
}

// maxForm bounds the pasted presentation.
const maxForm = 512 << 10

type view struct {
	Lang, Other  string // the page's language and the other one
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
		render(w, log, http.StatusOK, withLang(w, r, view{RequireKB: true}))
	})
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			render(w, log, http.StatusBadRequest, withLang(w, r, view{RequireKB: true, Error: "form"}))
			return
		}
		v := withLang(w, r, view{Presentation: strings.TrimSpace(r.PostForm.Get("presentation")), Nonce: r.PostForm.Get("nonce"),
			Audience: r.PostForm.Get("aud"), RequireKB: r.PostForm.Get("require_kb") != ""})
		if v.Presentation == "" {
			v.Error = "empty"
			render(w, log, http.StatusBadRequest, v)
			return
		}
		v.Verdict = s.Checker(r.Context()).Check(v.Presentation, wallet.Expect{Nonce: v.Nonce, Audience: v.Audience, RequireKB: v.RequireKB})
		render(w, log, http.StatusOK, v)
	})
}

func withLang(w http.ResponseWriter, r *http.Request, v view) view {
	v.Lang, v.Other = lang(w, r), "en"
	if v.Lang == "en" {
		v.Other = "vi"
	}
	return v
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

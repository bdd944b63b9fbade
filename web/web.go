// Package web serves the server-rendered pages. Templates and assets are
// embedded, so the binary works on a network with no internet access.
package web

import (
	"embed"
	"html/template"
	"net/http"
)

//go:embed templates/*.html static/*
var files embed.FS

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html"))

// Status is what the landing page shows about the running node.
type Status struct {
	Version  string
	Backend  string // "SQLite" or "PostgreSQL"
	Citizens int64
	Alive    int64
}

// Routes adds the landing page and static assets to mux. status is called
// per request so the page shows live figures.
func Routes(mux *http.ServeMux, status func(r *http.Request) (Status, error)) {
	mux.Handle("GET /static/", http.FileServerFS(files))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		st, err := status(r)
		if err != nil {
			http.Error(w, "Hệ thống tạm thời không trả lời / The service is temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pages.ExecuteTemplate(w, "landing.html", st)
	})
}

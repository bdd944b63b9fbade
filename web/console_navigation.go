package web

import "net/http"

// A console page that reads a person's data writes an access-log entry in
// the officer's name: opening it is an act, not just a view. Session
// cookies are SameSite=Lax, which browsers still send on a top-level
// navigation from another site, so a link or redirect elsewhere could make
// an officer's browser "read" records (or run searches) the officer never
// chose to, and the citizen's access log would say they did. Such
// navigations get a page asking to continue instead; the link on it is
// same-origin, so following it proceeds.

// crossSiteRead reports a GET that another site started (Sec-Fetch-Site,
// sent by every current browser) for anything but the bare console home.
// Requests without the header (old browsers, tools) pass: the header is a
// defence for browsers, where the attack happens.
func crossSiteRead(r *http.Request) bool {
	if r.Method != http.MethodGet || (r.URL.Path == consolePath && r.URL.RawQuery == "") {
		return false
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "cross-site" || site == "same-site"
}

// confirmNavigation shows the page that asks to continue to r's URL.
func (s *Site) confirmNavigation(w http.ResponseWriter, r *http.Request) {
	v := s.newView(w, r, "")
	v.Nav = s.nav("/console")
	v.Data = r.URL.RequestURI()
	s.render(w, http.StatusOK, "console_confirm.html", v)
}

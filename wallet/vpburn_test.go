package wallet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sdjwt"
)

// TestVPRequestNotBurnedByStrangers: what a stranger can post to a
// request's response_uri (garbage, a presentation signed by the wrong key,
// one made for another request) is refused and leaves the request pending;
// the holder's real answer still lands, once; a flood from one address is
// cut off with a Retry-After while other addresses go on.
func TestVPRequestNotBurnedByStrangers(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		an := e.citizen(1, cancuoc.Level1, "")
		key, _ := e.registerKey(an, "")
		doc, _ := e.w.Issue(ctx, transport, licence(an.pin))
		req, err := e.w.CreateVPRequest(ctx, bank, "driver_licence", []string{"given_name"})
		if err != nil {
			t.Fatal(err)
		}
		other, _ := e.w.CreateVPRequest(ctx, bank, "driver_licence", nil)
		pr := e.present(an, key, doc.ID, req.Nonce, req.ClientID, "given_name")
		forged := pr[:strings.LastIndex(pr, ".")] + ".AAAA" // the holder's KB-JWT with a bad signature
		for name, junk := range map[string]string{
			"garbage":           "garbage",
			"bad kb signature":  forged,
			"other request":     e.present(an, key, doc.ID, other.Nonce, other.ClientID, "given_name"),
			"without kb":        pr[:strings.LastIndex(pr, "~")+1],
			"truncated sd-jwt":  pr[:len(pr)/2],
			"sd-jwt of no type": "a.b.c~",
		} {
			v, err := e.w.RespondVP(ctx, req.ID, junk, "198.51.100.7")
			if err != nil || v.Valid {
				t.Errorf("%s: %+v %v", name, v, err)
			}
		}
		res, err := e.w.VPRequestFor(ctx, bank, req.ID)
		if err != nil || res.State != "pending" || res.Verdict != nil {
			t.Fatalf("after strangers' posts the request is %+v %v, want pending", res, err)
		}
		v, err := e.w.RespondVP(ctx, req.ID, pr, "203.0.113.9")
		if err != nil || !v.Valid {
			t.Fatalf("the holder's answer: %+v %v", v, err)
		}
		if _, err := e.w.RespondVP(ctx, req.ID, pr, "203.0.113.9"); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("replayed answer: %v, want Conflict", err)
		}
		if res, _ := e.w.VPRequestFor(ctx, bank, req.ID); res.State != "answered" || res.Verdict == nil || !res.Verdict.Valid {
			t.Errorf("result %+v", res)
		}

		// A conclusive answer that fails (the holder's suspended document, for
		// this request) ends the request too: the holder did answer.
		third, _ := e.w.CreateVPRequest(ctx, bank, "driver_licence", nil)
		if _, err := e.w.SetStatus(ctx, transport, doc.ID, cancuoc.DocumentSuspended, "points"); err != nil {
			t.Fatal(err)
		}
		if v, err := e.w.RespondVP(ctx, third.ID, e.present(an, key, doc.ID, third.Nonce, third.ClientID, "given_name"), ""); err != nil || v.Code != "document_suspended" {
			t.Fatalf("suspended: %+v %v", v, err)
		}
		if res, _ := e.w.VPRequestFor(ctx, bank, third.ID); res.State != "answered" || res.Verdict.Code != "document_suspended" {
			t.Errorf("suspended answer not recorded: %+v", res)
		}

		// The flood limit: per address, per minute.
		fourth, _ := e.w.CreateVPRequest(ctx, bank, "driver_licence", nil)
		var limited error
		for i := 0; i < 40 && limited == nil; i++ {
			_, limited = e.w.RespondVP(ctx, fourth.ID, "junk", "192.0.2.1")
		}
		var ce *cancuoc.Error
		if cancuoc.KindOf(limited) != cancuoc.TooManyRequests || !errorsAs(limited, &ce) || ce.RetryAfter <= 0 || ce.RetryAfter > time.Minute {
			t.Fatalf("flood: %v, want TooManyRequests with a Retry-After", limited)
		}
		if v, err := e.w.RespondVP(ctx, fourth.ID, "junk", "192.0.2.2"); err != nil || v.Code != sdjwt.CodeMalformed {
			t.Errorf("another address: %+v %v", v, err)
		}
		e.clock.Add(time.Minute)
		if _, err := e.w.RespondVP(ctx, fourth.ID, "junk", "192.0.2.1"); err != nil {
			t.Errorf("a minute later: %v", err)
		}
	})
}

// TestVPRequestCancel: only the verifier who made a request ends it.
func TestVPRequestCancel(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		an := e.citizen(1, cancuoc.Level1, "")
		key, _ := e.registerKey(an, "")
		doc, _ := e.w.Issue(ctx, transport, licence(an.pin))
		req, _ := e.w.CreateVPRequest(ctx, bank, "driver_licence", nil)
		if _, err := e.w.CancelVPRequest(ctx, police, req.ID); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("another verifier cancelled: %v", err)
		}
		res, err := e.w.CancelVPRequest(ctx, bank, req.ID)
		if err != nil || res.State != "answered" || res.Verdict == nil || res.Verdict.Code != "cancelled" {
			t.Fatalf("cancel: %+v %v", res, err)
		}
		pr := e.present(an, key, doc.ID, req.Nonce, req.ClientID, "given_name")
		if _, err := e.w.RespondVP(ctx, req.ID, pr, ""); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("answer after cancel: %v", err)
		}
		if _, err := e.w.CancelVPRequest(ctx, bank, req.ID); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("second cancel: %v", err)
		}
	})
}

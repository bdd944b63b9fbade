package eid

import (
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
)

// TestGuardianshipEndsAt14: the guardian who opened a child's account
// locks it and reads its logins while the child is under 14; from the
// fourteenth birthday they do neither (review finding 2).
func TestGuardianshipEndsAt14(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		g := e.register(t, e.adult, "0912345678")
		g, err := e.s.GrantLevel2(ctx, officer(cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{}), g.PIN, "kiểm tra trực tiếp")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.CreateChildAccount(ctx, g, ChildRequest{PIN: e.child.PIN, Password: "mật khẩu của con"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.ChildLogins(ctx, g, e.child.PIN, 10); err != nil {
			t.Fatalf("logins of a child of seven: %v", err)
		}
		// Born 2018-03-01: fourteen on 2032-03-01.
		e.clock.Add(testNow.AddDate(6, 1, 15).Sub(testNow))
		_, err = e.s.ChildLogins(ctx, g, e.child.PIN, 10)
		wantKind(t, "logins at 14", err, cancuoc.NotFound, "not_found")
		_, err = e.s.Lock(ctx, g, e.child.PIN)
		wantKind(t, "lock at 14", err, cancuoc.Forbidden, "not_holder")
	})
}

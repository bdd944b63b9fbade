package postgres_test

import (
	"context"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestAuditLog runs the access-log suite; tampering goes through the pool,
// past the store's methods.
func TestAuditLog(t *testing.T) {
	serverURL(t)
	t.Parallel()
	storetest.RunAuditLog(t, func(t *testing.T) (cancuoc.Store, storetest.Exec) {
		s := open(t)
		return s, func(ctx context.Context, sql string) error {
			_, err := s.Pool().Exec(ctx, sql)
			return err
		}
	})
}

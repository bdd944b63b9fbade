package sqlite

import (
	"context"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestAuditLog runs the access-log suite; tampering goes through the
// writer connection, past the store's methods.
func TestAuditLog(t *testing.T) {
	storetest.RunAuditLog(t, func(t *testing.T) (cancuoc.Store, storetest.Exec) {
		s := openMemory(t).(*Store)
		return s, func(ctx context.Context, sql string) error {
			_, err := s.write.ExecContext(ctx, sql)
			return err
		}
	})
}

package registry

import (
	"context"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"

	"github.com/cancuoc/cancuoc"
)

// Import loads a batch of new records in the store's fast bulk path (a data
// migration or the synthetic population). Each record is validated and
// derived like any other and becomes version 1 with the given meta; one
// event reports the whole batch, since consumers care that a load happened,
// not about millions of individual creations. Only a national administrator
// (or the console, p nil) may import.
func (s *Service) Import(ctx context.Context, p *cancuoc.Principal, batch []*cancuoc.Citizen, meta Meta) error {
	const op = "registry.Import"
	actor := "console"
	if p != nil {
		if p.Role != cancuoc.RoleNationalAdmin {
			return cancuoc.E(cancuoc.Forbidden, op, "role_forbidden", "Chỉ quản trị viên quốc gia được nạp dữ liệu hàng loạt.", "Only a national administrator may bulk-load records.")
		}
		actor = p.ID
	}
	if err := meta.validate(op); err != nil {
		return err
	}
	now := s.clock()
	versions := make([]*cancuoc.CitizenVersion, len(batch))
	for i, c := range batch {
		if c.LifeStatus == "" {
			c.LifeStatus = cancuoc.Alive
		}
		if err := validate(op, c, now); err != nil {
			return cancuoc.WithOp(op, withRecord(err, i))
		}
		derive(c)
		c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
		versions[i] = &cancuoc.CitizenVersion{PIN: c.PIN, Version: 1, At: now, Actor: actor, Agency: meta.Agency,
			Reason: meta.Reason, LegalBasis: meta.LegalBasis, Citizen: c}
	}
	if len(batch) == 0 {
		return nil // nothing loaded, nothing to report
	}
	data, _ := json.Marshal(map[string]any{"count": len(batch), "reason": meta.Reason})
	loaded := &cancuoc.Event{ID: newEventID(), Type: cancuoc.EventCitizensLoaded, Actor: actor, At: now, Data: data}
	return cancuoc.WithOp(op, s.store.BulkInsert(ctx, versions, loaded))
}

// withRecord prefixes the failing field with the record's index in the batch.
func withRecord(err error, i int) error {
	e, ok := err.(*cancuoc.Error)
	if !ok {
		return err
	}
	c := *e
	c.Field = fmt.Sprintf("records[%d].", i) + c.Field
	return &c
}

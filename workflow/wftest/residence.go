// Package wftest holds what the workflow's tests, the crash test and the
// benchmark share: a minimal residence register over the store.
package wftest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Residence is a minimal implementation of workflow.Residence that
// changes the citizen's record through the store in the caller's
// transaction, with its history row, audit entry and event. It stands in
// for the residence capability (built in parallel) in tests and, until
// that is merged, in the binary; it checks no residence law.
type Residence struct{}

// RegisterNewbornTx puts child in parent's household at parent's permanent
// residence. Invalid if the parent has no household; nothing changes when
// the child is in it already.
func (Residence) RegisterNewbornTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, child, parent cancuoc.PIN) error {
	const op = "residence.RegisterNewborn"
	par, err := tx.Citizen(ctx, parent)
	if err != nil {
		return err
	}
	if par.Household == nil {
		return cancuoc.InvalidField(op, "parent", "parent_no_household", "Cha/mẹ chưa có hộ thường trú.", "The parent has no permanent household.")
	}
	c, err := tx.Citizen(ctx, child)
	if err != nil {
		return err
	}
	if c.Household != nil && c.Household.ID == par.Household.ID {
		return nil
	}
	n := c.Clone()
	n.Household = &cancuoc.HouseholdLink{ID: par.Household.ID, HeadPIN: par.Household.HeadPIN, HeadName: par.Household.HeadName, Relation: "con"}
	if par.PermanentResidence != nil {
		pr := *par.PermanentResidence
		n.PermanentResidence = &pr
	}
	return save(ctx, tx, actor, c, n, "Đăng ký thường trú cho trẻ sơ sinh", []string{"household", "permanent_residence"})
}

// DeregisterTx removes pin's permanent residence and household link,
// recording the cause; nothing changes when there is none.
func (Residence) DeregisterTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, pin cancuoc.PIN, cause string) error {
	c, err := tx.Citizen(ctx, pin)
	if err != nil {
		return err
	}
	if c.PermanentResidence == nil && c.Household == nil {
		return nil
	}
	n := c.Clone()
	n.PermanentResidence, n.Household = nil, nil
	if n.Other == nil {
		n.Other = map[string]string{}
	}
	n.Other["residence_deregistered"] = cause
	return save(ctx, tx, actor, c, n, "Xoá đăng ký thường trú: "+cause, []string{"household", "permanent_residence", "other"})
}

func save(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, old, n *cancuoc.Citizen, reason string, fields []string) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	n.Version, n.UpdatedAt = old.Version+1, now
	if err := tx.UpdateCitizen(ctx, n, old.Version); err != nil {
		return err
	}
	if err := tx.AppendVersion(ctx, &cancuoc.CitizenVersion{PIN: n.PIN, Version: n.Version, At: now, Actor: actor.ID,
		Agency: actor.Agency, Reason: reason, LegalBasis: "Luật Cư trú 68/2020/QH14", Citizen: n.Clone()}); err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: actor.ID, Action: "residence.update", PIN: n.PIN,
		Fields: fields, Purpose: reason, Outcome: "ok"}); err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]any{"fields": fields})
	var id [16]byte
	_, _ = rand.Read(id[:])
	return tx.AppendEvent(ctx, &cancuoc.Event{ID: hex.EncodeToString(id[:]), Type: cancuoc.EventCitizenUpdated, PIN: n.PIN,
		Version: n.Version, Actor: actor.ID, At: now, Data: data})
}

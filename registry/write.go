package registry

import (
	"context"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

// change says who makes a write, as which action and event, and why.
type change struct {
	p      *cancuoc.Principal
	action Action
	event  string
	meta   Meta
	data   map[string]any // more of the event's data (see EventData)
}

// save validates c, gives it its next version and writes it with its history
// row, audit entry and outbox event through tx. old is nil for a new record
// (which save inserts) and the stored version otherwise. It returns false
// when nothing changed, in which case nothing is written.
func (s *Service) save(ctx context.Context, tx cancuoc.Tx, op string, old, c *cancuoc.Citizen, ch change) (bool, error) {
	now := s.clock()
	if err := validate(op, c, now); err != nil {
		return false, err
	}
	derive(c)
	var changes []cancuoc.FieldChange
	if old != nil {
		var err error
		if changes, err = diff(old, c); err != nil {
			return false, err
		}
		if len(changes) == 0 {
			return false, nil
		}
		c.Version, c.CreatedAt, c.UpdatedAt = old.Version+1, old.CreatedAt, now
		if err := tx.UpdateCitizen(ctx, c, old.Version); err != nil {
			return false, err
		}
	} else {
		c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
		if err := tx.InsertCitizen(ctx, c); err != nil {
			return false, err
		}
	}
	return true, s.record(ctx, tx, c, changes, ch, now)
}

// record writes the history row, audit entry and event of a saved version.
// Version 1 records no field changes: its record is the whole content.
func (s *Service) record(ctx context.Context, tx cancuoc.Tx, c *cancuoc.Citizen, changes []cancuoc.FieldChange, ch change, now time.Time) error {
	v := &cancuoc.CitizenVersion{PIN: c.PIN, Version: c.Version, At: now, Actor: ch.p.ID,
		Agency: agencyOf(ch), Reason: ch.meta.Reason, LegalBasis: ch.meta.LegalBasis, Changes: changes, Citizen: c.Clone()}
	if err := tx.AppendVersion(ctx, v); err != nil {
		return err
	}
	names := changedNames(changes)
	if c.Version == 1 {
		names = []string{"*"}
	}
	if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: ch.p.ID, Action: string(ch.action),
		PIN: c.PIN, Fields: names, Purpose: ch.meta.Reason, Outcome: "ok"}); err != nil {
		return err
	}
	// The event names the changed fields, never their values: consumers
	// that need values read the record with their own rights.
	fields := map[string]any{"fields": names}
	for k, v := range ch.data {
		fields[k] = v
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &cancuoc.Event{ID: newEventID(), Type: ch.event, PIN: c.PIN, Version: c.Version,
		Actor: ch.p.ID, At: now, Data: data})
}

func agencyOf(ch change) string {
	if ch.meta.Agency != "" {
		return ch.meta.Agency
	}
	return ch.p.Agency
}

// protected fields change only through their own actions (death, missing),
// never through a general update.
var protected = []string{"pin", "life_status", "death_date", "missing_since"}

// Update applies fn to a copy of the citizen's record at version and saves
// the result as the next version. A stale version is refused with Conflict
// (code "stale_version"): the caller rereads and decides again, so no change
// is silently lost. The officer must cover the citizen's home. The
// residence fields are not changed here but by the residence procedures,
// save a national administrator's correction (see checkResidence).
func (s *Service) Update(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, version int64, meta Meta, fn func(*cancuoc.Citizen) error) (*cancuoc.Citizen, error) {
	var out *cancuoc.Citizen
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		out, err = s.UpdateTx(ctx, tx, p, pin, version, meta, fn)
		return err
	})
	if err != nil {
		return nil, cancuoc.WithOp("registry.Update", err)
	}
	return out, nil
}

// UpdateOption adjusts UpdateTx for a change decided by a procedure of
// another capability (residence, civil status).
type UpdateOption func(*updateOpts)

type updateOpts struct {
	event        string
	data         map[string]any
	anyVersion   bool
	placeChecked bool
	residence    bool
}

// AsEvent makes the change's outbox event of the given type (for example
// "citizen.married") instead of "citizen.updated".
func AsEvent(eventType string) UpdateOption { return func(o *updateOpts) { o.event = eventType } }

// EventData adds key and value to the change's event data beside the
// changed fields' names: a fact of the decision that is no field of the
// record (the day a marriage was registered). Never personal data beyond
// what the event's type already tells.
func EventData(key string, value any) UpdateOption {
	return func(o *updateOpts) {
		if o.data == nil {
			o.data = map[string]any{}
		}
		o.data[key] = value
	}
}

// AnyVersion accepts version 0 as "the current one": the caller read the
// record in the same transaction, so there is no older copy to protect.
func AnyVersion() UpdateOption { return func(o *updateOpts) { o.anyVersion = true } }

// PlaceChecked skips the check that the principal covers the citizen's
// home, for a change whose caller has checked the principal's jurisdiction
// over the place the decision is about: a temporary residence registered
// by the commune where the person stays, a marriage registered where one
// spouse lives (which also links the other). The role check still applies.
func PlaceChecked() UpdateOption { return func(o *updateOpts) { o.placeChecked = true } }

// ResidenceProcedure marks a change made by a residence procedure
// (package residence: household, temporary residence, absence,
// deregistration), which alone changes the residence fields; see
// checkResidence.
func ResidenceProcedure() UpdateOption { return func(o *updateOpts) { o.residence = true } }

// UpdateTx is Update inside the caller's transaction tx, with the same
// rules (role, reason and legal basis, version, protected fields,
// jurisdiction), history row, audit entry and event, so a procedure can
// change several records and its own tables all or none. When fn changes
// nothing, nothing is written and the current record is returned.
func (s *Service) UpdateTx(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, pin cancuoc.PIN, version int64, meta Meta,
	fn func(*cancuoc.Citizen) error, opts ...UpdateOption) (*cancuoc.Citizen, error) {
	const op = "registry.Update"
	var o updateOpts
	for _, f := range opts {
		f(&o)
	}
	ev := cancuoc.EventCitizenUpdated
	if o.event != "" {
		ev = o.event
	}
	if o.anyVersion && version == 0 {
		version = -1
	}
	out, err := s.modifyTx(ctx, tx, op, pin, version, change{p, ActUpdate, ev, meta, o.data},
		func(_ cancuoc.Tx, old, c *cancuoc.Citizen) error {
			if err := fn(c); err != nil {
				return err
			}
			if err := checkProtected(op, old, c); err != nil {
				return err
			}
			if !o.placeChecked {
				if err := checkPlace(op, p, old.Home); err != nil {
					return err
				}
			}
			if o.residence {
				return nil
			}
			return checkResidence(op, p, old, c)
		})
	return out, cancuoc.WithOp(op, err)
}

// modify is the shape of every change to one existing record, in a
// transaction of its own; see modifyTx.
func (s *Service) modify(ctx context.Context, op string, pin cancuoc.PIN, version int64, ch change,
	fn func(tx cancuoc.Tx, old, c *cancuoc.Citizen) error) (*cancuoc.Citizen, error) {
	var out *cancuoc.Citizen
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		out, err = s.modifyTx(ctx, tx, op, pin, version, ch, fn)
		return err
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// modifyTx checks the role and the reason, then in tx reads the record,
// checks the version (0 accepts any for life events reported by other
// agencies, -1 for any action), lets fn change a clone and check its
// rights, and saves.
func (s *Service) modifyTx(ctx context.Context, tx cancuoc.Tx, op string, pin cancuoc.PIN, version int64, ch change,
	fn func(tx cancuoc.Tx, old, c *cancuoc.Citizen) error) (*cancuoc.Citizen, error) {
	if err := checkRole(op, ch.p, ch.action); err != nil {
		return nil, err
	}
	if err := ch.meta.validate(op); err != nil {
		return nil, err
	}
	old, err := tx.Citizen(ctx, pin)
	if err != nil {
		return nil, err
	}
	if version != old.Version && version != -1 && (version != 0 || ch.action == ActUpdate) {
		return nil, staleVersion(op, version, old.Version)
	}
	c := old.Clone()
	if err := fn(tx, old, c); err != nil {
		return nil, err
	}
	changed, err := s.save(ctx, tx, op, old, c, ch)
	if err != nil {
		return nil, err
	}
	if !changed {
		return old, nil
	}
	return c, nil
}

func staleVersion(op string, asked, current int64) error {
	e := cancuoc.E(cancuoc.Conflict, op, "stale_version",
		fmt.Sprintf("Hồ sơ đã được cập nhật (bạn gửi phiên bản %d, hiện là %d); hãy tải lại phiên bản mới nhất rồi thực hiện lại.", asked, current),
		fmt.Sprintf("The record has changed (you sent version %d, it is now at %d); reload the latest version and apply your change again.", asked, current))
	e.Field = "version"
	return e
}

// residenceFields are the record's fields kept by the residence register:
// each change of them is a decision of a residence procedure (Law on
// Residence 2020 art. 20–31) with its own entry in the person's residence
// history, the head's consent and the person's request where the law asks
// for them. A general update changing them would bypass all of that, and
// let the officer of any commune move a person into it.
var residenceFields = []string{"permanent_residence", "household", "temporary_residence", "temporary_absence"}

// checkResidence refuses a change of a residence field outside a residence
// procedure. A national administrator may still correct such a field (a
// data error of an import, for example): that correction names its legal
// basis like every update, and is the only way round the procedures.
func checkResidence(op string, p *cancuoc.Principal, old, c *cancuoc.Citizen) error {
	if p.Role == cancuoc.RoleNationalAdmin {
		return nil
	}
	changes, err := diffOf(old, c, residenceFields)
	if err != nil || len(changes) == 0 {
		return err
	}
	f := changes[0].Field
	return cancuoc.InvalidField(op, f, "residence_procedure_required",
		"Trường "+f+" chỉ thay đổi qua thủ tục cư trú: đăng ký thường trú (POST /v1/households, POST /v1/households/{id}/members), "+
			"tạm trú (POST /v1/residence/temporary, gia hạn POST /v1/citizens/{pin}/temporary-residence/renewal), "+
			"khai báo tạm vắng (POST /v1/citizens/{pin}/temporary-absence), xóa đăng ký thường trú (POST /v1/citizens/{pin}/deregistration) "+
			"hoặc hồ sơ đề nghị của công dân; không sửa qua cập nhật chung.",
		"Field "+f+" changes only through a residence procedure: permanent residence (POST /v1/households, POST /v1/households/{id}/members), "+
			"temporary residence (POST /v1/residence/temporary, renewal POST /v1/citizens/{pin}/temporary-residence/renewal), "+
			"temporary absence (POST /v1/citizens/{pin}/temporary-absence), deregistration (POST /v1/citizens/{pin}/deregistration) "+
			"or a citizen's application; not through the general update.")
}

func checkProtected(op string, old, c *cancuoc.Citizen) error {
	changes, err := diffOf(old, c, protected)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		for _, f := range protected {
			if ch.Field == f {
				return cancuoc.InvalidField(op, f, "field_protected",
					"Trường này chỉ thay đổi qua thủ tục riêng (khai tử, tuyên bố mất tích).",
					"This field changes only through its own procedure (death or missing registration).")
			}
		}
	}
	return nil
}

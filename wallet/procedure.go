package wallet

import (
	"context"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

// EventProcedureStepCompleted is the workflow's event of a completed
// procedure step (workflow.EventStepCompleted; named here so that the
// wallet does not depend on the workflow).
const EventProcedureStepCompleted = "procedure.step_completed"

// procedureTypes are the documents procedures issue (cancuoc.IssuedDocument
// kinds) that are also wallet document types of the same name.
var procedureTypes = map[string]bool{"birth_certificate": true, "health_insurance_card": true}

// HandleProcedureEvent puts the documents an interlinked procedure issued
// (the electronic birth certificate, the child's health-insurance card)
// into the subject's wallet as SD-JWT VCs, signed by the type's agency and
// issued by "procedure:ID". Subscribe it to EventProcedureStepCompleted,
// with PrepareProcedureEvents for each batch. It is idempotent: a document
// already in the wallet for that procedure is not issued again. A subject
// who has no wallet key yet (a newborn, until a parent registers one for
// the child) is skipped here and served when the key is registered
// (RegisterHolderKey).
func (s *Service) HandleProcedureEvent(ctx context.Context, e cancuoc.Event) error {
	return s.handleProcedureEvent(ctx, e, nil)
}

// PrepareProcedureEvents reads the wallet keys of the subjects of a batch
// of EventProcedureStepCompleted events in one query, and returns
// HandleProcedureEvent for them with those answers in place of a read per
// event (dispatch.PrepareBatch). A procedure's subject is nearly always a
// newborn without a key, so most batches end there: two key reads per
// birth, each a round trip, became one per batch. Only the registration
// of a key changes what it reads, which the handler does not do.
func (s *Service) PrepareProcedureEvents(ctx context.Context, evs []cancuoc.Event) (func(context.Context, cancuoc.Event) error, error) {
	keyed := map[cancuoc.PIN]bool{} // the subjects asked about: whether each has a key
	var pins []cancuoc.PIN
	for _, e := range evs {
		ref, ok := procedureEvent(e)
		if _, dup := keyed[ref.Subject]; ok && ref.Subject != "" && !dup {
			pins = append(pins, ref.Subject)
			keyed[ref.Subject] = false
		}
	}
	if len(pins) == 0 {
		return s.HandleProcedureEvent, nil
	}
	keys, err := s.store.HolderKeys(ctx, pins)
	if err != nil {
		return nil, cancuoc.WithOp("wallet.PrepareProcedureEvents", err)
	}
	for _, k := range keys {
		keyed[k.PIN] = true
	}
	return func(ctx context.Context, e cancuoc.Event) error { return s.handleProcedureEvent(ctx, e, keyed) }, nil
}

// procedureRef is what a step's completion names: the file, and since
// completions name them, its subject and the document the step issued.
type procedureRef struct {
	Procedure string      `json:"procedure"`
	Subject   cancuoc.PIN `json:"subject"`
	Document  string      `json:"document"`
}

// procedureEvent decodes e; false when it has nothing for the wallet.
func procedureEvent(e cancuoc.Event) (procedureRef, bool) {
	var ref procedureRef
	if e.Type != EventProcedureStepCompleted || json.Unmarshal(e.Data, &ref) != nil || ref.Procedure == "" {
		return ref, false // malformed: not ours to repair, and it must not block the consumer
	}
	// A completion that names the subject names the document it issued: a
	// step that issued none of the wallet's types (the newborn's
	// residence, say) has nothing for the wallet, and the file need not be
	// read back. Every document an earlier step issued was offered on that
	// step's event, and one issued before the key was registered is served
	// by RegisterHolderKey. One that names no subject was written before
	// completions did, and the file tells.
	return ref, ref.Subject == "" || procedureTypes[ref.Document]
}

// handleProcedureEvent is HandleProcedureEvent, with keyed telling for the
// subjects it lists whether they have a wallet key (read for the others).
func (s *Service) handleProcedureEvent(ctx context.Context, e cancuoc.Event, keyed map[cancuoc.PIN]bool) error {
	const op = "wallet.HandleProcedureEvent"
	ref, ok := procedureEvent(e)
	if !ok {
		return nil
	}
	subject := ref.Subject
	if subject == "" {
		// An event written before completions named their subject.
		p, err := s.store.Procedure(ctx, ref.Procedure)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			return nil
		}
		if err != nil || p.Subject == "" {
			return cancuoc.WithOp(op, err)
		}
		subject = p.Subject
	}
	// A procedure's subject is nearly always a newborn, who has no wallet
	// key until a parent registers one: settle that on a read instead of a
	// write transaction per document and event (which on SQLite queued
	// behind the single writer for nothing). A key registered after this
	// read (or the batch's, which also comes after the event's commit) is
	// served by RegisterHolderKey, which reads the documents after the key
	// is stored, and the documents were stored before this event.
	if has, asked := keyed[subject]; asked && !has {
		return nil
	} else if !asked {
		if _, err := s.store.HolderKey(ctx, subject); cancuoc.KindOf(err) == cancuoc.NotFound {
			return nil
		} else if err != nil {
			return cancuoc.WithOp(op, err)
		}
	}
	docs, err := s.store.IssuedDocuments(ctx, subject)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	for _, d := range docs {
		if d.ProcedureID != ref.Procedure || !procedureTypes[d.Kind] {
			continue
		}
		if err := s.issueFromProcedure(ctx, d); err != nil {
			return cancuoc.WithOp(op, err)
		}
	}
	return nil
}

// issuePendingProcedureDocs issues into pin's wallet the procedure
// documents it does not hold yet.
func (s *Service) issuePendingProcedureDocs(ctx context.Context, pin cancuoc.PIN) error {
	docs, err := s.store.IssuedDocuments(ctx, pin)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if procedureTypes[d.Kind] {
			if err := s.issueFromProcedure(ctx, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// issueFromProcedure issues one procedure document into the wallet unless
// it is there already or cannot be (no key, holder dead).
func (s *Service) issueFromProcedure(ctx context.Context, d *cancuoc.IssuedDocument) error {
	t := Types[d.Kind]
	by := "procedure:" + d.ProcedureID
	key, err := s.keys.signing(ctx, t.Agency)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		held, err := tx.DocumentsByHolder(ctx, d.PIN)
		if err != nil {
			return err
		}
		for _, x := range held {
			// A person has one birth certificate and one child's card
			// (the procedure's issued documents are unique per kind), so
			// any document of the type, whatever its status, means done:
			// this delivery is a repeat, or the document was reissued to a
			// new key, or its issuer revoked it (not to be undone here).
			if x.Type == t.ID {
				return nil
			}
		}
		c, err := tx.Citizen(ctx, d.PIN)
		if err != nil {
			return err
		}
		if c.LifeStatus == cancuoc.Dead {
			return nil
		}
		hk, err := tx.HolderKey(ctx, d.PIN)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		claims := procedureClaims(t.ID, c, d)
		if err := t.Validate("wallet.HandleProcedureEvent", claims); err != nil {
			return err
		}
		doc, err := s.mint(ctx, tx, key, t, d.PIN, claims, hk, by, s.clock().Add(t.Validity))
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by, "document.issue", cancuoc.EventDocumentIssued, doc, claimNames(claims))
	})
}

// procedureClaims are the claims of a procedure's document, from the
// registry record the procedure created and the issued document's number
// and date (in Vietnam's time zone).
func procedureClaims(typ string, c *cancuoc.Citizen, d *cancuoc.IssuedDocument) map[string]any {
	vn := time.FixedZone("ICT", 7*3600)
	on := d.IssuedAt.In(vn).Format(time.DateOnly)
	m := map[string]any{"full_name": c.FullName, "birth_date": c.BirthDate.String()}
	if c.Sex != "" {
		m["sex"] = string(c.Sex)
	}
	registration := placeText(c.BirthRegistration)
	switch typ {
	case "birth_certificate":
		m["pin"] = c.PIN.String()
		m["nationality"] = c.Nationality
		if c.Nationality == "" {
			m["nationality"] = "VNM"
		}
		if c.Ethnicity != "" {
			m["ethnicity"] = c.Ethnicity
		}
		m["place_of_birth"] = placeText(c.BirthPlace)
		if m["place_of_birth"] == "" {
			m["place_of_birth"] = registration
		}
		if c.Father != nil && c.Father.Name != "" {
			m["father_name"] = c.Father.Name
		}
		if c.Mother != nil && c.Mother.Name != "" {
			m["mother_name"] = c.Mother.Name
		}
		m["registration_number"], m["registered_on"] = d.Number, on
		m["registration_authority"] = "UBND " + registration
	case "health_insurance_card":
		// A child under six's card (group TE1) pays 100 % ("1"), valid from
		// issue, at the health station of the commune where the birth was
		// registered until the parents choose another.
		m["card_number"], m["benefit_level"], m["valid_from"] = d.Number, "1", on
		m["initial_facility"] = "Trạm y tế " + registration
	}
	return m
}

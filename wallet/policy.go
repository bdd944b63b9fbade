package wallet

import (
	"context"
	"fmt"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// IssuerPolicy decides whether a principal may issue (and so also
// reissue, suspend and revoke) documents of a type: AgencyPolicy for API
// keys, PartnerPolicy for partners' systems (with AgencyPolicy behind it).
type IssuerPolicy interface {
	// MayIssue returns nil, or a Forbidden error saying why not.
	MayIssue(ctx context.Context, issuer *cancuoc.Principal, docType string) error
}

// AgencyPolicy lets an API-key principal issue the types whose agency is
// its Agency (a ministry's system of "transport" issues driving licences),
// plus the extra types listed for its agency here; a national
// administrator may issue every type. Other principals may not issue.
type AgencyPolicy map[string][]string

// MayIssue implements IssuerPolicy.
func (p AgencyPolicy) MayIssue(_ context.Context, pr *cancuoc.Principal, docType string) error {
	const op = "wallet.MayIssue"
	t, ok := Types[docType]
	switch {
	case pr == nil || pr.Disabled:
		return cancuoc.E(cancuoc.Unauthenticated, op, "principal_missing", "Cần xác thực.", "Authentication is required.")
	case !ok:
		return cancuoc.InvalidField(op, "type", "type_unknown", "Loại tài liệu không tồn tại.", fmt.Sprintf("Unknown document type %q.", docType))
	case pr.Role == cancuoc.RoleNationalAdmin:
		return nil
	case pr.Agency != "" && (pr.Agency == t.Agency || slices.Contains(p[pr.Agency], docType)):
		return nil
	}
	return cancuoc.E(cancuoc.Forbidden, op, "issuance_not_allowed",
		"Cơ quan của bạn không được cấp loại tài liệu này.",
		fmt.Sprintf("Your agency may not issue %s documents (issued by %q).", docType, t.Agency))
}

// Partners is the partners capability as issuance uses it
// (*partner.Service): Check reads a partner's policy without counting the
// call, Authorize also counts it against the partner's quota.
type Partners interface {
	Check(ctx context.Context, id string, op cancuoc.PartnerOp, fields ...string) (*cancuoc.Partner, error)
	Authorize(ctx context.Context, id string, op cancuoc.PartnerOp, fields ...string) error
}

// PartnerPolicy lets a partner's system (cancuoc.PartnerPrincipal) issue,
// reissue, suspend and revoke the document types its policy lists in
// document_types, when its policy allows the issue_documents operation;
// each call counts against its quota. Every other principal is left to
// Fallback (AgencyPolicy{} when nil).
//
// A partner issues on behalf of the agency responsible for the type: the
// document is signed with that agency's issuer key and names that issuer
// (a driving licence is always iss …/issuers/transport, as its type
// metadata says, whichever transport department's system issued it). The
// partner itself is the document's IssuedBy ("partner:ID") and the actor in
// the access log. So a partner maps to an issuer key through its types:
// granting a type grants signing with that type's agency key, and an
// administrator grants only the types of the agency the partner belongs to.
type PartnerPolicy struct {
	Partners Partners
	Fallback IssuerPolicy
}

// MayIssue implements IssuerPolicy.
func (p PartnerPolicy) MayIssue(ctx context.Context, pr *cancuoc.Principal, docType string) error {
	const op = "wallet.MayIssue"
	id, ok := cancuoc.PartnerOf(pr)
	if !ok {
		if p.Fallback == nil {
			return AgencyPolicy{}.MayIssue(ctx, pr, docType)
		}
		return p.Fallback.MayIssue(ctx, pr, docType)
	}
	t, ok := Types[docType]
	if !ok {
		return cancuoc.InvalidField(op, "type", "type_unknown", "Loại tài liệu không tồn tại.", fmt.Sprintf("Unknown document type %q.", docType))
	}
	if p.Partners == nil {
		return cancuoc.E(cancuoc.Forbidden, op, "issuance_not_allowed", "Đối tác không được cấp tài liệu trên máy chủ này.",
			"Partners may not issue documents on this server (the partners capability is not enabled).")
	}
	pt, err := p.Partners.Check(ctx, id, cancuoc.OpIssueDocuments)
	if err != nil {
		return err
	}
	if !slices.Contains(pt.Policy.DocumentTypes, docType) {
		e := cancuoc.E(cancuoc.Forbidden, op, "document_type_not_allowed",
			fmt.Sprintf("Chính sách của đối tác không cho phép cấp loại tài liệu %q (%s).", docType, t.NameVI),
			fmt.Sprintf("The partner's policy does not allow issuing %q documents (%s); its document_types are %v.", docType, t.NameEN, pt.Policy.DocumentTypes))
		e.Field = "type"
		return e
	}
	return p.Partners.Authorize(ctx, id, cancuoc.OpIssueDocuments)
}

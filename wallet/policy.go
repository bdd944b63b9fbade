package wallet

import (
	"context"
	"fmt"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// IssuerPolicy decides whether a principal may issue (and so also
// reissue, suspend and revoke) documents of a type. The partner model
// (partners and their permissions) implements it once it exists; until
// then AgencyPolicy does.
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

// Package mrtd reads and proves genuine what a card reader extracts from the
// chip of a Vietnamese identity card (thẻ Căn cước, an ICAO Doc 9303 eMRTD
// in the TD1 format), and personalizes test cards with the same structure.
//
// The pieces, in the order the data flows:
//
//   - the machine-readable zone (ParseTD1, NewTD1, CheckDigit);
//   - a bounded BER-TLV reader (ReadTLV, ParseTLV) and the LDS files built
//     on it: EF.COM, DG1, DG2, DG13, DG14, DG15 and EF.SOD;
//   - passive authentication (Verify against a TrustStore of CSCA
//     certificates and CRLs), which reports every check by name instead of
//     stopping at the first failure, so a counter clerk and an auditor both
//     see why a card was refused;
//   - active authentication (ChallengeStore, Result.CheckActive), which
//     catches cloned chips;
//   - personalization of test cards (TestCA, TestCA.Personalize).
//
// Nothing here stores or logs anything: the registry comparison, card
// records and the HTTP API build on these functions.
//
// Brainpool curves, which many CSCAs use, are not supported by crypto/x509,
// so certificates and public keys are parsed here with cryptobyte and
// signatures are verified by one function (verifySignature) for the SOD,
// certificates and CRLs alike; the curve arithmetic comes from
// github.com/ProtonMail/go-crypto/brainpool.
package mrtd

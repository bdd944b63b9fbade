// Package cancuoc holds the domain of the national population registry: the
// validated value types (PIN, partial dates, places), the citizen record with
// the 26 fields of the Law on Identity, principals and their jurisdictions,
// events, and the small storage interfaces that the sqlite and postgres
// packages implement. It imports nothing else from the project, so every other
// package can depend on it.
package cancuoc

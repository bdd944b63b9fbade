//go:build race

package reconcile_test

// raceEnabled shrinks the populations the tests load: the race detector
// makes loading ten times slower and adds nothing to what they check.
const raceEnabled = true

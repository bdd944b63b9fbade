package main

import "github.com/cancuoc/cancuoc/residence"

// newResidence wires the residence service (households, temporary
// residence, stay notifications, deregistration, marriage) over the
// registry. It holds no state of its own, so the API and the procedures
// that call it inside their transactions may each make one.
func (a *app) newResidence() *residence.Service { return residence.New(a.reg, a.audit) }

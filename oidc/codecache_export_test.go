package oidc

// ForgetCodes empties p's cache of the codes it issued, as a restart or
// another node would see them, for TestCodeCache (package oidc_test).
func ForgetCodes(p *Provider) {
	p.storage.codes.mu.Lock()
	defer p.storage.codes.mu.Unlock()
	p.storage.codes.m = nil
}

//go:build !unix

package contracts

// lockFile does nothing where flock is missing: concurrent installs are
// then the caller's problem.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }

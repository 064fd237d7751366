package gpu

import (
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/shaders"
)

// KernelFor returns the family of the kernel d runs op on shape s with,
// and whether d built that kernel.
func KernelFor(d *Device, op kernel.Op, s kernel.Shape) (shaders.Family, bool) {
	p, f := d.kernel(op, s)
	return f, p != nil
}

// SetGroupLimit lowers the number of workgroups d dispatches in any one
// dimension, so that tests can make a batch need several dispatches.
func SetGroupLimit(d *Device, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.groupLimit = n
}

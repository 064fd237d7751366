package gpu

// SetGroupLimit lowers the number of workgroups d dispatches in any one
// dimension, so that tests can make a batch need several dispatches.
func SetGroupLimit(d *Device, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.groupLimit = n
}

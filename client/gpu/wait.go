package gpu

import (
	"context"
	"time"
)

// firstPoll is the first sleep between polls; sleeps double up to
// Options.PollInterval, so short kernels return quickly and long ones do
// not spin.
const firstPoll = 50 * time.Microsecond

// waitMapped waits until done delivers the outcome of a buffer map, or ctx
// ends. Natively the map's callback runs inside Device.Poll
// (mapread_native.go), so waitMapped drives wgpu-native with non-blocking
// polls and short sleeps: a blocking Device.Poll gives up after 5 s on
// lavapipe, after which the process crashes. In the browser, Poll does
// nothing and the map's promise completes on its own (pollAfter returns
// nil there).
func (d *Device) waitMapped(ctx context.Context, done <-chan error) error {
	sleep := firstPoll
	for {
		d.dev.Poll(false, nil)
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-pollAfter(sleep):
		}
		sleep = min(2*sleep, d.opts.PollInterval)
	}
}

package gpu

import (
	"time"

	"github.com/tessera-ai/tessera/shaders"
)

// Options configures Open.
type Options struct {
	// Family forces a kernel family; zero picks one from the adapter
	// (Vec4 for CPU adapters, Tiled for GPUs).
	Family shaders.Family
	// ForceFallbackAdapter asks for the platform's fallback (software)
	// adapter.
	ForceFallbackAdapter bool
	// MaxSubmitFLOPs bounds the work of one queue submission: a batch is
	// split into groups of whole products that fit it, and a larger
	// product into bands of rows of C, each its own submission.
	// Zero means the default; a negative value means one submission per
	// Run.
	MaxSubmitFLOPs float64
	// PollInterval is the longest sleep between polls while waiting for
	// the GPU natively (waits start shorter and back off to it); zero means
	// the default. It has no effect in the browser, where waits are
	// promise-driven.
	PollInterval time.Duration
}

// DefaultOptions returns the defaults that Open also uses for zero fields:
// automatic family choice, submissions of at most 2^30 FLOPs (about 0.2 s
// on lavapipe with two cores), and polling at most every 2 ms.
func DefaultOptions() Options {
	return Options{
		MaxSubmitFLOPs: 1 << 30,
		PollInterval:   2 * time.Millisecond,
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	def := DefaultOptions()
	if o.MaxSubmitFLOPs == 0 {
		o.MaxSubmitFLOPs = def.MaxSubmitFLOPs
	}
	if o.PollInterval <= 0 {
		o.PollInterval = def.PollInterval
	}
	return o
}

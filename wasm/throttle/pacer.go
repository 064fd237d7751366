// Package throttle lets the contributor page limit what the browser client
// takes from its device: Pacer keeps the device busy for at most a chosen
// share of the time, and Gate pauses and resumes taking tasks from the hub
// (a tab that is hidden, for instance). Both wrap what package client
// already accepts, a device.Device and a DialFunc, so the client itself
// knows nothing of them.
//
// They have no build constraints: the browser entry (package main in
// ../) uses them, and their tests run natively against a real hub.
package throttle

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// maxIdle bounds the pause between two tasks, far below the hub's lease
// (60 s by default): a task held while the device idles must still come
// back in time.
const maxIdle = 10 * time.Second

// dutyWindow is how far back DutyCycle looks.
const dutyWindow = 10 * time.Second

// Pacer is a device.Device that runs tasks on another one, idling after
// each task so that the device computes at most Share of the time: after
// a task that took t it starts the next no sooner than t·(1−s)/s later.
// A task's own duration is never changed, only the gaps between tasks.
type Pacer struct {
	dev device.Device

	mu       sync.Mutex
	share    float64
	lastEnd  time.Time     // when the latest task ended
	lastTook time.Duration // how long it took
	changed  chan struct{} // closed when share changes, to wake a waiting Run
	spans    []span        // runs that ended within dutyWindow, oldest first
	first    time.Time     // when the first task started
	busy     time.Duration // all tasks' time on the device, since NewPacer
}

// span is one task's time on the device.
type span struct{ start, end time.Time }

// NewPacer returns a Pacer over dev computing at most share of the time.
func NewPacer(dev device.Device, share float64) (*Pacer, error) {
	if err := checkShare(share); err != nil {
		return nil, err
	}
	return &Pacer{dev: dev, share: share, changed: make(chan struct{})}, nil
}

func checkShare(s float64) error {
	if math.IsNaN(s) || s <= 0 || s > 1 {
		return fmt.Errorf("throttle: the share of time must be above 0 and at most 1, got %v", s)
	}
	return nil
}

// SetShare changes the share of time the device may compute. A Run
// waiting for its turn re-reads it at once.
func (p *Pacer) SetShare(s float64) error {
	if err := checkShare(s); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s != p.share {
		p.share = s
		close(p.changed)
		p.changed = make(chan struct{})
	}
	return nil
}

// Share returns the share of time the device may compute.
func (p *Pacer) Share() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.share
}

// Info describes the underlying device.
func (p *Pacer) Info() device.Info { return p.dev.Info() }

// Close closes the underlying device.
func (p *Pacer) Close() error { return p.dev.Close() }

// Run waits for the task's turn, then runs it on the underlying device.
func (p *Pacer) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if err := p.wait(ctx); err != nil {
		return err
	}
	start := time.Now()
	err := p.dev.Run(ctx, op, s, a, b, c)
	p.record(start, time.Now())
	return err
}

// idle is the pause owed after a task that took took at share s.
func idle(took time.Duration, s float64) time.Duration {
	d := time.Duration(float64(took) * (1 - s) / s)
	return min(d, maxIdle)
}

// wait blocks until the pause owed after the latest task has passed.
func (p *Pacer) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		until := p.lastEnd.Add(idle(p.lastTook, p.share))
		changed := p.changed
		p.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			return nil
		case <-changed:
			t.Stop() // the share changed: recompute the pause
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

func (p *Pacer) record(start, end time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first.IsZero() {
		p.first = start
	}
	p.lastEnd, p.lastTook = end, end.Sub(start)
	p.busy += end.Sub(start)
	p.spans = append(p.spans, span{start, end})
	p.trim(end)
}

// trim drops spans that ended before the window ending at now.
func (p *Pacer) trim(now time.Time) {
	from := now.Add(-dutyWindow)
	i := 0
	for i < len(p.spans) && p.spans[i].end.Before(from) {
		i++
	}
	p.spans = append(p.spans[:0], p.spans[i:]...)
}

// DutyCycle returns the share of the last ten seconds (or of the time since
// the first task, if shorter) that the device spent on tasks: what the
// throttle achieves, as opposed to what it was set to.
func (p *Pacer) DutyCycle() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first.IsZero() {
		return 0
	}
	now := time.Now()
	p.trim(now)
	from := later(now.Add(-dutyWindow), p.first)
	wall := now.Sub(from)
	if wall <= 0 {
		return 0
	}
	var busy time.Duration
	for _, s := range p.spans {
		busy += s.end.Sub(later(s.start, from))
	}
	return min(1, float64(busy)/float64(wall))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Busy returns the time the device has spent on tasks since NewPacer, the
// pauses between them left out. Two readings over an interval give the
// duty cycle of exactly that interval, where DutyCycle looks back a fixed
// ten seconds.
func (p *Pacer) Busy() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy
}

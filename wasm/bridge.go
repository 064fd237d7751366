//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall/js"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/wasm/throttle"
)

// agent names the browser client in the hub's status.
const agent = "tessera-browser/0.1"

// Bridge states that the client has no word for.
const (
	stateStarting = "starting" // opening the device and loading the key
	stateFailed   = "failed"   // stopped by an error that reconnecting cannot fix
)

// bridge is the state behind globalThis.tessera: at most one contribution
// run at a time, what the last one reported after it ended, and the
// page's throttle and pause, which outlive runs.
type bridge struct {
	mu     sync.Mutex
	cur    *run     // the current or last run; nil before the first start
	share  float64  // the share of time the device may compute, (0, 1]
	paused bool     // the page asked to take no new tasks
	jobs   []string // the jobs to work for; nil: every job
}

// jobsOf reads a JavaScript array of job IDs or names (undefined or null
// meaning every job) and checks it as the client would.
func jobsOf(v js.Value) ([]string, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	if !js.Global().Get("Array").Call("isArray", v).Bool() {
		return nil, errors.New("jobs must be an array of job IDs or names (empty: every job)")
	}
	jobs := make([]string, v.Length())
	for i := range jobs {
		e := v.Index(i)
		if e.Type() != js.TypeString {
			return nil, fmt.Errorf("jobs[%d] is a %s, not a job ID or name", i, e.Type())
		}
		jobs[i] = e.String()
	}
	return client.CheckJobs(jobs)
}

// run is one start..stop cycle.
type run struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the run has fully stopped

	// Set while starting, read under bridge.mu.
	client   *client.Client
	pacer    *throttle.Pacer // the device, paced by the throttle
	gate     *throttle.Gate  // pauses taking tasks
	device   device.Info
	fallback string // why the CPU runs instead of WebGPU, or ""
	keyNote  string // a problem with key storage, or ""
	started  time.Time
	stopped  time.Time // zero while running
	err      string    // why the run failed, or ""
	starting bool
}

func newBridge() *bridge { return &bridge{share: 1} }

// object returns the JavaScript object exposed as globalThis.tessera. Its
// functions only read arguments and create promises: everything that can
// block runs on goroutines.
func (b *bridge) object() js.Value {
	obj := js.Global().Get("Object").New()
	// These functions live as long as the page: they are never released.
	obj.Set("start", js.FuncOf(func(_ js.Value, args []js.Value) any {
		opts, err := parseOptions(args)
		if err != nil {
			return promise(func() (any, error) { return nil, err })
		}
		return promise(func() (any, error) { return b.start(opts) })
	}))
	obj.Set("stop", js.FuncOf(func(js.Value, []js.Value) any {
		return promise(b.stop)
	}))
	obj.Set("stats", js.FuncOf(func(js.Value, []js.Value) any {
		return promise(func() (any, error) { return b.stats(), nil })
	}))
	obj.Set("setThrottle", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].Type() != js.TypeNumber {
			return promise(func() (any, error) {
				return nil, errors.New("setThrottle needs the share of time the device may compute, above 0 and at most 1")
			})
		}
		share := args[0].Float()
		return promise(func() (any, error) { return b.setThrottle(share) })
	}))
	obj.Set("setPaused", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].Type() != js.TypeBoolean {
			return promise(func() (any, error) { return nil, errors.New("setPaused needs true or false") })
		}
		paused := args[0].Bool()
		return promise(func() (any, error) { return b.setPaused(paused) })
	}))
	obj.Set("setJobs", js.FuncOf(func(_ js.Value, args []js.Value) any {
		var arg js.Value
		if len(args) > 0 {
			arg = args[0]
		}
		jobs, err := jobsOf(arg)
		return promise(func() (any, error) {
			if err != nil {
				return nil, err
			}
			return b.setJobs(jobs)
		})
	}))
	obj.Set("identity", js.FuncOf(func(js.Value, []js.Value) any {
		return promise(identityInfo)
	}))
	obj.Set("exportKey", js.FuncOf(func(js.Value, []js.Value) any {
		return promise(exportKey)
	}))
	obj.Set("importKey", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].Type() != js.TypeString {
			return promise(func() (any, error) { return nil, errors.New("importKey needs the key as a hex string") })
		}
		hexKey := args[0].String()
		return promise(func() (any, error) { return b.importKey(hexKey) })
	}))
	obj.Set("keyName", keyName)
	return obj
}

// setThrottle sets the share of time the device may compute, for this run
// and the next ones.
func (b *bridge) setThrottle(share float64) (any, error) {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if r != nil && r.pacer != nil {
		if err := r.pacer.SetShare(share); err != nil {
			return nil, err
		}
	} else if _, err := throttle.NewPacer(device.CPU{}, share); err != nil {
		return nil, err // the same check as SetShare's
	}
	b.mu.Lock()
	b.share = share
	b.mu.Unlock()
	return b.stats(), nil
}

// setPaused stops or resumes taking new tasks; tasks already held are
// finished and sent.
func (b *bridge) setPaused(paused bool) (any, error) {
	b.mu.Lock()
	b.paused = paused
	var g *throttle.Gate
	if b.cur != nil {
		g = b.cur.gate
	}
	b.mu.Unlock()
	if g != nil {
		if err := g.SetPaused(paused); err != nil {
			slog.Warn("pause", "paused", paused, "err", err)
		}
	}
	return b.stats(), nil
}

// setJobs sets the jobs to work for (nil: every job), for this run (the
// client tells the hub without reconnecting) and the next ones.
func (b *bridge) setJobs(jobs []string) (any, error) {
	b.mu.Lock()
	b.jobs = jobs
	var c *client.Client
	if b.cur != nil && b.cur.stopped.IsZero() {
		c = b.cur.client
	}
	b.mu.Unlock()
	if c != nil {
		if err := c.SetJobs(jobs); err != nil {
			return nil, err
		}
	}
	return b.stats(), nil
}

// identityInfo returns the contributor's address, creating the key on
// first use, and whether the key is kept across visits.
func identityInfo() (any, error) {
	key, persistent, note, err := loadKey()
	if err != nil {
		return nil, err
	}
	return js.ValueOf(map[string]any{"address": key.Address().Hex(), "persistent": persistent, "keyNote": note}), nil
}

// exportKey returns the contributor key in hex, for the owner to back up.
func exportKey() (any, error) {
	key, _, _, err := loadKey()
	if err != nil {
		return nil, err
	}
	return js.ValueOf(map[string]any{"key": key.Hex(), "address": key.Address().Hex()}), nil
}

// importKey replaces the contributor key; not while contributing, since
// the running client signs with the key it started with.
func (b *bridge) importKey(hexKey string) (any, error) {
	b.mu.Lock()
	running := b.cur != nil && b.cur.stopped.IsZero()
	b.mu.Unlock()
	if running {
		return nil, errors.New("stop contributing before importing a key")
	}
	key, err := importKey(hexKey)
	if err != nil {
		return nil, err
	}
	return js.ValueOf(map[string]any{"address": key.Address().Hex()}), nil
}

// options are start's arguments.
type options struct {
	hub     string
	slots   int
	backend string
	jobs    []string // nil: the choice setJobs made, or every job
	hasJobs bool     // the options named jobs
}

// parseOptions reads start's argument object.
func parseOptions(args []js.Value) (options, error) {
	o := options{slots: client.DefaultConfig().Slots, backend: backendAuto}
	if len(args) == 0 || args[0].Type() != js.TypeObject {
		return o, errors.New("start needs an options object: {hub, slots, backend, jobs}")
	}
	a := args[0]
	if v := a.Get("hub"); v.Type() == js.TypeString {
		o.hub = v.String()
	}
	if o.hub == "" {
		return o, errors.New("start: hub (the websocket URL, e.g. wss://example.org/ws) is required")
	}
	if v := a.Get("slots"); v.Type() == js.TypeNumber && v.Int() > 0 {
		o.slots = v.Int()
	}
	if v := a.Get("backend"); v.Type() == js.TypeString && v.String() != "" {
		o.backend = v.String()
	}
	if v := a.Get("jobs"); !v.IsUndefined() {
		jobs, err := jobsOf(v)
		if err != nil {
			return o, fmt.Errorf("start: %w", err)
		}
		o.jobs, o.hasJobs = jobs, true
	}
	return o, nil
}

// start opens the device, loads the key and runs the client until stop.
// It resolves once the client runs (not once it is connected: the client
// reconnects by itself and stats tells how it is doing).
func (b *bridge) start(o options) (any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{cancel: cancel, done: make(chan struct{}), started: time.Now(), starting: true}
	b.mu.Lock()
	if b.cur != nil && b.cur.stopped.IsZero() {
		b.mu.Unlock()
		cancel()
		return nil, errors.New("already contributing: stop first")
	}
	b.cur = r
	b.mu.Unlock()

	c, dev, err := b.prepare(ctx, r, o)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("stopped before contributing began")
			b.finish(r, nil) // stopped on request: not a failure
		} else {
			b.finish(r, err)
		}
		cancel()
		return nil, err
	}
	go func() {
		err := c.Run(ctx)
		cancel()
		dev.Close()
		b.finish(r, err)
	}()
	return b.stats(), nil
}

// prepare opens the device and the key and creates the client.
func (b *bridge) prepare(ctx context.Context, r *run, o options) (*client.Client, device.Device, error) {
	dev, fallback, err := openDevice(ctx, o.backend)
	if err != nil {
		return nil, nil, fmt.Errorf("open device: %w", err)
	}
	if ctx.Err() != nil {
		dev.Close()
		return nil, nil, errors.New("stopped before the device was ready")
	}
	key, _, keyNote, err := loadKey()
	if err != nil {
		dev.Close()
		return nil, nil, fmt.Errorf("load key: %w", err)
	}
	// The throttle and the pause are read and attached under one lock, so
	// that a change made while starting is not lost.
	b.mu.Lock()
	pacer, err := throttle.NewPacer(dev, b.share)
	var gate *throttle.Gate
	if err == nil {
		gate, err = throttle.NewGate(o.slots, b.paused)
	}
	var c *client.Client
	if err == nil {
		cfg := client.DefaultConfig()
		if o.hasJobs {
			b.jobs = o.jobs
		}
		cfg.HubURL, cfg.Key, cfg.Device, cfg.Slots, cfg.Agent = o.hub, key, pacer, o.slots, agent
		cfg.Jobs = b.jobs
		cfg.Dial = gate.Dial(client.Dial)
		cfg.Logger = slog.Default().With("hub", o.hub)
		c, err = client.New(cfg)
	}
	if err != nil {
		b.mu.Unlock()
		dev.Close()
		return nil, nil, err
	}
	r.client, r.pacer, r.gate, r.device, r.fallback, r.keyNote, r.starting = c, pacer, gate, dev.Info(), fallback, keyNote, false
	b.mu.Unlock()
	slog.Info("contributing", "hub", o.hub, "backend", r.device.Backend, "adapter", r.device.Adapter,
		"variant", r.device.Variant, "address", key.Address().Hex(), "fallback", fallback, "jobs", c.Stats().Jobs)
	return c, dev, nil
}

// finish records the end of r.
func (b *bridge) finish(r *run, err error) {
	b.mu.Lock()
	r.stopped, r.starting = time.Now(), false
	if err != nil {
		r.err = err.Error()
	}
	b.mu.Unlock()
	close(r.done)
}

// stop cancels the current run and waits until it has ended.
func (b *bridge) stop() (any, error) {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
	return b.stats(), nil
}

// stats returns the progress of the current or last run as a plain
// JavaScript object:
//
//	state        "stopped", "starting", "connecting", "working",
//	             "waiting to reconnect" or "failed"
//	running      whether a run is in progress
//	connected    whether the hub connection is up
//	address      the contributor's Ethereum address
//	backend      "webgpu" or "cpu"; adapter, adapterType, variant describe it
//	fallback     why the CPU runs instead of WebGPU, or ""
//	keyNote      a problem with storing the key, or ""
//	tasksDone    results sent; accepted and refused count the hub's verdicts
//	gflops       GFLOP/s over the run's wall time; deviceGflops over busy time
//	tasksPerSec  results per second over the run's wall time
//	seconds      the run's wall time
//	lastError    the latest connection or device error, or ""
//	lastRefusal  the hub's reason for the latest refused result, or ""
//	throttle     the share of time the device may compute, (0, 1]
//	dutyCycle    the share of the last 10 s it did compute
//	deviceSeconds the device's time on tasks in this run, pauses left out
//	paused       whether the page paused taking new tasks
//	jobs         the jobs chosen (an empty array: every job)
//	jobsUnknown  chosen names the hub knows no job by; hubJobs its jobs
//	jobsNote     a sentence about unknown names, or ""
func (b *bridge) stats() any {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.cur
	if r == nil {
		return js.ValueOf(map[string]any{"state": string(client.StateStopped), "running": false,
			"throttle": b.share, "paused": b.paused, "jobs": anyList(b.jobs)})
	}
	m := map[string]any{
		"running":  r.stopped.IsZero(),
		"fallback": r.fallback,
		"keyNote":  r.keyNote,
		"throttle": b.share,
		"paused":   b.paused,
	}
	if r.pacer != nil {
		m["dutyCycle"] = r.pacer.DutyCycle()
		m["deviceSeconds"] = r.pacer.Busy().Seconds()
	}
	end := r.stopped
	if end.IsZero() {
		end = time.Now()
	}
	var s client.Stats
	if r.client != nil {
		s = r.client.Stats()
	}
	var state string
	switch {
	case r.starting:
		state = stateStarting
	case !r.stopped.IsZero() && r.err != "":
		state = stateFailed
	case !r.stopped.IsZero():
		state = string(client.StateStopped)
	default:
		state = string(s.State)
	}
	m["state"] = state
	m["connected"] = s.Connected
	m["address"] = s.Address
	m["backend"] = r.device.Backend
	m["adapter"] = r.device.Adapter
	m["adapterType"] = r.device.AdapterType
	m["variant"] = r.device.Variant
	m["tasksDone"] = s.TasksDone
	m["accepted"] = s.Accepted
	m["refused"] = s.Refused
	secs := end.Sub(r.started).Seconds()
	m["seconds"] = secs
	m["gflops"], m["tasksPerSec"], m["deviceGflops"] = 0.0, 0.0, 0.0
	if secs > 0 {
		m["gflops"] = s.FLOPs / secs / 1e9
		m["tasksPerSec"] = float64(s.TasksDone) / secs
	}
	if busy := s.Busy.Seconds(); busy > 0 {
		m["deviceGflops"] = s.FLOPs / busy / 1e9
	}
	lastErr := s.LastError
	if r.err != "" {
		lastErr = r.err
	}
	m["lastError"] = lastErr
	m["lastRefusal"] = s.LastRefusal
	m["jobs"] = anyList(b.jobs)
	m["jobsUnknown"] = anyList(s.JobsUnknown)
	m["hubJobs"] = anyList(s.HubJobs)
	m["jobsNote"] = s.JobsNote
	return js.ValueOf(m)
}

// anyList converts a list for js.ValueOf, which takes []any, not []string.
func anyList(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

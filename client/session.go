package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// work is one task's buffers, reused across tasks: the decoded task, its
// output and its encoded result frame.
type work struct {
	task  protocol.Task
	c     []float32
	out   []float32 // a resident update's result, which replaces c
	frame []byte
}

// session runs one connection: handshake, then tasks until an error.
func (c *Client) session(ctx context.Context) error {
	conn, err := c.cfg.Dial(ctx, c.cfg.HubURL)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Closing the connection is what unblocks a pending read.
	stop := context.AfterFunc(sctx, func() { conn.Close() })
	defer stop()

	select {
	case <-c.chooseJobs: // the hello carries the current choice
	default:
	}
	welcome, err := c.handshake(conn)
	if err != nil {
		conn.Close()
		return err
	}
	var cache *protocol.OperandCache // what the hub has us keep, for this connection
	if welcome.CacheMiB > 0 {
		if int(welcome.CacheMiB) > c.cfg.CacheMiB {
			conn.Close()
			return protocol.Errorf(protocol.CodeBadMessage, "the hub would use a %d MiB operand cache; this client offered %d", welcome.CacheMiB, c.cfg.CacheMiB)
		}
		cache = protocol.NewOperandCache(int64(welcome.CacheMiB) << 20)
	}
	c.log.Info("connected to hub", "hub", c.cfg.HubURL, "address", c.stats.Address,
		"lease", time.Duration(welcome.LeaseMillis)*time.Millisecond)
	c.update(func(s *Stats) { s.State, s.Connected, s.LastError, s.Held = StateWorking, true, "", 0 })
	ls := newLeases(func(held int) { c.update(func(s *Stats) { s.Held = held }) })

	slots := c.cfg.Slots
	free := make(chan *work, slots)
	for range slots {
		free <- new(work)
	}
	tasks := make(chan *work, slots)
	results := make(chan *work, slots)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err })
		cancel()
	}
	wg.Add(3)
	go func() { defer wg.Done(); c.execute(sctx, tasks, results, fail) }()
	go func() { defer wg.Done(); c.write(sctx, conn, ls, results, free, fail) }()
	go func() { defer wg.Done(); c.watchDrain(sctx, ls, fail) }()
	c.read(sctx, conn, ls, cache, tasks, free, fail)
	cancel()
	wg.Wait()
	if firstErr == nil {
		firstErr = errors.New("connection closed")
	}
	return firstErr
}

// handshake answers the hub's challenge and waits for its welcome.
func (c *Client) handshake(conn Conn) (*protocol.Welcome, error) {
	frame, err := conn.ReadFrame(nil)
	if err != nil {
		return nil, fmt.Errorf("read challenge: %w", err)
	}
	m, err := protocol.Decode(frame)
	if err != nil {
		return nil, fmt.Errorf("read challenge: %w", err)
	}
	ch, ok := m.(*protocol.Challenge)
	if !ok {
		return nil, unexpected("challenge", m)
	}
	sig, err := c.cfg.Key.Sign(protocol.LoginText(ch.Hub, c.host, ch.Nonce))
	if err != nil {
		return nil, err
	}
	info := c.cfg.Device.Info()
	hello := &protocol.Hello{
		Nonce:     ch.Nonce,
		Address:   c.cfg.Key.Address(),
		Signature: sig,
		Slots:     uint16(c.cfg.Slots),
		Agent:     c.cfg.Agent,
		Device:    protocol.DeviceInfo{Backend: info.Backend, Adapter: info.Adapter, AdapterType: info.AdapterType, Variant: info.Variant},
		Kernels:   c.cfg.Kernels,
		CacheMiB:  uint16(c.cfg.CacheMiB),
		Jobs:      c.jobs(),
	}
	if err := conn.WriteFrame(protocol.Encode(nil, hello)); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	frame, err = conn.ReadFrame(frame)
	if err != nil {
		return nil, fmt.Errorf("read welcome: %w", err)
	}
	if m, err = protocol.Decode(frame); err != nil {
		return nil, fmt.Errorf("read welcome: %w", err)
	}
	w, ok := m.(*protocol.Welcome)
	if !ok {
		return nil, unexpected("welcome", m)
	}
	return w, nil
}

// unexpected turns a message that arrived out of turn into an error; an
// ErrorMsg from the hub becomes its *protocol.Error.
func unexpected(want string, m protocol.Message) error {
	if e, ok := m.(*protocol.ErrorMsg); ok {
		return e.Err()
	}
	return protocol.Errorf(protocol.CodeOrder, "hub sent %v, expected %s", m.Kind(), want)
}

// read receives tasks and verdicts until the connection fails. Tasks'
// operands are resolved against cache in the order the hub sent them.
func (c *Client) read(ctx context.Context, conn Conn, ls *leases, cache *protocol.OperandCache, tasks chan<- *work, free chan *work, fail func(error)) {
	var buf []byte
	for {
		frame, err := conn.ReadFrame(buf)
		if err != nil {
			fail(fmt.Errorf("read from hub: %w", err))
			return
		}
		buf = frame
		kind, err := protocol.PeekKind(frame)
		if err != nil {
			fail(fmt.Errorf("read from hub: %w", err))
			return
		}
		switch kind {
		case protocol.KindTask:
			var w *work
			select {
			case w = <-free:
			case <-ctx.Done():
				return
			}
			if err := protocol.DecodeInto(frame, &w.task); err != nil {
				fail(fmt.Errorf("decode task: %w", err))
				return
			}
			if err := cache.Resolve(&w.task); err != nil {
				fail(fmt.Errorf("task operands: %w", err))
				return
			}
			ls.received(w.task.ID, w.task.Shape.FLOPs())
			tasks <- w // never blocks: at most slots works exist
		case protocol.KindKeep:
			// Decoded into new memory every time: the cache keeps it.
			var m protocol.Keep
			if err := protocol.DecodeInto(frame, &m); err != nil {
				fail(fmt.Errorf("decode kept matrix: %w", err))
				return
			}
			if err := cache.Install(&m); err != nil {
				fail(fmt.Errorf("kept matrix: %w", err))
				return
			}
		case protocol.KindModule:
			var m protocol.Module
			if err := protocol.DecodeInto(frame, &m); err != nil {
				fail(fmt.Errorf("decode module: %w", err))
				return
			}
			if err := c.mods.add(ctx, &m, c.builtin); err != nil {
				fail(err)
				return
			}
			c.log.Info("kernel module received", "hash", fmt.Sprintf("%x", m.Hash[:6]), "ops", m.Ops)
		case protocol.KindVerdict:
			var v protocol.Verdict
			if err := protocol.DecodeInto(frame, &v); err != nil {
				fail(fmt.Errorf("decode verdict: %w", err))
				return
			}
			c.verdict(&v, ls.verdict(v.TaskID))
		case protocol.KindChosen:
			var m protocol.Chosen
			if err := protocol.DecodeInto(frame, &m); err != nil {
				fail(fmt.Errorf("decode chosen jobs: %w", err))
				return
			}
			c.chosen(&m)
		case protocol.KindError:
			m, err := protocol.Decode(frame)
			if err != nil {
				fail(fmt.Errorf("decode error: %w", err))
				return
			}
			fail(m.(*protocol.ErrorMsg).Err())
			return
		default:
			fail(protocol.Errorf(protocol.CodeOrder, "hub sent an unexpected %v message", kind))
			return
		}
	}
}

// verdict counts the hub's verdict on a result of flops FLOPs.
func (c *Client) verdict(v *protocol.Verdict, flops float64) {
	if v.Accepted {
		c.update(func(s *Stats) { s.Accepted++; s.AcceptedFLOPs += flops })
		return
	}
	reason := fmt.Sprintf("task %d refused: %v: %s", v.TaskID, v.Code, v.Message)
	c.log.Warn("result refused by hub", "task", v.TaskID, "code", v.Code, "reason", v.Message)
	c.update(func(s *Stats) { s.Refused++; s.LastRefusal = reason })
}

// execute runs tasks on the device one at a time, in arrival order.
func (c *Client) execute(ctx context.Context, tasks <-chan *work, results chan<- *work, fail func(error)) {
	for {
		var w *work
		select {
		case w = <-tasks:
		case <-ctx.Done():
			return
		}
		t := &w.task
		n := t.Shape.CLen()
		if cap(w.c) < n {
			w.c = make([]float32, n)
		}
		w.c = w.c[:n]
		start := time.Now()
		run, where := c.cfg.Device.Run, c.cfg.Device.Info().Backend
		sandboxed := false
		if m := c.mods.runner(t.Op); m != nil && !c.builtin[t.Op] {
			run, where, sandboxed = m.MatMul, "the module sandbox", true
		}
		if err := run(ctx, t.Op, t.Shape, t.A, t.B, w.c); err != nil {
			fail(fmt.Errorf("run task %d (%v %v) on %s: %w", t.ID, t.Op, t.Shape, where, err))
			return
		}
		out := w.c
		if t.Resident.Mode != protocol.ResidentNone {
			var err error
			if out, err = w.applyResident(); err != nil {
				fail(fmt.Errorf("task %d: %w", t.ID, err))
				return
			}
		}
		took := time.Since(start)
		batch, rows, cols := t.ResultDims()
		res := protocol.Result{TaskID: t.ID, Micros: uint32(min(took.Microseconds(), 1<<32-1)),
			Batch: uint32(batch), Rows: uint32(rows), Cols: uint32(cols), C: out}
		w.frame = protocol.Encode(w.frame[:0], &res)
		flops := t.Shape.FLOPs()
		c.update(func(s *Stats) {
			s.TasksDone++
			s.FLOPs += flops
			s.Busy += took
			if sandboxed {
				s.Sandboxed++
			}
		})
		results <- w // never blocks: at most slots works exist
	}
}

// write sends results and recycles their buffers. When the client starts
// draining it tells the hub, in order with the results, that it takes no
// more tasks.
func (c *Client) write(ctx context.Context, conn Conn, ls *leases, results <-chan *work, free chan<- *work, fail func(error)) {
	drain := c.drain
	for {
		select {
		case <-drain:
			drain = nil
			if err := conn.WriteFrame(protocol.Encode(nil, &protocol.Capacity{Slots: 0})); err != nil {
				fail(fmt.Errorf("send capacity: %w", err))
				return
			}
			ls.capacityZero(time.Now())
			c.update(func(s *Stats) { s.State = StateDraining })
			c.log.Info("draining: the hub leases nothing more; finishing the tasks held", "held", c.Stats().Held)
		case <-c.chooseJobs:
			if err := conn.WriteFrame(protocol.Encode(nil, &protocol.Choose{Jobs: c.jobs()})); err != nil {
				fail(fmt.Errorf("send the choice of jobs: %w", err))
				return
			}
		case w := <-results:
			ls.sending(w.task.ID)
			if err := conn.WriteFrame(w.frame); err != nil {
				fail(fmt.Errorf("send result: %w", err))
				return
			}
			free <- w
		case <-ctx.Done():
			return
		}
	}
}

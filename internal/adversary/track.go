package adversary

import (
	"context"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// tracker follows one contributor's results from its device to the hub's
// verdicts. The device reports each output (ran); the connection wrapper
// reports the result frames sent (sent) and the verdicts received
// (verdict). A client executes tasks one at a time and sends the results
// in that order, so outputs and frames match in order; the fingerprint
// skips outputs whose connection dropped before they were sent.
type tracker struct {
	mu      sync.Mutex
	outputs []output           // run but not yet seen on the wire
	byID    map[uint64]*result // by wire task ID, for verdicts
	order   []*result          // in the order sent
	stop    time.Time          // when the client's Run returned an error (banned)
	err     error              // what client.Run returned
}

// output is one device run.
type output struct {
	sum uint64
	bad bool
	at  time.Time
}

// result is one result frame sent and what became of it.
type result struct {
	id   uint64
	bad  bool
	ran  time.Time // when the device produced it
	sent time.Time
	// first is the verdict judging the result; later ones (a replica's
	// disagreement) are in rejectedAt.
	first      *verdict
	rejectedAt time.Time
	// key, state and how are filled from the credit log afterwards.
	key   string
	state creditState
	how   string
}

type verdict struct {
	code protocol.Code
	msg  string
	at   time.Time
}

func newTracker() *tracker {
	return &tracker{byID: map[uint64]*result{}}
}

func (t *tracker) ran(c []float32, bad bool) {
	o := output{sum: fingerprint(c), bad: bad, at: time.Now()}
	t.mu.Lock()
	t.outputs = append(t.outputs, o)
	t.mu.Unlock()
}

func (t *tracker) sent(id uint64, c []float32) {
	sum := fingerprint(c)
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &result{id: id, sent: now, ran: now}
	for i, o := range t.outputs {
		if o.sum == sum {
			r.bad, r.ran = o.bad, o.at
			t.outputs = t.outputs[i+1:]
			break
		}
	}
	t.byID[id] = r // before the frame is written: no verdict can overtake it
	t.order = append(t.order, r)
}

func (t *tracker) verdict(v *protocol.Verdict) {
	vd := verdict{code: v.Code, msg: v.Message, at: time.Now()}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.byID[v.TaskID]
	switch {
	case r == nil:
	case r.first == nil:
		r.first = &vd
	case vd.code != protocol.CodeOK && r.rejectedAt.IsZero():
		r.rejectedAt = vd.at
	}
}

// stopped records how the client's Run ended.
func (t *tracker) stopped(err error) {
	t.mu.Lock()
	t.err = err
	if err != nil {
		t.stop = time.Now()
	}
	t.mu.Unlock()
}

// settled reports whether every result sent has its first verdict.
func (t *tracker) settled() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.order {
		if r.first == nil {
			return false
		}
	}
	return true
}

// trackedDial wraps client.Dial so that t sees the results and verdicts.
func trackedDial(t *tracker) client.DialFunc {
	return func(ctx context.Context, url string) (client.Conn, error) {
		c, err := client.Dial(ctx, url)
		if err != nil {
			return nil, err
		}
		return &trackedConn{Conn: c, t: t}, nil
	}
}

// trackedConn reports result frames and verdicts to its tracker.
type trackedConn struct {
	client.Conn
	t   *tracker
	res protocol.Result // reused by WriteFrame, which one goroutine calls
}

func (c *trackedConn) ReadFrame(buf []byte) ([]byte, error) {
	frame, err := c.Conn.ReadFrame(buf)
	if err == nil {
		if k, _ := protocol.PeekKind(frame); k == protocol.KindVerdict {
			var v protocol.Verdict
			if protocol.DecodeInto(frame, &v) == nil {
				c.t.verdict(&v)
			}
		}
	}
	return frame, err
}

func (c *trackedConn) WriteFrame(frame []byte) error {
	if k, _ := protocol.PeekKind(frame); k == protocol.KindResult {
		if protocol.DecodeInto(frame, &c.res) == nil {
			c.t.sent(c.res.TaskID, c.res.C)
		}
	}
	return c.Conn.WriteFrame(frame)
}

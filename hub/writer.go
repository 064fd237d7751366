package hub

import (
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// The session's writing side: the send queue, the one writer goroutine,
// and closing a connection with a last word to the peer.

// sendTask hands a leased task to the writer without blocking. It reports
// false, and drops the peer, when the peer is not keeping up.
func (s *session) sendTask(l *lease) bool {
	return s.queue(outFrame{lease: l})
}

func (s *session) queue(f outFrame) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.send <- f:
		return true
	default:
		s.h.log.Warn("dropping slow contributor", "address", s.who.address, "remote", s.remote)
		s.closeWith(protocol.Errorf(protocol.CodeSlowPeer, "too many frames waiting for you; reconnect"))
		return false
	}
}

// writeLoop is the session's only writer after the handshake.
func (s *session) writeLoop() {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	var buf []byte
	var msg protocol.Task
	var a2, b2 []float32 // blinded operands, reused
	// flush fires verdictDelay after a lazy frame was left unflushed.
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	defer flush.Stop()
	pending := false // lazy frames wait in the buffer, flush is set
	eager := false   // a frame that is not lazy waits in the buffer
	// emit writes one frame, and flushes unless more frames wait or only
	// lazy ones were written.
	emit := func(f outFrame) error {
		frame := f.frame
		if l := f.lease; l != nil {
			t := l.task
			msg = protocol.Task{ID: t.ID, Op: t.Op, Shape: t.Shape, LeaseMillis: s.lease, A: t.A, B: t.B, Drop: msg.Drop[:0], Wire: t.Wire}
			var ids keptIDs
			if t.Kept != nil {
				var keeps []*protocol.Keep
				var ok bool
				if ids, keeps, ok = s.kept.install(t.Kept); !ok {
					s.h.sched.unsendable(s, l)
					return nil
				}
				for _, k := range keeps {
					buf = protocol.Encode(buf[:0], k)
					s.h.wire.sent(t.Job, len(buf))
					s.conn.SetWriteDeadline(time.Now().Add(writeWait))
					if err := s.conn.WriteMessage(websocket.BinaryMessage, buf); err != nil {
						return err
					}
				}
			}
			var bl *verify.Blinding
			bl, a2, b2 = s.kept.plan(&msg, t, l.blinded, a2, b2)
			l.blind.Store(bl) // before the frame goes: the result comes after it
			if t.Kept != nil {
				if t.Update.Mode == protocol.ResidentNone {
					msg.B, msg.BCache = nil, protocol.Cached{Ref: ids.w}
				} else {
					msg.Resident = t.Update
					msg.Resident.W, msg.Resident.V = ids.w, ids.v
				}
			}
			buf = protocol.Encode(buf[:0], &msg)
			frame = buf
			s.h.wire.sent(t.Job, len(frame))
		}
		s.conn.SetWriteDeadline(time.Now().Add(writeWait))
		if err := s.conn.WriteMessage(websocket.BinaryMessage, frame); err != nil {
			return err
		}
		eager = eager || !f.lazy
		switch {
		case len(s.send) > 0 || len(s.verdicts) > 0: // batch while more frames wait
		case eager:
			eager, pending = false, false
			return s.out.Flush()
		case !pending: // only lazy frames wait: hold them a little
			pending = true
			flush.Reset(verdictDelay)
		}
		return nil
	}
	for {
		var err error
		select {
		case f := <-s.send:
			err = emit(f)
		case f := <-s.verdicts:
			// Whatever the send queue held when this verdict was made
			// goes first: a task leased before the result was read must
			// reach the contributor before the result's verdict (the
			// drain fence, client/drain.go). Only this loop takes from
			// send, so what it holds now includes all of that.
			for n := len(s.send); n > 0 && err == nil; n-- {
				err = emit(<-s.send)
			}
			if err == nil {
				err = emit(f)
			}
		case <-flush.C:
			if pending {
				pending = false
				s.conn.SetWriteDeadline(time.Now().Add(writeWait))
				err = s.out.Flush()
			}
		case <-ping.C:
			err = s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
			if err == nil {
				err = s.out.Flush()
				eager, pending = false, false
			}
		case <-s.done:
			s.sayGoodbye()
			return
		}
		if err != nil {
			s.closeWith(nil)
			return
		}
	}
}

// writeNow writes one message directly; only for use before writeLoop runs.
func (s *session) writeNow(m protocol.Message) bool {
	s.conn.SetWriteDeadline(time.Now().Add(writeWait))
	return s.conn.WriteMessage(websocket.BinaryMessage, protocol.Encode(nil, m)) == nil && s.out.Flush() == nil
}

// closeWith ends the session; perr, if not nil, is sent to the peer first.
// It is safe to call from any goroutine, any number of times.
func (s *session) closeWith(perr *protocol.Error) {
	s.closeOnce.Do(func() {
		s.closeErr = perr
		close(s.done)
		if !s.writing.Load() {
			// No writer goroutine yet: unblock the handshake read directly.
			s.conn.Close()
		}
	})
}

// sayGoodbye sends the closing error, if any, and closes the socket, which
// ends the reader.
func (s *session) sayGoodbye() {
	if e := s.closeErr; e != nil {
		// Verdicts already queued go first: they explain the error.
		s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	drain:
		for {
			select {
			case f := <-s.send:
				if f.frame != nil {
					s.conn.WriteMessage(websocket.BinaryMessage, f.frame)
				}
			default:
				break drain
			}
		}
		s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		s.conn.WriteMessage(websocket.BinaryMessage, protocol.Encode(nil, &protocol.ErrorMsg{Code: e.Code, Message: e.Message}))
		s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, truncate(e.Message, 100)), time.Now().Add(time.Second))
	}
	s.out.Flush()
	s.conn.Close()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

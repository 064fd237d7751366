package hub

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gorilla/websocket"

	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Connection timing. pingPeriod must be less than pongWait: the hub pings
// an idle peer well before it gives up on hearing from it.
const (
	writeWait     = 10 * time.Second // one frame to the peer
	pongWait      = 60 * time.Second // silence before the peer is dropped
	pingPeriod    = pongWait / 3
	handshakeWait = 15 * time.Second // from upgrade to a valid Hello
)

// sendQueue bounds frames waiting for a peer beyond its slots (verdicts,
// errors). A peer that lets it fill is too slow and is dropped.
const sendQueue = 32

var shutdownErr = protocol.Errorf(protocol.CodeShutdown, "the hub is shutting down; reconnect later")

// outFrame is either a leased task to encode or an already encoded frame.
type outFrame struct {
	lease *lease
	frame []byte
	// lazy marks an accepted result's verdict: nothing waits on it, so it
	// need not leave at once. The writer leaves it in the buffer for the
	// next frame's flush, or verdictDelay at most.
	lazy bool
}

// verdictDelay is the longest an accepted verdict waits in the write
// buffer for another frame to share its flush. Verdicts are a third of a
// contributor's frames; sent alone, each costs the hub a write and the
// contributor a wake-up and a read, for 30 bytes nobody waits on. Held
// back, in the order queued, they go with the next task.
const verdictDelay = 25 * time.Millisecond

// session is one contributor connection. The handler goroutine is its
// reader; writeLoop is its only writer.
type session struct {
	h      *Hub
	conn   *websocket.Conn
	out    *bufConn // conn's buffered network side; flush after writing
	hosts  []string // the host names a login signature may name (LoginText)
	remote string   // the peer's IP as limits see it
	quota  *ipState // its IP's connection count and message budget
	send   chan outFrame
	// waiting holds accepted verdicts whose credit is not yet durable, in
	// the order accepted; pumpVerdicts sends each once it is.
	waiting  chan waitingVerdict
	verdicts chan outFrame // from pumpVerdicts to the writer, apart from send's room
	done     chan struct{}
	kept     *opCache // operands the contributor keeps (limit 0 if it offered no cache); plans every task frame. The write loop's alone.
	// trusted marks the operator's own worker (Config.Trusted): exempt
	// from replication, hence from blinding, whose purpose is to keep
	// two replica holders from copying each other.
	trusted bool

	closeOnce sync.Once
	closeErr  *protocol.Error // sent to the peer before closing, if any

	who     *contributor       // set once the handshake succeeds
	ops     map[kernel.Op]bool // the ops it runs, natively or by a shipped module; fixed after the handshake
	writing atomic.Bool        // writeLoop has started and owns closing the socket
	lease   uint32             // lease in milliseconds, sent with each task
	id      uint64             // names the session to the operator (hub/admin.go)
	since   time.Time          // when it connected
}

func (h *Hub) serveWS(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, "hub is shutting down", http.StatusServiceUnavailable)
		return
	}
	if lerr := h.limits.checkOrigin(r); lerr != nil {
		lerr.write(w)
		return
	}
	ip := h.limits.clientIP(r)
	quota, lerr := h.limits.admit(ip, time.Now())
	if lerr != nil {
		h.log.Info("connection refused", "remote", ip, "reason", lerr.msg)
		lerr.write(w)
		return
	}
	defer quota.release() // the session runs in this goroutine
	hj := &hijacker{ResponseWriter: w}
	conn, err := h.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		return // the upgrader has already replied with an HTTP error
	}
	if err := hj.conn.Flush(); err != nil { // the handshake response
		conn.Close()
		return
	}
	conn.SetReadLimit(protocol.MaxFrame)
	// Replies the reader sends on its own must not wait in the buffer.
	conn.SetPingHandler(func(data string) error {
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		if err == nil {
			err = hj.conn.Flush()
		}
		return err
	})
	conn.SetCloseHandler(func(code int, text string) error {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(writeWait))
		hj.conn.Flush()
		return nil
	})
	s := &session{
		h:        h,
		conn:     conn,
		out:      hj.conn,
		hosts:    h.loginHosts(r),
		remote:   ip,
		quota:    quota,
		send:     make(chan outFrame, h.cfg.MaxSlots+sendQueue),
		waiting:  make(chan waitingVerdict, verdictQueue),
		verdicts: make(chan outFrame),
		done:     make(chan struct{}),
		lease:    uint32(h.cfg.LeaseTimeout / time.Millisecond),
		id:       sessionIDs.Add(1),
		since:    time.Now(),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		conn.Close()
		return
	}
	h.sessions[s] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	s.run()
}

// run is the session's reader: handshake, then results until an error.
func (s *session) run() {
	defer s.finish()
	hello, perr := s.handshake()
	if perr != nil {
		s.h.log.Info("handshake refused", "remote", s.remote, "code", perr.Code, "reason", perr.Message)
		s.h.metrics.HandshakeRefused(perr.Code.String())
		s.writeNow(&protocol.ErrorMsg{Code: perr.Code, Message: perr.Message})
		return
	}
	if hello == nil {
		return // the peer left during the handshake
	}
	s.h.attach(s, hello)
	s.trusted = s.h.trusted[s.who.address]
	s.h.metrics.HandshakeAccepted()
	slots := min(int(hello.Slots), s.h.cfg.MaxSlots)
	s.h.log.Info("contributor connected", "address", s.who.address, "remote", s.remote,
		"backend", hello.Device.Backend, "adapter", hello.Device.Adapter, "slots", slots, "jobs", jobsAttr(hello.Jobs))
	welcome := &protocol.Welcome{Address: hello.Address, LeaseMillis: s.lease, MaxSlots: uint16(s.h.cfg.MaxSlots)}
	mib := max(min(int(hello.CacheMiB), s.h.cfg.OperandCacheMiB), 0)
	welcome.CacheMiB = uint16(mib)
	s.kept = newOpCache(int64(mib)<<20, newRand())
	if !s.writeNow(welcome) {
		return
	}
	if !s.shipModule() {
		return
	}
	// Only a contributor that chose jobs hears about its choice: one
	// that did not may predate the Chosen message.
	var ch choice
	if len(hello.Jobs) > 0 {
		dir := s.h.jobDirectory()
		ch = resolveChoice(hello.Jobs, dir)
		s.reportChoice(ch)
		if !s.writeNow(chosenMessage(ch, dir)) {
			return
		}
	}
	s.writing.Store(true)
	go s.writeLoop()
	go s.pumpVerdicts()
	s.h.sched.joinChoosing(s, slots, ch)
	s.readLoop()
}

// jobsAttr is a choice of jobs for the log.
func jobsAttr(jobs []string) any {
	if len(jobs) == 0 {
		return "all"
	}
	return jobs
}

// reportChoice logs the names of a contributor's choice that name no job.
func (s *session) reportChoice(ch choice) {
	if len(ch.unknown) > 0 {
		s.h.log.Info("contributor chose unknown jobs", "address", s.who.address, "remote", s.remote,
			"unknown", ch.unknown, "known", ch.known)
	}
}

// choose handles a contributor's new choice of jobs: the answer goes out
// before any task of the new choice.
func (s *session) choose(jobs []string) {
	dir := s.h.jobDirectory()
	ch := resolveChoice(jobs, dir)
	s.reportChoice(ch)
	s.who.chose(jobs)
	s.queue(outFrame{frame: protocol.Encode(nil, chosenMessage(ch, dir))})
	s.h.sched.choose(s, ch)
}

// shipModule sends the hub's kernel module to a contributor lacking some
// ops, which can then run them too.
func (s *session) shipModule() bool {
	m := s.h.module
	if m == nil {
		return true
	}
	for _, op := range m.Ops {
		if !s.ops[op] {
			if !s.writeNow(m) {
				return false
			}
			for _, op := range m.Ops {
				s.ops[op] = true
			}
			s.h.log.Info("kernel module shipped", "address", s.who.address, "module", fmt.Sprintf("%x", m.Hash[:6]))
			return true
		}
	}
	return true
}

// handshake issues a challenge and checks the signed answer.
func (s *session) handshake() (*protocol.Hello, *protocol.Error) {
	nonce := s.h.nonces.issue()
	if !s.writeNow(&protocol.Challenge{Nonce: nonce, Hub: s.h.cfg.Name}) {
		return nil, nil
	}
	s.conn.SetReadDeadline(time.Now().Add(handshakeWait))
	frame, err := s.readFrame(nil)
	if err != nil {
		return nil, asProtoErr(err) // nil, nil when the peer is gone
	}
	m, err := protocol.Decode(frame)
	if err != nil {
		return nil, asProtoErr(err)
	}
	hello, ok := m.(*protocol.Hello)
	if !ok {
		return nil, protocol.Errorf(protocol.CodeOrder, "expected hello after the challenge, got %v", m.Kind())
	}
	if perr := s.h.nonces.consume(nonce, hello.Nonce); perr != nil {
		return nil, perr
	}
	var signer common.Address
	for _, host := range s.hosts {
		a, err := identity.Recover(protocol.LoginText(s.h.cfg.Name, host, hello.Nonce), hello.Signature)
		if err != nil {
			return nil, protocol.Errorf(protocol.CodeBadSignature, "%v", err)
		}
		if signer = a; signer == hello.Address {
			break
		}
	}
	if signer != hello.Address {
		return nil, protocol.Errorf(protocol.CodeBadSignature,
			"the signature is not by the claimed address %x for a login to %q at %s: was it made for another hub?",
			hello.Address, s.h.cfg.Name, strings.Join(s.hosts, " or "))
	}
	if hello.Slots == 0 {
		return nil, protocol.Errorf(protocol.CodeBadMessage, "hello must offer at least one slot")
	}
	s.ops = map[kernel.Op]bool{}
	for _, op := range hello.Kernels {
		if op.Valid() {
			s.ops[op] = true
		}
	}
	if len(s.ops) == 0 && s.h.module == nil {
		return nil, protocol.Errorf(protocol.CodeBadMessage, "hello lists no kernel this hub runs (it runs %v)", kernel.Ops)
	}
	if s.h.rep.banned(signer.Hex()) {
		return nil, protocol.Errorf(protocol.CodeBanned, "address %s is banned for refused results", signer.Hex())
	}
	return hello, nil
}

// readLoop handles results and capacity changes until the peer fails.
func (s *session) readLoop() {
	var buf []byte
	var scratch verify.Scratch
	rng := newRand()
	s.conn.SetPongHandler(func(string) error {
		s.conn.SetReadDeadline(time.Now().Add(pongWait))
		return nil
	})
	for {
		s.conn.SetReadDeadline(time.Now().Add(pongWait))
		frame, err := s.readFrame(buf)
		if err != nil {
			if perr := asProtoErr(err); perr != nil {
				s.closeWith(perr)
			}
			return
		}
		buf = frame
		if !s.h.limits.message(s.quota, time.Now()) {
			s.closeWith(protocol.Errorf(protocol.CodeRateLimited, "%s sends more than %g messages per second; reconnect and slow down", s.remote, s.h.cfg.Limits.MessageRate))
			return
		}
		kind, _ := protocol.PeekKind(frame) // checked by readFrame
		switch kind {
		case protocol.KindResult:
			res := new(protocol.Result)
			if err := protocol.DecodeInto(frame, res); err != nil {
				s.closeWith(asProtoErr(err))
				return
			}
			s.h.judge(s, res, len(frame), &scratch, rng)
		case protocol.KindCapacity:
			var c protocol.Capacity
			if err := protocol.DecodeInto(frame, &c); err != nil {
				s.closeWith(asProtoErr(err))
				return
			}
			s.h.sched.setCapacity(s, min(int(c.Slots), s.h.cfg.MaxSlots))
		case protocol.KindChoose:
			var c protocol.Choose
			if err := protocol.DecodeInto(frame, &c); err != nil {
				s.closeWith(asProtoErr(err))
				return
			}
			s.choose(c.Jobs)
		default:
			s.closeWith(protocol.Errorf(protocol.CodeOrder, "a contributor may not send %v messages after the handshake", kind))
			return
		}
	}
}

// newRand returns a generator seeded from the system's randomness.
func newRand() *rand.Rand {
	var seed [16]byte
	crand.Read(seed[:])
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
}

func resize(v []float32, n int) []float32 {
	if cap(v) < n {
		return make([]float32, n)
	}
	return v[:n]
}

// readFrame reads one binary message, enforcing the per-kind size limit.
func (s *session) readFrame(buf []byte) ([]byte, error) {
	typ, r, err := s.conn.NextReader()
	if err != nil {
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, protocol.Errorf(protocol.CodeBadMessage, "the protocol uses binary frames only, got a text frame")
	}
	return protocol.ReadFrame(r, buf)
}

// asProtoErr returns the *protocol.Error to send for a read failure, or
// nil when the connection is simply gone.
func asProtoErr(err error) *protocol.Error {
	var perr *protocol.Error
	if errors.As(err, &perr) {
		return perr
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		return protocol.Errorf(protocol.CodeTooLarge, "frame exceeds the %d-byte limit", protocol.MaxFrame)
	}
	return nil
}

// runs reports whether the contributor can run op. Sessions made without
// a handshake (tests) run everything.
func (s *session) runs(op kernel.Op) bool { return s.ops == nil || s.ops[op] }

// address returns the contributor's address (set by the handshake, before
// the session joins the scheduler).
func (s *session) address() string { return s.who.address }

// closing reports whether the session is shutting down.
func (s *session) closing() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// finish runs when the reader returns: it requeues the session's leases and
// makes sure the writer is gone.
func (s *session) finish() {
	s.closeWith(nil)
	if s.who != nil {
		s.h.sched.leave(s)
		s.h.detach(s)
		s.h.log.Info("contributor disconnected", "address", s.who.address, "remote", s.remote)
	}
	if !s.writing.Load() {
		s.conn.Close()
	}
	s.h.mu.Lock()
	delete(s.h.sessions, s)
	s.h.mu.Unlock()
}

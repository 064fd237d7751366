package protocol

import (
	"encoding/hex"
	"strings"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Field limits.
const (
	NonceSize     = 32
	AddressSize   = 20
	SignatureSize = 65
	maxName       = 128 // hub name, client agent
	maxDevice     = 256 // adapter and backend descriptions
	maxText       = 512 // error and verdict messages
	maxKernels    = 64
)

// Challenge is the hub's first message: a single-use nonce that the
// contributor signs to prove its identity.
type Challenge struct {
	Nonce [NonceSize]byte
	// Hub names the hub; it is part of the signed text so a signature for one
	// hub is useless at another.
	Hub string
}

// Kind implements Message.
func (*Challenge) Kind() Kind { return KindChallenge }

func (m *Challenge) appendBody(dst []byte) []byte {
	dst = append(dst, m.Nonce[:]...)
	return appendStr(dst, m.Hub, maxName)
}

func (m *Challenge) decodeBody(r *reader) error {
	copy(m.Nonce[:], r.take(NonceSize, "nonce"))
	m.Hub = r.str("hub", maxName)
	return nil
}

// LoginText is the text a contributor signs (Ethereum personal-sign format)
// to answer a challenge: the hub's name, the host the contributor dialed
// (the URL's host[:port], as sent in the Host header) and the nonce. The
// host binds the signature to the hub the contributor meant to reach: a
// hub that relays another hub's challenge to its own visitors gets
// signatures for its own host, which the other hub refuses.
// The host is compared in lower case without a default port (:80, :443),
// which browsers leave out of the Host header and Go's dialers keep.
func LoginText(hub, host string, nonce [NonceSize]byte) string {
	host = strings.ToLower(host)
	for _, port := range []string{":80", ":443"} {
		host = strings.TrimSuffix(host, port)
	}
	return "Tessera contributor login\nhub: " + hub + "\nhost: " + host + "\nnonce: " + hex.EncodeToString(nonce[:])
}

// DeviceInfo describes the contributor's compute device.
type DeviceInfo struct {
	Backend     string // "webgpu" or "cpu"
	Adapter     string // readable adapter name
	AdapterType string // "cpu", "discrete-gpu", ...
	Variant     string // kernel family in use
}

// Hello answers a Challenge: the contributor's address, its signature over
// LoginText, its device, the kernels it runs, how many tasks it can hold
// and, optionally, the jobs it works for.
type Hello struct {
	// Nonce repeats the challenge being answered, so the hub can tell a
	// replayed answer from a forged one.
	Nonce     [NonceSize]byte
	Address   [AddressSize]byte
	Signature [SignatureSize]byte
	Slots     uint16
	Agent     string // client name and version, e.g. "tessera-edge/0.1"
	Device    DeviceInfo
	Kernels   []kernel.Op
	// CacheMiB is the operand cache the contributor offers, in MiB (0:
	// none; at most MaxCacheMiB). See OperandCache.
	CacheMiB uint16
	// Jobs names the jobs (models) the contributor works for, each by ID
	// or by name, at most MaxJobs; empty means every job. It is encoded
	// after the kernels only when not empty (a hello without it is
	// byte for byte a hello from before it existed), so a present list
	// has at least one entry.
	Jobs []string
}

// Kind implements Message.
func (*Hello) Kind() Kind { return KindHello }

func (m *Hello) appendBody(dst []byte) []byte {
	dst = append(dst, m.Nonce[:]...)
	dst = append(dst, m.Address[:]...)
	dst = append(dst, m.Signature[:]...)
	dst = appendU16(dst, m.Slots)
	dst = appendStr(dst, m.Agent, maxName)
	dst = appendStr(dst, m.Device.Backend, maxDevice)
	dst = appendStr(dst, m.Device.Adapter, maxDevice)
	dst = appendStr(dst, m.Device.AdapterType, maxDevice)
	dst = appendStr(dst, m.Device.Variant, maxDevice)
	ks := m.Kernels[:min(len(m.Kernels), maxKernels)]
	dst = append(dst, byte(len(ks)))
	for _, k := range ks {
		dst = append(dst, byte(k))
	}
	dst = appendU16(dst, min(m.CacheMiB, MaxCacheMiB))
	if jobs := cleanJobs(m.Jobs, MaxJobs); len(jobs) > 0 {
		dst = appendJobs(dst, jobs, MaxJobs)
	}
	return dst
}

func (m *Hello) decodeBody(r *reader) error {
	copy(m.Nonce[:], r.take(NonceSize, "nonce"))
	copy(m.Address[:], r.take(AddressSize, "address"))
	copy(m.Signature[:], r.take(SignatureSize, "signature"))
	m.Slots = r.u16("slots")
	m.Agent = r.str("agent", maxName)
	m.Device.Backend = r.str("backend", maxDevice)
	m.Device.Adapter = r.str("adapter", maxDevice)
	m.Device.AdapterType = r.str("adapter type", maxDevice)
	m.Device.Variant = r.str("variant", maxDevice)
	n := int(r.u8("kernel count"))
	if r.err == nil && n > maxKernels {
		r.fail("%d kernels exceeds %d", n, maxKernels)
	}
	raw := r.take(n, "kernels")
	m.Kernels = m.Kernels[:0]
	for _, b := range raw {
		m.Kernels = append(m.Kernels, kernel.Op(b))
	}
	m.CacheMiB = r.u16("cache size")
	if r.err == nil && m.CacheMiB > MaxCacheMiB {
		r.fail("an operand cache of %d MiB exceeds %d", m.CacheMiB, MaxCacheMiB)
	}
	m.Jobs = nil
	if r.err == nil && len(r.b) > 0 {
		m.Jobs = r.jobs("jobs", 1, MaxJobs)
	}
	return nil
}

// Welcome accepts a Hello.
type Welcome struct {
	// Address echoes the identity the hub verified.
	Address [AddressSize]byte
	// LeaseMillis is how long the contributor has for each task.
	LeaseMillis uint32
	// MaxSlots is the most tasks the hub will lease at once to this peer.
	MaxSlots uint16
	// CacheMiB is the operand cache the hub will use (at most the
	// Hello's; 0: none), in MiB.
	CacheMiB uint16
}

// Kind implements Message.
func (*Welcome) Kind() Kind { return KindWelcome }

func (m *Welcome) appendBody(dst []byte) []byte {
	dst = append(dst, m.Address[:]...)
	dst = appendU32(dst, m.LeaseMillis)
	dst = appendU16(dst, m.MaxSlots)
	return appendU16(dst, m.CacheMiB)
}

func (m *Welcome) decodeBody(r *reader) error {
	copy(m.Address[:], r.take(AddressSize, "address"))
	m.LeaseMillis = r.u32("lease")
	m.MaxSlots = r.u16("max slots")
	m.CacheMiB = r.u16("cache size")
	return nil
}

// Capacity tells the hub how many tasks the contributor can hold from now
// on (0 pauses it). Tasks already leased are not taken back.
type Capacity struct {
	Slots uint16
}

// Kind implements Message.
func (*Capacity) Kind() Kind { return KindCapacity }

func (m *Capacity) appendBody(dst []byte) []byte { return appendU16(dst, m.Slots) }

func (m *Capacity) decodeBody(r *reader) error {
	m.Slots = r.u16("slots")
	return nil
}

const taskFixed = 8 + 1 + 4*4 + 4 + 1 + 2 // id, op, batch M K N, lease, encoding, drop count

// taskOperand is an operand's mode and id on the wire (its tensor apart).
const taskOperand = 1 + 4

// Task is one leased unit of work: C = op(A)·op(B), or Shape.Batch such
// products stacked in A, B and C. ACache and BCache say which operands
// the contributor keeps or already holds (see OperandCache): a decoded
// task's referenced operands are empty until OperandCache.Resolve fills
// them in.
type Task struct {
	ID             uint64
	Op             kernel.Op
	Shape          kernel.Shape
	LeaseMillis    uint32
	A, B           []float32
	ACache, BCache Cached
	// Drop lists kept operands to forget before this task's are kept.
	Drop []uint32
	// Wire is the encoding of the operands the task carries. Operands
	// sent in bfloat16 are exactly what the hub verifies against: it
	// rounds them before sending. Results always travel in float32, so
	// that the check stays as strict as it is (RATIONALE.md).
	Wire Encoding
	// Resident, when its Mode is not ResidentNone, makes the product the
	// gradient of kept weights (see resident.go).
	Resident Resident

	aShared, bShared bool      // A or B belongs to the cache: not reused by the next decode
	keptW, keptV     []float32 // the resident matrices, found by OperandCache.Resolve
}

// Kind implements Message.
func (*Task) Kind() Kind { return KindTask }

func (m *Task) appendBody(dst []byte) []byte {
	dst = grow(dst, taskFixed+4*len(m.Drop)+2*(taskOperand+tensorHeader)+4*(len(m.A)+len(m.B))+residentSize)
	dst = appendU64(dst, m.ID)
	dst = append(dst, byte(m.Op))
	dst = appendU32(dst, uint32(m.Shape.Batch))
	dst = appendU32(dst, uint32(m.Shape.M))
	dst = appendU32(dst, uint32(m.Shape.K))
	dst = appendU32(dst, uint32(m.Shape.N))
	dst = appendU32(dst, m.LeaseMillis)
	dst = append(dst, byte(m.Wire))
	dst = appendDrops(dst, m.Drop)
	ar, ac := m.Op.ADims(m.Shape)
	dst = appendOperand(dst, m.ACache, m.Wire, m.Shape.Batch, ar, ac, m.A)
	br, bc := m.Op.BDims(m.Shape)
	dst = appendOperand(dst, m.BCache, m.Wire, m.Shape.Batch, br, bc, m.B)
	return appendResident(dst, m.Resident)
}

func (m *Task) decodeBody(r *reader) error {
	m.ID = r.u64("task id")
	m.Op = kernel.Op(r.u8("kernel"))
	batch := r.u32("batch")
	m.Shape = kernel.Shape{M: int(r.u32("M")), K: int(r.u32("K")), N: int(r.u32("N"))}
	m.LeaseMillis = r.u32("lease")
	if r.err != nil {
		return nil
	}
	if !m.Op.Valid() {
		return Errorf(CodeBadMessage, "task: unknown kernel %d", uint8(m.Op))
	}
	m.Shape.Batch = int(batch)
	if err := m.Shape.Validate(); err != nil {
		return Errorf(CodeBadMessage, "task: %v", err)
	}
	m.Wire = Encoding(r.u8("encoding"))
	if r.err == nil && !m.Wire.Valid() {
		return Errorf(CodeBadMessage, "task: unknown encoding %d", uint8(m.Wire))
	}
	m.Drop = r.drops(m.Drop[:0], 0)
	ar, ac := m.Op.ADims(m.Shape)
	m.A, m.ACache = r.operand("A", m.Wire, m.A, &m.aShared, m.Shape.Batch, ar, ac)
	br, bc := m.Op.BDims(m.Shape)
	m.B, m.BCache = r.operand("B", m.Wire, m.B, &m.bShared, m.Shape.Batch, br, bc)
	if r.err == nil && m.ACache.Keep != 0 && m.ACache.Keep == m.BCache.Keep {
		r.fail("A and B are both to be kept under id %d", m.ACache.Keep)
	}
	r.resident(m)
	return nil
}

const resultFixed = 8 + 4 + 4 // id, micros, flags; batch, M, N are in the tensor header

// Result returns a task's output C: Batch matrices of Rows×Cols (M×N),
// one after the other; Batch 0 and 1 both mean one, as in kernel.Shape.
type Result struct {
	TaskID uint64
	// Micros is the contributor's compute time for the task, for its stats.
	Micros uint32
	Batch  uint32
	Rows   uint32
	Cols   uint32
	C      []float32
}

// Kind implements Message.
func (*Result) Kind() Kind { return KindResult }

func (m *Result) appendBody(dst []byte) []byte {
	dst = grow(dst, resultFixed+tensorHeader+4*len(m.C))
	dst = appendU64(dst, m.TaskID)
	dst = appendU32(dst, m.Micros)
	dst = appendU32(dst, 0) // reserved flags
	return appendTensor(dst, Float32, int(m.Batch), int(m.Rows), int(m.Cols), m.C)
}

func (m *Result) decodeBody(r *reader) error {
	m.TaskID = r.u64("task id")
	m.Micros = r.u32("micros")
	if flags := r.u32("flags"); flags != 0 && r.err == nil {
		return Errorf(CodeBadMessage, "result: unknown flags %#x", flags)
	}
	// The tensor header carries the dimensions; the hub checks them against
	// the leased task. Bound them here so the allocation is safe.
	if len(r.b) < tensorHeader {
		r.fail("truncated result tensor header")
		return nil
	}
	batch, rows, cols := int(leU32(r.b)), int(leU32(r.b[4:])), int(leU32(r.b[8:]))
	if batch > kernel.MaxBatch || rows > kernel.MaxDim || cols > kernel.MaxDim || max(batch, 1)*rows*cols > kernel.MaxElems {
		return Errorf(CodeBadMessage, "result: %dx%dx%d exceeds the size limits", batch, rows, cols)
	}
	m.Batch, m.Rows, m.Cols = uint32(batch), uint32(rows), uint32(cols)
	m.C = r.tensor("C", Float32, m.C, batch, rows, cols)
	return nil
}

// Verdict tells a contributor whether a result was accepted, and if not, why.
type Verdict struct {
	TaskID   uint64
	Accepted bool
	Code     Code
	Message  string
}

// Kind implements Message.
func (*Verdict) Kind() Kind { return KindVerdict }

func (m *Verdict) appendBody(dst []byte) []byte {
	dst = appendU64(dst, m.TaskID)
	if m.Accepted {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	dst = appendU16(dst, uint16(m.Code))
	return appendStr(dst, m.Message, maxText)
}

func (m *Verdict) decodeBody(r *reader) error {
	m.TaskID = r.u64("task id")
	switch acc := r.u8("accepted"); acc {
	case 0, 1:
		m.Accepted = acc == 1
	default:
		r.fail("accepted flag %d is not 0 or 1", acc)
	}
	m.Code = Code(r.u16("code"))
	m.Message = r.str("message", maxText)
	return nil
}

// ErrorMsg carries an *Error across the wire. The sender usually closes the
// connection after it.
type ErrorMsg struct {
	Code    Code
	Message string
}

// Kind implements Message.
func (*ErrorMsg) Kind() Kind { return KindError }

// Err returns the message as an *Error.
func (m *ErrorMsg) Err() *Error { return &Error{Code: m.Code, Message: m.Message} }

func (m *ErrorMsg) appendBody(dst []byte) []byte {
	dst = appendU16(dst, uint16(m.Code))
	return appendStr(dst, m.Message, maxText)
}

func (m *ErrorMsg) decodeBody(r *reader) error {
	m.Code = Code(r.u16("code"))
	m.Message = r.str("message", maxText)
	return nil
}

// HashSize is the size of a module's content hash (SHA-256).
const HashSize = 32

// Module ships a kernel module (WebAssembly, see wasm/kernels) that
// implements Ops, for a contributor whose Hello did not list them. The
// contributor checks Wasm against Hash and runs it sandboxed; modules are
// known by their hash.
type Module struct {
	Hash [HashSize]byte
	Ops  []kernel.Op
	Wasm []byte
}

// Kind implements Message.
func (*Module) Kind() Kind { return KindModule }

func (m *Module) appendBody(dst []byte) []byte {
	dst = append(dst, m.Hash[:]...)
	ops := m.Ops[:min(len(m.Ops), maxKernels)]
	dst = append(dst, byte(len(ops)))
	for _, o := range ops {
		dst = append(dst, byte(o))
	}
	dst = appendU32(dst, uint32(len(m.Wasm)))
	return append(dst, m.Wasm...)
}

func (m *Module) decodeBody(r *reader) error {
	copy(m.Hash[:], r.take(HashSize, "hash"))
	n := int(r.u8("op count"))
	if r.err == nil && n > maxKernels {
		r.fail("%d ops exceeds %d", n, maxKernels)
	}
	m.Ops = m.Ops[:0]
	for _, b := range r.take(n, "ops") {
		m.Ops = append(m.Ops, kernel.Op(b))
	}
	size := int(r.u32("module size"))
	m.Wasm = append(m.Wasm[:0], r.take(size, "module")...)
	return nil
}

package protocol_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Field limits as the wire format defines them (unexported in the package).
const (
	maxName    = 128
	maxDevice  = 256
	maxText    = 512
	maxKernels = 64
)

// Byte offsets inside Task and Result frames.
const (
	taskOpOff    = protocol.HeaderSize + 8         // after the id
	taskBatchOff = taskOpOff + 1                   // batch, then M, K, N
	taskMOff     = taskBatchOff + 4                // M, K, N follow
	taskAOff     = taskMOff + 3*4 + 4 + 1 + 2 + 1  // A's tensor header (batch, rows, cols), after M K N, lease, encoding, no drops and A's mode
	resultCOff   = protocol.HeaderSize + 8 + 4 + 4 // C's tensor header (batch, rows, cols)
	tensorHeader = 12
)

func seq(n int, f func(i int) float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = f(i)
	}
	return v
}

func fill(n int) []float32 { return seq(n, func(i int) float32 { return float32(i)*0.25 - 3 }) }

// count fills b with first, first+1, ...
func count(b []byte, first byte) {
	for i := range b {
		b[i] = first + byte(i)
	}
}

// sample is one valid message of some kind.
type sample struct {
	name string
	msg  protocol.Message
}

// samples returns valid messages covering every kind and the edges of
// their fields.
func samples() []sample {
	var nonce [protocol.NonceSize]byte
	var addr [protocol.AddressSize]byte
	var sig [protocol.SignatureSize]byte
	count(nonce[:], 1)
	count(addr[:], 100)
	count(sig[:], 200)
	odd := kernel.Shape{M: 3, K: 5, N: 7}
	batched := kernel.Shape{Batch: 3, M: 5, K: 7, N: 9}
	one := kernel.Shape{Batch: 1, M: 2, K: 3, N: 2}
	special := []float32{
		float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001), // NaN with payload
		math.Float32frombits(0x80000000), // -0
		math.Float32frombits(1),          // smallest subnormal
		math.MaxFloat32, -1.5, 0,
	}
	return []sample{
		{"ChallengeEmptyHub", &protocol.Challenge{Nonce: nonce}},
		{"Challenge", &protocol.Challenge{Nonce: nonce, Hub: "tessera-hub"}},
		{"ChallengeMaxHub", &protocol.Challenge{Nonce: nonce, Hub: strings.Repeat("h", maxName)}},
		{"HelloMinimal", &protocol.Hello{Slots: 1}},
		{"Hello", &protocol.Hello{
			Nonce: nonce, Address: addr, Signature: sig, Slots: 8, Agent: "tessera-edge/0.1",
			Device:  protocol.DeviceInfo{Backend: "webgpu", Adapter: "llvmpipe (LLVM 15.0.7, 256 bits)", AdapterType: "cpu", Variant: "regblock"},
			Kernels: []kernel.Op{kernel.MatMulNN, kernel.MatMulNT, kernel.MatMulTN},
		}},
		{"HelloMaxFields", samplesMaxHello()},
		{"HelloJobs", &protocol.Hello{Nonce: nonce, Address: addr, Signature: sig, Slots: 2, Agent: "tessera-browser/0.1",
			Kernels: []kernel.Op{kernel.MatMulNN}, Jobs: []string{"gocode-lm", "job-0123456789ab"}}},
		{"HelloJobsNoKernels", &protocol.Hello{Slots: 1, Jobs: []string{"matmul"}}},
		{"HelloMaxFieldsAndJobs", func() *protocol.Hello {
			h := *samplesMaxHello()
			h.Jobs = maxJobs(protocol.MaxJobs)
			return &h
		}()},
		{"Welcome", &protocol.Welcome{Address: addr, LeaseMillis: 60000, MaxSlots: 8}},
		{"WelcomeZero", &protocol.Welcome{}},
		{"CapacityZero", &protocol.Capacity{}},
		{"Capacity", &protocol.Capacity{Slots: math.MaxUint16}},
		{"TaskNN", &protocol.Task{ID: 1, Op: kernel.MatMulNN, Shape: odd, LeaseMillis: 1000, A: fill(odd.ALen()), B: fill(odd.BLen())}},
		{"TaskNT", &protocol.Task{ID: 2, Op: kernel.MatMulNT, Shape: odd, LeaseMillis: 1000, A: fill(odd.ALen()), B: fill(odd.BLen())}},
		{"TaskTN", &protocol.Task{ID: math.MaxUint64, Op: kernel.MatMulTN, Shape: odd, LeaseMillis: math.MaxUint32, A: fill(odd.ALen()), B: fill(odd.BLen())}},
		{"Task1x1x1Special", &protocol.Task{Op: kernel.MatMulNN, Shape: kernel.Shape{M: 1, K: 8, N: 1}, A: special, B: special}},
		{"TaskBatchedNN", &protocol.Task{ID: 10, Op: kernel.MatMulNN, Shape: batched, LeaseMillis: 1000, A: fill(batched.ALen()), B: fill(batched.BLen())}},
		{"TaskBatchedNT", &protocol.Task{ID: 11, Op: kernel.MatMulNT, Shape: batched, LeaseMillis: 1000, A: fill(batched.ALen()), B: fill(batched.BLen())}},
		{"TaskBatchedTN", &protocol.Task{ID: 12, Op: kernel.MatMulTN, Shape: batched, LeaseMillis: 1000, A: fill(batched.ALen()), B: fill(batched.BLen())}},
		{"TaskBatchOne", &protocol.Task{ID: 13, Op: kernel.MatMulNT, Shape: one, A: fill(one.ALen()), B: fill(one.BLen())}},
		{"TaskMaxBatch", &protocol.Task{ID: 14, Op: kernel.MatMulTN, Shape: kernel.Shape{Batch: kernel.MaxBatch, M: 1, K: 2, N: 1},
			A: fill(2 * kernel.MaxBatch), B: fill(2 * kernel.MaxBatch)}},
		{"TaskResidentStep", &protocol.Task{ID: 15, Op: kernel.MatMulTN, Shape: odd, A: fill(odd.ALen()), B: fill(odd.BLen()),
			Resident: protocol.Resident{Mode: protocol.ResidentStep, W: 3, V: 4, LR: 0.05, Momentum: 0.9}}},
		{"TaskResidentStepReturn", &protocol.Task{ID: 16, Op: kernel.MatMulTN, Shape: odd, A: fill(odd.ALen()), B: fill(odd.BLen()), Drop: []uint32{9},
			Resident: protocol.Resident{Mode: protocol.ResidentStepReturn, W: 3, V: 4, LR: math.MaxFloat32, Momentum: 0}}},
		{"Keep", &protocol.Keep{ID: 3, Rows: 3, Cols: 7, Data: fill(21)}},
		{"KeepDrops", &protocol.Keep{ID: 4, Drop: []uint32{1, 2}, Rows: 1, Cols: 1, Data: fill(1)}},
		{"KeepBFloat16", &protocol.Keep{ID: math.MaxUint32, Wire: protocol.BFloat16, Rows: 1, Cols: 2, Data: []float32{1.5, -2}}},
		{"Result", &protocol.Result{TaskID: 7, Micros: 1234, Rows: 3, Cols: 7, C: fill(21)}},
		{"ResultSpecial", &protocol.Result{TaskID: 8, Rows: 2, Cols: 4, C: special}},
		{"ResultEmpty", &protocol.Result{TaskID: 9}},
		{"ResultBatched", &protocol.Result{TaskID: 10, Micros: 99, Batch: 3, Rows: 5, Cols: 9, C: fill(3 * 5 * 9)}},
		{"ResultBatchOne", &protocol.Result{TaskID: 11, Batch: 1, Rows: 2, Cols: 2, C: special[:4]}},
		{"VerdictAccepted", &protocol.Verdict{TaskID: 3, Accepted: true}},
		{"VerdictRefused", &protocol.Verdict{TaskID: 4, Code: protocol.CodeWrongResult, Message: "row 3 is off"}},
		{"VerdictMaxMessage", &protocol.Verdict{TaskID: 5, Code: protocol.CodeUnknownTask, Message: strings.Repeat("m", maxText)}},
		{"Error", &protocol.ErrorMsg{Code: protocol.CodeShutdown, Message: "the hub is shutting down"}},
		{"ErrorUnknownCode", &protocol.ErrorMsg{Code: 999}},
		{"Module", &protocol.Module{Hash: [protocol.HashSize]byte{1, 2, 3}, Ops: []kernel.Op{kernel.MatMulNT, kernel.MatMulTN}, Wasm: []byte("\x00asm\x01\x00\x00\x00")}},
		{"ModuleEmpty", &protocol.Module{}},
		{"ChooseAll", &protocol.Choose{}},
		{"Choose", &protocol.Choose{Jobs: []string{"mnist-mlp"}}},
		{"ChooseMax", &protocol.Choose{Jobs: maxJobs(protocol.MaxJobs)}},
		{"ChosenEmpty", &protocol.Chosen{}},
		{"Chosen", &protocol.Chosen{Jobs: []string{"gocode-lm"}, Unknown: []string{"gocode-llm"}, Available: []string{"gocode-lm", "matmul", "mnist-mlp"}}},
		{"ChosenMax", &protocol.Chosen{Jobs: maxJobs(protocol.MaxJobs), Unknown: maxJobs(protocol.MaxJobs), Available: maxJobs(protocol.MaxAvailable)}},
	}
}

// sameMessage reports whether a and b are equal, comparing floats bitwise
// (so NaN equals the same NaN) and treating nil and empty slices alike.
func sameMessage(a, b protocol.Message) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	switch a := a.(type) {
	case *protocol.Task:
		b := b.(*protocol.Task)
		ac, bc := *a, *b
		ac.A, ac.B, bc.A, bc.B = nil, nil, nil, nil
		return reflect.DeepEqual(ac, bc) && sameBits(a.A, b.A) && sameBits(a.B, b.B)
	case *protocol.Result:
		b := b.(*protocol.Result)
		ac, bc := *a, *b
		ac.C, bc.C = nil, nil
		return reflect.DeepEqual(ac, bc) && sameBits(a.C, b.C)
	case *protocol.Keep: // its data compared bitwise, as operands are (NaN ≠ NaN)
		b := b.(*protocol.Keep)
		ac, bc := *a, *b
		ac.Data, bc.Data = nil, nil
		return reflect.DeepEqual(ac, bc) && sameBits(a.Data, b.Data)
	case *protocol.Hello:
		b := b.(*protocol.Hello)
		ac, bc := *a, *b
		ac.Kernels, bc.Kernels = nil, nil
		return reflect.DeepEqual(ac, bc) && len(a.Kernels) == len(b.Kernels) &&
			(len(a.Kernels) == 0 || reflect.DeepEqual(a.Kernels, b.Kernels))
	}
	return reflect.DeepEqual(a, b)
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// newOf returns a new zero message of m's kind.
func newOf(m protocol.Message) protocol.Message {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(protocol.Message)
}

// wantCode fails the test unless err is a *protocol.Error with code.
func wantCode(tb testing.TB, err error, code protocol.Code) {
	tb.Helper()
	var perr *protocol.Error
	if !errors.As(err, &perr) {
		tb.Fatalf("error %v (%T) is not a *protocol.Error; want code %v", err, err, code)
	}
	if perr.Code != code {
		tb.Fatalf("error %q has code %v, want %v", perr, perr.Code, code)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range samples() {
		t.Run(tc.name, func(t *testing.T) {
			frame := protocol.Encode(nil, tc.msg)
			if frame[0] != protocol.Version || protocol.Kind(frame[1]) != tc.msg.Kind() {
				t.Fatalf("header % x, want version %d kind %d", frame[:2], protocol.Version, tc.msg.Kind())
			}
			if len(frame) > protocol.MaxSize(tc.msg.Kind()) {
				t.Fatalf("frame of %d bytes exceeds MaxSize %d", len(frame), protocol.MaxSize(tc.msg.Kind()))
			}
			got, err := protocol.Decode(frame)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !sameMessage(got, tc.msg) {
				t.Fatalf("Decode(Encode(m)) = %+v, want %+v", got, tc.msg)
			}
			if k, err := protocol.PeekKind(frame); err != nil || k != tc.msg.Kind() {
				t.Fatalf("PeekKind = %v, %v; want %v", k, err, tc.msg.Kind())
			}
			into := newOf(tc.msg)
			if err := protocol.DecodeInto(frame, into); err != nil {
				t.Fatalf("DecodeInto: %v", err)
			}
			if !sameMessage(into, tc.msg) {
				t.Fatalf("DecodeInto = %+v, want %+v", into, tc.msg)
			}
			// Encode appends: a prefix in dst is kept.
			prefixed := protocol.Encode([]byte("xyz"), tc.msg)
			if !bytes.Equal(prefixed[:3], []byte("xyz")) || !bytes.Equal(prefixed[3:], frame) {
				t.Fatalf("Encode with a non-empty dst did not append")
			}
		})
	}
}

func TestDecodeIntoReusesTensors(t *testing.T) {
	sh := kernel.Shape{M: 4, K: 6, N: 5}
	t.Run("Task", func(t *testing.T) {
		dst := &protocol.Task{A: make([]float32, 1, 64), B: make([]float32, 0, 64)}
		a0, b0 := &dst.A[:1][0], &dst.B[:1][0]
		batched := sh
		batched.Batch = 2
		for i, op := range append(kernel.Ops, kernel.Ops...) {
			sh := sh
			if i >= len(kernel.Ops) {
				sh = batched
			}
			src := &protocol.Task{ID: uint64(op), Op: op, Shape: sh, A: fill(sh.ALen()), B: fill(sh.BLen())}
			if err := protocol.DecodeInto(protocol.Encode(nil, src), dst); err != nil {
				t.Fatal(err)
			}
			if !sameMessage(dst, src) {
				t.Fatalf("%v: decoded %+v, want %+v", op, dst, src)
			}
			if &dst.A[0] != a0 || &dst.B[0] != b0 {
				t.Fatalf("%v: DecodeInto allocated new tensors although capacity sufficed", op)
			}
		}
	})
	t.Run("Result", func(t *testing.T) {
		const rows, cols = 64, 64
		dst := &protocol.Result{C: make([]float32, 0, rows*cols)}
		c0 := &dst.C[:1][0]
		src := &protocol.Result{TaskID: 1, Rows: rows, Cols: cols, C: fill(rows * cols)}
		frame := protocol.Encode(nil, src)
		const runs = 100
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		allocs := testing.AllocsPerRun(runs, func() {
			if err := protocol.DecodeInto(frame, dst); err != nil {
				t.Fatal(err)
			}
		})
		runtime.ReadMemStats(&after)
		if !sameMessage(dst, src) || &dst.C[0] != c0 {
			t.Fatalf("decoded %+v into new storage, want %+v in place", dst, src)
		}
		// Small per-call allocations (error labels) are tolerated; a
		// tensor-sized one is not.
		perRun := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
		if perRun >= 4*rows*cols/4 {
			t.Fatalf("DecodeInto allocated %d bytes per %d-byte result: the tensor is not reused", perRun, 4*rows*cols)
		}
		t.Logf("DecodeInto(Result %dx%d): %v allocations, %d bytes per call", rows, cols, allocs, perRun)
	})
	t.Run("Grows", func(t *testing.T) {
		dst := &protocol.Result{C: make([]float32, 2)}
		src := &protocol.Result{TaskID: 1, Rows: 4, Cols: 5, C: fill(20)}
		if err := protocol.DecodeInto(protocol.Encode(nil, src), dst); err != nil || !sameMessage(dst, src) {
			t.Fatalf("DecodeInto = %+v, %v; want %+v", dst, err, src)
		}
	})
	t.Run("ErrWrongKind", func(t *testing.T) {
		frame := protocol.Encode(nil, &protocol.Capacity{Slots: 1})
		wantCode(t, protocol.DecodeInto(frame, &protocol.Result{}), protocol.CodeOrder)
	})
}

// frameWith encodes m and applies edit to a copy of the frame.
func frameWith(m protocol.Message, edit func(f []byte) []byte) []byte {
	return edit(protocol.Encode(nil, m))
}

func putU32(off int, v uint32) func([]byte) []byte {
	return func(f []byte) []byte { binary.LittleEndian.PutUint32(f[off:], v); return f }
}

func putU8(off int, v byte) func([]byte) []byte {
	return func(f []byte) []byte { f[off] = v; return f }
}

// strFrame builds a frame of kind k whose body is fixed bytes followed by
// a string declared n bytes long and actually n bytes long.
func strFrame(k protocol.Kind, fixed []byte, n int) []byte {
	f := append([]byte{protocol.Version, byte(k)}, fixed...)
	f = binary.LittleEndian.AppendUint16(f, uint16(n))
	return append(f, bytes.Repeat([]byte{'x'}, n)...)
}

func TestDecodeErrors(t *testing.T) {
	sh := kernel.Shape{M: 2, K: 3, N: 4}
	task := &protocol.Task{ID: 1, Op: kernel.MatMulNN, Shape: sh, A: fill(sh.ALen()), B: fill(sh.BLen())}
	result := &protocol.Result{TaskID: 1, Rows: 2, Cols: 4, C: fill(8)}
	bs := kernel.Shape{Batch: 3, M: 2, K: 3, N: 4}
	btask := &protocol.Task{ID: 2, Op: kernel.MatMulTN, Shape: bs, A: fill(bs.ALen()), B: fill(bs.BLen())}
	bresult := &protocol.Result{TaskID: 2, Batch: 3, Rows: 2, Cols: 4, C: fill(24)}
	helloFixed := make([]byte, protocol.NonceSize+protocol.AddressSize+protocol.SignatureSize+2)
	tests := []struct {
		name  string
		frame []byte
		code  protocol.Code
	}{
		{"ErrEmpty", nil, protocol.CodeBadMessage},
		{"ErrOneByte", []byte{protocol.Version}, protocol.CodeBadMessage},
		{"ErrVersion0", []byte{0, byte(protocol.KindCapacity), 1, 0}, protocol.CodeVersion},
		{"ErrVersion2", []byte{protocol.Version + 1, byte(protocol.KindCapacity), 1, 0}, protocol.CodeVersion},
		{"ErrVersionBeforeKind", []byte{protocol.Version + 1, 200}, protocol.CodeVersion},
		{"ErrKind0", []byte{protocol.Version, 0}, protocol.CodeBadMessage},
		{"ErrKind9", []byte{protocol.Version, 9, 0, 0}, protocol.CodeBadMessage},
		{"ErrKind255", []byte{protocol.Version, 255}, protocol.CodeBadMessage},
		{"ErrCapacityTrailing", []byte{protocol.Version, byte(protocol.KindCapacity), 1, 0, 0}, protocol.CodeBadMessage},
		{"ErrTaskTrailing", append(protocol.Encode(nil, task), 0), protocol.CodeBadMessage},
		{"ErrResultTrailing", append(protocol.Encode(nil, result), 1, 2, 3, 4), protocol.CodeBadMessage},
		{"ErrTaskOp0", frameWith(task, putU8(taskOpOff, 0)), protocol.CodeBadMessage},
		{"ErrTaskOp4", frameWith(task, putU8(taskOpOff, 4)), protocol.CodeBadMessage},
		{"ErrTaskM0", frameWith(task, putU32(taskMOff, 0)), protocol.CodeBadMessage},
		{"ErrTaskKTooBig", frameWith(task, putU32(taskMOff+4, kernel.MaxDim+1)), protocol.CodeBadMessage},
		{"ErrTaskNHuge", frameWith(task, putU32(taskMOff+8, math.MaxUint32)), protocol.CodeBadMessage},
		{"ErrTaskARows", frameWith(task, putU32(taskAOff+4, 3)), protocol.CodeBadMessage},
		{"ErrTaskACols", frameWith(task, putU32(taskAOff+8, 2)), protocol.CodeBadMessage},
		{"ErrTaskATransposed", frameWith(task, func(f []byte) []byte {
			putU32(taskAOff+4, 3)(f)
			return putU32(taskAOff+8, 2)(f)
		}), protocol.CodeBadMessage},
		{"ErrTaskBRows", frameWith(task, putU32(taskAOff+tensorHeader+4*sh.ALen()+4, 4)), protocol.CodeBadMessage},
		{"ErrTaskABatch", frameWith(task, putU32(taskAOff, 1)), protocol.CodeBadMessage},
		{"ErrTaskBatchNotTensors", frameWith(task, putU32(taskBatchOff, 1)), protocol.CodeBadMessage},
		{"ErrTaskBatchTooBig", frameWith(btask, putU32(taskBatchOff, kernel.MaxBatch+1)), protocol.CodeBadMessage},
		{"ErrTaskBatchHuge", frameWith(btask, putU32(taskBatchOff, math.MaxUint32)), protocol.CodeBadMessage},
		{"ErrTaskBatchElems", frameWith(&protocol.Task{Op: kernel.MatMulNN, Shape: kernel.Shape{M: 64, K: 64, N: 64}, A: fill(64 * 64), B: fill(64 * 64)},
			putU32(taskBatchOff, kernel.MaxBatch)), protocol.CodeBadMessage},
		{"ErrTaskBatchedABatch", frameWith(btask, putU32(taskAOff, 2)), protocol.CodeBadMessage},
		{"ErrTaskBatchedBBatch", frameWith(btask, putU32(taskAOff+tensorHeader+4*bs.ALen()+1, 4)), protocol.CodeBadMessage},
		{"ErrTaskBatchedShort", frameWith(btask, putU32(taskBatchOff, 2)), protocol.CodeBadMessage},
		{"ErrTaskBatchedTruncated", frameWith(btask, func(f []byte) []byte { return f[:len(f)-4] }), protocol.CodeBadMessage},
		{"ErrTaskShapeNotDims", frameWith(task, putU32(taskMOff, 3)), protocol.CodeBadMessage},
		{"ErrResultDimsTooBig", frameWith(result, putU32(resultCOff+4, kernel.MaxDim+1)), protocol.CodeBadMessage},
		{"ErrResultDimsHuge", frameWith(result, func(f []byte) []byte {
			putU32(resultCOff+4, kernel.MaxDim)(f)
			return putU32(resultCOff+8, kernel.MaxDim)(f)
		}), protocol.CodeBadMessage},
		{"ErrResultDimsNotData", frameWith(result, putU32(resultCOff+4, 3)), protocol.CodeBadMessage},
		{"ErrResultBatchNotData", frameWith(result, putU32(resultCOff, 2)), protocol.CodeBadMessage},
		{"ErrResultBatchTooBig", frameWith(bresult, putU32(resultCOff, kernel.MaxBatch+1)), protocol.CodeBadMessage},
		{"ErrResultBatchHuge", frameWith(bresult, putU32(resultCOff, math.MaxUint32)), protocol.CodeBadMessage},
		{"ErrResultBatchElems", frameWith(bresult, func(f []byte) []byte {
			putU32(resultCOff, kernel.MaxBatch)(f)
			putU32(resultCOff+4, 64)(f)
			return putU32(resultCOff+8, 64)(f)
		}), protocol.CodeBadMessage},
		{"ErrResultBatchedShort", frameWith(bresult, putU32(resultCOff, 2)), protocol.CodeBadMessage},
		{"ErrVersion1Task", frameWith(task, putU8(0, 1)), protocol.CodeVersion},
		{"ErrResultFlags", frameWith(result, putU32(protocol.HeaderSize+12, 1)), protocol.CodeBadMessage},
		{"ErrVerdictAccepted2", frameWith(&protocol.Verdict{TaskID: 1}, putU8(protocol.HeaderSize+8, 2)), protocol.CodeBadMessage},
		{"ErrChallengeHubTooLong", strFrame(protocol.KindChallenge, make([]byte, protocol.NonceSize), maxName+1), protocol.CodeBadMessage},
		{"ErrHelloAgentTooLong", strFrame(protocol.KindHello, helloFixed, maxName+1), protocol.CodeBadMessage},
		{"ErrVerdictMessageTooLong", strFrame(protocol.KindVerdict, make([]byte, 8+1+2), maxText+1), protocol.CodeBadMessage},
		{"ErrErrorMessageTooLong", strFrame(protocol.KindError, make([]byte, 2), maxText+1), protocol.CodeBadMessage},
		{"ErrStringLengthPastEnd", strFrame(protocol.KindError, make([]byte, 2), 10)[:protocol.HeaderSize+2+2+5], protocol.CodeBadMessage},
		{"ErrHelloTooManyKernels", func() []byte {
			f := protocol.Encode(nil, &protocol.Hello{Slots: 1})
			f[len(f)-1] = maxKernels + 1
			return append(f, bytes.Repeat([]byte{1}, maxKernels+1)...)
		}(), protocol.CodeBadMessage},
		{"ErrVerdictTooLarge", append(protocol.Encode(nil, &protocol.Verdict{}), make([]byte, protocol.MaxSize(protocol.KindVerdict))...), protocol.CodeTooLarge},
		{"ErrHelloTooLarge", append(protocol.Encode(nil, &protocol.Hello{}), make([]byte, protocol.MaxSize(protocol.KindHello))...), protocol.CodeTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := protocol.Decode(tc.frame)
			if err == nil {
				t.Fatalf("Decode succeeded with %+v", m)
			}
			wantCode(t, err, tc.code)
			if len(tc.frame) >= protocol.HeaderSize {
				if k := protocol.Kind(tc.frame[1]); protocol.MaxSize(k) > 0 && tc.frame[0] == protocol.Version {
					into := newOf(mustKind(t, k))
					wantCode(t, protocol.DecodeInto(tc.frame, into), tc.code)
				}
			}
		})
	}
}

// mustKind returns a zero message of kind k.
func mustKind(tb testing.TB, k protocol.Kind) protocol.Message {
	tb.Helper()
	for _, s := range samples() {
		if s.msg.Kind() == k {
			return s.msg
		}
	}
	tb.Fatalf("no sample of kind %v", k)
	return nil
}

// TestDecodeTruncated checks that every proper prefix of every valid frame
// is refused as a bad message, never accepted or panicking. The one
// exception is a hello cut exactly before its optional job list: that is
// the same hello choosing every job (websocket messages arrive whole, so
// no frame is cut there in transit).
func TestDecodeTruncated(t *testing.T) {
	for _, tc := range samples() {
		t.Run(tc.name, func(t *testing.T) {
			frame := protocol.Encode(nil, tc.msg)
			var withoutJobs []byte
			if h, ok := tc.msg.(*protocol.Hello); ok && len(h.Jobs) > 0 {
				all := *h
				all.Jobs = nil
				withoutJobs = protocol.Encode(nil, &all)
			}
			for n := protocol.HeaderSize; n < len(frame); n++ {
				m, err := protocol.Decode(frame[:n])
				if err == nil && withoutJobs != nil && n == len(withoutJobs) {
					if h := m.(*protocol.Hello); len(h.Jobs) != 0 || !bytes.Equal(frame[:n], withoutJobs) {
						t.Fatalf("a hello cut before its jobs decoded to %+v", m)
					}
					continue
				}
				if err == nil {
					t.Fatalf("prefix of %d/%d bytes decoded to %+v", n, len(frame), m)
				}
				wantCode(t, err, protocol.CodeBadMessage)
			}
		})
	}
}

// TestEncodeTruncatesStrings checks that over-long fields are cut to their
// limit when encoding, so Encode never produces a frame Decode refuses.
func TestEncodeTruncatesStrings(t *testing.T) {
	long := strings.Repeat("0123456789", 100)
	tests := []struct {
		name string
		in   protocol.Message
		want protocol.Message
	}{
		{"Challenge", &protocol.Challenge{Hub: long}, &protocol.Challenge{Hub: long[:maxName]}},
		{"Hello", &protocol.Hello{Agent: long, Device: protocol.DeviceInfo{Backend: long, Adapter: long, AdapterType: long, Variant: long},
			Kernels: make([]kernel.Op, 100)},
			&protocol.Hello{Agent: long[:maxName], Device: protocol.DeviceInfo{Backend: long[:maxDevice], Adapter: long[:maxDevice], AdapterType: long[:maxDevice], Variant: long[:maxDevice]},
				Kernels: make([]kernel.Op, maxKernels)}},
		{"HelloJobs", &protocol.Hello{Jobs: append([]string{"", long}, maxJobs(protocol.MaxJobs)...)},
			&protocol.Hello{Jobs: append([]string{long[:protocol.MaxJobName]}, maxJobs(protocol.MaxJobs-1)...)}},
		{"HelloOnlyEmptyJobs", &protocol.Hello{Jobs: []string{"", ""}}, &protocol.Hello{}},
		{"Choose", &protocol.Choose{Jobs: []string{"a", "", "b"}}, &protocol.Choose{Jobs: []string{"a", "b"}}},
		{"Chosen", &protocol.Chosen{Available: append(maxJobs(protocol.MaxAvailable), "more")},
			&protocol.Chosen{Available: maxJobs(protocol.MaxAvailable)}},
		{"Verdict", &protocol.Verdict{Message: long}, &protocol.Verdict{Message: long[:maxText]}},
		{"Error", &protocol.ErrorMsg{Message: long}, &protocol.ErrorMsg{Message: long[:maxText]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := protocol.Decode(protocol.Encode(nil, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !sameMessage(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestErrorStrings(t *testing.T) {
	for c := protocol.CodeOK; c <= protocol.CodeBanned+1; c++ {
		if s := c.String(); s == "" || (c <= protocol.CodeBanned && strings.HasPrefix(s, "code(")) {
			t.Errorf("Code(%d).String() = %q", c, s)
		}
	}
	for k := protocol.Kind(0); k <= protocol.KindChosen+1; k++ {
		known := protocol.MaxSize(k) > 0
		if s := k.String(); known == strings.HasPrefix(s, "kind(") {
			t.Errorf("Kind(%d).String() = %q, known %v", k, s, known)
		}
	}
	e := protocol.Errorf(protocol.CodeWrongResult, "row %d", 3)
	if e.Error() != "wrong_result: row 3" {
		t.Errorf("Error() = %q", e.Error())
	}
	m := &protocol.ErrorMsg{Code: e.Code, Message: e.Message}
	if *m.Err() != *e {
		t.Errorf("ErrorMsg.Err() = %+v, want %+v", m.Err(), e)
	}
}

// TestKeepRoundTripNaN: a kept matrix holding NaN round-trips (compared
// bitwise), as fresh-ci's FuzzDecode once found it did not appear to.
func TestKeepRoundTripNaN(t *testing.T) {
	k := &protocol.Keep{ID: 7, Rows: 1, Cols: 2, Data: []float32{float32(math.NaN()), 1}}
	m, err := protocol.Decode(protocol.Encode(nil, k))
	if err != nil {
		t.Fatal(err)
	}
	if !sameMessage(k, m) {
		t.Fatalf("round trip changed the message:\n%+v\n%+v", k, m)
	}
}

package protocol_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// residentTask is an update of the 4×2 matrices kept under 1 and 2 from a
// batch of 3 rows.
func residentTask(mode protocol.ResidentMode) *protocol.Task {
	sh := kernel.Shape{M: 4, K: 3, N: 2}
	return &protocol.Task{ID: 9, Op: kernel.MatMulTN, Shape: sh, A: fill(sh.ALen()), B: fill(sh.BLen()),
		Resident: protocol.Resident{Mode: mode, W: 1, V: 2, LR: 0.1, Momentum: 0.9}}
}

// TestResidentResolve installs weights and momentum with Keep messages
// sent through the codec, and resolves an update against them: the task
// finds exactly the kept matrices (the cache's own memory, which the
// contributor updates in place), and its result dimensions follow its mode.
func TestResidentResolve(t *testing.T) {
	w, v := fill(8), seq(8, func(i int) float32 { return float32(-i) })
	cache := protocol.NewOperandCache(64)
	for _, k := range []*protocol.Keep{{ID: 1, Rows: 4, Cols: 2, Data: w}, {ID: 2, Rows: 4, Cols: 2, Data: v}} {
		var got protocol.Keep
		if err := protocol.DecodeInto(protocol.Encode(nil, k), &got); err != nil {
			t.Fatal(err)
		}
		if err := cache.Install(&got); err != nil {
			t.Fatal(err)
		}
	}
	if cache.Len() != 2 || cache.Bytes() != 64 {
		t.Fatalf("cache holds %d operands, %d bytes; want 2, 64", cache.Len(), cache.Bytes())
	}
	for _, tc := range []struct {
		mode              protocol.ResidentMode
		batch, rows, cols int
	}{{protocol.ResidentStep, 0, 1, 6}, {protocol.ResidentStepReturn, 2, 4, 2}} {
		var got protocol.Task
		decodeTask(t, protocol.Encode(nil, residentTask(tc.mode)), &got)
		if err := cache.Resolve(&got); err != nil {
			t.Fatal(err)
		}
		kw, kv := got.Kept()
		if !slices.Equal(kw, w) || !slices.Equal(kv, v) {
			t.Fatalf("mode %d: kept %v and %v, want %v and %v", tc.mode, kw, kv, w, v)
		}
		kw[0] = 42 // the contributor's update lands in the cache
		var again protocol.Task
		decodeTask(t, protocol.Encode(nil, residentTask(tc.mode)), &again)
		if err := cache.Resolve(&again); err != nil {
			t.Fatal(err)
		}
		if kw2, _ := again.Kept(); kw2[0] != 42 {
			t.Errorf("mode %d: an update in place is not what the next task finds", tc.mode)
		}
		kw[0] = w[0]
		if b, r, c := got.ResultDims(); b != tc.batch || r != tc.rows || c != tc.cols {
			t.Errorf("mode %d: result %dx%dx%d, want %dx%dx%d", tc.mode, b, r, c, tc.batch, tc.rows, tc.cols)
		}
	}
	plain := &protocol.Task{Op: kernel.MatMulNN, Shape: kernel.Shape{Batch: 3, M: 2, K: 1, N: 5}}
	if b, r, c := plain.ResultDims(); b != 3 || r != 2 || c != 5 {
		t.Errorf("an ordinary task's result is %dx%dx%d, want its product's 3x2x5", b, r, c)
	}
}

// TestResidentRefusals: every way a resident task or a Keep can disagree
// with the cache is a protocol error.
func TestResidentRefusals(t *testing.T) {
	install := func(ids ...uint32) *protocol.OperandCache {
		c := protocol.NewOperandCache(64)
		for _, id := range ids {
			if err := c.Install(&protocol.Keep{ID: id, Rows: 4, Cols: 2, Data: fill(8)}); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	step := residentTask(protocol.ResidentStep)
	for _, tc := range []struct {
		name     string
		resolve  func() error
		mentions string
	}{
		{"NoCache", func() error { return (*protocol.OperandCache)(nil).Resolve(step) }, "did not offer"},
		{"NoCacheKeep", func() error {
			return (*protocol.OperandCache)(nil).Install(&protocol.Keep{ID: 1, Rows: 1, Cols: 1, Data: []float32{1}})
		}, "did not offer"},
		{"WeightsNotHeld", func() error { return install(2).Resolve(step) }, "not held"},
		{"MomentumNotHeld", func() error { return install(1).Resolve(step) }, "not held"},
		{"WrongSize", func() error {
			c := install(1)
			if err := c.Install(&protocol.Keep{ID: 2, Rows: 2, Cols: 2, Data: fill(4)}); err != nil {
				t.Fatal(err)
			}
			return c.Resolve(step)
		}, "elements"},
		{"Dropped", func() error {
			d := *step
			d.Drop = []uint32{2}
			return install(1, 2).Resolve(&d)
		}, "not held"},
		{"KeepTwice", func() error { return install(1).Install(&protocol.Keep{ID: 1, Rows: 1, Cols: 1, Data: []float32{1}}) }, "already held"},
		{"KeepOverfull", func() error {
			return install(1, 2).Install(&protocol.Keep{ID: 3, Rows: 1, Cols: 1, Data: []float32{1}})
		}, "more than"},
		{"KeepDropsUnknown", func() error {
			return install(1).Install(&protocol.Keep{ID: 3, Drop: []uint32{2}, Rows: 1, Cols: 1, Data: []float32{1}})
		}, "not held"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.resolve()
			if perr, ok := err.(*protocol.Error); !ok || perr.Code != protocol.CodeBadMessage || !strings.Contains(err.Error(), tc.mentions) {
				t.Errorf("got %v, want a bad-message error mentioning %q", err, tc.mentions)
			}
		})
	}
}

// TestResidentDecodeErrors: the decoder refuses resident sections that do
// not fit their task, and Keep messages that are not one matrix.
func TestResidentDecodeErrors(t *testing.T) {
	with := func(f func(*protocol.Task)) []byte {
		m := residentTask(protocol.ResidentStep)
		f(m)
		return protocol.Encode(nil, m)
	}
	keep := protocol.Encode(nil, &protocol.Keep{ID: 1, Rows: 1, Cols: 2, Data: []float32{1, 2}})
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"UnknownMode", func() []byte {
			f := with(func(*protocol.Task) {})
			f[len(f)-17] = 3 // the mode, before two ids and two rates
			return f
		}()},
		{"NotTN", with(func(m *protocol.Task) {
			m.Op = kernel.MatMulNN
			m.A, m.B = fill(12), fill(6)
			m.Shape = kernel.Shape{M: 4, K: 3, N: 2}
		})},
		{"Batched", with(func(m *protocol.Task) { m.Shape.Batch = 2; m.A, m.B = fill(24), fill(12) })},
		{"WeightsIDZero", with(func(m *protocol.Task) { m.Resident.W = 0 })},
		{"SameIDs", with(func(m *protocol.Task) { m.Resident.V = m.Resident.W })},
		{"ZeroRate", with(func(m *protocol.Task) { m.Resident.LR = 0 })},
		{"NaNRate", with(func(m *protocol.Task) { m.Resident.LR = float32(math.NaN()) })},
		{"InfRate", with(func(m *protocol.Task) { m.Resident.LR = float32(math.Inf(1)) })},
		{"MomentumOne", with(func(m *protocol.Task) { m.Resident.Momentum = 1 })},
		{"KeepsUnderResidentID", with(func(m *protocol.Task) { m.BCache = protocol.Cached{Keep: 2} })},
		{"Truncated", func() []byte { f := with(func(*protocol.Task) {}); return f[:len(f)-3] }()},
		{"KeepIDZero", protocol.Encode(nil, &protocol.Keep{Rows: 1, Cols: 1, Data: []float32{1}})},
		{"KeepBatched", func() []byte { f := slices.Clone(keep); f[9] = 2; return f }()},
		{"KeepDropsZero", protocol.Encode(nil, &protocol.Keep{ID: 1, Drop: []uint32{0}, Rows: 1, Cols: 1, Data: []float32{1}})},
		{"KeepDropsItself", protocol.Encode(nil, &protocol.Keep{ID: 1, Drop: []uint32{1}, Rows: 1, Cols: 1, Data: []float32{1}})},
		{"KeepEmpty", protocol.Encode(nil, &protocol.Keep{ID: 1, Cols: 1})},
		{"KeepUnknownEncoding", func() []byte { f := slices.Clone(keep); f[6] = 9; return f }()},
		{"KeepTrailing", append(slices.Clone(keep), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := protocol.Decode(tc.frame)
			if perr, ok := err.(*protocol.Error); !ok || perr.Code != protocol.CodeBadMessage {
				t.Errorf("Decode = %+v, %v; want a bad-message error", m, err)
			}
		})
	}
}

// TestKeepDropsMakeRoom: a Keep's drop list frees what it names before the
// matrix is kept, so a full cache takes it.
func TestKeepDropsMakeRoom(t *testing.T) {
	c := protocol.NewOperandCache(64)
	for _, id := range []uint32{1, 2} {
		if err := c.Install(&protocol.Keep{ID: id, Rows: 4, Cols: 2, Data: fill(8)}); err != nil {
			t.Fatal(err)
		}
	}
	var got protocol.Keep
	if err := protocol.DecodeInto(protocol.Encode(nil, &protocol.Keep{ID: 3, Drop: []uint32{1}, Rows: 4, Cols: 2, Data: fill(8)}), &got); err != nil {
		t.Fatal(err)
	}
	if err := c.Install(&got); err != nil {
		t.Fatalf("install after dropping one: %v", err)
	}
	if c.Len() != 2 || c.Bytes() != 64 {
		t.Errorf("cache holds %d operands, %d bytes; want 2, 64", c.Len(), c.Bytes())
	}
}

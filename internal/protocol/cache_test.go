package protocol_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// decodeTask decodes frame into t (reusing its buffers, as the client
// does) and fails the test on error.
func decodeTask(tb testing.TB, frame []byte, t *protocol.Task) {
	tb.Helper()
	if err := protocol.DecodeInto(frame, t); err != nil {
		tb.Fatalf("decode: %v", err)
	}
}

// TestOperandCacheRoundTrip sends three tasks through the encoder, the
// decoder and a contributor's cache as the client does, reusing one Task
// for every decode: the first keeps A, the second refers to it and keeps
// its B, the third drops A and refers to B. Each resolved task must hold
// exactly the operands the hub meant, and a later decode must not
// overwrite what the cache holds.
func TestOperandCacheRoundTrip(t *testing.T) {
	sh := kernel.Shape{M: 4, K: 3, N: 2}
	x := fill(sh.ALen())
	x2 := seq(sh.ALen(), func(i int) float32 { return 2 * float32(i) })
	w1, w2 := seq(sh.BLen(), func(i int) float32 { return float32(i) }), seq(sh.BLen(), func(i int) float32 { return -float32(i) })
	sent := []*protocol.Task{
		{ID: 1, Op: kernel.MatMulNN, Shape: sh, A: x, B: w1, ACache: protocol.Cached{Keep: 7}},
		{ID: 2, Op: kernel.MatMulNN, Shape: sh, B: w2, ACache: protocol.Cached{Ref: 7}, BCache: protocol.Cached{Keep: 9}},
		{ID: 3, Op: kernel.MatMulNN, Shape: sh, A: x2, BCache: protocol.Cached{Ref: 9}, Drop: []uint32{7}},
	}
	want := [][2][]float32{{x, w1}, {x, w2}, {x2, w2}}
	cache := protocol.NewOperandCache(1 << 10)
	var got protocol.Task
	for i, m := range sent {
		frame := protocol.Encode(nil, m)
		decodeTask(t, frame, &got)
		if got.ACache != m.ACache || got.BCache != m.BCache || !slices.Equal(got.Drop, m.Drop) {
			t.Fatalf("task %d decoded as %+v / %+v drop %v", m.ID, got.ACache, got.BCache, got.Drop)
		}
		if back := protocol.Encode(nil, &got); string(back) != string(frame) {
			t.Fatalf("task %d does not re-encode to the same frame", m.ID)
		}
		if err := cache.Resolve(&got); err != nil {
			t.Fatalf("resolve task %d: %v", m.ID, err)
		}
		if !slices.Equal(got.A, want[i][0]) || !slices.Equal(got.B, want[i][1]) {
			t.Errorf("task %d resolved to A %v B %v, want %v %v", m.ID, got.A, got.B, want[i][0], want[i][1])
		}
	}
	if cache.Len() != 1 || cache.Bytes() != int64(4*sh.BLen()) {
		t.Errorf("cache holds %v, want B of task 2 only", cache)
	}
	// A task decoded into the same buffers must leave the kept B alone.
	decodeTask(t, protocol.Encode(nil, &protocol.Task{ID: 4, Op: kernel.MatMulNN, Shape: sh, A: fill(sh.ALen()), B: w1}), &got)
	probe := &protocol.Task{ID: 5, Op: kernel.MatMulNN, Shape: sh, A: x, BCache: protocol.Cached{Ref: 9}}
	decodeTask(t, protocol.Encode(nil, probe), probe)
	if err := cache.Resolve(probe); err != nil || !slices.Equal(probe.B, w2) {
		t.Errorf("kept operand after reuse: %v, err %v; want %v", probe.B, err, w2)
	}
}

// TestOperandCacheRefusals checks every way a task can disagree with
// what the contributor holds: each is a protocol error, and a task that
// fails leaves what it could not apply unapplied.
func TestOperandCacheRefusals(t *testing.T) {
	sh := kernel.Shape{M: 4, K: 3, N: 2}
	task := func(ac, bc protocol.Cached, drop ...uint32) *protocol.Task {
		m := &protocol.Task{ID: 1, Op: kernel.MatMulNN, Shape: sh, ACache: ac, BCache: bc, Drop: drop}
		if ac.Ref == 0 {
			m.A = fill(sh.ALen())
		}
		if bc.Ref == 0 {
			m.B = fill(sh.BLen())
		}
		return m
	}
	held := func() *protocol.OperandCache {
		c := protocol.NewOperandCache(int64(4 * (sh.ALen() + sh.BLen())))
		if err := c.Resolve(task(protocol.Cached{Keep: 1}, protocol.Cached{})); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name     string
		cache    *protocol.OperandCache
		task     *protocol.Task
		mentions string
	}{
		{"NoCacheRef", nil, task(protocol.Cached{Ref: 1}, protocol.Cached{}), "did not offer"},
		{"NoCacheKeep", nil, task(protocol.Cached{}, protocol.Cached{Keep: 1}), "did not offer"},
		{"NoCacheDrop", nil, task(protocol.Cached{}, protocol.Cached{}, 3), "did not offer"},
		{"UnknownRef", held(), task(protocol.Cached{Ref: 2}, protocol.Cached{}), "not held"},
		{"UnknownDrop", held(), task(protocol.Cached{}, protocol.Cached{}, 2), "not held"},
		{"KeepTwice", held(), task(protocol.Cached{Keep: 1}, protocol.Cached{}), "already held"},
		{"Overfull", held(), task(protocol.Cached{Keep: 2}, protocol.Cached{Keep: 3}), "more bytes"},
		{"RefWrongSize", held(), task(protocol.Cached{}, protocol.Cached{Ref: 1}), "elements"},
		{"RefDropped", held(), task(protocol.Cached{Ref: 1}, protocol.Cached{}, 1), "not held"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got protocol.Task
			decodeTask(t, protocol.Encode(nil, tc.task), &got)
			err := tc.cache.Resolve(&got)
			if perr, ok := err.(*protocol.Error); !ok || perr.Code != protocol.CodeBadMessage || !strings.Contains(err.Error(), tc.mentions) {
				t.Errorf("Resolve: %v, want a bad-message error mentioning %q", err, tc.mentions)
			}
		})
	}
}

// TestOperandDecodeErrors checks the decoder's refusals of cache fields.
func TestOperandDecodeErrors(t *testing.T) {
	sh := kernel.Shape{M: 4, K: 3, N: 2}
	base := func() *protocol.Task {
		return &protocol.Task{ID: 1, Op: kernel.MatMulNN, Shape: sh, A: fill(sh.ALen()), B: fill(sh.BLen())}
	}
	modeOff := taskAOff - 1
	tooMany := base()
	tooMany.Drop = make([]uint32, protocol.MaxDrop) // the encoder caps at MaxDrop; the test raises the count
	for i := range tooMany.Drop {
		tooMany.Drop[i] = uint32(i + 1)
	}
	sameKeep := base()
	sameKeep.ACache, sameKeep.BCache = protocol.Cached{Keep: 5}, protocol.Cached{Keep: 5}
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"UnknownMode", frameWith(base(), func(f []byte) []byte { f[modeOff] = 3; return f })},
		{"RefIDZero", frameWith(base(), func(f []byte) []byte {
			// mode ref, id 0, and no tensor: the frame is cut after the id.
			f[modeOff] = 2
			return append(f[:modeOff+1], 0, 0, 0, 0)
		})},
		{"TooManyDrops", frameWith(tooMany, func(f []byte) []byte {
			dropOff := taskMOff + 3*4 + 4 + 1     // the drop count, after M K N, lease and encoding
			f[dropOff], f[dropOff+1] = 0x01, 0x04 // 1025
			return f
		})},
		{"DropIDZero", protocol.Encode(nil, &protocol.Task{ID: 1, Op: kernel.MatMulNN, Shape: sh, A: fill(sh.ALen()), B: fill(sh.BLen()), Drop: []uint32{0}})},
		{"SameKeep", protocol.Encode(nil, sameKeep)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := protocol.Decode(tc.frame)
			if perr, ok := err.(*protocol.Error); !ok || perr.Code != protocol.CodeBadMessage {
				t.Errorf("Decode = %+v, %v; want a bad-message error", m, err)
			}
		})
	}
}

// TestCacheSizeInHandshake checks the cache sizes in Hello and Welcome.
func TestCacheSizeInHandshake(t *testing.T) {
	h := &protocol.Hello{Slots: 1, CacheMiB: 64, Kernels: kernel.Ops}
	m, err := protocol.Decode(protocol.Encode(nil, h))
	if err != nil || m.(*protocol.Hello).CacheMiB != 64 {
		t.Fatalf("hello: %+v, %v", m, err)
	}
	w := &protocol.Welcome{LeaseMillis: 1000, MaxSlots: 4, CacheMiB: 32}
	m, err = protocol.Decode(protocol.Encode(nil, w))
	if err != nil || *m.(*protocol.Welcome) != *w {
		t.Fatalf("welcome: %+v, %v", m, err)
	}
	big := protocol.Encode(nil, &protocol.Hello{Slots: 1, CacheMiB: protocol.MaxCacheMiB})
	at := len(big) - 2 // the size is the last field of a hello without jobs
	big[at], big[at+1] = 0xff, 0xff
	if _, err := protocol.Decode(big); err == nil {
		t.Error("a hello offering 65535 MiB decoded")
	}
}

//go:build !js

package gpu_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestReadbackSurvivesGC runs readbacks while another goroutine churns the
// heap, so that automatic collections keep happening. The binding's
// MapAsync hands wgpu-native a pointer to Go memory it does not keep
// alive; a collection before the callback ran made the callback panic
// ("misuse of an invalid Handle"), also while startMap turned the
// collector off around each map (a cycle already starting still ran). startMap now calls
// wgpuBufferMapAsync itself with an integer id as the callback's userdata
// (mapread_native.go), so wgpu-native holds no Go memory.
func TestReadbackSurvivesGC(t *testing.T) {
	d := openDevice(t, 0)
	stop := make(chan struct{})
	churned := make(chan int)
	go func() {
		var keep [][]byte
		n := 0
		for {
			select {
			case <-stop:
				churned <- n
				return
			default:
			}
			for range 1000 {
				keep = append(keep, make([]byte, 8)) // the size class of a cgo.Handle
			}
			if len(keep) > 100000 {
				keep, n = nil, n+1
			}
		}
	}()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	s := kernel.Shape{M: 33, K: 65, N: 17}
	a, b, c := make([]float32, s.ALen()), make([]float32, s.BLen()), make([]float32, s.CLen())
	deadline := time.Now().Add(4 * time.Second)
	runs := 0
	for time.Now().Before(deadline) {
		if err := d.Run(context.Background(), kernel.MatMulNN, s, a, b, c); err != nil {
			t.Fatal(err)
		}
		runs++
	}
	close(stop)
	<-churned
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.NumGC == before.NumGC {
		t.Fatal("no garbage collection ran: the test proves nothing")
	}
	t.Logf("%d readbacks across %d collections", runs, after.NumGC-before.NumGC)
}

package protocol_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// samplesMaxHello is a hello whose every field but Jobs is at its limit.
func samplesMaxHello() *protocol.Hello {
	ks := make([]kernel.Op, maxKernels)
	for i := range ks {
		ks[i] = kernel.Ops[i%3]
	}
	return &protocol.Hello{
		Slots: math.MaxUint16, Agent: strings.Repeat("a", maxName),
		Device: protocol.DeviceInfo{
			Backend: strings.Repeat("b", maxDevice), Adapter: strings.Repeat("é", maxDevice/2),
			AdapterType: strings.Repeat("t", maxDevice), Variant: strings.Repeat("v", maxDevice),
		},
		Kernels: ks,
	}
}

// maxJobs returns n distinct job names of the longest length allowed.
func maxJobs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%03d", i) + strings.Repeat("j", protocol.MaxJobName-3)
	}
	return out
}

// jobsFrame appends to f a job list of n names, each size bytes long.
func jobsFrame(f []byte, n, size int) []byte {
	f = append(bytes.Clone(f), byte(n))
	for range n {
		f = binary.LittleEndian.AppendUint16(f, uint16(size))
		f = append(f, bytes.Repeat([]byte{'j'}, size)...)
	}
	return f
}

// TestDecodeJobsErrors checks the refusals of malformed job lists: in a
// hello (present but empty, too many, too long, empty names, cut short,
// trailing bytes), in Choose and in Chosen.
func TestDecodeJobsErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		code  protocol.Code
	}{
		{"ErrHelloJobsPresentButEmpty", append(protocol.Encode(nil, &protocol.Hello{Slots: 1}), 0), protocol.CodeBadMessage},
		{"ErrHelloTooManyJobs", jobsFrame(protocol.Encode(nil, &protocol.Hello{Slots: 1}), protocol.MaxJobs+1, 3), protocol.CodeBadMessage},
		{"ErrHelloJobNameTooLong", jobsFrame(protocol.Encode(nil, &protocol.Hello{Slots: 1}), 1, protocol.MaxJobName+1), protocol.CodeBadMessage},
		{"ErrHelloJobNameEmpty", jobsFrame(protocol.Encode(nil, &protocol.Hello{Slots: 1}), 2, 0), protocol.CodeBadMessage},
		{"ErrHelloJobsTruncated", func() []byte {
			f := jobsFrame(protocol.Encode(nil, &protocol.Hello{Slots: 1}), 2, 5)
			return f[:len(f)-3]
		}(), protocol.CodeBadMessage},
		{"ErrHelloJobsTrailing", append(protocol.Encode(nil, &protocol.Hello{Slots: 1, Jobs: []string{"a"}}), 0), protocol.CodeBadMessage},
		{"ErrChooseNoCount", []byte{protocol.Version, byte(protocol.KindChoose)}, protocol.CodeBadMessage},
		{"ErrChooseTooMany", jobsFrame([]byte{protocol.Version, byte(protocol.KindChoose)}, protocol.MaxJobs+1, 1), protocol.CodeBadMessage},
		{"ErrChooseEmptyName", jobsFrame([]byte{protocol.Version, byte(protocol.KindChoose)}, 1, 0), protocol.CodeBadMessage},
		{"ErrChooseTrailing", append(protocol.Encode(nil, &protocol.Choose{Jobs: []string{"x"}}), 'y'), protocol.CodeBadMessage},
		{"ErrChosenTooManyUnknown", jobsFrame([]byte{protocol.Version, byte(protocol.KindChosen), 0}, protocol.MaxJobs+1, 1), protocol.CodeBadMessage},
		{"ErrChosenTooManyAvailable", jobsFrame([]byte{protocol.Version, byte(protocol.KindChosen), 0, 0}, protocol.MaxAvailable+1, 1), protocol.CodeBadMessage},
		{"ErrChosenMissingList", []byte{protocol.Version, byte(protocol.KindChosen), 0, 0}, protocol.CodeBadMessage},
		{"ErrChooseTooLarge", append(protocol.Encode(nil, &protocol.Choose{}), make([]byte, protocol.MaxSize(protocol.KindChoose))...), protocol.CodeTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := protocol.Decode(tc.frame)
			if err == nil {
				t.Fatalf("Decode succeeded with %+v", m)
			}
			wantCode(t, err, tc.code)
			into := newOf(mustKind(t, protocol.Kind(tc.frame[1])))
			wantCode(t, protocol.DecodeInto(tc.frame, into), tc.code)
		})
	}
}

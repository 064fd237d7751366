// Package ckpt reads and writes training checkpoints: a step count, the
// optimizer's update count and a list of float32 vectors (parameters
// first, then optimizer state), in one checksummed file replaced
// atomically. Every model of hub/train and hub/lm uses it.
//
// Entry points: Write and Read.
package ckpt

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

// File layout (little-endian):
//
//	magic "TSRCKPT1" | step u64 | optimizer updates u64 | vectors u32 |
//	per vector: length u64, float32 values | CRC-32 (IEEE) of all before it
var magic = [8]byte{'T', 'S', 'R', 'C', 'K', 'P', 'T', '1'}

// maxVector bounds one vector so that a corrupt length cannot make the
// loader allocate without limit.
const maxVector = 1 << 30

// State is what a checkpoint holds.
type State struct {
	// Step is the number of training steps applied.
	Step int
	// Updates is the optimizer's count of updates (bias correction).
	Updates int
	// Vectors are the parameters, then the optimizer's state vectors.
	Vectors [][]float32
}

// Write saves st to path atomically: a temporary file in the same
// directory is written, synced and renamed over path, and the directory is
// synced, so a crash leaves either the old file or the new one.
func Write(path string, st State) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	crc := crc32.NewIEEE()
	w := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
	hdr := make([]byte, 0, 28)
	hdr = append(hdr, magic[:]...)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(st.Step))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(st.Updates))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(st.Vectors)))
	w.Write(hdr)
	var buf [4]byte
	for _, v := range st.Vectors {
		binary.LittleEndian.PutUint64(hdr[:8], uint64(len(v)))
		w.Write(hdr[:8])
		for _, x := range v {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(x))
			w.Write(buf[:])
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	if _, err := f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("checkpoint: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: close: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("checkpoint: rename: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ErrCorrupt is returned for a checkpoint that fails its checks.
var ErrCorrupt = errors.New("corrupt checkpoint")

// Read loads the checkpoint at path after checking its magic, sizes and
// checksum. The caller checks the vectors against its model.
func Read(path string) (State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return State{}, fmt.Errorf("load checkpoint: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("load checkpoint %s: %w: %s", path, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(data) < 8+8+8+4+4 {
		return State{}, bad("file of %d bytes is too short", len(data))
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return State{}, bad("checksum mismatch")
	}
	if [8]byte(body[:8]) != magic {
		return State{}, bad("not a Tessera checkpoint")
	}
	step := binary.LittleEndian.Uint64(body[8:])
	updates := binary.LittleEndian.Uint64(body[16:])
	n := binary.LittleEndian.Uint32(body[24:])
	if step > math.MaxInt32 || updates > math.MaxInt32 {
		return State{}, bad("step %d out of range", step)
	}
	rest := body[28:]
	vecs := make([][]float32, 0, min(n, 16))
	for i := uint32(0); i < n; i++ {
		if len(rest) < 8 {
			return State{}, bad("truncated vector header")
		}
		l := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		if l > maxVector || uint64(len(rest)) < 4*l {
			return State{}, bad("vector %d of %d values does not fit", i, l)
		}
		v := make([]float32, l)
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*k:]))
		}
		rest = rest[4*l:]
		vecs = append(vecs, v)
	}
	if len(rest) != 0 {
		return State{}, bad("%d trailing bytes", len(rest))
	}
	if len(vecs) < 1 {
		return State{}, bad("no parameter vector")
	}
	return State{Step: int(step), Updates: int(updates), Vectors: vecs}, nil
}

package train

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

// Checkpoint file layout (little-endian):
//
//	magic "TSRCKPT1" | step u64 | optimizer updates u64 | vectors u32 |
//	per vector: length u64, float32 values | CRC-32 (IEEE) of all before it
//
// Vector 0 is the parameters, the rest the optimizer's state.
var ckptMagic = [8]byte{'T', 'S', 'R', 'C', 'K', 'P', 'T', '1'}

// maxCkptVector bounds one vector so that a corrupt length cannot make the
// loader allocate without limit.
const maxCkptVector = 1 << 30

// SaveCheckpoint writes the trainer's state to path atomically: a
// temporary file in the same directory is written, synced and renamed over
// path, and the directory is synced, so a crash leaves either the old file
// or the new one.
func (t *Trainer) SaveCheckpoint(path string) (err error) {
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
	vecs, updates := t.opt.state()
	vecs = append([][]float32{t.params}, vecs...)
	hdr := make([]byte, 0, 28)
	hdr = append(hdr, ckptMagic[:]...)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(t.step))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(updates))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(vecs)))
	w.Write(hdr)
	var buf [4]byte
	for _, v := range vecs {
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

// ErrCorruptCheckpoint is returned for a checkpoint that fails its checks.
var ErrCorruptCheckpoint = errors.New("corrupt checkpoint")

// LoadCheckpoint replaces the trainer's state with the one in path, after
// checking the file's magic, sizes against the model, and checksum.
func (t *Trainer) LoadCheckpoint(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("load checkpoint %s: %w: %s", path, ErrCorruptCheckpoint, fmt.Sprintf(format, args...))
	}
	if len(data) < 8+8+8+4+4 {
		return bad("file of %d bytes is too short", len(data))
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return bad("checksum mismatch")
	}
	if [8]byte(body[:8]) != ckptMagic {
		return bad("not a Tessera checkpoint")
	}
	step := binary.LittleEndian.Uint64(body[8:])
	updates := binary.LittleEndian.Uint64(body[16:])
	n := binary.LittleEndian.Uint32(body[24:])
	rest := body[28:]
	vecs := make([][]float32, 0, min(n, 16))
	for i := uint32(0); i < n; i++ {
		if len(rest) < 8 {
			return bad("truncated vector header")
		}
		l := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		if l > maxCkptVector || uint64(len(rest)) < 4*l {
			return bad("vector %d of %d values does not fit", i, l)
		}
		v := make([]float32, l)
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*k:]))
		}
		rest = rest[4*l:]
		vecs = append(vecs, v)
	}
	if len(rest) != 0 {
		return bad("%d trailing bytes", len(rest))
	}
	if len(vecs) < 1 || len(vecs[0]) != len(t.params) {
		return bad("parameters do not match the model (%d values)", len(t.params))
	}
	if step > math.MaxInt32 || updates > math.MaxInt32 {
		return bad("step %d out of range", step)
	}
	if err := t.opt.setState(vecs[1:], int(updates)); err != nil {
		return bad("%v", err)
	}
	t.params = vecs[0]
	t.step = int(step)
	return nil
}

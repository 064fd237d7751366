package protocol

// Operand caching. Training sends the same operand in many tasks: a
// layer's activations go with every column tile of its weights, and again
// (transposed) with every tile of the weight gradient. A contributor that
// offers a cache (Hello.CacheMiB; the hub answers with the size it will
// use in Welcome.CacheMiB) receives such an operand once: the task that
// first carries it says to keep it under an id, later tasks name the id
// instead of carrying it. The hub alone decides what is kept and what is
// forgotten (Task.Drop), and keeps within the agreed size, so both sides
// always agree on what the contributor holds; a task that refers to an id
// the contributor does not hold, or would overfill the cache, is a
// protocol error. The cache lives as long as the connection.

// MaxDrop bounds the ids one task may tell a contributor to forget.
const MaxDrop = 1024

// MaxCacheMiB bounds the cache a contributor may offer.
const MaxCacheMiB = 4096

// Cached says what a contributor does with one operand of a task. The
// zero value: the operand is in the task and is not kept.
type Cached struct {
	// Keep, when not 0, is the id under which the contributor keeps the
	// operand, which the task carries, for later tasks.
	Keep uint32
	// Ref, when not 0, is the id of an operand the contributor keeps; the
	// task does not carry it.
	Ref uint32
}

// Operand modes on the wire.
const (
	operandInline = 0 // the tensor follows
	operandKeep   = 1 // an id, then the tensor, to be kept under the id
	operandRef    = 2 // an id of a kept operand; no tensor
)

// appendOperand appends one operand of a task: its mode, its id, and its
// tensor unless it is a reference.
func appendOperand(dst []byte, c Cached, enc Encoding, batch, rows, cols int, v []float32) []byte {
	switch {
	case c.Ref != 0:
		dst = append(dst, operandRef)
		return appendU32(dst, c.Ref)
	case c.Keep != 0:
		dst = append(dst, operandKeep)
		dst = appendU32(dst, c.Keep)
	default:
		dst = append(dst, operandInline)
	}
	return appendTensor(dst, enc, batch, rows, cols, v)
}

// operand reads one operand of a task into dst. A kept operand is decoded
// into new memory (the cache owns it from then on), and a reference
// leaves the operand empty for OperandCache.Resolve to fill; shared
// records that dst must not be reused by the next decode.
func (r *reader) operand(what string, enc Encoding, dst []float32, shared *bool, batch, rows, cols int) ([]float32, Cached) {
	if *shared {
		dst, *shared = nil, false
	}
	var c Cached
	switch mode := r.u8("operand mode"); mode {
	case operandInline:
	case operandKeep, operandRef:
		id := r.u32("operand id")
		if r.err == nil && id == 0 {
			r.fail("%s: operand id 0", what)
		}
		if mode == operandRef {
			c.Ref, *shared = id, true
			return nil, c
		}
		c.Keep, dst, *shared = id, nil, true
	default:
		r.fail("%s: unknown operand mode %d", what, mode)
		return dst[:0], c
	}
	return r.tensor(what, enc, dst, batch, rows, cols), c
}

// OperandCache is a contributor's side of operand caching: the operands
// the hub told it to keep, by id.
type OperandCache struct {
	limit, used int64
	ops         map[uint32][]float32
}

// NewOperandCache returns a cache of at most limit bytes (4 per element).
func NewOperandCache(limit int64) *OperandCache {
	return &OperandCache{limit: limit, ops: map[uint32][]float32{}}
}

// Len is the number of operands held; Bytes their size.
func (c *OperandCache) Len() int { return len(c.ops) }

// Bytes is the size of the operands held, 4 bytes per element.
func (c *OperandCache) Bytes() int64 { return c.used }

// Resolve applies a decoded task to the cache, in the order the hub
// planned it: the task's drops, then its references (filled in from the
// cache), then the operands it says to keep. A nil cache holds nothing.
// An error means the hub and the contributor disagree about what is held:
// a protocol error that ends the connection.
func (c *OperandCache) Resolve(t *Task) error {
	if c == nil {
		if len(t.Drop) > 0 || t.ACache != (Cached{}) || t.BCache != (Cached{}) || t.Resident.Mode != ResidentNone {
			return Errorf(CodeBadMessage, "task %d uses an operand cache this contributor did not offer", t.ID)
		}
		return nil
	}
	if err := c.forget(t.Drop, "task", t.ID); err != nil {
		return err
	}
	ar, ac := t.Op.ADims(t.Shape)
	br, bc := t.Op.BDims(t.Shape)
	n := t.Shape.Count()
	var err error
	if t.A, err = c.resolve(t.ID, "A", t.ACache, t.A, n*ar*ac); err != nil {
		return err
	}
	if t.B, err = c.resolve(t.ID, "B", t.BCache, t.B, n*br*bc); err != nil {
		return err
	}
	if err := c.keep(t.ID, t.ACache.Keep, t.A); err != nil {
		return err
	}
	if err := c.keep(t.ID, t.BCache.Keep, t.B); err != nil {
		return err
	}
	return c.resolveResident(t)
}

// resolve returns the operand of task id: v itself, or the kept operand
// it refers to, which must have want elements.
func (c *OperandCache) resolve(id uint64, what string, cc Cached, v []float32, want int) ([]float32, error) {
	if cc.Ref == 0 {
		return v, nil
	}
	kept, ok := c.ops[cc.Ref]
	if !ok {
		return nil, Errorf(CodeBadMessage, "task %d: operand %s refers to id %d, which is not held", id, what, cc.Ref)
	}
	if len(kept) != want {
		return nil, Errorf(CodeBadMessage, "task %d: operand %s refers to id %d of %d elements, the shape needs %d", id, what, cc.Ref, len(kept), want)
	}
	return kept, nil
}

// keep stores v under id (0: nothing to keep).
func (c *OperandCache) keep(task uint64, id uint32, v []float32) error {
	if id == 0 {
		return nil
	}
	if _, dup := c.ops[id]; dup {
		return Errorf(CodeBadMessage, "task %d keeps operand %d, which is already held", task, id)
	}
	size := 4 * int64(len(v))
	if c.used+size > c.limit {
		return Errorf(CodeBadMessage, "task %d keeps %d more bytes than the %d-byte operand cache holds", task, c.used+size-c.limit, c.limit)
	}
	c.used += size
	c.ops[id] = v
	return nil
}

// forget applies the drop list of a message (what, and its id).
func (c *OperandCache) forget(ids []uint32, what string, msg uint64) error {
	for _, id := range ids {
		v, ok := c.ops[id]
		if !ok {
			return Errorf(CodeBadMessage, "%s %d drops operand %d, which is not held", what, msg, id)
		}
		c.used -= 4 * int64(len(v))
		delete(c.ops, id)
	}
	return nil
}

// appendDrops appends a drop list: its count, then the ids (at most
// MaxDrop of them).
func appendDrops(dst []byte, ids []uint32) []byte {
	ids = ids[:min(len(ids), MaxDrop)]
	dst = appendU16(dst, uint16(len(ids)))
	for _, id := range ids {
		dst = appendU32(dst, id)
	}
	return dst
}

// drops reads a drop list into dst, refusing more than MaxDrop ids, id 0
// and the id self (0: none). An empty list, or one that fails, is nil.
func (r *reader) drops(dst []uint32, self uint32) []uint32 {
	nd := int(r.u16("drop count"))
	if r.err == nil && nd > MaxDrop {
		r.fail("drops %d operands, more than %d", nd, MaxDrop)
		return nil
	}
	for range nd {
		id := r.u32("dropped id")
		if r.err == nil && (id == 0 || id == self) {
			r.fail("dropped operand id %d", id)
		}
		dst = append(dst, id)
	}
	if nd == 0 || r.err != nil {
		return nil
	}
	return dst
}

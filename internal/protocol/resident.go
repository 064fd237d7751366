package protocol

import (
	"math"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Resident weights. A contributor may keep a weight matrix and its
// momentum between training steps and apply SGD with momentum to them
// itself, so that the weights need not travel down every step nor their
// gradient up; the hub checks the products made with them against sketches
// it follows from what it sends (hub/train/resident has the method). Two
// things carry it on the wire:
//
//   - Keep installs a matrix in the operand cache under an id, as a task's
//     kept operand would be but without a product: the weights when the
//     contributor first receives them, and their momentum.
//   - A task's Resident section makes its product (Xᵀ·dY, a TN product
//     of the shape of the kept matrices) the gradient of the matrix kept
//     under W, with momentum under V: the contributor applies
//     kernel.MomentumStep to them in place and returns, instead of the
//     gradient, either the updated matrix's squared row and column norms
//     (ResidentStep), or the updated matrix and momentum themselves
//     (ResidentStepReturn, at a checkpoint).
//
// Tasks run in the order they arrive, so a product sent after an update
// sees the updated weights and one sent before it does not. The kept
// matrices are forgotten as any kept operand is, by a task's Drop list.

// ResidentMode says what a task does with kept weights.
type ResidentMode uint8

const (
	// ResidentNone: an ordinary task.
	ResidentNone ResidentMode = 0
	// ResidentStep: apply the update; the result is one row of M+N values,
	// the updated matrix's squared row norms, then its squared column
	// norms (kernel.SquaredNorms).
	ResidentStep ResidentMode = 1
	// ResidentStepReturn: apply the update; the result is a batch of two
	// M×N matrices, the updated weights, then the updated momentum.
	ResidentStepReturn ResidentMode = 2
)

// Resident is a task's resident-weights section; its zero value is none.
type Resident struct {
	Mode ResidentMode
	// W and V are the ids of the kept weights and momentum, both of the
	// task's result shape (M×N).
	W, V uint32
	// LR and Momentum are the update's rates: 0 < LR, 0 ≤ Momentum < 1.
	LR, Momentum float32
}

// residentSize is the section's size on the wire: the mode, then, unless
// it is ResidentNone, the two ids and the two rates.
const residentSize = 1 + 4 + 4 + 4 + 4

func appendResident(dst []byte, r Resident) []byte {
	dst = append(dst, byte(r.Mode))
	if r.Mode == ResidentNone {
		return dst
	}
	dst = appendU32(dst, r.W)
	dst = appendU32(dst, r.V)
	dst = appendU32(dst, math.Float32bits(r.LR))
	return appendU32(dst, math.Float32bits(r.Momentum))
}

// resident reads task m's resident section and checks it against the task.
func (r *reader) resident(m *Task) {
	m.Resident = Resident{Mode: ResidentMode(r.u8("resident mode"))}
	if r.err != nil || m.Resident.Mode == ResidentNone {
		return
	}
	if m.Resident.Mode > ResidentStepReturn {
		r.fail("unknown resident mode %d", m.Resident.Mode)
		return
	}
	res := &m.Resident
	res.W, res.V = r.u32("resident weights id"), r.u32("resident momentum id")
	res.LR = math.Float32frombits(r.u32("learning rate"))
	res.Momentum = math.Float32frombits(r.u32("momentum"))
	switch {
	case r.err != nil:
	case m.Op != kernel.MatMulTN || m.Shape.Count() != 1:
		r.fail("a resident update needs one TN product, not %v %v", m.Op, m.Shape)
	case res.W == 0 || res.V == 0 || res.W == res.V:
		r.fail("resident weights id %d and momentum id %d must be distinct and not 0", res.W, res.V)
	case !(res.LR > 0) || math.IsInf(float64(res.LR), 0) || !(res.Momentum >= 0 && res.Momentum < 1):
		r.fail("resident update rates %v and %v: want 0 < lr and 0 ≤ momentum < 1", res.LR, res.Momentum)
	case m.Shape.M*m.Shape.N*2 > kernel.MaxElems:
		r.fail("resident matrices of %d×%d are too large to return", m.Shape.M, m.Shape.N)
	case keeps(m.ACache, res) || keeps(m.BCache, res):
		r.fail("a task keeps an operand under the id of its resident weights or momentum")
	}
}

func keeps(c Cached, r *Resident) bool { return c.Keep != 0 && (c.Keep == r.W || c.Keep == r.V) }

// ResultDims returns the dimensions of the result a task asks for: its
// product's, or what its resident mode returns instead.
func (m *Task) ResultDims() (batch, rows, cols int) { return ResultDims(m.Shape, m.Resident.Mode) }

// ResultDims returns the dimensions of the result of a task of shape sh
// and resident mode: the product's, or what the mode returns instead. A
// batch of 0 is one matrix, as in kernel.Shape.
func ResultDims(sh kernel.Shape, mode ResidentMode) (batch, rows, cols int) {
	switch mode {
	case ResidentStep:
		return 0, 1, sh.M + sh.N
	case ResidentStepReturn:
		return 2, sh.M, sh.N
	}
	return sh.Batch, sh.M, sh.N
}

// Kept returns the matrices a resident task updates, as OperandCache.Resolve
// found them: the weights and the momentum, each M×N. They belong to the
// cache; the contributor updates them in place.
func (m *Task) Kept() (w, v []float32) { return m.keptW, m.keptV }

const keepFixed = 4 + 1 + 2 // id, encoding, drop count

// Keep installs a Rows×Cols matrix in the contributor's operand cache under
// ID, as a task's kept operand would be: see "Resident weights" above.
type Keep struct {
	ID uint32
	// Drop lists kept operands to forget first, to make room.
	Drop       []uint32
	Wire       Encoding
	Rows, Cols int
	Data       []float32
}

// Kind implements Message.
func (*Keep) Kind() Kind { return KindKeep }

func (m *Keep) appendBody(dst []byte) []byte {
	dst = grow(dst, keepFixed+4*len(m.Drop)+tensorHeader+m.Wire.Size()*len(m.Data))
	dst = appendU32(dst, m.ID)
	dst = append(dst, byte(m.Wire))
	dst = appendDrops(dst, m.Drop)
	return appendTensor(dst, m.Wire, 0, m.Rows, m.Cols, m.Data)
}

func (m *Keep) decodeBody(r *reader) error {
	m.ID = r.u32("kept id")
	m.Wire = Encoding(r.u8("encoding"))
	if r.err != nil {
		return nil
	}
	if m.ID == 0 {
		return Errorf(CodeBadMessage, "keep: id 0")
	}
	if !m.Wire.Valid() {
		return Errorf(CodeBadMessage, "keep: unknown encoding %d", uint8(m.Wire))
	}
	if m.Drop = r.drops(nil, m.ID); r.err != nil {
		return nil
	}
	if len(r.b) < tensorHeader {
		r.fail("truncated kept tensor header")
		return nil
	}
	batch, rows, cols := int(leU32(r.b)), int(leU32(r.b[4:])), int(leU32(r.b[8:]))
	if batch != 0 || rows < 1 || cols < 1 || rows > kernel.MaxDim || cols > kernel.MaxDim || rows*cols > kernel.MaxElems {
		return Errorf(CodeBadMessage, "keep: a %dx%dx%d tensor; want one matrix within the size limits", batch, rows, cols)
	}
	m.Rows, m.Cols = rows, cols
	// The cache owns what it keeps: always decode into new memory.
	m.Data = r.tensor("kept matrix", m.Wire, nil, 0, rows, cols)
	return nil
}

// Install keeps the matrix of a Keep message, within the cache's size; an
// id already held, or no room, is a protocol error.
func (c *OperandCache) Install(m *Keep) error {
	if c == nil {
		return Errorf(CodeBadMessage, "the hub keeps matrix %d in an operand cache this contributor did not offer", m.ID)
	}
	if err := c.forget(m.Drop, "keep", uint64(m.ID)); err != nil {
		return err
	}
	if _, dup := c.ops[m.ID]; dup {
		return Errorf(CodeBadMessage, "the hub keeps matrix %d, whose id is already held", m.ID)
	}
	if size := 4 * int64(len(m.Data)); c.used+size > c.limit {
		return Errorf(CodeBadMessage, "matrix %d is %d bytes more than the %d-byte operand cache holds", m.ID, c.used+size-c.limit, c.limit)
	}
	return c.keep(0, m.ID, m.Data)
}

// resolveResident finds the matrices a resident task updates.
func (c *OperandCache) resolveResident(t *Task) error {
	t.keptW, t.keptV = nil, nil
	if t.Resident.Mode == ResidentNone {
		return nil
	}
	want := t.Shape.M * t.Shape.N
	var err error
	if t.keptW, err = c.resolve(t.ID, "resident weights", Cached{Ref: t.Resident.W}, nil, want); err != nil {
		return err
	}
	t.keptV, err = c.resolve(t.ID, "resident momentum", Cached{Ref: t.Resident.V}, nil, want)
	return err
}

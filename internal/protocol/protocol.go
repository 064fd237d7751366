// Package protocol is Tessera's wire protocol between the hub and its
// contributors.
//
// Every websocket message is one binary frame:
//
//	[0]   protocol version (Version)
//	[1]   message kind (Kind)
//	[2:]  the kind's body, little-endian fixed-width fields
//
// Strings are a uint16 length followed by UTF-8 bytes. Tensors are a fixed
// 12-byte header (batch, rows, cols as uint32) followed by
// batch·rows·cols raw little-endian float32 values (batch 0 counts as 1,
// as in kernel.Shape): there is no per-element text anywhere. A batched
// task's operands and result are its products' matrices one after the
// other.
//
// Each kind has a maximum frame size (MaxSize), enforced by ReadFrame before
// the body is read. Encode appends a message to a buffer; Decode and
// DecodeInto parse one. The package has no dependencies beyond the standard
// library and internal/kernel, so it builds for GOOS=js.
package protocol

import (
	"fmt"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Version is the protocol version this package speaks. A peer that sends
// another version is refused with CodeVersion. Version 2 added batched
// tasks: a batch count in the task and in every tensor header; the jobs
// a contributor chooses (an optional list at the end of Hello, and the
// Choose and Chosen kinds, which a hub sends or expects only from a
// contributor that chose); and operand caching (cache.go): a cache size
// in Hello and Welcome, and in every task a drop list and each operand's
// mode; and resident weights (resident.go): the Keep kind and a resident
// section at the end of every task. Version 2 has not been released
// outside this tree, so each of these went into it (RATIONALE.md).
const Version = 2

// HeaderSize is the size of the frame header (version, kind).
const HeaderSize = 2

// Kind identifies a message type. Values travel on the wire.
type Kind uint8

// Message kinds. The arrow gives the direction.
const (
	KindChallenge Kind = 1  // hub -> contributor: nonce to sign
	KindHello     Kind = 2  // contributor -> hub: identity, signature, device, slots
	KindWelcome   Kind = 3  // hub -> contributor: handshake accepted
	KindCapacity  Kind = 4  // contributor -> hub: how many tasks it can hold now
	KindTask      Kind = 5  // hub -> contributor: a leased task
	KindResult    Kind = 6  // contributor -> hub: a task's output
	KindVerdict   Kind = 7  // hub -> contributor: a result accepted or refused, with reason
	KindError     Kind = 8  // either way: a protocol-level error (usually before closing)
	KindModule    Kind = 9  // hub -> contributor: a kernel module for ops it lacks
	KindChoose    Kind = 10 // contributor -> hub: the jobs it works for from now on
	KindChosen    Kind = 11 // hub -> contributor: which chosen jobs the hub knows
	KindKeep      Kind = 12 // hub -> contributor: a matrix to keep in the operand cache
)

func (k Kind) String() string {
	switch k {
	case KindChallenge:
		return "challenge"
	case KindHello:
		return "hello"
	case KindWelcome:
		return "welcome"
	case KindCapacity:
		return "capacity"
	case KindTask:
		return "task"
	case KindResult:
		return "result"
	case KindVerdict:
		return "verdict"
	case KindError:
		return "error"
	case KindModule:
		return "module"
	case KindChoose:
		return "choose"
	case KindChosen:
		return "chosen"
	case KindKeep:
		return "keep"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MaxTensorBytes bounds one tensor's payload. Operands of a task and the
// result are each at most this large.
const MaxTensorBytes = 4 * kernel.MaxElems

// Maximum frame sizes per kind, header included.
const (
	maxSmall  = 1 << 10
	maxModule = 16 << 20
	maxHello  = 4 << 10
	maxChoose = 4 << 10
	maxChosen = 16 << 10
	maxTask   = HeaderSize + taskFixed + 4*MaxDrop + 2*(taskOperand+tensorHeader+MaxTensorBytes) + residentSize
	maxKeep   = HeaderSize + keepFixed + 4*MaxDrop + tensorHeader + MaxTensorBytes
	maxResult = HeaderSize + resultFixed + tensorHeader + MaxTensorBytes
)

// MaxSize returns the largest frame allowed for kind k, or 0 for an unknown kind.
func MaxSize(k Kind) int {
	switch k {
	case KindChallenge, KindWelcome, KindCapacity, KindVerdict, KindError:
		return maxSmall
	case KindHello:
		return maxHello
	case KindTask:
		return maxTask
	case KindResult:
		return maxResult
	case KindModule:
		return maxModule
	case KindChoose:
		return maxChoose
	case KindChosen:
		return maxChosen
	case KindKeep:
		return maxKeep
	}
	return 0
}

// MaxFrame is the largest frame of any kind; use it as the websocket read limit.
const MaxFrame = maxTask

// Message is implemented by every message type.
type Message interface {
	// Kind returns the message's kind.
	Kind() Kind
	appendBody(dst []byte) []byte
	decodeBody(b *reader) error
}

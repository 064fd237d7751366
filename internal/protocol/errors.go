package protocol

import "fmt"

// Code classifies an error sent to a peer. Values travel on the wire.
type Code uint16

// Error codes.
const (
	CodeOK           Code = 0
	CodeBadMessage   Code = 1  // malformed frame or field
	CodeTooLarge     Code = 2  // frame exceeds the kind's maximum size
	CodeVersion      Code = 3  // unsupported protocol version
	CodeOrder        Code = 4  // message not allowed in this state
	CodeBadSignature Code = 5  // handshake signature does not verify
	CodeReplay       Code = 6  // challenge already used or expired
	CodeUnknownTask  Code = 7  // result for a task not leased to this peer
	CodeWrongResult  Code = 8  // result failed verification
	CodeSlowPeer     Code = 9  // peer could not keep up and is dropped
	CodeShutdown     Code = 10 // hub is shutting down
	CodeInternal     Code = 11 // hub-side failure; not the peer's fault
	CodeBanned       Code = 12 // contributor is not allowed to connect
	CodeRateLimited  Code = 13 // peer's address sends faster than the hub allows
)

func (c Code) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeBadMessage:
		return "bad_message"
	case CodeTooLarge:
		return "too_large"
	case CodeVersion:
		return "version"
	case CodeOrder:
		return "order"
	case CodeBadSignature:
		return "bad_signature"
	case CodeReplay:
		return "replay"
	case CodeUnknownTask:
		return "unknown_task"
	case CodeWrongResult:
		return "wrong_result"
	case CodeSlowPeer:
		return "slow_peer"
	case CodeShutdown:
		return "shutdown"
	case CodeInternal:
		return "internal"
	case CodeBanned:
		return "banned"
	case CodeRateLimited:
		return "rate_limited"
	}
	return fmt.Sprintf("code(%d)", uint16(c))
}

// Error is an error with a wire code and a message a person can act on.
// It is what a peer receives in an Error or Verdict message.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

package hub

import "github.com/tessera-ai/tessera/internal/protocol"

// An accepted result's verdict tells the contributor its credit is
// durable, so it waits for the ledger; the session's reader does not. It
// goes on to the contributor's next results, which then share a ledger
// batch instead of waiting one commit each, and the verdicts follow from
// the session's pumpVerdicts.

// verdict tells the contributor how its result for task id of job (""
// when unknown) was judged.
func (s *session) verdict(job string, id uint64, code protocol.Code, msg string) {
	s.queue(s.verdictFrame(job, id, code, msg))
}

// verdictFrame encodes a verdict and counts its bytes for job.
func (s *session) verdictFrame(job string, id uint64, code protocol.Code, msg string) outFrame {
	v := &protocol.Verdict{TaskID: id, Accepted: code == protocol.CodeOK, Code: code, Message: msg}
	frame := protocol.Encode(nil, v)
	if job != "" {
		s.h.wire.sent(job, len(frame))
	}
	return outFrame{frame: frame, lazy: code == protocol.CodeOK}
}

// verdictQueue bounds a session's accepted verdicts waiting for their
// credit. Past it the reader waits for the credit itself, which slows
// only this contributor.
const verdictQueue = 1024

// waitingVerdict is an accepted verdict whose credit is not yet durable.
type waitingVerdict struct {
	durable <-chan error
	job     string
	id      uint64
	msg     string
}

// verdictWhenDurable sends s the accepted verdict on t (with msg) once
// its credit is durable, as the protocol promises, or an internal error
// if the ledger refused it. Verdicts may overtake one another, which
// nothing depends on; each still comes after every task leased before
// its result was read (the drain fence: client/drain.go).
func (s *session) verdictWhenDurable(t *Task, durable <-chan error, msg string) {
	select {
	case err := <-durable:
		if err != nil {
			s.h.log.Error("ledger refused credit operations", "err", err)
		}
		s.queue(s.acceptedVerdict(t.Job, t.ID, msg, err))
		return
	default:
	}
	select {
	case s.waiting <- waitingVerdict{durable: durable, job: t.Job, id: t.ID, msg: msg}:
	default: // the pump is behind: wait here
		s.queue(s.acceptedVerdict(t.Job, t.ID, msg, s.h.awaitCredit(durable)))
	}
}

// acceptedVerdict is the verdict on a result that passed its checks,
// given what became of its credit.
func (s *session) acceptedVerdict(job string, id uint64, msg string, credit error) outFrame {
	if credit != nil {
		return s.verdictFrame(job, id, protocol.CodeInternal, "the result was correct but the hub could not record its credit: "+credit.Error())
	}
	return s.verdictFrame(job, id, protocol.CodeOK, msg)
}

// pumpVerdicts sends the waiting verdicts, in order, as their credit
// becomes durable, until the session ends. They reach the writer on
// their own channel, not the send queue, whose room is the tasks' (a
// ledger batch can make hundreds durable at once, and that is no sign of
// a slow peer): the pump waits for the writer instead.
func (s *session) pumpVerdicts() {
	for {
		select {
		case <-s.done:
			return
		case v := <-s.waiting:
			f := s.acceptedVerdict(v.job, v.id, v.msg, s.h.awaitCredit(v.durable))
			select {
			case s.verdicts <- f:
			case <-s.done:
				return
			}
		}
	}
}

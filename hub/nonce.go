package hub

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// nonceBook issues single-use login challenges and remembers them until
// they expire, so that an answer to an old or foreign challenge is refused
// as a replay rather than as a mere bad signature.
type nonceBook struct {
	ttl time.Duration

	mu     sync.Mutex
	issued map[[protocol.NonceSize]byte]nonceState
}

type nonceState struct {
	expires time.Time
	used    bool
}

func newNonceBook(ttl time.Duration) *nonceBook {
	return &nonceBook{ttl: ttl, issued: make(map[[protocol.NonceSize]byte]nonceState)}
}

// issue returns a fresh random nonce.
func (b *nonceBook) issue() [protocol.NonceSize]byte {
	var n [protocol.NonceSize]byte
	rand.Read(n[:]) // never fails (crypto/rand panics internally if it cannot)
	b.mu.Lock()
	b.issued[n] = nonceState{expires: time.Now().Add(b.ttl)}
	b.mu.Unlock()
	return n
}

// consume marks the connection's own nonce used, after checking that the
// answered nonce is that one, unused and unexpired.
func (b *nonceBook) consume(own, answered [protocol.NonceSize]byte) *protocol.Error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if answered != own {
		if st, ok := b.issued[answered]; ok && st.used {
			return protocol.Errorf(protocol.CodeReplay, "this challenge was already used: request a new one by reconnecting")
		}
		return protocol.Errorf(protocol.CodeReplay, "the answered challenge was not issued on this connection")
	}
	st, ok := b.issued[own]
	switch {
	case !ok || time.Now().After(st.expires):
		return protocol.Errorf(protocol.CodeReplay, "the challenge expired: reconnect and answer within %v", b.ttl)
	case st.used:
		return protocol.Errorf(protocol.CodeReplay, "this challenge was already used: request a new one by reconnecting")
	}
	st.used = true
	b.issued[own] = st
	return nil
}

// purge forgets expired nonces. A used nonce stays until it expires, which
// is as long as an answer to it could be accepted anyway.
func (b *nonceBook) purge() {
	now := time.Now()
	b.mu.Lock()
	for n, st := range b.issued {
		if now.After(st.expires) {
			delete(b.issued, n)
		}
	}
	b.mu.Unlock()
}

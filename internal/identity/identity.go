// Package identity gives a contributor its Ethereum identity: a secp256k1
// key whose address is the contributor's name at the hub and on-chain.
//
// Sign produces Ethereum personal-sign signatures (the format wallets and
// ethers.js use: keccak256("\x19Ethereum Signed Message:\n" + len + text),
// v in {27, 28}); Recover checks one and returns the signer's address.
// LoadOrCreate keeps a native client's key in a 0600 file. The package
// builds for GOOS=js (go-ethereum's crypto needs no cgo there).
package identity

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Key is a contributor's private key and its address.
type Key struct {
	priv *ecdsa.PrivateKey
	addr common.Address
}

// Generate creates a new random key.
func Generate() (*Key, error) {
	priv, err := crypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return fromPrivate(priv), nil
}

func fromPrivate(priv *ecdsa.PrivateKey) *Key {
	return &Key{priv: priv, addr: crypto.PubkeyToAddress(priv.PublicKey)}
}

// ParseHex reads a key from 64 hex digits (an optional 0x prefix and
// surrounding space are allowed).
func ParseHex(s string) (*Key, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	priv, err := crypto.HexToECDSA(s)
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	return fromPrivate(priv), nil
}

// Hex returns the private key as 64 hex digits. Whoever holds it owns the
// contributor's credit: show it only on the owner's request.
func (k *Key) Hex() string { return hex.EncodeToString(crypto.FromECDSA(k.priv)) }

// Address returns the key's Ethereum address.
func (k *Key) Address() common.Address { return k.addr }

// Sign signs text in Ethereum personal-sign format.
func (k *Key) Sign(text string) ([65]byte, error) {
	var out [65]byte
	sig, err := crypto.Sign(TextHash(text), k.priv)
	if err != nil {
		return out, fmt.Errorf("sign: %w", err)
	}
	copy(out[:], sig)
	out[64] += 27
	return out, nil
}

// TextHash is the personal-sign digest of text.
func TextHash(text string) []byte {
	return crypto.Keccak256([]byte("\x19Ethereum Signed Message:\n" + strconv.Itoa(len(text)) + text))
}

// ErrBadSignature is returned by Recover for a signature that does not
// verify.
var ErrBadSignature = errors.New("signature does not verify")

// Recover returns the address that signed text with sig (personal-sign
// format, v in {27, 28}).
func Recover(text string, sig [65]byte) (common.Address, error) {
	v := sig[64]
	if v != 27 && v != 28 {
		return common.Address{}, fmt.Errorf("%w: recovery byte %d is not 27 or 28", ErrBadSignature, v)
	}
	sig[64] = v - 27
	pub, err := crypto.SigToPub(TextHash(text), sig[:])
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// LoadOrCreate reads the hex key in path, or creates a new key there (mode
// 0600, parent directories 0700) when the file does not exist. A key file
// readable by others is refused.
func LoadOrCreate(path string) (key *Key, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, false, fmt.Errorf("stat key file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("key file %s has mode %v: it must not be readable by others (chmod 600)", path, fi.Mode().Perm())
		}
		k, err := ParseHex(string(data))
		if err != nil {
			return nil, false, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	k, err := Generate()
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("create key directory: %w", err)
	}
	// O_EXCL: never overwrite a key another process created meanwhile.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(k.Hex() + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	return k, true, nil
}

// PrivateKey returns the key for signing Ethereum transactions (a claim
// sent through the contributor's own node: tessera-edge claim --chain-rpc).
func (k *Key) PrivateKey() *ecdsa.PrivateKey { return k.priv }

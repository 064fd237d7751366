// Package ethaddr is an Ethereum address as Tessera writes it: EIP-55
// checksummed in every output (JSON, text), read in any case on input.
// go-ethereum's common.Address writes JSON in lower case, so the API's
// outputs would otherwise mix two spellings of one address.
//
// Entry points: Address, Parse.
package ethaddr

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// Address is an Ethereum address that marshals EIP-55 checksummed.
type Address common.Address

// Parse reads a 0x-prefixed address of 40 hex digits in any case (all
// lower, all upper or checksummed; a mixed case is not checked against
// the checksum, as go-ethereum's common.HexToAddress does not).
func Parse(s string) (Address, error) {
	if len(s) != 42 || (s[:2] != "0x" && s[:2] != "0X") || !common.IsHexAddress(s) {
		if len(s) > 60 {
			s = s[:60] + "..."
		}
		return Address{}, fmt.Errorf("not an Ethereum address (0x and 40 hex digits): %q", s)
	}
	return Address(common.HexToAddress(s)), nil
}

// Hex returns a checksummed (EIP-55).
func (a Address) Hex() string { return common.Address(a).Hex() }

// String returns a checksummed (EIP-55).
func (a Address) String() string { return a.Hex() }

// Common returns a as go-ethereum's type.
func (a Address) Common() common.Address { return common.Address(a) }

// MarshalText writes a checksummed.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.Hex()), nil }

// UnmarshalText reads an address in any case.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

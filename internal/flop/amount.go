// Package flop is Tessera's unit of credit: an exact count of
// floating-point operations, from 0 to 2^256-1, the range of the uint256
// leaves of the on-chain credit tree. Amounts are values (comparable with
// ==), appear in JSON as decimal strings (JavaScript numbers lose
// integers above 2^53) and in SQLite as decimal TEXT.
//
// Entry points: Amount, FromUint64, FromInt64, Parse, Sum.
package flop

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math/big"

	"github.com/holiman/uint256"
)

// Amount is a count of floating-point operations, 0 ≤ Amount < 2^256.
// The zero value is zero.
type Amount struct{ v uint256.Int }

// maxDigits is the length of 2^256-1 in decimal.
const maxDigits = 78

// ErrRange is returned for amounts outside 0..2^256-1 (negative, too
// large, or a sum that would be).
var ErrRange = errors.New("flop: amount outside 0 to 2^256-1")

// FromUint64 returns n.
func FromUint64(n uint64) Amount {
	var a Amount
	a.v.SetUint64(n)
	return a
}

// FromInt64 returns n, or ErrRange if n is negative.
func FromInt64(n int64) (Amount, error) {
	if n < 0 {
		return Amount{}, fmt.Errorf("%w: %d", ErrRange, n)
	}
	return FromUint64(uint64(n)), nil
}

// FromBig returns n, or ErrRange if it is nil, negative or 2^256 or more.
func FromBig(n *big.Int) (Amount, error) {
	var a Amount
	if n == nil || n.Sign() < 0 || n.BitLen() > 256 {
		return Amount{}, fmt.Errorf("%w: %v", ErrRange, n)
	}
	a.v.SetFromBig(n)
	return a, nil
}

// Parse reads a canonical decimal amount: digits only, no sign, no
// leading zeros (except "0" itself), at most 2^256-1.
func Parse(s string) (Amount, error) {
	if s == "" || len(s) > maxDigits {
		return Amount{}, fmt.Errorf("flop: %q is not a decimal amount of 1 to %d digits", truncate(s), maxDigits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Amount{}, fmt.Errorf("flop: %q is not a decimal amount (digits only)", truncate(s))
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return Amount{}, fmt.Errorf("flop: %q has leading zeros", truncate(s))
	}
	var a Amount
	if err := a.v.SetFromDecimal(s); err != nil {
		return Amount{}, fmt.Errorf("%w: %s", ErrRange, truncate(s))
	}
	return a, nil
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// String returns a in decimal.
func (a Amount) String() string { return a.v.Dec() }

// IsZero reports whether a is zero.
func (a Amount) IsZero() bool { return a.v.IsZero() }

// Cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a Amount) Cmp(b Amount) int { return a.v.Cmp(&b.v) }

// Add returns a+b, or ErrRange if the sum reaches 2^256.
func (a Amount) Add(b Amount) (Amount, error) {
	var s Amount
	if _, overflow := s.v.AddOverflow(&a.v, &b.v); overflow {
		return Amount{}, fmt.Errorf("%w: %s + %s", ErrRange, a, b)
	}
	return s, nil
}

// Sum returns the sum of amounts, or ErrRange if it reaches 2^256.
func Sum(amounts ...Amount) (Amount, error) {
	var s Amount
	for _, a := range amounts {
		var err error
		if s, err = s.Add(a); err != nil {
			return Amount{}, err
		}
	}
	return s, nil
}

// Big returns a as a new big.Int.
func (a Amount) Big() *big.Int { return a.v.ToBig() }

// Bytes32 returns a as 32 big-endian bytes, abi.encode's uint256.
func (a Amount) Bytes32() [32]byte { return a.v.Bytes32() }

// Uint64 returns a and whether it fits in a uint64.
func (a Amount) Uint64() (uint64, bool) { return a.v.Uint64(), a.v.IsUint64() }

// Float64 returns a as the nearest float64 (for display and ratios).
func (a Amount) Float64() float64 { return a.v.Float64() }

// Ratio returns a/b as a float64, 0 when b is zero: a contributor's
// share of a model's total.
func Ratio(a, b Amount) float64 {
	if b.IsZero() {
		return 0
	}
	f, _ := new(big.Rat).SetFrac(a.Big(), b.Big()).Float64()
	return f
}

// MarshalJSON writes a as a JSON string of its decimal digits.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(`"` + a.String() + `"`), nil }

// UnmarshalJSON reads a decimal string ("123") or, from hubs that sent
// numbers before amounts became strings, a JSON integer (123).
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil // as encoding/json leaves a value it has no JSON for
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalText writes a in decimal (map keys, CSV, flags).
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads a canonical decimal amount.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Value stores a in SQL as decimal TEXT.
func (a Amount) Value() (driver.Value, error) { return a.String(), nil }

// Scan reads a from SQL: decimal TEXT, or an INTEGER (columns from before
// amounts were TEXT, and sums of INTEGER columns).
func (a *Amount) Scan(src any) error {
	var err error
	switch v := src.(type) {
	case int64:
		*a, err = FromInt64(v)
	case string:
		*a, err = Parse(v)
	case []byte:
		*a, err = Parse(string(v))
	default:
		err = fmt.Errorf("flop: cannot scan %T into an amount", src)
	}
	return err
}

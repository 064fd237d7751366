package flop

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)).String()
	over := new(big.Int).Lsh(big.NewInt(1), 256).String()
	for _, tc := range []struct {
		in   string
		want string // "" means an error
	}{
		{"0", "0"},
		{"1", "1"},
		{"18446744073709551616", "18446744073709551616"}, // 2^64
		{max, max},
		{over, ""},
		{"", ""},
		{"-1", ""},
		{"+1", ""},
		{"01", ""},
		{"1e3", ""},
		{"1.5", ""},
		{" 1", ""},
		{"0x10", ""},
		{strings.Repeat("9", 79), ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := Parse(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %s, want an error", tc.in, a)
				}
				return
			}
			if err != nil || a.String() != tc.want {
				t.Fatalf("Parse(%q) = %s, %v; want %s", tc.in, a, err, tc.want)
			}
		})
	}
}

func TestAddPast64Bits(t *testing.T) {
	a := FromUint64(math.MaxInt64)
	s, err := Sum(a, a, a)
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).Mul(big.NewInt(math.MaxInt64), big.NewInt(3))
	if s.Big().Cmp(want) != 0 {
		t.Fatalf("sum %s, want %s", s, want)
	}
	if _, ok := s.Uint64(); ok {
		t.Fatalf("%s fits in a uint64?", s)
	}
	max, _ := FromBig(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)))
	if _, err := max.Add(FromUint64(1)); !errors.Is(err, ErrRange) {
		t.Fatalf("2^256-1 + 1: %v, want ErrRange", err)
	}
	if _, err := FromInt64(-1); !errors.Is(err, ErrRange) {
		t.Fatalf("FromInt64(-1): %v", err)
	}
	if _, err := FromBig(new(big.Int).Lsh(big.NewInt(1), 256)); !errors.Is(err, ErrRange) {
		t.Fatalf("FromBig(2^256): %v", err)
	}
}

func TestJSON(t *testing.T) {
	big65, _ := Parse("36893488147419103232") // 2^65
	b, err := json.Marshal(struct{ A Amount }{big65})
	if err != nil || string(b) != `{"A":"36893488147419103232"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var v struct{ A, B, C Amount }
	if err := json.Unmarshal([]byte(`{"A":"36893488147419103232","B":42,"C":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != big65 || v.B != FromUint64(42) || !v.C.IsZero() {
		t.Fatalf("unmarshal: %+v", v)
	}
	for _, bad := range []string{`{"A":-1}`, `{"A":"1.0"}`, `{"A":1e3}`, `{"A":"0x1"}`, `{"A":true}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestRatio(t *testing.T) {
	a, _ := Parse("100000000000000000000000") // 1e23
	b, _ := Parse("400000000000000000000000")
	if r := Ratio(a, b); r != 0.25 {
		t.Fatalf("ratio %v", r)
	}
	if r := Ratio(a, Amount{}); r != 0 {
		t.Fatalf("ratio over zero %v", r)
	}
}

func TestScan(t *testing.T) {
	var a Amount
	for _, src := range []any{int64(7), "7", []byte("7")} {
		if err := a.Scan(src); err != nil || a != FromUint64(7) {
			t.Fatalf("Scan(%#v) = %s, %v", src, a, err)
		}
	}
	for _, src := range []any{int64(-7), "x", nil, 1.5} {
		if err := a.Scan(src); err == nil {
			t.Errorf("Scan(%#v): no error", src)
		}
	}
}

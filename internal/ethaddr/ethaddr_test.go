package ethaddr

import (
	"encoding/json"
	"strings"
	"testing"
)

const checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" // EIP-55's example

func TestAnyCaseInChecksummedOut(t *testing.T) {
	for _, in := range []string{checksummed, strings.ToLower(checksummed), "0x" + strings.ToUpper(checksummed[2:]), "0X" + checksummed[2:]} {
		var v struct{ A Address }
		if err := json.Unmarshal([]byte(`{"A":"`+in+`"}`), &v); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		b, _ := json.Marshal(v)
		if string(b) != `{"A":"`+checksummed+`"}` {
			t.Fatalf("%s marshals as %s", in, b)
		}
	}
	for _, bad := range []string{"", "0x", checksummed[:41], checksummed + "0", checksummed[2:], "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeZ"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

package train

import (
	"errors"
	"slices"
	"testing"
)

func TestExposureCap(t *testing.T) {
	fr := []float64{0.2, 0.2, 0.1, 0.1, 0.4}
	var recorded []int
	fail := false
	e := NewExposure(0.3, fr, []string{"own"}, map[string][]int{"old": {0}}, func(addr string, tile int) error {
		if fail {
			return errors.New("disk full")
		}
		recorded = append(recorded, tile)
		return nil
	})
	check := func(addr string, w int, wantOK, wantNew bool) {
		t.Helper()
		ok, fresh := e.check(addr, w)
		if ok != wantOK || fresh != wantNew {
			t.Errorf("check(%s, %d) = %v, %v; want %v, %v", addr, w, ok, fresh, wantOK, wantNew)
		}
	}
	check("a", -1, true, false) // weight gradients reveal nothing
	check("a", 0, true, true)
	if err := e.grant("a", 0); err != nil {
		t.Fatal(err)
	}
	check("a", 0, true, false)   // already held
	check("a", 1, false, true)   // 0.2 + 0.2 > 0.3
	check("a", 2, true, true)    // 0.2 + 0.1 = 0.3 exactly
	check("a", 4, false, true)   // one tile above the cap
	check("old", 1, false, true) // prior exposure survives a restart
	check("own", 4, true, true)  // the operator's workers are exempt
	e.grant("a", 2)
	check("a", 3, false, true)
	if f, who := e.MaxFraction(); who != "a" || f < 0.3-1e-9 || f > 0.3+1e-9 {
		t.Errorf("max fraction %v by %s", f, who)
	}
	fail = true
	if err := e.grant("b", 3); err == nil {
		t.Error("a grant whose record failed succeeded")
	}
	if ok, fresh := e.check("b", 3); !ok || !fresh {
		t.Error("a failed grant was counted as held")
	}
	if len(recorded) != 2 {
		t.Errorf("recorded %v, want the two granted tiles", recorded)
	}
}

// TestExposureHolders: the addresses to whom tiles show nothing new are
// the exempt ones and those that received every one of them, from the
// record as from grants.
func TestExposureHolders(t *testing.T) {
	e := NewExposure(1, []float64{0.25, 0.25, 0.25, 0.25}, []string{"own"}, map[string][]int{"old": {0, 1}},
		func(string, int) error { return nil })
	if err := e.grant("a", 1, 2); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ws   []int
		want []string
	}{
		{[]int{1}, []string{"a", "old", "own"}},
		{[]int{0, 1}, []string{"old", "own"}},
		{[]int{-1, 2}, []string{"a", "own"}},
		{[]int{3}, []string{"own"}},
		{[]int{-1}, []string{"own"}},
	} {
		got := e.holders(c.ws)
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("holders(%v) = %v, want %v", c.ws, got, c.want)
		}
	}
}

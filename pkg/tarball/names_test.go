package tarball

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The name table counts like a map[string][2]int32, also when every name
// has the same hash (a chain through every entry).
func TestNameTableCountsLikeAMap(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprint("collide=", collide), func(t *testing.T) {
			nt := newNameTable()
			if collide {
				nt.hash = func(string) uint64 { return 7 }
			}
			want := map[string][2]int32{}
			for i := 0; i < 3000; i++ {
				name := fmt.Sprintf("dir/%d", i%1000) // each name three times per side
				if i%3 == 0 {
					name += "/x"
				}
				for side := 0; side < 2; side++ {
					if side == 1 && i%5 == 0 {
						continue
					}
					_, occ := nt.add(name, side)
					c := want[name]
					assert.Equal(t, c[side], occ, "occurrence of %s", name)
					c[side]++
					want[name] = c
				}
			}
			got := map[string][2]int32{}
			nt.each(func(name string, c [2]int32) {
				_, dup := got[name]
				require.False(t, dup, "%s listed twice", name)
				got[name] = c
			})
			assert.Equal(t, want, got)
			for name, c := range want {
				assert.Equal(t, c, nt.counts(name))
			}
			assert.Equal(t, [2]int32{}, nt.counts("not/there"))
			assert.Equal(t, int32(-1), nt.find("dir/1/"))
		})
	}
}

package store_test

import (
	"fmt"
	"testing"

	"github.com/mangabot/mangabot/store"
)

func TestSeenIsBounded(t *testing.T) {
	var f store.Follow
	for i := range store.MaxSeen + 10 {
		f.See(fmt.Sprint(i))
	}
	f.See(fmt.Sprint(store.MaxSeen + 9)) // a known key is not added twice
	if len(f.Seen) != store.MaxSeen || f.HasSeen("0") || !f.HasSeen(fmt.Sprint(store.MaxSeen+9)) {
		t.Errorf("%d seen, first %s", len(f.Seen), f.Seen[0])
	}
}

package refx

import "encoding/json"

// MaxPageBytes bounds the JSON of one page of a listing. A Lambda behind API
// Gateway answers at most 6 MB (6,291,456 bytes), and its answer carries
// the body as a JSON string, where every '"' and '\' of the body gains a
// backslash: the body at most doubles there (json.Marshal has already
// written <, >, & and control characters as six-byte \uXXXX escapes, which
// gain one byte each). 2 MiB of body is at most 4 MiB of answer, with room
// for the headers.
const MaxPageBytes = 2 << 20

// FitPage returns how many of items, from the first, fit in MaxPageBytes
// of JSON: at least one, so that a listing always moves on (no item comes
// near the bound: the largest valid experiment is under 0.5 MB of JSON).
func FitPage[T any](items []T) int {
	total := 0
	for i, it := range items {
		// An item that cannot be encoded fails the whole answer later, with
		// its own error; here it counts for nothing.
		b, _ := json.Marshal(it)
		total += len(b) + 1 // and its comma
		if total > MaxPageBytes && i > 0 {
			return i
		}
	}
	return len(items)
}

package httpapi

import (
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
)

func FuzzDecodeIdentify(f *testing.F) {
	f.Add([]byte(`{"anonymous":"3f0b6c1e-52d4-4e8a-9a7b-0c6d2e1f4a58","user":"carol"}`))
	f.Add([]byte(`{"anonymous":"a","user":"a"}`))
	f.Add([]byte(`{"anonymous":"\u00e9","user":"e\u0301"}`))
	f.Add([]byte(`{"anonymous":"x","user":"\u2066carol\u2069"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req refx.Identity
		checkDecode(t, body, &req, func() ([]string, error) {
			req.Normalize()
			return []string{req.Anonymous, req.User}, req.Validate()
		})
	})
}

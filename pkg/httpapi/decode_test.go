package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
)

// TestDecodeText covers checkText through decodeBody: text encoding/json
// would rewrite (invalid UTF-8, unpaired surrogates, both turned into
// U+FFFD) or resolve silently (duplicate keys: the last wins) is refused
// with the field it is in; everything around it is left alone.
func TestDecodeText(t *testing.T) {
	const id = `"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup"`
	tests := []struct {
		name, body string
		field      string // "" with ok false: a body-level error
		ok         bool
	}{
		{"OK", `{` + id + `,"user":"alice"}`, "", true},
		{"SurrogatePair", `{` + id + `,"user":"\ud83d\ude00"}`, "", true},
		{"SurrogatePairUpperHex", `{` + id + `,"user":"\uD83D\uDE00"}`, "", true},
		{"EscapedBackslashNotASurrogate", `{` + id + `,"user":"\\ud800"}`, "", true},
		{"EscapedQuoteInKeyAndValue", `{` + id + `,"user":"a\"\\","properties":{"\"":1,"\\":2}}`, "", true},
		{"ReplacementCharacterSent", `{` + id + `,"user":"\ufffd` + "\uFFFD" + `"}`, "", true},
		{"SameKeyInOtherObjects", `{` + id + `,"user":"a","properties":{"user":{"user":1},"x":[{"user":2},{"user":3}]}}`, "", true},
		{"WhitespaceAround", " \n{" + id + `,"user":"a"}` + "\t\n", "", true},

		{"LoneHigh", `{` + id + `,"user":"\ud800"}`, "user", false},
		{"LoneLow", `{` + id + `,"user":"x\udc00"}`, "user", false},
		{"HighThenLetter", `{` + id + `,"user":"\ud800\u0041"}`, "user", false},
		{"HighThenHigh", `{` + id + `,"user":"\ud800\ud800\udc00"}`, "user", false},
		{"HighAtEnd", `{` + id + `,"user":"a\udbff"}`, "user", false},
		{"PairReversed", `{` + id + `,"user":"\udc00\ud800"}`, "user", false},
		{"InvalidByte", `{` + id + `,"user":"a` + "\xff" + `"}`, "user", false},
		{"Overlong", `{` + id + `,"user":"` + "\xc0\xaf" + `"}`, "user", false},
		{"EncodedSurrogate", `{` + id + `,"user":"` + "\xed\xa0\x80" + `"}`, "user", false},
		{"Truncated", `{` + id + `,"user":"` + "\xe2\x82" + `"}`, "user", false},
		{"InvalidKey", `{` + id + `,"user":"a","properties":{"` + "\xff" + `":1}}`, "properties", false},
		{"LoneSurrogateKey", `{` + id + `,"user":"a","properties":{"\udfff":1}}`, "properties", false},
		{"InProperties", `{` + id + `,"user":"a","properties":{"a":["x","\ud800"]}}`, "properties.a[1]", false},

		{"Duplicate", `{` + id + `,"user":"alice","user":"mallory"}`, "user", false},
		{"DuplicateOtherCase", `{` + id + `,"user":"alice","USER":"mallory"}`, "USER", false},
		{"DuplicateLongS", `{` + id + `,"user":"alice","u` + "\u017f" + `er":"mallory"}`, "u\u017fer", false},
		{"DuplicateEscaped", `{` + id + `,"user":"alice","\u0075ser":"mallory"}`, "user", false},
		{"DuplicateID", `{` + id + `,"user":"a","id":"11111111-2222-4333-8444-555555555555"}`, "id", false},
		{"DuplicateInProperties", `{` + id + `,"user":"a","properties":{"a":1,"b":{"c":1,"c":2}}}`, "properties.b.c", false},
		{"DuplicatePropertyOtherCase", `{` + id + `,"user":"a","properties":{"plan":"free","Plan":"pro"}}`, "properties.Plan", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e refx.Event
			err := decodeBody(strings.NewReader(tt.body), &e)
			if tt.ok {
				if err != nil {
					t.Fatalf("decode %q: %v", tt.body, err)
				}
				return
			}
			if refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != tt.field {
				t.Fatalf("decode %q = %v (field %q), want invalid_argument field %q", tt.body, err, refx.ErrorField(err), tt.field)
			}
		})
	}
	t.Run("Batch", func(t *testing.T) {
		body := `{"events":[{` + id + `,"user":"a"},{` + id + `,"user":"b","type":"purchase"}]}`
		var req BatchRequest
		if err := decodeBody(strings.NewReader(body), &req); refx.ErrorField(err) != "events[1].type" {
			t.Fatalf("decode = %v, want the duplicate events[1].type", err)
		}
	})
	t.Run("BodyLevel", func(t *testing.T) {
		// A free-form body has no field to name for its own keys.
		var m map[string]any
		if err := decodeBody(strings.NewReader(`{"a":1,"`+"\xff"+`":2}`), &m); refx.ErrorCode(err) != refx.EINVALID || refx.ErrorField(err) != "" {
			t.Fatalf("decode = %v, want a body-level invalid_argument", err)
		}
	})
	t.Run("EncodingJSONAloneAccepts", func(t *testing.T) {
		// Why checkText exists: each refused body above decodes without an
		// error and with a rewritten or overwritten value.
		var e refx.Event
		if err := json.Unmarshal([]byte(`{"user":"\ud800","USER":"x`+"\xff"+`"}`), &e); err != nil || e.User != "x\ufffd" {
			t.Fatalf("encoding/json: %v, %q", err, e.User)
		}
	})
}

// BenchmarkDecode measures decodeBody (decoding and checkText) on an event
// and on a full batch with properties.
func BenchmarkDecode(b *testing.B) {
	event := `{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"purchase","user":"alice@example.com","value":12.5,` +
		`"properties":{"plan":"pro","coupon":"SPRING","items":[{"sku":"a-1","qty":2},{"sku":"b-2","qty":1}],"note":"caf\u00e9 \ud83d\ude00"}}`
	batch := `{"events":[` + strings.TrimSuffix(strings.Repeat(event+",", refx.MaxBatch), ",") + `]}`
	for _, bb := range []struct {
		name string
		body string
		v    func() any
	}{
		{"Event", event, func() any { return new(refx.Event) }},
		{"Batch", batch, func() any { return new(BatchRequest) }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			raw := []byte(bb.body)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := decodeBody(bytes.NewReader(raw), bb.v()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bb.name+"/checkText", func(b *testing.B) {
			raw := []byte(bb.body)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := checkText(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

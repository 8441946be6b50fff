package ddbsim

import (
	"encoding/json"
	"testing"
)

func TestItemSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, item string
		want       int
	}{
		{"String", `{"pk":{"S":"abc"}}`, 2 + 3},
		{"StringUTF8", `{"name":{"S":"é"}}`, 4 + 2},
		{"Number", `{"n":{"N":"123"}}`, 1 + 3},
		{"NumberZerosTrimmed", `{"n":{"N":"0.00100"}}`, 1 + 2},
		{"NumberLong", `{"n":{"N":"-12345678901234567890"}}`, 1 + 11},
		{"NumberExponent", `{"n":{"N":"1.5E+10"}}`, 1 + 2},
		{"Binary", `{"b":{"B":"AAEC"}}`, 1 + 3},
		{"Bool", `{"ok":{"BOOL":true}}`, 2 + 1},
		{"Null", `{"no":{"NULL":true}}`, 2 + 1},
		{"StringSet", `{"ss":{"SS":["ab","c"]}}`, 2 + 3},
		{"NumberSet", `{"ns":{"NS":["1","22"]}}`, 2 + 2 + 2},
		{"List", `{"l":{"L":[{"S":"a"},{"N":"1"}]}}`, 1 + 3 + (1 + 1) + (1 + 2)},
		{"EmptyMap", `{"m":{"M":{}}}`, 1 + 3},
		{"Map", `{"m":{"M":{"a":{"S":"bc"}}}}`, 1 + 3 + 1 + 1 + 2},
		{"Several", `{"pk":{"S":"EXP#x"},"sk":{"S":"META"},"version":{"N":"7"}}`, 2 + 5 + 2 + 4 + 7 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var item map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.item), &item); err != nil {
				t.Fatal(err)
			}
			got, err := itemSize(item)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("itemSize(%s) = %d, want %d", tt.item, got, tt.want)
			}
		})
	}
}

func TestWriteUnits(t *testing.T) {
	t.Parallel()
	for size, want := range map[int]int64{0: 1, 1: 1, 512: 1, 1024: 1, 1025: 2, 1536: 2, 2048: 2, 2049: 3} {
		if got := writeUnits(size); got != want {
			t.Errorf("writeUnits(%d) = %d, want %d", size, got, want)
		}
	}
}
